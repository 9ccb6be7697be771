"""The convolutional nn ops built with NNBuilder and run by the IR interpreter, against torch; the
builder's errors name the layer and the problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from xdsl.ir import SSAValue

from spikeir.errors import FrontendError
from spikeir.frontends.builder import NNBuilder
from spikeir.ir.interpreter import run_function

RNG = np.random.default_rng(14)


def _run(build: NNBuilder, out: SSAValue, *inputs: np.ndarray) -> np.ndarray:
    module = build.finish([out])
    return run_function(module, "main", *inputs)[0]


@pytest.mark.parametrize(
    ("stride", "padding", "torch_padding", "dilation", "groups"),
    [
        (1, 0, 0, 1, 1),
        (2, 1, 1, 1, 1),
        ((1, 2), (2, 0), (2, 0), 1, 1),
        (1, 1, 1, 2, 1),
        (1, 1, 1, 1, 2),
        (2, (1, 1, 1, 1), 1, 1, 4),  # ONNX's [top, left, bottom, right], symmetric
    ],
)
def test_conv2d_with_channel_bias_matches_torch(
    stride: int | tuple[int, int],
    padding: int | tuple[int, ...],
    torch_padding: int | tuple[int, int],
    dilation: int,
    groups: int,
) -> None:
    x = RNG.standard_normal((3, 4, 9, 8)).astype(np.float32)
    w = RNG.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(8).astype(np.float32)
    build = NNBuilder()
    arg = build.input((1, 4, 9, 8), "x")
    y = build.channel_bias(build.conv2d(arg, w, stride, padding, dilation, groups, "c1", "m.py:1"), b, "m.py:1")
    t = (torch.from_numpy(a) for a in (x, w, b))
    expected = F.conv2d(*t, stride, torch_padding, dilation, groups)
    np.testing.assert_allclose(_run(build, y, x), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("kind", "kernel", "stride", "padding"), [("avg", 2, None, 0), ("sum", 3, 2, 1), ("max", 3, 1, 1)]
)
def test_pool2d_matches_torch(kind: str, kernel: int, stride: int | None, padding: int) -> None:
    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32)
    build = NNBuilder()
    y = build.pool2d(build.input((1, 3, 7, 6)), kind, kernel, stride, padding, "p", None)
    t = torch.from_numpy(x)
    s = kernel if stride is None else stride
    if kind == "max":
        expected = F.max_pool2d(t, kernel, s, padding)
    else:
        expected = F.avg_pool2d(t, kernel, s, padding, count_include_pad=True)
        expected = expected * (kernel * kernel) if kind == "sum" else expected
    np.testing.assert_allclose(_run(build, y, x), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_global_avg_pool_add_concat_batch_norm_match_torch() -> None:
    x = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32)
    gamma, beta, mean = (RNG.standard_normal(3).astype(np.float32) for _ in range(3))
    var = RNG.uniform(0.5, 2.0, 3).astype(np.float32)
    build = NNBuilder()
    arg = build.input((1, 3, 5, 5))
    normed = build.batch_norm(arg, gamma, beta, mean, var, 1e-5, "bn1", None)
    both = build.concat([build.add(normed, arg), arg], 1)
    y = build.global_avg_pool(both)
    t = torch.from_numpy(x)
    bn = F.batch_norm(t, torch.from_numpy(mean), torch.from_numpy(var), torch.from_numpy(gamma), torch.from_numpy(beta))
    expected = F.adaptive_avg_pool2d(torch.cat([bn + t, t], 1), 1)
    np.testing.assert_allclose(_run(build, y, x), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b, x: b.conv2d(x, np.zeros((4, 3, 3, 3)), layer="c1", location="m.py:3"), "input has 2 channels"),
        (lambda b, x: b.conv2d(x, np.zeros((4, 2, 9, 9)), layer="c1"), "kernel does not fit"),
        (lambda b, x: b.conv2d(x, np.zeros((3, 1, 3, 3)), groups=2, layer="c1"), "groups 2 must divide"),
        (lambda b, x: b.conv2d(x, np.zeros((4, 2, 3, 3)), padding=(1, 0, 0, 0), layer="c1"), "asymmetric padding"),
        (lambda b, x: b.conv2d(x, np.zeros((4, 2, 3, 3)), stride=0, layer="c1"), "stride must be a positive"),
        (lambda b, x: b.channel_bias(x, np.zeros(3), "m.py:4"), "has 2 channels"),
        (lambda b, x: b.pool2d(x, "median", 2), "unknown kind 'median'"),
        (lambda b, x: b.pool2d(x, "avg", 2, padding=2), "at most half the kernel"),
        (lambda b, x: b.add(x, b.input((1, 2, 8, 7))), "no broadcasting"),
        (lambda b, x: b.concat([x, b.input((1, 2, 7, 8))], 1), "differs from [1, 2, 8, 8]"),
        (lambda b, x: b.batch_norm(x, *(np.ones(3),) * 4, 1e-5, "bn"), "gamma has shape [3], expected [2]"),
    ],
)
def test_builder_errors_name_the_problem(call: object, message: str) -> None:
    build = NNBuilder()
    x = build.input((1, 2, 8, 8))
    with pytest.raises(FrontendError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call(build, x)  # type: ignore[operator]
