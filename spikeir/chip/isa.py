"""The SpikeCore instruction set as Python objects: opcodes, instructions, and a whole program.

This module is the in-memory form shared by the assembler (text), the image codec (bytes), the
compiler's emitter and the hardware model. Semantics live in docs/isa.md; this file only describes
shapes and static validity (:meth:`Program.validate`), never execution.

ISA v2 (docs/isa.md §0) adds, all with defaults that leave a v1 program unchanged: streamed input
(:attr:`Program.streamed_input`), probes (:class:`ProbeSpec`), ACC delays and the current
compartment ``I`` (``compartment=Compartment.I``, the text's ``.i``) on :class:`Acc`,
:class:`AccBias` and :class:`Leak`, the current ACC (:class:`AccCurrent`), the conv ACC
(:class:`AccConv` with a :class:`ConvGeometry`), the decay LEAK (:class:`LeakDecay`), and on
:class:`Fire` a reset to a per-neuron value (``ResetMode.VALUE`` with ``reset_table``/``reset_row``)
and a refractory period. :meth:`Program.uses_v2` says whether a program needs image version 2.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, overload

import numpy as np

from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.errors import ProgramError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


class Opcode(enum.IntEnum):
    """The primary opcode byte of an instruction. 0x00 is deliberately invalid."""

    ACC = 0x01
    FIRE = 0x02
    LEAK = 0x03
    HALT = 0x0F


class FireMode(enum.IntEnum):
    GRADED = 0
    """Emit an int8 payload computed by integer requantization of V; V is reset to zero."""
    BINARY = 1
    """Emit a spike of payload 1 when V >= threshold; then reset (see ResetMode)."""


class ResetMode(enum.IntEnum):
    ZERO = 0
    """V := 0 after a spike (loses the residue)."""
    SUBTRACT = 1
    """V := V - threshold after a spike (keeps the residue: Rueckauer et al. 2017)."""
    VALUE = 2
    """v2: V := v_reset, a per-neuron int32 from ``P[reset_table][reset_row + n]`` (text ``reset=P<u>[...]``)."""


class Compartment(enum.IntEnum):
    """The per-neuron state an ACC adds into or a LEAK decays (docs/isa.md §1)."""

    V = 0
    """The membrane potential (v1's only state)."""
    I = 1  # noqa: E741  (the name docs/isa.md gives the current)
    """v2: the synaptic current of a CUBA neuron (text ``.i``)."""


MAX_DELAY = 65535
"""Largest ACC delay (16 bits in the image)."""
MAX_REFRACTORY = 255
"""Largest refractory period (8 bits: the range of the counter R)."""
DECAY_ONE = 4096
"""A decay multiplier is a 12-bit fraction of this: ``X := X - ((X * dv) >> 12)``, 0 <= dv <= 4096."""
GEOMETRY_RECORD_BYTES = 32
"""Synaptic memory one conv ACC's geometry record takes on its core."""
PROBE_KINDS = ("spikes", "v", "i")
"""The kinds of record a probe can take, in their canonical (printing and encoding-bit) order."""


@dataclass(frozen=True)
class Acc:
    """Synaptic accumulate: ``X[n] = sat32(X[n] + sum_i S[table][row + n, col + i] * bus[src + i])``.

    ``X`` is V, or (v2) I with ``compartment=Compartment.I``. v2: with ``delay = d >= 1`` the ACC
    reads ``bus_{t-d}``, the bus as it was at the end of timestep t-d (0 <= d <= 65535).
    """

    opcode: ClassVar[Opcode] = Opcode.ACC
    core: int
    base: int
    count: int
    src: int
    src_len: int
    table: int
    row: int = 0
    col: int = 0
    compartment: Compartment = Compartment.V
    delay: int = 0


@dataclass(frozen=True)
class AccBias:
    """Bias accumulate (an ACC whose source is a parameter table): ``X[n] = sat32(X[n] + P[table][row + n])``.

    ``X`` is V, or (v2) I with ``compartment=Compartment.I``.
    """

    opcode: ClassVar[Opcode] = Opcode.ACC
    core: int
    base: int
    count: int
    table: int
    row: int = 0
    compartment: Compartment = Compartment.V


@dataclass(frozen=True)
class AccCurrent:
    """v2: the current enters the membrane: ``V[n] = sat32(V[n] + I[n])`` (text ``ACC c[..], i``)."""

    opcode: ClassVar[Opcode] = Opcode.ACC
    core: int
    base: int
    count: int


_GEOMETRY_RANGES = (
    *(
        (name, 1, 0xFFFF)
        for name in ("in_channels", "in_height", "in_width", "out_channels", "out_height", "out_width")
    ),
    *((name, 1, 255) for name in ("kernel_h", "kernel_w", "stride_h", "stride_w")),
    ("pad_h", 0, 255),
    ("pad_w", 0, 255),
    ("dilation_h", 1, 255),
    ("dilation_w", 1, 255),
    ("groups", 1, 0xFFFF),
)
"""(field, lowest, highest) of a conv geometry record (their widths in the image's 32-byte record)."""


@dataclass(frozen=True)
class ConvGeometry:
    """v2: the shapes of one conv ACC (docs/isa.md §2 "ACC (conv)"; the image's 32-byte record, less p0).

    The source map (C, H, W) = (``in_channels``, ``in_height``, ``in_width``) is laid out C-major on
    the bus; the whole output map is (C', H', W') = (``out_channels``, ``out_height``,
    ``out_width``), which must equal PyTorch ``conv2d``'s output shape for this kernel, stride,
    symmetric zero padding, dilation and groups. One geometry may be shared by the ACCs that compute
    the pieces of a layer's map (they differ in ``AccConv.p0``).
    """

    in_channels: int
    in_height: int
    in_width: int
    out_channels: int
    out_height: int
    out_width: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1

    @property
    def src_len(self) -> int:
        """Bus addresses the source map covers: ``C * H * W``."""
        return self.in_channels * self.in_height * self.in_width

    @property
    def out_positions(self) -> int:
        """Positions per output channel: ``H' * W'``."""
        return self.out_height * self.out_width

    @property
    def out_size(self) -> int:
        """Positions of the whole output map: ``C' * H' * W'``."""
        return self.out_channels * self.out_positions

    @property
    def in_channels_per_group(self) -> int:
        """``Cg = C / groups`` (floored when groups does not divide C: such a geometry is invalid)."""
        return self.in_channels // max(self.groups, 1)

    @property
    def out_channels_per_group(self) -> int:
        """``C'g = C' / groups``."""
        return self.out_channels // max(self.groups, 1)

    @property
    def fan_in(self) -> int:
        """``KC = Cg * kh * kw``: taps per output neuron, the kernel block's columns."""
        return self.in_channels_per_group * self.kernel_h * self.kernel_w

    def problem(self) -> str | None:
        """The first rule of docs/isa.md ("Static validity", ACC conv) this geometry breaks, or None:
        the field ranges, groups dividing both channel counts, and the stated output shape equal to
        the formula's (below 2^32 positions)."""
        for name, lo, hi in _GEOMETRY_RANGES:
            value = getattr(self, name)
            if not lo <= value <= hi:
                return f"conv {name} {value} is outside {lo}..{hi}"
        if self.in_channels % self.groups or self.out_channels % self.groups:
            return (
                f"conv groups {self.groups} must divide the input channels {self.in_channels} "
                f"and output channels {self.out_channels}"
            )
        out_h, out_w = self.expected_out_hw()
        if out_h < 1 or out_w < 1:
            return f"conv output would be {out_h}x{out_w}: the kernel does not fit the padded input"
        if (self.out_height, self.out_width) != (out_h, out_w):
            return (
                f"conv output shape {self.out_channels}x{self.out_height}x{self.out_width} does not match "
                f"{self.out_channels}x{out_h}x{out_w} computed from in={self.in_channels}x{self.in_height}x"
                f"{self.in_width}, kernel, stride, padding and dilation"
            )
        if self.out_size >= 2**32:
            return f"conv output map of {self.out_size} positions must be below 2^32"
        return None

    def expected_out_hw(self) -> tuple[int, int]:
        """``(H', W')`` from the formula of docs/isa.md (may be < 1 for a kernel larger than the map)."""

        def size(n: int, k: int, s: int, p: int, d: int) -> int:
            return (n + 2 * p - d * (k - 1) - 1) // s + 1 if s >= 1 else 0

        return (
            size(self.in_height, self.kernel_h, self.stride_h, self.pad_h, self.dilation_h),
            size(self.in_width, self.kernel_w, self.stride_w, self.pad_w, self.dilation_w),
        )


@dataclass(frozen=True)
class AccConv:
    """v2: convolutional accumulate with a shared kernel (docs/isa.md §2 "ACC (conv)").

    Neuron ``base + n`` computes output position ``p0 + n`` of the flattened (C', H', W') map from the
    source map at ``bus[src : src + C*H*W]`` and the kernel block
    ``S[table][row : row + kernel_rows, col : col + kernel_cols]`` (the im2col weight matrix of the
    output channels this ACC touches). ``compartment`` and ``delay`` are as for :class:`Acc`.
    """

    opcode: ClassVar[Opcode] = Opcode.ACC
    core: int
    base: int
    count: int
    src: int
    table: int
    geometry: ConvGeometry
    p0: int = 0
    row: int = 0
    col: int = 0
    compartment: Compartment = Compartment.V
    delay: int = 0

    @property
    def src_len(self) -> int:
        """Length of the source bus range: the whole input map, ``C * H * W``."""
        return self.geometry.src_len

    @property
    def oc_first(self) -> int:
        """The first output channel this ACC touches: ``p0 // (H' * W')``."""
        return self.p0 // max(self.geometry.out_positions, 1)

    @property
    def oc_last(self) -> int:
        """The last output channel this ACC touches: ``(p0 + count - 1) // (H' * W')``."""
        return (self.p0 + self.count - 1) // max(self.geometry.out_positions, 1)

    @property
    def kernel_rows(self) -> int:
        """``KR``: rows of the kernel block, one per output channel touched."""
        return self.oc_last - self.oc_first + 1

    @property
    def kernel_cols(self) -> int:
        """``KC``: columns of the kernel block, the fan-in per neuron."""
        return self.geometry.fan_in


@dataclass(frozen=True)
class Fire:
    """Fire the neurons of a range onto the spike bus at ``[dst, dst + count)``.

    ``table``/``row`` select one int32 parameter per neuron: the requantization multiplier in graded
    mode, the threshold in binary mode. ``shift``, ``lo`` and ``hi`` apply to graded mode only and
    must be 0 in binary mode; ``init_half`` applies to binary mode only (V starts at threshold >> 1).

    v2, binary mode only: ``reset=ResetMode.VALUE`` resets V to ``P[reset_table][reset_row + n]``
    (both fields must be 0 with any other reset); ``refractory = k`` (0..255, 0 = none; requires
    reset ZERO or VALUE) holds a neuron that spiked at its reset value for the next k executions.
    """

    opcode: ClassVar[Opcode] = Opcode.FIRE
    core: int
    base: int
    count: int
    dst: int
    table: int
    row: int = 0
    mode: FireMode = FireMode.GRADED
    reset: ResetMode = ResetMode.ZERO
    shift: int = 0
    lo: int = 0
    hi: int = 127
    init_half: bool = False
    reset_table: int = 0
    reset_row: int = 0
    refractory: int = 0


@dataclass(frozen=True)
class Leak:
    """Exponential leak toward zero: ``X[n] = X[n] - (X[n] >> shift)`` (arithmetic shift), 1 <= shift <= 31.

    ``X`` is V, or (v2) I with ``compartment=Compartment.I``.
    """

    opcode: ClassVar[Opcode] = Opcode.LEAK
    core: int
    base: int
    count: int
    shift: int
    compartment: Compartment = Compartment.V


@dataclass(frozen=True)
class LeakDecay:
    """v2: multiplicative 12-bit decay ``X[n] = X[n] - ((X[n] * dv) >> 12)`` with ``dv = P[table][row + n]``
    in 0..4096 (text ``LEAK c[..], decay=P<t>[..]``); ``X`` is V or, with ``Compartment.I``, I."""

    opcode: ClassVar[Opcode] = Opcode.LEAK
    core: int
    base: int
    count: int
    table: int
    row: int = 0
    compartment: Compartment = Compartment.V


@dataclass(frozen=True)
class Halt:
    """End of the per-timestep program."""

    opcode: ClassVar[Opcode] = Opcode.HALT


Instruction = Acc | AccBias | AccCurrent | AccConv | Fire | Leak | LeakDecay | Halt


def instruction_uses_v2(instr: Instruction) -> bool:
    """Whether an instruction uses a form or field that only image version 2 can hold (docs/isa.md §0)."""
    if isinstance(instr, AccCurrent | AccConv | LeakDecay):
        return True
    if isinstance(instr, Acc):
        return instr.delay != 0 or instr.compartment != Compartment.V
    if isinstance(instr, AccBias | Leak):
        return instr.compartment != Compartment.V
    if isinstance(instr, Fire):
        return instr.reset == ResetMode.VALUE or instr.refractory != 0 or instr.reset_table != 0 or instr.reset_row != 0
    return False


@dataclass(frozen=True)
class OutputSpec:
    """A range of neurons whose membrane potentials are the program's output.

    ``scale`` is the real value of one unit of V after one timestep (so a float logit is
    ``V * scale / timesteps``); 0.0 when unknown.
    """

    core: int
    base: int
    count: int
    scale: float = 0.0


@dataclass(frozen=True)
class ProbeSpec:
    """v2: record, per lane and timestep, the chosen kinds of a neuron range (docs/isa.md §3 "Probes").

    ``spikes``: the payload the range's FIRE wrote (int8); ``v``: V after the FIRE (int32); ``i``: I
    (int32). At least one kind must be set.
    """

    core: int
    base: int
    count: int
    spikes: bool = False
    v: bool = False
    i: bool = False

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds recorded, in canonical order (a subsequence of ``PROBE_KINDS``)."""
        return tuple(kind for kind, on in zip(PROBE_KINDS, (self.spikes, self.v, self.i)) if on)


@dataclass
class Program:
    """A complete SpikeCore program: instructions plus the data the loader distributes to cores.

    Behaves like a sequence of instructions (``len(program)``, iteration, indexing), as the seed
    notebook uses it. ``synapse_tables`` are int8 matrices (one per layer in compiled programs; the
    table id is the seed's ``layer_id``); ``param_tables`` are int32 vectors (biases, requantization
    multipliers, thresholds).
    """

    instructions: list[Instruction]
    n_inputs: int
    outputs: list[OutputSpec] = field(default_factory=list)
    synapse_tables: dict[int, np.ndarray] = field(default_factory=dict)
    param_tables: dict[int, np.ndarray] = field(default_factory=dict)
    target: TargetDescription = SPIKECORE_V1
    input_scale: float = 0.0
    """Real value of one unit of input payload (float input = int8 payload * input_scale); 0.0 when unknown."""
    streamed_input: bool = False
    """v2: the input port takes a different vector each timestep (a (T, n_inputs) stream per lane)."""
    probes: list[ProbeSpec] = field(default_factory=list)
    """v2: the neuron ranges a run records per timestep, in probe order."""

    def __len__(self) -> int:
        return len(self.instructions)

    def __eq__(self, other: object) -> bool:
        """Equal programs have the same instructions, header and table contents (compared by value)."""
        if not isinstance(other, Program):
            return NotImplemented

        def same_tables(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> bool:
            return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)

        return (
            self.instructions == other.instructions
            and self.n_inputs == other.n_inputs
            and self.outputs == other.outputs
            and self.target == other.target
            and self.input_scale == other.input_scale
            and self.streamed_input == other.streamed_input
            and self.probes == other.probes
            and same_tables(self.synapse_tables, other.synapse_tables)
            and same_tables(self.param_tables, other.param_tables)
        )

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    @overload
    def __getitem__(self, index: int) -> Instruction: ...
    @overload
    def __getitem__(self, index: slice) -> list[Instruction]: ...
    def __getitem__(self, index: int | slice) -> Instruction | list[Instruction]:
        return self.instructions[index]

    def count(self, opcode: Opcode) -> int:
        """Number of instructions with this opcode."""
        return sum(1 for instr in self.instructions if instr.opcode == opcode)

    def uses_v2(self) -> bool:
        """Whether the program uses any v2 feature (docs/isa.md §0); if not, it is a v1 program and
        encodes as a version-1 image."""
        return self.streamed_input or bool(self.probes) or any(instruction_uses_v2(i) for i in self.instructions)

    def synapse_bytes_per_core(self) -> dict[int, int]:
        """Bytes of synaptic memory each core needs (docs/isa.md §1): one per weight of every dense ACC
        block it runs, plus (v2) each distinct conv kernel block once, 32 bytes per conv ACC (its
        geometry record) and ``delay * len`` bytes of delay buffer per delayed ACC."""
        used: dict[int, int] = {}
        kernels: set[tuple[int, int, int, int, int, int]] = set()
        for instr in self.instructions:
            nbytes = 0
            if isinstance(instr, Acc):
                nbytes = instr.count * instr.src_len + instr.delay * instr.src_len
            elif isinstance(instr, AccConv):
                nbytes = GEOMETRY_RECORD_BYTES + instr.delay * instr.src_len
                block = (instr.core, instr.table, instr.row, instr.col, instr.kernel_rows, instr.kernel_cols)
                if block not in kernels:
                    kernels.add(block)
                    nbytes += instr.kernel_rows * instr.kernel_cols
            else:
                continue
            used[instr.core] = used.get(instr.core, 0) + nbytes
        return used

    def validate(self, synapse_tables: dict[int, np.ndarray] | None = None) -> None:
        """Check every static rule of docs/isa.md ("Static validity"); raise ProgramError naming the
        instruction index (``instr N``) and the rule broken. ``synapse_tables`` overrides the
        program's own tables (as ``SpikeCoreCPU.load_weights`` does)."""
        validate_program(self, synapse_tables)


def _check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ProgramError(message, where)


def _check_range(target: TargetDescription, where: str, core: int, base: int, count: int) -> None:
    _check(
        0 <= core < target.cores,
        where,
        f"core {core} is out of range: target '{target.name}' has cores 0-{target.cores - 1}",
    )
    _check(count >= 1, where, f"neuron count must be at least 1, got {count}")
    _check(
        base >= 0 and base + count <= target.neurons_per_core,
        where,
        f"neurons [{base}:{base + count}] exceed core {core}'s {target.neurons_per_core} neurons",
    )


def validate_program(program: Program, synapse_tables: dict[int, np.ndarray] | None = None) -> None:
    """See :meth:`Program.validate`. The checks run in a fixed order (header, tables, instructions
    in program order, outputs, probes, synaptic memory): the first broken rule is the one reported."""
    tables = dict(program.synapse_tables)
    if synapse_tables:
        tables.update(synapse_tables)
    _check_header(program)
    _check_tables(program, tables)
    _check_instructions(program, tables)
    for out_index, out in enumerate(program.outputs):
        where = f"output {out_index}"
        _check_range(program.target, where, out.core, out.base, out.count)
        _check_scale(where, "output scale", out.scale)
    _check_probes(program)
    _check_synapse_memory(program)


def _check_scale(where: str, what: str, scale: float) -> None:
    """A scale is 0.0 ("unknown") or a finite positive real value per unit."""
    _check(
        scale == 0.0 or (math.isfinite(scale) and scale > 0.0),
        where,
        f"{what} must be finite and positive (or 0.0 for unknown), got {scale!r}",
    )


def _check_header(program: Program) -> None:
    """The input port must fit the bus; the input scale is meaningful."""
    target = program.target
    _check(program.n_inputs >= 0, "header", f"input count must be non-negative, got {program.n_inputs}")
    _check(
        program.n_inputs <= target.bus_size,
        "header",
        f"{program.n_inputs} inputs exceed the bus size {target.bus_size}",
    )
    _check_scale("header", "input scale", program.input_scale)


def _check_tables(program: Program, tables: dict[int, np.ndarray]) -> None:
    """Tables must have the shape and type the instructions index them with."""
    for tid, table in tables.items():
        _check(
            table.dtype == np.int8 and table.ndim == 2,
            f"synapse table {tid}",
            f"must be a 2-D int8 matrix, got {table.dtype} with shape {table.shape}",
        )
    for tid, table in program.param_tables.items():
        _check(
            table.dtype == np.int32 and table.ndim == 1,
            f"param table {tid}",
            f"must be a 1-D int32 vector, got {table.dtype} with shape {table.shape}",
        )


MAX_PROBES = 0xFFFF
"""At most this many probes (the image's 16-bit count)."""
MAX_CONV_ACCS = 0xFFFF
"""At most this many conv ACCs (the image's 16-bit count of geometry records)."""


def _check_instructions(program: Program, tables: dict[int, np.ndarray]) -> None:
    """Every instruction in program order; HALT ends the program and nothing follows it."""
    if not program.instructions or not isinstance(program.instructions[-1], Halt):
        raise ProgramError("the program must end with HALT", f"instr {len(program.instructions)}")
    written: dict[int, int] = {}  # bus address -> instruction index of the FIRE that writes it
    n_conv = 0
    for index, instr in enumerate(program.instructions):
        where = f"instr {index}"
        if isinstance(instr, Halt):
            _check(index == len(program.instructions) - 1, where, "HALT must be the last instruction")
            continue
        _check_range(program.target, where, instr.core, instr.base, instr.count)
        if isinstance(instr, AccConv):
            n_conv += 1
            _check(n_conv <= MAX_CONV_ACCS, where, f"more than {MAX_CONV_ACCS} conv ACCs (the image's 16-bit count)")
        _check_instruction(program, tables, where, index, instr, written)


def _check_instruction(
    program: Program, tables: dict[int, np.ndarray], where: str, index: int, instr: Instruction, written: dict[int, int]
) -> None:
    """The rules of one instruction form (its neuron range is already checked)."""
    if isinstance(instr, Acc):
        _check_compartment(where, instr.compartment)
        _check_acc(program.target, tables, where, instr)
        _check_delay(where, instr.delay)
    elif isinstance(instr, AccConv):
        _check_compartment(where, instr.compartment)
        _check_conv(program.target, tables, where, instr)
        _check_delay(where, instr.delay)
    elif isinstance(instr, AccBias):
        _check_compartment(where, instr.compartment)
        _check_param_rows(program, where, instr.table, instr.row, instr.count)
    elif isinstance(instr, Fire):
        _check_fire(program, where, index, instr, written)
    elif isinstance(instr, Leak):
        _check_compartment(where, instr.compartment)
        _check(1 <= instr.shift <= 31, where, f"leak shift {instr.shift} is outside 1..31")
    elif isinstance(instr, LeakDecay):
        _check_compartment(where, instr.compartment)
        _check_decay(program, where, instr)
    # AccCurrent: its neuron range is all it has


def _check_compartment(where: str, compartment: Compartment) -> None:
    _check(
        isinstance(compartment, Compartment),
        where,
        f"compartment must be Compartment.V or Compartment.I, got {compartment!r}",
    )


def _check_delay(where: str, delay: int) -> None:
    _check(0 <= delay <= MAX_DELAY, where, f"delay {delay} is outside 0..{MAX_DELAY}")


def _check_acc(target: TargetDescription, tables: dict[int, np.ndarray], where: str, instr: Acc) -> None:
    """An ACC reads a bus range of at most max_fan_in addresses through a block of a loaded table."""
    _check(
        1 <= instr.src_len <= target.max_fan_in,
        where,
        f"source length {instr.src_len} is outside 1..{target.max_fan_in} (max_fan_in)",
    )
    _check_source(target, where, instr.src, instr.src_len)
    _check_block(tables, where, instr.table, instr.row, instr.col, instr.count, instr.src_len)


def _check_source(target: TargetDescription, where: str, src: int, src_len: int) -> None:
    _check(
        src >= 0 and src + src_len <= target.bus_size,
        where,
        f"source bus[{src}:{src + src_len}] exceeds the bus size {target.bus_size}",
    )


def _check_block(
    tables: dict[int, np.ndarray], where: str, table: int, row: int, col: int, rows: int, cols: int
) -> None:
    """The block ``[row:row+rows, col:col+cols]`` lies inside a loaded synapse table."""
    _check(table in tables, where, f"synapse table {table} is not loaded")
    t_rows, t_cols = tables[table].shape
    _check(
        row >= 0 and col >= 0 and row + rows <= t_rows and col + cols <= t_cols,
        where,
        f"block [{row}:{row + rows}, {col}:{col + cols}] exceeds synapse table {table} of shape {t_rows}x{t_cols}",
    )


def _check_geometry(where: str, g: ConvGeometry) -> None:
    """The field ranges of a geometry record and PyTorch's output-shape formula."""
    problem = g.problem()
    _check(problem is None, where, problem or "")


def _check_conv(target: TargetDescription, tables: dict[int, np.ndarray], where: str, instr: AccConv) -> None:
    """A conv ACC: valid geometry, its output piece inside the map, the source map on the bus, the fan-in
    within max_fan_in and the kernel block (KR x KC) inside a loaded table."""
    g = instr.geometry
    _check(isinstance(g, ConvGeometry), where, f"conv geometry must be a ConvGeometry, got {g!r}")
    _check_geometry(where, g)
    _check(
        instr.p0 >= 0 and instr.p0 + instr.count <= g.out_size,
        where,
        f"output positions [{instr.p0}:{instr.p0 + instr.count}] exceed the output map's {g.out_size} "
        f"({g.out_channels}x{g.out_height}x{g.out_width})",
    )
    _check_source(target, where, instr.src, g.src_len)
    _check(
        g.fan_in <= target.max_fan_in,
        where,
        f"conv fan-in {g.fan_in} (in_channels/groups * kh * kw) exceeds max_fan_in {target.max_fan_in}",
    )
    _check_block(tables, where, instr.table, instr.row, instr.col, instr.kernel_rows, instr.kernel_cols)


def _check_decay(program: Program, where: str, instr: LeakDecay) -> None:
    _check_param_rows(program, where, instr.table, instr.row, instr.count)
    decays = program.param_tables[instr.table][instr.row : instr.row + instr.count]
    _check(
        bool(np.all((decays >= 0) & (decays <= DECAY_ONE))),
        where,
        f"decays in param table {instr.table} must lie in 0..{DECAY_ONE}",
    )


def _check_fire(program: Program, where: str, index: int, instr: Fire, written: dict[int, int]) -> None:
    """A FIRE's parameters exist and its destination lies after the input port, written by no other
    FIRE; ``written`` maps the addresses earlier FIREs write to their instruction index, and gains
    this FIRE's."""
    target = program.target
    _check_param_rows(program, where, instr.table, instr.row, instr.count)
    _check(
        instr.dst >= program.n_inputs and instr.dst + instr.count <= target.bus_size,
        where,
        f"destination bus[{instr.dst}:{instr.dst + instr.count}] must lie in [{program.n_inputs}, {target.bus_size}) (after the input port)",
    )
    for address in range(instr.dst, instr.dst + instr.count):
        _check(
            address not in written,
            where,
            f"bus address {address} is already written by instr {written.get(address)}",
        )
        written[address] = index
    _check_fire_mode(program, where, instr)


def _check_fire_mode(program: Program, where: str, instr: Fire) -> None:
    """A FIRE sets only the fields its mode uses, within their ranges; binary thresholds are positive."""
    if instr.mode == FireMode.GRADED:
        _check(0 <= instr.shift <= 62, where, f"graded shift {instr.shift} is outside 0..62")
        _check(
            -128 <= instr.lo <= instr.hi <= 127,
            where,
            f"graded clamp [{instr.lo}, {instr.hi}] must satisfy -128 <= lo <= hi <= 127",
        )
        _check(not instr.init_half, where, "init_half applies to binary mode only")
        _check(instr.reset == ResetMode.ZERO, where, "graded FIRE always resets to zero")
        _check(instr.refractory == 0, where, "refractory applies to binary mode only")
    else:
        _check(
            instr.shift == 0 and instr.lo == 0 and instr.hi == 0,
            where,
            "binary FIRE takes no shift or clamp (they must be 0)",
        )
        thresholds = program.param_tables[instr.table][instr.row : instr.row + instr.count]
        _check(
            bool(np.all(thresholds > 0)),
            where,
            f"binary FIRE thresholds in param table {instr.table} must be positive",
        )
        _check_fire_reset(program, where, instr)
    if instr.reset != ResetMode.VALUE:
        _check(
            instr.reset_table == 0 and instr.reset_row == 0,
            where,
            "reset_table and reset_row apply to reset=P (ResetMode.VALUE) only (they must be 0)",
        )


def _check_fire_reset(program: Program, where: str, instr: Fire) -> None:
    """v2: a reset to values needs its parameter rows; a refractory period needs a reset to a value."""
    _check(
        isinstance(instr.reset, ResetMode),
        where,
        f"reset must be a ResetMode, got {instr.reset!r}",
    )
    if instr.reset == ResetMode.VALUE:
        _check_param_rows(program, where, instr.reset_table, instr.reset_row, instr.count)
    _check(
        0 <= instr.refractory <= MAX_REFRACTORY,
        where,
        f"refractory period {instr.refractory} is outside 0..{MAX_REFRACTORY}",
    )
    _check(
        instr.refractory == 0 or instr.reset != ResetMode.SUBTRACT,
        where,
        "refractory requires reset=zero or reset=P (a held value after a subtractive reset is not defined)",
    )


def _check_probes(program: Program) -> None:
    """v2: probes name valid ranges and at least one kind; a spike probe's neurons have one FIRE each."""
    _check(
        len(program.probes) <= MAX_PROBES,
        f"probe {MAX_PROBES}",
        f"more than {MAX_PROBES} probes (the image's 16-bit count)",
    )
    cover: dict[int, np.ndarray] | None = None
    for index, probe in enumerate(program.probes):
        where = f"probe {index}"
        _check_range(program.target, where, probe.core, probe.base, probe.count)
        _check(probe.spikes or probe.v or probe.i, where, "a probe must record at least one of spikes, v, i")
        if not probe.spikes:
            continue
        if cover is None:
            cover = _fire_cover(program)
        covered = cover.get(probe.core, np.zeros(program.target.neurons_per_core, dtype=np.int64))
        counts = covered[probe.base : probe.base + probe.count]
        bad = np.flatnonzero(counts != 1)
        if bad.size:
            neuron = probe.base + int(bad[0])
            _check(
                False,
                where,
                f"a spike probe needs every neuron covered by exactly one FIRE; neuron c{probe.core}[{neuron}] "
                f"is covered by {int(counts[bad[0]])}",
            )


def _fire_cover(program: Program) -> dict[int, np.ndarray]:
    """For each core with a FIRE, how many FIRE instructions cover each of its neurons."""
    cover: dict[int, np.ndarray] = {}
    for instr in program.instructions:
        if isinstance(instr, Fire):
            counts = cover.setdefault(instr.core, np.zeros(program.target.neurons_per_core, dtype=np.int64))
            counts[instr.base : instr.base + instr.count] += 1
    return cover


def _check_synapse_memory(program: Program) -> None:
    """Every core's ACC blocks (v2: conv kernels, geometry records, delay buffers) must fit its synaptic memory."""
    target = program.target
    for core, nbytes in sorted(program.synapse_bytes_per_core().items()):
        _check(
            nbytes <= target.synapse_bytes,
            f"core {core}",
            f"needs {nbytes} bytes of synaptic memory; target '{target.name}' has {target.synapse_bytes} per core",
        )


def _check_param_rows(program: Program, where: str, table: int, row: int, count: int) -> None:
    """One int32 parameter per neuron: rows ``[row, row + count)`` of a defined param table."""
    _check(table in program.param_tables, where, f"param table {table} is not defined")
    length = program.param_tables[table].shape[0]
    _check(
        row >= 0 and row + count <= length,
        where,
        f"rows [{row}:{row + count}] exceed param table {table} of length {length}",
    )
