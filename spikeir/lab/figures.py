"""Figures for the SpikeCore lab: spike rasters, the partitioned graph, weights, accuracy, resources.

Every function returns the matplotlib Figure it drew (or the figure of the ``ax`` it was given) and
never shows it, so it works under the Agg backend, in scripts and in notebooks alike. Figures are
made with pyplot so ``plt.show()`` in a notebook displays them; close them with ``plt.close(fig)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, Normalize, to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from spikeir.chip.target import TargetDescription, get_target

TARGET_COLOURS = {"host": "#9ecae1", "spikecore": "#fdae6b"}
"""Box colours of the compilation graph; other targets get colours from the tab10 cycle."""

SPIKE_COLOUR = "#1f3b73"


def _figure_of(ax: Axes) -> Figure:
    figure = ax.get_figure()
    if not isinstance(figure, Figure):
        raise ValueError("the axes are not part of a figure")
    return figure


MAX_RASTER_ROWS = 2048
"""Above this many neuron rows the raster shows one row per core (event counts), not per neuron."""


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def plot_spike_raster(
    spike_log: Sequence[tuple[int, int, int, int]],
    num_cores: int,
    num_timesteps: int,
    title: str = "SpikeCore spike raster",
) -> Figure:
    """Events over time: x is the timestep, y the core; a core's neurons split its row.

    Each event of ``spike_log`` is ``(timestep, core, neuron, payload)`` (as in the hardware model's
    log). When payloads differ (graded spikes), colour shows the payload magnitude. When cores hold
    too many neurons for one pixel row each, each cell shows how many of the core's neurons fired.
    """
    events = np.asarray(spike_log, dtype=np.int64).reshape(-1, 4)
    num_cores, num_timesteps = max(num_cores, 1), max(num_timesteps, 1)
    band = int(events[:, 2].max()) + 1 if len(events) else 1
    per_neuron = num_cores * band <= MAX_RASTER_ROWS
    rows = num_cores * band if per_neuron else num_cores
    height = max(3.0, min(8.0, 1.8 + 0.06 * rows))
    figure, ax = plt.subplots(figsize=(10, height))
    active = len(np.unique(events[:, 1]))
    ax.set_title(f"{title}\n{_plural(len(events), 'event')} on {_plural(active, 'core')}")
    ax.set_xlabel("timestep")
    ax.set_ylabel("core")
    if num_timesteps <= 20:
        ax.set_xticks(range(num_timesteps))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if num_cores <= 24:
        ax.set_yticks(range(num_cores))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    extent = (-0.5, num_timesteps - 0.5, -0.5, num_cores - 0.5)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    if len(events) == 0:
        ax.text(0.5, 0.5, "no spikes", transform=ax.transAxes, ha="center", va="center", color="0.4")
        figure.tight_layout()
        return figure

    timesteps, cores, neurons, payloads = events.T
    in_range = (timesteps >= 0) & (timesteps < num_timesteps) & (cores >= 0) & (cores < num_cores) & (neurons >= 0)
    if not np.all(in_range):
        raise ValueError(
            f"spike log has events outside {num_timesteps} timesteps x {num_cores} cores, e.g. "
            f"{tuple(int(v) for v in events[np.argmin(in_range)])}"
        )
    magnitude = np.abs(payloads)
    if per_neuron:
        # One image row per neuron: core c occupies rows c*band .. c*band + band - 1.
        image = np.zeros((num_cores * band, num_timesteps), dtype=np.float32)
        np.maximum.at(image, (cores * band + neurons, timesteps), magnitude.astype(np.float32))
        graded = int(magnitude.min()) != int(magnitude.max())
        label = "|payload|"
    else:
        image = np.zeros((num_cores, num_timesteps), dtype=np.float32)
        np.add.at(image, (cores, timesteps), 1.0)
        graded = True
        label = "events in core"
    shown = np.ma.masked_equal(image, 0)
    if graded:
        colours = plt.get_cmap("viridis")
        picture = ax.imshow(
            shown,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            extent=extent,
            cmap=colours,
            norm=Normalize(0, float(image.max())),
        )
        figure.colorbar(picture, ax=ax, label=label, pad=0.01)
    else:
        ax.imshow(
            shown,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            extent=extent,
            cmap=ListedColormap([SPIKE_COLOUR]),
        )
    # Thin white gaps between cells keep neighbouring events apart, as ticks in a classic raster.
    if num_timesteps <= 100:
        ax.vlines(np.arange(0.5, num_timesteps - 1, 1.0), extent[2], extent[3], color="white", linewidth=1.5)
    if 0.7 * height * 72 / rows >= 4:  # rows at least 4 points tall
        row_edges = np.arange(1, rows) * num_cores / rows - 0.5
        ax.hlines(row_edges, extent[0], extent[1], color="white", linewidth=0.8)
    if per_neuron and band > 1:
        if num_cores <= 64:
            ax.hlines(np.arange(0.5, num_cores - 1, 1.0), extent[0], extent[1], color="0.6", linewidth=0.8)
        ax.set_ylabel(f"core (rows: neurons 0-{band - 1})")
    figure.tight_layout()
    return figure


def _shape_text(shape: Sequence[int] | int) -> str:
    if isinstance(shape, int):
        return str(shape)
    if len(shape) == 2:
        return f"{shape[0]} \u2192 {shape[1]}"
    return " \u00d7 ".join(map(str, shape))


def plot_compilation_graph(
    layer_names: Sequence[str],
    layer_targets: Sequence[str],
    layer_shapes: Sequence[Sequence[int] | int],
    title: str = "Partitioned graph: host vs SpikeCore",
) -> Figure:
    """Layers as boxes left to right, coloured by target, inside one dashed region per partition.

    ``layer_shapes[i]`` is usually ``(inputs, outputs)``; it is printed under the box.
    """
    if not len(layer_names) == len(layer_targets) == len(layer_shapes):
        raise ValueError(
            f"need one target and one shape per layer, got {len(layer_names)} names, "
            f"{len(layer_targets)} targets and {len(layer_shapes)} shapes"
        )
    palette = dict(TARGET_COLOURS)
    tab10 = plt.get_cmap("tab10")
    for target in layer_targets:
        if target not in palette:
            palette[target] = to_hex(tab10(len(palette) % 10))

    count = len(layer_names)
    figure, ax = plt.subplots(figsize=(max(6.0, 2.4 * count + 1.0), 3.6))
    ax.set_xlim(-0.2, 2.4 * count - 0.2)
    ax.set_ylim(-1.5, 1.6)
    ax.axis("off")
    ax.set_title(title)
    width, height = 1.7, 1.0

    # Dashed regions around runs of consecutive layers on the same target (the partitions).
    start = 0
    for i in range(1, count + 1):
        if i == count or layer_targets[i] != layer_targets[start]:
            left = 2.4 * start - 0.12
            right = 2.4 * (i - 1) + width + 0.12
            region = FancyBboxPatch(
                (left, -0.85),
                right - left,
                2.25,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=to_rgba(palette[layer_targets[start]], 0.2),
                edgecolor=palette[layer_targets[start]],
                linestyle="--",
                linewidth=1.5,
            )
            ax.add_patch(region)
            ax.text(
                (left + right) / 2,
                1.22,
                layer_targets[start],
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold",
                color="0.25",
            )
            start = i

    for i, (name, target, shape) in enumerate(zip(layer_names, layer_targets, layer_shapes)):
        x = 2.4 * i
        box = FancyBboxPatch(
            (x, -0.5),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.1",
            facecolor=palette[target],
            edgecolor="0.2",
            linewidth=1.2,
        )
        ax.add_patch(box)
        ax.text(x + width / 2, 0.0, name, ha="center", va="center", fontsize=10)
        ax.text(x + width / 2, -0.68, _shape_text(shape), ha="center", va="center", fontsize=9, color="0.2")
        if i + 1 < count:
            ax.add_patch(
                FancyArrowPatch(
                    (x + width + 0.02, 0.0),
                    (x + 2.4 - 0.02, 0.0),
                    arrowstyle="-|>",
                    mutation_scale=14,
                    color="0.3",
                    linewidth=1.2,
                )
            )
    handles = [
        Patch(facecolor=colour, edgecolor="0.2", label=target)
        for target, colour in palette.items()
        if target in layer_targets
    ]
    ax.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, -0.08))
    figure.tight_layout()
    return figure


def plot_weight_distribution(w_int8: ArrayLike, title: str, ax: Axes | None = None) -> Figure:
    """Histogram of int8 weights, one bin per integer, with the int8 limits and summary numbers."""
    weights = np.asarray(w_int8).astype(np.int64).ravel()
    if ax is None:
        figure, ax = plt.subplots(figsize=(7, 4))
    else:
        figure = _figure_of(ax)
    bins = [value - 0.5 for value in range(-128, 129)]
    ax.hist(weights, bins=bins, color="#3182bd", edgecolor="none")
    for limit, label in ((-128, "int8 limits"), (127, None)):
        ax.axvline(limit, color="#de2d26", linestyle="--", linewidth=1, label=label)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_xlim(-134, 133)
    ax.set_xlabel("int8 weight value")
    ax.set_ylabel("count")
    ax.set_title(title)
    if weights.size:
        summary = (
            f"n = {weights.size:,}\nmean = {weights.mean():.2f}, std = {weights.std():.2f}\n"
            f"zeros = {np.mean(weights == 0):.1%}\n"
            f"at \u00b1limit = {np.mean((weights <= -127) | (weights >= 127)):.1%}"
        )
    else:
        summary = "no weights"
    ax.text(
        0.98,
        0.96,
        summary,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.8"},
    )
    return figure


def plot_comparison(
    pt_probs: ArrayLike,
    sc_probs: ArrayLike,
    title: str = "PyTorch vs SpikeCore",
    labels: tuple[str, str] = ("PyTorch (float)", "SpikeCore"),
) -> Figure:
    """Side-by-side bars of two class-probability vectors; each prediction is marked with a star."""
    reference = np.asarray(pt_probs, dtype=np.float64).ravel()
    hardware = np.asarray(sc_probs, dtype=np.float64).ravel()
    if reference.shape != hardware.shape:
        raise ValueError(f"probability vectors differ in length: {reference.size} and {hardware.size}")
    classes = np.arange(reference.size)
    figure, ax = plt.subplots(figsize=(max(8.0, 0.6 * reference.size + 4), 4))
    bar_width = 0.4
    for offset, values, label, colour in (
        (-bar_width / 2, reference, labels[0], "#3182bd"),
        (bar_width / 2, hardware, labels[1], "#fd8d3c"),
    ):
        ax.bar(classes + offset, values, bar_width, label=label, color=colour)
        best = int(np.argmax(values))
        ax.plot(
            best + offset,
            values[best] + 0.04 * max(1.0, float(values.max())),
            marker="*",
            color=colour,
            markeredgecolor="0.2",
            markersize=12,
        )
    top = max(1.0, float(max(reference.max(), hardware.max())))
    ax.set_ylim(0, top * 1.12)
    ax.set_xticks(classes)
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    agree = "agree" if np.argmax(reference) == np.argmax(hardware) else "DISAGREE"
    ax.set_title(f"{title}\npredictions: {np.argmax(reference)} vs {np.argmax(hardware)} ({agree})")
    handles, names = ax.get_legend_handles_labels()
    star = Line2D([], [], marker="*", color="0.5", markeredgecolor="0.2", markersize=12, linestyle="none")
    ax.legend([*handles, star], [*names, "prediction"], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure


def plot_accuracy_vs_timesteps(
    timesteps: Sequence[int],
    accuracies: Sequence[float] | Mapping[str, Sequence[float]],
    float_accuracy: float | None = None,
    graded_accuracy: float | None = None,
    title: str = "Rate-coded accuracy vs timesteps",
    intervals: Sequence[Sequence[float]] | None = None,
) -> Figure:
    """Accuracy of rate-coded runs against T, with the float and graded (T = 1) results as references.

    ``accuracies`` is one series, or several keyed by their legend label. Values are fractions in [0, 1].
    ``intervals`` (one ``(low, high)`` per T, e.g. 95% intervals) draws a band around the first series.
    """
    if isinstance(accuracies, Mapping):
        series = dict(accuracies)
    else:
        series = {"rate coded (binary spikes)": accuracies}
    steps = np.asarray(timesteps)
    for label, values in series.items():
        if len(values) != len(steps):
            raise ValueError(f"series '{label}' has {len(values)} accuracies for {len(steps)} timesteps")
    if intervals is not None and len(intervals) != len(steps):
        raise ValueError(f"{len(intervals)} intervals for {len(steps)} timesteps")
    figure, ax = plt.subplots(figsize=(7, 4.5))
    for label, values in series.items():
        line = ax.plot(steps, 100 * np.asarray(values, dtype=np.float64), marker="o", label=label)[0]
        if intervals is not None:
            bounds = 100 * np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
            ax.fill_between(steps, bounds[:, 0], bounds[:, 1], color=line.get_color(), alpha=0.2, label="95% interval")
            intervals = None
    if float_accuracy is not None:
        ax.axhline(100 * float_accuracy, color="0.3", linestyle="--", label=f"float model ({float_accuracy:.1%})")
    if graded_accuracy is not None:
        ax.axhline(
            100 * graded_accuracy,
            color="#31a354",
            linestyle=":",
            linewidth=2,
            label=f"graded spikes, T = 1 ({graded_accuracy:.1%})",
        )
    if len(steps) and steps.min() > 0 and steps.max() / steps.min() >= 8:
        ax.set_xscale("log", base=2)
    ax.set_xticks(steps, [str(int(t)) for t in steps])
    ax.minorticks_off()
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right")
    figure.tight_layout()
    return figure


def plot_core_utilisation(
    neurons_per_core_used: Sequence[int],
    synapse_bytes_used: Sequence[int],
    target: TargetDescription | str,
    layer_of_core: Sequence[str] | None = None,
) -> Figure:
    """Per-core neurons and synaptic memory as a percentage of the target's capacity.

    Bars over 100% (a placement that does not fit) are red. Absolute numbers label the bars when
    there are few cores. ``layer_of_core`` (a layer name per core, "" for an unused one) colours the
    bars by layer, with the names in a legend.
    """
    description = get_target(target)
    neurons = np.asarray(neurons_per_core_used, dtype=np.int64)
    synapses = np.asarray(synapse_bytes_used, dtype=np.int64)
    if neurons.shape != synapses.shape:
        raise ValueError(f"{neurons.size} neuron counts but {synapses.size} synapse counts (one per core)")
    if layer_of_core is not None and len(layer_of_core) != neurons.size:
        raise ValueError(f"{len(layer_of_core)} layer names for {neurons.size} cores")
    names = [n for n in dict.fromkeys(layer_of_core or []) if n]
    palette = {name: to_hex(plt.get_cmap("tab10")(i % 10)) for i, name in enumerate(names)}
    cores = np.arange(neurons.size)
    width = max(8.0, min(16.0, 0.25 * neurons.size + 4))
    figure, axes = plt.subplots(2, 1, figsize=(width, 6.5), sharex=True)
    panels = (
        (axes[0], neurons, description.neurons_per_core, "neurons", "#6baed6"),
        (axes[1], synapses, description.synapse_bytes, "synapse bytes", "#9e9ac8"),
    )
    for ax, used, capacity, what, colour in panels:
        percent = 100 * used / capacity
        peak = float(percent.max(initial=0))
        base = [palette.get(n, colour) for n in layer_of_core] if layer_of_core is not None else colour
        colours = np.where(used > capacity, "#de2d26", base)
        bars = ax.bar(cores, percent, color=colours, width=0.8)
        if peak >= 10:
            ax.axhline(100, color="0.2", linestyle="--", linewidth=1)
            ax.set_ylim(0, max(110.0, peak * 1.15))
        else:  # nearly empty cores: zoom in so the bars stay visible; the axis is still in percent
            ax.set_ylim(0, max(peak, 0.01) * 1.3)
        ax.set_ylabel(f"{what}\n(% of capacity)")
        ax.grid(True, axis="y", alpha=0.3)
        if neurons.size <= 16:
            ax.bar_label(bars, labels=[f"{v:,}" for v in used], fontsize=8, padding=2)
        ax.set_title(
            f"{what} per core: capacity {capacity:,} {'(dashed line)' if peak >= 10 else '(axis zoomed)'}, "
            f"peak {peak:.1f}%\n{int(used.sum()):,} used of {capacity * description.cores:,} on the chip",
            fontsize=10,
        )
    axes[1].set_xlabel("core")
    if palette:
        handles = [Patch(color=c, label=name) for name, c in palette.items()]
        axes[0].legend(handles=handles, title="layer", fontsize=8, loc="upper right")
    if neurons.size <= 32:
        axes[1].set_xticks(cores)
    shown = f"{neurons.size} of {description.cores} cores shown"
    figure.suptitle(f"Core utilisation on {description.name} ({shown})")
    figure.tight_layout()
    return figure


def plot_layer_firing_rates(
    layers: Sequence[str], rates: Mapping[str, Sequence[float]], title: str = "Firing rate per layer"
) -> Figure:
    """Per layer, the fraction of its neurons that emit an event per timestep, one bar per mode
    (``rates``: legend label -> one rate per layer). The output layer only accumulates: rate 0."""
    figure, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(layers) + 2), 4.2))
    width = 0.8 / max(len(rates), 1)
    x = np.arange(len(layers))
    for index, (label, values) in enumerate(rates.items()):
        if len(values) != len(layers):
            raise ValueError(f"'{label}' has {len(values)} rates for {len(layers)} layers")
        bars = ax.bar(x + (index - (len(rates) - 1) / 2) * width, 100 * np.asarray(values), width, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(x, list(layers), rotation=20, ha="right")
    ax.set_ylabel("events per neuron per timestep (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper right")
    figure.tight_layout()
    return figure


def plot_confusion_matrix(matrix: ArrayLike, title: str = "Confusion matrix") -> Figure:
    """Counts of (true label, predicted label), with each row's recall on the right."""
    counts = np.asarray(matrix, dtype=np.int64)
    figure, ax = plt.subplots(figsize=(6, 5.2))
    picture = ax.imshow(counts, cmap="Blues")
    figure.colorbar(picture, ax=ax, label="digits", pad=0.12)
    classes = counts.shape[0]
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    threshold = counts.max() / 2 if counts.size else 0
    for (row, col), value in np.ndenumerate(counts):
        if value:
            colour = "white" if value > threshold else "black"
            ax.text(col, row, str(value), ha="center", va="center", fontsize=7, color=colour)
    totals = counts.sum(axis=1)
    for row in range(classes):
        recall = counts[row, row] / totals[row] if totals[row] else 0.0
        ax.text(classes - 0.3, row, f"{recall:.0%}", va="center", fontsize=7, color="0.3")
    accuracy = np.trace(counts) / counts.sum() if counts.sum() else 0.0
    ax.set_title(f"{title}\n{accuracy:.2%} of {int(counts.sum()):,} digits")
    figure.tight_layout()
    return figure


