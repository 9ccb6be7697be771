"""The SpikeCore binary program image (docs/isa.md section 5): ``encode``, ``decode`` and atomic file I/O.

The decoder treats its input as hostile: every count is checked against the bytes actually present
before anything is allocated, every reserved field and flag bit must be zero, and every problem is an
:class:`~spikeir.errors.ImageError` naming the byte offset where it was found.

Two versions exist: version 1 (80-byte header) holds ISA v1 programs, version 2 (96-byte header:
probe and geometry counts, program flags) every v2 form. ``encode`` writes the lowest version that
holds the program, so a v1 program's image is byte for byte what the v1 encoder wrote; ``decode``
reads both, and in a version-1 image every v2 flag bit or word is an error exactly as before v2.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeir.chip.isa import (
    Acc,
    AccBias,
    AccConv,
    AccCurrent,
    Compartment,
    ConvGeometry,
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    LeakDecay,
    Opcode,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import FIELD_LIMITS, NAME_SIZE, TARGET_NAME, TARGETS, TargetDescription
from spikeir.errors import ImageError, ProgramError, TargetError
from spikeir.fileio import atomic_write

MAGIC = b"SPKC"
VERSION = 1
"""The version of an image of a v1 program (the only version before ISA v2)."""
HEADER_SIZE = 80
"""The header size of a version-1 image."""
VERSION_2 = 2
HEADER_SIZE_V2 = 96
_HEADER_SIZES = {VERSION: HEADER_SIZE, VERSION_2: HEADER_SIZE_V2}
_HEADER = struct.Struct("<4sHH32sHHIIIIIHHHHII")
# Byte offsets of the header fields that errors point at (docs/isa.md section 5).
_AT_NAME, _AT_FIELDS, _AT_RESERVED, _AT_PAYLOAD_SIZE, _AT_CRC = 8, 40, 70, 72, 76
_OUTPUT = struct.Struct("<HHHHd")
_TABLE_HEAD = struct.Struct("<III")
_PARAM_HEAD = struct.Struct("<II")
_INSTR_DTYPE = np.dtype(
    [("opcode", "u1"), ("flags", "u1"), ("core", "<u2"), ("base", "<u2"), ("count", "<u2"), ("w", "<u4", (6,))]
)
assert _HEADER.size == HEADER_SIZE and _INSTR_DTYPE.itemsize == 32 and _OUTPUT.size == 16
_HEADER_V2 = struct.Struct("<HHI8s")  # n_probes, n_geometry, program flags, reserved
_AT_N_GEOMETRY, _AT_PROGRAM_FLAGS, _AT_RESERVED_V2 = 82, 84, 88
_PROBE = struct.Struct("<HHHBB")
_GEOMETRY = struct.Struct("<HHHHHHBBBBBBBBHHII")
assert HEADER_SIZE + _HEADER_V2.size == HEADER_SIZE_V2 and _PROBE.size == 8 and _GEOMETRY.size == 32
_PROGRAM_STREAMED = 0x1
_PROBE_BITS = {"spikes": 0x1, "v": 0x2, "i": 0x4}

RESOURCE_FIELDS = tuple(FIELD_LIMITS)
"""The target fields a program stores (text ``.target`` keys and image header fields)."""

_U32 = 2**32

_FIRE_BINARY = 0x1
_FIRE_SUBTRACT = 0x2
_FIRE_INIT_HALF = 0x4
_FIRE_RESET_VALUE = 0x8  # v2
_ACC_BIAS = 0x1
_ACC_CURRENT_I = 0x2  # v2: the ACC adds into I (.i); on LEAK: decays I
_ACC_CURRENT = 0x4  # v2: ACC c[..], i
_ACC_CONV = 0x8  # v2
_LEAK_DECAY = 0x1  # v2
_ACC_FLAGS_V2 = {0x00, 0x02, 0x01, 0x03, 0x04, 0x08, 0x0A}


def target_from_fields(name: str, fields: dict[str, int]) -> TargetDescription:
    """The target a stored program describes, from the name and resource fields of its image header
    or ``.target`` directive: a known target with those fields, or a new target of that name. Raises
    TargetError for invalid field values, including values that do not fit the image's fields (so
    every assembly listing also has an image)."""
    base = TARGETS.get(name) or TargetDescription(name=name)
    return base.with_options(**fields)


def _fire_flags(instr: Fire) -> int:
    flags = _FIRE_BINARY if instr.mode == FireMode.BINARY else 0
    flags |= _FIRE_SUBTRACT if instr.reset == ResetMode.SUBTRACT else 0
    flags |= _FIRE_RESET_VALUE if instr.reset == ResetMode.VALUE else 0
    return flags | (_FIRE_INIT_HALF if instr.init_half else 0)


def _i_flag(compartment: Compartment) -> int:
    return _ACC_CURRENT_I if compartment == Compartment.I else 0


def _fire_row(instr: Fire) -> list[int]:
    if instr.mode == FireMode.BINARY:
        return [instr.dst, instr.reset_table, instr.table, instr.row, instr.reset_row, instr.refractory]
    clamp = (instr.lo & 0xFF) | ((instr.hi & 0xFF) << 8)
    return [instr.dst, 0, instr.table, instr.row, instr.shift, clamp]


def _instruction_row(instr: Instruction, geometry_index: int) -> tuple[int, int, int, int, int, list[int]]:
    """The fields of one 32-byte instruction; ``geometry_index`` is a conv ACC's ordinal among them."""
    if isinstance(instr, Halt):
        return Opcode.HALT, 0, 0, 0, 0, [0] * 6
    head = (instr.core, instr.base, instr.count)
    if isinstance(instr, Acc):
        row = [instr.src, instr.src_len, instr.table, instr.row, instr.col, instr.delay]
        return Opcode.ACC, _i_flag(instr.compartment), *head, row
    if isinstance(instr, AccBias):
        return Opcode.ACC, _ACC_BIAS | _i_flag(instr.compartment), *head, [0, 0, instr.table, instr.row, 0, 0]
    if isinstance(instr, AccCurrent):
        return Opcode.ACC, _ACC_CURRENT, *head, [0] * 6
    if isinstance(instr, AccConv):
        row = [instr.src, geometry_index, instr.table, instr.row, instr.col, instr.delay]
        return Opcode.ACC, _ACC_CONV | _i_flag(instr.compartment), *head, row
    if isinstance(instr, Fire):
        return Opcode.FIRE, _fire_flags(instr), *head, _fire_row(instr)
    if isinstance(instr, Leak):
        return Opcode.LEAK, _i_flag(instr.compartment), *head, [instr.shift, 0, 0, 0, 0, 0]
    return Opcode.LEAK, _LEAK_DECAY | _i_flag(instr.compartment), *head, [0, 0, instr.table, instr.row, 0, 0]


