"""partition-for-spikecore: outline the parts of the graph SpikeCore runs, as TVM's BYOC does.

SpikeCore computes layers (`nn.fused_dense`, `nn.fused_conv2d` with constant weights), average and
sum pooling, and adds of two values it computes (skip connections); a flatten between them is free
(a map is laid out C-major on the bus, as flattened), and a ReLU after an add is that add's FIRE.
A region is a connected set of such ops with **one input** (the value it reads from the host) and
**one output** (a value only the host reads, the accumulator of its last layer, pooling or add).
Regions are grown in program order from each offloadable op: an op joins when every value it reads
is the region's input or computed inside it; then ops are dropped from the end until the region has
one output that nothing inside reads (a value also read by the host ends the region there, as it
must be materialised). So an MLP gives its chain of fused layers, and a ResNet basic block (its
input read by the first conv and by the add) is one region.

Each region becomes a private function marked ``codegen = "spikecore"`` that later passes quantize
and lower; the host calls it. Everything left on the host is labelled with ``host_reason`` and
reported as a remark (spikeir.passes.diagnostics: shown where the application enables remarks, as
spike-opt does), so a user sees why an op was not offloaded instead of guessing (docs/pipeline.md,
section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import ConstantLike, SymbolTable
from xdsl.utils.hints import isa

from spikeir.dialects import nn
from spikeir.passes.diagnostics import nothing_to_do, remark

CODEGEN = "spikecore"
"""Value of the ``codegen`` attribute that marks a function for the SpikeCore lowering."""

_NOT_FUSED = "not fused into {} (run {} first; an intermediate result with other uses prevents fusion)"
_HOST_REASONS: dict[str, str] = {
    nn.SoftmaxOp.name: "needs exp and a division, which SpikeCore does not have",
    nn.ReshapeOp.name: "layout only, no arithmetic",
    nn.BatchFlattenOp.name: "layout only, no arithmetic",
    nn.DenseOp.name: _NOT_FUSED.format("nn.fused_dense", "nn-fuse-dense"),
    nn.BiasAddOp.name: _NOT_FUSED.format("nn.fused_dense or nn.fused_conv2d", "nn-fuse-dense and nn-fuse-conv2d"),
    nn.Conv2dOp.name: _NOT_FUSED.format("nn.fused_conv2d", "nn-fuse-conv2d"),
    nn.ReluOp.name: "a ReLU outside a fused layer: SpikeCore applies ReLU only as part of a layer's (or an add's) FIRE",
    nn.BatchNormOp.name: "not folded into the conv/dense layer before it (run nn-fold-batch-norm; a batch norm "
    "after a ReLU, or of a layer with non-constant weights, cannot be folded)",
    nn.ConcatOp.name: "a concatenation runs on the host (a SpikeCore region has one input and one output)",
    nn.AddOp.name: "an add of two values that are not both computed in one SpikeCore region (or its input)",
    nn.Pool2dOp.name: "a pooling without a SpikeCore layer before it in the region",
}
_MAX_POOL = (
    "SpikeCore has no maximum (it accumulates sums): max pooling runs on the host, splitting the network; "
    "use average or sum pooling (nn.pool2d avg/sum) to keep it on the chip"
)
_RELU_AFTER_REGION = "a region's output is its last layer's accumulator, before the ReLU"
_NOT_CONSTANT = "its weights are not constants: bind the parameters before compiling"

_Layer = nn.FusedDenseOp | nn.FusedConv2dOp
_Accumulating = (nn.FusedDenseOp, nn.FusedConv2dOp, nn.Pool2dOp, nn.AddOp)
"""Ops whose result is an accumulator: the only ones that can be a region's output."""


def in_module(op: Operation, module: ModuleOp) -> bool:
    """Whether ``op`` is, or lies in, a function directly in ``module``: the functions a pass applied to
    ``module`` compiles (a nested builtin.module's are left alone, and `nothing_to_do` says so)."""
    function = op if isinstance(op, func.FuncOp) else op.parent_op()
    while function is not None and not isinstance(function, func.FuncOp):
        function = function.parent_op()
    return function is not None and function.parent_op() is module


def is_codegen_func(op: Operation | None) -> TypeGuard[func.FuncOp]:
    """Whether ``op`` is a function already outlined for SpikeCore."""
    return (
        isinstance(op, func.FuncOp)
        and isinstance(codegen := op.attributes.get("codegen"), StringAttr)
        and codegen.data == CODEGEN
    )


