"""The `spikecore` dialect: the hardware level, one op per ISA concept (docs/isa.md).

A `spikecore.program` holds the chip's data (`spikecore.synapses` int8 weight tables and
`spikecore.params` int32 tables) and its dataflow: neuron groups (`spikecore.group`, one per layer,
placed on cores by the `spikecore-place` pass), the spike streams between them (`!spikecore.spikes<N>`), and
the per-timestep operations ACC / FIRE / LEAK ending in `spikecore.halt`. The `spikecore-asm` and
`spikecore-bin` targets expand each group over its placement into ISA instructions.

Every group and spike stream records ``unit``: the real value of one integer unit (of V after one
timestep, or of a payload), so rate conversion and output dequantization need no other state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from math import prod
from typing import ClassVar, TypeVar

from xdsl.dialects.builtin import (
    I64,
    AnyFloat,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    Float64Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
    f64,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    SymbolOpInterface,
    SymbolTable,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

from spikeir.chip.isa import ConvGeometry
from spikeir.chip.target import TargetDescription

_Table = TypeVar("_Table", bound="_TableOp")

_TARGET_FIELDS = ("cores", "neurons_per_core", "synapse_bytes", "max_fan_in", "bus_size")


@irdl_attr_definition
class TargetAttr(ParametrizedAttribute):
    """``#spikecore.target<"spikecore-v1", cores = 128, neurons_per_core = 1024, ...>``."""

    name = "spikecore.target"

    target_name: StringAttr
    cores: IntAttr
    neurons_per_core: IntAttr
    synapse_bytes: IntAttr
    max_fan_in: IntAttr
    bus_size: IntAttr

    @staticmethod
    def from_description(target: TargetDescription) -> TargetAttr:
        return TargetAttr(StringAttr(target.name), *(IntAttr(getattr(target, f)) for f in _TARGET_FIELDS))

    def description(self) -> TargetDescription:
        return TargetDescription(name=self.target_name.data, **{f: getattr(self, f).data for f in _TARGET_FIELDS})

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string_literal(self.target_name.data)
            for f in _TARGET_FIELDS:
                printer.print_string(f", {f} = {getattr(self, f).data}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            name = parser.parse_str_literal("target name")
            values: dict[str, int] = {}
            while parser.parse_optional_punctuation(",") is not None:
                key = parser.parse_identifier("target field")
                if key not in _TARGET_FIELDS:
                    parser.raise_error(f"unknown target field '{key}'; expected one of {', '.join(_TARGET_FIELDS)}")
                parser.parse_punctuation("=")
                values[key] = parser.parse_integer(allow_negative=False, allow_boolean=False)
        missing = [f for f in _TARGET_FIELDS if f not in values]
        if missing:
            parser.raise_error(f"#spikecore.target is missing {', '.join(missing)}")
        return (StringAttr(name), *(IntAttr(values[f]) for f in _TARGET_FIELDS))

    def verify(self) -> None:
        for f in _TARGET_FIELDS:
            if getattr(self, f).data <= 0:
                raise VerifyException(f"#spikecore.target {f} must be positive")


@irdl_attr_definition
class SliceAttr(ParametrizedAttribute):
    """``#spikecore.slice<core = 3, base = 0, count = 128>``: neurons of one core given to a group."""

    name = "spikecore.slice"

    core: IntAttr
    base: IntAttr
    count: IntAttr

    def __init__(self, core: int, base: int, count: int) -> None:
        super().__init__(IntAttr(core), IntAttr(base), IntAttr(count))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<core = {self.core.data}, base = {self.base.data}, count = {self.count.data}>")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: list[IntAttr] = []
        with parser.in_angle_brackets():
            for index, key in enumerate(("core", "base", "count")):
                if index:
                    parser.parse_punctuation(",")
                parser.parse_keyword(key)
                parser.parse_punctuation("=")
                values.append(IntAttr(parser.parse_integer(allow_negative=False, allow_boolean=False)))
        return values

    def verify(self) -> None:
        if self.count.data < 1:
            raise VerifyException("#spikecore.slice count must be at least 1")


class _SizedType(ParametrizedAttribute, TypeAttribute):
    """A type parametrized by a positive size, printed ``<N>``."""

    size: IntAttr

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.size.data}>")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            return (IntAttr(parser.parse_integer(allow_negative=False, allow_boolean=False)),)

    def verify(self) -> None:
        if self.size.data < 1:
            raise VerifyException(f"!{self.name} size must be at least 1")


@irdl_attr_definition
class SpikesType(_SizedType):
    """``!spikecore.spikes<N>``: N bus addresses of payloads, one per neuron or input."""

    name = "spikecore.spikes"

    def __init__(self, size: int) -> None:
        super().__init__(IntAttr(size))


