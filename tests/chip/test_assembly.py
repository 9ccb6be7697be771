"""The assembly text of docs/isa.md section 4: parsing, printing, exact round trips and located errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from spikeir.chip.assembly import Opcode, assemble, disassemble, load_assembly, save_assembly
from spikeir.chip.isa import Acc, AccBias, Halt, OutputSpec, Program
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import AssemblyError
from support.program_strategies import assert_same_program, programs
from support.programs import SMALL, small_program


def test_assembles_the_documented_form() -> None:
    assert_same_program(assemble(SMALL), small_program())


def test_disassembles_to_the_documented_form() -> None:
    expected = "\n".join(line.split(";")[0].rstrip() for line in SMALL.splitlines()[1:]) + "\n"
    assert disassemble(small_program()) == expected


def test_listing_order_and_code_only_listing() -> None:
    lines = disassemble(small_program()).splitlines()
    assert lines[0].startswith(".target") and lines[1].startswith(".inputs") and lines[2].startswith(".output")
    assert [line[:8] for line in lines[3:10]] == [
        "    ACC ",
        "    ACC ",
        "    FIRE",
        "    ACC ",
        "    FIRE",
        "    LEAK",
        "    HALT",
    ]
    assert lines[10].startswith(".synapses")
    assert disassemble(small_program(), data=False).splitlines() == lines[:10]


def test_case_insensitive_hex_numbers_and_free_whitespace() -> None:
    text = (
        SMALL.replace("ACC  c0[0:2], P0[0:2]", "acc C0[0x0:0x2] ,p0[ 0 : 2 ]")
        .replace("graded", "GRADED")
        .replace(".params P0 2", ".PARAMS P0 0x2")
        .replace("00ff7f80", "00 FF\t7f ; a comment inside the data\n\n  80")
        .replace("16 5", "0x10\n+5")
        .replace("reset=subtract", "Reset=SUBTRACT")
    )
    assert_same_program(assemble(text), small_program())


def test_missing_trailing_newline_and_windows_line_ends() -> None:
    assert_same_program(assemble(SMALL.rstrip("\n")), small_program())
    assert_same_program(assemble(SMALL.replace("\n", "\r\n")), small_program())


def test_optional_scales_default_to_zero() -> None:
    program = assemble(SMALL.replace(" scale=0.0078125", "").replace(" scale=0.000123", ""))
    assert program.input_scale == 0.0 and program.outputs[0].scale == 0.0


def test_known_target_name_fills_omitted_fields() -> None:
    program = assemble(SMALL.replace(" cores=128", "").replace(" bus_size=262144", ""))
    assert program.target == SPIKECORE_V1


def test_seed_import_path() -> None:
    assert Opcode.ACC == 1 and Opcode.HALT == 0x0F


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_round_trip_is_exact(program: Program) -> None:
    text = disassemble(program)
    again = assemble(text)
    assert_same_program(again, program)
    assert disassemble(again) == text


def test_round_trip_of_awkward_floats() -> None:
    program = small_program()
    program.input_scale = 1 / 3
    program.outputs = [OutputSpec(1, 0, 2, 5e-324), OutputSpec(1, 0, 1, 1.7976931348623157e308)]
    assert_same_program(assemble(disassemble(program)), program)


def _error(text: str, filename: str | None = None) -> str:
    with pytest.raises(AssemblyError) as info:
        assemble(text, filename)
    return str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("ACC  c0[0:2], P0[0:2]", "ACC  c0[0:2] P0[0:2]", "6:18: unexpected 'P0'; expected ','"),
        ("ACC  c0[0:2], P0[0:2]", "ACC  c0[0:2], Q0[0:2]", "6:19: unexpected 'Q0'; expected 'P', 'S'"),
        ("ACC  c0[0:2], P0[0:2]", "ACC  c0[0:2]", "6:17: unexpected end of line; expected ','"),
        ("ACC  c0[0:2], P0[0:2]", "BOGUS c0", "6:5: unexpected 'BOGUS'"),
        (
            "ACC  c0[0:2], P0[0:2]",
            "ACC  c0[0:2], P0[0:3]",
            "6:22: parameter rows [0:3] has 3 entries, the neuron range has 2",
        ),
        ("ACC  c0[0:2], P0[0:2]", "ACC  c0[2:0], P0[0:2]", "6:13: reversed range [2:0]"),
        ("ACC  c0[0:2], P0[0:2]", "ACC  c-1[0:2], P0[0:2]", "6:11: unexpected '-1'; expected a non-negative integer"),
        ("bus[0:4]   ; layer 1", "bus[0:5]", "5:22: block columns [0:4] have 4 columns, the source bus range has 5"),
        ("S0[0:2, 0:4]", "S0[0:3, 0:4]", "5:22: block rows [0:3] have 3 rows, the neuron range has 2"),
        ("clamp=[0,127]", "clamp=[0,300]", "7:67: clamp bound '300' is outside the int8 range"),
        ("reset=subtract", "reset=sometimes", "9:54: unexpected 'sometimes'; expected 'P', 'zero' or 'subtract'"),
        ("scale=0.000123", "scale=abc", "4:23: unexpected 'abc'; expected a number"),
        ("cores=128", "corez=128", "2:22: unknown key 'corez' in .target"),
        ("spikecore-v1 cores", "spike@core cores", "2:9: unexpected 'spike@core'; expected a target name"),
        ("cores=128", "cores=1.5", "2:28: cores must be a non-negative integer, got '1.5'"),
        ("cores=128", "cores=0", "2:9: target 'spikecore-v1': cores must be a positive integer, got 0"),
        ("cores=128", "cores=1 cores=2", "2:30: duplicate key 'cores'"),
        ("spikecore-v1 cores=128", "mychip", "2:9: target 'mychip' is not a known target, so .target must give cores"),
        ("    00ff7f80\n", "    00ff7f\n", "12:14: synapse table S0 is 2x4 = 8 bytes, but 7 bytes of hex follow"),
        ("    00ff7f80\n", "    00ff7f8\n", "13:5: unexpected '00ff7f8'"),
        ("    00ff7f80\n", "    00ff7fzz\n", "13:5: unexpected '00ff7fzz'"),
        ("    1 -2", "    1\n    -99999999999", "20:5: parameter '-99999999999' is outside the int32 range"),
        ("    1 -2", "    1 -2 3", "18:12: param table P0 has length 2, but 3 values follow"),
        (".synapses S1 2x2", ".synapses S0 2x2", "15:12: duplicate synapse table id 0 (first at line 12)"),
        (".params P1 2", ".params P0 2", "20:10: duplicate param table id 0 (first at line 18)"),
        (".output c1", ".inputs 4\n.output c1", "4:1: duplicate '.inputs' (first at line 3)"),
        (".inputs 4 scale=0.0078125\n", "", "3:1: expected '.inputs' before '.output'"),
        (
            ".target spikecore-v1 cores=128",
            "; .target spikecore-v1 cores=128",
            "3:1: expected '.target' before '.inputs'",
        ),
        ("    HALT\n", "    HALT\n.output c0[0:1]\n", "12:1: '.output' must come before the instructions"),
        ("    16 5\n", "    16 5\n    HALT\n", "22:5: instruction 'HALT' after a data section"),
        # Program.validate errors point at the offending instruction's line:
        ("ACC  c0[0:2], P0[0:2]", "ACC  c0[0:2], P9[0:2]", "6:5: instr 1: param table 9 is not defined"),
        ("ACC  c0[0:2], P0[0:2]", "ACC  c200[0:2], P0[0:2]", "6:5: instr 1: core 200 is out of range"),
        ("shift=4", "shift=0", "10:5: instr 5: leak shift 0 is outside 1..31"),
        ("    HALT\n", "", "10:5: instr 6: the program must end with HALT"),
        ("bus[6:8], binary", "bus[4:6], binary", "9:5: instr 4: bus address 4 is already written by instr 2"),
        (".output c1[0:2]", ".output c1[0:2000]", "4:1: output 0: neurons [0:2000] exceed"),
        ("synapse_bytes=131072", "synapse_bytes=7", "5:5: core 0: needs 8 bytes"),
    ],
)
def test_errors_are_located(old: str, new: str, expected: str) -> None:
    assert old in SMALL
    assert _error(SMALL.replace(old, new, 1), "net.s").startswith(f"net.s:{expected}")


def test_error_without_filename_and_empty_input() -> None:
    assert _error("") == "1:1: missing '.target' directive"
    assert _error(SMALL.splitlines()[1]) == "1:1: missing '.inputs' directive"


def test_large_table_assembles_fast() -> None:
    rng = np.random.default_rng(0)
    weights = rng.integers(-128, 128, (512, 784), dtype=np.int8)
    program = Program(
        [Acc(0, 0, 512, src=0, src_len=784, table=0), AccBias(0, 0, 512, table=0), Halt()],
        n_inputs=784,
        synapse_tables={0: weights},
        param_tables={0: rng.integers(-(2**31), 2**31, 512, dtype=np.int64).astype(np.int32)},
        target=SPIKECORE_V1.with_options(synapse_bytes=1 << 20),
    )
    text = disassemble(program)
    start = time.perf_counter()
    again = assemble(text)
    elapsed = time.perf_counter() - start
    assert np.array_equal(again.synapse_tables[0], weights)
    assert elapsed < 1.0, f"assembling 400 KB of hex took {elapsed:.2f} s"


def test_save_and_load_assembly(tmp_path: Path) -> None:
    path = tmp_path / "net.s"
    path.write_text("old contents")
    save_assembly(small_program(), path)
    assert path.read_text() == disassemble(small_program())
    assert [p.name for p in tmp_path.iterdir()] == ["net.s"]  # no temporary file left behind
    assert_same_program(load_assembly(path), small_program())


def test_load_assembly_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.s"
    path.write_text(SMALL.replace("HALT", "HALT c0"))
    with pytest.raises(AssemblyError, match=r"bad\.s:11:10: unexpected 'c0'"):
        load_assembly(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(AssemblyError, match="not UTF-8"):
        load_assembly(path)
