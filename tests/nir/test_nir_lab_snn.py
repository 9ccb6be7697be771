"""The lab's native SNN end to end: train (small, cached), NIR file, compile, hardware model vs float SNN."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikeir.lab.snn import run_snn_lab


@pytest.mark.slow
def test_native_snn_lab_small(tmp_path: Path) -> None:
    result = run_snn_lab(hidden=32, timesteps=8, epochs=1, train_size=1000, test_size=200, out_dir=tmp_path)
    assert [run.name for run in result.runs] == ["snn", "snn_recurrent"]
    for run in result.runs:
        assert run.float_accuracy > 0.6, run
        assert run.agreement >= 0.97, run  # the full-size lab measures >= 99% (docs/nir.md)
        assert run.nir_path is not None and Path(run.nir_path).stat().st_size > 0
        assert set(run.figures) == {"input_raster", "raster_lif1", "membrane"}
        assert all(Path(p).stat().st_size > 1000 for p in run.figures.values())
        assert [e["layer"] for e in run.errors] == ["lif1", "li"]
    assert "snn_recurrent" in result.table()