@irdl_attr_definition
class GroupType(_SizedType):
    """``!spikecore.group<N>``: a population of N neurons (one layer)."""

    name = "spikecore.group"

    def __init__(self, size: int) -> None:
        super().__init__(IntAttr(size))


def _size(value: SSAValue) -> int:
    typ = value.type
    assert isinstance(typ, SpikesType | GroupType)
    return typ.size.data


def _units(attr: ArrayAttr[FloatAttr[Float64Type]]) -> tuple[float, ...]:
    return tuple(u.value.data for u in attr.data)


def _check_units(op: Operation, units: Sequence[float], size: int) -> None:
    if len(units) not in (1, size):
        raise VerifyException(f"'{op.name}' needs 1 or {size} units, got {len(units)}")
    for u in units:
        if not (math.isfinite(u) and u > 0):
            raise VerifyException(f"'{op.name}' units must be finite and positive, got {u}")


def _lookup(op: Operation, ref: SymbolRefAttr, kind: type[_Table]) -> _Table:
    """The table ``ref`` names, which must be a ``kind`` (synapses or params) of the same program."""
    found = SymbolTable.lookup_symbol(op, ref)
    if not isinstance(found, kind):
        raise VerifyException(
            f"'{op.name}' refers to @{ref.root_reference.data}, which is not a {kind.name} in this program"
        )
    return found


class _TableOp(IRDLOperation):
    """Base of the data tables: a symbol holding an integer tensor of a fixed width and rank."""

    WIDTH: ClassVar[int]
    RANK: ClassVar[int]

    sym_name = prop_def(SymbolNameConstraint())
    # Declared as any attribute so the custom syntax prints the whole `dense<...> : tensor<...>`.
    value = prop_def(Attribute)

    traits = lazy_traits_def(lambda: (SymbolOpInterface(), HasParent(ProgramOp)))
    assembly_format = "$sym_name $value attr-dict"

    def __init__(self, name: str, value: DenseIntOrFPElementsAttr) -> None:
        super().__init__(properties={"sym_name": StringAttr(name), "value": value})

    @property
    def dense(self) -> DenseIntOrFPElementsAttr:
        assert isa(self.value, DenseIntOrFPElementsAttr)
        return self.value

    def verify_(self) -> None:
        value = self.value
        if not (
            isinstance(value, DenseIntOrFPElementsAttr)
            and value.get_element_type() == IntegerType(self.WIDTH)
            and len(value.get_shape()) == self.RANK
        ):
            raise VerifyException(f"'{self.name}' @{self.sym_name.data} must hold a {self.RANK}-D i{self.WIDTH} tensor")


@irdl_op_definition
class SynapsesOp(_TableOp):
    """An int8 weight table ``[neurons, inputs]``: the ``S<id>`` of the ISA."""

    name = "spikecore.synapses"
    WIDTH: ClassVar[int] = 8
    RANK: ClassVar[int] = 2


@irdl_op_definition
class ParamsOp(_TableOp):
    """An int32 parameter table (biases, multipliers, thresholds): the ``P<id>`` of the ISA."""

    name = "spikecore.params"
    WIDTH: ClassVar[int] = 32
    RANK: ClassVar[int] = 1


@irdl_op_definition
class InputOp(IRDLOperation):
    """The input port: bus addresses ``[0, N)``, written by the host every timestep."""

    name = "spikecore.input"

    unit = prop_def(FloatAttr[Float64Type])
    """Real value of one input payload unit (the input quantization scale)."""
    stream = opt_prop_def(UnitAttr)
    """v2: the host writes a different vector each timestep (a (T, N) stream per lane)."""
    result = result_def(SpikesType)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = "`unit` $unit (`stream` $stream^)? attr-dict `:` type($result)"

    def __init__(self, size: int, unit: float, stream: bool = False) -> None:
        props: dict[str, Attribute] = {"unit": FloatAttr(unit, f64)}
        if stream:
            props["stream"] = UnitAttr()
        super().__init__(properties=props, result_types=[SpikesType(size)])

    def verify_(self) -> None:
        _check_units(self, [self.unit.value.data], 1)


