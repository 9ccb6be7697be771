"""convert-to-snn: turn a graded (int8 payload) program into a rate-coded spiking one.

A graded ReLU layer emits ``p = clamp(round(V * M / 2^s), 0, hi)``, a payload worth ``unit_out``
each, so its real activation lies in ``[0, lambda]`` with ``lambda = hi * unit_out``: the top of the
requantization range, which calibration put at the chosen percentile of the layer's activations
(the data-based normalisation of Rueckauer et al. 2017). The spiking layer integrates the same V
every timestep and emits one binary spike worth ``lambda`` whenever V crosses

    theta_n = max(1, floor(lambda / unit_V[n] + 1/2))      (unit_V: the group's unit of V)

so that over T steps the spike count times lambda approximates T times the ReLU activation clipped
to ``[0, lambda]``. A model can fix lambda itself: the module attribute ``spikecore.thresholds``
(``{layer name: lambda}``, set by `spikeir.compile` from a QCFS-trained model's activations) replaces
the calibrated value of the layers it names; with such a lambda the spike count over ``T = L`` steps
is the QCFS activation of L levels (docs/quantization.md, "QCFS"). With ``reset=subtract`` the residue above theta is kept; ``init_half`` starts V
at ``theta >> 1`` (Bu et al. 2022), which halves the rounding bias of rate coding.

A spike now carries ``lambda`` instead of ``unit_out``, so each group that accumulates it has its
unit multiplied by ``lambda / unit_out = hi`` and its bias table rescaled to the new unit:
``b' = floor(b * old_unit / new_unit + 1/2)``. The output group keeps integrating over T steps, so
its float value is ``V * unit / T`` as docs/isa.md says. Equations: docs/quantization.md, "Rate mode".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, SymbolRefAttr, f64
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.traits import SymbolTable

from spikeir.chip.isa import INT32_MAX, INT32_MIN
from spikeir.dialects import spikecore
from spikeir.ir.arrays import dense_attr, to_numpy
from spikeir.ir.emit import launched_programs
from spikeir.options import Reset, check_option_types
from spikeir.passes.diagnostics import PassError

RESETS: tuple[Reset, ...] = ("subtract", "zero")
_ACCS = (spikecore.AccOp, spikecore.AccConvOp)
"""The ops that accumulate a spike stream into a group through a synapse table."""
_PASSIVE = (spikecore.FireOp, spikecore.LeakOp, spikecore.ProbeOp, spikecore.OutputOp)
"""Uses of a group that add nothing to its V."""


THRESHOLDS_ATTR = "spikecore.thresholds"
"""Module attribute: ``{layer name: lambda}``, the activation value one spike of that layer stands for,
fixed by the model (a QCFS activation's lambda) instead of by calibration; `spikeir.compile` sets it."""


def spike_thresholds(lam: float, units_v: np.ndarray) -> np.ndarray:
    """``theta_n = max(1, floor(lambda / unit_V[n] + 1/2))`` as int64."""
    return np.maximum(1, np.floor(lam / units_v + 0.5)).astype(np.int64)


def thresholds(hi: int, unit_out: float, units_v: np.ndarray) -> np.ndarray:
    """The thresholds of a calibrated layer, whose lambda is the top of its requantization range."""
    return spike_thresholds(hi * unit_out, units_v)


def model_lambdas(module: ModuleOp) -> dict[str, float]:
    """The module's `THRESHOLDS_ATTR`, checked: layer names to positive finite lambdas."""
    attr = module.attributes.get(THRESHOLDS_ATTR)
    if attr is None:
        return {}
    if not isinstance(attr, DictionaryAttr):
        raise PassError(f"{THRESHOLDS_ATTR} must be a dictionary of layer name to lambda, got {attr}", "builtin.module")
    lambdas: dict[str, float] = {}
    for layer, value in attr.data.items():
        if not isinstance(value, FloatAttr | IntegerAttr) or not 0 < float(value.value.data) < float("inf"):
            raise PassError(f'{THRESHOLDS_ATTR}: lambda of layer "{layer}" must be a positive number, got {value}')
        lambdas[layer] = float(value.value.data)
    return lambdas


def _round_half_up(values: np.ndarray) -> np.ndarray:
    return np.floor(values + 0.5).astype(np.int64)


@dataclass
class ConvertProgram(RewritePattern):
    """Convert one program's graded FIREs, in program order, rescaling the groups downstream."""

    leak_shift: int
    init_half: bool
    reset: spikecore.ResetMode
    lambdas: dict[str, float]
    """Layer name -> lambda fixed by the model (`THRESHOLDS_ATTR`); other layers take their calibrated one."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: spikecore.ProgramOp, rewriter: PatternRewriter) -> None:
        gain: dict[spikecore.FireOp, float] = {}  # binary FIRE made here -> new unit / old unit of its spikes
        for inner in list(op.body.ops):
            if isinstance(inner, spikecore.GroupOp):
                self._rescale_group(op, inner, gain, rewriter)
            elif isinstance(inner, spikecore.FireOp) and inner.mode.data == spikecore.FireMode.GRADED:
                self._convert_fire(op, inner, gain, rewriter)

    @staticmethod
    def _fail(program: spikecore.ProgramOp, group: spikecore.GroupOp, message: str) -> PassError:
        return PassError(f'layer "{group.layer.data}": {message}', f"@{program.sym_name.data}")

    def _rescale_group(
        self,
        program: spikecore.ProgramOp,
        group: spikecore.GroupOp,
        gain: dict[spikecore.FireOp, float],
        rewriter: PatternRewriter,
    ) -> None:
        factors: set[float] = set()
        for use in group.result.uses:
            if isinstance(use.operation, _ACCS):
                source = use.operation.spikes.owner
                factors.add(gain.get(source, 1.0) if isinstance(source, spikecore.FireOp) else 1.0)
        if factors == {1.0} or not factors:
            return
        if len(factors) > 1:
            raise self._fail(program, group, "accumulates spike streams of different units; cannot rescale it")
        factor = factors.pop()
        old_units = np.asarray(group.units)
        new_units = old_units * factor
        group.unit = ArrayAttr([FloatAttr(float(u), f64) for u in new_units])
        for use in list(group.result.uses):
            if isinstance(use.operation, spikecore.AccBiasOp):
                table = SymbolTable.lookup_symbol(program, use.operation.params)
                assert isinstance(table, spikecore.ParamsOp)
                bias = _round_half_up(to_numpy(table.dense) * (old_units / new_units))
                if bias.min(initial=0) < INT32_MIN or bias.max(initial=0) > INT32_MAX:
                    raise self._fail(program, group, "its rescaled bias does not fit int32")
                table.value = dense_attr(bias.astype(np.int32))
                rewriter.notify_op_modified(table)
        rewriter.notify_op_modified(group)

    def _convert_fire(
        self,
        program: spikecore.ProgramOp,
        fire: spikecore.FireOp,
        gain: dict[spikecore.FireOp, float],
        rewriter: PatternRewriter,
    ) -> None:
        group = fire.group.owner
        assert isinstance(group, spikecore.GroupOp) and fire.lo is not None and fire.hi is not None
        lo, hi = fire.lo.value.data, fire.hi.value.data
        if lo != 0 and not _never_negative(program, group, gain):
            raise self._fail(
                program,
                group,
                f"rate mode needs ReLU layers (graded clamp [0, hi]), got clamp [{lo}, {hi}]: binary spikes cannot "
                "carry negative values; compile this network in graded mode",
            )
        if hi < 1:
            raise self._fail(
                program, group, f"rate mode needs a clamp top of at least 1 to set a threshold, got clamp [{lo}, {hi}]"
            )
        unit_out = fire.unit.value.data
        units_v = np.broadcast_to(np.asarray(group.units), (group.size,))
        lam = self.lambdas.get(group.layer.data, hi * unit_out)
        theta = spike_thresholds(lam, units_v)
        if theta.max() > INT32_MAX:
            raise self._fail(program, group, f"its spike threshold {int(theta.max())} does not fit int32")

        multipliers = SymbolTable.lookup_symbol(program, fire.params)
        assert isinstance(multipliers, spikecore.ParamsOp)
        name = self._threshold_name(program, multipliers.sym_name.data)
        rewriter.insert(spikecore.ParamsOp(name, dense_attr(theta.astype(np.int32))), InsertPoint.before(multipliers))
        binary = spikecore.FireOp.binary(group, name, self.reset, self.init_half, lam)
        new_ops: list[Operation] = [binary]
        if self.leak_shift:
            new_ops.insert(0, spikecore.LeakOp(group, self.leak_shift))
        for new_op in new_ops:
            new_op.location = fire.location
        rewriter.replace(fire, new_ops, [binary.result])
        gain[binary] = lam / unit_out
        if not _referenced(program, multipliers.sym_name.data):
            rewriter.erase(multipliers)

    @staticmethod
    def _threshold_name(program: spikecore.ProgramOp, multiplier: str) -> str:
        base = f"t{multiplier[1:]}" if multiplier.startswith("m") else f"{multiplier}_theta"
        name, index = base, 0
        while SymbolTable.lookup_symbol(program, name) is not None:
            index += 1
            name = f"{base}_{index}"
        return name


def _table_min(program: spikecore.ProgramOp, symbol: SymbolRefAttr) -> int:
    table = SymbolTable.lookup_symbol(program, symbol)
    assert isinstance(table, spikecore.SynapsesOp | spikecore.ParamsOp)
    return int(to_numpy(table.dense).min(initial=0))


def _never_negative(
    program: spikecore.ProgramOp, group: spikecore.GroupOp, gain: dict[spikecore.FireOp, float]
) -> bool:
    """Whether V of ``group`` can never go below zero, so that a clamp below zero (an average pool after a ReLU
    layer, lowered without a ReLU) never acts: it accumulates only binary spikes made by this pass, through
    non-negative synapses, and non-negative biases."""
    for use in group.result.uses:
        op = use.operation
        if isinstance(op, _ACCS):
            if op.spikes.owner not in gain or _table_min(program, op.synapses) < 0:
                return False
        elif isinstance(op, spikecore.AccBiasOp):
            if _table_min(program, op.params) < 0:
                return False
        elif not isinstance(op, _PASSIVE):
            return False
    return True


def _referenced(program: spikecore.ProgramOp, symbol: str) -> bool:
    return any(
        isinstance(ref := op.properties.get(prop), SymbolRefAttr) and ref.root_reference.data == symbol
        for op in program.body.ops
        for prop in ("params", "synapses")
    )


def _check_one_spiking_region(module: ModuleOp) -> None:
    """Refuse rate mode for a model whose host ops split its layers into several launched programs:
    each region's last layer is an accumulator read by the host, so the activation after it (a ReLU
    before a max pooling, say) would run on the host in float, not as spikes, and the network would
    silently not be an SNN. (Programs that no function launches are independent: each is converted.)"""
    launched = launched_programs(module)
    if len(launched) > 1:
        raise PassError(
            f"rate mode needs a model's SpikeCore layers in one region, but host ops (a max pooling, a softmax, "
            f"...) split them into {len(launched)} launched programs ({', '.join(f'@{name}' for name in launched)}): "
            "the activation after each region would run on the host, not as spikes; use average pooling (folded "
            "into the next layer) or graded mode",
            f"@{launched[1]}",
        )


@dataclass(frozen=True)
class ConvertToSnnPass(ModulePass):
    """Graded FIREs -> binary (rate-coded) FIREs with per-neuron thresholds; see the module docstring."""

    name = "convert-to-snn"

    leak_shift: int = 0
    """0: no leak; k in 1..31: a LEAK ``V -= V >> k`` before each FIRE."""
    init_half: bool = True
    """Start V at ``theta >> 1`` (halves the rounding bias of rate coding)."""
    reset: Reset = "subtract"
    """After a spike: ``subtract`` keeps the residue above theta, ``zero`` drops it."""

    def __post_init__(self) -> None:
        check_option_types(self)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not 0 <= self.leak_shift <= 31:
            raise PassError(f"leak-shift must be 0 (no leak) or in 1..31, got {self.leak_shift}", self.name)
        if self.reset not in RESETS:  # only reachable from Python: the option parser checks it
            raise PassError(f"reset must be {' or '.join(RESETS)}, got '{self.reset}'", self.name)
        lambdas = model_lambdas(op)
        layers = {group.layer.data for group in op.walk() if isinstance(group, spikecore.GroupOp)}
        unknown = sorted(set(lambdas) - layers)
        if unknown:
            raise PassError(f'{THRESHOLDS_ATTR} names layer "{unknown[0]}", which no SpikeCore group holds', self.name)
        _check_one_spiking_region(op)
        fired = {
            fire.group.owner.layer.data
            for fire in op.walk()
            if isinstance(fire, spikecore.FireOp) and isinstance(fire.group.owner, spikecore.GroupOp)
        }
        unfired = sorted(set(lambdas) - fired)
        if unfired:
            raise PassError(
                f'{THRESHOLDS_ATTR} names layer "{unfired[0]}", whose activation runs on the host (its group is a '
                "region's output accumulator, with no FIRE), so its QCFS clip cannot act: compile the layers up to "
                "the model's output into one region, or use graded mode",
                self.name,
            )
        converter = ConvertProgram(self.leak_shift, self.init_half, spikecore.ResetMode(self.reset), lambdas)
        PatternRewriteWalker(converter, apply_recursively=False).rewrite_module(op)
