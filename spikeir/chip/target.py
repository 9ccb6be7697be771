"""SpikeCore target descriptions: the resource limits and energy costs the compiler plans against.

The defaults of ``spikecore-v1`` follow Intel Loihi (Davies et al., IEEE Micro 2018): 128 cores per
chip, up to 1,024 neurons (compartments) per core and 128 KiB of synaptic memory per core. The energy
table is Loihi's pre-silicon table from the same paper; every energy figure we report is an *estimate*
from it. docs/isa.md explains each field.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from spikeir.errors import TargetError


@dataclass(frozen=True)
class EnergyTable:
    """Energy per primitive operation, in picojoules (Loihi, Davies et al. 2018, Table 1)."""

    synaptic_op_pj: float = 23.6
    neuron_update_active_pj: float = 81.0
    neuron_update_inactive_pj: float = 52.0
    spike_intra_core_pj: float = 1.7
    spike_inter_core_pj: float = 3.5


TARGET_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.+-]*"
"""The characters a target name may use (so every program has an assembly text form and an image)."""
NAME_SIZE = 32
"""The longest target name, in bytes: the image header's name field (``spikecore-v1-seed`` is 17)."""
FIELD_LIMITS = {
    "cores": 0xFFFF,
    "neurons_per_core": 0xFFFF,
    "synapse_bytes": 2**32 - 1,
    "max_fan_in": 2**32 - 1,
    "bus_size": 2**32 - 1,
}
"""The largest value of each resource field: the widths of the binary image's header fields, so
whatever a target says can be written in both stored forms and read back."""


@dataclass(frozen=True)
class TargetDescription:
    """What one SpikeCore chip offers. Immutable: derive variants with :meth:`with_options`."""

    name: str = "spikecore-v1"
    cores: int = 128
    neurons_per_core: int = 1024
    synapse_bytes: int = 131072
    """Synaptic memory per core: one byte per int8 weight of every ACC block stored on the core."""
    max_fan_in: int = 16384
    """Longest source range one ACC may read (synapses per neuron per instruction)."""
    bus_size: int = 262144
    """Addresses on the spike bus: the input port and every FIRE destination live in [0, bus_size)."""
    clock_mhz: float = 100.0
    """Clock used to turn cycle counts into time estimates."""
    energy: EnergyTable = field(default_factory=EnergyTable)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(TARGET_NAME, self.name) or len(self.name) > NAME_SIZE:
            raise TargetError(
                f"target name {self.name!r}: expected 1 to {NAME_SIZE} characters of [A-Za-z0-9_.+-] "
                "(the image's name field)"
            )
        for name, limit in FIELD_LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise TargetError(f"target '{self.name}': {name} must be a positive integer, got {value!r}")
            if value > limit:
                bits = limit.bit_length()
                raise TargetError(
                    f"target '{self.name}': {name} {value} does not fit {bits} bits (the image's field width)"
                )

    def with_options(self, **options: int | float | str) -> TargetDescription:
        """A copy with some fields replaced, e.g. ``neurons_per_core=1`` for the seed's mapping."""
        known = {f.name for f in dataclasses.fields(self)} - {"energy"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TargetError(f"unknown target option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **options)  # type: ignore[arg-type]

    @property
    def total_neurons(self) -> int:
        return self.cores * self.neurons_per_core


SPIKECORE_V1 = TargetDescription()

TARGETS: dict[str, TargetDescription] = {
    "spikecore-v1": SPIKECORE_V1,
    # The seed notebook's mapping: one neuron per core, so a 784-64-10 MLP uses cores 0-73.
    "spikecore-v1-seed": SPIKECORE_V1.with_options(name="spikecore-v1-seed", neurons_per_core=1),
}


def get_target(name: str | TargetDescription, **options: int | float | str) -> TargetDescription:
    """Look a target up by name and apply option overrides."""
    if isinstance(name, TargetDescription):
        base = name
    else:
        try:
            base = TARGETS[name]
        except KeyError:
            raise TargetError(f"unknown target '{name}'; known targets: {', '.join(sorted(TARGETS))}") from None
    return base.with_options(**options) if options else base