@irdl_op_definition
class GroupOp(IRDLOperation):
    """A layer's neurons. ``placement`` (set by `spikecore-place`) lists the core slices that hold them, in order."""

    name = "spikecore.group"

    layer = prop_def(StringAttr)
    unit = prop_def(ArrayAttr[FloatAttr[Float64Type]])
    """Real value of one unit of V after one timestep, per neuron (or one for all)."""
    placement = opt_prop_def(ArrayAttr[SliceAttr])
    result = result_def(GroupType)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = "$layer `unit` $unit (`placed` $placement^)? attr-dict `:` type($result)"

    def __init__(
        self, layer: str, size: int, units: Sequence[float], placement: Sequence[SliceAttr] | None = None
    ) -> None:
        props: dict[str, Attribute] = {
            "layer": StringAttr(layer),
            "unit": ArrayAttr([FloatAttr(float(u), f64) for u in units]),
        }
        if placement is not None:
            props["placement"] = ArrayAttr(placement)
        super().__init__(properties=props, result_types=[GroupType(size)])

    @property
    def size(self) -> int:
        return _size(self.result)

    @property
    def units(self) -> tuple[float, ...]:
        return _units(self.unit)

    @property
    def slices(self) -> tuple[SliceAttr, ...]:
        return () if self.placement is None else tuple(self.placement.data)

    def verify_(self) -> None:
        _check_units(self, self.units, self.size)
        if self.placement is None:
            return
        total = sum(s.count.data for s in self.slices)
        if total != self.size:
            raise VerifyException(
                f"'spikecore.group' \"{self.layer.data}\" has {self.size} neurons but its placement covers {total}"
            )
        program = self.parent_op()
        if isinstance(program, ProgramOp):
            target = program.target
            for s in self.slices:
                if s.core.data >= target.cores.data or s.base.data + s.count.data > target.neurons_per_core.data:
                    raise VerifyException(
                        f"'spikecore.group' \"{self.layer.data}\" slice core {s.core.data} neurons "
                        f"[{s.base.data}:{s.base.data + s.count.data}] is outside target '{target.target_name.data}' "
                        f"({target.cores.data} cores x {target.neurons_per_core.data} neurons)"
                    )


class FireMode(StrEnum):
    """How FIRE turns potentials into payloads (docs/isa.md)."""

    GRADED = "graded"
    """int8 payloads: requantized potentials, clamped; V resets to zero."""
    BINARY = "binary"
    """Spikes of payload 1 where V reaches the threshold."""


class ResetMode(StrEnum):
    """What a binary FIRE does to V after a spike."""

    ZERO = "zero"
    SUBTRACT = "subtract"
    """V -= threshold: the residue above it is kept."""
    VALUE = "value"
    """v2: V := v_reset, one value per neuron from a params table (``reset value to @table``)."""


class Compartment(StrEnum):
    """v2: the per-neuron state an ACC adds into or a LEAK decays (docs/isa.md §1)."""

    V = "v"
    """The membrane potential (the default, v1's only state)."""
    I = "i"  # noqa: E741  (the name docs/isa.md gives the current)
    """The synaptic current of a CUBA neuron."""


FIRE_MODES = tuple(m.value for m in FireMode)
RESET_MODES = (ResetMode.ZERO.value, ResetMode.SUBTRACT.value)
"""The resets a lowering may choose (v1's); ``value`` needs a reset table and is built by hand."""
COMPARTMENTS = tuple(c.value for c in Compartment)
PROBE_KINDS = ("spikes", "v", "i")
MAX_DELAY = 65535
MAX_REFRACTORY = 255
DECAY_ONE = 4096


@irdl_attr_definition
class FireModeAttr(EnumAttribute[FireMode], SpacedOpaqueSyntaxAttribute):
    """``#spikecore<fire_mode graded>``; in the custom syntax of `spikecore.fire` just ``graded``."""

    name = "spikecore.fire_mode"


@irdl_attr_definition
class ResetModeAttr(EnumAttribute[ResetMode], SpacedOpaqueSyntaxAttribute):
    """``#spikecore<reset subtract>``; in the custom syntax of `spikecore.fire` ``reset subtract``."""

    name = "spikecore.reset"


@irdl_attr_definition
class CompartmentAttr(EnumAttribute[Compartment], SpacedOpaqueSyntaxAttribute):
    """``#spikecore<compartment i>``; in the custom syntax of acc, acc_bias, acc_conv and leak ``compartment i``."""

    name = "spikecore.compartment"


@irdl_op_definition
class AccOp(IRDLOperation):
    """ACC: every neuron of ``group`` accumulates ``synapses @ spikes``.

    v2: ``compartment i`` adds into the current I instead of V; ``delay d`` reads the stream as it
    was d timesteps ago (d >= 1 lets a group read spikes produced later in the program: recurrence).
    """

    name = "spikecore.acc"

    group = operand_def(GroupType)
    spikes = operand_def(SpikesType)
    synapses = prop_def(SymbolRefAttr)
    compartment = opt_prop_def(CompartmentAttr)
    delay = opt_prop_def(IntegerAttr[I64])

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = (
        "$group `,` $spikes `,` $synapses (`compartment` $compartment^)? (`delay` $delay^)? "
        "attr-dict `:` type($group) `,` type($spikes)"
    )

    def __init__(
        self,
        group: SSAValue | Operation,
        spikes: SSAValue | Operation,
        synapses: str,
        compartment: Compartment | str | None = None,
        delay: int | None = None,
    ) -> None:
        props: dict[str, Attribute] = {"synapses": SymbolRefAttr(synapses)}
        _set_v2_acc_props(props, compartment, delay)
        super().__init__(operands=[group, spikes], properties=props)

    def verify_(self) -> None:
        table = _lookup(self, self.synapses, SynapsesOp)
        expected = (_size(self.group), _size(self.spikes))
        if table.dense.get_shape() != expected:
            raise VerifyException(
                f"'spikecore.acc' synapses @{table.sym_name.data} have shape {list(table.dense.get_shape())}, "
                f"expected {list(expected)} (group x spikes)"
            )
        _verify_delay(self, self.delay, self.spikes)


