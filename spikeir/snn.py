"""Native SNNs from Python: run a compiled spiking network on streams, as SNN users expect (docs/nir.md).

A :class:`CompiledSNN` (made by :func:`spikeir.frontends.nir.from_nir`) runs on the SpikeCore
hardware model. Its :meth:`CompiledSNN.run` takes inputs as torch tensors or numpy arrays, either
streams ``(B, T, ...)`` or static ``(B, ...)`` values turned into streams by an encoder
(:data:`ENCODERS`: ``direct``, ``rate``/``poisson`` (seeded Bernoulli), ``latency``), and returns spike
counts, the readout's membrane potential, or per-step records (``spk_rec``/``mem_rec``, read through
the ISA's probes). ``continue_state=True`` continues the previous run, so a long stream can be fed
in chunks with exactly the result of one run (docs/isa.md §3 "State continuation").
:meth:`CompiledSNN.run_float` runs the float reference of the same discretized network
(:func:`spikeir.numerics.snn_quantization.simulate`) with the same encoders, for comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from xdsl.dialects.builtin import ModuleOp

from spikeir.chip.hardware_model import RunStats, SpikeCoreCPU
from spikeir.chip.isa import ProbeSpec, Program
from spikeir.dialects import spikecore
from spikeir.errors import DataError
from spikeir.numerics.snn_quantization import QuantizedLayer, QuantizedSNN, simulate

Encoder = Literal["direct", "rate", "poisson", "latency"]
ENCODERS: tuple[str, ...] = ("direct", "rate", "poisson", "latency")
Output = Literal["counts", "membrane", "records"]
OUTPUTS: tuple[str, ...] = ("counts", "membrane", "records")


def _as_array(x: Any) -> NDArray[np.float64]:
    """A torch tensor (any device) or array-like as float64 numpy."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    array = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise DataError("inputs contain NaN or infinite values", "run")
    return array


def encode(
    x: Any, n_inputs: int, encoder: Encoder = "direct", timesteps: int | None = None, seed: int = 0
) -> NDArray[np.float64]:
    """A (B, T, n_inputs) real stream from ``x``.

    ``direct``: ``x`` is already a stream (B, T, ...), or static values (B, ...) repeated for
    ``timesteps`` steps. ``rate``/``poisson``: values in [0, 1] are spike probabilities per step
    (Bernoulli, seeded by ``seed``). ``latency``: one spike per input at step
    ``round((1 - x) * (T - 1))`` for ``x > 0`` (bright pixels first), none for ``x <= 0``.
    """
    if encoder not in ENCODERS:
        raise DataError(f"unknown encoder {encoder!r}; expected one of {', '.join(ENCODERS)}", "encoder")
    array = _as_array(x)
    if encoder == "direct" and array.ndim > 2 and int(np.prod(array.shape[2:])) == n_inputs:
        return array.reshape(array.shape[0], array.shape[1], n_inputs)
    if array.ndim < 1 or array.size == 0 or int(np.prod(array.shape[1:])) != n_inputs:
        raise DataError(
            f"expected a stream (B, T, {n_inputs} features) or static inputs (B, {n_inputs} features), "
            f"got shape {array.shape}",
            "run",
        )
    static = array.reshape(array.shape[0], n_inputs)
    if timesteps is None or timesteps < 1:
        raise DataError(f"the {encoder} encoder of static inputs needs timesteps >= 1, got {timesteps!r}", "run")
    if encoder == "direct":
        return np.repeat(static[:, None, :], timesteps, axis=1)
    if np.any(static < 0) or np.any(static > 1):
        raise DataError(f"the {encoder} encoder needs values in [0, 1] (probabilities or intensities)", "run")
    if encoder in ("rate", "poisson"):
        rng = np.random.default_rng(seed)
        return (rng.random((static.shape[0], timesteps, n_inputs)) < static[:, None, :]).astype(np.float64)
    stream = np.zeros((static.shape[0], timesteps, n_inputs))
    steps = np.rint((1.0 - static) * (timesteps - 1)).astype(np.int64)
    lanes, inputs = np.nonzero(static > 0)
    stream[lanes, steps[lanes, inputs], inputs] = 1.0
    return stream


@dataclass
class Records:
    """Per-step records of a run: ``spk_rec[layer]`` (B, T, n) spikes and ``mem_rec[layer]`` (B, T, n)
    membrane potentials in real units (V after the step's FIRE, including the unit a compensated
    subtractive reset gives back the next step: the graph's V), for the layers asked for."""

    spk_rec: dict[str, NDArray[Any]] = field(default_factory=dict[str, NDArray[Any]])
    mem_rec: dict[str, NDArray[np.float64]] = field(default_factory=dict[str, NDArray[np.float64]])


