"""ISA v1 compatibility: images and texts written by the v1 toolchain load, re-encode and run exactly as before.

The files in tests/chip/golden/ were written by the tree of commit ea504f1 (the last v1-only commit;
generate_v1.py says how): a version-1 image and a v1 assembly text per program, and the outputs,
spikes per core, spike log and statistics its hardware model computed on a fixed input batch. Today's
code must decode both to the same program, write the same bytes and text back (a v1 program is
encoded as a version-1 image byte for byte, docs/isa.md §0), and compute the same results.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spikeir.chip.assembly import assemble, disassemble
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.image import decode, encode

GOLDEN = Path(__file__).parent / "golden"
CASES = ["small", "mlp_graded", "mlp_rate_seed"]


@pytest.mark.parametrize("name", CASES)
def test_v1_image_and_text_load_to_the_same_program_and_write_back_identically(name: str) -> None:
    image = (GOLDEN / f"{name}.v1.spkc").read_bytes()
    text = (GOLDEN / f"{name}.v1.s").read_text()
    assert int.from_bytes(image[4:6], "little") == 1
    program = decode(image)
    assert assemble(text) == program
    assert not program.uses_v2()
    assert not program.streamed_input and not program.probes
    assert encode(program) == image
    assert disassemble(program) == text


@pytest.mark.parametrize("name", CASES)
def test_v1_programs_compute_the_same_outputs_and_statistics(name: str) -> None:
    program = decode((GOLDEN / f"{name}.v1.spkc").read_bytes())
    expected = np.load(GOLDEN / f"{name}.expected.npz")
    record = json.loads((GOLDEN / f"{name}.stats.json").read_text())
    chip = SpikeCoreCPU(num_cores=program.target.cores, target=program.target)
    chip.load_program(program)
    spikes = chip.run(expected["input"], timesteps=record["timesteps"], lane_to_log=record["lane_to_log"])
    np.testing.assert_array_equal(chip.outputs(), expected["outputs"])
    np.testing.assert_array_equal(spikes, expected["spikes"])
    log = np.array([tuple(event) for event in chip.get_spike_log()], np.int64).reshape(-1, 4)
    np.testing.assert_array_equal(log, expected["spike_log"])
    stats = json.loads(json.dumps(chip.stats.as_dict()))
    for key, value in record["stats"].items():  # v2 may add statistics; every v1 one is unchanged
        assert stats[key] == value, key
