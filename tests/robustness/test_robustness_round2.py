"""Round 2 of the red team (issue 19): the crashes, blow-ups and unreadable artifacts of items 10-13
that live in the tools and the chip's stored forms. Each test failed before its fix (a traceback,
an allocation of gigabytes, a run without end, exit 0 with output nothing reads back)."""

from __future__ import annotations

import contextlib
import io
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from spikeir.chip.assembly import assemble, disassemble
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.errors import TargetError
from spikeir.tools import spike_opt, spike_run
from support.programs import SMALL, SMALL_V2

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "examples" / "tiny_mlp.mlir"


def run_main(main: Callable[[list[str]], int], *args: object) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of a CLI's main in this process; argparse's exit included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
    return status, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(lines) == 1 or lines[1].strip() and len(lines) <= 3, err  # the line, maybe a caret under it
    return lines[0]


# --- item 10: nesting, element types, recursion ------------------------------------------------------

MAIN = "func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {{\n{body}\n  func.return %x : tensor<1x4xf32>\n}}\n"


def nested_ops(levels: int) -> str:
    """``levels`` generic ops, each in the region of the one before (two brackets a level)."""
    return '"foo.op"() ({ ' * levels + '"foo.op"() : () -> ()' + " }) : () -> ()" * levels


def first_too_deep(line: str, depth: int) -> int:
    """The column of the bracket that opens level 65 (the text has no strings or comments)."""
    for index, char in enumerate(line):
        depth += (char in "([{") - (char in ")]}")
        if depth > 64:
            return index + 1
    raise AssertionError("not too deep")


@pytest.mark.parametrize(
    "body",
    [
        nested_ops(600),  # regions in regions
        "%c = arith.constant dense<" + "[" * 3000 + "]" * 3000 + "> : tensor<1xf32>",  # a dense literal
        '"test.op"() {a = ' + "[" * 3000 + "]" * 3000 + "} : () -> ()",  # an array attribute
    ],
)
def test_deep_nesting_is_a_located_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "deep.mlir"
    line = "  " + body
    path.write_text(MAIN.format(body=line))
    column = first_too_deep(line, depth=1)  # line 1 opened the function's body
    for main, extra in ((spike_opt.main, ()), (spike_run.main, ("--input", path))):
        start = time.perf_counter()
        status, _, err = run_main(main, path, *extra)
        assert status == 1 and time.perf_counter() - start < 5
        assert one_error_line(err) == (
            f"{path}:2:{column}: error: brackets nest more than 64 levels deep here, more than spikeir parses"
        )


def test_angle_bracket_nesting_that_still_recurses_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.mlir"
    path.write_text(MAIN.format(body='  "test.op"() : () -> ' + "tuple<" * 3000 + ">" * 3000))
    status, _, err = run_main(spike_opt.main, path)
    assert status == 1 and one_error_line(err) == f"{path}: error: the input nests too deeply for the parser"


def test_nesting_within_the_bound_still_parses_and_prints(tmp_path: Path) -> None:
    path = tmp_path / "nested.mlir"
    path.write_text(MAIN.format(body="  " + nested_ops(31).replace("() :", '() {s = "((((("} :', 1)))
    status, out, err = run_main(spike_opt.main, path, "--allow-unregistered-dialect")
    assert (status, err) == (0, "") and out.count('"foo.op"') == 32 and '"((((("' in out


def test_f80_constants_are_a_located_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "f80.mlir"
    path.write_text(TINY.read_text().replace("f32", "f80"))
    for main, extra in ((spike_opt.main, ()), (spike_run.main, ("--input", path))):
        status, _, err = run_main(main, path, *extra)
        assert status == 1
        assert (
            one_error_line(err) == f"{path}:3:3: error: an attribute of this op has a type xDSL cannot hold values of"
        )


RECURSIVE = """\
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = func.call @a(%x) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %1 = func.call @b(%0) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %2 = func.call @a(%1) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %2 : tensor<1x4xf32>
}
func.func @a(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = nn.relu %x : tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
func.func @b(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = func.call @a(%x) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %1 = func.call @c(%0) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %1 : tensor<1x4xf32>
}
func.func @c(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = func.call @b(%x) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
"""


def test_recursive_calls_are_refused_and_shared_callees_are_not(tmp_path: Path) -> None:
    x = tmp_path / "x.npy"
    np.save(x, np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32))
    path = tmp_path / "rec.mlir"
    path.write_text(RECURSIVE)
    status, _, err = run_main(spike_run.main, path, "--input", x)
    assert status == 1
    assert one_error_line(err).endswith(
        "error: @main: recursive calls (@b -> @c -> @b): spike-run evaluates no recursion"
    )
    selfcall = RECURSIVE.replace("func.call @c(%0)", "func.call @b(%0)")
    path.write_text(selfcall)
    assert "(@b -> @b)" in run_main(spike_run.main, path, "--input", x)[2]
    acyclic = RECURSIVE.replace("%1 = func.call @c(%0) :", "%1 = func.call @a(%0) :").split("func.func @c")[0]
    path.write_text(acyclic)  # @a is called from @main and from @b: a DAG, not a cycle
    status, out, err = run_main(spike_run.main, path, "--input", x, "--json")
    assert (status, err) == (0, "") and json.loads(out)["results"] == [[[0.0, 2.0, 0.0, 4.0]]]


