"""partition-for-spikecore: outline the parts of the graph SpikeCore runs, as TVM's BYOC does.

SpikeCore computes fully connected layers and nothing else, so the offloadable unit is a maximal
chain of `nn.fused_dense` ops (each consuming the previous one's only use). Each chain becomes a
private function marked ``codegen = "spikecore"`` that later passes quantize and lower; the host
calls it. Everything left on the host is labelled with ``host_reason`` and reported as a remark
(spikeir.passes.diagnostics: shown where the application enables remarks, as spike-opt does), so a
user sees why an op was not offloaded instead of guessing (docs/pipeline.md, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.traits import ConstantLike, SymbolTable
from xdsl.utils.hints import isa

from spikeir.dialects import nn
from spikeir.passes.diagnostics import remark

CODEGEN = "spikecore"
"""Value of the ``codegen`` attribute that marks a function for the SpikeCore lowering."""

_HOST_REASONS: dict[str, str] = {
    nn.SoftmaxOp.name: "needs exp and a division, which SpikeCore does not have",
    nn.ReshapeOp.name: "layout only, no arithmetic",
    nn.BatchFlattenOp.name: "layout only, no arithmetic",
    nn.DenseOp.name: "not fused into nn.fused_dense (run nn-fuse-dense first; an intermediate result with other uses prevents fusion)",
    nn.BiasAddOp.name: "not fused into nn.fused_dense (run nn-fuse-dense first; an intermediate result with other uses prevents fusion)",
    nn.ReluOp.name: "a ReLU outside a fused layer: SpikeCore applies ReLU only as part of a layer's FIRE",
}
_RELU_AFTER_REGION = "a region's output is its last layer's accumulator, before the ReLU"
_NOT_CONSTANT = "its weights are not constants: bind the parameters before compiling"


def is_codegen_func(op: Operation | None) -> TypeGuard[func.FuncOp]:
    """Whether ``op`` is a function already outlined for SpikeCore."""
    return (
        isinstance(op, func.FuncOp)
        and isinstance(codegen := op.attributes.get("codegen"), StringAttr)
        and codegen.data == CODEGEN
    )


def _offloadable(op: Operation) -> bool:
    """A fused layer can go to the chip when its weights (and bias) are constants to bake in."""
    if not isinstance(op, nn.FusedDenseOp):
        return False
    params = [op.weight] + ([op.bias] if op.bias is not None else [])
    return all(isinstance(p.owner, Operation) and p.owner.has_trait(ConstantLike) for p in params)


def _links(producer: Operation | Block, consumer: nn.FusedDenseOp) -> bool:
    """Whether ``consumer`` continues a chain ending at ``producer``: both are offloadable layers of
    one block and ``consumer``'s input is the producer's result, used nowhere else."""
    return (
        isinstance(producer, nn.FusedDenseOp)
        and _offloadable(producer)
        and _offloadable(consumer)
        and producer.result.has_one_use()
        and consumer.input == producer.result
        and producer.parent is consumer.parent
    )


def _chain_from(head: nn.FusedDenseOp) -> list[nn.FusedDenseOp]:
    """The longest chain starting at ``head``: each next layer is the only use of the previous one."""
    chain = [head]
    while (use := chain[-1].result.get_unique_use()) is not None:
        user = use.operation
        if not (isinstance(user, nn.FusedDenseOp) and _links(chain[-1], user)):
            break
        chain.append(user)
    return chain


@dataclass
class OutlineChain(RewritePattern):
    """Move one maximal chain of fused layers, with the constants it uses, into a new private
    function and call it.

    When the chain's last layer has a ReLU, the region computes that layer without it and a host
    `nn.relu` follows the call: the region's output is the raw int32 accumulator (docs/pipeline.md,
    section 4), and ReLU commutes with the positive dequantization scale, so nothing changes.
    """

    module: ModuleOp

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.FusedDenseOp, rewriter: PatternRewriter) -> None:
        host_func = op.parent_op()
        if is_codegen_func(host_func) or not _offloadable(op) or _links(op.input.owner, op):
            return
        chain = _chain_from(op)
        last = chain[-1]
        in_type, out_type = op.input.type, last.result.type
        assert isa(in_type, TensorType[Attribute]) and isa(out_type, TensorType[Attribute])

        block = Block(arg_types=[in_type])
        mapping: dict[SSAValue, SSAValue] = {op.input: block.args[0]}
        constants: list[Operation] = []
        for layer in chain:
            for param in layer.operands[1:]:
                if param not in mapping:
                    producer = param.owner
                    assert isinstance(producer, Operation)
                    clone = producer.clone()
                    block.add_op(clone)
                    mapping[param] = clone.results[0]
                    constants.append(producer)
        for index, layer in enumerate(chain):
            last_relu = index == len(chain) - 1 and layer.activation.data == nn.Activation.RELU
            bias = mapping[layer.bias] if layer.bias is not None else None
            new = nn.FusedDenseOp(
                mapping[layer.input],
                mapping[layer.weight],
                bias,
                layer.result.type,
                activation=nn.Activation.NONE if last_relu else layer.activation.data,
                layer=None if layer.layer is None else layer.layer.data,
            )
            new.location = layer.location
            block.add_op(new)
            mapping[layer.result] = new.result
        block.add_op(func.ReturnOp(mapping[last.result]))

        name = self._fresh_name()
        region_func = func.FuncOp(name, ([in_type], [out_type]), Region(block), visibility="private")
        region_func.attributes["codegen"] = StringAttr(CODEGEN)
        region_func.location = op.location  # where the region's first layer was written
        assert isinstance(host_func, func.FuncOp)
        rewriter.insert(region_func, InsertPoint.before(host_func))

        call = func.CallOp(name, [op.input], [out_type])
        call.location = op.location
        new_ops: list[Operation] = [call]
        result: SSAValue = call.res[0]
        if last.activation.data == nn.Activation.RELU:
            relu = nn.ReluOp(result)
            relu.location = last.location
            relu.attributes["host_reason"] = StringAttr(_RELU_AFTER_REGION)
            new_ops.append(relu)
            result = relu.result
        rewriter.insert(new_ops, InsertPoint.before(last))
        rewriter.replace_all_uses_with(last.result, result)
        for layer in reversed(chain):
            rewriter.erase(layer)
        for constant in constants:
            if not constant.results[0].uses:
                rewriter.erase(constant)

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
    if isinstance(op, nn.FusedDenseOp):
        return _NOT_CONSTANT
    if op.name in _HOST_REASONS:
        return _HOST_REASONS[op.name]
    return f"unsupported op: SpikeCore runs only fully connected layers (nn.fused_dense), not {op.name}"


def describe_op(op: Operation) -> str:
    """``nn.fused_dense "layers.0"``: the op's name, with its source layer when it records one."""
    layer = op.properties.get("layer")
    return f'{op.name} "{layer.data}"' if isinstance(layer, StringAttr) else op.name


@dataclass(frozen=True)
class PartitionForSpikeCorePass(ModulePass):
    """Outline maximal `nn.fused_dense` chains into ``codegen = "spikecore"`` functions; label and
    report every op that stays on the host as a remark."""

    name = "partition-for-spikecore"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(OutlineChain(op), apply_recursively=False).rewrite_module(op)
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
