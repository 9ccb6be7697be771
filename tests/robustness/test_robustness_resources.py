"""Resource edges: models that do not fit, models with nothing to run, programs that break the
machine's static rules in each of their three forms, and a spike log that must stay bounded."""

from __future__ import annotations

import contextlib
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region

import spikeir
from spikeir.chip.assembly import assemble
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.image import HEADER_SIZE, decode, encode
from spikeir.chip.isa import Acc, AccBias, Fire, Halt, OutputSpec, Program
from spikeir.chip.target import SPIKECORE_V1
from spikeir.compiler import build_mlp_module
from spikeir.errors import AssemblyError, ImageError, PlacementError, ProgramError, SpikeIRError
from spikeir.ir.interpreter import run_function
from spikeir.passes.quantize import QuantizePass
from spikeir.tools.spike_opt import main as spike_opt
from support.programs import SMALL, small_program
from support.spikecore_ir import parse

RNG = np.random.default_rng(0)


def mlp(hidden: int, inputs: int = 4) -> ModuleOp:
    return build_mlp_module(
        [RNG.standard_normal((hidden, inputs)), RNG.standard_normal((3, hidden))], [None, None], ["relu", None]
    )


# -- models that do not fit --------------------------------------------------------------------------


def test_too_many_neurons_names_the_layer_and_the_fix() -> None:
    with pytest.raises(PlacementError) as caught:
        spikeir.compile(mlp(200), calibration=RNG.standard_normal((8, 4)), target="spikecore-v1-seed")
    message = caught.value.message
    assert "needs 203 cores" in message and "has 128" in message
    assert 'the widest, "layers.0", has 200 neurons' in message
    assert "cores=203" in message and "neurons-per-core=2" in message


def test_fan_in_over_max_fan_in_compiles_and_stays_exact() -> None:
    # 20,000 inputs exceed one ACC's 16,384: emission splits the stream over two ACCs, and the
    # hardware model still computes exactly the integer network.
    calibration = RNG.standard_normal((4, 20000)).astype(np.float32)
    compiled = spikeir.compile(mlp(4, inputs=20000), calibration=calibration, record=True)
    first_layer = [i for i in compiled.program if isinstance(i, Acc) and i.table == 0]
    assert [(i.src_len, i.col) for i in first_layer] == [(16384, 0), (3616, 16384)]
    (expected,) = run_function(parse(compiled.stages[QuantizePass.name]), "main", calibration)
    np.testing.assert_array_equal(compiled.run(calibration), expected)


# -- a model with nothing for SpikeCore ----------------------------------------------------------------


def empty_model() -> ModuleOp:
    block = Block(arg_types=[TensorType(f32, [1, 4])])
    block.add_op(ReturnOp(block.args[0]))
    return ModuleOp([FuncOp("main", ([block.args[0].type], [block.args[0].type]), Region(block))])


def test_compiling_an_empty_model_says_there_is_nothing_to_run() -> None:
    with pytest.raises(SpikeIRError, match="the model has no layer that SpikeCore runs") as caught:
        spikeir.compile(empty_model(), calibration=RNG.standard_normal((4, 4)))
    assert caught.value.location == "compile"


def test_seed_entry_point_with_no_layers_is_a_user_error() -> None:
    with pytest.raises(SpikeIRError, match="non-empty lists"):
        spikeir.compile_nn_to_spikecore([], [], [])


def test_spike_opt_on_an_empty_model(tmp_path: Path) -> None:
    source = tmp_path / "empty.mlir"
    source.write_text(str(empty_model()))
    calibration = tmp_path / "cal.npy"
    np.save(calibration, RNG.standard_normal((4, 4)).astype(np.float32))
    out, err = io.StringIO(), io.StringIO()
    pipeline = f'spikecore-pipeline{{calibration="{calibration}"}}'
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert spike_opt([str(source), "-p", pipeline]) == 0  # nothing to offload: the IR is unchanged
        assert spike_opt([str(source), "-p", pipeline, "-t", "spikecore-asm"]) == 1
    assert "func.return %0 : tensor<1x4xf32>" in out.getvalue()
    assert "error: the module has no spikecore.program" in err.getvalue()
    assert "a model without dense layers has nothing that runs on SpikeCore" in err.getvalue()
    assert "Traceback" not in err.getvalue()


# -- static rules, in text, in images and in memory ---------------------------------------------------


def test_program_without_halt_in_each_form() -> None:
    program = small_program()
    program.instructions = program.instructions[:-1]
    with pytest.raises(ProgramError, match="the program must end with HALT") as caught:
        program.validate()
    assert caught.value.location == "instr 6"
    with pytest.raises(AssemblyError, match=r"^10:5: instr 6: the program must end with HALT"):
        assemble(SMALL.replace("    HALT\n", ""))
    image = bytearray(encode(small_program()))
    halt_at = HEADER_SIZE + 8 + 16 + 6 * 32
    image[halt_at] = 0x03  # HALT -> LEAK c0[0:0]: no HALT left
    with pytest.raises(ImageError, match="^byte"):
        decode(_fix_crc(bytes(image)))


def test_halt_in_the_middle_in_each_form() -> None:
    with pytest.raises(AssemblyError, match=r"^5:5: instr 0: HALT must be the last instruction"):
        assemble(SMALL.replace("    ACC  c0[0:2], S0[0:2, 0:4], bus[0:4]   ; layer 1", "    HALT"))
    program = small_program()
    program.instructions = [Halt(), *program.instructions]
    with pytest.raises(ProgramError, match="HALT must be the last instruction"):
        program.validate()