def _set_v2_acc_props(props: dict[str, Attribute], compartment: Compartment | str | None, delay: int | None) -> None:
    if compartment is not None:
        props["compartment"] = CompartmentAttr(Compartment(compartment))
    if delay is not None:
        props["delay"] = IntegerAttr(delay, i64)


def _verify_delay(op: Operation, delay: IntegerAttr[IntegerType] | None, spikes: SSAValue) -> None:
    """A delay lies in 0..65535; a zero-delay read of a stream whose FIRE comes later reads zeros."""
    d = 0 if delay is None else delay.value.data
    if not 0 <= d <= MAX_DELAY:
        raise VerifyException(f"'{op.name}' delay must be in 0..{MAX_DELAY}, got {d}")
    producer = spikes.owner
    if d == 0 and isinstance(producer, Operation) and producer.parent is op.parent and op.parent is not None:
        block = op.parent
        if block.get_operation_index(producer) > block.get_operation_index(op):
            raise VerifyException(
                f"'{op.name}' reads a spike stream produced later in the program with delay 0 (it would read "
                "zeros): a recurrent read needs delay >= 1"
            )


@irdl_op_definition
class AccBiasOp(IRDLOperation):
    """ACC of a bias table: a constant current added every timestep (v2: into I with ``compartment i``)."""

    name = "spikecore.acc_bias"

    group = operand_def(GroupType)
    params = prop_def(SymbolRefAttr)
    compartment = opt_prop_def(CompartmentAttr)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = "$group `,` $params (`compartment` $compartment^)? attr-dict `:` type($group)"

    def __init__(self, group: SSAValue | Operation, params: str, compartment: Compartment | str | None = None) -> None:
        props: dict[str, Attribute] = {"params": SymbolRefAttr(params)}
        _set_v2_acc_props(props, compartment, None)
        super().__init__(operands=[group], properties=props)

    def verify_(self) -> None:
        _verify_params_length(self, self.params, _size(self.group))


@irdl_op_definition
class AccCurrentOp(IRDLOperation):
    """v2 ACC (current): the current enters the membrane, ``V := sat32(V + I)`` (a CUBA neuron's step)."""

    name = "spikecore.acc_current"

    group = operand_def(GroupType)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = "$group attr-dict `:` type($group)"

    def __init__(self, group: SSAValue | Operation) -> None:
        super().__init__(operands=[group])


_CONV_PAIRS = ("kernel", "stride", "pad", "dilation")


@irdl_attr_definition
class ConvAttr(ParametrizedAttribute):
    """v2: the geometry of a conv ACC, ``#spikecore.conv<in = CxHxW, out = C'xH'xW', kernel = KHxKW,
    stride = SHxSW, pad = PHxPW, dilation = DHxDW, groups = G>`` (docs/isa.md "ACC (conv)"; the
    fields of :class:`spikeir.chip.isa.ConvGeometry`, whose rules it verifies)."""

    name = "spikecore.conv"

    shape_in: ArrayAttr[IntAttr]
    shape_out: ArrayAttr[IntAttr]
    kernel: ArrayAttr[IntAttr]
    stride: ArrayAttr[IntAttr]
    pad: ArrayAttr[IntAttr]
    dilation: ArrayAttr[IntAttr]
    groups: IntAttr

    @staticmethod
    def from_geometry(g: ConvGeometry) -> ConvAttr:
        def ints(*values: int) -> ArrayAttr[IntAttr]:
            return ArrayAttr([IntAttr(v) for v in values])

        return ConvAttr(
            ints(g.in_channels, g.in_height, g.in_width),
            ints(g.out_channels, g.out_height, g.out_width),
            ints(g.kernel_h, g.kernel_w),
            ints(g.stride_h, g.stride_w),
            ints(g.pad_h, g.pad_w),
            ints(g.dilation_h, g.dilation_w),
            IntAttr(g.groups),
        )

    def geometry(self) -> ConvGeometry:
        c, h, w = (a.data for a in self.shape_in.data)
        oc, oh, ow = (a.data for a in self.shape_out.data)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (
            (a.data[0].data, a.data[1].data) for a in (self.kernel, self.stride, self.pad, self.dilation)
        )
        return ConvGeometry(c, h, w, oc, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, self.groups.data)

    def _fields(self) -> tuple[tuple[str, ArrayAttr[IntAttr]], ...]:
        return (
            ("in", self.shape_in),
            ("out", self.shape_out),
            ("kernel", self.kernel),
            ("stride", self.stride),
            ("pad", self.pad),
            ("dilation", self.dilation),
        )

    def print_parameters(self, printer: Printer) -> None:
        fields = ", ".join(f"{key} = {'x'.join(str(v.data) for v in value.data)}" for key, value in self._fields())
        printer.print_string(f"<{fields}, groups = {self.groups.data}>")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: list[Attribute] = []
        with parser.in_angle_brackets():
            for index, key in enumerate(("in", "out", *_CONV_PAIRS)):
                if index:
                    parser.parse_punctuation(",")
                parser.parse_keyword(key)
                parser.parse_punctuation("=")
                rank = 3 if key in ("in", "out") else 2
                pos = parser.pos
                dims = parser.parse_dimension_list()
                if len(dims) != rank or any(d < 0 for d in dims):
                    parser.raise_error(
                        f"#spikecore.conv {key} must be {rank} non-negative sizes joined by 'x'", pos, parser.pos
                    )
                values.append(ArrayAttr([IntAttr(d) for d in dims]))
            parser.parse_punctuation(",")
            parser.parse_keyword("groups")
            parser.parse_punctuation("=")
            values.append(IntAttr(parser.parse_integer(allow_negative=False, allow_boolean=False)))
        return values

    def verify(self) -> None:
        for key, value in self._fields():
            rank = 3 if key in ("in", "out") else 2
            if len(value.data) != rank:
                raise VerifyException(f"#spikecore.conv {key} must have {rank} sizes, got {len(value.data)}")
        problem = self.geometry().problem()
        if problem is not None:
            raise VerifyException(f"#spikecore.conv: {problem}")


