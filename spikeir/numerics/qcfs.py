"""QCFS: train a network whose ReLUs are the quantization clip-floor-shift activation of Bu et al. (ICLR 2022).

A rate-coded integrate-and-fire neuron with threshold ``lambda``, reset by subtraction and its
membrane started at ``lambda / 2`` fires, over ``T`` steps of a constant input current ``z``,

    n = clip(floor(T * z / lambda + 1/2), 0, T)

spikes, each worth ``lambda``; so a network trained with the activation

    a = lambda * clip(floor(z * L / lambda + 1/2) / L, 0, 1)        (L levels, lambda trainable)

computes what the spiking network computes at ``T = L`` (exactly for a layer whose input is constant,
in expectation after that). The floor passes its gradient straight through; lambda gets the gradient
of the clip and of the scale, so it learns the range each layer needs.

Use it on your own model: :func:`to_qcfs` swaps every ``nn.ReLU`` of a module tree (``nn.Sequential``,
MLPs, CNNs) for a `QCFS` (``lambda`` started at a percentile of what the ReLU sees on sample inputs),
:func:`fine_tune` trains it; ``spikeir.compile(model, ..., mode="rate")`` then reads every lambda into
the spike thresholds itself (:func:`relu_model` is what it compiles). docs/quantization.md, "QCFS",
has the measurements.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from spikeir.errors import QuantizationError

DEFAULT_LEVELS = 8
FINE_TUNE_EPOCHS = 4
FINE_TUNE_LR = 1e-3
"""`fine_tune`'s defaults: from a trained ReLU model, 4 Adam epochs at 1e-3 reach T = L agreement >= 99.4%
on the lab's seed MLP (docs/quantization.md, section 5)."""
DEFAULT_INIT_PERCENTILE = 99.9
"""Where `to_qcfs` starts each lambda: this percentile of the ReLU's positive inputs (Rueckauer et al. 2017)."""


class QCFSError(QuantizationError):
    """A model or setting the QCFS utilities cannot work with (names the module)."""