def plot_energy_breakdown(
    by_kind: Mapping[str, float], by_layer: Mapping[str, float], title: str = "Energy per sample (estimate)"
) -> Figure:
    """The per-sample energy estimate in nJ, split by kind of operation and by layer (the layers'
    share covers synaptic ops and neuron updates; deliveries appear only by kind)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, parts, heading in ((left, by_kind, "by kind"), (right, by_layer, "by layer")):
        names = list(parts)
        values = np.asarray([parts[n] for n in names], dtype=np.float64) / 1e3
        bars = ax.barh(names, values, color=SPIKE_COLOUR)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
        ax.invert_yaxis()
        ax.set_xlabel("nJ per sample")
        ax.set_title(heading)
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_xlim(0, max(float(values.max(initial=0.0)) * 1.25, 1e-3))
    figure.suptitle(f"{title}: {sum(by_kind.values()) / 1e3:.2f} nJ")
    figure.tight_layout()
    return figure


def plot_feature_maps(
    maps: Mapping[str, ArrayLike], max_channels: int = 8, title: str = "Feature maps"
) -> Figure:
    """Feature maps of one input: per layer (a row), up to ``max_channels`` channels of its (C, H, W)
    activations, each channel on its own colour scale."""
    shown = {name: np.asarray(m, dtype=np.float64) for name, m in maps.items()}
    for name, m in shown.items():
        if m.ndim != 3:
            raise ValueError(f"feature map '{name}' must be (channels, height, width), got shape {m.shape}")
    columns = max([min(m.shape[0], max_channels) for m in shown.values()], default=1)
    figure, axes = plt.subplots(len(shown) or 1, columns, figsize=(1.5 * columns + 1, 1.6 * max(len(shown), 1)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for row, (name, m) in enumerate(shown.items()):
        for channel in range(min(m.shape[0], max_channels)):
            ax = axes[row, channel]
            ax.imshow(m[channel], cmap="magma", interpolation="nearest")
            ax.set_title(f"{name} c{channel}" if channel == 0 else f"c{channel}", fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_membrane_traces(
    traces: Mapping[str, ArrayLike],
    spikes: Mapping[str, ArrayLike],
    thresholds: Mapping[str, float] | None = None,
    title: str = "Membrane potential",
) -> Figure:
    """V over timesteps for a few neurons (one panel each, keyed by a label such as ``layer[neuron]``),
    with their spikes as ticks and the threshold as a dashed line when known."""
    names = list(traces)
    figure, axes = plt.subplots(len(names) or 1, 1, figsize=(8, 1.5 * max(len(names), 1) + 0.6), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        v = np.asarray(traces[name], dtype=np.float64)
        ax.plot(np.arange(v.size), v, color=SPIKE_COLOUR, drawstyle="steps-mid")
        fired = np.flatnonzero(np.asarray(spikes.get(name, np.zeros(v.size))) != 0)
        if fired.size:
            ax.vlines(fired, 0, 1, transform=ax.get_xaxis_transform(), color="#e6550d", linewidth=1, alpha=0.6)
        if thresholds and name in thresholds:
            ax.axhline(thresholds[name], color="0.4", linestyle="--", linewidth=1)
        ax.set_ylabel(name, fontsize=8)
        ax.text(0.99, 0.9, f"{fired.size} spikes", transform=ax.transAxes, ha="right", va="top", fontsize=7)
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("timestep")
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_layer_raster(
    events: Mapping[str, tuple[ArrayLike, ArrayLike]],
    sizes: Mapping[str, int],
    num_timesteps: int,
    title: str = "Spikes per layer",
) -> Figure:
    """A raster per layer (its name on the panel): x the timestep, y the neuron of the layer.
    ``events`` maps a layer to its (timesteps, neurons) arrays; ``sizes`` gives each layer's neurons
    (so a layer that never fires shows as an empty panel of the right height, not as nothing)."""
    names = list(sizes)
    figure, axes = plt.subplots(len(names) or 1, 1, figsize=(9, 1.8 * max(len(names), 1) + 0.6), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        steps, neurons = (np.asarray(a, dtype=np.int64) for a in events.get(name, ([], [])))
        ax.scatter(steps, neurons, s=4, marker="|", color=SPIKE_COLOUR)
        ax.set_ylim(-0.5, sizes[name] - 0.5)
        ax.set_xlim(-0.5, max(num_timesteps, 1) - 0.5)
        ax.set_ylabel(f"{name}\n({sizes[name]:,})", fontsize=8)
        ax.text(0.99, 0.92, _plural(int(steps.size), "event"), transform=ax.transAxes, ha="right", va="top", fontsize=7)
    axes[-1, 0].set_xlabel("timestep")
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title)
    figure.tight_layout()
    return figure