@irdl_op_definition
class AccConvOp(IRDLOperation):
    """v2 ACC (conv): every neuron of ``group`` (the output map, C'xH'xW' C-major) accumulates the
    convolution of ``spikes`` (the input map, CxHxW) with the shared kernel ``synapses``, the im2col
    weight matrix ``[C', C/groups * kh * kw]``. ``compartment`` and ``delay`` are as for `spikecore.acc`.
    Sum pooling is a depthwise conv with a ones kernel."""

    name = "spikecore.acc_conv"

    group = operand_def(GroupType)
    spikes = operand_def(SpikesType)
    synapses = prop_def(SymbolRefAttr)
    conv = prop_def(ConvAttr)
    compartment = opt_prop_def(CompartmentAttr)
    delay = opt_prop_def(IntegerAttr[I64])

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = (
        "$group `,` $spikes `,` $synapses `conv` $conv (`compartment` $compartment^)? (`delay` $delay^)? "
        "attr-dict `:` type($group) `,` type($spikes)"
    )

    def __init__(
        self,
        group: SSAValue | Operation,
        spikes: SSAValue | Operation,
        synapses: str,
        conv: ConvAttr | ConvGeometry,
        compartment: Compartment | str | None = None,
        delay: int | None = None,
    ) -> None:
        props: dict[str, Attribute] = {
            "synapses": SymbolRefAttr(synapses),
            "conv": conv if isinstance(conv, ConvAttr) else ConvAttr.from_geometry(conv),
        }
        _set_v2_acc_props(props, compartment, delay)
        super().__init__(operands=[group, spikes], properties=props)

    def verify_(self) -> None:
        g = self.conv.geometry()
        if _size(self.spikes) != g.src_len:
            raise VerifyException(
                f"'spikecore.acc_conv' reads !spikecore.spikes<{_size(self.spikes)}> but its input map "
                f"{g.in_channels}x{g.in_height}x{g.in_width} has {g.src_len} positions"
            )
        if _size(self.group) != g.out_size:
            raise VerifyException(
                f"'spikecore.acc_conv' group has {_size(self.group)} neurons but its output map "
                f"{g.out_channels}x{g.out_height}x{g.out_width} has {g.out_size} positions"
            )
        table = _lookup(self, self.synapses, SynapsesOp)
        expected = (g.out_channels, g.fan_in)
        if table.dense.get_shape() != expected:
            raise VerifyException(
                f"'spikecore.acc_conv' kernel @{table.sym_name.data} has shape {list(table.dense.get_shape())}, "
                f"expected {list(expected)} (out channels x in_channels/groups*kh*kw)"
            )
        _verify_delay(self, self.delay, self.spikes)


def _verify_params_length(op: Operation, ref: SymbolRefAttr, size: int) -> ParamsOp:
    table = _lookup(op, ref, ParamsOp)
    if table.dense.get_shape() != (size,):
        raise VerifyException(
            f"'{op.name}' params @{table.sym_name.data} have {table.dense.get_shape()[0]} entries, expected {size}"
        )
    return table


