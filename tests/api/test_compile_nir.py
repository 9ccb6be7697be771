"""`spikeir.compile` of a NIR graph: the same CompiledSNN as `spikeir.from_nir`, options checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir", reason="nir is a core dependency of spikeir")

import spikeir  # noqa: E402
from spikeir.errors import SpikeIRError  # noqa: E402


def _graph() -> nir.NIRGraph:
    rng = np.random.default_rng(0)
    return nir.NIRGraph(
        nodes={
            "input": nir.Input({"input": np.array([20])}),
            "fc": nir.Affine(rng.normal(size=(8, 20)), np.zeros(8)),
            "lif": nir.LIF(tau=np.full(8, 10.0), r=np.full(8, 10.0), v_leak=np.zeros(8), v_threshold=np.ones(8)),
            "out": nir.Output({"output": np.array([8])}),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "out")],
    )


def _streams() -> np.ndarray:
    return (np.random.default_rng(1).random((4, 16, 20)) < 0.3).astype(np.float32)


@pytest.mark.parametrize("per_channel", [False, True])
def test_compile_of_a_graph_is_from_nir(per_channel: bool) -> None:
    compiled = spikeir.compile(_graph(), per_channel=per_channel)
    direct = spikeir.from_nir(_graph(), per_channel=per_channel)
    assert isinstance(compiled, spikeir.CompiledSNN)
    assert compiled.program == direct.program
    np.testing.assert_array_equal(compiled.run(_streams()), direct.run(_streams()))


def test_compile_of_a_nir_file(tmp_path: Path) -> None:
    path = tmp_path / "model.nir"
    nir.write(str(path), _graph())
    compiled = spikeir.compile(str(path))
    np.testing.assert_array_equal(compiled.run(_streams()), spikeir.from_nir(_graph()).run(_streams()))


def test_conventions_reach_the_importer() -> None:
    with pytest.raises(SpikeIRError, match="conventions"):
        spikeir.compile(_graph(), conventions="no-such-library")


@pytest.mark.parametrize("option", [{"mode": "rate"}, {"timesteps": 8}, {"neurons_per_core": 4}])
def test_options_a_nir_graph_does_not_read_are_refused(option: dict[str, object]) -> None:
    name = next(iter(option))
    with pytest.raises(SpikeIRError, match=f"option\\(s\\) {name} do not apply to a NIR graph"):
        spikeir.compile(_graph(), **option)


def test_an_unknown_option_is_still_a_typo() -> None:
    with pytest.raises(SpikeIRError, match="per_chanel"):
        spikeir.compile(_graph(), per_chanel=True)