def _geometry_record(instr: AccConv) -> bytes:
    g = instr.geometry
    return _GEOMETRY.pack(
        g.in_channels, g.in_height, g.in_width, g.out_channels, g.out_height, g.out_width, g.kernel_h, g.kernel_w,
        g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dilation_h, g.dilation_w, g.groups, 0, instr.p0, 0,
    )  # fmt: skip


def _probe_record(probe: ProbeSpec) -> bytes:
    kinds = sum(_PROBE_BITS[kind] for kind in probe.kinds)
    return _PROBE.pack(probe.core, probe.base, probe.count, kinds, 0)


def encode(program: Program) -> bytes:
    """The image of a valid program (validates first, so every image ``encode`` writes decodes)."""
    program.validate()
    target = program.target  # its name and fields fit the header (TargetDescription checks them)
    name = target.name.encode("ascii")
    for kind, tables in (("synapse", program.synapse_tables), ("param", program.param_tables)):
        for tid in tables:
            if not 0 <= tid < _U32:
                raise ImageError(f"{kind} table id {tid} does not fit 32 bits", f"{kind} table {tid}")
    if len(program.outputs) > 0xFFFF or len(program.synapse_tables) > 0xFFFF or len(program.param_tables) > 0xFFFF:
        raise ImageError("more than 65535 outputs or tables per kind", "header")

    v2 = program.uses_v2()
    convs = [instr for instr in program.instructions if isinstance(instr, AccConv)]
    parts: list[bytes] = [struct.pack("<d", program.input_scale)]
    parts += [_OUTPUT.pack(out.core, out.base, out.count, 0, out.scale) for out in program.outputs]
    parts += [_probe_record(probe) for probe in program.probes]
    instrs = np.zeros(len(program.instructions), dtype=_INSTR_DTYPE)
    n_conv = 0
    for index, instr in enumerate(program.instructions):
        instrs[index] = _instruction_row(instr, n_conv)
        n_conv += isinstance(instr, AccConv)
    parts.append(instrs.tobytes())
    parts += [_geometry_record(instr) for instr in convs]
    for tid in sorted(program.synapse_tables):
        table = program.synapse_tables[tid]
        rows, cols = table.shape
        parts.append(_TABLE_HEAD.pack(tid, rows, cols))
        parts.append(np.ascontiguousarray(table, dtype=np.int8).tobytes())
        parts.append(b"\0" * (-(rows * cols) % 4))
    for tid in sorted(program.param_tables):
        table = program.param_tables[tid]
        parts.append(_PARAM_HEAD.pack(tid, table.shape[0]))
        parts.append(np.ascontiguousarray(table, dtype="<i4").tobytes())
    payload = b"".join(parts)
    version = VERSION_2 if v2 else VERSION
    header = _HEADER.pack(
        MAGIC, version, _HEADER_SIZES[version], name, target.cores, target.neurons_per_core, target.synapse_bytes,
        target.max_fan_in, target.bus_size, program.n_inputs, len(program.instructions), len(program.outputs),
        len(program.synapse_tables), len(program.param_tables), 0, len(payload), zlib.crc32(payload),
    )  # fmt: skip
    if v2:
        flags = _PROGRAM_STREAMED if program.streamed_input else 0
        header += _HEADER_V2.pack(len(program.probes), len(convs), flags, bytes(8))
    return header + payload


