"""lower-quant-to-spikecore: quantized region functions become `spikecore.program`s.

Each integer op of a quantized region has one hardware counterpart (docs/pipeline.md, section 5):
the int8 weights become synapse tables, a `quant.dense` becomes a neuron group that accumulates its
input spikes (ACC) and its bias (bias ACC), and `quant.requantize` (+ `quant.relu`) becomes a
graded FIRE whose multiplier, shift and clamp are exactly the requantization's, so graded mode at
T = 1 computes the quantized network bit for bit. The last layer's accumulator is the output. The
host's calls of the region become `spikecore.launch`.

Tables are declared in layer order (``@w<k>`` synapses, ``@b<k>`` biases, ``@m<k>`` multipliers),
so synapse table ids are layer ids once emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.traits import SymbolTable
from xdsl.utils.hints import isa

from spikeir.chip.conv import MAX_ABS_PAYLOAD
from spikeir.chip.isa import ConvGeometry
from spikeir.chip.target import TargetDescription, get_target
from spikeir.dialects import quant, spikecore
from spikeir.ir.arrays import dense_attr, shape_of, to_numpy
from spikeir.numerics.quantization import INT32_MAX
from spikeir.passes.diagnostics import PassError, nothing_to_do, pass_errors
from spikeir.passes.partition_for_spikecore import describe_op, in_module, is_codegen_func


def _features(value: SSAValue) -> int:
    typ = value.type
    assert isinstance(typ, TensorType)
    return int(np.prod(typ.get_shape()[1:]))


def _scales(value: SSAValue) -> tuple[float, ...]:
    return quant.quantized_element(value).scale_values


def _geometry(op: quant.Conv2dOp) -> ConvGeometry:
    """The ISA geometry of a quantized conv (the map of one sample)."""
    (_, c, h, w), (oc, _, kh, kw), (_, _, oh, ow) = (shape_of(v) for v in (op.input, op.weight, op.result))
    p = op.params
    return ConvGeometry(c, h, w, oc, oh, ow, kh, kw, *p.stride, *p.padding, *p.dilation, groups=p.groups)


@dataclass
class _RegionLowering:
    """Translates one quantized region function, op by op, into the body of a program."""

    function: func.FuncOp
    tables: list[Operation] = field(default_factory=list[Operation])
    body: list[Operation] = field(default_factory=list[Operation])
    values: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    """quant value -> spikecore value: spikes for int8 activations, a group for an accumulator."""
    layers: int = 0

    def fail(self, op: Operation, message: str) -> PassError:
        return PassError(f"{describe_op(op)}: {message}", f"@{self.function.sym_name.data}")

    def lower(self) -> list[Operation]:
        for op in self.function.body.block.ops:
            if not self._compute(op):
                self._other(op)
        self.body.append(spikecore.HaltOp())
        return self.tables + self.body

    def _compute(self, op: Operation) -> bool:
        """Lower an op that computes on the chip; False for the others."""
        if isinstance(op, quant.QuantizeOp):
            self._input(op)
        elif isinstance(op, quant.DenseOp):
            self._dense(op)
        elif isinstance(op, quant.Conv2dOp):
            self._conv(op)
        elif isinstance(op, quant.Pool2dOp | quant.AddOp):
            self._sum(op)
        elif isinstance(op, quant.ReshapeOp):
            self.values[op.result] = self._spikes(op, op.input)
        elif isinstance(op, quant.RequantizeOp):
            self._requantize(op)
        else:
            return False
        return True

    def _other(self, op: Operation) -> None:
        """A ReLU (part of a FIRE), the output, constants and the return; anything else is an error."""
        if isinstance(op, quant.ReluOp):
            if not isinstance(op.input.owner, quant.RequantizeOp):
                raise self.fail(op, "SpikeCore applies ReLU only in the FIRE of a requantized layer")
        elif isinstance(op, quant.DequantizeOp):
            group = self.values.get(op.input)
            if not isinstance(group, SSAValue) or not isinstance(group.type, spikecore.GroupType):
                raise self.fail(
                    op, "the region's output must be its last layer's int32 accumulator (never requantized)"
                )
            self.body.append(spikecore.OutputOp(group))
        elif isinstance(op, quant.ConstantOp | func.ReturnOp):
            return
        elif op.dialect_name() == "nn":
            raise self.fail(op, "the region is not quantized: run spikecore-quantize first")
        else:
            raise self.fail(
                op,
                "has no SpikeCore lowering (expected quant.quantize, quant.constant, quant.dense, quant.conv2d, "
                "quant.pool2d, quant.add, quant.reshape, quant.requantize, quant.relu, quant.dequantize)",
            )

    def _input(self, op: quant.QuantizeOp) -> None:
        if op.input not in self.function.body.block.args:
            raise self.fail(op, "only the region's argument can be quantized on the way in")
        if any(isinstance(o.type, spikecore.SpikesType) for o in self.values.values()):
            raise self.fail(op, "a SpikeCore program has one input port")
        port = spikecore.InputOp(_features(op.input), _scales(op.result)[0])
        port.location = op.location
        self.body.append(port)
        self.values[op.result] = port.result

    def _check_headroom(self, op: quant.DenseOp | quant.Conv2dOp, rows: np.ndarray) -> None:
        """Refuse a layer whose synaptic sum could leave int32 before its bias is added.

        The chip adds each ACC's exact sum to the membrane with saturation, and a wide layer is read by
        several ACCs (max_fan_in), so a partial sum that saturates would make the chip disagree with
        `quant.dense`, which saturates once, after the bias. While every neuron's
        ``sum |w| * 128`` (the largest |int8 payload|) fits int32 no partial sum can saturate, and both
        compute ``sat32(x @ w^T + b)``. Only targets with more synaptic memory (or a conv fan-in) than
        spikecore-v1's can hold such a layer; the bound is the graded one, conservative in rate mode,
        where hidden layers receive binary spikes.
        """
        magnitudes = np.abs(rows.astype(np.int64)).sum(axis=1)
        if magnitudes.size == 0:
            return
        row = int(magnitudes.argmax())
        worst = int(magnitudes[row]) * MAX_ABS_PAYLOAD
        if worst > INT32_MAX:
            unit = "output channel" if isinstance(op, quant.Conv2dOp) else "neuron"
            raise self.fail(
                op,
                f"its synaptic sum can leave int32 before the bias is added ({unit} {row}: sum |w| = "
                f"{int(magnitudes[row])} over {rows.shape[1]} inputs, x {MAX_ABS_PAYLOAD} = {worst} > {INT32_MAX}), "
                "where the chip would saturate a partial sum that quant.dense does not; "
                "split the layer's inputs over narrower layers",
            )

    def _constant(self, op: Operation, value: SSAValue, what: str) -> np.ndarray:
        owner = value.owner
        if not isinstance(owner, quant.ConstantOp):
            raise self.fail(op, f"its {what} must be a quant.constant")
        return to_numpy(owner.dense)

    def _dense(self, op: quant.DenseOp) -> None:
        spikes = self.values.get(op.input)
        if spikes is None or not isinstance(spikes.type, spikecore.SpikesType):
            raise self.fail(op, "its input must be the quantized region input or a requantized layer")
        k = self.layers
        self.layers += 1
        weights = self._constant(op, op.weight, "weight")
        bias = self._constant(op, op.bias, "bias")
        self._check_headroom(op, weights)
        layer = op.layer.data if op.layer is not None else f"layer{k}"
        self.tables.append(spikecore.SynapsesOp(f"w{k}", dense_attr(weights.astype(np.int8))))
        self.tables.append(spikecore.ParamsOp(f"b{k}", dense_attr(bias.astype(np.int32))))
        group = spikecore.GroupOp(layer, weights.shape[0], _scales(op.result))
        new_ops = [group, spikecore.AccOp(group, spikes, f"w{k}"), spikecore.AccBiasOp(group, f"b{k}")]
        for new_op in new_ops:
            new_op.location = op.location
        self.body += new_ops
        self.values[op.result] = group.result

    def _spikes(self, op: Operation, value: SSAValue) -> SSAValue:
        spikes = self.values.get(value)
        if spikes is None or not isinstance(spikes.type, spikecore.SpikesType):
            raise self.fail(op, "its input must be the quantized region input or a requantized result")
        return spikes

    def _conv(self, op: quant.Conv2dOp) -> None:
        """A conv layer: one group over the whole output map (C' x H' x W', C-major), a conv ACC with
        the im2col kernel ``[C', C/groups * kh * kw]`` and a bias ACC of each channel's bias per position."""
        spikes = self._spikes(op, op.input)
        k = self.layers
        self.layers += 1
        weights = self._constant(op, op.weight, "weight").astype(np.int8)
        bias = self._constant(op, op.bias, "bias").astype(np.int32)
        geometry = _geometry(op)
        positions = geometry.out_positions
        kernel = weights.reshape(weights.shape[0], -1)
        self._check_headroom(op, kernel)
        self.tables.append(spikecore.SynapsesOp(f"w{k}", dense_attr(kernel)))
        self.tables.append(spikecore.ParamsOp(f"b{k}", dense_attr(np.repeat(bias, positions))))
        layer = op.layer.data if op.layer is not None else f"layer{k}"
        units = _scales(op.result)
        group = spikecore.GroupOp(
            layer, geometry.out_size, units if len(units) == 1 else list(np.repeat(units, positions))
        )
        new_ops = [group, spikecore.AccConvOp(group, spikes, f"w{k}", geometry), spikecore.AccBiasOp(group, f"b{k}")]
        for new_op in new_ops:
            new_op.location = op.location
        self.body += new_ops
        self.values[op.result] = group.result

    def _sum(self, op: quant.Pool2dOp | quant.AddOp) -> None:
        """A pooling or an add: a group whose conv ACCs sum int8 payloads with a depthwise kernel of ones
        (the pooling window; 1x1 per input of an add, so an add costs C kernel bytes, not a diagonal
        matrix); the requantization after it rescales."""
        k = self.layers
        self.layers += 1
        shape = shape_of(op.results[0])
        c, h, w = (shape[1], shape[2], shape[3]) if len(shape) == 4 else (_features(op.results[0]), 1, 1)
        if isinstance(op, quant.Pool2dOp):
            (kh, kw), (sh, sw), (ph, pw) = op.window
            in_shape = shape_of(op.input)
            geometry = ConvGeometry(c, in_shape[2], in_shape[3], c, h, w, kh, kw, sh, sw, ph, pw, groups=c)
            sources = [self._spikes(op, op.input)]
            name = op.layer.data if op.layer is not None else f"pool{k}"
        else:
            geometry = ConvGeometry(c, h, w, c, h, w, 1, 1, groups=c)
            sources = [self._spikes(op, op.lhs), self._spikes(op, op.rhs)]
            name = f"add{k}"
        self.tables.append(spikecore.SynapsesOp(f"w{k}", dense_attr(np.ones((c, geometry.fan_in), np.int8))))
        group = spikecore.GroupOp(name, geometry.out_size, _scales(op.results[0]))
        new_ops: list[Operation] = [group, *(spikecore.AccConvOp(group, s, f"w{k}", geometry) for s in sources)]
        for new_op in new_ops:
            new_op.location = op.location
        self.body += new_ops
        self.values[op.results[0]] = group.result

    def _requantize(self, op: quant.RequantizeOp) -> None:
        group = self.values.get(op.input)
        if group is None or not isinstance(group.type, spikecore.GroupType):
            raise self.fail(op, "its input must be a quant.dense accumulator")
        uses = [use.operation for use in op.result.uses]
        relus = [user for user in uses if isinstance(user, quant.ReluOp)]
        if relus and len(uses) != 1:
            raise self.fail(op, "a requantized result used both with and without ReLU cannot be one FIRE")
        size = group.type.size.data
        multipliers = np.asarray(op.multipliers, np.int64)
        multipliers = np.repeat(multipliers, size // multipliers.size) if multipliers.size > 1 else multipliers
        multipliers = np.broadcast_to(multipliers, (size,))
        k = self.layers - 1
        self.tables.append(spikecore.ParamsOp(f"m{k}", dense_attr(multipliers.astype(np.int32))))
        lo = 0 if relus else -128
        fire = spikecore.FireOp.graded(group, f"m{k}", op.shift.value.data, lo, 127, _scales(op.result)[0])
        fire.location = op.location
        self.body.append(fire)
        self.values[op.result] = fire.result
        for relu in relus:
            self.values[relu.result] = fire.result


@dataclass
class LowerRegion(RewritePattern):
    """A ``codegen = "spikecore"`` function of ``module`` -> a `spikecore.program` of the same symbol name."""

    target: TargetDescription
    module: ModuleOp

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.FuncOp, rewriter: PatternRewriter) -> None:
        if not is_codegen_func(op) or not in_module(op, self.module):
            return
        if len(op.body.block.args) != 1 or len(op.function_type.outputs.data) != 1:
            raise PassError("a SpikeCore region takes one input tensor and returns one", f"@{op.sym_name.data}")
        body = _RegionLowering(op).lower()
        program = spikecore.ProgramOp(op.sym_name.data, self.target, Region(Block(body)))
        program.location = op.location
        rewriter.replace(op, program, [])


@dataclass
class LowerCall(RewritePattern):
    """A host call (in a function of ``module``) of a lowered region -> `spikecore.launch`."""

    module: ModuleOp

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.CallOp, rewriter: PatternRewriter) -> None:
        if not in_module(op, self.module) or not isinstance(
            SymbolTable.lookup_symbol(op, op.callee), spikecore.ProgramOp
        ):
            return
        result_type = op.res[0].type
        assert isa(result_type, TensorType[Attribute])
        launch = spikecore.LaunchOp(op.callee.root_reference.data, op.arguments[0], result_type)
        launch.location = op.location
        for name, attr in op.attributes.items():
            launch.attributes[name] = attr
        rewriter.replace(op, launch)


@dataclass(frozen=True)
class LowerQuantToSpikeCorePass(ModulePass):
    """Lower every quantized SpikeCore region to a program for ``target`` and launch it from the host."""

    name = "lower-quant-to-spikecore"

    target: str = "spikecore-v1"
    """Name of the target description (spikeir.chip.target.TARGETS) the programs are built for."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        with pass_errors(self.name):
            target = get_target(self.target)
        if not any(is_codegen_func(f) for f in op.ops):
            nothing_to_do(self.name, op, 'nothing to lower: the module has no codegen = "spikecore" function')
        PatternRewriteWalker(LowerRegion(target, op), apply_recursively=False).rewrite_module(op)
        PatternRewriteWalker(LowerCall(op), apply_recursively=False).rewrite_module(op)
