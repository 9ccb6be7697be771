"""The lab's side-by-side of rate coding: the plain ReLU model against QCFS-trained copies of it (issue 16).

The function the lab pipeline calls::

    qcfs_comparison(plain, data, options, *, levels=(4, 8), timesteps=(1, 2, 4, 8, 16),
                    calibration_samples=500, epochs=4, lr=1e-3, seed=0, cache_dir=None,
                    search=False, say=lambda line: None) -> QCFSComparison

``plain`` is the lab's trained torch model, ``data`` its `MNISTSplit`, ``options`` the lab's
`CompileOptions` (``mode`` is set to rate here; per-channel, reset, init-half, method and leak apply to
every model alike). For each L in ``levels`` the plain model is fine-tuned with QCFS activations
(`spikeir.numerics.qcfs.fine_tune`, cached under the lab's cache folder), then every model is compiled
in rate mode and run on the test digits for each T. The result holds, per model and T, accuracy and
top-1 agreement with that model's own float output, each with a 95% Wilson interval;
``QCFSComparison.table()`` is a Markdown table, ``.figure()`` one matplotlib figure (accuracy and
agreement against T), ``.as_dict()`` the report.json entry.

On the 1,000 test digits an accuracy near 92% has a 95% interval of about +-1.7 points: differences
inside it are not differences. ``python -m spikeir.lab.qcfs`` prints the table for the seed MLP.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from spikeir.errors import SpikeIRError
from spikeir.lab.data import MNISTSplit
from spikeir.lab.report import proportion
from spikeir.numerics.qcfs import FINE_TUNE_EPOCHS, FINE_TUNE_LR, fine_tune, qcfs_modules, to_qcfs
from spikeir.options import CompileOptions

DEFAULT_LEVELS: tuple[int, ...] = (4, 8)
DEFAULT_TIMESTEPS: tuple[int, ...] = (1, 2, 4, 8, 16)


@dataclass
class ModelRow:
    """One model of the comparison: its float accuracy and, per T, rate-mode accuracy and agreement."""

    name: str
    levels: int | None
    """L of its QCFS activations; None for the plain ReLU model."""
    float_accuracy: dict[str, Any]
    rate: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """T -> {"accuracy": proportion, "agreement": proportion} (`spikeir.lab.report.proportion`)."""
    lambdas: dict[str, float] = field(default_factory=dict)
    percentiles: dict[int, float] = field(default_factory=dict)
    """T -> the calibration percentile ``thresholds="search"`` chose (only for a searched row)."""


@dataclass
class QCFSComparison:
    """Plain against QCFS-trained models in rate mode, on one test set."""

    rows: list[ModelRow]
    samples: int
    options: CompileOptions

    def table(self) -> str:
        """A Markdown table: one line per T, accuracy and agreement (with 95% intervals) per model."""
        head = ["T"] + [f"{row.name} {what}" for row in self.rows for what in ("accuracy", "agreement")]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        floats = ["float"] + [cell for row in self.rows for cell in (_cell(row.float_accuracy), "")]
        lines.append("| " + " | ".join(floats) + " |")
        for steps in sorted({t for row in self.rows for t in row.rate}):
            cells = [str(steps)]
            for row in self.rows:
                cells += [_cell(row.rate[steps]["accuracy"]), _cell(row.rate[steps]["agreement"])]
            lines.append("| " + " | ".join(cells) + " |")
        for row in self.rows:
            if row.percentiles:
                chosen = ", ".join(f"T={t}: {p:g}" for t, p in sorted(row.percentiles.items()))
                lines.append(f"\n{row.name}: the percentile the search chose per T: {chosen}")
        return "\n".join(lines) + "\n"

    def figure(self) -> Figure:
        """Accuracy and agreement against T, one line per model, 95% intervals as error bars."""
        figure = Figure(figsize=(10, 4))
        for ax, what in zip(figure.subplots(1, 2), ("accuracy", "agreement")):
            for row in self.rows:
                steps = sorted(row.rate)
                values = np.array([row.rate[t][what]["value"] for t in steps]) * 100
                bounds = np.array([row.rate[t][what]["ci95"] for t in steps]) * 100
                errors = np.abs(bounds.T - values)
                ax.errorbar(steps, values, yerr=errors, marker="o", capsize=3, label=row.name)
                if what == "accuracy":
                    ax.axhline(row.float_accuracy["value"] * 100, linestyle="--", linewidth=0.8, color="grey")
            ax.set_xscale("log", base=2)
            every = sorted({t for row in self.rows for t in row.rate})
            ax.set_xticks(every, [str(t) for t in every])
            ax.set_xlabel("timesteps T")
            ax.set_ylabel(f"{what} (%)" + (" with own float model" if what == "agreement" else ""))
            ax.set_title(f"rate-mode {what}, 95% Wilson intervals (n={self.samples})")
            ax.legend(fontsize=8)
        figure.tight_layout()
        return figure

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "options": {
                "per_channel": self.options.per_channel,
                "reset": self.options.reset,
                "init_half": self.options.init_half,
                "method": self.options.method,
            },
            "models": [
                {
                    "name": row.name,
                    "levels": row.levels,
                    "float_accuracy": row.float_accuracy,
                    "lambdas": row.lambdas,
                    "percentiles": {str(t): p for t, p in sorted(row.percentiles.items())},
                    "rate": {str(t): v for t, v in sorted(row.rate.items())},
                }
                for row in self.rows
            ],
        }


def _cell(measured: dict[str, Any]) -> str:
    low, high = measured["ci95"]
    return f"{measured['value']:.1%} [{low:.1%}, {high:.1%}]"


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x)).numpy().argmax(axis=1)


def _cache_path(
    plain: nn.Module, data: MNISTSplit, levels: int, epochs: int, lr: float, seed: int, folder: Path
) -> Path:
    """The file of one fine-tuned model: named by a digest of the plain weights, the data and the settings."""
    from spikeir.lab.training import _data_digest  # the training cache's digest of the data

    digest = hashlib.sha256(f"qcfs-1 L={levels} epochs={epochs} lr={lr} seed={seed}".encode())
    digest.update(_data_digest(data).encode())
    for name, tensor in sorted(plain.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return folder / f"qcfs-L{levels}-{digest.hexdigest()[:20]}.pt"


def qcfs_model(
    plain: nn.Module, data: MNISTSplit, levels: int, epochs: int, lr: float, seed: int, cache_dir: Path | None
) -> nn.Module:
    """``plain`` fine-tuned with QCFS activations of ``levels`` levels, from the cache when it holds it."""
    from spikeir.lab.training import default_cache_dir, save_atomically

    path = _cache_path(plain, data, levels, epochs, lr, seed, cache_dir or default_cache_dir())
    if path.exists():
        model = to_qcfs(plain, data.x_train[:500], levels)
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
        except (OSError, RuntimeError, ValueError, EOFError):
            pass  # an unusable cache file is retrained over
    model, _ = fine_tune(plain, data.x_train, data.y_train, levels, epochs=epochs, lr=lr, seed=seed)
    try:
        save_atomically(path, model.state_dict())
    except OSError:
        pass  # a cache that cannot be written costs only the next run's fine-tuning
    return model


def _measure(
    name: str, model: nn.Module, data: MNISTSplit, options: CompileOptions, timesteps: Sequence[int], samples: int
) -> ModelRow:
    import spikeir

    reference = _predict(model, data.x_test)
    levels = {module.levels for _, module in qcfs_modules(model)}
    row = ModelRow(
        name,
        levels.pop() if levels else None,
        proportion(reference == data.y_test),
        lambdas={layer: float(module.lam.detach()) for layer, module in qcfs_modules(model)},
    )
    calibration = data.x_train[:samples]
    compiled = spikeir.compile(model, data.x_test[:1], calibration, options=options)
    for steps in sorted(set(timesteps)):
        if options.thresholds == "search":  # the percentile depends on T: one search per T
            compiled = spikeir.compile(model, data.x_test[:1], calibration, options=options, timesteps=steps)
            row.percentiles[steps] = float(compiled.options.percentile)
        predicted = compiled.run(data.x_test, timesteps=steps).argmax(axis=1)
        row.rate[steps] = {
            "accuracy": proportion(predicted == data.y_test),
            "agreement": proportion(predicted == reference),
        }
    return row


def qcfs_comparison(
    plain: nn.Module,
    data: MNISTSplit,
    options: CompileOptions | None = None,
    *,
    levels: Sequence[int] = DEFAULT_LEVELS,
    timesteps: Sequence[int] = DEFAULT_TIMESTEPS,
    calibration_samples: int = 500,
    epochs: int = FINE_TUNE_EPOCHS,
    lr: float = FINE_TUNE_LR,
    seed: int = 0,
    cache_dir: Path | None = None,
    search: bool = False,
    say: Callable[[str], None] = lambda _line: None,
) -> QCFSComparison:
    """Rate mode of ``plain`` and of a QCFS-trained copy per L in ``levels``, side by side (module docstring);
    ``search`` adds the plain model with ``thresholds="search"`` (one percentile search per T)."""
    options = CompileOptions.of(options, mode="rate", timesteps=None, thresholds="auto")
    rows = [_measure("plain ReLU", plain, data, options, timesteps, calibration_samples)]
    if search:
        say("plain ReLU with searched thresholds: one percentile search per T")
        searched = replace(options, thresholds="search")
        rows.append(_measure("plain searched", plain, data, searched, timesteps, calibration_samples))
    for count in levels:
        say(f"QCFS L={count}: fine-tuning ({epochs} epochs) or loading from the cache, then rate mode")
        tuned = qcfs_model(plain, data, count, epochs, lr, seed, cache_dir)
        rows.append(_measure(f"QCFS L={count}", tuned, data, options, timesteps, calibration_samples))
    return QCFSComparison(rows, len(data.y_test), options)


def output_bias_study(
    models: Sequence[tuple[str, nn.Module]],
    data: MNISTSplit,
    options: CompileOptions,
    timesteps: Sequence[int],
    calibration_samples: int = 500,
) -> str:
    """Bias calibration (Li et al. 2021) of the layer the host reads, measured: per model and T, the output's
    mean error on the calibration digits, ``delta = E[float - SNN]``, added to the SNN's test outputs, as a
    Markdown table of agreement and accuracy before -> after. Adding ``delta`` to the logits is adding it
    to the output layer's bias (up to that bias's integer unit), so no recompile is needed to measure it."""
    import spikeir

    lines = ["| model | T | agreement | with bias calibration | accuracy | with bias calibration |", "|" + "---|" * 6]
    calibration = data.x_train[:calibration_samples]
    for name, model in models:
        with torch.no_grad():
            float_cal = model.eval()(torch.from_numpy(calibration)).numpy()
            reference = model(torch.from_numpy(data.x_test)).numpy().argmax(axis=1)
        compiled = spikeir.compile(model, data.x_test[:1], calibration, options=options)
        for steps in timesteps:
            delta = (float_cal - compiled.run(calibration, timesteps=steps)).mean(axis=0)
            test = compiled.run(data.x_test, timesteps=steps)
            cells = []
            for predicted in (test.argmax(axis=1), (test + delta).argmax(axis=1)):
                cells.append((_cell(proportion(predicted == reference)), _cell(proportion(predicted == data.y_test))))
            lines.append(f"| {name} | {steps} | {cells[0][0]} | {cells[1][0]} | {cells[0][1]} | {cells[1][1]} |")
    return "\n".join(lines) + "\n"


def _positive_ints(text: str) -> list[int]:
    """``4,8`` -> [4, 8]; anything else is an argparse error (a usage message, not a traceback)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m spikeir.lab.qcfs",
        description="Rate coding of the lab's MLP or CNN: plain ReLU against QCFS-trained copies.",
    )
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="the lab's MLP or its LeNet CNN")
    parser.add_argument("--hidden", type=_positive_ints, default=[64], help="hidden widths of the lab MLP, 64,32")
    parser.add_argument("--levels", type=_positive_ints, default=list(DEFAULT_LEVELS), help="QCFS levels L, 4,8")
    parser.add_argument("--timesteps", type=_positive_ints, default=list(DEFAULT_TIMESTEPS), help="T values, 1,2,4")
    parser.add_argument("--per-tensor", action="store_true", help="one weight scale per layer (default: per channel)")
    parser.add_argument("--reset", choices=("subtract", "zero"), default="subtract")
    parser.add_argument("--method", choices=("max", "percentile"), default="max", help="calibration of lambda")
    parser.add_argument("--percentile", type=float, default=99.99, help="with --method percentile")
    parser.add_argument("--no-init-half", action="store_true", help="start membranes at 0, not theta/2")
    parser.add_argument("--figure", type=Path, help="write the figure (PNG) here")
    parser.add_argument("--search", action="store_true", help="add the plain model with thresholds=search")
    parser.add_argument(
        "--bias-calibration", action="store_true", help="also measure bias calibration of the output layer"
    )
    return parser