class _Reader:
    """A cursor over the image that refuses to read past the end (offsets are absolute)."""

    def __init__(self, data: bytes, filename: str | None) -> None:
        self.data = data
        self.offset = HEADER_SIZE
        self.filename = filename

    def error(self, message: str, offset: int) -> ImageError:
        return ImageError(message, f"{self.filename}:byte {offset}" if self.filename else f"byte {offset}")

    def need(self, nbytes: int, what: str) -> None:
        left = len(self.data) - self.offset
        if nbytes > left:
            raise self.error(f"{what} needs {nbytes} bytes but only {left} remain", self.offset)

    def take(self, nbytes: int, what: str) -> bytes:
        self.need(nbytes, what)
        start = self.offset
        self.offset += nbytes
        return self.data[start : self.offset]


@dataclass(frozen=True)
class _Header:
    """What the header says about the payload that follows it."""

    target: TargetDescription
    n_inputs: int
    n_instructions: int
    n_outputs: int
    n_synapse_tables: int
    n_param_tables: int
    version: int = VERSION
    size: int = HEADER_SIZE
    n_probes: int = 0
    n_geometry: int = 0
    streamed_input: bool = False


@dataclass(frozen=True)
class _PendingConv:
    """A conv ACC read from its instruction, waiting for its geometry record."""

    offset: int
    core: int
    base: int
    count: int
    src: int
    table: int
    row: int
    col: int
    compartment: Compartment
    delay: int


@dataclass(frozen=True)
class _Offsets:
    """Where the sections of an image start (for the byte offsets of validation errors)."""

    input_scale: int
    outputs: int
    probes: int
    instructions: int