# --- item 10: targets and passes of xDSL that spike-opt offered ---------------------------------------


def test_only_targets_that_print_spikeir_ir_are_offered() -> None:
    for name in ("llvm", "riscv-asm", "x86-asm", "arm-asm", "wat", "wgsl", "csl", "mps"):
        status, _, err = run_main(spike_opt.main, TINY, "-t", name)
        assert status == 2 and f"invalid choice: '{name}' (choose from mlir, spikecore-asm, spikecore-bin)" in err


def test_an_xdsl_pass_that_crashes_on_spikeir_ir_is_one_line() -> None:
    status, _, err = run_main(spike_opt.main, TINY, "-p", "convert-arith-to-riscv")
    assert status == 1
    line = one_error_line(err)
    assert line.startswith(
        "spike-opt: error: xDSL's pass 'convert-arith-to-riscv' failed on this IR (NotImplementedError: "
    )
    assert line.endswith("it is not written for spikeir's dialects")
    status, out, err = run_main(spike_opt.main, TINY, "-p", "canonicalize,cse")  # xDSL's passes that apply
    assert (status, err) == (0, "") and "nn.dense" in out


# --- item 11: bounds ------------------------------------------------------------------------------


def test_timesteps_are_bounded(tmp_path: Path) -> None:
    program, x = tmp_path / "net.s", tmp_path / "x.npy"
    program.write_text(SMALL)
    np.save(x, np.zeros(4, np.int8))
    status, _, err = run_main(spike_run.main, program, "--input", x, "-T", "100001")
    assert status == 2 and "at most 100,000 timesteps, got 100001" in err
    assert spike_run.build_parser().parse_args([str(program), "--input", str(x), "-T", "100000"]).timesteps == 100_000


def test_a_listing_claiming_65535_by_65535_neurons_runs_in_bounded_memory(tmp_path: Path) -> None:
    text = SMALL_V2.replace("cores=4 neurons_per_core=32", "cores=65535 neurons_per_core=65535")
    assert "neurons_per_core=65535" in text and ".probe" in text
    program, x = tmp_path / "big.s", tmp_path / "x.npy"
    program.write_text(text)
    np.save(x, np.ones((2, 3, 8), np.int8))
    tracemalloc.start()
    status, out, err = run_main(spike_run.main, program, "--input", x, "--json")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (status, err) == (0, ""), err
    assert peak < 64 << 20  # 65535 x 65535 int64 would be 32 GiB
    small = assemble(SMALL_V2)
    cpu = SpikeCoreCPU(target=small.target)
    cpu.load_program(small)
    cpu.run(np.ones((2, 3, 8), np.int8))
    assert json.loads(out)["outputs"] == np.asarray(cpu.outputs()).reshape(2, -1).tolist()


# --- streamed programs in spike-run (found while checking item 11: they crashed) --------------------


def test_spike_run_runs_streamed_programs(tmp_path: Path) -> None:
    program, x = tmp_path / "v2.s", tmp_path / "x.npy"
    program.write_text(SMALL_V2)
    stream = np.random.default_rng(0).integers(-128, 128, (2, 3, 8)).astype(np.int8)
    reference = assemble(SMALL_V2)
    cpu = SpikeCoreCPU(target=reference.target)
    cpu.load_program(reference)
    cpu.run(stream)
    expected = np.asarray(cpu.outputs()).reshape(2, -1)
    np.save(x, stream)
    status, out, err = run_main(spike_run.main, program, "--input", x, "--json")
    result = json.loads(out)
    assert (status, err, result["timesteps"], result["batch"]) == (0, "", 3, 2)
    assert result["outputs"] == expected.tolist()
    np.save(x, stream[0])
    assert json.loads(run_main(spike_run.main, program, "--input", x, "--json")[1])["outputs"] == expected[:1].tolist()
    np.save(x, stream.reshape(2, 3, 2, 4))
    status, out, _ = run_main(spike_run.main, program, "--input", x, "--batch-from-file", "-T", "3", "--json")
    assert status == 0 and json.loads(out)["outputs"] == expected.tolist()


