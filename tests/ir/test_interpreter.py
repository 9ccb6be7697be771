"""The IR interpreter: every op against torch / hand arithmetic, batching, traces and errors, and its
place in xDSL's interpreter framework (InterpreterFunctions, listeners)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from xdsl.interpreter import Interpreter as XDSLInterpreter
from xdsl.interpreter import OpCounter

from spikeir.dialects import spikeir_context
from spikeir.errors import InterpreterError
from spikeir.ir.interpreter import Interpreter, numpy_functions, run_function, trace_function
from spikeir.tools.diagnostics import parse_module
from support.nn_models import parse, partitioned_mlp, random_mlp

_NN = """
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x3xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf32>
  %b = arith.constant dense<[0.1, -0.2, 0.3]> : tensor<3xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "fc1" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.bias_add %1, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %3 = nn.relu %2 : tensor<1x3xf32>
  %4 = nn.reshape %3 : tensor<1x3xf32> -> tensor<1x3x1xf32>
  %5 = nn.reshape %4 : tensor<1x3x1xf32> -> tensor<1x3xf32>
  %6 = nn.fused_dense %0, %w, %b activation "relu" layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %7 = nn.fused_dense %0, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %8 = nn.softmax %5 axis(-1) : tensor<1x3xf32>
  func.return %8 : tensor<1x3xf32>
}
"""

W = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]], np.float32)
B = np.array([0.1, -0.2, 0.3], np.float32)


def test_nn_ops_match_torch_on_any_batch() -> None:
    module = parse(_NN)
    x = np.random.default_rng(0).normal(size=(9, 1, 2, 2)).astype(np.float32)
    trace = trace_function(module, "main", x)
    values = list(trace.values.values())
    flat = torch.from_numpy(x).flatten(1)
    hidden = torch.relu(torch.nn.functional.linear(flat, torch.from_numpy(W), torch.from_numpy(B)))
    expected_softmax = torch.softmax(hidden, -1).numpy()
    np.testing.assert_allclose(trace.outputs[0], expected_softmax, rtol=1e-6)
    fused_relu, fused_plain = values[-3], values[-2]
    np.testing.assert_allclose(fused_relu, hidden.numpy(), rtol=1e-6)
    np.testing.assert_allclose(fused_plain, (flat @ torch.from_numpy(W).T).numpy(), rtol=1e-6)
    assert values[7].shape == (9, 3, 1)
    assert all(v.dtype == np.float32 for v in values if v.dtype.kind == "f")
    per_sample = np.concatenate([run_function(module, "main", x[i : i + 1])[0] for i in range(9)])
    np.testing.assert_allclose(per_sample, trace.outputs[0], rtol=1e-6)  # BLAS may sum in another order


_QUANT = """
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x3xf32> {
  %q = quant.quantize %x : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 0.04}>>
  %b = quant.constant dense<[10, 20, -30]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32:0, {0.005, 0.01, 0.02}>>
  %acc = quant.dense %q, %w, %b layer "l" : (tensor<1x4x!quant.uniform<i8:f32, 0.5>>, tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 0.04}>>, tensor<3x!quant.uniform<i32:f32:0, {0.005, 0.01, 0.02}>>) -> tensor<1x3x!quant.uniform<i32:f32:1, {0.005, 0.01, 0.02}>>
  %y = quant.requantize %acc multiplier array<i32: 3, 5, 7> shift 2 : tensor<1x3x!quant.uniform<i32:f32:1, {0.005, 0.01, 0.02}>> -> tensor<1x3x!quant.uniform<i8:f32, 0.05>>
  %r = quant.relu %y : tensor<1x3x!quant.uniform<i8:f32, 0.05>>
  %d = quant.dequantize %acc : tensor<1x3x!quant.uniform<i32:f32:1, {0.005, 0.01, 0.02}>> -> tensor<1x3xf32>
  %f = quant.dequantize %r : tensor<1x3x!quant.uniform<i8:f32, 0.05>> -> tensor<1x3xf32>
  func.return %f : tensor<1x3xf32>
}
"""


def test_quant_ops_exact_integer_semantics() -> None:
    x = np.array([[0.25, -0.75, 100.0, 1.0], [0.0, 0.0, 0.0, -100.0]], np.float32)
    trace = trace_function(parse(_QUANT), "main", x)
    _, q, w, b, acc, y, r, d, f = trace.values.values()
    np.testing.assert_array_equal(q, [[0, -2, 127, 2], [0, 0, 0, -128]])  # half to even, clamped
    assert q.dtype == np.int8 and acc.dtype == np.int32
    expected_acc = np.array(
        [[0 - 4 + 381 + 8 + 10, 5 * (0 - 2 + 127 + 2) + 20, 0 + 0 + 127 + 0 - 30], [-512 + 10, -640 + 20, -30]]
    )
    np.testing.assert_array_equal(acc, expected_acc)
    m = np.array([3, 5, 7])
    np.testing.assert_array_equal(y, np.clip((expected_acc * m + 2) >> 2, -128, 127))
    np.testing.assert_array_equal(r, np.maximum(y, 0))
    np.testing.assert_allclose(d, expected_acc * np.array([0.005, 0.01, 0.02]), rtol=1e-6)
    np.testing.assert_allclose(f, r * 0.05, rtol=1e-6)
    assert f.dtype == np.float32 and (w.dtype, b.dtype) == (np.int8, np.int32)


def test_calls_are_traced() -> None:
    module = partitioned_mlp(random_mlp(np.random.default_rng(1), [4, 3, 2]), input_shape=(1, 2, 2), softmax=True)
    x = np.random.default_rng(2).random((5, 2, 2)).astype(np.float32)
    trace = trace_function(module, "main", x)
    ((call, region),) = trace.calls
    assert call.callee.root_reference.data == "spikecore_0" and region.function == "spikecore_0"
    np.testing.assert_array_equal(region.values[next(iter(region.values))], x.reshape(5, 4))
    assert len(region.values) == 7  # argument, 4 constants, 2 layers
    np.testing.assert_array_equal(Interpreter(module).run("main", x)[0], trace.outputs[0])


def test_errors_name_the_place() -> None:
    module = parse(_NN)
    with pytest.raises(InterpreterError, match=r"shape \[2, 4\].*Bx1x2x2") as info:
        run_function(module, "main", np.zeros((2, 4)))
    assert info.value.location == "@main"
    with pytest.raises(InterpreterError, match="takes 1 input"):
        run_function(module, "main")
    with pytest.raises(InterpreterError, match="no function @nope"):
        run_function(module, "nope")
    with pytest.raises(InterpreterError, match="real numeric"):
        run_function(module, "main", np.array([["a"] * 2] * 2).reshape(1, 1, 2, 2))


def test_unsupported_op_and_batch_dropping_reshape() -> None:
    module = parse("""
    func.func @main(%x: tensor<1x2xf32>) -> tensor<2xf32> {
      %0 = nn.reshape %x : tensor<1x2xf32> -> tensor<2xf32>
      %1 = arith.addf %0, %0 : tensor<2xf32>
      func.return %1 : tensor<2xf32>
    }""")
    with pytest.raises(InterpreterError, match="drops the batch axis") as info:
        run_function(module, "main", np.zeros((3, 2)))
    assert info.value.location == "nn.reshape"
    with pytest.raises(InterpreterError, match="cannot evaluate 'arith.addf'") as info:
        run_function(module, "main", np.zeros((1, 2)))
    assert info.value.location == "arith.addf"


def test_large_batch_is_fast() -> None:
    import time

    module = partitioned_mlp(random_mlp(np.random.default_rng(0), [784, 256, 10]))
    x = np.random.default_rng(0).random((2000, 784)).astype(np.float32)
    start = time.perf_counter()
    run_function(module, "main", x)
    assert time.perf_counter() - start < 2.0


def test_the_dialects_are_xdsl_interpreter_functions() -> None:
    """A plain xDSL Interpreter with spikeir's InterpreterFunctions runs nn and quant IR (numpy values)."""
    x = np.random.default_rng(3).normal(size=(4, 1, 2, 2)).astype(np.float32)
    module = parse(_NN)
    plain = XDSLInterpreter(module)
    for functions in numpy_functions():
        plain.register_implementations(functions)
    (out,) = plain.call_op("main", (x,))
    np.testing.assert_array_equal(out, run_function(module, "main", x)[0])
    quant = parse(_QUANT)
    plain = XDSLInterpreter(quant)
    for functions in numpy_functions():
        plain.register_implementations(functions)
    q = np.array([[0.25, -0.75, 100.0, 1.0]], np.float32)
    np.testing.assert_array_equal(plain.call_op("main", (q,))[0], run_function(quant, "main", q)[0])


