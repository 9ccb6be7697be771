"""spikeir.snn: encoders, outputs, records through probes, streaming chunks, torch inputs, errors."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from spikeir.errors import DataError
from spikeir.frontends.nir import from_nir
from spikeir.snn import CompiledSNN, Records, encode

RNG = np.random.default_rng(11)


def _net(readout: bool = False) -> CompiledSNN:
    """6 -> IF(5) -> LIF(3) (or an LI readout), integer weights."""
    w1 = RNG.integers(-30, 31, (5, 6)).astype(np.float64)
    w2 = RNG.integers(-30, 31, (3, 5)).astype(np.float64)
    w1[0, 0] = w2[0, 0] = 127.0
    last = nir.LI(np.full(3, 4.0), np.full(3, 4.0), np.zeros(3)) if readout else nir.IF(np.ones(3), np.full(3, 40.0))
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input({"input": np.array([6])}),
            "fc1": nir.Affine(w1, np.full(5, 3.0)),
            "a": nir.IF(np.ones(5), np.full(5, 60.0)),
            "fc2": nir.Linear(w2),
            "b": last,
            "output": nir.Output({"output": np.array([3])}),
        },
        edges=[("input", "fc1"), ("fc1", "a"), ("a", "fc2"), ("fc2", "b"), ("b", "output")],
    )
    return from_nir(graph)


def test_encoders() -> None:
    x = np.array([[0.0, 0.25, 1.0, 0.5]])
    rate = encode(x, 4, "rate", 4000, seed=1)
    assert rate.shape == (1, 4000, 4) and set(np.unique(rate)) <= {0.0, 1.0}
    assert np.allclose(rate.mean(axis=1), x, atol=0.03)
    assert np.array_equal(rate, encode(x, 4, "poisson", 4000, seed=1))  # seeded, reproducible
    assert not np.array_equal(rate, encode(x, 4, "rate", 4000, seed=2))
    latency = encode(x, 4, "latency", 5)
    assert latency.sum(axis=1).tolist() == [[0.0, 1.0, 1.0, 1.0]]
    assert [int(np.argmax(latency[0, :, i])) for i in (1, 2, 3)] == [3, 0, 2]  # brighter is earlier
    direct = encode(x, 4, "direct", 3)
    assert direct.shape == (1, 3, 4) and np.array_equal(direct[0, 2], x[0])
    stream = RNG.random((2, 7, 2, 2))
    assert np.array_equal(encode(stream, 4), stream.reshape(2, 7, 4))
    with pytest.raises(DataError, match="needs values in \\[0, 1\\]"):
        encode(x * 2, 4, "rate", 3)
    with pytest.raises(DataError, match="unknown encoder 'gauss'"):
        encode(x, 4, "gauss", 3)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="needs timesteps >= 1"):
        encode(x, 4, "rate")


def test_counts_records_and_membrane_agree() -> None:
    compiled = _net()
    x = (RNG.random((4, 25, 6)) < 0.5).astype(np.float64)
    counts = compiled.run(x)
    records = compiled.run(x, output="records")
    assert isinstance(records, Records)
    assert set(records.spk_rec) == {"a", "b"} and records.spk_rec["a"].shape == (4, 25, 5)
    assert np.array_equal(np.asarray(counts), records.spk_rec["b"].sum(axis=1))
    assert np.array_equal(np.asarray(counts), np.asarray(compiled.run_float(x)))
    assert np.allclose(records.mem_rec["b"][:, -1], np.asarray(compiled.run(x, output="membrane")))
    only = compiled.run(x, output="records", record=("a",))
    assert isinstance(only, Records) and set(only.mem_rec) == {"a"}
    with pytest.raises(DataError, match="no layer 'zz'"):
        compiled.run(x, output="records", record=("zz",))


def test_last_run_has_the_chips_accounting() -> None:
    """``last_run``: spikes and input events as the records count them, synaptic ops as docs/isa.md's
    accounting gives them (events x row count per synaptic ACC, the compensation ACCs reading the
    previous step's spikes), cycles and energy."""
    compiled = _net()
    assert compiled.last_run is None
    x = (RNG.random((4, 25, 6)) < 0.5).astype(np.float64)
    records = compiled.run(x, output="records")
    stats = compiled.last_run
    assert isinstance(records, Records) and stats is not None
    a, b = records.spk_rec["a"], records.spk_rec["b"]
    assert (stats.batch, stats.timesteps) == (4, 25)
    assert stats.spikes == int(a.sum() + b.sum()) and stats.input_events == int(np.count_nonzero(x))
    expected_ops = 5 * np.count_nonzero(x) + 5 * a[:, :-1].sum() + 3 * a.sum() + 3 * b[:, :-1].sum()
    assert stats.synaptic_ops == int(expected_ops)
    assert stats.cycles > 0 and stats.energy_pj > 0
    assert stats.per_sample()["spikes"] == stats.spikes / 4
    compiled.run(x[:, :5], continue_state=True)
    assert compiled.last_run is not None and compiled.last_run.timesteps == 5  # the latest run only


def test_readout_membrane_and_torch_input() -> None:
    compiled = _net(readout=True)
    x = (RNG.random((3, 10, 6)) < 0.5).astype(np.float32)
    membrane = np.asarray(compiled.run(torch.from_numpy(x), output="membrane"))
    reference = np.asarray(compiled.run_float(x, output="membrane"))
    assert membrane.shape == (3, 3)
    assert np.abs(membrane - reference).max() <= 0.05 * np.abs(reference).max()
    with pytest.raises(DataError, match="does not spike: ask for output='membrane'"):
        compiled.run(x)


def test_streaming_chunks_equal_one_run() -> None:
    compiled = _net()
    x = (RNG.random((2, 30, 6)) < 0.5).astype(np.float64)
    whole = compiled.run(x, output="records")
    first = compiled.run(x[:, :12], output="records")
    second = compiled.run(x[:, 12:], output="records", continue_state=True)
    assert isinstance(whole, Records) and isinstance(first, Records) and isinstance(second, Records)
    for layer in ("a", "b"):
        joined = np.concatenate([first.spk_rec[layer], second.spk_rec[layer]], axis=1)
        assert np.array_equal(joined, whole.spk_rec[layer])
    fresh = compiled.run(x[:, 12:], output="records")  # without continuation the state resets
    assert isinstance(fresh, Records)
    assert not np.array_equal(fresh.mem_rec["a"], second.mem_rec["a"])


def test_bad_inputs_are_data_errors() -> None:
    compiled = _net()
    with pytest.raises(DataError, match="expected a stream \\(B, T, 6 features\\)"):
        compiled.run(np.zeros((2, 5, 7)))
    with pytest.raises(DataError, match="NaN or infinite"):
        compiled.run(np.full((1, 3, 6), np.nan))
    with pytest.raises(DataError, match="unknown output 'rates'"):
        compiled.run(np.zeros((1, 3, 6)), output="rates")  # type: ignore[arg-type]


def test_inputs_beyond_the_compiled_range_are_errors_not_clipped() -> None:
    compiled = _net()  # compiled for spikes: payload = value, at most 127
    with pytest.raises(DataError, match="beyond the compiled input range"):
        compiled.run(np.full((1, 3, 6), 200.0))
