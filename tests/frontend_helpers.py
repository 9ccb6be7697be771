"""Shared by the frontend tests: the seed's MLP in every input format, and an IR normaliser."""

from __future__ import annotations

import re

import numpy as np
import torch
from xdsl.dialects.builtin import ModuleOp

from spikeir.frontends.relay_text import meta_constant_key
from spikeir.training import MNISTNet

SEED_RELAY = """
fn (%input0: Tensor[(1, 1, 28, 28), float32]) {
  %0 = nn.batch_flatten(%input0);
  %1 = nn.dense(%0, meta[relay.Constant][0] /* (64, 784) */);
  %2 = nn.bias_add(%1, meta[relay.Constant][1] /* (64,) */);
  %3 = nn.relu(%2);
  %4 = nn.dense(%3, meta[relay.Constant][2] /* (10, 64) */);
  %5 = nn.bias_add(%4, meta[relay.Constant][3] /* (10,) */);
  %5
}
"""
"""The seed notebook's Relay (cell 3), verbatim."""


def seed_model(seed: int = 0) -> MNISTNet:
    torch.manual_seed(seed)
    return MNISTNet().eval()


def seed_params(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The seed Relay's meta constants, in the params-file convention."""
    arrays = [t.detach().numpy() for t in model.state_dict().values()]
    return {meta_constant_key(i): a for i, a in enumerate(arrays)}


_NAME = re.compile(r"%[A-Za-z0-9_$.]+")


def normalise(module: ModuleOp) -> str:
    """Printed IR without layer names, with SSA names replaced by their order of appearance."""
    text = re.sub(r' layer "[^"]*"', "", str(module))
    names: dict[str, str] = {}
    return _NAME.sub(lambda m: names.setdefault(m.group(0), f"%v{len(names)}"), text)