@irdl_op_definition
class FireOp(IRDLOperation):
    """FIRE: turn potentials into payloads on the bus (docs/isa.md, "FIRE graded" / "FIRE binary").

    graded: ``params`` are requantization multipliers; ``shift`` and ``clamp [lo, hi]`` apply.
    binary: ``params`` are thresholds; ``reset`` and ``init_half`` apply.
    ``unit`` is the real value of payload 1.
    """

    name = "spikecore.fire"

    group = operand_def(GroupType)
    mode = prop_def(FireModeAttr)
    params = prop_def(SymbolRefAttr)
    shift = opt_prop_def(IntegerAttr[I64])
    lo = opt_prop_def(IntegerAttr[I64])
    hi = opt_prop_def(IntegerAttr[I64])
    reset = opt_prop_def(ResetModeAttr)
    reset_values = opt_prop_def(SymbolRefAttr)
    """v2: the params table of per-neuron reset values (``reset value to @table``)."""
    refractory = opt_prop_def(IntegerAttr[I64])
    """v2: timesteps a neuron that spiked is held at its reset value (``refractory k``)."""
    init_half = opt_prop_def(UnitAttr)
    unit = prop_def(FloatAttr[Float64Type])
    result = result_def(SpikesType)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = (
        "$group $mode $params (`shift` $shift^)? (`clamp` `[` $lo^ `,` $hi `]`)? (`reset` $reset^)? "
        "(`to` $reset_values^)? (`refractory` $refractory^)? "
        "(`init_half` $init_half^)? `unit` $unit attr-dict `:` type($group) `->` type($result)"
    )

    MODES: ClassVar[tuple[str, ...]] = FIRE_MODES

    @staticmethod
    def graded(group: SSAValue | Operation, params: str, shift: int, lo: int, hi: int, unit: float) -> FireOp:
        return FireOp.create(
            operands=[SSAValue.get(group)],
            result_types=[SpikesType(_size(SSAValue.get(group)))],
            properties={
                "mode": FireModeAttr(FireMode.GRADED),
                "params": SymbolRefAttr(params),
                "shift": IntegerAttr(shift, i64),
                "lo": IntegerAttr(lo, i64),
                "hi": IntegerAttr(hi, i64),
                "unit": FloatAttr(unit, f64),
            },
        )

    @staticmethod
    def binary(
        group: SSAValue | Operation,
        params: str,
        reset: ResetMode | str,
        init_half: bool,
        unit: float,
        *,
        reset_values: str | None = None,
        refractory: int | None = None,
    ) -> FireOp:
        props: dict[str, Attribute] = {
            "mode": FireModeAttr(FireMode.BINARY),
            "params": SymbolRefAttr(params),
            "reset": ResetModeAttr(ResetMode(reset)),
            "unit": FloatAttr(unit, f64),
        }
        if reset_values is not None:
            props["reset_values"] = SymbolRefAttr(reset_values)
        if refractory is not None:
            props["refractory"] = IntegerAttr(refractory, i64)
        if init_half:
            props["init_half"] = UnitAttr()
        return FireOp.create(
            operands=[SSAValue.get(group)], result_types=[SpikesType(_size(SSAValue.get(group)))], properties=props
        )

    def verify_(self) -> None:
        size = _size(self.group)
        if _size(self.result) != size:
            raise VerifyException(f"'spikecore.fire' of a group of {size} must produce !spikecore.spikes<{size}>")
        _check_units(self, [self.unit.value.data], 1)
        table = _verify_params_length(self, self.params, size)
        if self.mode.data == FireMode.GRADED:
            if self.shift is None or self.lo is None or self.hi is None:
                raise VerifyException("'spikecore.fire' graded needs shift and clamp [lo, hi]")
            if self.reset is not None or self.init_half is not None:
                raise VerifyException("'spikecore.fire' graded always resets to zero: no reset or init_half")
            if self.reset_values is not None or self.refractory is not None:
                raise VerifyException("'spikecore.fire' graded takes no reset values or refractory period")
            shift, lo, hi = self.shift.value.data, self.lo.value.data, self.hi.value.data
            if not 0 <= shift <= 62:
                raise VerifyException(f"'spikecore.fire' shift must be in 0..62, got {shift}")
            if not -128 <= lo <= hi <= 127:
                raise VerifyException(f"'spikecore.fire' clamp [{lo}, {hi}] must satisfy -128 <= lo <= hi <= 127")
        else:
            if self.shift is not None or self.lo is not None or self.hi is not None:
                raise VerifyException("'spikecore.fire' binary takes no shift or clamp")
            if self.reset is None:
                raise VerifyException(f"'spikecore.fire' binary needs reset {' or '.join(RESET_MODES)}")
            from spikeir.ir.arrays import to_numpy

            if (to_numpy(table.dense) <= 0).any():
                raise VerifyException(f"'spikecore.fire' binary thresholds @{table.sym_name.data} must be positive")
            self._verify_v2_reset(size)

    def _verify_v2_reset(self, size: int) -> None:
        """v2: ``reset value`` names its table (and only it does); a refractory period needs reset zero or value."""
        assert self.reset is not None
        reset = self.reset.data
        if reset == ResetMode.VALUE:
            if self.reset_values is None:
                raise VerifyException(
                    "'spikecore.fire' reset value needs the params table of reset values: reset value to @table"
                )
            _verify_params_length(self, self.reset_values, size)
        elif self.reset_values is not None:
            raise VerifyException(f"'spikecore.fire' reset {reset} takes no reset values table (only reset value does)")
        if self.refractory is not None:
            k = self.refractory.value.data
            if not 0 <= k <= MAX_REFRACTORY:
                raise VerifyException(f"'spikecore.fire' refractory must be in 0..{MAX_REFRACTORY}, got {k}")
            if k and reset == ResetMode.SUBTRACT:
                raise VerifyException("'spikecore.fire' refractory needs reset zero or reset value, not subtract")