def test_listeners_observe_every_op() -> None:
    module = partitioned_mlp(random_mlp(np.random.default_rng(1), [4, 3, 2]), input_shape=(1, 2, 2), softmax=True)
    counter = OpCounter()
    interpreter = Interpreter(module)
    x = np.zeros((2, 2, 2), np.float32)
    interpreter.run("main", x, listeners=[counter])
    assert counter.ops == {
        "nn.batch_flatten": 1,
        "func.call": 1,
        "arith.constant": 4,
        "nn.fused_dense": 2,
        "func.return": 2,
        "nn.softmax": 1,
    }
    assert interpreter.xdsl.listeners == ()  # listeners are per run


def test_constants_are_read_once_per_interpreter() -> None:
    module = parse(_NN)
    interpreter = Interpreter(module)
    x = np.zeros((1, 1, 2, 2), np.float32)
    first, second = interpreter.trace("main", x), interpreter.trace("main", x)
    weight = next(iter(module.ops)).body.block.ops.first
    assert weight is not None and first.values[weight.results[0]] is second.values[weight.results[0]]


_LOCATED = """func.func @main(%x: tensor<1x2xf32>) -> tensor<2xf32> {
  %0 = nn.relu %x : tensor<1x2xf32>
  %1 = nn.reshape %0 : tensor<1x2xf32> -> tensor<2xf32>
  func.return %1 : tensor<2xf32>
}
"""


