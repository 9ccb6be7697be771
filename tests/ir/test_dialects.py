"""The dialects' Python API: building ops, what the verifiers accept and the messages they give."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import test as xdsl_test
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import Block, Region
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from spikeir.chip.target import get_target
from spikeir.dialects import nn, quant, spikecore, spikeir_context
from spikeir.ir.arrays import dense_attr


def _values(*types: TensorType) -> list[xdsl_test.TestOp]:
    return [xdsl_test.TestOp(result_types=[t]) for t in types]


def _tensor(*shape: int) -> TensorType:
    return TensorType(f32, shape)


def _ctx() -> Context:
    ctx = spikeir_context()
    ctx.load_dialect(xdsl_test.Test)
    return ctx


def _round_trip(module: ModuleOp) -> str:
    text = StringIO()
    Printer(stream=text).print_op(module)
    again = StringIO()
    Printer(stream=again).print_op(Parser(_ctx(), text.getvalue()).parse_module())
    assert again.getvalue() == text.getvalue()
    return text.getvalue()


def test_nn_layer_builds_verifies_and_round_trips() -> None:
    x, w, b = _values(_tensor(1, 4), _tensor(3, 4), _tensor(3))
    dense = nn.DenseOp(x, w, _tensor(1, 3), layer="fc")
    bias = nn.BiasAddOp(dense, b)
    relu = nn.ReluOp(bias)
    fused = nn.FusedDenseOp(x, w, b, _tensor(1, 3), activation="relu", layer="fc")
    flat = nn.BatchFlattenOp(fused, _tensor(1, 3))
    soft = nn.SoftmaxOp(relu, axis=-1)
    module = ModuleOp([x, w, b, dense, bias, relu, fused, flat, soft])
    module.verify()
    text = _round_trip(module)
    assert "nn.fused_dense %0, %1, %2 activation relu layer " in text
    assert fused.activation == nn.ActivationAttr(nn.Activation.RELU) and fused.activation.data == "relu"


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 4), k=st.integers(1, 6), k_w=st.integers(1, 6), n=st.integers(1, 6))
def test_dense_verifies_exactly_when_features_match(batch: int, k: int, k_w: int, n: int) -> None:
    x, w = _values(_tensor(batch, k), _tensor(n, k_w))
    op = nn.DenseOp(x, w, _tensor(batch, n))
    if k == k_w:
        op.verify()
    else:
        with pytest.raises(VerifyException, match=f"input has {k} features but the weight expects {k_w}"):
            op.verify()


def test_nn_verifier_messages() -> None:
    x, w, b = _values(_tensor(1, 4), _tensor(3, 4), _tensor(2))
    with pytest.raises(VerifyException, match=r"'nn.fused_dense' bias must have shape \[3\], got \[2\]"):
        nn.FusedDenseOp(x, w, b, _tensor(1, 3)).verify()
    with pytest.raises(ValueError, match="'gelu' is not a valid Activation"):
        nn.FusedDenseOp(x, w, None, _tensor(1, 3), activation="gelu")
    with pytest.raises(VerifyException, match="cannot change the element count"):
        nn.ReshapeOp(x, _tensor(5)).verify()
    with pytest.raises(VerifyException, match="axis 3 is out of range for a rank-2 input"):
        nn.SoftmaxOp(x, axis=3).verify()


@settings(max_examples=30, deadline=None)
@given(scales=st.lists(st.floats(1e-12, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=5))
def test_uniform_type_prints_scales_exactly(scales: list[float]) -> None:
    """Scales decide the integer arithmetic downstream: printing and parsing must not round them."""
    typ = quant.uniform_tensor([len(scales), 2], 8, scales, axis=0)
    text = str(typ)
    parsed = Parser(_ctx(), text).parse_type()
    assert parsed == typ and isinstance(parsed, TensorType)
    element = parsed.element_type
    assert isinstance(element, quant.UniformQuantizedType)
    assert element.scale_values == tuple(scales)


def test_quant_layer_and_scale_rules() -> None:
    q = xdsl_test.TestOp(result_types=[quant.uniform_tensor([1, 2], 8, [0.5])])
    w = quant.ConstantOp(dense_attr(np.ones((3, 2), np.int8)), quant.uniform_tensor([3, 2], 8, [0.1, 0.2, 0.4], axis=0))
    b = quant.ConstantOp(dense_attr(np.zeros(3, np.int32)), quant.uniform_tensor([3], 32, [0.05, 0.1, 0.2], axis=0))
    acc_type = quant.uniform_tensor([1, 3], 32, [0.05, 0.1, 0.2], axis=0)
    acc = quant.DenseOp(q, w, b, acc_type, layer="fc")
    req = quant.RequantizeOp(acc, [3, 2, 1], 12, quant.uniform_tensor([1, 3], 8, [0.25]))
    for op in (w, b, acc, req):
        op.verify()
    assert req.multipliers == (3, 2, 1)
    wrong = quant.DenseOp(q, w, b, quant.uniform_tensor([1, 3], 32, [0.05, 0.1, 0.3], axis=0))
    with pytest.raises(VerifyException, match="'quant.dense' result scale must be input scale x weight scale"):
        wrong.verify()
    with pytest.raises(VerifyException, match="scales must be finite and positive"):
        quant.uniform_tensor([2], 8, [0.0])


def _program(placement: list[spikecore.SliceAttr] | None, thresholds: list[int]) -> spikecore.ProgramOp:
    block = Block()
    block.add_ops(
        [
            spikecore.SynapsesOp("w", dense_attr(np.ones((3, 4), np.int8))),
            spikecore.ParamsOp("t", dense_attr(np.array(thresholds, np.int32))),
            inp := spikecore.InputOp(4, 0.5),
            group := spikecore.GroupOp("fc", 3, [0.25], placement),
            spikecore.AccOp(group, inp, "w"),
            spikecore.FireOp.binary(group, "t", "subtract", True, 1.0),
            spikecore.OutputOp(group),
            spikecore.HaltOp(),
        ]
    )
    return spikecore.ProgramOp("net", get_target("spikecore-v1"), Region(block))


def test_spikecore_program_builds_verifies_and_round_trips() -> None:
    program = _program([spikecore.SliceAttr(0, 0, 2), spikecore.SliceAttr(1, 0, 1)], [5, 6, 7])
    module = ModuleOp([program])
    module.verify()
    text = _round_trip(module)
    assert "binary @t reset subtract init_half" in text


def test_spikecore_verifier_messages() -> None:
    with pytest.raises(VerifyException, match="has 3 neurons but its placement covers 2"):
        ModuleOp([_program([spikecore.SliceAttr(0, 0, 2)], [5, 6, 7])]).verify()
    with pytest.raises(VerifyException, match="slice core 500 neurons \\[0:3\\] is outside target"):
        ModuleOp([_program([spikecore.SliceAttr(500, 0, 3)], [5, 6, 7])]).verify()
    with pytest.raises(VerifyException, match="binary thresholds @t must be positive"):
        ModuleOp([_program(None, [5, -1, 7])]).verify()


def test_enum_attributes_print_as_keywords_and_parse_both_spellings() -> None:
    """Activation, FIRE mode and reset are enum attributes: bare keywords in the custom form, the
    opaque ``#dialect<name value>`` in the generic form; the quoted spelling of earlier IR still parses."""
    assert str(nn.ActivationAttr(nn.Activation.RELU)) == "#nn<activation relu>"
    assert str(spikecore.FireModeAttr(spikecore.FireMode.BINARY)) == "#spikecore<fire_mode binary>"
    assert str(spikecore.ResetModeAttr(spikecore.ResetMode.SUBTRACT)) == "#spikecore<reset subtract>"
    for text in ("#spikecore<reset zero>",):
        assert Parser(_ctx(), text).parse_attribute() == spikecore.ResetModeAttr(spikecore.ResetMode.ZERO)
    quoted = Parser(
        _ctx(),
        """func.func @f(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>) -> tensor<1x3xf32> {
      %0 = nn.fused_dense %x, %w activation "relu" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
      func.return %0 : tensor<1x3xf32>
    }""",
    ).parse_module()
    fused = next(op for op in quoted.walk() if isinstance(op, nn.FusedDenseOp))
    assert fused.activation.data is nn.Activation.RELU
    assert nn.ACTIVATIONS == ("none", "relu") and spikecore.FIRE_MODES == ("graded", "binary")
    assert spikecore.RESET_MODES == ("zero", "subtract")


