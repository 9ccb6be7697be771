"""spikecore-place: map every neuron group onto core slices, deterministically, or say exactly why it cannot.

Each layer gets its own fresh cores in program order (a core never mixes layers, so its synaptic
memory holds one layer's rows and its cycle count is one layer's work). A core holds at most
``capacity = min(neurons_per_core, synapse_bytes // fan_in)`` neurons of a dense layer, where
``fan_in`` is the number of synapses per neuron (the lengths of every spike stream the group
accumulates); a layer of ``n`` neurons is split as evenly as possible over ``ceil(n / capacity)`` cores.

A convolutional group (a conv layer, a pooling, an add: conv ACCs, docs/isa.md "ACC (conv)") is a
C' x H' x W' map whose kernel is shared by the positions of a channel: a core holding some output
channels needs their kernel rows once (``channels * KC`` bytes per kernel, plus a 32-byte geometry
record per conv ACC), not one copy per neuron. So a map is split **by output channels** (the most
whole channels a core can hold, balanced over the cores), and when one channel's map is larger than
a core, **by spatial tiles** of each channel (balanced), each tile holding one kernel row.

A network that does not fit raises a :class:`spikeir.errors.PlacementError` (a
:class:`~spikeir.passes.diagnostics.PlacementFailure`, so also a pass diagnostic) naming the layer,
what it needs, what the target offers and which option would make it fit: the "model does not fit"
message users of neuromorphic toolchains ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, ModuleOp
from xdsl.passes import ModulePass

from spikeir.chip.isa import GEOMETRY_RECORD_BYTES
from spikeir.chip.target import TargetDescription, get_target
from spikeir.dialects import spikecore
from spikeir.errors import PlacementError
from spikeir.options import check_option_types
from spikeir.passes.diagnostics import PlacementFailure, nothing_to_do, pass_errors

__all__ = ["LayerDemand", "PlacePass", "PlacementFailure", "check_fits", "place_program", "placement_report"]

_MAX_FIELD = 0xFFFF
"""cores and neurons_per_core are 16-bit fields of the binary encoding."""


@dataclass(frozen=True)
class LayerDemand:
    """What one group needs from the chip."""

    layer: str
    neurons: int
    fan_in: int
    """Synapses per neuron: the total length of the spike streams the group's dense ACCs read. Emission
    splits a stream longer than max_fan_in over several ACCs, so only memory bounds it."""
    positions: int = 0
    """H' x W' of a convolutional group's map (0: no conv ACC)."""
    kernel_columns: tuple[int, ...] = ()
    """KC of each distinct kernel table its conv ACCs read (bytes per output channel held)."""
    conv_accs: int = 0
    """Conv ACCs on the group: each costs a geometry record per core."""
    delay_bytes: int = 0
    """Delay buffers every core of the group holds: d x len bytes per delayed ACC (docs/isa.md §1)."""

    def _fixed_bytes(self, channels: int) -> int:
        return channels * sum(self.kernel_columns) + GEOMETRY_RECORD_BYTES * self.conv_accs

    def capacity(self, target: TargetDescription) -> int:
        """Neurons of this layer one core can hold (for a map: one channel's tile)."""
        room = target.synapse_bytes - self.delay_bytes - (self._fixed_bytes(1) if self.positions else 0)
        if room < 0:
            return 0
        if self.fan_in == 0:
            return target.neurons_per_core
        return min(target.neurons_per_core, room // self.fan_in)

    def split(self, target: TargetDescription) -> list[int]:
        """The neurons of each core this layer takes, in order ([] when one neuron does not fit)."""
        capacity = self.capacity(target)
        if not capacity:
            return []
        if not self.positions:
            return balanced_split(self.neurons, -(-self.neurons // capacity))
        channels = self.neurons // self.positions
        fits = _largest(lambda c: self._fits(c, target), 1, channels)
        if fits:
            return [c * self.positions for c in balanced_split(channels, -(-channels // fits))]
        tiles = balanced_split(self.positions, -(-self.positions // min(capacity, self.positions)))
        return tiles * channels

    def _fits(self, channels: int, target: TargetDescription) -> bool:
        neurons = channels * self.positions
        nbytes = self._fixed_bytes(channels) + self.delay_bytes + neurons * self.fan_in
        return neurons <= target.neurons_per_core and nbytes <= target.synapse_bytes

    def cores(self, target: TargetDescription) -> int:
        return len(self.split(target))

    def kernel_bytes(self, first: int, count: int) -> int:
        """Conv bytes of the core holding neurons [first, first + count): the kernel rows of the
        channels they touch and the geometry records (docs/isa.md §1)."""
        if not self.positions or not count:
            return 0
        return self._fixed_bytes((first + count - 1) // self.positions - first // self.positions + 1)

    def needed_bytes(self) -> int:
        """Synaptic memory one neuron (with one kernel row per table) needs."""
        return self.fan_in + self.delay_bytes + (self._fixed_bytes(1) if self.positions else 0)


def group_demand(group: spikecore.GroupOp) -> LayerDemand:
    """Neurons and synapses per neuron of a group (the sum of the streams its dense ACCs read), the
    kernels of its conv ACCs and the bytes of its delay buffers."""
    sources: list[int] = []
    kernels: dict[str, int] = {}
    positions = convs = delay_bytes = 0
    for use in group.result.uses:
        acc = use.operation
        if isinstance(acc, spikecore.AccOp):
            spikes = acc.spikes.type
            assert isinstance(spikes, spikecore.SpikesType)
            sources.append(spikes.size.data)
            delay_bytes += (0 if acc.delay is None else acc.delay.value.data) * spikes.size.data
        elif isinstance(acc, spikecore.AccConvOp):
            geometry = acc.conv.geometry()
            positions, convs = geometry.out_positions, convs + 1
            kernels[acc.synapses.root_reference.data] = geometry.fan_in
    return LayerDemand(
        group.layer.data, group.size, sum(sources), positions, tuple(kernels.values()), convs, delay_bytes
    )


def balanced_split(neurons: int, parts: int) -> list[int]:
    """``neurons`` split over ``parts`` cores, the first ``neurons % parts`` getting one more."""
    quotient, remainder = divmod(neurons, parts)
    return [quotient + (1 if i < remainder else 0) for i in range(parts)]


def _largest(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The largest value in [low, high] for which the predicate ``fits`` (true up to some value) holds; 0 if none."""
    if low > high or not fits(low):
        return 0
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _smallest(fits: Callable[[int], bool], low: int, high: int) -> int | None:
    """The smallest value in [low, high] for which the monotone predicate ``fits`` holds."""
    if low > high or not fits(high):
        return None
    while low < high:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid + 1
    return low


def check_fits(demands: Sequence[LayerDemand], target: TargetDescription, program: str) -> None:
    """Raise PlacementError unless every layer fits ``target`` with its own cores."""
    for demand in demands:
        if demand.capacity(target) == 0:
            needed = demand.needed_bytes()
            what = f"fan-in {demand.fan_in}" if not demand.positions else "its kernel rows, geometry records and fan-in"
            raise PlacementFailure(
                f"one neuron needs {needed} bytes of synaptic memory ({what}) but target "
                f"'{target.name}' has {target.synapse_bytes} per core: use synapse-bytes={needed} or more, "
                "or reduce the layer's input width" + (" or kernel size" if demand.positions else ""),
                demand.layer,
            )
    needed = sum(d.cores(target) for d in demands)
    if needed <= target.cores:
        return
    per_layer = ", ".join(f'"{d.layer}" {d.cores(target)}' for d in demands)
    worst = max(demands, key=lambda d: d.cores(target))
    options = [f"a target with >= {needed} cores (cores={needed})"] if needed <= _MAX_FIELD else []
    npc = _smallest(
        lambda n: sum(d.cores(target.with_options(neurons_per_core=n)) for d in demands) <= target.cores,
        target.neurons_per_core + 1,
        _MAX_FIELD,
    )
    if npc is not None:
        options.append(f"neurons-per-core={npc}")
    elif all(d.capacity(target) < target.neurons_per_core for d in demands):
        options.append("more synaptic memory per core (synapse-bytes=...)")
    if len(demands) <= target.cores:
        options.append(f'reduce the layer width (the widest, "{worst.layer}", has {worst.neurons} neurons)')
    else:
        options.append(f"fewer layers (each of the {len(demands)} layers needs its own cores)")
    raise PlacementFailure(
        f"the network needs {needed} cores ({per_layer}; each layer on its own cores, at most "
        f"{target.neurons_per_core} neuron{'' if target.neurons_per_core == 1 else 's'} and {target.synapse_bytes} "
        f"synapse bytes per core) but target "
        f"'{target.name}' has {target.cores}; to fit, use " + " or ".join(options),
        f"@{program}",
    )


def place_program(program: spikecore.ProgramOp, target: TargetDescription) -> None:
    """Set every group's placement (fresh cores per layer, in program order) and the program's target."""
    groups = [op for op in program.body.ops if isinstance(op, spikecore.GroupOp)]
    demands = [group_demand(g) for g in groups]
    check_fits(demands, target, program.sym_name.data)
    next_core = 0
    for group, demand in zip(groups, demands):
        counts = demand.split(target)
        group.placement = ArrayAttr([spikecore.SliceAttr(next_core + i, 0, n) for i, n in enumerate(counts)])
        next_core += len(counts)
    program.target = spikecore.TargetAttr.from_description(target)


def resolve_target(program: spikecore.ProgramOp, name: str | None, **overrides: int) -> TargetDescription:
    """The program's target (or the named one), with the nonzero ``overrides`` applied."""
    base = program.target.description() if name is None or name == "" else get_target(name)
    changes = {key: value for key, value in overrides.items() if value}
    return base.with_options(**changes) if changes else base


@dataclass(frozen=True)
class PlacePass(ModulePass):
    """Place every `spikecore.program`'s groups on cores; options override the target's limits
    (0 keeps the target's value) and are recorded in the program's target attribute."""

    name = "spikecore-place"

    target: str | None = None
    """Target name (spikeir.chip.target.TARGETS); default: the program's own target."""
    neurons_per_core: int = 0
    cores: int = 0
    synapse_bytes: int = 0

    def __post_init__(self) -> None:
        check_option_types(self)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for name, value in (
            ("neurons-per-core", self.neurons_per_core),
            ("cores", self.cores),
            ("synapse-bytes", self.synapse_bytes),
        ):
            if value < 0:
                raise PlacementFailure(f"{name} must be positive (or 0 for the target's value), got {value}", self.name)
        if not any(isinstance(program, spikecore.ProgramOp) for program in op.ops):
            nothing_to_do(self.name, op, "nothing to place: the module has no spikecore.program")
            return
        with pass_errors(self.name):  # an unknown target name or an invalid override is a TargetError
            for program in op.ops:
                if isinstance(program, spikecore.ProgramOp):
                    target = resolve_target(
                        program,
                        self.target,
                        neurons_per_core=self.neurons_per_core,
                        cores=self.cores,
                        synapse_bytes=self.synapse_bytes,
                    )
                    place_program(program, target)


def placement_report(module: ModuleOp) -> list[dict[str, object]]:
    """Per used core of every placed program: its layer, neurons used / capacity, synapse bytes used /
    capacity. Core order; for a utilisation table or plot."""
    rows: list[dict[str, object]] = []
    for program in module.walk():
        if not isinstance(program, spikecore.ProgramOp):
            continue
        target = program.target.description()
        for group in program.body.ops:
            if not isinstance(group, spikecore.GroupOp):
                continue
            if group.placement is None:
                raise PlacementError(
                    f'group "{group.layer.data}" is not placed: run spikecore-place first', f"@{program.sym_name.data}"
                )
            demand = group_demand(group)
            first = 0
            for s in group.slices:
                kernel = demand.kernel_bytes(first, s.count.data)
                first += s.count.data
                rows.append(
                    {
                        "program": program.sym_name.data,
                        "core": s.core.data,
                        "layer": group.layer.data,
                        "neurons": s.count.data,
                        "neuron_capacity": target.neurons_per_core,
                        "synapse_bytes": s.count.data * demand.fan_in + kernel,
                        "synapse_capacity": target.synapse_bytes,
                    }
                )
    return sorted(rows, key=lambda r: (str(r["program"]), int(r["core"])))  # type: ignore[arg-type]