@pytest.mark.parametrize(
    ("array", "args", "message"),
    [
        (np.zeros((3, 8), np.int8), ("-T", "4"), "--timesteps 4 differs from the stream's length T=3"),
        (np.zeros(8, np.int8), (), "the program streams its input: expected shape (T, 8) or (samples, T, 8)"),
        (np.zeros((0, 8), np.int8), (), "with T and samples >= 1, got (0, 8)"),
        (np.zeros((2, 3), np.int8), ("--batch-from-file",), "needs shape (samples, T, ...) with 8 values per timestep"),
    ],
)
def test_streamed_input_errors(tmp_path: Path, array: np.ndarray, args: tuple[str, ...], message: str) -> None:
    program, x = tmp_path / "v2.s", tmp_path / "x.npy"
    program.write_text(SMALL_V2)
    np.save(x, array)
    status, _, err = run_main(spike_run.main, program, "--input", x, *args)
    assert status == 1 and one_error_line(err).startswith(f"{x}: error: ") and message in err


# --- item 12: what -t spikecore-asm writes reads back ------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bus_size": 99_999_999_999}, "bus_size 99999999999 does not fit 32 bits (the image's field width)"),
        ({"synapse_bytes": 2**32}, "synapse_bytes 4294967296 does not fit 32 bits"),
        ({"cores": 65_536}, "cores 65536 does not fit 16 bits"),
        ({"name": "my target"}, "target name 'my target': expected 1 to 32 characters of [A-Za-z0-9_.+-]"),
        ({"name": "x" * 33}, "expected 1 to 32 characters"),
        ({"name": ""}, "expected 1 to 32 characters"),
        ({"neurons_per_core": True}, "neurons_per_core must be a positive integer, got True"),
    ],
)
def test_a_target_that_cannot_be_stored_cannot_be_made(options: dict[str, int | str], message: str) -> None:
    with pytest.raises(TargetError) as caught:
        SPIKECORE_V1.with_options(**options)
    assert message in str(caught.value)


def test_spike_opt_refuses_placed_ir_whose_target_has_no_listing(tmp_path: Path) -> None:
    placed = tmp_path / "placed.mlir"
    calibration = ROOT / "examples" / "tiny_calibration.npy"
    pipeline = f'spikecore-pipeline{{calibration="{calibration}"}}'
    assert run_main(spike_opt.main, TINY, "-p", pipeline, "-o", placed)[0] == 0
    text = placed.read_text()
    for old, new, message in [
        ("bus_size = 262144", "bus_size = 99999999999", "bus_size 99999999999 does not fit 32 bits"),
        ('target <"spikecore-v1"', 'target <"a b"', "target name 'a b'"),
    ]:
        bad = tmp_path / "bad.mlir"
        bad.write_text(text.replace(old, new))
        out = tmp_path / "bad.s"
        status, _, err = run_main(spike_opt.main, bad, "-t", "spikecore-asm", "-o", out)
        assert status == 1 and message in one_error_line(err) and not out.exists()
    status, listing, _ = run_main(spike_opt.main, placed, "-t", "spikecore-asm")
    assert status == 0 and disassemble(assemble(listing)) == listing


def test_largest_storable_target_round_trips() -> None:
    target = TargetDescription(
        "a" * 32,
        cores=0xFFFF,
        neurons_per_core=0xFFFF,
        synapse_bytes=2**32 - 1,
        max_fan_in=2**32 - 1,
        bus_size=2**32 - 1,
    )
    program = assemble(SMALL)
    program.target = target
    assert assemble(disassemble(program)).target == target


# --- item 13: strict JSON ---------------------------------------------------------------------------


def test_json_never_holds_a_bare_nan(tmp_path: Path) -> None:
    path, x = tmp_path / "nan.mlir", tmp_path / "x.npy"
    path.write_text(
        MAIN.format(
            body='  %c = arith.constant dense<"0x0000C07F0000C07F0000C07F0000C07F"> : tensor<1x4xf32>\n'
            "  %0 = nn.add %x, %c : tensor<1x4xf32>"
        ).replace("func.return %x", "func.return %0")
    )
    np.save(x, np.ones((1, 4), np.float32))
    status, out, err = run_main(spike_run.main, path, "--input", x, "--json")
    assert status == 1 and out == ""
    assert one_error_line(err) == (
        f"{path}: error: the results hold NaN or infinity, which JSON cannot express (run without --json to see them)"
    )
    status, out, _ = run_main(spike_run.main, path, "--input", x)
    assert status == 0 and "nan" in out


def test_an_f32_literal_beyond_f32_is_a_located_parse_error(tmp_path: Path) -> None:
    """Found by scripts/fuzz.py (mlir, seed 2026, cases 41 and 145): xDSL's OverflowError while packing."""
    path = tmp_path / "big.mlir"
    path.write_text(TINY.read_text().replace("[-1.0, 0.0, 1.0, 0.0]", "[-1.0, 0.0, 1" + "0" * 40 + ", 0.0]"))
    status, _, err = run_main(spike_opt.main, path)
    assert status == 1
    assert one_error_line(err) == f"{path}:3:3: error: a value in an attribute of this op does not fit its element type"
