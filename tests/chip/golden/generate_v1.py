"""How the golden ISA v1 files in this folder were made (kept for the record; do not regenerate them).

They are the compatibility oracle of ISA v2: images and texts written by the v1 encoder and
disassembler, with the outputs and statistics the v1 hardware model computed on fixed inputs. They
were produced with the tree of commit ea504f1 (the last commit before the v2 data model), from the
root of an export of that commit::

    git archive ea504f1 | tar -x -C /tmp/v1 && cd /tmp/v1 && python /path/to/generate_v1.py /path/to/golden

tests/chip/test_golden_v1.py loads them with today's code and checks identical programs, identical
re-encoded bytes and text, and identical outputs and statistics.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def _cases() -> list[tuple[str, object, np.ndarray, int]]:
    """(name, program, int8 input batch, timesteps) for every golden case."""
    import torch

    import spikeir
    from spikeir.chip.assembly import assemble

    sys.path.insert(0, str(Path.cwd() / "tests"))
    from support.programs import SMALL

    rng = np.random.default_rng(20240613)
    cases: list[tuple[str, object, np.ndarray, int]] = []
    small_x = rng.integers(-128, 128, size=(3, 4)).astype(np.int8)
    cases.append(("small", assemble(SMALL), small_x, 5))

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)).eval()
    calibration = rng.random((64, 784), dtype=np.float32)
    x = rng.integers(0, 128, size=(4, 784)).astype(np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graded = spikeir.compile(model, calibration[:1], calibration=calibration, mode="graded")
        rate = spikeir.compile(
            model, calibration[:1], calibration=calibration, mode="rate", leak_shift=6, target="spikecore-v1-seed"
        )
    cases.append(("mlp_graded", graded.program, x, 1))
    cases.append(("mlp_rate_seed", rate.program, x, 8))
    return cases


def main(out: Path) -> None:
    from spikeir.chip.assembly import disassemble
    from spikeir.chip.hardware_model import SpikeCoreCPU
    from spikeir.chip.image import encode

    out.mkdir(parents=True, exist_ok=True)
    for name, program, x, timesteps in _cases():
        (out / f"{name}.v1.spkc").write_bytes(encode(program))  # type: ignore[arg-type]
        (out / f"{name}.v1.s").write_text(disassemble(program))  # type: ignore[arg-type]
        chip = SpikeCoreCPU(num_cores=program.target.cores, target=program.target)  # type: ignore[attr-defined]
        chip.load_program(program)
        spikes = chip.run(x, timesteps=timesteps, lane_to_log=1)
        log = np.array([(e.timestep, e.core, e.neuron, e.payload) for e in chip.get_spike_log()], np.int64)
        np.savez_compressed(
            out / f"{name}.expected.npz",
            input=x,
            outputs=chip.outputs(),
            spikes=spikes,
            spike_log=log.reshape(-1, 4),
        )
        record = {"timesteps": timesteps, "lane_to_log": 1, "stats": chip.stats.as_dict()}
        (out / f"{name}.stats.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