def decode(data: bytes, filename: str | None = None) -> Program:
    """The program stored in an image; ImageError (with the byte offset) for anything malformed."""
    reader = _Reader(bytes(data), filename)
    header = _read_header(reader)
    reader.offset = header.size
    offsets = _Offsets(header.size, header.size + 8, header.size + 8 + _OUTPUT.size * header.n_outputs, 0)
    input_scale = struct.unpack("<d", reader.take(8, "input scale"))[0]
    _check_scale(reader, "input scale", input_scale, offsets.input_scale)
    outputs = _read_outputs(reader, header.n_outputs)
    probes = _read_probes(reader, header.n_probes)
    offsets = dataclasses.replace(offsets, instructions=reader.offset)
    instructions = _read_instructions(reader, header)
    synapse_tables = _read_synapse_tables(reader, header.n_synapse_tables)
    param_tables = _read_param_tables(reader, header.n_param_tables)
    if reader.offset != len(reader.data):
        raise reader.error(f"{len(reader.data) - reader.offset} unexpected bytes after the last table", reader.offset)

    program = Program(
        instructions,
        header.n_inputs,
        outputs,
        synapse_tables,
        param_tables,
        target=header.target,
        input_scale=input_scale,
        streamed_input=header.streamed_input,
        probes=probes,
    )
    try:
        program.validate()
    except ProgramError as err:
        raise _program_error(reader, err, offsets) from None
    return program


def _check_scale(reader: _Reader, what: str, scale: float, offset: int) -> None:
    """A stored scale is 0.0 (unknown) or a finite positive number (issue 19: NaN logits otherwise)."""
    if not (scale == 0.0 or (math.isfinite(scale) and scale > 0.0)):
        raise reader.error(f"{what} must be finite and positive (or 0.0 for unknown), got {scale!r}", offset)


def _read_header(reader: _Reader) -> _Header:
    """The header, checked before any of the payload is read: its framing fields, the payload's
    size and checksum (so what follows is what was written), then the target it names."""
    data = reader.data
    if len(data) < HEADER_SIZE:
        raise reader.error(f"truncated image: {len(data)} bytes, the header alone is {HEADER_SIZE}", len(data))
    (magic, version, header_size, raw_name, cores, neurons, synapse_bytes, max_fan_in, bus_size, n_inputs,
     n_instr, n_outputs, n_syn, n_par, reserved, payload_size, crc) = _HEADER.unpack_from(data)  # fmt: skip
    if magic != MAGIC:
        raise reader.error(f"bad magic {magic!r}, expected {MAGIC!r} (not a SpikeCore image)", 0)
    if version not in _HEADER_SIZES:
        raise reader.error(f"unsupported image version {version}, expected {VERSION} or {VERSION_2}", 4)
    if header_size != _HEADER_SIZES[version]:
        raise reader.error(f"header size {header_size}, expected {_HEADER_SIZES[version]} for version {version}", 6)
    if len(data) < header_size:
        raise reader.error(
            f"truncated image: {len(data)} bytes, the version-{version} header alone is {header_size}", len(data)
        )
    if reserved != 0:
        raise reader.error(f"reserved header field is {reserved}, expected 0", _AT_RESERVED)
    n_probes = n_geometry = flags = 0
    if version == VERSION_2:
        n_probes, n_geometry, flags, reserved_v2 = _HEADER_V2.unpack_from(data, HEADER_SIZE)
        if flags & ~_PROGRAM_STREAMED:
            raise reader.error(f"undefined program flag bits 0x{flags & ~_PROGRAM_STREAMED:08x}", _AT_PROGRAM_FLAGS)
        if reserved_v2.strip(b"\0"):
            raise reader.error(f"reserved header bytes {reserved_v2.hex()}, expected 0", _AT_RESERVED_V2)
    reader.offset = header_size
    _check_payload(reader, payload_size, crc)
    target = _header_target(reader, raw_name, (cores, neurons, synapse_bytes, max_fan_in, bus_size))
    return _Header(
        target, n_inputs, n_instr, n_outputs, n_syn, n_par, version, header_size, n_probes, n_geometry,
        bool(flags & _PROGRAM_STREAMED),
    )  # fmt: skip


