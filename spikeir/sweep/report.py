"""What a sweep shows: the best points, the Pareto fronts of accuracy against a cost (energy per
inference, timesteps, cores) as a table and figures, and the JSON report.

A point is on the front of a cost when no other measured point is at least as accurate *and* at most
as costly, better in one of the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from spikeir.sweep.results import Record
from spikeir.sweep.space import describe_point

COSTS: dict[str, str] = {
    "energy_nj": "energy per inference (nJ, estimate)",
    "timesteps": "timesteps",
    "cores": "cores",
}
"""The costs accuracy is traded against, each with one Pareto front and one figure."""

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("accuracy", "accuracy", "{:.2%}"),
    ("agreement", "agree", "{:.2%}"),
    ("energy_nj", "nJ/inf", "{:.1f}"),
    ("latency_us", "us/inf", "{:.1f}"),
    ("cycles", "cycles", "{:.0f}"),
    ("spikes", "spikes", "{:.0f}"),
    ("synaptic_ops", "syn ops", "{:.0f}"),
    ("cores", "cores", "{:d}"),
    ("synapse_bytes", "syn bytes", "{:d}"),
)
"""The table's metric columns: record field, heading, format."""


def measured(records: Sequence[Record]) -> list[Record]:
    """The points that were measured (status ok)."""
    return [r for r in records if r.get("status") == "ok"]


def pareto_front(records: Sequence[Record], cost: str) -> list[Record]:
    """The measured points no other point dominates in (accuracy up, ``cost`` down), by rising cost."""
    points = measured(records)

    def dominated(p: Record) -> bool:
        return any(
            q["accuracy"] >= p["accuracy"]
            and q[cost] <= p[cost]
            and (q["accuracy"] > p["accuracy"] or q[cost] < p[cost])
            for q in points
        )

    return sorted((p for p in points if not dominated(p)), key=lambda p: (p[cost], -p["accuracy"]))


def best_points(records: Sequence[Record], top: int) -> list[Record]:
    """The ``top`` most accurate points (the cheaper in energy first among equals)."""
    return sorted(measured(records), key=lambda r: (-r["accuracy"], r["energy_nj"]))[:top]


def _cell(record: Record, field: str, form: str) -> str:
    value = record.get(field)
    return "-" if value is None else form.format(value)


def varying(records: Sequence[Record]) -> list[str]:
    """The options whose value differs between ``records`` (what tells their rows apart)."""
    names = sorted({name for r in records for name in r["options"]})
    return [n for n in names if len({json.dumps(r["options"].get(n)) for r in records}) > 1]


def render_table(records: Sequence[Record], title: str, names: Sequence[str] | None = None) -> str:
    """A plain-text table of ``records``: each point's options (``names``, default: all), then the
    metrics of `COLUMNS`."""

    def options(record: Record) -> str:
        shown = record["options"] if names is None else {n: record["options"].get(n) for n in names}
        return describe_point(shown)

    rows = [[options(r), *(_cell(r, f, form) for f, _, form in COLUMNS)] for r in records]
    header = ["options", *(heading for _, heading, _ in COLUMNS)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [title]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:]))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def render_failures(records: Sequence[Record]) -> str:
    """One line per point that could not be measured, with its reason."""
    failed = [r for r in records if r.get("status") != "ok"]
    return "\n".join(f"  {r['status']}: {describe_point(r['options'])}: {r.get('reason')}" for r in failed)


def plot_front(records: Sequence[Record], cost: str) -> Any:
    """Accuracy against ``cost`` for every measured point, with its Pareto front drawn as a step line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = measured(records)
    front = pareto_front(records, cost)
    figure, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([p[cost] for p in points], [p["accuracy"] for p in points], s=18, color="0.6", label="points")
    ax.step(
        [p[cost] for p in front],
        [p["accuracy"] for p in front],
        where="post",
        color="C3",
        marker="o",
        label=f"Pareto front ({len(front)})",
    )
    if cost == "energy_nj" and points and min(p[cost] for p in points) > 0:
        ax.set_xscale("log")
    ax.set_xlabel(COSTS[cost])
    ax.set_ylabel("accuracy")
    ax.set_title(f"accuracy vs {COSTS[cost].split(' (')[0]}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return figure


def report_document(records: Sequence[Record], header: Mapping[str, Any], summary: Mapping[str, Any], top: int) -> str:
    """The JSON report: the sweep, every point, the best ones and each cost's Pareto front (by key)."""
    document = {
        "sweep": dict(header),
        "summary": dict(summary),
        "points": list(records),
        "best": [r["key"] for r in best_points(records, top)],
        "pareto": {cost: [r["key"] for r in pareto_front(records, cost)] for cost in COSTS},
    }
    return json.dumps(document, indent=2, sort_keys=True)