def test_core_id_out_of_range_in_each_form() -> None:
    target = SPIKECORE_V1.with_options(cores=2)
    program = Program(
        [Acc(2, 0, 1, src=0, src_len=1, table=0), Halt()],
        1,
        synapse_tables={0: np.ones((1, 1), np.int8)},
        target=target,
    )
    with pytest.raises(ProgramError, match="core 2 is out of range: target 'spikecore-v1' has cores 0-1") as caught:
        program.validate()
    assert caught.value.location == "instr 0"
    with pytest.raises(AssemblyError, match=r"^8:5: instr 3: core 128 is out of range"):
        assemble(SMALL.replace("ACC  c1[0:2], S1", "ACC  c128[0:2], S1"))
    with pytest.raises(AssemblyError, match=r"^4:1: output 0: core 999 is out of range"):
        assemble(SMALL.replace(".output c1[0:2]", ".output c999[0:2]"))
    # The image stores the core as u16: 0xFFFF is out of range for 128 cores.
    image = bytearray(encode(small_program()))
    instr3 = HEADER_SIZE + 8 + 16 + 3 * 32
    image[instr3 + 2 : instr3 + 4] = (0xFFFF).to_bytes(2, "little")
    with pytest.raises(ImageError, match=rf"^byte {instr3}: instr 3: core 65535 is out of range"):
        decode(_fix_crc(bytes(image)))
    out0 = HEADER_SIZE + 8
    image = bytearray(encode(small_program()))
    image[out0 : out0 + 2] = (500).to_bytes(2, "little")
    with pytest.raises(ImageError, match=rf"^byte {out0}: output 0: core 500 is out of range"):
        decode(_fix_crc(bytes(image)))


def test_program_for_a_bigger_chip_does_not_load_on_a_smaller_one() -> None:
    program = Program(
        [Acc(100, 0, 1, src=0, src_len=1, table=0), Halt()], 1, [OutputSpec(100, 0, 1)], {0: np.ones((1, 1), np.int8)}
    )
    with pytest.raises(ProgramError, match="does not fit the simulated chip"):
        SpikeCoreCPU(num_cores=8).load_program(program)


def _fix_crc(image: bytes) -> bytes:
    data = bytearray(image)
    struct.pack_into("<I", data, 76, zlib.crc32(bytes(data[HEADER_SIZE:])))
    return bytes(data)


# -- the spike log is bounded --------------------------------------------------------------------------


def chatty_program(neurons: int) -> Program:
    """Every neuron fires a graded payload of 1 every timestep (a bias of 1, multiplier 1, shift 0)."""
    return Program(
        [AccBias(0, 0, neurons, table=0), Fire(0, 0, neurons, dst=1, table=0, shift=0, lo=0, hi=127), Halt()],
        n_inputs=1,
        param_tables={0: np.ones(neurons, np.int32)},
    )


def test_spike_log_stops_at_its_bound_and_says_so() -> None:
    cpu = SpikeCoreCPU(max_spike_log=1000)
    cpu.load_program(chatty_program(64))
    cpu.run(np.zeros((4, 1), np.int8), timesteps=20, lane_to_log=3)  # 64 x 20 = 1280 events in lane 3
    assert len(cpu.get_spike_log()) == 1000 and cpu.spike_log_truncated
    cpu.run(np.zeros((4, 1), np.int8), timesteps=15)  # 960 events: fits, and the flag is cleared
    assert len(cpu.get_spike_log()) == 960 and not cpu.spike_log_truncated


def test_big_batch_times_timesteps_keeps_memory_bounded() -> None:
    """1024 neurons x 200 timesteps x 64 lanes = 13 million events; only lane 0's first 10,000 are kept."""
    cpu = SpikeCoreCPU(max_spike_log=10_000)
    cpu.load_program(chatty_program(1024))
    x = np.zeros((64, 1), np.int8)
    tracemalloc.start()
    try:
        spikes = cpu.run(x, timesteps=200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert spikes.sum() == 1024 * 200 * 64
    assert len(cpu.get_spike_log()) == 10_000 and cpu.spike_log_truncated
    assert peak < 64 << 20, f"peak {peak / 2**20:.0f} MiB"


# -- spike-opt reads a bounded input (issue 19, 11) -------------------------------------------------


def _spike_opt(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = spike_opt(list(args))
    return status, err.getvalue()


@pytest.mark.parametrize("frontend", ["mlir", "pt2", "onnx"])
def test_a_device_as_input_is_refused_unread(frontend: str) -> None:
    """`/dev/zero` never ends: spike-opt refused to read it before, it read until memory ran out."""
    status, err = _spike_opt("/dev/zero", "-f", frontend)
    assert status == 1
    assert (
        err
        == "/dev/zero: error: cannot read input file: it is a device, not a file (give a file, or pipe into stdin)\n"
    )


def test_an_input_over_the_bound_is_refused_by_its_size(tmp_path: Path) -> None:
    from spikeir.tools.spike_opt import MAX_INPUT_BYTES

    huge = tmp_path / "huge.mlir"
    with huge.open("wb") as stream:
        stream.truncate(MAX_INPUT_BYTES + 1)  # sparse: no disk, and spike-opt must not read it
    tracemalloc.start()
    status, err = _spike_opt(str(huge))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (
        status == 1
        and err == f"{huge}: error: the input is 1,073,741,825 bytes; spike-opt reads at most 1,073,741,824\n"
    )
    assert peak < 64 << 20


def test_a_stream_over_the_bound_stops_at_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from spikeir.tools import spike_opt as tool

    monkeypatch.setattr(tool, "MAX_INPUT_BYTES", 1000)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\0" * 5000)))
    status, err = _spike_opt()
    assert status == 1 and err == "stdin: error: the input is more than 1,000 bytes, the most spike-opt reads\n"