def _check_payload(reader: _Reader, payload_size: int, crc: int) -> None:
    """The payload must be exactly as long as the header declares and match its CRC-32."""
    start = reader.offset
    actual = len(reader.data) - start
    if payload_size != actual:
        kind = "truncated image" if actual < payload_size else "trailing bytes after the payload"
        raise reader.error(
            f"{kind}: the header declares {payload_size} payload bytes, the image has {actual}", _AT_PAYLOAD_SIZE
        )
    if zlib.crc32(reader.data[start:]) != crc:
        raise reader.error(
            f"payload CRC-32 mismatch: header says 0x{crc:08x}, payload is 0x{zlib.crc32(reader.data[start:]):08x}",
            _AT_CRC,
        )


def _header_target(reader: _Reader, raw_name: bytes, values: tuple[int, ...]) -> TargetDescription:
    """The target of the header's NUL-padded name and resource fields (``values``, in the order of
    RESOURCE_FIELDS)."""
    name = raw_name.rstrip(b"\0")
    if not re.fullmatch(TARGET_NAME.encode(), name):
        raise reader.error(
            f"bad target name {raw_name!r}: expected 1 to {NAME_SIZE} characters of [A-Za-z0-9_.+-], NUL-padded",
            _AT_NAME,
        )
    fields: dict[str, int] = dict(zip(RESOURCE_FIELDS, values, strict=True))
    try:
        return target_from_fields(name.decode("ascii"), fields)
    except TargetError as err:
        raise reader.error(err.message, _AT_FIELDS) from None


def _read_outputs(reader: _Reader, count: int) -> list[OutputSpec]:
    """The output ranges; the whole section is checked to be present before any is read."""
    reader.need(count * _OUTPUT.size, f"{count} outputs")
    outputs: list[OutputSpec] = []
    for _ in range(count):
        start = reader.offset
        core, base, n_neurons, out_reserved, scale = _OUTPUT.unpack(reader.take(_OUTPUT.size, "output"))
        if out_reserved:
            raise reader.error(f"reserved output field is {out_reserved}, expected 0", start + 6)
        _check_scale(reader, f"output {len(outputs)}: output scale", scale, start + 8)
        outputs.append(OutputSpec(core, base, n_neurons, scale))
    return outputs


def _read_probes(reader: _Reader, count: int) -> list[ProbeSpec]:
    """v2: the probes, 8 bytes each; the whole section is checked to be present before any is read."""
    reader.need(count * _PROBE.size, f"{count} probes")
    probes: list[ProbeSpec] = []
    for _ in range(count):
        start = reader.offset
        core, base, n_neurons, kinds, probe_reserved = _PROBE.unpack(reader.take(_PROBE.size, "probe"))
        if not kinds or kinds & ~0x7:
            raise reader.error(
                f"probe {len(probes)}: kinds 0x{kinds:02x} must set one or more of bits 0-2 (spikes, v, i) and no other",
                start + 6,
            )
        if probe_reserved:
            raise reader.error(f"probe {len(probes)}: reserved byte is {probe_reserved}, expected 0", start + 7)
        probes.append(ProbeSpec(core, base, n_neurons, bool(kinds & 1), bool(kinds & 2), bool(kinds & 4)))
    return probes


