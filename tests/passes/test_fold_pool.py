"""nn-fold-pool: the folded network computes what the pooled one did (against torch), and the
composition rule `composes_exactly` never accepts a pair whose composition differs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context

import spikeir
from spikeir.chip.isa import ConvGeometry
from spikeir.dialects import nn, spikecore
from spikeir.frontends.builder import NNBuilder
from spikeir.ir.interpreter import run_function
from spikeir.numerics.convolution import compose_convs, composes_exactly, unrolled
from spikeir.passes.fold_pool import NnFoldPoolPass

CTX = Context()


def _ops(module: object) -> list[str]:
    return [op.name for op in module.walk() if op.dialect_name() == "nn"]  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(["avg", "sum"]),
    pool=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 1)),
    conv=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2)),
    groups=st.sampled_from([1, 2]),
)
def test_pool_then_conv_folds_to_the_same_function(
    seed: int, kind: str, pool: tuple[int, int, int], conv: tuple[int, int, int, int], groups: int
) -> None:
    (pk, ps, pp), (k, s, p, d) = pool, conv
    if 2 * pp > pk:
        pp = 0
    rng = np.random.default_rng(seed)
    b = NNBuilder()
    x = b.input([1, 2, 9, 8])
    pooled_hw = [(n + 2 * pp - pk) // ps + 1 for n in (9, 8)]
    if min(pooled_hw) < d * (k - 1) + 1 - 2 * p:
        return  # the conv does not fit the pooled map
    weight = rng.standard_normal((4, 2 // groups, k, k))
    y = b.conv2d(b.pool2d(x, kind, pk, ps, pp), weight, s, p, d, groups, layer="conv")
    module = b.finish([b.relu(y)])
    data = rng.standard_normal((3, 2, 9, 8)).astype(np.float32)
    (before,) = run_function(module, "main", data)
    NnFoldPoolPass().apply(CTX, module)
    module.verify()
    if p == 0:  # an unpadded conv never reads the pooled map's padding: it always folds
        assert "nn.pool2d" not in _ops(module)
    (after,) = run_function(module, "main", data)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    torch_pool = torch.nn.AvgPool2d(pk, ps, pp) if kind == "avg" else None
    t = torch.from_numpy(data).double()
    pooled = torch_pool(t) if torch_pool is not None else torch.nn.functional.avg_pool2d(t, pk, ps, pp) * pk * pk
    expected = torch.relu(torch.nn.functional.conv2d(pooled, torch.from_numpy(weight), None, s, p, d, groups))
    np.testing.assert_allclose(after, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_the_lenet_shapes_fold_and_padding_that_would_read_data_does_not() -> None:
    b = NNBuilder()
    x = b.input([1, 6, 28, 28])
    y = b.conv2d(b.pool2d(x, "avg", 2), np.ones((16, 6, 5, 5)), layer="c")
    folded = b.finish([y])
    NnFoldPoolPass().apply(CTX, folded)
    conv = next(op for op in folded.walk() if isinstance(op, nn.Conv2dOp))
    assert conv.params.stride == (2, 2) and conv.weight.type.get_shape() == (16, 6, 10, 10)  # type: ignore[attr-defined]
    assert "nn.pool2d" not in _ops(folded)

    b = NNBuilder()
    x = b.input([1, 1, 5, 5])  # 5 rows: the 2x2 pool drops the last, which a padded conv would read
    y = b.conv2d(b.pool2d(x, "avg", 2), np.ones((1, 1, 3, 3)), padding=1, layer="c")
    kept = b.finish([y])
    NnFoldPoolPass().apply(CTX, kept)
    assert "nn.pool2d" in _ops(kept)


def test_pool_flatten_dense_folds_to_the_same_function() -> None:
    rng = np.random.default_rng(3)
    b = NNBuilder()
    x = b.input([1, 3, 7, 6])
    flat = b.reshape(b.pool2d(x, "avg", 3, 2, 1), (1, -1), "flatten", None)
    w = rng.standard_normal((5, 3 * 4 * 3))
    module = b.finish([b.dense(flat, w, "fc", None)])
    data = rng.standard_normal((4, 3, 7, 6)).astype(np.float32)
    (before,) = run_function(module, "main", data)
    NnFoldPoolPass().apply(CTX, module)
    module.verify()
    assert "nn.pool2d" not in _ops(module)
    (after,) = run_function(module, "main", data)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


@settings(max_examples=200, deadline=None)
@given(
    first=st.tuples(*(st.integers(1, 3),) * 3, st.integers(0, 1)),
    second=st.tuples(*(st.integers(1, 3),) * 3, st.integers(0, 2)),
    size=st.integers(3, 8),
    seed=st.integers(0, 2**16),
)
def test_composes_exactly_is_never_wrong(
    first: tuple[int, int, int, int], second: tuple[int, int, int, int], size: int, seed: int
) -> None:
    """Wherever the rule accepts a pair, the composed conv equals the product of the two dense maps."""
    (k1, s1, d1, p1), (k2, s2, d2, p2) = first, second
    h1 = (size + 2 * p1 - d1 * (k1 - 1) - 1) // s1 + 1
    h2 = (h1 + 2 * p2 - d2 * (k2 - 1) - 1) // s2 + 1
    if h1 < 1 or h2 < 1:
        return
    g1 = ConvGeometry(2, size, size, 2, h1, h1, k1, k1, s1, s1, p1, p1, d1, d1, groups=2)
    g2 = ConvGeometry(2, h1, h1, 3, h2, h2, k2, k2, s2, s2, p2, p2, d2, d2)
    if g1.problem() is not None or g2.problem() is not None:
        return
    rng = np.random.default_rng(seed)
    k1_, k2_ = rng.standard_normal((2, k1 * k1)), rng.standard_normal((3, 2 * k2 * k2))
    composed = compose_convs((g1, k1_), (g2, k2_))
    if composed is not None and composes_exactly(g1, g2):
        np.testing.assert_allclose(unrolled(*composed), unrolled(g2, k2_) @ unrolled(g1, k1_), atol=1e-12)


def test_the_pipeline_option_keeps_pools_as_layers() -> None:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 4 * 4, 3),
    ).eval()
    x = np.random.default_rng(2).random((40, 1, 8, 8)).astype(np.float32)
    folded = spikeir.compile(model, x[:1], x)
    kept = spikeir.compile(model, x[:1], x, fold_pools=False)

    def groups(compiled: spikeir.CompiledModel) -> list[str]:
        return [op.layer.data for op in compiled.module.walk() if isinstance(op, spikecore.GroupOp)]

    assert groups(folded) == ["0", "4"] and groups(kept) == ["0", "2", "4"]
    reference = model(torch.from_numpy(x)).detach().numpy()
    for compiled in (folded, kept):
        assert np.mean(compiled.run(x).argmax(1) == reference.argmax(1)) >= 0.9


@pytest.mark.parametrize("kind", ["max"])
def test_max_pooling_is_not_folded(kind: str) -> None:
    b = NNBuilder()
    x = b.input([1, 1, 4, 4])
    module = b.finish([b.conv2d(b.pool2d(x, kind, 2), np.ones((1, 1, 2, 2)), layer="c")])
    NnFoldPoolPass().apply(CTX, module)
    assert "nn.pool2d" in _ops(module)