def _is_constant(value: SSAValue) -> bool:
    return isinstance(value.owner, Operation) and value.owner.has_trait(ConstantLike)


def _offloadable(op: Operation) -> bool:
    """Whether ``op`` can be part of a region: a fused layer with constant weights (and bias), an
    average or sum pooling, an add, a ReLU of an add, or a shape change that keeps the batch axis."""
    if isinstance(op, _Layer):
        return all(_is_constant(p) for p in op.operands[1:])
    if isinstance(op, nn.Pool2dOp):
        return op.kind.data != nn.PoolKind.MAX
    if isinstance(op, nn.BatchFlattenOp | nn.ReshapeOp):
        in_type, out_type = op.input.type, op.result.type
        assert isinstance(in_type, TensorType) and isinstance(out_type, TensorType)
        return bool(in_type.get_shape()) and in_type.get_shape()[:1] == out_type.get_shape()[:1]
    return isinstance(op, nn.AddOp | nn.ReluOp)


def _data_inputs(op: Operation) -> set[SSAValue]:
    """The values ``op`` computes from (its operands that are not constants)."""
    return {v for v in op.operands if not _is_constant(v)}


def _can_seed(op: Operation) -> bool:
    """A region starts at a layer, a pooling or an add, reading one host value."""
    return isinstance(op, _Accumulating) and len(_data_inputs(op)) == 1


def _grow(seed: Operation, candidates: list[Operation], taken: set[Operation]) -> list[Operation]:
    """Every candidate after ``seed`` that reads only the seed's input and values computed from it."""
    (source,) = _data_inputs(seed)
    region = [seed]
    produced: set[SSAValue] = set(seed.results)
    for op in candidates[candidates.index(seed) + 1 :]:
        inputs = _data_inputs(op)
        if op in taken or not inputs or not inputs <= produced | {source} or not inputs & produced:
            continue
        if isinstance(op, nn.ReluOp) and not isinstance(op.input.owner, nn.AddOp):
            continue
        region.append(op)
        produced.update(op.results)
    return region


def _outputs(region: list[Operation]) -> list[SSAValue]:
    members = set(region)
    return [v for op in region for v in op.results if any(u.operation not in members for u in v.uses)]


def _problem(region: list[Operation]) -> bool:
    """Whether ``region`` breaks a rule: one output, read only by the host, produced by an
    accumulating op; no dead values."""
    members = set(region)
    if any(not r.uses for op in region for r in op.results):
        return True
    outputs = _outputs(region)
    if len(outputs) != 1:
        return True
    (output,) = outputs
    return not isinstance(output.owner, _Accumulating) or any(u.operation in members for u in output.uses)


def _trim(region: list[Operation]) -> list[Operation]:
    """Drop ops from the end until the region is valid (possibly nothing is left)."""
    while region and _problem(region):
        region = region[:-1]
    return region


def form_regions(block: Block) -> list[list[Operation]]:
    """The regions of one block, each in program order, in the order of their first op."""
    candidates = [op for op in block.ops if _offloadable(op)]
    taken: set[Operation] = set()
    regions: list[list[Operation]] = []
    for seed in candidates:
        if seed in taken or not _can_seed(seed):
            continue
        region = _trim(_grow(seed, candidates, taken))
        if region:
            regions.append(region)
            taken.update(region)
    return regions


