"""Fuzzing the parsers: hostile text and bytes end in one located user error, never a crash or a hang.

Each parser gets random input and mutations of a valid seed (docs/robustness.md says what ran for
how long and what it found). The rule under test: the assembler raises only AssemblyError at
``line:col``, the image decoder only ImageError at ``byte N`` (fast, without allocating what a
header claims), the Relay importer only FrontendError at ``file:line:col``, and spike-opt exits 1
with a ``file:line:col: error:`` line (or 0), never a Python traceback.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.chip.assembly import assemble
from spikeir.chip.image import HEADER_SIZE, decode, encode
from spikeir.errors import AssemblyError, FrontendError, ImageError
from spikeir.frontends.relay_text import import_relay, meta_constant_key
from spikeir.passes.fuse_dense import FuseDensePass
from spikeir.passes.place import PlacePass
from spikeir.tools.spike_opt import main as spike_opt
from support.frontend_helpers import SEED_RELAY
from support.programs import SMALL, small_program

LIT = Path(__file__).parent.parent / "lit"
QUICK = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mutate(seed: str, edits: list[tuple[int, int, str]]) -> str:
    """``seed`` with each ``(position, deleted length, inserted text)`` edit applied in turn."""
    text = seed
    for position, length, insert in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + length :]
    return text


# Words of each grammar, so that mutations reach past the lexer into the semantic checks.
ASM_WORDS = [
    ".target", ".inputs", ".output", ".synapses", ".params", "ACC", "FIRE", "LEAK", "HALT", "c0", "c999",
    "S0", "S7", "P0", "P9", "bus", "[", "]", ":", ",", "->", "=", "0x", "-1", "4294967296", "65536",
    "99999999999999999999", "\n", ";", "graded", "binary", "reset=zero", "init=half", "shift=", "clamp=",
    "nan", "inf", "1e999", "0", "1x1", "0x0", "ff", "\r", "\t", "\x00", "é",
]  # fmt: skip
RELAY_WORDS = [
    "%0", "%1", "%data", "%nowhere", "meta[relay.Constant][9]", "meta[x][0]", "nn.dense(", "nn.relu(",
    "reshape(", "transpose(", "add(", "nn.softmax(", "nn.batch_flatten(", "copy(", ")", "(", ",", ";",
    "=", "newshape=[0, -1]", "newshape=[]", "newshape=[5, 5]", "axes=[0]", "axes=[0, 0, 1]", "axes=[1, x]",
    "axis=5", "axis=x", "axis=1.5", "units=7", "Tensor[(0, 3), float32]", "Tensor[(), float32]", "int8",
    "-1", "99999999999999999999", "1e400", "let", "fn", "def", "{", "}", "/*", "*/", "//", "\n", '"',
]  # fmt: skip


def edits(words: list[str]) -> st.SearchStrategy[list[tuple[int, int, str]]]:
    inserted = st.one_of(st.sampled_from(words), st.text(max_size=4))
    return st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 6), inserted), min_size=1, max_size=4)


# -- assembly text ----------------------------------------------------------------------------------


def assert_assembly_error(text: str) -> None:
    try:
        assemble(text)
    except AssemblyError as error:
        assert error.location is not None and re.fullmatch(r"\d+:\d+", error.location), error


@QUICK
@given(st.text(max_size=200))
def test_random_text_is_an_assembly_error(text: str) -> None:
    assert_assembly_error(text)


@QUICK
@given(edits(ASM_WORDS))
def test_mutated_listing_assembles_or_is_a_located_error(changes: list[tuple[int, int, str]]) -> None:
    assert_assembly_error(mutate(SMALL, changes))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (".synapses S0 2x4", ".synapses S0 99999999x99999999"),  # a huge shape with 8 bytes of data
        (".params P0 2", ".params P0 4294967295"),
        ("c0[0:2], S0", "c99999999999999999999[0:2], S0"),
        ("shift=24", "shift=99999999999999999999"),
        (".inputs 4", ".inputs 99999999999999999999"),
        ("bus_size=262144", "bus_size=99999999999999999999"),
    ],
)
def test_huge_numbers_in_a_listing_fail_fast(old: str, new: str) -> None:
    start = time.perf_counter()
    with pytest.raises(AssemblyError, match=r"^\d+:\d+: "):
        assemble(SMALL.replace(old, new))
    assert time.perf_counter() - start < 1.0


# -- binary images ----------------------------------------------------------------------------------


def _with_counts(image: bytes, offset: int, fmt: str, value: int) -> bytes:
    """``image`` with one header field set to ``value`` (CRC and size left as they are: still valid)."""
    data = bytearray(image)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


@pytest.mark.parametrize(
    ("offset", "fmt", "value"),
    [(60, "<I", 2**32 - 1), (64, "<H", 0xFFFF), (66, "<H", 0xFFFF), (68, "<H", 0xFFFF), (56, "<I", 2**32 - 1)],
    ids=["instructions", "outputs", "synapse-tables", "param-tables", "inputs"],
)
def test_header_claiming_huge_counts_fails_fast_without_allocating(offset: int, fmt: str, value: int) -> None:
    image = _with_counts(encode(small_program()), offset, fmt, value)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ImageError, match=r"^byte \d+: "):
            decode(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 0.5
    assert peak < 1 << 20, f"decoding a {len(image)}-byte image allocated {peak} bytes"


@QUICK
@given(st.binary(min_size=HEADER_SIZE, max_size=HEADER_SIZE + 300), st.booleans())
def test_random_headers_are_image_errors(data: bytes, magic: bool) -> None:
    image = b"SPKC\x01\x00\x50\x00" + data[8:] if magic else data
    with pytest.raises(ImageError, match=r"^byte \d+: "):
        decode(image)


# -- Relay text -------------------------------------------------------------------------------------

_RNG = np.random.default_rng(0)
DEF_MAIN = """#[version = "0.0.5"]
def @main(%data: Tensor[(1, 3, 4), float32], %fc1.weight: Tensor[(5, 12), float32]) -> Tensor[(1, 3), float32] {
  %0 = reshape(%data, newshape=[0, -1]);
  %1 = nn.dense(%0, %fc1.weight, units=5);
  let %2: Tensor[(1, 5), float32] = add(%1, %fc1_bias);
  %3 = nn.relu(%2);
  %4 = nn.dense(%3, transpose(meta[relay.Constant][0], axes=[1, 0]), units=None);
  nn.softmax(%4, axis=1)
}
"""
DEF_PARAMS = {
    "fc1.weight": _RNG.standard_normal((5, 12)).astype(np.float32),
    "fc1_bias": _RNG.standard_normal(5).astype(np.float32),
    meta_constant_key(0): _RNG.standard_normal((5, 3)).astype(np.float32),
}
SEED_PARAMS = {
    meta_constant_key(i): _RNG.standard_normal(shape).astype(np.float32)
    for i, shape in enumerate([(64, 784), (64,), (10, 64), (10,)])
}


def assert_frontend_error(text: str, params: dict[str, np.ndarray]) -> None:
    try:
        import_relay(text, params, "m.relay")
    except FrontendError as error:
        assert error.location is not None and re.match(r"m\.relay:\d+:\d+", error.location), error


@QUICK
@given(st.sampled_from(["def", "seed"]), edits(RELAY_WORDS))
def test_mutated_relay_imports_or_is_a_located_error(seed: str, changes: list[tuple[int, int, str]]) -> None:
    text, params = (DEF_MAIN, DEF_PARAMS) if seed == "def" else (SEED_RELAY, SEED_PARAMS)
    assert_frontend_error(mutate(text, changes), params)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [  # each of these crashed the importer with a ValueError, TypeError or ZeroDivisionError
        ("axis=1)", "axis=H)", "nn.softmax: axis must be an integer, got 'H'"),
        ("axis=1)", "axis=1.5)", "nn.softmax: axis must be an integer, got 1.5"),
        ("axes=[1, 0]", "axes=[1, I]", "transpose: axes must be a permutation of 0..1"),
        ("axes=[1, 0]", "axes=[]", "transpose: axes must be a permutation of 0..1"),
        ("axes=[1, 0]", "axes=[0, 0]", "transpose: axes must be a permutation of 0..1"),
        ("%fc1.weight: Tensor[(5, 12), float32]", "%fc1.weight: Tensor[(), float32]", "is declared [] but"),
        (
            "%3 = nn.relu(%2);",
            "%3 = nn.relu(%2);\n  %9 = reshape(%fc1_bias, newshape=[7]);",
            "reshape: cannot reshape a constant of shape [5] to [7]",
        ),
        ("add(%1, %fc1_bias)", "add(%1, %fc1_bias, axis=x)", "add takes no attributes, got axis"),
        ("nn.relu(%2)", "nn.relu(%2, alpha=0.1)", "nn.relu takes no attributes, got alpha"),
    ],
)
def test_relay_attribute_errors_found_by_fuzzing(old: str, new: str, message: str) -> None:
    assert old in DEF_MAIN
    with pytest.raises(FrontendError, match=r"^m\.relay:\d+:\d+: ") as caught:
        import_relay(DEF_MAIN.replace(old, new), DEF_PARAMS, "m.relay")
    assert message in caught.value.message


def test_bias_add_on_a_scalar_is_a_located_error() -> None:
    text = "fn (%x: Tensor[(), float32]) { nn.bias_add(%x, %b) }"
    with pytest.raises(
        FrontendError, match=r"^m\.relay:1:\d+: nn\.bias_add: axis=1 is out of range for a tensor of rank 0"
    ):
        import_relay(text, {"b": np.ones(1, np.float32)}, "m.relay")


# -- spike-opt on mutated IR ------------------------------------------------------------------------


def _lit_seeds() -> list[tuple[str, list[str]]]:
    """(text, spike-opt arguments) of the positive lit tests that run one pass (or none)."""
    seeds = []
    for name, args in [
        ("dialects/nn.mlir", []),
        ("dialects/spikecore.mlir", []),
        ("dialects/quant.mlir", []),
        ("passes/fuse-dense.mlir", ["--split-input-file", "-p", FuseDensePass.name]),
        ("passes/nn-fold-reshapes.mlir", ["--split-input-file", "-p", "nn-fold-reshapes"]),
        ("passes/partition.mlir", ["-p", "partition-for-spikecore"]),
        ("passes/lower.mlir", ["-p", "lower-quant-to-spikecore"]),
        ("passes/convert.mlir", ["-p", "convert-to-snn"]),
        ("passes/place.mlir", ["-p", PlacePass.name, "-t", "spikecore-asm"]),
    ]:
        seeds.append(((LIT / name).read_text(), args))
    return seeds


SEEDS = _lit_seeds()


def run_spike_opt(path: Path, args: list[str]) -> tuple[int, str]:
    """spike-opt in this process (as fast as a function call): exit status and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = spike_opt([str(path), *args])
    return status, err.getvalue()


