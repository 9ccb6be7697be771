"""Fixtures of the NIR tests: held-out digits as spike streams, the integer IF network (nir_networks)."""

from __future__ import annotations

import numpy as np
import pytest
from nir_networks import HELD_OUT, TIMESTEPS, IntegerLayer, integer_seed_layers
from numpy.typing import NDArray

from spikeir.lab.data import load_mnist
from spikeir.snn import encode


@pytest.fixture(scope="session")
def digits() -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    data = load_mnist()
    return data.x_test[:HELD_OUT].reshape(HELD_OUT, -1), data.y_test[:HELD_OUT]


@pytest.fixture(scope="session")
def streams(digits: tuple[NDArray[np.float32], NDArray[np.int64]]) -> NDArray[np.float64]:
    """Rate-encoded held-out digits (B, T, 784), seeded."""
    return encode(digits[0], 784, "rate", TIMESTEPS, seed=7)


@pytest.fixture(scope="session")
def integer_if_layers() -> list[IntegerLayer]:
    return integer_seed_layers()
