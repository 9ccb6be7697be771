"""The compile options, declared once: `spikeir.compile`, the `spikecore-pipeline` pass, the BYOC codegen
and the lab all take these dataclasses, so a new knob is added here and nowhere else.

`PipelineOptions` holds what the lowering from nn to placed programs reads (docs/pipeline.md); the
`spikecore-pipeline` pass is one (its fields are its spike-opt options, dashes for underscores), and
the `Literal` choices let xDSL reject ``mode=spiking`` while parsing the pipeline. `CompileOptions` adds
what only a `CompiledModel` uses: the default number of timesteps of a run. Values are checked when an
object is built, so a bad option fails before any work. Calibration is not an option: it is data.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal, Self, get_args, get_origin, get_type_hints

from xdsl.utils.hints import isa

from spikeir.chip.target import get_target
from spikeir.passes.diagnostics import PassError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Mode = Literal["graded", "rate"]
"""graded: int8 payloads, exact in one timestep; rate: binary spikes, accuracy grows with timesteps."""
Method = Literal["max", "percentile"]
"""How calibration picks an activation range: the largest ``|x|`` or a percentile of ``|x|``."""
Reset = Literal["subtract", "zero"]
"""Rate mode: what a FIRE does to the membrane potential of a neuron that spiked."""
Thresholds = Literal["auto", "calibration", "model", "search"]
"""Rate mode: where a layer's lambda (the value of one spike, hence its threshold) comes from: the
model's QCFS activations (``model``; an error without them), calibration, ``auto``: the model's
when it carries QCFS activations, else calibration; or ``search``: calibration with the percentile that
agrees best with the float model on the calibration inputs at the run's timesteps (`spikeir.compile`)."""

_KINDS: dict[Any, str] = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


class OptionError(PassError):
    """An invalid compile option. Also a pass failure: the pipeline pass's fields are these options, and
    callers of passes (and spike-opt's ``--verify-diagnostics``) expect pass errors of that kind."""


def _describe(hint: Any) -> str:
    """What a value of type ``hint`` looks like, for an error message."""
    if get_origin(hint) is Literal:
        return " or ".join(str(choice) for choice in get_args(hint))
    if hint in _KINDS:
        return _KINDS[hint]
    kinds = [arg for arg in get_args(hint) if arg is not type(None)]
    return _describe(float) if float in kinds else " or ".join(_describe(arg) for arg in kinds)


def _fits(value: object, hint: Any) -> bool:
    """``isa``, except that a bool is not a number (``neurons-per-core=true`` must not mean 1)."""
    if isinstance(value, bool) and hint is not bool and bool not in get_args(hint):
        return False
    return isa(value, hint)


def check_option_types(options: DataclassInstance) -> None:
    """Raise `OptionError` for a field of ``options`` (a pass or an options dataclass) whose value is
    not of its annotated type: xDSL's option parser hands a pass whatever the text says."""
    hints = get_type_hints(type(options))
    for option in fields(options):
        value = getattr(options, option.name)
        if not _fits(value, hints[option.name]):
            raise OptionError(f"{option.name} must be {_describe(hints[option.name])}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """How the lowering from the float nn graph to placed SpikeCore programs is done."""

    mode: Mode = "graded"
    target: str = "spikecore-v1"
    """A named target (`spikeir.chip.target.TARGETS`)."""
    per_channel: bool = False
    """One weight scale per output channel (a region's last layer stays per tensor)."""
    method: Method = "max"
    percentile: int | float = 99.99
    """For ``method="percentile"``; an int too, because xDSL parses ``percentile=99`` as one."""
    neurons_per_core: int = 0
    """0: the target's value; 1 reproduces the seed's one-neuron-per-core mapping."""
    cores: int = 0
    """0: the target's value; more cores let a larger network fit (what placement errors suggest)."""
    synapse_bytes: int = 0
    """0: the target's synaptic memory per core."""
    leak_shift: int = 0
    """Rate mode: 0 for no leak, k in 1..31 for ``V -= V >> k`` before each FIRE."""
    reset: Reset = "subtract"
    init_half: bool = True
    """Rate mode: start each membrane potential at half the threshold (rounds the spike count)."""
    fold_pools: bool = True
    """Fold average and sum poolings into the conv or dense layer reading them (nn-fold-pool): exact
    pooled sums in that layer's ACC instead of a pooling layer that rounds again, for kh x kw times
    its synapses; false keeps each pooling a SpikeCore layer of its own."""

    def __post_init__(self) -> None:
        check_option_types(self)
        if not 0 < self.percentile <= 100:
            raise OptionError(f"percentile must be in (0, 100], got {self.percentile}")
        if not 0 <= self.leak_shift <= 31:
            raise OptionError(f"leak_shift must be 0 (no leak) or in 1..31, got {self.leak_shift}")
        for name in ("neurons_per_core", "cores", "synapse_bytes"):
            if getattr(self, name) < 0:
                raise OptionError(f"{name} must be 0 (the target's value) or more, got {getattr(self, name)}")
        get_target(self.target)

    @classmethod
    def of(cls, base: Self | None = None, /, **overrides: Any) -> Self:
        """``base`` (default: all defaults) with the fields named in ``overrides`` replaced; an unknown
        name is an `OptionError` (a typo must not be ignored)."""
        known = {option.name for option in fields(base if base is not None else cls) if option.init}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise OptionError(f"unknown option {', '.join(unknown)}; the options are {', '.join(sorted(known))}")
        return replace(base, **overrides) if base is not None else cls(**overrides)


@dataclass(frozen=True, kw_only=True)
class CompileOptions(PipelineOptions):
    """Everything `spikeir.compile` takes besides the model and its data."""

    timesteps: int | None = None
    """Timesteps of a `CompiledModel.run` unless it says otherwise; None: 1 for graded, 32 for rate
    (`spikeir.compile` of a QCFS-trained model in rate mode makes it the model's L)."""
    thresholds: Thresholds = "auto"
    """Rate mode: spike thresholds from the model's QCFS lambdas or from calibration (`Thresholds`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.timesteps is not None and self.timesteps < 1:
            raise OptionError(f"timesteps must be at least 1, got {self.timesteps}")

    @property
    def run_timesteps(self) -> int:
        """``timesteps``, or the mode's default: one step is exact in graded mode; rate mode needs more."""
        if self.timesteps is not None:
            return self.timesteps
        return 1 if self.mode == "graded" else 32
