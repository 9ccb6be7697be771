"""Pooling and linear chains between neuron layers fold into one projection: the N-MNIST CNN of
Pedersen et al. (NIR paper) imports, places and runs bit-exact against sinabs."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from spikeir.chip.isa import Acc, AccConv, ConvGeometry
from spikeir.frontends.nir import from_nir
from spikeir.numerics.convolution import compose_convs, unrolled

RNG = np.random.default_rng(15)
B, T = 6, 10


def _torch_conv(g: ConvGeometry, kernel: NDArray[np.float64], x: torch.Tensor) -> torch.Tensor:
    weight = torch.tensor(kernel.reshape(g.out_channels, g.in_channels_per_group, g.kernel_h, g.kernel_w))
    return torch.nn.functional.conv2d(
        x,
        weight,
        stride=(g.stride_h, g.stride_w),
        padding=(g.pad_h, g.pad_w),
        dilation=(g.dilation_h, g.dilation_w),
        groups=g.groups,
    )


@pytest.mark.parametrize(
    ("pool", "conv"),
    [
        # sum pool 2 then conv 3x3 pad 1 (the N-MNIST pair): a 6x6 kernel, stride 2, padding 2
        (ConvGeometry(3, 8, 8, 3, 4, 4, 2, 2, 2, 2, groups=3), ConvGeometry(3, 4, 4, 5, 4, 4, 3, 3, 1, 1, 1, 1)),
        # sum pool 3 then a strided conv without padding
        (ConvGeometry(2, 9, 12, 2, 3, 4, 3, 3, 3, 3, groups=2), ConvGeometry(2, 3, 4, 4, 1, 2, 2, 2, 2, 2)),
        # a padded conv then a grouped, dilated conv without padding
        (ConvGeometry(4, 7, 7, 4, 7, 7, 3, 3, 1, 1, 1, 1), ConvGeometry(4, 7, 7, 2, 3, 3, 3, 3, 1, 1, 0, 0, 2, 2, 2)),
    ],
)
def test_composed_convolution_equals_the_two_in_float(pool: ConvGeometry, conv: ConvGeometry) -> None:
    first = RNG.normal(size=(pool.out_channels, pool.fan_in))
    if pool.groups == pool.in_channels:
        first = np.ones_like(first)  # a sum pool
    second = RNG.normal(size=(conv.out_channels, conv.fan_in))
    composed = compose_convs((pool, first), (conv, second))
    assert composed is not None
    g, kernel = composed
    x = torch.tensor(RNG.normal(size=(1, pool.in_channels, pool.in_height, pool.in_width)))
    expected = _torch_conv(conv, second, _torch_conv(pool, first, x)).numpy().ravel()
    assert np.allclose(_torch_conv(g, kernel, x).numpy().ravel(), expected)
    assert np.allclose(unrolled(g, kernel) @ x.numpy().ravel(), expected)
    if pool.groups == pool.in_channels:
        assert (g.stride_h, g.kernel_h) == (pool.stride_h * conv.stride_h, conv.kernel_h * pool.kernel_h)


def _integer(shape: tuple[int, ...], low: int) -> NDArray[np.float64]:
    """Integer weights with one at 127 (the layer's unit is then 1: exact on the chip)."""
    w = RNG.integers(low, 9, shape).astype(np.float64)
    w.flat[0] = 127.0
    return w


def _if(shape: tuple[int, ...], theta: float) -> nir.IF:
    return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, theta))


def nmnist_graph() -> nir.NIRGraph:
    """Pedersen et al.'s N-MNIST CNN: 2x34x34 -> conv 16 5x5 s2 p1 -> IF -> conv 16 3x3 p1 -> IF -> sum pool 2
    -> conv 8 3x3 p1 -> IF -> sum pool 2 -> flatten -> linear 128->256 -> IF -> linear 256->10 -> IF."""
    nodes = {
        "input": nir.Input({"input": np.array([2, 34, 34])}),
        "conv1": nir.Conv2d((34, 34), _integer((16, 2, 5, 5), -2), 2, 1, 1, 1, RNG.integers(-2, 3, 16) * 1.0),
        "if1": _if((16, 16, 16), 30.0),
        "conv2": nir.Conv2d((16, 16), _integer((16, 16, 3, 3), -3), 1, 1, 1, 1, np.zeros(16)),
        "if2": _if((16, 16, 16), 40.0),
        "pool1": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "conv3": nir.Conv2d((8, 8), _integer((8, 16, 3, 3), -3), 1, 1, 1, 1, np.ones(8)),
        "if3": _if((8, 8, 8), 60.0),
        "pool2": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "flat": nir.Flatten({"input": np.array([8, 4, 4])}, start_dim=0),
        "fc1": nir.Affine(_integer((256, 128), -4), RNG.integers(-1, 2, 256) * 1.0),
        "if4": _if((256,), 20.0),
        "fc2": nir.Linear(_integer((10, 256), -4)),
        "if5": _if((10,), 30.0),
        "output": nir.Output({"output": np.array([10])}),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:], strict=False)))