class QCFS(nn.Module):
    """``lambda * clip(floor(z * L / lambda + 1/2) / L, 0, 1)`` with a straight-through floor.

    ``lam`` is a trainable scalar: the largest value the activation takes, and the spike threshold (in
    the units of the activation) of the neuron that replaces it.
    """

    def __init__(self, levels: int = DEFAULT_LEVELS, lam: float = 1.0) -> None:
        super().__init__()
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise QCFSError(f"levels must be an integer >= 1, got {levels!r}", "QCFS")
        if not np.isfinite(lam) or lam <= 0:
            raise QCFSError(f"lambda must be a positive number, got {lam!r}", "QCFS")
        self.levels = levels
        self.lam = nn.Parameter(torch.tensor(float(lam)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        scaled = z * self.levels / self.lam + 0.5
        stepped = scaled + (torch.floor(scaled) - scaled).detach()  # floor forward, identity backward
        return self.lam * torch.clamp(stepped / self.levels, 0.0, 1.0)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, lam={float(self.lam.detach()):.4g}"


def qcfs_modules(model: nn.Module) -> list[tuple[str, QCFS]]:
    """The `QCFS` activations of ``model`` with their qualified names, in module order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, QCFS)]


def _replace(model: nn.Module, match: type[nn.Module], make: Callable[[str, nn.Module], nn.Module]) -> list[str]:
    """Replace every submodule of type ``match`` by ``make(name, old)`` in place; return their names."""
    names = [name for name, module in model.named_modules() if isinstance(module, match) and name]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, make(name, parent.get_submodule(child)))
    return names


@contextmanager
def _recording(model: nn.Module, kinds: tuple[type[nn.Module], ...]) -> Iterator[list[tuple[str, torch.Tensor]]]:
    """Record (module name, input) of every call of a module of ``kinds`` while the block runs."""
    calls: list[tuple[str, torch.Tensor]] = []

    def hook(name: str) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], None]:
        return lambda _module, args: calls.append((name, args[0].detach()))

    handles = [
        module.register_forward_pre_hook(hook(name))
        for name, module in model.named_modules()
        if isinstance(module, kinds)
    ]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def _as_tensor(x: NDArray[np.floating] | torch.Tensor) -> torch.Tensor:
    return x.float() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))


def to_qcfs(
    model: nn.Module,
    sample: NDArray[np.floating] | torch.Tensor,
    levels: int = DEFAULT_LEVELS,
    percentile: float = DEFAULT_INIT_PERCENTILE,
) -> nn.Module:
    """A copy of ``model`` with every ``nn.ReLU`` replaced by a `QCFS` of ``levels`` levels.

    Each lambda starts at ``percentile`` of the positive inputs that ReLU sees on ``sample`` (model
    inputs), so fine-tuning starts close to the trained network. A ReLU called more than once, or a
    model with no ``nn.ReLU`` module (a functional ``F.relu`` is invisible here), is an error.
    """
    if not 0 < percentile <= 100:
        raise QCFSError(f"percentile must be in (0, 100], got {percentile}", "to_qcfs")
    result = copy.deepcopy(model)
    with torch.no_grad(), _recording(result, (nn.ReLU,)) as calls:
        result.eval()(_as_tensor(sample))
    seen: dict[str, float] = {}
    for name, z in calls:
        if name in seen:
            raise QCFSError("this ReLU module is called more than once; give each use its own nn.ReLU", name)
        positive = z[z > 0]
        seen[name] = float(np.percentile(positive.numpy(), percentile)) if positive.numel() else 1.0
    replaced = _replace(result, nn.ReLU, lambda name, _old: QCFS(levels, seen.get(name, 1.0)))
    if not replaced:
        raise QCFSError(f"{type(model).__name__} has no nn.ReLU module to replace", type(model).__name__)
    unused = sorted(set(replaced) - set(seen))
    if unused:
        raise QCFSError("this nn.ReLU is never called on the sample inputs; lambda cannot start from data", unused[0])
    return result


def relu_model(model: nn.Module) -> tuple[nn.Module, dict[str, float], int]:
    """A copy of ``model`` with every `QCFS` back to ``nn.ReLU``, each QCFS's lambda by its name, and
    the levels (the same for all; a mix is an error). What the compiler imports: the staircase
    itself is what rate coding computes, and the lambdas become thresholds."""
    lambdas = {name: float(module.lam.detach()) for name, module in qcfs_modules(model)}
    levels = {module.levels for _, module in qcfs_modules(model)}
    if len(levels) > 1:
        raise QCFSError(f"QCFS activations with different levels {sorted(levels)}; use one L", type(model).__name__)
    for name, lam in lambdas.items():
        if not np.isfinite(lam) or lam <= 0:
            raise QCFSError(f"lambda is {lam}; a spike threshold must be a positive number", name)
    plain = copy.deepcopy(model)
    _replace(plain, QCFS, lambda _name, _old: nn.ReLU())
    return plain, lambdas, levels.pop() if levels else 0


def activation_order(model: nn.Module, example: NDArray[np.floating] | torch.Tensor) -> list[str]:
    """The names of ``model``'s ReLU and QCFS modules in the order one forward pass calls them."""
    with torch.no_grad(), _recording(model, (nn.ReLU, QCFS)) as calls:
        model.eval()(_as_tensor(example))
    return [name for name, _ in calls]


def fine_tune(
    model: nn.Module,
    x: NDArray[np.floating] | torch.Tensor,
    y: NDArray[np.integer] | torch.Tensor,
    levels: int | None = None,
    epochs: int = FINE_TUNE_EPOCHS,
    lr: float = FINE_TUNE_LR,
    seed: int = 0,
) -> tuple[nn.Module, list[float]]:
    """``to_qcfs(model, x[:500], levels)`` trained on (x, y); returns it (in eval mode) and its epoch losses.

    Training is `spikeir.lab.training.train` (Adam, cross-entropy, seeded, deterministic). A model that
    already carries QCFS activations is trained as it is (``levels``, if given, must be theirs);
    ``levels`` defaults to `DEFAULT_LEVELS` for a ReLU model.
    """
    from spikeir.lab.training import train

    present = {module.levels for _, module in qcfs_modules(model)}
    if present and levels is not None and present != {levels}:
        raise QCFSError(
            f"the model's QCFS activations have {sorted(present)} levels, not {levels}: fine-tune it as it is "
            "(levels=None) or start from its ReLU model",
            type(model).__name__,
        )
    tuned = copy.deepcopy(model) if present else to_qcfs(model, x[:500], levels or DEFAULT_LEVELS)
    losses = train(tuned, x, y, epochs=epochs, lr=lr, seed=seed, progress=False)
    return tuned, losses