def test_fire_builders_take_the_enum_or_its_name() -> None:
    group = spikecore.GroupOp("fc", 3, [0.25])
    by_name = spikecore.FireOp.binary(group, "t", "zero", False, 1.0)
    by_enum = spikecore.FireOp.binary(group, "t", spikecore.ResetMode.ZERO, False, 1.0)
    assert by_name.reset == by_enum.reset == spikecore.ResetModeAttr(spikecore.ResetMode.ZERO)
    assert by_name.mode.data == spikecore.FireMode.BINARY == "binary"
    graded = spikecore.FireOp.graded(group, "m", 8, 0, 127, 1.0)
    assert graded.mode.data is spikecore.FireMode.GRADED and graded.reset is None
    with pytest.raises(ValueError):
        spikecore.FireOp.binary(group, "t", "hold", False, 1.0)


def test_binary_fire_without_reset_is_rejected() -> None:
    program = _program(None, [5, 6, 7])
    fire = next(op for op in program.walk() if isinstance(op, spikecore.FireOp))
    del fire.properties["reset"]
    with pytest.raises(VerifyException, match="binary needs reset zero or subtract"):
        ModuleOp([program]).verify()


def test_nn_and_quant_ops_carry_their_canonicalization_patterns() -> None:
    from xdsl.traits import HasCanonicalizationPatternsTrait

    from spikeir.dialects.canonicalization import (
        ComposeShapeChanges,
        FoldDequantizeQuantize,
        FoldReluOfRelu,
        RemoveIdentityShapeChange,
    )

    def patterns(op: type) -> set[type]:
        trait = op.get_trait(HasCanonicalizationPatternsTrait)
        assert trait is not None, op
        return {type(p) for p in trait.get_patterns(op)}

    assert patterns(nn.ReshapeOp) == patterns(nn.BatchFlattenOp) == {ComposeShapeChanges, RemoveIdentityShapeChange}
    assert patterns(nn.ReluOp) == {FoldReluOfRelu}
    assert patterns(quant.QuantizeOp) == {FoldDequantizeQuantize}
    assert nn.DenseOp.get_trait(HasCanonicalizationPatternsTrait) is None


def test_canonicalize_folds_a_flatten_chain_and_a_quant_round_trip() -> None:
    from xdsl.transforms.canonicalize import CanonicalizePass

    module = Parser(
        _ctx(),
        """func.func @f(%x: tensor<1x2x2xf32>, %q: tensor<1x4x!quant.uniform<i8:f32, 0.5>>) -> (tensor<1x4xf32>, tensor<1x4x!quant.uniform<i8:f32, 0.5>>) {
      %0 = nn.reshape %x : tensor<1x2x2xf32> -> tensor<1x4x1xf32>
      %1 = nn.batch_flatten %0 : tensor<1x4x1xf32> -> tensor<1x4xf32>
      %f = quant.dequantize %q : tensor<1x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x4xf32>
      %r = quant.quantize %f : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.5>>
      func.return %1, %r : tensor<1x4xf32>, tensor<1x4x!quant.uniform<i8:f32, 0.5>>
    }""",
    ).parse_module()
    CanonicalizePass().apply(_ctx(), module)
    module.verify()
    names = [op.name for op in module.walk()]
    assert names.count("nn.batch_flatten") == 1 and "nn.reshape" not in names
    assert "quant.quantize" not in names and "quant.dequantize" not in names
