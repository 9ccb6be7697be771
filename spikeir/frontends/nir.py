"""NIR frontend: a NIR graph (in memory or a ``.nir`` file) -> a `spikecore.program` (docs/nir.md).

NIR (Pedersen et al., Nat. Commun. 2024) describes spiking networks in continuous time. Import has
three phases, each a function here:

1. :func:`read_nir`: the graph as plain dictionaries plus the file's NIR version. A file is read
   with h5py directly, so a node the installed ``nir`` package cannot build (``CubaLI``, or
   ``v_reset`` from nir >= 1.0.8) is still read; nested subgraphs are inlined.
2. :func:`nir_to_spec`: discretization into a :class:`spikeir.numerics.snn_quantization.SNNSpec`
   under a :class:`Conventions` (``dt``, ``>`` or ``>=``, Euler or exponential leak: the exporters
   disagree, see :data:`CONVENTIONS`); the linear nodes between two neuron nodes (Affine, Linear,
   Scale, Flatten, Delay, Conv2d, SumPool2d, AvgPool2d) compose into the projections of the second:
   a conv ACC where the chain is one convolution (:func:`compose_convs`), else dense (the dense
   form is kept for the float model); each distinct delay is one projection; a cycle reads the
   previous step.
3. :func:`build_module`: the quantized network as a `spikecore.program` in ISA v2 form (LEAK decay,
   ACC into V or I, conv ACC, ACC current, binary FIRE with the reset the file's version means, a streamed
   input, a spike probe on a spiking output).

:func:`import_nir` runs the three (the `spike-opt model.nir` frontend: place it with
``-p spikecore-place``); :func:`from_nir` also places and emits it and returns a runnable
:class:`spikeir.snn.CompiledSNN`. A node or parameter that cannot be mapped is a
:class:`spikeir.errors.FrontendError` naming the node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue

from spikeir.chip.isa import ConvGeometry
from spikeir.chip.target import SPIKECORE_V1, TargetDescription, get_target
from spikeir.dialects import spikecore
from spikeir.errors import FrontendError
from spikeir.ir.arrays import dense_attr
from spikeir.numerics.convolution import ConvMap, compose_convs, unrolled
from spikeir.numerics.snn_quantization import (
    INPUT,
    Comparison,
    NeuronLayer,
    Projection,
    QuantizedLayer,
    QuantizedSNN,
    Reset,
    SNNSpec,
    quantize_snn,
)

if TYPE_CHECKING:
    from spikeir.snn import CompiledSNN

Leak = Literal["euler", "exponential"]
ResetRule = Literal["version", "subtract", "value"]

NEURONS = ("IF", "LIF", "LI", "I", "CubaLIF", "CubaLI", "Threshold")
LINEAR = ("Affine", "Linear", "Scale", "Flatten", "Delay")
CONV = ("Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")
SPIKING = ("IF", "LIF", "CubaLIF", "Threshold")
V_RESET_VERSION = (1, 0, 8)
"""From this NIR version on, IF/LIF/CubaLIF reset to ``v_reset`` (default 0); before, by subtraction."""
"""A convolution as a conv ACC holds it: geometry and real kernel (C', Cg*kh*kw)."""
_Step = tuple[str, NDArray[np.float64] | None, NDArray[np.float64], int, ConvMap | None]
"""What a walk back from a layer yields: (source, weight, bias, delay, conv), see `_Graph.walk`."""
_PASS = "_pass"
"""Internal type of a subgraph's own Input/Output nodes once inlined: the identity."""


@dataclass(frozen=True)
class Conventions:
    """How to read a graph's continuous-time parameters as one timestep of the chip.

    ``dt``: the step, in the graph's time unit. ``comparison``: NIR says ``v > v_threshold``
    (``gt``); sinabs and SpikingJelly fire on ``>=`` (``ge``) and export the same threshold.
    ``leak``: ``euler`` is NIR's reference discretization (``v += dt/tau * (v_leak - v + r*I)``,
    snnTorch and Norse import/export it); ``exponential`` is sinabs' (``v = exp(-dt/tau) v + dt*r*I``).
    ``reset``: what IF/LIF/CubaLIF do after a spike: ``version`` follows the file (subtract before
    nir 1.0.8, to ``v_reset`` from it); ``subtract`` or ``value`` (to ``v_reset``, default 0)
    override it for graphs whose exporter meant otherwise (Norse resets to v_reset but writes
    nir 1.0.4 IF nodes).
    """

    dt: float = 1.0
    comparison: Comparison = "gt"
    leak: Leak = "euler"
    reset: ResetRule = "version"


CONVENTIONS: dict[str, Conventions] = {
    "nir": Conventions(),
    "sinabs": Conventions(1.0, "ge", "exponential"),
    "spikingjelly": Conventions(1.0, "ge", "euler"),
    "snntorch": Conventions(1e-4, "gt", "euler"),
    "norse": Conventions(1.0, "gt", "euler", "value"),
}
"""The convention each exporter writes its graphs in (docs/nir.md, "Peers")."""


# --- 1. reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NIRDocument:
    """A NIR graph as dictionaries: ``nodes[name]`` holds ``type`` and the node's parameters."""

    version: tuple[int, ...]
    nodes: dict[str, dict[str, Any]]
    edges: list[tuple[str, str]]
    source: str
    """Where it came from (file name or ``<graph>``), for error locations."""

    @property
    def resets_to_value(self) -> bool:
        return self.version >= V_RESET_VERSION


def _version(text: str, where: str) -> tuple[int, ...]:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise FrontendError(f"unreadable NIR version {text!r}", where)
    return tuple(int(part or 0) for part in match.groups())


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def read_nir(graph_or_path: Any, name: str | None = None) -> NIRDocument:
    """A ``nir.NIRGraph``, a path of a ``.nir`` file, or a binary stream of one (a `NIRDocument`, already
    read, is itself: a sweep reads the file once and compiles it for every point)."""
    if isinstance(graph_or_path, NIRDocument):
        return graph_or_path
    if isinstance(graph_or_path, str | Path) or hasattr(graph_or_path, "read"):
        return _read_file(graph_or_path, name)
    to_dict = getattr(graph_or_path, "to_dict", None)
    if to_dict is None:
        raise FrontendError(
            f"expected a nir.NIRGraph, a .nir path or stream, got {type(graph_or_path).__name__}", name or "from_nir"
        )
    import nir

    data = to_dict()
    where = name or "<graph>"
    if data.get("type") != "NIRGraph":
        raise FrontendError(f"expected a NIRGraph, got a single {data.get('type')} node", where)
    return _document(data, _version(nir.version, where), where)


def _read_file(path: str | Path | IO[bytes], name: str | None) -> NIRDocument:
    import h5py
    from nir.serialization import hdf2dict

    where = name or (str(path) if isinstance(path, str | Path) else "stdin")
    try:
        with h5py.File(path, "r") as f:
            if "version" not in f or "node" not in f:
                raise FrontendError("not a NIR file: it has no 'version' and 'node' entries", where)
            entry: Any = f["version"]
            version = _version(_text(entry[()]), where)
            data = hdf2dict(f["node"])
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as err:
        raise FrontendError(f"not a NIR file (HDF5 could not read it: {err})", where) from None
    if _text(data.get("type")) != "NIRGraph":
        raise FrontendError(f"the file holds a single {_text(data.get('type'))} node, not a NIRGraph", where)
    return _document(data, version, where)


def _edges(raw: Any) -> list[tuple[str, str]]:
    return [(_text(a), _text(b)) for a, b in (raw if raw is not None else [])]


def _document(data: Mapping[str, Any], version: tuple[int, ...], where: str) -> NIRDocument:
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    with _malformed(where):
        _inline(data, "", nodes, edges, top=True)
    return NIRDocument(version, nodes, edges, where)


@contextmanager
def _malformed(where: str) -> Iterator[None]:
    """A graph whose entries have the wrong structure (a missing key, a parameter of the wrong rank)
    is a FrontendError at the graph, not a traceback."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise FrontendError(f"malformed NIR graph ({type(err).__name__}: {err})", where) from None


def _inline(
    graph: Mapping[str, Any], prefix: str, nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str]], top: bool
) -> None:
    """Add a graph's nodes and edges under ``prefix``; a nested graph's own Input/Output become
    identity nodes and edges to or from the subgraph go to them."""
    inner: dict[str, dict[str, Any]] = {}
    for key, node in dict(graph["nodes"]).items():
        kind = _text(node["type"])
        full = f"{prefix}{key}"
        if kind == "NIRGraph":
            inner[key] = node
            _inline(node, f"{full}.", nodes, edges, top=False)
        else:
            params = {k: v for k, v in node.items() if k not in ("type", "metadata")}
            nodes[full] = {"type": _PASS if kind in ("Input", "Output") and not top else kind, **params}
    for a, b in _edges(graph.get("edges")):
        sources = _ports(inner, a, prefix, "Output")
        targets = _ports(inner, b, prefix, "Input")
        edges.extend((s, t) for s in sources for t in targets)


def _ports(inner: Mapping[str, Mapping[str, Any]], name: str, prefix: str, kind: str) -> list[str]:
    """An edge end: a subgraph stands for its own Input (as target) or Output (as source) nodes."""
    if name not in inner:
        return [f"{prefix}{name}"]
    return [f"{prefix}{name}.{k}" for k, n in dict(inner[name]["nodes"]).items() if _text(n["type"]) == kind]


# --- 2. discretization ---------------------------------------------------------------------------


def _array(node: Mapping[str, Any], key: str, where: str, default: float | None = None) -> NDArray[np.float64]:
    if key not in node:
        if default is None:
            raise FrontendError(f"{node['type']} node has no '{key}'", where)
        return np.array(default, dtype=np.float64)
    value = np.asarray(node[key], dtype=np.float64)
    if not np.all(np.isfinite(value)):
        raise FrontendError(f"'{key}' has NaN or infinite values", where)
    return value


class _Graph:
    """The document with predecessor lists, node sizes and the folding of linear nodes."""

    def __init__(self, doc: NIRDocument, conv: Conventions) -> None:
        self.doc, self.conv = doc, conv
        self.preds: dict[str, list[str]] = {name: [] for name in doc.nodes}
        self.succs: dict[str, list[str]] = {name: [] for name in doc.nodes}
        for a, b in doc.edges:
            for end in (a, b):
                if end not in doc.nodes:
                    raise FrontendError(f"edge {a} -> {b} names no node '{end}'", self.where(end))
            self.preds[b].append(a)
            self.succs[a].append(b)
        self.sizes: dict[str, int] = {}
        for name, node in doc.nodes.items():
            kind = node["type"]
            if kind == "Conv1d":
                raise FrontendError(
                    "Conv1d is not supported yet (Conv2d, SumPool2d and AvgPool2d are)", self.where(name)
                )
            if kind not in (*NEURONS, *LINEAR, *CONV, "Input", "Output", _PASS):
                raise FrontendError(f"unknown NIR node type {kind!r}", self.where(name))

    def where(self, name: str) -> str:
        kind = self.doc.nodes.get(name, {}).get("type", "?")
        return f"{self.doc.source}: node '{name}' ({kind})"

    def size(self, name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in self.sizes:
            self.sizes[name] = self._size(name, seen | {name})
        return self.sizes[name]

    def _size(self, name: str, seen: frozenset[str]) -> int:
        node = self.doc.nodes[name]
        kind = node["type"]
        if kind == "Input":
            return self._input_size(name)
        if kind in ("Affine", "Linear"):
            return int(_array(node, "weight", self.where(name)).shape[0])
        if kind in CONV:
            return self.conv_of(name)[0].out_size
        own = max((np.size(v) for v in node.values() if isinstance(v, np.ndarray)), default=1)
        if own > 1 and kind in (*NEURONS, "Scale"):
            return int(own)
        preds = [p for p in self.preds[name] if p not in seen]
        if not preds:
            return int(own)
        return self.size(preds[0], seen)

    def _input_size(self, name: str) -> int:
        """The Input's width; sinabs writes the time dimension into its shape ((T, n) for n inputs),
        so a shape whose trailing dimensions give what every consuming Affine/Linear reads is that."""
        shape = [int(d) for d in np.asarray(self.doc.nodes[name].get("shape", [0]), dtype=np.int64).ravel()]
        widths = {
            int(np.shape(self.doc.nodes[s]["weight"])[1])
            for s in self.succs[name]
            if self.doc.nodes[s]["type"] in ("Affine", "Linear")
        }
        full = int(np.prod(shape))
        if len(widths) == 1 and full not in widths:
            (width,) = widths
            if any(int(np.prod(shape[i:])) == width for i in range(1, len(shape))):
                return width
        return full

    def shape(self, name: str, seen: frozenset[str] = frozenset()) -> tuple[int, ...]:
        """The (C, H, W) or (n,) shape of a node's output, where a convolution needs it."""
        node = self.doc.nodes[name]
        kind = node["type"]
        if kind == "Input":
            dims = tuple(int(d) for d in np.asarray(node.get("shape", [0]), dtype=np.int64).ravel())
            return dims[1:] if len(dims) == 4 else dims  # sinabs writes (T, C, H, W)
        if kind in CONV:
            g = self.conv_of(name)[0]
            return (g.out_channels, g.out_height, g.out_width)
        own = [np.shape(v) for v in node.values() if isinstance(v, np.ndarray) and np.ndim(v) == 3]
        if own and kind in NEURONS:
            return tuple(int(d) for d in own[0])
        preds = [p for p in self.preds[name] if p not in seen]
        if kind in (*NEURONS, "Delay", "Scale", _PASS) and preds:
            return self.shape(preds[0], seen | {name})
        return (self.size(name),)

    def conv_of(self, name: str) -> tuple[ConvGeometry, NDArray[np.float64], NDArray[np.float64], str]:
        """A Conv2d or pooling node: its geometry, kernel (C', Cg*kh*kw), per-channel bias and source."""
        node, where = self.doc.nodes[name], self.where(name)
        preds = self.preds[name]
        if len(preds) != 1:
            raise FrontendError(f"a convolution needs one input edge, it has {len(preds)}", where)
        source = preds[0]
        while self.doc.nodes[source]["type"] == _PASS and len(self.preds[source]) == 1:
            source = self.preds[source][0]
        in_shape = self.shape(source, frozenset({name}))
        if len(in_shape) != 3:
            raise FrontendError(f"a 2-D convolution needs a (C, H, W) input, got shape {in_shape}", where)
        c, h, w = in_shape
        if node["type"] == "Conv2d":
            weight = _array(node, "weight", where)
            groups = int(np.asarray(node.get("groups", 1)))
            out_c, _, kh, kw = weight.shape
            kernel = weight.reshape(out_c, -1)
            bias = np.broadcast_to(_array(node, "bias", where, 0.0), (out_c,)).astype(np.float64)
            stride, pad, dil = (
                _pair(node.get(k, d), where) for k, d in (("stride", 1), ("padding", 0), ("dilation", 1))
            )
        else:
            kh, kw = _pair(node["kernel_size"], where)
            stride, pad, dil = _pair(node.get("stride", (kh, kw)), where), _pair(node.get("padding", 0), where), (1, 1)
            out_c, groups = c, c
            kernel = np.full((c, kh * kw), 1.0 / (kh * kw) if node["type"] == "AvgPool2d" else 1.0)
            bias = np.zeros(c)
        g = ConvGeometry(c, h, w, out_c, 1, 1, kh, kw, *stride, *pad, *dil, groups)
        out_h, out_w = g.expected_out_hw()
        g = replace(g, out_height=out_h, out_width=out_w)
        problem = g.problem()
        if problem is not None:
            raise FrontendError(problem, where)
        return g, kernel, bias, source

    def walk(
        self, name: str, w: NDArray[np.float64], delay: int, path: tuple[str, ...], conv: ConvMap | None = None
    ) -> Iterator[_Step]:
        """From a node whose output reaches the layer through ``w``: yield (source, weight, None, delay,
        conv) at Input/neuron nodes and (node, None, bias, 0, None) for each bias on the way. ``conv``
        is ``w`` as one convolution of this node's output map (geometry, kernel) while the chain walked
        so far still is one (a conv ACC), else None (``w`` is then unrolled into a dense ACC)."""
        node = self.doc.nodes[name]
        kind = node["type"]
        if w.shape[1] != self.size(name):
            raise FrontendError(
                f"shape mismatch: {w.shape[1]} values expected, the node gives {self.size(name)}",
                self.where(path[-1]),
            )
        if kind == "Input" or kind in NEURONS:
            yield name, w, np.zeros(0), delay, conv
            return
        if name in path:
            raise FrontendError("a cycle through linear nodes only (no neuron on it) has no meaning", self.where(name))
        where = self.where(name)
        if kind in CONV:
            w, conv = yield from self._through_conv(name, w, conv)
        elif kind == "Affine":
            yield name, None, w @ _array(node, "bias", where), 0, None
            w, conv = w @ _array(node, "weight", where), None
        elif kind == "Linear":
            w, conv = w @ _array(node, "weight", where), None
        elif kind == "Scale":
            scale = np.broadcast_to(_array(node, "scale", where).ravel(), (w.shape[1],))
            w = w * scale[None, :]
            conv = None if conv is None or np.any(scale != scale[0]) else (conv[0], conv[1] * scale[0])
        elif kind == "Delay":
            yield from self._through_delay(name, w, delay, path, conv)
            return
        if not self.preds[name]:
            raise FrontendError("the node has no input edge", where)
        for pred in self.preds[name]:
            yield from self.walk(pred, w, delay, (*path, name), conv)

    def _through_conv(
        self, name: str, w: NDArray[np.float64], conv: ConvMap | None
    ) -> Generator[_Step, None, tuple[NDArray[np.float64], ConvMap | None]]:
        """Compose a Conv2d or pool with what follows it (yielding its bias over the positions): the
        map it feeds the layer through, dense, and as one convolution where that still is one."""
        g, kernel, bias, _ = self.conv_of(name)
        yield name, None, w @ np.repeat(bias, g.out_positions), 0, None
        dense = unrolled(g, kernel)
        gain = _channel_gain(w, g.out_channels) if conv is None else None
        if gain is not None:  # only a per-channel factor (a Scale, or nothing) between it and the layer
            return dense * np.repeat(gain, g.out_positions)[:, None], (g, kernel * gain[:, None])
        dense = w @ dense
        composed = None if conv is None else compose_convs((g, kernel), conv)
        if composed is not None and not np.allclose(unrolled(*composed), dense, rtol=1e-9, atol=1e-12):
            composed = None  # a boundary the pair does not compose at (padding over a cropped map)
        return dense, composed

    def _through_delay(
        self, name: str, w: NDArray[np.float64], delay: int, path: tuple[str, ...], conv: ConvMap | None
    ) -> Iterator[_Step]:
        """A Delay: each distinct delay of its elements is one projection (one ACC with that delay,
        the columns of the other elements zero); a single delay keeps a convolution a convolution."""
        steps = self._delay_steps(name, w.shape[1])
        values = np.unique(steps)
        where = self.where(name)
        if not self.preds[name]:
            raise FrontendError("the node has no input edge", where)
        for d in values:
            part = w if values.size == 1 else w * (steps == d)[None, :]
            for pred in self.preds[name]:
                yield from self.walk(pred, part, delay + int(d), (*path, name), conv if values.size == 1 else None)

    def _delay_steps(self, name: str, size: int) -> NDArray[np.int64]:
        """The delay of each element in steps of dt (whole numbers in 0..MAX_DELAY)."""
        where = self.where(name)
        values = _array(self.doc.nodes[name], "delay", where).ravel()
        if values.size not in (1, size):
            raise FrontendError(f"'delay' has {values.size} values for {size} elements", where)
        steps = np.broadcast_to(values / self.conv.dt, (size,))
        rounded = np.rint(steps)
        bad = np.flatnonzero(
            (np.abs(rounded - steps) > 1e-6 * np.maximum(1.0, np.abs(rounded)))
            | (rounded < 0)
            | (rounded > spikecore.MAX_DELAY)
        )
        if bad.size:
            k = int(bad[0])
            raise FrontendError(
                f"delay {float(values[k % values.size])!r} is {float(steps[k])!r} steps of dt={self.conv.dt} "
                f"(element {k}): it must be a whole number of steps in 0..{spikecore.MAX_DELAY}",
                where,
            )
        return rounded.astype(np.int64)

    def incoming(self, name: str) -> tuple[list[Projection], NDArray[np.float64]]:
        """The projections into a neuron (or readout) node, with unit gain, and the summed bias."""
        size = self.size(name)
        projections: list[Projection] = []
        bias = np.zeros(size)
        for pred in self.preds[name]:
            for source, w, b, delay, conv in self.walk(pred, np.eye(size), 0, (name,)):
                if w is None:
                    bias += b
                    continue
                kind = self.doc.nodes[source]["type"]
                if kind in NEURONS and kind not in SPIKING:
                    raise FrontendError(
                        f"feeds '{name}' with a membrane potential ({kind} does not spike): on SpikeCore only "
                        "spikes travel between layers, so a non-spiking node must be the readout",
                        self.where(source),
                    )
                projections.append(Projection(INPUT if kind == "Input" else source, w, delay, conv=conv))
        return projections, bias


def _pair(value: Any, where: str) -> tuple[int, int]:
    flat = [int(v) for v in np.asarray(value).ravel()]
    if len(flat) == 1:
        return flat[0], flat[0]
    if len(flat) != 2:
        raise FrontendError(f"expected one or two values, got {flat}", where)
    return flat[0], flat[1]


def _channel_gain(w: NDArray[np.float64], channels: int) -> NDArray[np.float64] | None:
    """The per-channel factors when ``w`` is diagonal with one value per channel of a C-major map, else None."""
    n = w.shape[0]
    if w.shape[1] != n or n % channels or np.count_nonzero(w) != np.count_nonzero(np.diagonal(w)):
        return None
    per_channel = np.diagonal(w).reshape(channels, -1)
    return per_channel[:, 0].copy() if np.all(per_channel == per_channel[:, :1]) else None


def nir_to_spec(doc: NIRDocument, conventions: Conventions | str = "nir") -> SNNSpec:
    """Discretize a NIR graph into per-step layers (docs/nir.md, "Node by node")."""
    conv = _conventions(conventions)
    with _malformed(doc.source):
        return _spec(doc, conv)


def _spec(doc: NIRDocument, conv: Conventions) -> SNNSpec:
    graph = _Graph(doc, conv)
    inputs = [n for n, node in doc.nodes.items() if node["type"] == "Input"]
    outputs = [n for n, node in doc.nodes.items() if node["type"] == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise FrontendError(
            f"the graph needs exactly one Input and one Output node, it has {len(inputs)} and {len(outputs)}",
            doc.source,
        )
    layers = {n: _neuron_layer(graph, n) for n, node in doc.nodes.items() if node["type"] in NEURONS}
    output = _readout(graph, outputs[0], layers)
    ordered = _order(layers, doc)
    return SNNSpec(graph.size(inputs[0]), tuple(ordered), output, conv.comparison)


def _conventions(conventions: Conventions | str) -> Conventions:
    if isinstance(conventions, Conventions):
        if not (math.isfinite(conventions.dt) and conventions.dt > 0):
            raise FrontendError(f"dt must be finite and positive, got {conventions.dt!r}", "conventions")
        return conventions
    if conventions not in CONVENTIONS:
        raise FrontendError(
            f"unknown convention {conventions!r}; expected one of {', '.join(CONVENTIONS)} or a Conventions",
            "conventions",
        )
    return CONVENTIONS[conventions]


def _readout(graph: _Graph, output: str, layers: dict[str, NeuronLayer]) -> str:
    """The layer the Output node reads: a neuron node through identities, else a current readout
    layer (V cleared every step) holding the linear map in front of the Output."""
    preds = graph.preds[output]
    if len(preds) != 1:
        raise FrontendError(f"the Output node needs one input edge, it has {len(preds)}", graph.where(output))
    node = preds[0]
    while graph.doc.nodes[node]["type"] in ("Flatten", _PASS) and len(graph.preds[node]) == 1:
        node = graph.preds[node][0]
    if node in layers:
        return node
    if graph.doc.nodes[node]["type"] == "Input":
        raise FrontendError("the Output reads the Input directly: there is nothing to compute", graph.where(output))
    projections, bias = graph.incoming(output)
    size = graph.size(output)
    layers[output] = NeuronLayer(output, "Affine", size, tuple(projections), bias, decay_v=np.ones(size))
    return output


def _full(value: NDArray[np.float64], size: int, key: str, graph: _Graph, name: str) -> NDArray[np.float64]:
    try:
        return np.broadcast_to(value.ravel() if value.size > 1 else value.reshape(()), (size,)).astype(np.float64)
    except ValueError:
        raise FrontendError(f"'{key}' has {value.size} values for {size} neurons", graph.where(name)) from None


def _neuron_layer(graph: _Graph, name: str) -> NeuronLayer:
    """One neuron node, discretized: per-step decays, input gains (folded into the weights), biases."""
    node, conv = graph.doc.nodes[name], graph.conv
    kind, size, where = node["type"], graph.size(name), graph.where(name)

    def param(key: str, default: float | None = None) -> NDArray[np.float64]:
        return _full(_array(node, key, where, default), size, key, graph, name)

    projections, path_bias = graph.incoming(name)
    dt = conv.dt
    threshold = param("threshold" if kind == "Threshold" else "v_threshold") if kind in SPIKING else None
    reset, v_reset = _reset(graph, name, kind)
    if kind == "Threshold":
        return NeuronLayer(
            name, kind, size, tuple(projections), path_bias, np.ones(size), threshold=threshold, reset="zero"
        )
    if kind in ("IF", "I"):
        gain = dt * param("r")
        return _layer(name, kind, projections, path_bias, gain, np.zeros(size), None, threshold, reset, v_reset)
    tau = param("tau_mem" if kind.startswith("Cuba") else "tau")
    if np.any(tau <= 0):
        raise FrontendError("time constants must be positive", where)
    decay, gain = _leak(conv, tau, param("r"))
    leak_bias = decay * param("v_leak", 0.0)
    if kind in ("LIF", "LI"):
        return _layer(name, kind, projections, path_bias, gain, leak_bias, decay, threshold, reset, v_reset)
    tau_syn = param("tau_syn")
    if np.any(tau_syn <= 0):
        raise FrontendError("time constants must be positive", where)
    decay_i, gain_i = _leak(conv, tau_syn, param("w_in", 1.0))
    total = gain * gain_i
    into_i = tuple(replace(_scaled(p, total), compartment="i") for p in projections)
    return NeuronLayer(
        name, kind, size, into_i, leak_bias, decay, decay_i, total * path_bias, threshold, reset, v_reset
    )


def _scaled(p: Projection, gain: NDArray[np.float64]) -> Projection:
    """A projection with the neuron's input gain folded in (per channel for a conv ACC's kernel)."""
    conv = p.conv
    if conv is not None:
        geometry, kernel = conv
        per_channel = gain.reshape(geometry.out_channels, -1)
        # a shared kernel needs one input gain (r, tau) per channel; else the projection stays dense
        conv = None if np.any(per_channel != per_channel[:, :1]) else (geometry, kernel * per_channel[:, :1])
    return replace(p, weight=p.weight * gain[:, None], conv=conv)


def _leak(
    conv: Conventions, tau: NDArray[np.float64], r: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(fraction lost per step, input gain) of ``tau dv/dt = -v + r I`` under the conventions."""
    if conv.leak == "euler":
        return conv.dt / tau, conv.dt * r / tau
    return 1.0 - np.exp(-conv.dt / tau), conv.dt * r


def _layer(
    name: str,
    kind: str,
    projections: list[Projection],
    path_bias: NDArray[np.float64],
    gain: NDArray[np.float64],
    leak_bias: NDArray[np.float64],
    decay: NDArray[np.float64] | None,
    threshold: NDArray[np.float64] | None,
    reset: Reset,
    v_reset: NDArray[np.float64] | None,
) -> NeuronLayer:
    scaled = tuple(_scaled(p, gain) for p in projections)
    size = gain.shape[0]
    return NeuronLayer(
        name, kind, size, scaled, gain * path_bias + leak_bias, decay, threshold=threshold, reset=reset, v_reset=v_reset
    )


def _reset(graph: _Graph, name: str, kind: str) -> tuple[Reset, NDArray[np.float64] | None]:
    """nir < 1.0.8: reset by subtraction. nir >= 1.0.8 (or a node carrying ``v_reset``): reset to v_reset."""
    node = graph.doc.nodes[name]
    if kind not in ("IF", "LIF", "CubaLIF"):
        return "zero", None
    rule = graph.conv.reset
    if rule == "subtract" or (rule == "version" and "v_reset" not in node and not graph.doc.resets_to_value):
        return "subtract", None
    v_reset = _full(_array(node, "v_reset", graph.where(name), 0.0), graph.size(name), "v_reset", graph, name)
    return ("zero", None) if not np.any(v_reset) else ("value", v_reset)


def _order(layers: dict[str, NeuronLayer], doc: NIRDocument) -> list[NeuronLayer]:
    """Layers in an order where every zero-delay projection reads an earlier layer: a depth-first
    walk along the data flow from the input; an edge back to a layer on the walk's path closes a
    cycle and reads the previous step (delay 1), as snnTorch's and nirtorch's recurrent graphs mean."""
    successors: dict[str, list[str]] = {INPUT: []}
    for name, layer in layers.items():
        successors.setdefault(name, [])
        for p in layer.projections:
            if p.delay == 0:
                successors.setdefault(p.source, []).append(name)
    rank = {name: i for i, name in enumerate(doc.nodes)}
    postorder: list[str] = []
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 finished

    def visit(name: str) -> None:
        state[name] = 1
        for succ in sorted(set(successors[name]), key=lambda n: rank[n]):
            if state.get(succ) == 1:
                back.add((name, succ))
            elif succ not in state:
                visit(succ)
        state[name] = 2
        postorder.append(name)

    for start in [INPUT, *sorted(layers, key=lambda n: rank[n])]:
        if start not in state:
            visit(start)
    ordered = [n for n in reversed(postorder) if n != INPUT]
    return [_delay_back_edges(layers[n], back) for n in ordered]


def _delay_back_edges(layer: NeuronLayer, back: set[tuple[str, str]]) -> NeuronLayer:
    projections = tuple(
        replace(p, delay=1) if p.delay == 0 and (p.source, layer.name) in back else p for p in layer.projections
    )
    return replace(layer, projections=projections)


# --- 3. the spikecore program -------------------------------------------------------------------


def _symbol(index: int, what: str) -> str:
    return f"l{index}_{what}"


def build_module(q: QuantizedSNN, target: TargetDescription = SPIKECORE_V1, name: str = "nir") -> ModuleOp:
    """The quantized network as an unplaced `spikecore.program` in a module (docs/isa.md's neuron
    models: decays first, then inputs, the current, the bias, the FIRE)."""
    tables: list[Operation] = []
    input_op = spikecore.InputOp(q.spec.n_inputs, q.input_scale, stream=True)
    groups = {layer.spec.name: spikecore.GroupOp(layer.spec.name, layer.spec.size, _units(layer)) for layer in q.layers}
    fires: dict[str, spikecore.FireOp] = {}
    for index, layer in enumerate(q.layers):
        if layer.threshold is not None:
            fires[layer.spec.name] = _fire(index, layer, groups[layer.spec.name], tables)
    streams: dict[str, SSAValue] = {INPUT: input_op.result, **{n: f.result for n, f in fires.items()}}
    body: list[Operation] = [input_op, *groups.values()]
    for index, layer in enumerate(q.layers):
        body += _layer_ops(index, layer, groups[layer.spec.name], streams, tables)
        if layer.spec.name in fires:
            body.append(fires[layer.spec.name])
    out_group = groups[q.spec.output]
    body.append(spikecore.OutputOp(out_group))
    if q.spec.output in fires:
        body.append(spikecore.ProbeOp(out_group, ["spikes"]))
    body.append(spikecore.HaltOp())
    program = spikecore.ProgramOp(name, target, Region(Block([*tables, *body])))
    module = ModuleOp([program])
    return module


def _units(layer: QuantizedLayer) -> list[float]:
    units = [float(u) for u in layer.unit]
    return units[:1] if len(set(units)) == 1 else units


def _params(tables: list[Operation], symbol: str, values: NDArray[np.int32]) -> str:
    tables.append(spikecore.ParamsOp(symbol, dense_attr(np.ascontiguousarray(values, dtype=np.int32))))
    return symbol


def _fire(index: int, layer: QuantizedLayer, group: spikecore.GroupOp, tables: list[Operation]) -> spikecore.FireOp:
    assert layer.threshold is not None
    thresholds = _params(tables, _symbol(index, "theta"), layer.threshold)
    reset_values = None
    if layer.v_reset is not None:
        reset_values = _params(tables, _symbol(index, "vreset"), layer.v_reset)
    mode = "value" if reset_values is not None else layer.spec.reset
    return spikecore.FireOp.binary(group, thresholds, mode, False, 1.0, reset_values=reset_values)


def _layer_ops(
    index: int,
    layer: QuantizedLayer,
    group: spikecore.GroupOp,
    streams: dict[str, SSAValue],
    tables: list[Operation],
) -> list[Operation]:
    ops: list[Operation] = []
    if layer.decay_i is not None:
        ops.append(spikecore.LeakOp.decaying(group, _params(tables, _symbol(index, "du"), layer.decay_i), "i"))
    ops += _accs(index, layer, group, streams, tables, "i")
    if layer.bias_i is not None and np.any(layer.bias_i):
        ops.append(spikecore.AccBiasOp(group, _params(tables, _symbol(index, "bias_i"), layer.bias_i), "i"))
    if layer.decay_v is not None:
        ops.append(spikecore.LeakOp.decaying(group, _params(tables, _symbol(index, "dv"), layer.decay_v)))
    ops += _accs(index, layer, group, streams, tables, "v")
    if layer.compensation is not None:
        symbol = _symbol(index, "comp")
        tables.append(spikecore.SynapsesOp(symbol, dense_attr(np.diag(layer.compensation).astype(np.int8))))
        ops.append(spikecore.AccOp(group, streams[layer.spec.name], symbol, None, 1))
    if layer.decay_i is not None:
        ops.append(spikecore.AccCurrentOp(group))
    if np.any(layer.bias_v):
        ops.append(spikecore.AccBiasOp(group, _params(tables, _symbol(index, "bias"), layer.bias_v)))
    return ops


def _accs(
    index: int,
    layer: QuantizedLayer,
    group: spikecore.GroupOp,
    streams: dict[str, SSAValue],
    tables: list[Operation],
    compartment: Literal["v", "i"],
) -> list[Operation]:
    ops: list[Operation] = []
    for k, p in enumerate(layer.projections):
        if p.compartment != compartment:
            continue
        if p.source not in streams:
            raise FrontendError(f"reads '{p.source}', which does not spike", f"layer '{layer.spec.name}'")
        symbol = _symbol(index, f"w{k}")
        compartment_attr = "i" if compartment == "i" else None
        if p.conv is not None:
            geometry, kernel = p.conv
            tables.append(spikecore.SynapsesOp(symbol, dense_attr(np.ascontiguousarray(kernel))))
            ops.append(
                spikecore.AccConvOp(group, streams[p.source], symbol, geometry, compartment_attr, p.delay or None)
            )
            continue
        tables.append(spikecore.SynapsesOp(symbol, dense_attr(np.ascontiguousarray(p.weight))))
        ops.append(
            spikecore.AccOp(
                group, streams[p.source], symbol, "i" if compartment == "i" else None, p.delay if p.delay else None
            )
        )
    return ops


# --- entry points ---------------------------------------------------------------------------------


def import_nir(
    graph_or_path: Any,
    conventions: Conventions | str = "nir",
    calibration: ArrayLike | None = None,
    per_channel: bool = False,
    target: TargetDescription | str = SPIKECORE_V1,
    name: str | None = None,
) -> ModuleOp:
    """A NIR graph or file -> an unplaced `spikecore.program` (run `spikecore-place` next)."""
    doc = read_nir(graph_or_path, name)
    q = quantize_snn(nir_to_spec(doc, conventions), calibration, per_channel)
    return build_module(q, get_target(target) if isinstance(target, str) else target)


def from_nir(
    graph_or_path: Any,
    conventions: Conventions | str = "nir",
    calibration: ArrayLike | None = None,
    per_channel: bool = False,
    target: TargetDescription | str = SPIKECORE_V1,
) -> CompiledSNN:
    """Import, quantize, place and emit a NIR graph: a :class:`spikeir.snn.CompiledSNN` that runs on
    the hardware model. ``conventions`` names the exporter (:data:`CONVENTIONS`) or gives dt and
    the comparison; ``calibration`` is a (B, T, n_inputs) sample of real input streams."""
    import time

    from spikeir.ir.emit import program_from_ir
    from spikeir.passes.place import place_program
    from spikeir.snn import CompiledSNN

    start = time.perf_counter()
    doc = read_nir(graph_or_path)
    spec = nir_to_spec(doc, conventions)
    q = quantize_snn(spec, calibration, per_channel)
    chip = get_target(target) if isinstance(target, str) else target
    module = build_module(q, chip)
    program_op = next(op for op in module.ops if isinstance(op, spikecore.ProgramOp))
    place_program(program_op, chip)
    program = program_from_ir(program_op)
    return CompiledSNN(program, module, q, doc.version, {"compile": time.perf_counter() - start})
