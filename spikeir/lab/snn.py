"""The lab's native SNN: train a LIF network directly, move it through NIR onto SpikeCore, compare.

``run_snn_lab(data=None, *, hidden=64, timesteps=16, epochs=3, recurrent=True, per_channel=True,
train_size=4000, test_size=1000, seed=0, out_dir=None, progress=False) -> SNNLabResult``

trains a 784-``hidden``-10 spiking network with BPTT and a surrogate gradient in plain torch on
rate-encoded (Bernoulli, seeded) MNIST from :mod:`spikeir.lab.data` (hidden LIF layer, reset by
subtraction, leaky-integrator readout whose final membrane is the logit), exports it to a NIR graph
(:func:`to_nir_graph`, Euler with dt = 1), writes it as ``snn.nir``, imports and compiles that file
(:func:`spikeir.frontends.nir.from_nir`), runs the held-out digits on the hardware model and
compares with the float SNN on the same spike streams. With ``recurrent=True`` it does the same
for a second network whose hidden layer also reads its own spikes of the previous step (a NIR
cycle). Trained weights are cached (the cache of :mod:`spikeir.lab.training`).

:class:`SNNLabResult` holds, per network (:class:`SNNLabRun`): float and chip accuracy, top-1
agreement chip vs float, compile seconds, the per-layer quantization errors; and, when ``out_dir``
is given, the paths of ``snn.nir`` and of the figures: the input spike raster, the hidden raster of
every spiking layer (from the chip's probes) and membrane traces (chip and float) of a few neurons.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from spikeir.lab.data import MNISTSplit, load_mnist
from spikeir.lab.training import default_cache_dir, save_atomically

SNN_CACHE_VERSION = 1
"""Bump when the training procedure or the cache layout changes."""
THRESHOLD = 1.0
BETA_HIDDEN = 0.9
"""Membrane decay per step of the hidden LIF layer (tau = 10 steps)."""
BETA_OUT = 0.95
"""Membrane decay per step of the readout (tau = 20 steps)."""
SLOPE = 5.0
"""Steepness of the fast-sigmoid surrogate gradient (Zenke & Ganguli 2018)."""
FIGURE_LANES = 4
"""Digits recorded per step for the figures."""


class _Spike(torch.autograd.Function):
    """Heaviside ``v > 0`` forward (NIR's comparison), fast-sigmoid derivative backward."""

    @staticmethod
    def forward(ctx: Any, v: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx: Any, *grad: torch.Tensor) -> torch.Tensor:
        (v,) = ctx.saved_tensors
        return grad[0] / (SLOPE * v.abs() + 1.0) ** 2


class LIFNet(nn.Module):
    """784 -> LIF(hidden) [-> itself, one step late] -> LI readout; discrete time, in the chip's order."""

    def __init__(self, hidden: int = 64, recurrent: bool = False, inputs: int = 784, classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.rec = nn.Linear(hidden, hidden, bias=False) if recurrent else None
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, inputs) spikes -> the readout's final membrane (B, classes)."""
        batch, steps = x.shape[:2]
        v1 = torch.zeros(batch, self.fc1.out_features)
        s1 = torch.zeros_like(v1)
        v2 = torch.zeros(batch, self.fc2.out_features)
        for t in range(steps):
            current = self.fc1(x[:, t])
            if self.rec is not None:
                current = current + self.rec(s1)
            v1 = BETA_HIDDEN * v1 + current
            s1 = _Spike.apply(v1 - THRESHOLD)
            v1 = v1 - s1.detach() * THRESHOLD
            v2 = BETA_OUT * v2 + self.fc2(s1)
        return v2


def rate_encode(x: NDArray[np.floating], timesteps: int, seed: int) -> NDArray[np.float32]:
    """(N, ...) pixels in [0, 1] -> (N, T, 784) Bernoulli spikes (spikeir.snn's ``rate`` encoder)."""
    from spikeir.snn import encode

    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return encode(flat, flat.shape[1], "rate", timesteps, seed).astype(np.float32)


def to_nir_graph(model: LIFNet) -> Any:
    """The float SNN as a NIR graph (Euler, dt = 1): ``v += (1/tau)(-v + r I)`` with ``tau = 1/(1-beta)``
    and ``r = tau`` is exactly ``v = beta v + I``."""
    import nir

    hidden, classes = model.fc1.out_features, model.fc2.out_features
    tau1, tau2 = 1.0 / (1.0 - BETA_HIDDEN), 1.0 / (1.0 - BETA_OUT)

    def array(t: torch.Tensor) -> NDArray[np.float64]:
        return t.detach().double().numpy()

    nodes: dict[str, Any] = {
        "input": nir.Input({"input": np.array([model.fc1.in_features])}),
        "fc1": nir.Affine(array(model.fc1.weight), array(model.fc1.bias)),
        "lif1": nir.LIF(
            tau=np.full(hidden, tau1),
            r=np.full(hidden, tau1),
            v_leak=np.zeros(hidden),
            v_threshold=np.full(hidden, THRESHOLD),
        ),
        "fc2": nir.Affine(array(model.fc2.weight), array(model.fc2.bias)),
        "li": nir.LI(tau=np.full(classes, tau2), r=np.full(classes, tau2), v_leak=np.zeros(classes)),
        "output": nir.Output({"output": np.array([classes])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "li"), ("li", "output")]
    if model.rec is not None:
        nodes["rec"] = nir.Linear(array(model.rec.weight))
        edges += [("lif1", "rec"), ("rec", "lif1")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@dataclass(frozen=True)
class TrainConfig:
    hidden: int
    recurrent: bool
    timesteps: int
    epochs: int
    train_size: int
    seed: int
    batch_size: int = 100
    lr: float = 2e-3


def _cache_path(config: TrainConfig, data: MNISTSplit, cache_dir: Path | None) -> Path:
    key = json.dumps({**config.__dict__, "data": data.source, "version": SNN_CACHE_VERSION}, sort_keys=True)
    return (
        default_cache_dir() if cache_dir is None else cache_dir.expanduser()
    ) / f"snn-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"


def train_snn(
    config: TrainConfig, data: MNISTSplit, progress: bool = False, cache_dir: Path | None = None
) -> tuple[LIFNet, bool]:
    """The trained network and whether it came from the cache in ``cache_dir`` (default: `default_cache_dir`)
    (BPTT, Adam, cross-entropy on the readout)."""
    model = LIFNet(config.hidden, config.recurrent)
    path = _cache_path(config, data, cache_dir)
    try:
        model.load_state_dict(torch.load(path, weights_only=True))
        return model, True
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):
        pass  # no usable cache file: train
    torch.manual_seed(config.seed)
    model = LIFNet(config.hidden, config.recurrent)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    x, y = data.x_train[: config.train_size], torch.from_numpy(data.y_train[: config.train_size])
    for epoch in range(config.epochs):
        spikes = torch.from_numpy(rate_encode(x, config.timesteps, config.seed + 1 + epoch))
        order = torch.randperm(len(x))
        for start in range(0, len(x), config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = nn.functional.cross_entropy(model(spikes[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if progress:
            print(f"snn epoch {epoch + 1}/{config.epochs}: loss {loss.item():.3f}")
    try:
        save_atomically(path, model.state_dict())
    except OSError:
        pass  # the model is still good; it is trained again next time
    return model, False


@dataclass
class SNNLabRun:
    """One network through the lab: float vs chip on the same held-out spike streams."""

    name: str
    float_accuracy: float
    chip_accuracy: float
    agreement: float
    """Top-1 agreement of the chip with the float SNN."""
    compile_seconds: float
    cached: bool
    errors: list[dict[str, Any]]
    figures: dict[str, str] = field(default_factory=dict[str, str])
    nir_path: str | None = None


@dataclass
class SNNLabResult:
    timesteps: int
    hidden: int
    test_size: int
    runs: list[SNNLabRun]

    def table(self) -> str:
        lines = [f"{'network':<22}{'float SNN':>11}{'SpikeCore':>11}{'agree':>9}{'compile s':>11}"]
        for r in self.runs:
            lines.append(
                f"{r.name:<22}{r.float_accuracy:>10.2%} {r.chip_accuracy:>10.2%}{r.agreement:>9.2%}"
                f"{r.compile_seconds:>11.3f}"
            )
        return "\n".join(lines)


def _one_network(
    name: str,
    config: TrainConfig,
    data: MNISTSplit,
    test: NDArray[np.float32],
    per_channel: bool,
    out: Path | None,
    progress: bool,
    cache_dir: Path | None,
) -> SNNLabRun:
    import nir

    from spikeir.frontends.nir import from_nir

    model, cached = train_snn(config, data, progress, cache_dir)
    graph = to_nir_graph(model)
    source: Any = graph
    nir_path = None
    if out is not None:
        nir_path = out / f"{name}.nir"
        nir.write(nir_path, graph)
        source = nir_path
    compiled = from_nir(source, calibration=test[:100], per_channel=per_channel)
    labels = data.y_test[: len(test)]
    with torch.no_grad():
        float_logits = model(torch.from_numpy(test)).numpy()
    chip_logits = np.asarray(compiled.run(test, output="membrane"))
    run = SNNLabRun(
        name,
        float((float_logits.argmax(1) == labels).mean()),
        float((chip_logits.argmax(1) == labels).mean()),
        float((float_logits.argmax(1) == chip_logits.argmax(1)).mean()),
        compiled.compile_seconds["compile"],
        cached,
        compiled.errors,
        nir_path=None if nir_path is None else str(nir_path),
    )
    if out is not None:
        run.figures = _figures(name, compiled, test[:FIGURE_LANES], out)
    return run


def _figures(name: str, compiled: Any, lanes: NDArray[np.float32], out: Path) -> dict[str, str]:
    """Input raster, hidden rasters from the chip's probes, membrane traces chip vs float."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = compiled.run(lanes, output="records")
    reference = compiled.run_float(lanes, output="records")
    paths: dict[str, str] = {}

    def raster(spikes: NDArray[Any], title: str, key: str) -> None:
        figure, ax = plt.subplots(figsize=(8, 3.5))
        t, n = np.nonzero(spikes)
        ax.scatter(t, n, s=2, marker="|", color="#1f3b73")
        ax.set(title=title, xlabel="timestep", ylabel="neuron", xlim=(-0.5, spikes.shape[0] - 0.5))
        path = out / f"{name}_{key}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        paths[key] = str(path)

    raster(lanes[0], f"{name}: input spikes (one digit, {int(lanes[0].sum())} events)", "input_raster")
    for layer, spikes in records.spk_rec.items():
        raster(spikes[0], f"{name}: '{layer}' spikes on SpikeCore", f"raster_{layer}")
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, layer in zip(axes, (compiled.layers[0], compiled.output_layer)):
        for neuron in range(3):
            chip = records.mem_rec[layer][0, :, neuron]
            line = ax.plot(chip, label=f"n{neuron} SpikeCore")[0]
            ax.plot(reference.mem_rec[layer][0, :, neuron], "--", color=line.get_color(), label=f"n{neuron} float")
        ax.set(title=f"{name}: '{layer}' membrane", xlabel="timestep", ylabel="V (real units)")
        ax.legend(fontsize=7)
    path = out / f"{name}_membrane.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    paths["membrane"] = str(path)
    return paths


def run_snn_lab(
    data: MNISTSplit | None = None,
    *,
    hidden: int = 64,
    timesteps: int = 16,
    epochs: int = 3,
    recurrent: bool = True,
    per_channel: bool = True,
    train_size: int = 4000,
    test_size: int = 1000,
    seed: int = 0,
    out_dir: str | Path | None = None,
    progress: bool = False,
    cache_dir: Path | None = None,
) -> SNNLabResult:
    """Train, export to NIR, compile, run on the hardware model and compare (the module docstring);
    trained weights are cached in ``cache_dir`` (default: `default_cache_dir`)."""
    data = load_mnist() if data is None else data
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    test = rate_encode(data.x_test[:test_size], timesteps, seed + 1000)
    runs = []
    for name, is_recurrent in (("snn", False), ("snn_recurrent", True)):
        if is_recurrent and not recurrent:
            continue
        config = TrainConfig(hidden, is_recurrent, timesteps, epochs, train_size, seed)
        runs.append(_one_network(name, config, data, test, per_channel, out, progress, cache_dir))
    return SNNLabResult(timesteps, hidden, len(test), runs)


if __name__ == "__main__":
    print(run_snn_lab(progress=True).table())
