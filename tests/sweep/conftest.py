"""Fixtures of the sweep tests (the helpers are in sweep_support.py)."""

from __future__ import annotations

import pytest
from sweep_support import tiny_data, tiny_model

from spikeir.sweep.models import EvalSet, SweepModel


@pytest.fixture
def model() -> SweepModel:
    return tiny_model()


@pytest.fixture
def data() -> EvalSet:
    return tiny_data()
