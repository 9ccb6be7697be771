"""The place pass: deterministic per-layer core slices, the seed's mapping, and errors that say how to fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Acc
from spikeir.chip.target import SPIKECORE_V1
from spikeir.dialects import spikecore
from spikeir.errors import PlacementError, TargetError
from spikeir.ir.emit import program_from_module
from spikeir.passes.lower_quant_to_spikecore import LowerQuantToSpikeCorePass
from spikeir.passes.place import LayerDemand, PlacePass, balanced_split, placement_report
from support.spikecore_ir import quant_module, random_layers, reference

CTX = Context()


def lowered(widths: list[int], seed: int = 0) -> ModuleOp:
    module = quant_module(random_layers(np.random.default_rng(seed), widths))
    LowerQuantToSpikeCorePass().apply(CTX, module)
    return module


def placements(module: ModuleOp) -> dict[str, list[tuple[int, int, int]]]:
    return {
        g.layer.data: [(s.core.data, s.base.data, s.count.data) for s in g.slices]
        for g in module.walk()
        if isinstance(g, spikecore.GroupOp)
    }


def test_seed_mapping_one_neuron_per_core() -> None:
    """`place{neurons-per-core=1}`: 784-64-10 puts layer 0 on cores 0-63 and layer 1 on 64-73."""
    module = lowered([784, 64, 10])
    PlacePass(neurons_per_core=1).apply(CTX, module)
    module.verify()
    placed = placements(module)
    assert placed["layers.0"] == [(core, 0, 1) for core in range(64)]
    assert placed["layers.2"] == [(core, 0, 1) for core in range(64, 74)]
    program = program_from_module(module)
    assert program.target.neurons_per_core == 1
    acc_cores = [(i.core, i.table, i.row) for i in program if isinstance(i, Acc)]
    assert acc_cores == [(c, 0, c) for c in range(64)] + [(64 + r, 1, r) for r in range(10)]


def test_seed_target_gives_the_same_mapping() -> None:
    by_option, by_target = lowered([784, 64, 10]), lowered([784, 64, 10])
    PlacePass(neurons_per_core=1).apply(CTX, by_option)
    PlacePass(target="spikecore-v1-seed").apply(CTX, by_target)
    assert placements(by_option) == placements(by_target)


def test_wide_network_places_across_cores_and_runs() -> None:
    """784-512-256-128-10 on spikecore-v1: 784 synapses per neuron fit 167 neurons in 128 KiB, so
    layer 0 takes 4 cores of 128; the others fit one core each."""
    widths = [784, 512, 256, 128, 10]
    layers = random_layers(np.random.default_rng(6), widths)
    module = quant_module(layers)
    LowerQuantToSpikeCorePass().apply(CTX, module)
    PlacePass().apply(CTX, module)
    placed = placements(module)
    assert placed["layers.0"] == [(c, 0, 128) for c in range(4)]
    assert placed["layers.2"] == [(4, 0, 256)]
    assert placed["layers.4"] == [(5, 0, 128)]
    assert placed["layers.6"] == [(6, 0, 10)]
    report = placement_report(module)
    assert [r["core"] for r in report] == list(range(7))
    assert report[0] == {
        "program": "spikecore_0",
        "core": 0,
        "layer": "layers.0",
        "neurons": 128,
        "neuron_capacity": 1024,
        "synapse_bytes": 128 * 784,
        "synapse_capacity": 131072,
    }
    assert all(int(r["synapse_bytes"]) <= int(r["synapse_capacity"]) for r in report)  # type: ignore[arg-type]
    program = program_from_module(module)
    x = np.random.default_rng(7).integers(-128, 128, (4, 784)).astype(np.int8)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(x)
    np.testing.assert_array_equal(cpu.outputs(), reference(layers, x))


def test_oversize_network_fails_with_the_fix() -> None:
    module = lowered([784, 200, 10])
    with pytest.raises(PlacementError) as info:
        PlacePass(neurons_per_core=1).apply(CTX, module)
    message = str(info.value)
    assert info.value.location == "@spikecore_0"
    assert 'needs 210 cores ("layers.0" 200, "layers.2" 10;' in message
    assert "target 'spikecore-v1' has 128" in message
    assert "a target with >= 210 cores (cores=210)" in message
    assert "neurons-per-core=2" in message
    assert 'reduce the layer width (the widest, "layers.0", has 200 neurons)' in message
    PlacePass(neurons_per_core=2).apply(CTX, module)  # the suggested option does fit


def test_synapse_memory_limits_and_fan_in() -> None:
    module = lowered([300, 4, 2])
    with pytest.raises(PlacementError, match="one neuron needs 300 bytes .* use synapse-bytes=300 or more") as info:
        PlacePass(synapse_bytes=299).apply(CTX, module)
    assert info.value.location == "layers.0"
    PlacePass(synapse_bytes=600).apply(CTX, module)
    assert placements(module)["layers.0"] == [(0, 0, 2), (1, 0, 2)]


def test_a_fan_in_over_max_fan_in_is_read_by_several_accs() -> None:
    # 40 inputs on a chip whose ACC reads at most 16: three ACCs per slice over column blocks.
    wide = lowered([40, 2], seed=1)
    program = next(op for op in wide.walk() if isinstance(op, spikecore.ProgramOp))
    program.target = spikecore.TargetAttr.from_description(SPIKECORE_V1.with_options(max_fan_in=16))
    PlacePass().apply(CTX, wide)
    emitted = program_from_module(wide)
    layer0 = [i for i in emitted if isinstance(i, Acc) and i.table == 0]
    assert [(i.src, i.src_len, i.col) for i in layer0] == [(0, 16, 0), (16, 16, 16), (32, 8, 32)]


def test_too_many_layers_for_the_cores() -> None:
    module = lowered([4, 3, 3, 2])
    with pytest.raises(
        PlacementError,
        match=r"needs 3 cores .* has 2; to fit, use a target with >= 3 cores \(cores=3\) or fewer layers",
    ):
        PlacePass(cores=2).apply(CTX, module)


def test_options_override_and_are_recorded() -> None:
    module = lowered([10, 9, 2])
    PlacePass(neurons_per_core=4, cores=50, synapse_bytes=4096).apply(CTX, module)
    program = next(op for op in module.walk() if isinstance(op, spikecore.ProgramOp))
    target = program.target.description()
    assert (target.name, target.neurons_per_core, target.cores, target.synapse_bytes) == ("spikecore-v1", 4, 50, 4096)
    assert placements(module)["layers.0"] == [(0, 0, 3), (1, 0, 3), (2, 0, 3)]
    with pytest.raises(TargetError, match="unknown target 'nope'"):
        PlacePass(target="nope").apply(CTX, module)


def test_placement_is_deterministic_and_idempotent() -> None:
    first, second = lowered([50, 33, 7]), lowered([50, 33, 7])
    PlacePass(neurons_per_core=5).apply(CTX, first)
    PlacePass(neurons_per_core=5).apply(CTX, second)
    PlacePass().apply(CTX, second)  # re-placing with the recorded target changes nothing
    assert str(first) == str(second)


def test_unplaced_report_says_to_run_place() -> None:
    with pytest.raises(PlacementError, match="not placed: run spikecore-place first"):
        placement_report(lowered([3, 2]))


@settings(max_examples=60, deadline=None)
@given(neurons=st.integers(1, 5000), npc=st.integers(1, 1024), fan_in=st.integers(1, 20000))
def test_split_respects_every_limit(neurons: int, npc: int, fan_in: int) -> None:
    target = SPIKECORE_V1.with_options(neurons_per_core=npc)
    demand = LayerDemand("l", neurons, fan_in)
    capacity = demand.capacity(target)
    if capacity == 0:
        assert fan_in > target.synapse_bytes
        return
    counts = balanced_split(neurons, demand.cores(target))
    assert sum(counts) == neurons
    assert max(counts) <= capacity and max(counts) - min(counts) <= 1
    assert max(counts) * fan_in <= target.synapse_bytes
    assert len(counts) == -(-neurons // capacity)