def _read_instructions(reader: _Reader, header: _Header) -> list[Instruction]:
    """The 32-byte instructions, each decoded at its own offset (so errors point at it), then (v2)
    the conv geometry records, one per conv ACC in program order."""
    start = reader.offset
    count = header.n_instructions
    raw = np.frombuffer(reader.take(count * _INSTR_DTYPE.itemsize, f"{count} instructions"), dtype=_INSTR_DTYPE)
    decoded: list[Instruction | _PendingConv] = []
    n_conv = 0
    for index, row in enumerate(raw.tolist()):
        instr = _decode_instruction(reader, header.version, start + 32 * index, n_conv, *row)
        n_conv += isinstance(instr, _PendingConv)
        decoded.append(instr)
    if n_conv != header.n_geometry:
        raise reader.error(
            f"the header declares {header.n_geometry} conv geometry records, the program has {n_conv} conv ACCs",
            _AT_N_GEOMETRY,
        )
    reader.need(n_conv * _GEOMETRY.size, f"{n_conv} conv geometry records")
    instructions: list[Instruction] = []
    for item in decoded:
        instructions.append(_read_geometry(reader, item) if isinstance(item, _PendingConv) else item)
    return instructions


def _read_geometry(reader: _Reader, pending: _PendingConv) -> AccConv:
    """The next geometry record, completing the conv ACC it belongs to."""
    start = reader.offset
    (cin, h, w, cout, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw, groups, reserved, p0,
     reserved2) = _GEOMETRY.unpack(reader.take(_GEOMETRY.size, "conv geometry record"))  # fmt: skip
    if reserved:
        raise reader.error(f"conv geometry record: reserved field is {reserved}, expected 0", start + 22)
    if reserved2:
        raise reader.error(f"conv geometry record: reserved field is {reserved2}, expected 0", start + 28)
    geometry = ConvGeometry(cin, h, w, cout, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw, groups)
    p = pending
    return AccConv(p.core, p.base, p.count, p.src, p.table, geometry, p0, p.row, p.col, p.compartment, p.delay)


def _read_synapse_tables(reader: _Reader, count: int) -> dict[int, np.ndarray]:
    """The int8 synapse tables, each padded to 4 bytes with zeros; their headers are checked to be
    present before any table is allocated."""
    reader.need(count * _TABLE_HEAD.size, f"{count} synapse tables")
    tables: dict[int, np.ndarray] = {}
    for _ in range(count):
        start = reader.offset
        tid, rows, cols = _TABLE_HEAD.unpack(reader.take(_TABLE_HEAD.size, "synapse table header"))
        if tid in tables:
            raise reader.error(f"duplicate synapse table id {tid}", start)
        nbytes = rows * cols
        body = reader.take(nbytes, f"synapse table {tid} ({rows}x{cols})")
        pad_at = reader.offset
        padding = reader.take(-nbytes % 4, f"synapse table {tid} padding")
        if padding.strip(b"\0"):
            raise reader.error(f"synapse table {tid}: nonzero padding", pad_at)
        tables[tid] = np.frombuffer(body, dtype=np.int8).reshape(rows, cols).copy()
    return tables


def _read_param_tables(reader: _Reader, count: int) -> dict[int, np.ndarray]:
    """The int32 parameter tables; their headers are checked to be present before any is allocated."""
    reader.need(count * _PARAM_HEAD.size, f"{count} param tables")
    tables: dict[int, np.ndarray] = {}
    for _ in range(count):
        start = reader.offset
        tid, length = _PARAM_HEAD.unpack(reader.take(_PARAM_HEAD.size, "param table header"))
        if tid in tables:
            raise reader.error(f"duplicate param table id {tid}", start)
        body = reader.take(4 * length, f"param table {tid} ({length} values)")
        tables[tid] = np.frombuffer(body, dtype="<i4").astype(np.int32)
    return tables


def _program_error(reader: _Reader, err: ProgramError, offsets: _Offsets) -> ImageError:
    """A validation error as an ImageError at the offset of the instruction, output or probe it names."""
    where = err.location or ""
    offset = offsets.input_scale
    kind, _, number = where.partition(" ")
    if kind == "instr" and number.isdigit():
        offset = offsets.instructions + 32 * int(number)
    elif kind == "output" and number.isdigit():
        offset = offsets.outputs + _OUTPUT.size * int(number)
    elif kind == "probe" and number.isdigit():
        offset = offsets.probes + _PROBE.size * int(number)
    return reader.error(f"{where}: {err.message}" if where else err.message, offset)