def assert_located_or_ok(path: Path, args: list[str]) -> None:
    start = time.perf_counter()
    status, err = run_spike_opt(path, args)
    assert time.perf_counter() - start < 10, f"spike-opt took {time.perf_counter() - start:.1f} s"
    assert status in (0, 1), err
    assert "Traceback" not in err and "internal error" not in err, err
    if status == 1:
        errors = [line for line in err.splitlines() if ": error: " in line]
        assert errors, err
        # A parse error is at file:line:col; a pass error at the nearest place (the file, or a symbol).
        assert errors[0].startswith((f"{path}:", "@")), err


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(0, len(SEEDS) - 1),
    st.lists(
        st.tuples(st.integers(0, 10**5), st.sampled_from(["flip", "delete", "copy"]), st.integers(1, 255)),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_ir_never_crashes_spike_opt(tmp_path: Path, seed: int, changes: list[tuple[int, str, int]]) -> None:
    text, args = SEEDS[seed]
    data = bytearray(text.encode())
    for position, how, value in changes:
        at = position % len(data)
        if how == "flip":
            data[at] ^= value
        elif how == "delete":
            del data[at : at + value % 8 + 1]
        else:
            data[at:at] = data[value % len(data) :][: value % 16 + 1]
    path = tmp_path / "m.mlir"
    path.write_bytes(bytes(data))
    assert_located_or_ok(path, args)


def test_unterminated_string_fails_fast(tmp_path: Path) -> None:
    """Found by fuzzing: xDSL's string-literal regex backtracked exponentially (hours for one line)."""
    path = tmp_path / "m.mlir"
    path.write_text(
        "func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {\n"
        '  %0 = nn.fused_dense %x, %x layer "b (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>\n'
        "  func.return %0 : tensor<1x4xf32>\n}\n"
    )
    start = time.perf_counter()
    status, err = run_spike_opt(path, [])
    assert time.perf_counter() - start < 5
    assert status == 1 and err.startswith(f"{path}:2:36: error: End of file reached before closing string literal"), err


def test_non_utf8_ir_is_a_located_error(tmp_path: Path) -> None:
    """Found by fuzzing: a byte that is not UTF-8 ended spike-opt in a UnicodeDecodeError traceback."""
    path = tmp_path / "m.mlir"
    path.write_bytes(b'func.func @f() {\n  "x\xff"() : () -> ()\n}\n')
    status, err = run_spike_opt(path, [])
    assert status == 1 and err == f"{path}:2:5: error: the input is not UTF-8 text (byte 0xff)\n", err
