"""The NIR tests' integer IF network (made from the seed MLP) and constants; fixtures are in conftest.py.

The network's weights, biases and thresholds are integers (the seed MLP's layers quantized per layer,
so each layer's largest |weight| is 127), so a float peer computes exactly the chip's integers and
bit-exactness is a fair test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from spikeir.lab.data import load_mnist
from spikeir.lab.training import train_or_load

TIMESTEPS = 16
HELD_OUT = 300


@dataclass(frozen=True)
class IntegerLayer:
    weight: NDArray[np.float64]
    bias: NDArray[np.float64]
    threshold: float


def integer_seed_layers() -> list[IntegerLayer]:
    """The seed MLP (784-64-10, cached) with integer weights and a threshold of about 1.0 real."""
    model, _ = train_or_load((64,), load_mnist())
    layers: list[IntegerLayer] = []
    for linear in (m for m in model.modules() if isinstance(m, torch.nn.Linear)):
        w = linear.weight.detach().double().numpy()
        b = linear.bias.detach().double().numpy()
        scale = np.abs(w).max() / 127
        layers.append(IntegerLayer(np.rint(w / scale), np.rint(b / scale), float(np.rint(1.0 / scale))))
    return layers