def sinabs_net(graph: nir.NIRGraph) -> torch.nn.Sequential:
    """The same network in sinabs, configured as docs/nir.md says (SingleSpike, MembraneSubtract, no floor)."""
    sl = pytest.importorskip("sinabs.layers", reason="sinabs is a test peer (extra 'peers')")
    from sinabs.activation import MembraneSubtract, SingleSpike

    def iaf(name: str) -> torch.nn.Module:
        theta = float(np.asarray(graph.nodes[name].v_threshold).flat[0])
        return sl.IAFSqueeze(
            batch_size=B, spike_threshold=theta, spike_fn=SingleSpike, reset_fn=MembraneSubtract(), min_v_mem=None
        )

    def conv(name: str, stride: int) -> torch.nn.Conv2d:
        node = graph.nodes[name]
        layer = torch.nn.Conv2d(node.weight.shape[1], node.weight.shape[0], node.weight.shape[2], stride, 1)
        layer.weight.data = torch.tensor(node.weight, dtype=torch.float32)
        layer.bias.data = torch.tensor(node.bias, dtype=torch.float32)
        return layer

    fc1, fc2 = torch.nn.Linear(128, 256), torch.nn.Linear(256, 10, bias=False)
    fc1.weight.data = torch.tensor(graph.nodes["fc1"].weight, dtype=torch.float32)
    fc1.bias.data = torch.tensor(graph.nodes["fc1"].bias, dtype=torch.float32)
    fc2.weight.data = torch.tensor(graph.nodes["fc2"].weight, dtype=torch.float32)
    return torch.nn.Sequential(
        conv("conv1", 2), iaf("if1"), conv("conv2", 1), iaf("if2"), sl.SumPool2d(2), conv("conv3", 1),
        iaf("if3"), sl.SumPool2d(2), torch.nn.Flatten(), fc1, iaf("if4"), fc2, iaf("if5"),
    )  # fmt: skip


@pytest.fixture(scope="module")
def events() -> NDArray[np.float64]:
    """Synthetic N-MNIST-like event streams: (B, T, 2*34*34) ON/OFF events, seeded."""
    return (RNG.random((B, T, 2 * 34 * 34)) < 0.15).astype(np.float64)


@pytest.mark.slow
def test_nmnist_cnn_imports_places_and_is_bit_exact_against_sinabs(events: NDArray[np.float64], tmp_path: Path) -> None:
    graph = nmnist_graph()
    net = sinabs_net(graph)
    with torch.no_grad():
        frames = torch.tensor(events.reshape(B * T, 2, 34, 34), dtype=torch.float32)
        peer = net(frames).reshape(B, T, 10).sum(1).numpy()
    compiled = from_nir(graph, "sinabs")
    convs = [i for i in compiled.program.instructions if isinstance(i, AccConv)]
    # conv1, conv2 and pool1+conv3 stay conv ACCs (the last a 6x6 kernel of stride 2); pool2+fc1 is dense
    assert {(i.geometry.kernel_h, i.geometry.stride_h) for i in convs} == {(3, 1), (5, 2), (6, 2)}  # per core
    dense = [i for i in compiled.program.instructions if isinstance(i, Acc) and not isinstance(i, AccConv)]
    assert {compiled.program.synapse_tables[i.table].shape[1] for i in dense} >= {512, 256}
    chip = compiled.run(events)
    assert np.array_equal(chip, peer)
    assert peer.sum() > 20  # the readout fires: the comparison is not of zeros
    path = tmp_path / "nmnist.nir"
    nir.write(path, graph)
    assert np.array_equal(from_nir(path, "sinabs").run(events), chip)


def test_pool_over_a_cropped_map_before_a_padded_conv_is_unrolled_and_exact() -> None:
    """sum pool 2 of a 5x5 map (the last row and column dropped) then a conv with padding 1: the
    composed convolution would read the dropped row where the pooled map's padding is zero, so the
    projection is dense, and it equals the float computation."""
    weight = RNG.normal(size=(3, 2, 3, 3))
    nodes = {
        "input": nir.Input({"input": np.array([2, 5, 5])}),
        "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "conv": nir.Conv2d((2, 2), weight, 1, 1, 1, 1, np.zeros(3)),
        "n": nir.IF(np.ones((3, 2, 2)), np.full((3, 2, 2), 0.5)),
        "output": nir.Output({"output": np.array([12])}),
    }
    order = list(nodes)
    compiled = from_nir(nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:], strict=False))))
    assert not any(isinstance(i, AccConv) for i in compiled.program.instructions)
    (projection,) = compiled.quantized.spec.layer("n").projections
    x = torch.tensor(RNG.normal(size=(1, 2, 5, 5)))
    expected = torch.nn.functional.conv2d(torch.nn.functional.avg_pool2d(x, 2) * 4, torch.tensor(weight), padding=1)
    assert np.allclose(projection.weight @ x.numpy().ravel(), expected.numpy().ravel())


def test_avg_pool_then_conv_is_one_conv_acc() -> None:
    """AvgPool2d 2 then a 3x3 conv, padding 1: one conv ACC (6x6, stride 2, padding 2) whose kernel is the
    conv's taps times 1/4, equal to torch's avg_pool2d then conv2d."""
    weight = RNG.normal(size=(3, 2, 3, 3))
    nodes = {
        "input": nir.Input({"input": np.array([2, 8, 8])}),
        "pool": nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "conv": nir.Conv2d((4, 4), weight, 1, 1, 1, 1, np.zeros(3)),
        "n": nir.IF(np.ones((3, 4, 4)), np.full((3, 4, 4), 0.5)),
        "output": nir.Output({"output": np.array([48])}),
    }
    order = list(nodes)
    compiled = from_nir(nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:], strict=False))))
    (conv,) = [i for i in compiled.program.instructions if isinstance(i, AccConv)]
    g = conv.geometry
    assert (g.kernel_h, g.kernel_w, g.stride_h, g.pad_h, g.groups) == (6, 6, 2, 2, 1)
    (projection,) = compiled.quantized.spec.layer("n").projections
    assert projection.conv is not None
    x = torch.tensor(RNG.normal(size=(1, 2, 8, 8)))
    expected = torch.nn.functional.conv2d(torch.nn.functional.avg_pool2d(x, 2), torch.tensor(weight), padding=1)
    assert np.allclose(projection.weight @ x.numpy().ravel(), expected.numpy().ravel())
    assert np.allclose(unrolled(*projection.conv), projection.weight)
