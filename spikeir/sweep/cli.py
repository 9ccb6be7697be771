"""``spikeir sweep``: the command line of `spikeir.sweep.run_sweep` (docs/sweep.md).

A sweep that cannot start (a bad option, space file, model or data file, a results file of another
sweep) is one ``place: error: message`` line and exit status 2; points that fail are recorded, and
the sweep still ends with status 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import get_args

from spikeir.errors import SpikeIRError
from spikeir.sweep.engine import EngineKind
from spikeir.sweep.models import EvalSet, SweepModel, lab_eval_set, lab_model, load_eval_set, load_model
from spikeir.sweep.nir_points import NIR_SPACE
from spikeir.sweep.runner import DEFAULT_SHARD_SIZE, run_sweep
from spikeir.sweep.space import (
    Sampling,
    SweepError,
    SweepSpace,
    load_space,
    parse_vary,
    seed_space,
    space_from_mapping,
)
from spikeir.tools.diagnostics import report

USAGE_ERROR = 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    """The options of ``spikeir sweep``."""
    p = argparse.ArgumentParser(
        prog="spikeir sweep",
        description="Compile a model for every point of a space of compile options, run each on the SpikeCore "
        "hardware model over an evaluation set (on Ray when it is installed), and report accuracy, energy, "
        "latency and cores, with Pareto fronts.",
    )
    what = p.add_argument_group("model and data (default: the lab's seed MLP and its 1,000 held-out digits)")
    what.add_argument("--model", metavar="FILE", help="a model file (.pt2, .onnx, or a NIR graph .nir)")
    what.add_argument("--inputs", metavar="X.npy", help="evaluation inputs (batch first)")
    what.add_argument("--labels", metavar="Y.npy", help="their integer labels")
    what.add_argument("--calibration", metavar="C.npy", help="calibration inputs (with --inputs)")
    space = p.add_argument_group(
        "space (default: the 48-point seed space of docs/sweep.md; a .nir model's 24-point one)"
    )
    space.add_argument("--space", metavar="FILE.toml", help="a space file ([options], optional [sweep])")
    space.add_argument(
        "--vary", metavar="NAME=V1,V2", action="append", default=[], help="an axis (repeatable; replaces the file's)"
    )
    space.add_argument("--sampling", choices=get_args(Sampling), help="grid (default) or random")
    space.add_argument("--samples", type=_positive, help="random sampling: how many points")
    space.add_argument("--seed", type=int, help="random sampling: the seed (default 0)")
    run = p.add_argument_group("running")
    run.add_argument("--out", default="sweep-out", help="output folder (default sweep-out)")
    run.add_argument("--resume", action="store_true", help="continue the results file, skipping finished points")
    run.add_argument(
        "--engine", choices=get_args(EngineKind), default="auto", help="auto (Ray if installed), ray, local"
    )
    run.add_argument("--address", help="an existing Ray cluster (ray://host:10001 or host:6379)")
    run.add_argument("--workers", type=_positive, help="tasks at once (default: every CPU of the cluster)")
    run.add_argument(
        "--shard-size", type=_positive, default=DEFAULT_SHARD_SIZE, help="samples per evaluation task (default 500)"
    )
    run.add_argument("--top", type=_positive, default=10, help="rows of the best-points table (default 10)")
    run.add_argument("--no-figures", action="store_true", help="no Pareto figures (report.json still has the fronts)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    return p


def space_of(args: argparse.Namespace) -> SweepSpace:
    """The space the arguments describe: the file's (or the default one: a ``.nir`` model's own), ``--vary``
    axes, sampling."""
    nir = bool(args.model) and str(args.model).endswith(".nir")
    default = space_from_mapping(NIR_SPACE, "the default NIR space") if nir else seed_space()
    base = load_space(args.space) if args.space else default if not args.vary else SweepSpace()
    space = base.with_axes(parse_vary(args.vary)) if args.vary else base
    sampling = args.sampling or ("random" if args.samples and not args.space else space.sampling)
    samples = args.samples if args.samples is not None else space.samples
    seed = args.seed if args.seed is not None else space.seed
    return SweepSpace(space.axes, sampling, samples, seed, space.fixed)


def inputs_of(args: argparse.Namespace) -> tuple[SweepModel, EvalSet]:
    """The model and the evaluation set the arguments name."""
    files = (args.inputs, args.labels, args.calibration)
    if any(files) and not all(files):
        raise SweepError("--inputs, --labels and --calibration go together (the lab's digits are the default)", "sweep")
    model = load_model(args.model) if args.model else lab_model()
    data = load_eval_set(*files) if all(files) else lab_eval_set()
    return model, data


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``spikeir sweep``; a `SpikeIRError` before or while it runs is a usage error (status 2)."""
    args = parser().parse_args(argv)
    try:
        space = space_of(args)
        model, data = inputs_of(args)
        run_sweep(
            space,
            model,
            data,
            out=args.out,
            resume=args.resume,
            engine=args.engine,
            address=args.address,
            workers=args.workers,
            shard_size=args.shard_size,
            top=args.top,
            figures=not args.no_figures,
            progress=not args.no_progress,
        )
    except SpikeIRError as error:
        report(error, prog="spikeir sweep", stream=sys.stderr)
        return USAGE_ERROR
    return 0
