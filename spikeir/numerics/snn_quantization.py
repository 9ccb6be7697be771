"""Native spiking networks in discrete time, in float and on the chip's integers (docs/nir.md).

A NIR graph, once its continuous-time parameters are discretized (`spikeir.frontends.nir`), is a
:class:`SNNSpec`: neuron layers in execution order, each with its input projections (a real weight
matrix per source, a delay, a compartment), per-step biases, decays, a threshold and a reset. This
module owns the two things every user of such a spec needs and that must agree exactly:

- :func:`simulate`: the float reference (numpy, float64) of the spec, in the chip's order of
  operations (decay, inputs, fire, reset), so the only differences from the hardware model are the
  roundings quantization makes;
- :func:`quantize_snn`: the spec on SpikeCore's integers: int8 weights, int32 biases, thresholds
  and reset values, 12-bit decays, calibrated on sample input streams, per layer or per channel,
  with the error of every rounding reported per layer (:class:`LayerError`).

Units. Spikes have payload 1 and real value 1.0; the streamed input has payload ``p`` and real value
``p * input_scale``. A layer's integer V stands for ``V * unit`` (one unit per layer or per neuron),
so a weight of real value ``w`` from a source of unit ``s`` is ``rint(w * s / unit)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikeir.chip.isa import DECAY_ONE, ConvGeometry
from spikeir.errors import QuantizationError
from spikeir.numerics.quantization import INT8_MAX, INT32_MAX, INT32_MIN, ZERO_RANGE

Comparison = Literal["gt", "ge"]
"""How a spike is decided: NIR's ``v > threshold`` (``gt``) or sinabs/SpikingJelly's ``v >= threshold``."""
Reset = Literal["subtract", "zero", "value"]
Compartment = Literal["v", "i"]

INPUT = "input"
"""The source name of the streamed input port."""
SNAP = 1e-9
"""A threshold within this relative distance of an integer number of units is that integer (float
division of an on-grid threshold by its unit can miss the integer by an ulp)."""


@dataclass(frozen=True)
class Projection:
    """One input of a layer: ``weight @ source`` (real values) added every step, ``delay`` steps late."""

    source: str
    """``INPUT`` or the name of an earlier (or, with delay >= 1, any) layer."""
    weight: NDArray[np.float64]
    """(layer size, source size): real contribution per real unit of the source."""
    delay: int = 0
    compartment: Compartment = "v"
    conv: tuple[ConvGeometry, NDArray[np.float64]] | None = None
    """A conv ACC: its geometry and real kernel (C', Cg*kh*kw); ``weight`` is then its dense form."""


@dataclass(frozen=True)
class NeuronLayer:
    """A group of neurons in discrete time (the per-step update of docs/isa.md "Neuron models as programs")."""

    name: str
    kind: str
    """The NIR node type it came from (IF, LIF, CubaLIF, ...; ``Affine`` for a current readout)."""
    size: int
    projections: tuple[Projection, ...]
    bias_v: NDArray[np.float64]
    """Real value added to V every step."""
    decay_v: NDArray[np.float64] | None = None
    """Fraction of V lost per step, in [0, 1] (1.0 clears V: a stateless layer); None: no leak."""
    decay_i: NDArray[np.float64] | None = None
    """CUBA layers: fraction of I lost per step; I enters V every step after its inputs."""
    bias_i: NDArray[np.float64] | None = None
    threshold: NDArray[np.float64] | None = None
    """None: the layer does not fire (a readout of V)."""
    reset: Reset = "subtract"
    v_reset: NDArray[np.float64] | None = None
    """Real reset values (``reset == "value"``)."""

    @property
    def cuba(self) -> bool:
        return self.decay_i is not None

    @property
    def spiking(self) -> bool:
        return self.threshold is not None


@dataclass(frozen=True)
class SNNSpec:
    """A discrete-time SNN: layers in execution order, the input size, the comparison and the readout."""

    n_inputs: int
    layers: tuple[NeuronLayer, ...]
    output: str
    """The layer whose spikes (spiking layer) or V (readout) is the network's output."""
    comparison: Comparison = "gt"

    def layer(self, name: str) -> NeuronLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


@dataclass
class SimulationResult:
    """Per-step records of every layer: ``spikes[name]`` (B, T, n) of 0/1, ``v``/``i`` after the step."""

    spikes: dict[str, NDArray[np.float64]] = field(default_factory=dict[str, NDArray[np.float64]])
    v: dict[str, NDArray[np.float64]] = field(default_factory=dict[str, NDArray[np.float64]])
    i: dict[str, NDArray[np.float64]] = field(default_factory=dict[str, NDArray[np.float64]])


def simulate(spec: SNNSpec, stream: ArrayLike) -> SimulationResult:
    """The float reference of ``spec`` on real-valued input ``stream`` (B, T, n_inputs)."""
    x = np.asarray(stream, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != spec.n_inputs:
        raise QuantizationError(
            f"a stream must have shape (batch, timesteps, {spec.n_inputs}), got {x.shape}", "simulate"
        )
    batch, steps = x.shape[:2]
    outputs: dict[str, NDArray[np.float64]] = {INPUT: x}
    result = SimulationResult()
    for layer in spec.layers:
        outputs[layer.name] = np.zeros((batch, steps, layer.size))
    state = {layer.name: (np.zeros((batch, layer.size)), np.zeros((batch, layer.size))) for layer in spec.layers}
    for layer in spec.layers:
        result.v[layer.name] = np.zeros((batch, steps, layer.size))
        result.i[layer.name] = np.zeros((batch, steps, layer.size))
    for t in range(steps):
        for layer in spec.layers:
            v, i = state[layer.name]
            v, i = _step(spec, layer, v, i, outputs, t)
            state[layer.name] = (v, i)
            result.v[layer.name][:, t] = v
            result.i[layer.name][:, t] = i
    for layer in spec.layers:
        if layer.spiking:
            result.spikes[layer.name] = outputs[layer.name]
    return result


def _projected(
    layer: NeuronLayer, outputs: dict[str, NDArray[np.float64]], t: int, compartment: Compartment
) -> NDArray[np.float64]:
    total = np.zeros((next(iter(outputs.values())).shape[0], layer.size))
    for p in layer.projections:
        if p.compartment == compartment and t - p.delay >= 0:
            total += outputs[p.source][:, t - p.delay] @ p.weight.T
    return total


def _step(
    spec: SNNSpec,
    layer: NeuronLayer,
    v: NDArray[np.float64],
    i: NDArray[np.float64],
    outputs: dict[str, NDArray[np.float64]],
    t: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One step of one layer, in the chip's order: decay I, inputs to I, decay V, I, inputs, bias, fire."""
    if layer.decay_i is not None:
        i = i * (1.0 - layer.decay_i) + _projected(layer, outputs, t, "i")
        if layer.bias_i is not None:
            i = i + layer.bias_i
    if layer.decay_v is not None:
        v = v * (1.0 - layer.decay_v)
    v = v + _projected(layer, outputs, t, "v") + (i if layer.cuba else 0.0) + layer.bias_v
    if layer.threshold is not None:
        spikes = (v > layer.threshold) if spec.comparison == "gt" else (v >= layer.threshold)
        outputs[layer.name][:, t] = spikes
        if layer.reset == "subtract":
            v = v - spikes * layer.threshold
        else:
            target = 0.0 if layer.v_reset is None else layer.v_reset
            v = np.where(spikes, target, v)
    return v, i


# --- quantization ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerError:
    """What rounding to the chip's integers cost in one layer (all relative errors are fractions)."""

    layer: str
    unit: float
    """The layer's unit (the largest, with per-channel units)."""
    weight_rel_rms: float
    """``||w_q * unit - w|| / ||w||`` over all the layer's projections (0 for an exact grid)."""
    weight_clipped: int
    """Weights outside int8 after rounding (only possible for per-layer units of a joint scale)."""
    bias_max_abs: float
    """Largest ``|b_q * unit - b|``, in real units."""
    threshold_max_rel: float
    """Largest relative change of a threshold (``>`` mapped to ``>=`` is exact on integer V)."""
    decay_max_abs: float
    """Largest ``|dv/4096 - decay|``: the decay a 12-bit fraction cannot represent."""
    headroom_bits: float | None
    """log2(2^31 / the largest |V| or |I| the float model reached on the calibration streams, in
    units); None without calibration streams. Below 0 the chip saturates."""


@dataclass(frozen=True)
class QuantizedProjection:
    source: str
    weight: NDArray[np.int8]
    delay: int
    compartment: Compartment
    conv: tuple[ConvGeometry, NDArray[np.int8]] | None = None
    """A conv ACC's geometry and int8 kernel (``weight`` is its dense form)."""


@dataclass(frozen=True)
class QuantizedLayer:
    """One layer on the chip: every table the program needs, in integers."""

    spec: NeuronLayer
    unit: NDArray[np.float64]
    """(size,) real value of one unit of V (and I)."""
    projections: tuple[QuantizedProjection, ...]
    bias_v: NDArray[np.int32]
    bias_i: NDArray[np.int32] | None
    decay_v: NDArray[np.int32] | None
    decay_i: NDArray[np.int32] | None
    threshold: NDArray[np.int32] | None
    v_reset: NDArray[np.int32] | None
    compensation: NDArray[np.int8] | None = None
    """Subtractive reset under ``v > q`` only: the deployed threshold is ``floor(q)`` for both the
    comparison (``V > floor(q)`` is the chip's ``V >= theta`` with ``theta = floor(q) + 1``) and the
    reset, so FIRE's subtraction of theta takes one unit too many; a delay-1 ACC of the layer's
    own spikes with these weights (ones) adds it back the next step, before anything reads V.
    None under ``>=`` (``theta = ceil(q)`` serves both)."""

    @property
    def subtracted(self) -> NDArray[np.int32] | None:
        """What a spike really subtracts from V: ``theta - compensation``."""
        if self.threshold is None:
            return None
        return self.threshold if self.compensation is None else self.threshold - self.compensation


@dataclass(frozen=True)
class QuantizedSNN:
    spec: SNNSpec
    input_scale: float
    layers: tuple[QuantizedLayer, ...]
    errors: tuple[LayerError, ...]


def input_scale_of(calibration: NDArray[np.float64] | None) -> float:
    """1.0 for spikes (no calibration) or any integer stream within int8 (payload = value, exact);
    else ``max|x| / 127``. (A spike payload of 127 would give the first layer finer units, but a
    layer that also reads spikes shares one unit with them, and exactness on integer graphs is lost.)"""
    if calibration is None or calibration.size == 0:
        return 1.0
    if np.all(calibration == np.rint(calibration)) and calibration.min() >= -128 and calibration.max() <= 127:
        return 1.0
    peak = float(np.abs(calibration).max())
    return peak / INT8_MAX if peak >= ZERO_RANGE else 1.0


def quantize_snn(spec: SNNSpec, calibration: ArrayLike | None = None, per_channel: bool = False) -> QuantizedSNN:
    """``spec`` on the chip's integers; ``calibration`` (B, T, n_inputs) real streams set the input
    scale and measure each layer's headroom in int32 (a layer that would saturate is an error)."""
    cal = None if calibration is None else np.asarray(calibration, dtype=np.float64)
    if cal is not None and (cal.ndim != 3 or cal.shape[2] != spec.n_inputs or not np.all(np.isfinite(cal))):
        raise QuantizationError(
            f"calibration streams must be finite, of shape (batch, timesteps, {spec.n_inputs}); got {cal.shape}",
            "calibration",
        )
    s_in = input_scale_of(cal)
    peaks = _peaks(spec, cal)
    layers: list[QuantizedLayer] = []
    errors: list[LayerError] = []
    for layer in spec.layers:
        shared = any(p.conv is not None for p in layer.projections)  # a shared kernel needs one unit
        units = _units(layer, s_in, per_channel and layer.name != spec.output and not shared)
        q, error = _quantize_layer(spec, layer, units, s_in, peaks.get(layer.name))
        layers.append(q)
        errors.append(error)
    return QuantizedSNN(spec, s_in, tuple(layers), tuple(errors))


def _peaks(spec: SNNSpec, cal: NDArray[np.float64] | None) -> dict[str, NDArray[np.float64]]:
    """Per layer and neuron, the largest |V| or |I| of the float model on the calibration streams."""
    if cal is None:
        return {}
    sim = simulate(spec, cal)
    return {
        name: np.maximum(np.abs(sim.v[name]).max(axis=(0, 1)), np.abs(sim.i[name]).max(axis=(0, 1))) for name in sim.v
    }


def _units(layer: NeuronLayer, s_in: float, per_channel: bool) -> NDArray[np.float64]:
    """The unit of each neuron: its largest real incoming weight (times the source unit) / 127, over
    all its projections, since every ACC into a neuron adds into the same integer V."""
    rows = np.zeros(layer.size)
    for p in layer.projections:
        src_unit = s_in if p.source == INPUT else 1.0
        if p.weight.size:
            rows = np.maximum(rows, np.abs(p.weight).max(axis=1) * src_unit)
    if not per_channel:
        rows = np.full(layer.size, rows.max(initial=0.0))
    fallback = rows.max(initial=0.0)
    if fallback < ZERO_RANGE:
        # no weights at all: size the unit by the threshold (or 1.0), so thresholds stay representable
        fallback = float(layer.threshold.max()) / 2**16 if layer.threshold is not None else 0.0
        fallback = fallback if fallback >= ZERO_RANGE else float(INT8_MAX)
    return np.where(rows < ZERO_RANGE, fallback, rows) / INT8_MAX


def _int32(values: NDArray[np.float64], what: str, where: str) -> NDArray[np.int32]:
    rounded = np.rint(values)
    if rounded.size and (rounded.min() < INT32_MIN or rounded.max() > INT32_MAX):
        raise QuantizationError(
            f"{what} reach {float(np.abs(rounded).max()):.3g} units, outside int32: the layer's weights are "
            f"tiny next to its {what}",
            where,
        )
    return rounded.astype(np.int32)


def _snap(q: NDArray[np.float64]) -> NDArray[np.float64]:
    near = np.rint(q)
    return np.where(np.abs(q - near) <= SNAP * np.maximum(1.0, np.abs(q)), near, q)


def _thresholds(layer: NeuronLayer, units: NDArray[np.float64], comparison: Comparison) -> NDArray[np.int32]:
    """The chip fires on ``V >= theta``: NIR's ``v > q`` is ``theta = floor(q) + 1``, ``v >= q`` is ceil(q)."""
    assert layer.threshold is not None
    where = f"layer '{layer.name}' ({layer.kind})"
    q = _snap(layer.threshold / units)
    theta = np.floor(q) + 1 if comparison == "gt" else np.ceil(q)
    if np.any(theta < 1):
        raise QuantizationError(
            f"threshold {float(layer.threshold.min())!r} cannot map onto the chip, which needs theta >= 1 "
            f"(v {'>' if comparison == 'gt' else '>='} {float(layer.threshold.min())!r} would fire with no input)",
            where,
        )
    return _int32(theta, "thresholds", where)


def _decays(values: NDArray[np.float64] | None, where: str) -> tuple[NDArray[np.int32] | None, float]:
    if values is None:
        return None, 0.0
    if np.any(values < 0) or np.any(values > 1) or not np.all(np.isfinite(values)):
        raise QuantizationError(
            f"decay per step must lie in [0, 1], got {float(values.min())!r}..{float(values.max())!r} "
            "(a time constant shorter than dt: choose a smaller dt)",
            where,
        )
    dv = np.rint(values * DECAY_ONE)
    return dv.astype(np.int32), float(np.abs(dv / DECAY_ONE - values).max(initial=0.0))


def _quantize_layer(
    spec: SNNSpec, layer: NeuronLayer, units: NDArray[np.float64], s_in: float, peak: NDArray[np.float64] | None
) -> tuple[QuantizedLayer, LayerError]:
    where = f"layer '{layer.name}' ({layer.kind})"
    projections: list[QuantizedProjection] = []
    err2 = ref2 = 0.0
    clipped = 0
    for p in layer.projections:
        src_unit = s_in if p.source == INPUT else 1.0
        scaled = p.weight * src_unit / units[:, None]
        rounded = np.rint(scaled)
        clipped += int(np.count_nonzero(np.abs(rounded) > INT8_MAX))
        w = np.clip(rounded, -INT8_MAX, INT8_MAX)
        err2 += float((((w - scaled) * units[:, None]) ** 2).sum())
        ref2 += float(((p.weight * src_unit) ** 2).sum())
        conv = None
        if p.conv is not None:
            kernel = np.clip(np.rint(p.conv[1] * src_unit / units[0]), -INT8_MAX, INT8_MAX).astype(np.int8)
            conv = (p.conv[0], kernel)
        projections.append(QuantizedProjection(p.source, w.astype(np.int8), p.delay, p.compartment, conv))
    bias_v = _int32(layer.bias_v / units, "biases", where)
    bias_err = float(np.abs(bias_v * units - layer.bias_v).max(initial=0.0))
    bias_i = None if layer.bias_i is None else _int32(layer.bias_i / units, "biases", where)
    decay_v, err_v = _decays(layer.decay_v, where)
    decay_i, err_i = _decays(layer.decay_i, where)
    theta = None if layer.threshold is None else _thresholds(layer, units, spec.comparison)
    compensation = None
    if theta is not None and layer.reset == "subtract" and spec.comparison == "gt":
        compensation = np.ones(layer.size, dtype=np.int8)  # subtract floor(q) = theta - 1, as v > floor(q) means
    theta_err = 0.0
    if theta is not None and layer.threshold is not None:
        exact = layer.threshold / units
        effective = theta - 1 if spec.comparison == "gt" else theta  # V > theta-1 <=> V >= theta
        theta_err = float((np.abs(effective - exact) / np.maximum(exact, ZERO_RANGE)).max(initial=0.0))
    v_reset = None
    if layer.reset == "value":
        values = layer.v_reset if layer.v_reset is not None else np.zeros(layer.size)
        v_reset = _int32(values / units, "reset values", where)
    headroom = None
    if peak is not None:
        top = float((peak / units).max(initial=0.0))
        headroom = float(np.log2(INT32_MAX / top)) if top > 0 else float(31)
        if headroom < 0:
            raise QuantizationError(
                f"V reaches {top:.3g} units on the calibration streams, beyond int32 (the chip would saturate)",
                where,
            )
    error = LayerError(
        layer.name,
        float(units.max()),
        float(np.sqrt(err2 / ref2)) if ref2 > 0 else 0.0,
        clipped,
        bias_err,
        theta_err,
        max(err_v, err_i),
        headroom,
    )
    layer_q = QuantizedLayer(
        layer, units, tuple(projections), bias_v, bias_i, decay_v, decay_i, theta, v_reset, compensation
    )
    return layer_q, error
