"""The CNN benchmark (`spikeir bench --only conv`, `--only compile`): its float32 limit computes exactly
what the hardware model does on the compiled LeNet, the check before timing can fail, and the rows
and compile record have their fields. Small batches; nothing here checks a timing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from spikeir.benchmarks import compile_time, hardware
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Halt, Leak, Program


@pytest.fixture(scope="module")
def lenet() -> tuple[dict[str, Program], np.ndarray]:
    return hardware.lenet_programs(8)


def run_model(program: Program, x: np.ndarray, timesteps: int) -> np.ndarray:
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(x, timesteps)
    return cpu.outputs()


@pytest.mark.parametrize(
    ("mode", "timesteps", "state"), [("graded", 1, "float32"), ("rate", 8, "float32"), ("rate", 128, "float64")]
)
def test_limit_equals_the_model(
    lenet: tuple[dict[str, Program], np.ndarray], mode: str, timesteps: int, state: str
) -> None:
    """Graded and rate LeNet, float32 state and (T = 128: the bound passes 2^24) the float64 fallback."""
    programs, digits = lenet
    program, x = programs[mode], digits[:6]
    layers = hardware._layers(program)  # pyright: ignore[reportPrivateUsage]
    bound = hardware._state_bound(program, layers, timesteps)  # pyright: ignore[reportPrivateUsage]
    assert (bound < hardware.F32_EXACT) == (state == "float32")
    expected = run_model(program, x, timesteps)
    np.testing.assert_array_equal(hardware.cnn_limit(program, timesteps)(x), expected)
    assert len({tuple(row) for row in expected}) > 1, "the outputs should depend on the digit"
    # nn-fold-pool folds each average pooling into the layer after it: two convs, two dense layers.
    assert [la.geometry is not None for la in layers] == [True, True, False, False]


def test_limit_refuses_instructions_it_does_not_write_out(lenet: tuple[dict[str, Program], np.ndarray]) -> None:
    program = lenet[0]["rate"]
    leaky = Program(
        [*program.instructions[:-1], Leak(0, 0, 8, 2), Halt()],
        program.n_inputs,
        program.outputs,
        program.synapse_tables,
        program.param_tables,
        program.target,
        program.input_scale,
    )
    with pytest.raises(ValueError, match=r"instruction \d+ \(Leak\) is outside the CNN limit's subset"):
        hardware.cnn_limit(leaky, 8)


def test_rows_have_their_fields() -> None:
    rows = hardware.measure_cnn(batches=(1, 3), timesteps=2, min_total_s=0.0)
    assert [(r["mode"], r["timesteps"], r["batch"]) for r in rows] == [
        ("graded", 1, 1),
        ("graded", 1, 3),
        ("rate", 2, 1),
        ("rate", 2, 3),
    ]
    for r in rows:
        assert r["case"] == "lenet" and r["instructions"] == 30
        model_s, limit_s, batch, ops = r["model_s"], r["limit_s"], r["batch"], r["synaptic_ops_per_s"]
        assert isinstance(model_s, float) and isinstance(limit_s, float) and isinstance(batch, int)
        assert r["ratio_to_limit"] == pytest.approx(model_s / limit_s)
        assert r["samples_per_s"] == pytest.approx(batch / model_s)
        assert isinstance(ops, float) and ops > 0


def test_check_before_timing_fails_on_a_wrong_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hardware.cnn_limit

    def off_by_one(program: Program, timesteps: int) -> Callable[[np.ndarray], np.ndarray]:
        forward = real(program, timesteps)
        return lambda x: forward(x) + 1

    monkeypatch.setattr(hardware, "cnn_limit", off_by_one)
    with pytest.raises(AssertionError, match="LeNet graded T=1 batch 2: model and limit disagree"):
        hardware.measure_cnn(batches=(2,), timesteps=2, min_total_s=0.0)


def test_lenet_compile_record() -> None:
    record = compile_time.compile_lenet(repeats=2)
    assert record["repeats"] == 2 and len(record["totals"]) == 2 and record["instructions"] == 30
    seconds = record["seconds"]
    assert list(seconds) == [*compile_time.STAGES, "total"]
    assert seconds["total"] == min(record["totals"]) > 0
    assert seconds["total"] >= sum(v for k, v in seconds.items() if k != "total")
