"""Printed IR reads back exactly: float weights survive print -> parse bit for bit (issue 19, 6)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import arith
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, ModuleOp, TensorType, f32, f64
from xdsl.parser import Parser

from spikeir.dialects import spikeir_context
from spikeir.ir.printer import print_ir

SPIKE_OPT = Path(sys.executable).parent / "spike-opt"


def _constant_module(values: np.ndarray) -> ModuleOp:
    element = f32 if values.dtype == np.float32 else f64
    attr = DenseIntOrFPElementsAttr(TensorType(element, values.shape), BytesAttr(values.tobytes()))
    return ModuleOp([arith.ConstantOp(attr)])


def _read_back(text: str) -> bytes:
    module = Parser(spikeir_context(), text).parse_module()
    (constant,) = module.ops
    assert isinstance(constant, arith.ConstantOp)
    value = constant.value
    assert isinstance(value, DenseIntOrFPElementsAttr)
    return value.data.data


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12))
def test_every_f32_bit_pattern_reads_back(bits: list[int]) -> None:
    values = np.frombuffer(struct.pack(f"<{len(bits)}I", *bits), np.float32)
    assert _read_back(print_ir(_constant_module(values))) == values.tobytes()


def test_the_values_xdsl_printed_as_hex_now_read_back() -> None:
    values = np.array([[np.nan, np.inf], [-np.inf, 123456792.0]], np.float32)
    text = print_ir(_constant_module(values))
    assert 'dense<"0x' in text
    assert _read_back(text) == values.tobytes()
    # and xDSL's own printing changes them (why ExactPrinter exists)
    assert _read_back(str(_constant_module(values))) != values.tobytes()


def test_ordinary_weights_keep_the_readable_list_form() -> None:
    values = np.array([0.5, -1.25, 3.0], np.float32)
    text = print_ir(_constant_module(values))
    assert "dense<[5.000000e-01, -1.250000e+00, 3.000000e+00]>" in text
    assert _read_back(text) == values.tobytes()


def test_f64_reads_back() -> None:
    values = np.array([np.nan, 1e300, -0.0], np.float64)
    assert _read_back(print_ir(_constant_module(values))) == values.tobytes()


def test_spike_opt_output_reads_back_exactly(tmp_path: Path) -> None:
    """spike-opt m.mlir -o m2.mlir, then m2.mlir again: the same bytes, where xDSL's printer changed them."""
    values = np.array([np.nan, 123456792.0, 16777217.0, 0.1], np.float32)
    first = tmp_path / "m.mlir"
    first.write_text(print_ir(_constant_module(values)))
    second = tmp_path / "m2.mlir"
    done = subprocess.run([str(SPIKE_OPT), str(first), "-o", str(second)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _read_back(second.read_text()) == values.tobytes()
