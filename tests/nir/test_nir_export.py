"""to_nir: the deployed network as a NIR graph; round trips into spikeir and into sinabs (issue 15, goal 2)."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from nir_networks import IntegerLayer
from numpy.typing import NDArray

from spikeir.errors import FrontendError
from spikeir.frontends.nir import from_nir
from spikeir.frontends.nir_export import to_nir

RNG = np.random.default_rng(5)


def _if_graph(layers: list[IntegerLayer]) -> nir.NIRGraph:
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input({"input": np.array([784])})}
    edges: list[tuple[str, str]] = []
    previous = "input"
    for k, layer in enumerate(layers):
        n = layer.weight.shape[0]
        nodes[f"fc{k}"] = nir.Affine(layer.weight, layer.bias)
        nodes[f"if{k}"] = nir.IF(np.ones(n), np.full(n, layer.threshold))
        edges += [(previous, f"fc{k}"), (f"fc{k}", f"if{k}")]
        previous = f"if{k}"
    nodes["output"] = nir.Output({"output": np.array([10])})
    return nir.NIRGraph(nodes=nodes, edges=[*edges, (previous, "output")])


def _float_lif_graph() -> nir.NIRGraph:
    """Float weights, a recurrent LIF layer and a CUBA readout: nothing on the chip's grid."""
    n = 8
    tau = np.full(n, 6.0)
    return nir.NIRGraph(
        nodes={
            "input": nir.Input({"input": np.array([12])}),
            "fc": nir.Affine(RNG.normal(size=(n, 12)), RNG.normal(size=n) * 0.1),
            "lif": nir.LIF(tau, tau, np.zeros(n), np.full(n, 1.0)),
            "rec": nir.Linear(RNG.normal(size=(n, n)) * 0.3),
            "fc2": nir.Linear(RNG.normal(size=(3, n))),
            "cuba": nir.CubaLIF(np.full(3, 3.0), np.full(3, 5.0), np.full(3, 5.0), np.zeros(3), np.full(3, 1.0)),
            "output": nir.Output({"output": np.array([3])}),
        },
        edges=[
            ("input", "fc"),
            ("fc", "lif"),
            ("lif", "rec"),
            ("rec", "lif"),
            ("lif", "fc2"),
            ("fc2", "cuba"),
            ("cuba", "output"),
        ],
    )


def test_round_trip_reproduces_the_deployed_program(tmp_path: Path) -> None:
    """to_nir(from_nir(g)) compiles to the same program, and its float reference is the chip's run."""
    compiled = from_nir(_float_lif_graph())
    exported = to_nir(compiled)
    path = tmp_path / "deployed.nir"
    nir.write(path, exported)
    again = from_nir(path)
    assert again.program.instructions == compiled.program.instructions
    for tid, table in compiled.program.synapse_tables.items():
        assert np.array_equal(again.program.synapse_tables[tid], table)
    for tid, table in compiled.program.param_tables.items():
        assert np.array_equal(again.program.param_tables[tid], table)
    x = (RNG.random((20, 30, 12)) < 0.4).astype(np.float64)
    assert np.array_equal(np.asarray(again.run(x)), np.asarray(compiled.run(x)))
    # the exported graph's float reference is the deployed integer network, up to the chip's decay rounding
    top1 = (np.asarray(again.run_float(x)).argmax(1) == np.asarray(compiled.run(x)).argmax(1)).mean()
    assert top1 >= 0.9


def test_round_trip_into_sinabs_is_bit_exact(
    integer_if_layers: list[IntegerLayer], streams: NDArray[np.float64]
) -> None:
    """The deployed IF network, exported for a >= peer, runs in sinabs with the chip's spike counts.

    sinabs' importer makes IAFSqueeze with MultiSpike and min_v_mem = -threshold; both differ from
    NIR's IF (docs/nir.md, "Peers") and are set back to SingleSpike and no floor."""
    sinabs = pytest.importorskip("sinabs", reason="sinabs is a test peer (extra 'peers')")
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike

    compiled = from_nir(_if_graph(integer_if_layers), "sinabs")
    net = sinabs.from_nir(to_nir(compiled, comparison="ge"), batch_size=len(streams))
    for module in net.modules():
        if isinstance(module, sl.IAFSqueeze):
            module.spike_fn = SingleSpike
            module.min_v_mem = None
    with torch.no_grad():
        out = net(torch.tensor(streams.reshape(-1, 784), dtype=torch.float32))[0]
    peer = out.reshape(len(streams), streams.shape[1], 10).sum(1).numpy()
    assert np.array_equal(np.asarray(compiled.run(streams)), peer)


def test_export_names_a_comparison_it_cannot_express(integer_if_layers: list[IntegerLayer]) -> None:
    """v > q with an integer q deploys as (V >= q+1, subtract q): exact for a '>' peer only."""
    compiled = from_nir(_if_graph(integer_if_layers))
    to_nir(compiled, comparison="gt")
    with pytest.raises(FrontendError, match="layer 'if0'.*export with comparison='gt'"):
        to_nir(compiled, comparison="ge")