class _Fields:
    """The fields of one 32-byte instruction being decoded, with the checks of its zero words and flags."""

    def __init__(self, reader: _Reader, offset: int, opcode: int, flags: int, w: list[int]) -> None:
        self.reader, self.offset, self.flags, self.w = reader, offset, flags, w
        self.name = Opcode(opcode).name

    def error(self, message: str, at: int) -> ImageError:
        return self.reader.error(f"{self.name}: {message}", self.offset + at)

    def require_zero(self, word_indices: tuple[int, ...], allowed_flags: int) -> None:
        if self.flags & ~allowed_flags:
            raise self.error(f"undefined flag bits 0x{self.flags & ~allowed_flags:02x}", 1)
        for i in word_indices:
            if self.w[i]:
                raise self.error(f"reserved word w{i} is {self.w[i]}, expected 0", 8 + 4 * i)

    def low_bits(self, index: int, bits: int, what: str) -> int:
        """Word ``index`` whose bits above ``bits`` must be 0 (v2: delays, refractory periods)."""
        value = self.w[index]
        if value >> bits:
            raise self.error(f"w{index} holds {what} in bits 0-{bits - 1}; bits above are {value >> bits}, expected 0",
                             8 + 4 * index + bits // 8)  # fmt: skip
        return value

    def compartment(self) -> Compartment:
        return Compartment.I if self.flags & _ACC_CURRENT_I else Compartment.V


def _decode_instruction(
    reader: _Reader, version: int, offset: int, n_conv: int, opcode: int, flags: int, core: int, base: int,
    count: int, w: list[int],
) -> Instruction | _PendingConv:  # fmt: skip
    """One 32-byte instruction; ``w`` holds the six words w0..w5, ``n_conv`` counts the conv ACCs before it."""
    if opcode not in Opcode._value2member_map_:
        raise reader.error(f"unknown opcode 0x{opcode:02x}", offset)
    f = _Fields(reader, offset, opcode, flags, w)
    if opcode == Opcode.ACC and version == VERSION:
        return _decode_acc_v1(f, core, base, count)
    if opcode == Opcode.ACC:
        return _decode_acc_v2(f, n_conv, core, base, count)
    if opcode == Opcode.FIRE:
        return _decode_fire(f, version, core, base, count)
    if opcode == Opcode.LEAK:
        return _decode_leak(f, version, core, base, count)
    f.require_zero((0, 1, 2, 3, 4, 5), 0)
    if core or base or count:
        raise reader.error("HALT: core, base and count must be 0", offset + 2)
    return Halt()


def _decode_acc_v1(f: _Fields, core: int, base: int, count: int) -> Instruction:
    w = f.w
    if f.flags & _ACC_BIAS:
        f.require_zero((0, 1, 4, 5), _ACC_BIAS)
        return AccBias(core, base, count, table=w[2], row=w[3])
    f.require_zero((5,), 0)
    return Acc(core, base, count, src=w[0], src_len=w[1], table=w[2], row=w[3], col=w[4])


def _decode_acc_v2(f: _Fields, n_conv: int, core: int, base: int, count: int) -> Instruction | _PendingConv:
    w, flags = f.w, f.flags
    if flags not in _ACC_FLAGS_V2:
        allowed = ", ".join(f"0x{v:02x}" for v in sorted(_ACC_FLAGS_V2))
        raise f.error(f"flags 0x{flags:02x} are no ACC form (allowed: {allowed})", 1)
    if flags & _ACC_BIAS:
        f.require_zero((0, 1, 4, 5), flags)
        return AccBias(core, base, count, w[2], w[3], f.compartment())
    if flags & _ACC_CURRENT:
        f.require_zero((0, 1, 2, 3, 4, 5), flags)
        return AccCurrent(core, base, count)
    delay = f.low_bits(5, 16, "the delay")
    if flags & _ACC_CONV:
        if w[1] != n_conv:
            raise f.error(f"geometry index w1 is {w[1]}, expected {n_conv} (the conv ACC's ordinal)", 12)
        return _PendingConv(f.offset, core, base, count, w[0], w[2], w[3], w[4], f.compartment(), delay)
    return Acc(core, base, count, w[0], w[1], w[2], w[3], w[4], f.compartment(), delay)


def _decode_fire(f: _Fields, version: int, core: int, base: int, count: int) -> Fire:
    w, flags = f.w, f.flags
    binary = bool(flags & _FIRE_BINARY)
    v1_flags = _FIRE_BINARY | _FIRE_SUBTRACT | _FIRE_INIT_HALF
    if version == VERSION or not binary:
        f.require_zero((1,), v1_flags)
        if w[5] >> 16:
            raise f.error(f"reserved upper half of w5 is {w[5] >> 16}, expected 0", 30)
        lo = int(np.int8(np.uint8(w[5] & 0xFF)))
        hi = int(np.int8(np.uint8(w[5] >> 8)))
        return Fire(
            core, base, count, dst=w[0], table=w[2], row=w[3],
            mode=FireMode.BINARY if binary else FireMode.GRADED,
            reset=ResetMode.SUBTRACT if flags & _FIRE_SUBTRACT else ResetMode.ZERO,
            shift=w[4], lo=lo, hi=hi, init_half=bool(flags & _FIRE_INIT_HALF),
        )  # fmt: skip
    f.require_zero((), v1_flags | _FIRE_RESET_VALUE)
    if flags & _FIRE_SUBTRACT and flags & _FIRE_RESET_VALUE:
        raise f.error("flag bits 1 (reset=subtract) and 3 (reset=P) are both set", 1)
    refractory = f.low_bits(5, 8, "the refractory period")
    if flags & _FIRE_RESET_VALUE:
        reset = ResetMode.VALUE
    else:
        f.require_zero((1, 4), flags)
        reset = ResetMode.SUBTRACT if flags & _FIRE_SUBTRACT else ResetMode.ZERO
    return Fire(
        core, base, count, dst=w[0], table=w[2], row=w[3], mode=FireMode.BINARY, reset=reset, shift=0, lo=0, hi=0,
        init_half=bool(flags & _FIRE_INIT_HALF), reset_table=w[1] if reset == ResetMode.VALUE else 0,
        reset_row=w[4] if reset == ResetMode.VALUE else 0, refractory=refractory,
    )  # fmt: skip


def _decode_leak(f: _Fields, version: int, core: int, base: int, count: int) -> Leak | LeakDecay:
    w = f.w
    if version == VERSION:
        f.require_zero((1, 2, 3, 4, 5), 0)
        return Leak(core, base, count, shift=w[0])
    if f.flags & _LEAK_DECAY:
        f.require_zero((0, 1, 4, 5), _LEAK_DECAY | _ACC_CURRENT_I)
        return LeakDecay(core, base, count, w[2], w[3], f.compartment())
    f.require_zero((1, 2, 3, 4, 5), _ACC_CURRENT_I)
    return Leak(core, base, count, w[0], f.compartment())


def save_image(program: Program, path: str | os.PathLike[str]) -> None:
    """Encode ``program`` and write it atomically to ``path``."""
    atomic_write(path, encode(program))


def load_image(path: str | os.PathLike[str]) -> Program:
    """Read and decode an image file; errors are located at ``path:byte N``."""
    return decode(Path(path).read_bytes(), filename=str(path))


def is_image(data: bytes) -> bool:
    """Whether ``data`` starts like a SpikeCore image (used to tell images from assembly text)."""
    return data[:4] == MAGIC
