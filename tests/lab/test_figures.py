"""Every figure renders to a non-empty PNG, carries its labels, and never calls plt.show()."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from spikeir.chip.target import get_target  # noqa: E402
from spikeir.lab import figures  # noqa: E402


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse() -> None:
        raise AssertionError("the library must not call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


def save(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000


def texts(figure: Figure) -> str:
    """All visible text of a figure: titles, axis labels, tick labels, legends, annotations."""
    return "\n".join(t.get_text() for t in figure.findobj(Text) if isinstance(t, Text))


def bars(ax: Axes) -> list[Rectangle]:
    return [patch for patch in ax.patches if isinstance(patch, Rectangle)]


def test_spike_raster_binary(tmp_path: Path) -> None:
    log = [(t, c, 0, 1) for t in range(16) for c in range(0, 64, 3) if (t + c) % 4 == 0]
    figure = figures.plot_spike_raster(log, num_cores=74, num_timesteps=16, title="raster")
    save(figure, tmp_path / "raster.png")
    ax = figure.axes[0]
    assert ax.get_xlabel() == "timestep" and ax.get_ylabel() == "core"
    assert f"{len(log)} events" in ax.get_title()
    assert len(figure.axes) == 1  # binary spikes: no colour bar
    image = ax.get_images()[0].get_array()
    assert image is not None and int(np.ma.count(image)) == len(log)


def test_spike_raster_graded_shows_payload(tmp_path: Path) -> None:
    log = [(0, 0, n, (n * 7) % 128) for n in range(1, 64)] + [(0, 1, 3, -20)]
    figure = figures.plot_spike_raster(log, num_cores=2, num_timesteps=1)
    save(figure, tmp_path / "graded.png")
    assert len(figure.axes) == 2 and figure.axes[1].get_ylabel() == "|payload|"
    image = figure.axes[0].get_images()[0].get_array()
    assert image is not None and image.shape == (2 * 64, 1)
    assert image[64 + 3, 0] == 20 and image[63, 0] == (63 * 7) % 128
    assert "neurons 0-63" in figure.axes[0].get_ylabel()


def test_spike_raster_many_neurons_counts_per_core(tmp_path: Path) -> None:
    log = [(t, c, n, 5) for t in range(3) for c in range(4) for n in range(0, 1000, 10)]
    figure = figures.plot_spike_raster(log, num_cores=128, num_timesteps=3)
    save(figure, tmp_path / "dense.png")
    assert figure.axes[1].get_ylabel() == "events in core"
    image = figure.axes[0].get_images()[0].get_array()
    assert image is not None and image.shape == (128, 3) and image[0, 0] == 100


def test_spike_raster_empty_and_bad_events(tmp_path: Path) -> None:
    figure = figures.plot_spike_raster([], num_cores=10, num_timesteps=8)
    save(figure, tmp_path / "empty.png")
    assert "no spikes" in texts(figure) and "0 events on 0 cores" in texts(figure)
    with pytest.raises(ValueError, match="outside 8 timesteps x 10 cores"):
        figures.plot_spike_raster([(8, 0, 0, 1)], num_cores=10, num_timesteps=8)


def test_compilation_graph(tmp_path: Path) -> None:
    figure = figures.plot_compilation_graph(
        ["flatten", "dense_64\n+relu", "dense_10"],
        ["host", "spikecore", "spikecore"],
        [(784, 784), (784, 64), (64, 10)],
    )
    save(figure, tmp_path / "graph.png")
    shown = texts(figure)
    for expected in ("flatten", "dense_10", "784 \u2192 64", "64 \u2192 10", "host", "spikecore"):
        assert expected in shown
    legend = figure.axes[0].get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["host", "spikecore"]
    with pytest.raises(ValueError, match="one target and one shape per layer"):
        figures.plot_compilation_graph(["a", "b"], ["host"], [(1, 1), (1, 1)])


def test_compilation_graph_other_targets(tmp_path: Path) -> None:
    figure = figures.plot_compilation_graph(["a", "b"], ["host", "gpu"], [(3, 4), (4, 2, 2)])
    save(figure, tmp_path / "graph2.png")
    assert "4 \u00d7 2 \u00d7 2" in texts(figure) and "gpu" in texts(figure)


def test_weight_distribution_standalone_and_in_axes(tmp_path: Path) -> None:
    weights = np.random.default_rng(0).normal(0, 30, (64, 784)).clip(-128, 127).astype(np.int8)
    figure = figures.plot_weight_distribution(weights, "Layer 1")
    save(figure, tmp_path / "weights.png")
    ax = figure.axes[0]
    assert ax.get_title() == "Layer 1" and ax.get_xlabel() == "int8 weight value"
    assert ax.get_ylabel() == "count"
    assert sum(bar.get_height() for bar in bars(ax)) == weights.size
    assert "n = 50,176" in texts(figure)

    outer, axes = plt.subplots(1, 2)
    returned = figures.plot_weight_distribution(weights[:10, :64], "Layer 2", ax=axes[1])
    assert returned is outer and axes[1].get_title() == "Layer 2"
    save(outer, tmp_path / "weights2.png")


def test_comparison(tmp_path: Path) -> None:
    reference = np.array([0.05, 0.8, 0.15] + [0.0] * 7)
    hardware = np.array([0.1, 0.3, 0.6] + [0.0] * 7)
    figure = figures.plot_comparison(reference, hardware, title="Sample 0")
    save(figure, tmp_path / "comparison.png")
    ax = figure.axes[0]
    assert "Sample 0" in ax.get_title() and "1 vs 2 (DISAGREE)" in ax.get_title()
    assert ax.get_xlabel() == "class" and ax.get_ylabel() == "probability"
    legend = ax.get_legend()
    assert legend is not None and "SpikeCore" in [t.get_text() for t in legend.get_texts()]
    with pytest.raises(ValueError, match="differ in length"):
        figures.plot_comparison(reference, hardware[:5])


def test_accuracy_vs_timesteps(tmp_path: Path) -> None:
    steps = [1, 2, 4, 8, 16, 32]
    figure = figures.plot_accuracy_vs_timesteps(
        steps, [0.2, 0.4, 0.7, 0.85, 0.9, 0.91], float_accuracy=0.92, graded_accuracy=0.915
    )
    save(figure, tmp_path / "accuracy.png")
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "test accuracy (%)"
    legend = ax.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert "float model (92.0%)" in labels and "graded spikes, T = 1 (91.5%)" in labels
    assert np.asarray(ax.lines[0].get_ydata(), dtype=float) == pytest.approx([20, 40, 70, 85, 90, 91])


def test_accuracy_vs_timesteps_several_series(tmp_path: Path) -> None:
    series = {"subtract": [0.1, 0.2, 0.3], "zero": [0.1, 0.1, 0.2]}
    figure = figures.plot_accuracy_vs_timesteps([1, 2, 3], series)
    save(figure, tmp_path / "accuracy2.png")
    assert figure.axes[0].get_xscale() == "linear"
    legend = figure.axes[0].get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["subtract", "zero"]
    with pytest.raises(ValueError, match="series 'zero' has 2 accuracies for 3 timesteps"):
        figures.plot_accuracy_vs_timesteps([1, 2, 3], {"zero": [0.1, 0.2]})


def test_core_utilisation(tmp_path: Path) -> None:
    target = get_target("spikecore-v1")
    figure = figures.plot_core_utilisation([1024, 512, 1100], [131072, 1000, 140000], target)
    save(figure, tmp_path / "utilisation.png")
    neurons_ax, synapses_ax = figure.axes
    neuron_bars = bars(neurons_ax)
    assert [round(b.get_height(), 1) for b in neuron_bars] == [100.0, 50.0, 107.4]
    assert neuron_bars[2].get_facecolor() != neuron_bars[0].get_facecolor()  # over capacity stands out
    assert "capacity 1,024" in neurons_ax.get_title() and "capacity 131,072" in synapses_ax.get_title()
    assert synapses_ax.get_xlabel() == "core" and "spikecore-v1" in texts(figure)


def test_core_utilisation_nearly_empty_zooms(tmp_path: Path) -> None:
    figure = figures.plot_core_utilisation([1] * 74, [784] * 64 + [64] * 10, "spikecore-v1-seed")
    save(figure, tmp_path / "seed.png")
    synapses_ax = figure.axes[1]
    assert synapses_ax.get_ylim()[1] < 1.0 and "axis zoomed" in synapses_ax.get_title()
    with pytest.raises(ValueError, match="one per core"):
        figures.plot_core_utilisation([1, 2], [3], "spikecore-v1")


def test_layer_firing_rates(tmp_path: Path) -> None:
    figure = figures.plot_layer_firing_rates(["features.0", "classifier.2"], {"graded (T=1)": [0.4, 0.0], "rate": [0.1, 0.0]})
    save(figure, tmp_path / "rates.png")
    assert "features.0" in texts(figure) and "40.0" in texts(figure)
    with pytest.raises(ValueError, match="'rate' has 1 rates for 2 layers"):
        figures.plot_layer_firing_rates(["a", "b"], {"rate": [0.1]})


def test_confusion_matrix(tmp_path: Path) -> None:
    matrix = np.diag(np.full(10, 9))
    matrix[3, 5] = 10
    figure = figures.plot_confusion_matrix(matrix, "Confusion: graded")
    save(figure, tmp_path / "confusion.png")
    assert "90.00% of 100 digits" in texts(figure) and "47%" in texts(figure)  # row 3: 9 of 19


def test_energy_breakdown(tmp_path: Path) -> None:
    figure = figures.plot_energy_breakdown({"synaptic_ops": 2000.0, "deliveries_inter_core": 500.0}, {"layers.0": 2000.0})
    save(figure, tmp_path / "energy.png")
    assert "2.50 nJ" in texts(figure) and "layers.0" in texts(figure)


def test_feature_maps(tmp_path: Path) -> None:
    maps = {"features.0": np.arange(6 * 28 * 28).reshape(6, 28, 28), "features.3": np.ones((16, 10, 10))}
    figure = figures.plot_feature_maps(maps, max_channels=4)
    save(figure, tmp_path / "maps.png")
    assert len(figure.axes) == 8 and "features.3 c0" in texts(figure)
    with pytest.raises(ValueError, match="'flat' must be \\(channels, height, width\\), got shape \\(64,\\)"):
        figures.plot_feature_maps({"flat": np.zeros(64)})


def test_membrane_traces_and_layer_raster(tmp_path: Path) -> None:
    v = np.array([0, 5, 10, 2, 7, 12, 4])
    spikes = (v > 9).astype(np.int8)
    figure = figures.plot_membrane_traces({"layers.0[3]": v}, {"layers.0[3]": spikes}, {"layers.0[3]": 9.0})
    save(figure, tmp_path / "traces.png")
    assert "2 spikes" in texts(figure)
    events = {"input": (np.array([0, 1]), np.array([5, 5])), "layers.0": (np.array([2]), np.array([1]))}
    figure = figures.plot_layer_raster(events, {"input": 784, "layers.0": 64, "layers.2": 10}, 4)
    save(figure, tmp_path / "raster.png")
    assert "layers.2\n(10)" in texts(figure) and "0 events" in texts(figure) and "2 events" in texts(figure)


def test_accuracy_band_needs_one_interval_per_t() -> None:
    figure = figures.plot_accuracy_vs_timesteps([1, 4], [0.5, 0.9], intervals=[(0.45, 0.55), (0.88, 0.92)])
    assert "95% interval" in texts(figure)
    with pytest.raises(ValueError, match="1 intervals for 2 timesteps"):
        figures.plot_accuracy_vs_timesteps([1, 4], [0.5, 0.9], intervals=[(0.4, 0.6)])


def test_core_utilisation_by_layer_name(tmp_path: Path) -> None:
    figure = figures.plot_core_utilisation(
        [700, 700, 64, 0], [2000, 2000, 50176, 0], "spikecore-v1", layer_of_core=["conv1", "conv1", "fc", ""]
    )
    save(figure, tmp_path / "utilisation.png")
    legend = figure.axes[0].get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["conv1", "fc"]
    with pytest.raises(ValueError, match="3 layer names for 4 cores"):
        figures.plot_core_utilisation([1, 1, 1, 1], [0, 0, 0, 0], "spikecore-v1", layer_of_core=["a", "b", "c"])