@irdl_op_definition
class LeakOp(IRDLOperation):
    """LEAK: ``V -= V >> shift`` every timestep.

    v2: ``decay @table`` instead of a shift decays multiplicatively, ``X -= (X * dv) >> 12`` with one
    ``dv`` in 0..4096 per neuron from a params table; ``compartment i`` leaks the current I.
    """

    name = "spikecore.leak"

    group = operand_def(GroupType)
    compartment = opt_prop_def(CompartmentAttr)
    shift = opt_prop_def(IntegerAttr[I64])
    decay = opt_prop_def(SymbolRefAttr)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = (
        "$group (`compartment` $compartment^)? (`shift` $shift^)? (`decay` $decay^)? attr-dict `:` type($group)"
    )

    def __init__(self, group: SSAValue | Operation, shift: int, compartment: Compartment | str | None = None) -> None:
        props: dict[str, Attribute] = {"shift": IntegerAttr(shift, i64)}
        _set_v2_acc_props(props, compartment, None)
        super().__init__(operands=[group], properties=props)

    @staticmethod
    def decaying(group: SSAValue | Operation, decays: str, compartment: Compartment | str | None = None) -> LeakOp:
        """The v2 decay form: ``dv`` per neuron from the params table ``decays``."""
        props: dict[str, Attribute] = {"decay": SymbolRefAttr(decays)}
        _set_v2_acc_props(props, compartment, None)
        return LeakOp.create(operands=[SSAValue.get(group)], properties=props)

    def verify_(self) -> None:
        if (self.shift is None) == (self.decay is None):
            raise VerifyException("'spikecore.leak' needs exactly one of shift N or decay @table")
        if self.shift is not None:
            if not 1 <= self.shift.value.data <= 31:
                raise VerifyException(f"'spikecore.leak' shift must be in 1..31, got {self.shift.value.data}")
            return
        assert self.decay is not None
        table = _verify_params_length(self, self.decay, _size(self.group))
        from spikeir.ir.arrays import to_numpy

        values = to_numpy(table.dense)
        if ((values < 0) | (values > DECAY_ONE)).any():
            raise VerifyException(
                f"'spikecore.leak' decays @{table.sym_name.data} must lie in 0..{DECAY_ONE} (12-bit fractions)"
            )


@irdl_op_definition
class ProbeOp(IRDLOperation):
    """v2: record a group's ``spikes`` (its FIRE's payloads), ``v`` and/or ``i`` every timestep, all lanes."""

    name = "spikecore.probe"

    group = operand_def(GroupType)
    spikes = opt_prop_def(UnitAttr)
    v = opt_prop_def(UnitAttr)
    i = opt_prop_def(UnitAttr)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = "$group (`spikes` $spikes^)? (`v` $v^)? (`i` $i^)? attr-dict `:` type($group)"

    def __init__(self, group: SSAValue | Operation, kinds: Sequence[str]) -> None:
        unknown = [k for k in kinds if k not in PROBE_KINDS]
        if unknown:
            raise ValueError(f"unknown probe kind {unknown[0]!r}; expected {', '.join(PROBE_KINDS)}")
        super().__init__(operands=[group], properties={k: UnitAttr() for k in kinds})

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds recorded, in canonical order."""
        return tuple(k for k, on in zip(PROBE_KINDS, (self.spikes, self.v, self.i)) if on is not None)

    def verify_(self) -> None:
        if not self.kinds:
            raise VerifyException("'spikecore.probe' must record at least one of spikes, v, i")
        if self.spikes is not None:
            fires = [use.operation for use in self.group.uses if isinstance(use.operation, FireOp)]
            if len(fires) != 1:
                raise VerifyException(
                    f"'spikecore.probe' spikes needs the group to have exactly one spikecore.fire, it has {len(fires)}"
                )


@irdl_op_definition
class OutputOp(IRDLOperation):
    """Declares a group's potentials as program outputs (read after the run)."""

    name = "spikecore.output"

    group = operand_def(GroupType)

    traits = lazy_traits_def(lambda: (HasParent(ProgramOp),))
    assembly_format = "$group attr-dict `:` type($group)"

    def __init__(self, group: SSAValue | Operation) -> None:
        super().__init__(operands=[group])

    def verify_(self) -> None:
        owner = self.group.owner
        if isinstance(owner, GroupOp) and len(owner.units) != 1:
            raise VerifyException(
                f"'spikecore.output' group \"{owner.layer.data}\" must have one unit for all neurons "
                "(outputs are compared raw, e.g. by argmax), got one per neuron"
            )