@dataclass
class CompiledSNN:
    """A NIR graph compiled for SpikeCore: its program, IR, quantization and a way to run it."""

    program: Program
    module: ModuleOp
    quantized: QuantizedSNN
    nir_version: tuple[int, ...]
    compile_seconds: dict[str, float] = field(default_factory=dict[str, float])
    last_run: RunStats | None = None
    """The chip's accounting of the most recent `run` (spikes, synaptic ops, cycles, energy: totals over
    the batch, ``per_sample()`` per stream; docs/isa.md "Events and accounting"), None before one."""
    _cpu: SpikeCoreCPU | None = field(default=None, repr=False)
    _slices: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict[str, list[tuple[int, int, int]]])

    def __post_init__(self) -> None:
        for op in self.module.walk():
            if isinstance(op, spikecore.GroupOp):
                self._slices[op.layer.data] = [(s.core.data, s.base.data, s.count.data) for s in op.slices]

    @property
    def layers(self) -> tuple[str, ...]:
        """Layer names (the NIR nodes that became neuron groups), in execution order."""
        return tuple(layer.spec.name for layer in self.quantized.layers)

    @property
    def output_layer(self) -> str:
        return self.quantized.spec.output

    @property
    def assembly(self) -> str:
        from spikeir.chip.assembly import disassemble

        return disassemble(self.program)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The quantization error of every layer (docs/nir.md "Quantization"), as dictionaries."""
        from dataclasses import asdict

        return [asdict(e) for e in self.quantized.errors]

    def _machine(self) -> SpikeCoreCPU:
        if self._cpu is None:
            self._cpu = SpikeCoreCPU(target=self.program.target)
            self._cpu.load_program(self.program)
        return self._cpu

    def _spiking(self, name: str) -> bool:
        return self.quantized.spec.layer(name).spiking

    def run(
        self,
        x: Any,
        *,
        encoder: Encoder = "direct",
        timesteps: int | None = None,
        seed: int = 0,
        output: Output = "counts",
        record: tuple[str, ...] | None = None,
        continue_state: bool = False,
    ) -> NDArray[Any] | Records:
        """Run on the hardware model: ``counts`` of the output layer's spikes (B, n), its ``membrane``
        (B, n, real units) after the last step, or ``records`` (:class:`Records`) of the layers in
        ``record`` (default: all)."""
        if output not in OUTPUTS:
            raise DataError(f"unknown output {output!r}; expected one of {', '.join(OUTPUTS)}", "run")
        stream = encode(x, self.quantized.spec.n_inputs, encoder, timesteps, seed)
        payload = self._payload(stream)
        names = self._recorded(output, record)
        specs = [self._probe(name, index) for name in names for index in range(len(self._slices[name]))]
        cpu = self._machine()
        cpu.run(payload, continue_state=continue_state, probes=specs)
        self.last_run = cpu.stats
        probes = cpu.get_probes()
        per_layer = self._gather(names, probes)
        if output == "counts":
            return per_layer.spk_rec[self.output_layer].sum(axis=1, dtype=np.int64)
        if output == "membrane":
            if self._spiking(self.output_layer):
                return per_layer.mem_rec[self.output_layer][:, -1]
            return cpu.outputs().astype(np.float64) * self._unit(self.output_layer)
        return per_layer

    def _payload(self, stream: NDArray[np.float64]) -> NDArray[np.int8]:
        """The int8 input payloads; values beyond the calibrated range are an error, not clipped."""
        scaled = np.rint(stream / self.quantized.input_scale)
        if scaled.size and (scaled.min() < -128 or scaled.max() > 127):
            limit = 127 * self.quantized.input_scale
            raise DataError(
                f"inputs reach {float(np.abs(stream).max())!r}, beyond the compiled input range +-{limit:.4g}: "
                "compile with calibration streams that cover them",
                "run",
            )
        return scaled.astype(np.int8)

    def _recorded(self, output: Output, record: tuple[str, ...] | None) -> list[str]:
        if output == "counts":
            if not self._spiking(self.output_layer):
                raise DataError(
                    f"the output layer '{self.output_layer}' does not spike: ask for output='membrane'", "run"
                )
            return [self.output_layer]
        if output == "membrane":
            return [self.output_layer] if self._spiking(self.output_layer) else []
        names = list(self.layers if record is None else record)
        unknown = [n for n in names if n not in self._slices]
        if unknown:
            raise DataError(f"no layer '{unknown[0]}' (layers: {', '.join(self.layers)})", "record")
        return names

    def _probe(self, name: str, index: int) -> ProbeSpec:
        core, base, count = self._slices[name][index]
        return ProbeSpec(core, base, count, spikes=self._spiking(name), v=True)

    def _layer(self, name: str) -> QuantizedLayer:
        return next(layer for layer in self.quantized.layers if layer.spec.name == name)

    def _unit(self, name: str) -> NDArray[np.float64]:
        return self._layer(name).unit

    def _gather(self, names: list[str], probes: list[dict[str, NDArray[Any]]]) -> Records:
        records = Records()
        position = 0
        for name in names:
            parts = probes[position : position + len(self._slices[name])]
            position += len(parts)
            v = np.concatenate([p["v"] for p in parts], axis=-1).astype(np.float64)
            if self._spiking(name):
                spikes = np.concatenate([p["spikes"] for p in parts], axis=-1)
                records.spk_rec[name] = spikes
                compensation = self._layer(name).compensation
                if compensation is not None:  # the unit the chip gives back next step belongs to this one
                    v = v + spikes * compensation
            records.mem_rec[name] = v * self._unit(name)
        return records

    def run_float(
        self,
        x: Any,
        *,
        encoder: Encoder = "direct",
        timesteps: int | None = None,
        seed: int = 0,
        output: Output = "counts",
    ) -> NDArray[Any] | Records:
        """The float reference of the same discretized network (no quantization), same interface."""
        spec = self.quantized.spec
        result = simulate(spec, encode(x, spec.n_inputs, encoder, timesteps, seed))
        if output == "counts":
            return result.spikes[spec.output].sum(axis=1)
        if output == "membrane":
            return result.v[spec.output][:, -1]
        return Records(dict(result.spikes), dict(result.v))