@dataclass
class _Outliner:
    """Moves one region, with the constants it uses, into a new private function and calls it.

    When the region's output layer has a ReLU, the region computes it without and a host `nn.relu`
    follows the call: the region's output is the raw int32 accumulator (docs/pipeline.md, section 4),
    and ReLU commutes with the positive dequantization scale, so nothing changes.
    """

    module: ModuleOp

    def outline(self, region: list[Operation]) -> None:
        (source,) = _data_inputs(region[0])
        (output,) = _outputs(region)
        last = output.owner
        assert isinstance(last, Operation)
        in_type, out_type = source.type, output.type
        assert isa(in_type, TensorType[Attribute]) and isa(out_type, TensorType[Attribute])

        block = Block(arg_types=[in_type])
        mapping: dict[SSAValue, SSAValue] = {source: block.args[0]}
        constants: list[Operation] = []
        for op in region:
            for operand in op.operands:
                if operand not in mapping and _is_constant(operand):
                    producer = operand.owner
                    assert isinstance(producer, Operation)
                    block.add_op(producer.clone(mapping))
                    constants.append(producer)
        relu_after = isinstance(last, _Layer) and last.activation.data == nn.Activation.RELU
        for op in region:
            clone = op.clone(mapping)
            if op is last and relu_after:
                clone.properties["activation"] = nn.ActivationAttr(nn.Activation.NONE)
            block.add_op(clone)
        block.add_op(func.ReturnOp(mapping[output]))

        host_func = region[0].parent_op()
        assert isinstance(host_func, func.FuncOp)
        name = self._fresh_name()
        region_func = func.FuncOp(name, ([in_type], [out_type]), Region(block), visibility="private")
        region_func.attributes["codegen"] = StringAttr(CODEGEN)
        region_func.location = region[0].location  # where the region's first layer was written
        Rewriter.insert_op(region_func, InsertPoint.before(host_func))

        call = func.CallOp(name, [source], [out_type])
        call.location = region[0].location
        new_ops: list[Operation] = [call]
        result: SSAValue = call.res[0]
        if relu_after:
            relu = nn.ReluOp(result)
            relu.location = last.location
            relu.attributes["host_reason"] = StringAttr(_RELU_AFTER_REGION)
            new_ops.append(relu)
            result = relu.result
        Rewriter.insert_op(new_ops, InsertPoint.before(last))
        output.replace_all_uses_with(result)
        for op in reversed(region):
            Rewriter.erase_op(op)
        for constant in constants:
            if not constant.results[0].uses:
                Rewriter.erase_op(constant)

    def _fresh_name(self) -> str:
        index = 0
        while SymbolTable.lookup_symbol(self.module, f"spikecore_{index}") is not None:
            index += 1
        return f"spikecore_{index}"


def host_reason(op: Operation) -> str | None:
    """Why ``op`` stays on the host, or None for ops that need no explanation (constants, calls of
    SpikeCore regions, returns)."""
    if op.has_trait(ConstantLike) or isinstance(op, func.ReturnOp):
        return None
    if isinstance(op, func.CallOp):
        callee = SymbolTable.lookup_symbol(op, op.callee)
        return None if is_codegen_func(callee) else "a call of a host function"
    parent = op.parent_op()
    if isinstance(op, _Accumulating) and parent is not None and not isinstance(parent, func.FuncOp):
        return f"it is nested in {parent.name}: only ops directly in a function's body are offloaded"
    if isinstance(op, _Layer):
        return _NOT_CONSTANT if not _offloadable(op) else "the region it would join has other outputs"
    if isinstance(op, nn.Pool2dOp) and op.kind.data == nn.PoolKind.MAX:
        return _MAX_POOL
    if op.name in _HOST_REASONS:
        return _HOST_REASONS[op.name]
    return f"unsupported op: SpikeCore runs fused dense and conv layers, average/sum pooling and adds, not {op.name}"


def describe_op(op: Operation) -> str:
    """``nn.fused_dense "layers.0"``: the op's name, with its source layer when it records one."""
    layer = op.properties.get("layer")
    return f'{op.name} "{layer.data}"' if isinstance(layer, StringAttr) else op.name


@dataclass(frozen=True)
class PartitionForSpikeCorePass(ModulePass):
    """Outline the SpikeCore regions into ``codegen = "spikecore"`` functions; label and report every
    op that stays on the host as a remark."""

    name = "partition-for-spikecore"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        outliner = _Outliner(op)
        functions = [f for f in op.ops if isinstance(f, func.FuncOp) and not is_codegen_func(f)]
        if not functions:
            nothing_to_do(self.name, op, "nothing to partition: the module has no host function")
        for function in functions:
            for block in function.body.blocks:
                for region in form_regions(block):
                    outliner.outline(region)
        annotate_host_ops(op)


def annotate_host_ops(module: ModuleOp, remarks: bool = True) -> None:
    """Set ``host_reason`` on every op of the host functions that needs one and, unless ``remarks``
    is false, emit a remark for it (spikeir.passes.diagnostics.remark)."""
    for function in module.ops:
        if not isinstance(function, func.FuncOp) or is_codegen_func(function):
            continue
        for op in function.walk():
            if op is function:
                continue
            existing = op.attributes.get("host_reason")
            reason = existing.data if isinstance(existing, StringAttr) else host_reason(op)
            if reason is None:
                continue
            op.attributes["host_reason"] = StringAttr(reason)
            if remarks:
                remark(f"{describe_op(op)} stays on the host: {reason}", op)