@irdl_op_definition
class HaltOp(IRDLOperation):
    """HALT: the end of the per-timestep program."""

    name = "spikecore.halt"

    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(ProgramOp)))
    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__()


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """A SpikeCore program: tables, input port, groups and operations, in execution order."""

    name = "spikecore.program"

    sym_name = prop_def(SymbolNameConstraint())
    target = prop_def(TargetAttr)
    body = region_def("single_block")

    traits = traits_def(SymbolOpInterface(), SymbolTable(), IsolatedFromAbove())
    assembly_format = "$sym_name `target` $target attr-dict-with-keyword $body"

    def __init__(self, name: str, target: TargetDescription, body: Region) -> None:
        super().__init__(
            properties={"sym_name": StringAttr(name), "target": TargetAttr.from_description(target)},
            regions=[body],
        )

    def verify_(self) -> None:
        inputs = [op for op in self.body.ops if isinstance(op, InputOp)]
        if len(inputs) > 1:
            raise VerifyException("'spikecore.program' has more than one spikecore.input")
        if not isinstance(self.body.block.last_op, HaltOp):
            raise VerifyException("'spikecore.program' must end with spikecore.halt")
        _verify_disjoint_slices([op for op in self.body.ops if isinstance(op, GroupOp)])


def _verify_disjoint_slices(groups: Sequence[GroupOp]) -> None:
    """No two slices, of one group or of two, hold the same neuron of a core (each neuron has one state)."""
    spans = sorted(
        (s.core.data, s.base.data, s.base.data + s.count.data, g.layer.data) for g in groups for s in g.slices
    )
    for (core, base, end, layer), (next_core, next_base, next_end, next_layer) in zip(spans, spans[1:]):
        if core == next_core and next_base < end:
            raise VerifyException(
                f"'spikecore.program' core {core} neurons [{base}:{end}] of \"{layer}\" overlap "
                f"[{next_base}:{next_end}] of \"{next_layer}\": a core's neuron belongs to one slice"
            )


@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Host side: run a program on the chip. Quantizes ``input`` with the program's input unit, runs
    it, and dequantizes its outputs with their units (a float tensor in, a float tensor out)."""

    name = "spikecore.launch"

    program = prop_def(SymbolRefAttr)
    input = operand_def(TensorType[AnyFloat])
    result = result_def(TensorType[AnyFloat])

    assembly_format = "$program `(` $input `)` attr-dict `:` functional-type($input, $result)"

    def __init__(self, program: str, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type], properties={"program": SymbolRefAttr(program)})

    def verify_(self) -> None:
        found = SymbolTable.lookup_symbol(self, self.program)
        if not isinstance(found, ProgramOp):
            raise VerifyException(
                f"'spikecore.launch' refers to @{self.program.root_reference.data}, which is not a spikecore.program"
            )
        inputs = [op for op in found.body.ops if isinstance(op, InputOp)]
        in_type = self.input.type
        assert isinstance(in_type, TensorType)
        if not inputs:
            return
        if inputs[0].stream is not None:
            shape = in_type.get_shape()
            if len(shape) < 3 or prod(shape[2:]) != _size(inputs[0].result):
                raise VerifyException(
                    f"'spikecore.launch' of @{found.sym_name.data}, which streams {_size(inputs[0].result)} inputs, "
                    f"needs a (batch, timesteps, features...) tensor of {_size(inputs[0].result)} features per "
                    f"timestep, got {list(shape)}"
                )
        elif prod(in_type.get_shape()[1:]) != _size(inputs[0].result):
            raise VerifyException(
                f"'spikecore.launch' passes {prod(in_type.get_shape()[1:])} features per sample but "
                f"@{found.sym_name.data} has {_size(inputs[0].result)} inputs"
            )


SPIKECORE = Dialect(
    "spikecore",
    [
        ProgramOp,
        LaunchOp,
        SynapsesOp,
        ParamsOp,
        InputOp,
        GroupOp,
        AccOp,
        AccBiasOp,
        AccCurrentOp,
        AccConvOp,
        FireOp,
        LeakOp,
        ProbeOp,
        OutputOp,
        HaltOp,
    ],
    [TargetAttr, SliceAttr, SpikesType, GroupType, FireModeAttr, ResetModeAttr, CompartmentAttr, ConvAttr],
)
