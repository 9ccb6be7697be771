"""Accounting of a run (docs/isa.md "Events and accounting"): the counters, cycles and energy
estimate of :class:`RunStats`, and the spike log's :class:`SpikeEvent`.

Why accounting in *blocks* of timesteps: with small batches a run's time is the number of numpy
calls, not their size. So a timestep only records what it must (the events each ACC step read, per
lane, and the logged lane's payloads) into buffers, and the counters, the busiest core's cycles and
the spike log are derived from a whole block of timesteps at once (:meth:`Accounts.add_block`).

Every event count is linear in what the steps record: a dense ACC step records the events it read
(synaptic ops are events x rows, deliveries events x members), a conv ACC step (v2) the events
weighted by their static fan-out per core and by ``fan-out > 0`` (docs/isa.md "Events and
accounting"), a step with intra-core deliveries those separately; a delayed ACC records what it read
from the past bus. So the counters are one product with :attr:`Plan.record_counts` and the busiest
core's cycles one with :attr:`Plan.cycle_rows`, whatever the forms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from spikeir.chip.plan import Plan
from spikeir.chip.target import SPIKECORE_V1, TargetDescription


class SpikeEvent(NamedTuple):
    """One FIRE event of the logged lane."""

    timestep: int
    core: int
    neuron: int
    payload: int


@dataclass
class RunStats:
    """Accounting of one run (docs/isa.md "Events and accounting"); totals are summed over lanes.

    Energy is an *estimate* from the target's energy table (Loihi pre-silicon figures).
    """

    timesteps: int = 0
    batch: int = 0
    input_events: int = 0
    """Nonzero input payloads, counted once per timestep (inputs are events but not spikes)."""
    synaptic_ops: int = 0
    spikes: int = 0
    neuron_updates: int = 0
    active_updates: int = 0
    intra_core_deliveries: int = 0
    inter_core_deliveries: int = 0
    cycles: int = 0
    energy_pj: float = 0.0
    clock_mhz: float = SPIKECORE_V1.clock_mhz
    core_synaptic_ops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_spikes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_neuron_updates: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_cycles: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def inactive_updates(self) -> int:
        return self.neuron_updates - self.active_updates

    @property
    def time_us(self) -> float:
        """Estimated chip time for all lanes run one after another, at the target's clock."""
        return self.cycles / self.clock_mhz

    def per_sample(self) -> dict[str, float]:
        """Means per lane (one input vector): what one inference costs."""
        lanes = max(self.batch, 1)
        totals = {
            "input_events": self.input_events,
            "synaptic_ops": self.synaptic_ops,
            "spikes": self.spikes,
            "neuron_updates": self.neuron_updates,
            "active_updates": self.active_updates,
            "inactive_updates": self.inactive_updates,
            "intra_core_deliveries": self.intra_core_deliveries,
            "inter_core_deliveries": self.inter_core_deliveries,
            "cycles": self.cycles,
            "energy_pj": self.energy_pj,
            "time_us": self.time_us,
        }
        return {name: float(value) / lanes for name, value in totals.items()}

    @classmethod
    def chained(cls, parts: Sequence[RunStats]) -> RunStats:
        """The accounting of programs launched one after another on the same samples (a model whose
        host ops split it into regions): counters summed, per-core arrays concatenated (each program's
        cores after the previous one's), timesteps, batch and clock of the first."""
        first = parts[0]
        chained = cls(timesteps=first.timesteps, batch=first.batch, clock_mhz=first.clock_mhz)
        for f in dataclasses.fields(cls):
            values = [getattr(part, f.name) for part in parts]
            if f.name.startswith("core_"):
                setattr(chained, f.name, np.concatenate(values))
            elif f.name not in ("timesteps", "batch", "clock_mhz"):
                setattr(chained, f.name, sum(values))
        return chained

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form: plain ints, floats and lists."""
        result: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            result[f.name] = value.tolist() if isinstance(value, np.ndarray) else value
        result["inactive_updates"] = self.inactive_updates
        result["time_us"] = self.time_us
        result["per_sample"] = self.per_sample()
        return result


@dataclass
class Accounts:
    """Counters of a run that are not derived from per-lane arrays at its end."""

    synaptic_ops: int
    intra: int
    deliveries: int
    cycles: int
    core_synaptic_ops: np.ndarray
    logged: int
    """Events in the spike log so far."""

    def add_block(self, plan: Plan, records: np.ndarray) -> None:
        """Fold a block of event records, (timesteps, lanes, columns) as the ACC steps wrote them,
        into the counters and the busiest core's cycles: both are linear in the records
        (:attr:`Plan.record_counts`, :attr:`Plan.cycle_rows`)."""
        # Every count here is an integer far below 2^53: the float64 sums and products are exact.
        # The records have only a few columns, so the sums run as BLAS products over the long
        # axis (a numpy reduction over a short inner axis costs a call per row).
        flat = records.reshape(records.shape[0] * records.shape[1], records.shape[2])
        totals = (np.ones(flat.shape[0]) @ flat).astype(np.int64)
        counts = totals @ plan.record_counts
        self.synaptic_ops += int(counts[0])
        self.deliveries += int(counts[1])
        self.intra += int(counts[2])
        self.core_synaptic_ops += counts[3:]
        self.cycles += int(_busiest(plan, flat).sum()) + flat.shape[0]


_FEW_PATTERNS = 8
"""Up to this many distinct core patterns, the busiest core is found one pattern at a time."""


def _busiest(plan: Plan, flat: np.ndarray) -> np.ndarray:
    """Per recorded (timestep, lane) row, the cycles of the busiest core pattern (0 without any)."""
    rows, base = plan.cycle_rows, plan.cycle_base
    if base.size > _FEW_PATTERNS:
        return (rows.T @ flat.T + base[:, None]).max(axis=0)
    busiest = np.zeros(flat.shape[0])
    for pattern in range(base.size):
        cycles = flat @ rows[:, pattern]
        cycles += base[pattern]
        np.maximum(busiest, cycles, out=busiest)
    return busiest


def run_stats(
    plan: Plan,
    accounts: Accounts,
    spikes: np.ndarray,
    input_events: int,
    timesteps: int,
    batch: int,
    chip: TargetDescription,
) -> RunStats:
    """The statistics of a finished run: the accounts, the per-lane spike counts ``spikes`` (batch,
    cores) and the per-timestep constants of the plan, with energy from ``chip``'s table."""
    core_spikes = spikes.sum(axis=0)
    core_updates = plan.core_updates * (timesteps * batch)
    total_spikes = int(core_spikes.sum())
    updates = int(core_updates.sum())
    energy = chip.energy
    intra, inter = accounts.intra, accounts.deliveries - accounts.intra
    return RunStats(
        timesteps=timesteps,
        batch=batch,
        input_events=input_events,
        synaptic_ops=accounts.synaptic_ops,
        spikes=total_spikes,
        neuron_updates=updates,
        active_updates=total_spikes,
        intra_core_deliveries=intra,
        inter_core_deliveries=inter,
        cycles=accounts.cycles,
        energy_pj=energy.synaptic_op_pj * accounts.synaptic_ops
        + energy.neuron_update_active_pj * total_spikes
        + energy.neuron_update_inactive_pj * (updates - total_spikes)
        + energy.spike_intra_core_pj * intra
        + energy.spike_inter_core_pj * inter,
        clock_mhz=chip.clock_mhz,
        core_synaptic_ops=accounts.core_synaptic_ops,
        core_spikes=core_spikes,
        core_neuron_updates=core_updates,
        core_cycles=accounts.core_synaptic_ops + plan.core_const_cycles * (timesteps * batch),
    )