def test_errors_are_placed_at_the_op_and_the_interpreter_recovers() -> None:
    """IR parsed with locations gets errors at file:line:col, without xDSL's printed module attached;
    a failed run leaves no scope behind, and the next run works."""
    interpreter = Interpreter(parse_module(spikeir_context(), _LOCATED, "net.mlir"))
    with pytest.raises(InterpreterError) as info:
        interpreter.run("main", np.ones((3, 2)))
    assert info.value.location == "net.mlir:3:3"
    assert info.value.message.startswith("nn.reshape: cannot reshape [1, 2] -> [2] for a batch of 3")
    assert not getattr(info.value, "__notes__", [])
    assert list(interpreter.xdsl.scope_names()) == ["root"]
    np.testing.assert_array_equal(interpreter.run("main", np.ones((1, 2)))[0], [1.0, 1.0])


def test_dynamic_batch_dimension() -> None:
    """``?`` axes take any size: a batch typed ``?`` works as one typed 1, at every op."""
    dynamic = parse(_NN.replace("tensor<1x", "tensor<?x"))
    x = np.random.default_rng(4).normal(size=(5, 1, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(run_function(dynamic, "main", x)[0], run_function(parse(_NN), "main", x)[0])
    with pytest.raises(
        InterpreterError, match=r"shape \[5, 4\], but the function expects Bx1x2x2 \(type tensor<\?x1x2x2xf32>\)"
    ):
        run_function(dynamic, "main", x.reshape(5, 4))


def test_a_value_used_before_its_definition_is_an_error_naming_the_op() -> None:
    """xDSL does not check dominance; the interpreter names the op instead of raising a KeyError."""
    module = parse("""
    func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
      %0 = nn.relu %1 : tensor<1x4xf32>
      %1 = nn.relu %x : tensor<1x4xf32>
      func.return %0 : tensor<1x4xf32>
    }
    """)
    for run in (run_function, trace_function):
        with pytest.raises(InterpreterError, match="'nn.relu' reads a value before it is defined") as info:
            run(module, "main", np.zeros((1, 4), np.float32))
        assert info.value.location == "nn.relu"
