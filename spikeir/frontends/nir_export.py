"""Export: the network a :class:`spikeir.snn.CompiledSNN` deploys, as a NIR graph peers import (docs/nir.md).

The graph holds the chip's integers, in chip units (one unit of V = 1.0), under NIR's reference
conventions with ``dt = 1`` (Euler, nir 1.0.4 reset by subtraction), so that a peer simulating it
reproduces the deployed network, not the float one it came from:

- each ACC is an ``Affine`` (int8 weights as floats; the layer's int32 bias on its first one);
- a layer without decay is ``IF`` (``r = 1``) or ``I``; a decay ``dv`` is ``LIF``/``LI`` with
  ``tau = 4096 / dv`` and ``r = tau`` (so ``v += (1/tau)(-v + r I)`` is ``v = (1 - dv/4096) v + I``);
  CUBA layers are ``CubaLIF`` with ``w_in = tau_syn``; a stateless layer (``dv = 4096``) is
  ``Threshold`` or an ``LI`` with ``tau = 1``;
- a threshold is also what a subtractive reset subtracts, so the graph is written for the peer's
  comparison (``comparison="gt"``: NIR, snnTorch, Norse; ``"ge"``: sinabs, SpikingJelly): the value
  a spike subtracts, which the peer's comparison must turn into the chip's ``V >= theta`` (else an
  error says which comparison fits); a layer without subtractive reset gets ``theta - 0.5``, right
  for both since V is an integer;
- an edge that closes a cycle with delay 1 is a plain cycle (NIR's recurrent reading); any other
  delay is a ``Delay`` node of ``d`` steps.

What stays different in a peer: the chip's decay rounds each step (``ceil``), a float peer does not;
a peer without SingleSpike (sinabs' default MultiSpike) or with a floor on V (sinabs' importer sets
``min_v_mem = -threshold``) must be configured (docs/nir.md, "Peers").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from spikeir.chip.isa import DECAY_ONE
from spikeir.errors import FrontendError
from spikeir.numerics.snn_quantization import INPUT, Comparison, QuantizedLayer

if TYPE_CHECKING:
    from spikeir.snn import CompiledSNN


def _tau(decay: NDArray[np.int32], where: str) -> NDArray[np.float64]:
    if np.any(decay == 0):
        raise FrontendError("a decay of 0 in a LEAK layer has no NIR time constant (tau = inf)", where)
    return DECAY_ONE / decay.astype(np.float64)


def _threshold(layer: QuantizedLayer, comparison: Comparison, where: str) -> NDArray[np.float64] | None:
    """The NIR threshold that reproduces the chip's FIRE in a peer comparing with ``comparison``.

    Without a subtractive reset ``theta - 0.5`` fits either comparison. With one, the threshold is
    also what a spike subtracts (``theta - compensation``), so the comparison must match it."""
    import nir

    if layer.threshold is None:
        return None
    if layer.spec.kind == "Threshold":
        return layer.threshold.astype(np.float64) - 0.5
    if layer.spec.reset != "subtract":
        raise FrontendError(
            f"reset '{layer.spec.reset}' cannot be written for nir {nir.version}, whose IF/LIF reset by subtraction",
            where,
        )
    subtracted = layer.subtracted
    assert subtracted is not None
    needed = 1 if comparison == "gt" else 0  # V > s <=> V >= s + 1;  V >= s
    if np.any(layer.threshold - subtracted != needed):
        other = "ge" if comparison == "gt" else "gt"
        raise FrontendError(
            f"the deployed FIRE (spike at V >= theta, subtract theta{' - 1' if needed == 0 else ''}) has no exact "
            f"form for a peer comparing with '{comparison}': export with comparison='{other}'",
            where,
        )
    return subtracted.astype(np.float64)


def _neuron(layer: QuantizedLayer, comparison: Comparison) -> Any:
    """The NIR neuron node of one chip layer, in chip units."""
    import nir

    where = f"layer '{layer.spec.name}'"
    n = layer.spec.size
    theta = _threshold(layer, comparison, where)
    if layer.decay_i is not None and layer.decay_v is not None:
        tau_syn, tau_mem = _tau(layer.decay_i, where), _tau(layer.decay_v, where)
        if theta is None:
            raise FrontendError("a CUBA readout (CubaLI) needs nir >= 1.0.8 to be written", where)
        v_leak = layer.bias_v.astype(np.float64) * tau_mem
        return nir.CubaLIF(tau_syn, tau_mem, tau_mem, v_leak, theta, w_in=tau_syn)
    if layer.decay_v is None:
        return nir.I(np.ones(n)) if theta is None else nir.IF(np.ones(n), theta)
    if np.all(layer.decay_v == DECAY_ONE) and theta is not None:
        return nir.Threshold(theta)
    tau = _tau(layer.decay_v, where)
    if theta is None:
        return nir.LI(tau, tau, np.zeros(n))
    return nir.LIF(tau, tau, np.zeros(n), theta)


def to_nir(compiled: CompiledSNN, comparison: Comparison = "gt") -> Any:
    """The deployed (quantized) network of ``compiled`` as a ``nir.NIRGraph`` (the module docstring)
    for a peer that fires on ``v > threshold`` (``gt``: NIR, snnTorch, Norse) or ``>=`` (``ge``:
    sinabs, SpikingJelly)."""
    import nir

    q = compiled.quantized
    order = {layer.spec.name: index for index, layer in enumerate(q.layers)}
    nodes: dict[str, Any] = {INPUT: nir.Input({"input": np.array([q.spec.n_inputs])})}
    edges: list[tuple[str, str]] = []
    source_of = {INPUT: INPUT}
    if q.input_scale != 1.0:
        nodes["input_scale"] = nir.Scale(np.full(q.spec.n_inputs, 1.0 / q.input_scale))
        edges.append((INPUT, "input_scale"))
        source_of[INPUT] = "input_scale"
    for layer in q.layers:
        name = layer.spec.name
        nodes[name] = _neuron(layer, comparison)
        cuba = layer.decay_i is not None
        bias = layer.bias_i if cuba else layer.bias_v
        for k, p in enumerate(layer.projections):
            affine = f"{name}_w{k}"
            b = bias if k == 0 and bias is not None else np.zeros(layer.spec.size)
            nodes[affine] = nir.Affine(p.weight.astype(np.float64), np.asarray(b, dtype=np.float64))
            start = source_of.get(p.source, p.source)
            back = p.source != INPUT and order[p.source] >= order[name] and p.delay == 1
            if p.delay and not back:
                nodes[f"{affine}_delay"] = nir.Delay(np.full(p.weight.shape[1], float(p.delay)))
                edges.append((start, f"{affine}_delay"))
                start = f"{affine}_delay"
            edges += [(start, affine), (affine, name)]
    nodes["output"] = nir.Output({"output": np.array([q.spec.layer(q.spec.output).size])})
    edges.append((q.spec.output, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)