def _run(args: argparse.Namespace) -> None:
    from spikeir.lab.data import load_mnist
    from spikeir.lab.training import train_or_load

    options = CompileOptions(
        mode="rate",
        per_channel=not args.per_tensor,
        reset=args.reset,
        init_half=not args.no_init_half,
        method=args.method,
        percentile=args.percentile,
    )
    data = load_mnist()
    plain, _ = train_or_load(tuple(args.hidden), data, kind=args.model)
    result = qcfs_comparison(
        plain, data, options, levels=args.levels, timesteps=args.timesteps, search=args.search, say=print
    )
    print(result.table(), end="")
    if args.bias_calibration:
        models = [("plain ReLU", plain)] + [
            (f"QCFS L={count}", qcfs_model(plain, data, count, FINE_TUNE_EPOCHS, FINE_TUNE_LR, 0, None))
            for count in args.levels
        ]
        print(output_bias_study(models, data, options, args.timesteps), end="")
    if args.figure is not None:
        result.figure().savefig(args.figure, dpi=120)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m spikeir.lab.qcfs``: the comparison for the seed MLP (or ``--hidden``, ``--model cnn``), as a table;
    a bad option or input is one ``error:`` line and exit status 1 or 2, never a traceback."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _run(args)
    except SpikeIRError as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
