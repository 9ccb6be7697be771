"""Convolutional NIR graphs: Conv2d, SumPool2d and AvgPool2d onto conv ACCs, bit-exact against sinabs."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from spikeir.chip.isa import AccConv
from spikeir.errors import FrontendError
from spikeir.frontends.nir import from_nir
from spikeir.numerics.convolution import unrolled

sinabs = pytest.importorskip("sinabs", reason="sinabs is a test peer (extra 'peers')")

RNG = np.random.default_rng(8)
B, T = 40, 12


def _sinabs_cnn() -> torch.nn.Sequential:
    """2x10x10 -> conv 4 3x3 pad 1 -> IAF -> sum pool 2 -> IAF -> flatten -> linear 100->5 -> IAF, integer weights."""
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, SingleSpike

    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    conv.weight.data = torch.tensor(RNG.integers(-40, 41, (4, 2, 3, 3)), dtype=torch.float32)
    conv.weight.data[0, 0, 0, 0] = 127.0
    conv.bias.data = torch.tensor(RNG.integers(-5, 6, 4), dtype=torch.float32)
    fc = torch.nn.Linear(100, 5)
    fc.weight.data = torch.tensor(RNG.integers(-127, 128, (5, 100)), dtype=torch.float32)
    fc.bias.data = torch.zeros(5)

    def iaf(theta: float) -> torch.nn.Module:
        return sl.IAFSqueeze(
            batch_size=B, spike_threshold=theta, spike_fn=SingleSpike, reset_fn=MembraneSubtract(), min_v_mem=None
        )

    return torch.nn.Sequential(conv, iaf(90.0), sl.SumPool2d(2), iaf(2.0), torch.nn.Flatten(), fc, iaf(150.0))


def test_sinabs_cnn_is_bit_exact() -> None:
    net = _sinabs_cnn()
    x = (RNG.random((B, T, 2, 10, 10)) < 0.3).astype(np.float32)
    flat = torch.from_numpy(x.reshape(B * T, 2, 10, 10))
    with torch.no_grad():
        peer = net(flat).reshape(B, T, 5).sum(1).numpy()
    compiled = from_nir(sinabs.to_nir(net, flat[:B]), "sinabs")
    convs = [i for i in compiled.program.instructions if isinstance(i, AccConv)]
    assert len(convs) == 2 and {i.geometry.groups for i in convs} == {1, 4}  # the conv and the pool (depthwise)
    chip = compiled.run(x.reshape(B, T, -1))
    assert np.array_equal(chip, peer)
    assert peer.sum() > 50


def test_unrolled_conv_matches_torch() -> None:
    from spikeir.chip.isa import ConvGeometry

    g = ConvGeometry(4, 7, 6, 6, 4, 2, 3, 2, 2, 2, 1, 0, 1, 2, 2)
    assert g.problem() is None
    kernel = RNG.normal(size=(6, 2 * 3 * 2))
    x = RNG.normal(size=(4, 7, 6))
    expected = torch.nn.functional.conv2d(
        torch.tensor(x)[None],
        torch.tensor(kernel.reshape(6, 2, 3, 2)),
        stride=2,
        padding=(1, 0),
        dilation=(1, 2),
        groups=2,
    )[0]
    assert np.allclose(unrolled(g, kernel) @ x.ravel(), expected.numpy().ravel())


def test_conv_then_per_element_scale_is_unrolled_and_conv1d_is_an_error() -> None:
    """A Scale that differs per position breaks the shared kernel: the projection becomes dense (and
    equals the float computation); one per channel keeps the conv ACC; a Conv1d has no mapping yet and says so, naming the node."""
    weight = RNG.normal(size=(3, 2, 3, 3))
    scale = RNG.uniform(0.5, 2.0, 48)
    nodes = {
        "input": nir.Input({"input": np.array([2, 6, 6])}),
        "c": nir.Conv2d((6, 6), weight, 1, 0, 1, 1, np.zeros(3)),
        "s": nir.Scale(scale),
        "n": nir.IF(np.ones(48), np.ones(48)),
        "output": nir.Output({"output": np.array([48])}),
    }
    edges = [("input", "c"), ("c", "s"), ("s", "n"), ("n", "output")]
    compiled = from_nir(nir.NIRGraph(nodes=nodes, edges=edges))
    assert not any(isinstance(i, AccConv) for i in compiled.program.instructions)
    (projection,) = compiled.quantized.spec.layer("n").projections
    x = torch.tensor(RNG.normal(size=(1, 2, 6, 6)))
    expected = torch.nn.functional.conv2d(x, torch.tensor(weight)).numpy().ravel() * scale
    assert np.allclose(projection.weight @ x.numpy().ravel(), expected)
    nodes["s"] = nir.Scale(np.repeat([2.0, 0.5, 3.0], 16))  # one factor per channel: the kernel stays shared
    compiled = from_nir(nir.NIRGraph(nodes=nodes, edges=edges))
    assert len([i for i in compiled.program.instructions if isinstance(i, AccConv)]) == 1
    (projection,) = compiled.quantized.spec.layer("n").projections
    expected = torch.nn.functional.conv2d(x, torch.tensor(weight)).numpy().ravel() * np.repeat([2.0, 0.5, 3.0], 16)
    assert np.allclose(projection.weight @ x.numpy().ravel(), expected)
    nodes["c"] = nir.Conv1d(6, RNG.normal(size=(3, 2, 3)), 1, 0, 1, 1, np.zeros(3))
    with pytest.raises(FrontendError, match="node 'c' \\(Conv1d\\): Conv1d is not supported"):
        from_nir(nir.NIRGraph(nodes=nodes, edges=edges))
