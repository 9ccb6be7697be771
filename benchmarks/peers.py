"""`spikeir bench --peers`: the hardware model against the SNN simulators people use, on the same SNN.

The network is the benchmark's 784-64-10 MLP (:mod:`spikeir.benchmarks.hardware`) as a rate-coded
integrate-and-fire SNN: int8 inputs, a hidden layer of IF neurons with one threshold theta, reset by
subtraction, V starting at 0 (the peers' default), T = 32 timesteps, and an output layer that
integrates the spikes (its V after T steps is the result). Every peer computes exactly the same
integers, configured as its documentation describes, and the fastest way it allows: the input
current ``W1 x + b1`` formed once (the input is the same every timestep), the library's multi-step
form where it has one, the output layer applied to all timesteps in one product:

- plain PyTorch: the IF loop written directly on float32 tensors;
- sinabs ``IAF(spike_fn=SingleSpike, reset_fn=MembraneSubtract(), min_v_mem=None)``, input
  (batch, time, neurons) (its default ``MultiSpike`` emits several spikes in one step: not IF);
- SpikingJelly ``IFNode(v_reset=None, step_mode="m")`` (soft reset), input (time, batch, neurons);
- snnTorch ``Leaky(beta=1, reset_mechanism="subtract")`` stepped per timestep: it fires on
  ``V > theta``, so it runs on ``2V + 1`` (initial membrane 1, current 2I, threshold 2 theta),
  which is above ``2 theta`` exactly when ``V >= theta`` for integers.

Norse cannot express this neuron (its IAF resets to a value, not by subtraction) and Lava does not
install on Python 3.11 (every lava-nc release needs Python < 3.11); both are named as missing, as is
any peer whose package is not installed (they are optional: ``pip install -c constraints.txt -e
".[peers]"``). All float32 state here is exact: the bound ``T * max|current|`` is asserted below
2^24. Each peer's outputs are compared with the hardware model's before it is timed.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import numpy as np
import torch

from spikeir.benchmarks.hardware import (
    F32_EXACT,
    N_HID,
    Network,
    best_times,
    limit,
    make_network,
    make_program,
    mnist_like,
)
from spikeir.chip.hardware_model import SpikeCoreCPU

TIMESTEPS = 32
PEERS = ("sinabs", "snntorch", "spikingjelly")
"""The optional peer packages, by import name."""
CANNOT = {
    "norse": "cannot express reset-by-subtraction IF (its IAF resets to a value)",
    "lava": "not installable here (every lava-nc release needs Python < 3.11)",
}

Forward = Callable[[np.ndarray], np.ndarray]


def peer_network(rng: np.random.Generator) -> Network:
    """The benchmark network with one threshold for every hidden neuron (the peers take a scalar),
    and its hidden weights and threshold divided by 4, so that even snnTorch's doubled membrane
    stays exact in float32 for 32 timesteps (a hidden neuron's V drifts by its current per step)."""
    net = make_network(rng)
    net.w1 = (net.w1 // 4).astype(np.int8)
    net.threshold = np.full(N_HID, max(1, int(np.median(net.threshold)) // 4), np.int32)
    return net


class _Torch:
    """The network's tensors, and the parts every peer shares: the current and the output layer."""

    def __init__(self, net: Network, timesteps: int) -> None:
        self.w1t = torch.from_numpy(np.ascontiguousarray(net.w1.T, dtype=np.float32))
        self.b1 = torch.from_numpy(net.b1.astype(np.float32))
        self.w2t = torch.from_numpy(np.ascontiguousarray(net.w2.T, dtype=np.float32))
        self.b2 = torch.from_numpy(net.b2.astype(np.float32))
        self.theta = float(net.threshold[0])
        self.timesteps = timesteps

    def current(self, x: np.ndarray) -> torch.Tensor:
        current = torch.from_numpy(x.astype(np.float32)) @ self.w1t + self.b1
        bound = 2 * self.timesteps * float(current.abs().max()) + 1
        assert bound < F32_EXACT, f"membranes reach {bound}: float32 would not be exact"
        return current

    def readout(self, spikes: torch.Tensor, time_axis: int) -> np.ndarray:
        """The output layer's V after T steps: every timestep's product and bias, summed."""
        return (spikes @ self.w2t + self.b2).sum(time_axis).numpy().astype(np.int64)


def plain_torch(t: _Torch) -> Forward:
    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            current = t.current(x)
            v = torch.zeros_like(current)
            spikes = torch.empty((t.timesteps, *current.shape))
            for step in range(t.timesteps):
                v += current
                fired = (v >= t.theta).float()
                v -= fired * t.theta
                spikes[step] = fired
            return t.readout(spikes, 0)

    return forward


def sinabs_peer(t: _Torch) -> Forward:
    from sinabs.activation import MembraneSubtract, SingleSpike
    from sinabs.layers import IAF

    layer = IAF(
        spike_threshold=torch.tensor(t.theta), spike_fn=SingleSpike, reset_fn=MembraneSubtract(), min_v_mem=None
    )

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            current = t.current(x)
            layer.reset_states()
            spikes = layer(current[:, None, :].expand(-1, t.timesteps, -1))
            return t.readout(spikes, 1)

    return forward


def spikingjelly_peer(t: _Torch) -> Forward:
    from spikingjelly.activation_based import neuron

    node = neuron.IFNode(v_threshold=t.theta, v_reset=None, step_mode="m")

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            current = t.current(x)
            node.reset()
            spikes = node(current[None].expand(t.timesteps, -1, -1))
            return t.readout(spikes, 0)

    return forward


def snntorch_peer(t: _Torch) -> Forward:
    import snntorch

    lif = snntorch.Leaky(beta=1.0, threshold=2 * t.theta, reset_mechanism="subtract")

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            doubled = 2 * t.current(x)
            mem = torch.ones_like(doubled)  # the membrane is 2V + 1 (module docstring)
            spikes = torch.empty((t.timesteps, *doubled.shape))
            for step in range(t.timesteps):
                spikes[step], mem = lif(doubled, mem)
            return t.readout(spikes, 0)

    return forward


BUILDERS: dict[str, Callable[[_Torch], Forward]] = {
    "sinabs": sinabs_peer,
    "snntorch": snntorch_peer,
    "spikingjelly": spikingjelly_peer,
}


def available_peers(t: _Torch) -> tuple[dict[str, Forward], dict[str, str]]:
    """The installed peers' forward functions, and why each other one is missing."""
    found: dict[str, Forward] = {"torch": plain_torch(t)}
    missing = dict(CANNOT)
    for name in PEERS:
        try:
            importlib.import_module(name)
        except ImportError as err:  # optional packages: say which, measure the rest
            missing[name] = f"not installed ({err})"
            continue
        found[name] = BUILDERS[name](t)
    return found, missing


def measure(batches: tuple[int, ...] = (1, 100, 10_000), min_total_s: float = 0.5) -> dict[str, object]:
    """Time the hardware model, the float32 numpy limit and every available peer at each batch;
    print a table, return the rows and the missing peers. A peer whose outputs differ from the
    hardware model's is reported and not timed."""
    rng = np.random.default_rng(0)
    net = peer_network(rng)
    inputs = mnist_like(rng, max(batches))
    program = make_program(net, "dense", rate=True, init_half=False)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    t = _Torch(net, TIMESTEPS)
    peers, missing = available_peers(t)
    reference = limit(net, True, TIMESTEPS, init_half=False)
    names = ["spikeir", "numpy limit", *peers]
    print(f"rate-coded IF SNN 784-64-10, T={TIMESTEPS}: milliseconds (x: time / spikeir's)")
    print(f"{'batch':>6} " + " ".join(f"{n:>18}" for n in names))
    rows: list[dict[str, object]] = []
    differ: dict[str, str] = {}
    for batch in batches:
        x = inputs[:batch]
        cpu.run(x, TIMESTEPS)
        expected = cpu.outputs()
        timed = {"spikeir": functools.partial(cpu.run, x, TIMESTEPS), "numpy limit": functools.partial(reference, x)}
        for name, forward in [("numpy limit", reference), *peers.items()]:
            if np.array_equal(forward(x), expected):
                timed.setdefault(name, functools.partial(forward, x))
            else:
                differ[name] = f"outputs differ from the hardware model's at batch {batch}: not timed"
        seconds = dict(zip(timed, best_times(*timed.values(), min_total_s=min_total_s)))
        rows.append({"batch": batch, "timesteps": TIMESTEPS, "seconds": seconds})
        cells = [
            f"{seconds[n] * 1e3:9.3f} ({seconds[n] / seconds['spikeir']:5.2f}x)" if n in seconds else f"{'differs':>18}"
            for n in names
        ]
        print(f"{batch:>6} " + " ".join(f"{c:>18}" for c in cells))
    for name, why in {**missing, **differ}.items():
        print(f"  {name}: {why}")
    return {"rows": rows, "missing": missing, "differ": differ}


if __name__ == "__main__":
    measure()
