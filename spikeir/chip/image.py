"""The SpikeCore binary program image (docs/isa.md section 5): ``encode``, ``decode`` and atomic file I/O.

The decoder treats its input as hostile: every count is checked against the bytes actually present
before anything is allocated, every reserved field and flag bit must be zero, and every problem is an
:class:`~spikeir.errors.ImageError` naming the byte offset where it was found.
"""

from __future__ import annotations

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
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    Opcode,
    OutputSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import TARGETS, TargetDescription
from spikeir.errors import ImageError, ProgramError, TargetError
from spikeir.fileio import atomic_write

MAGIC = b"SPKC"
VERSION = 1
HEADER_SIZE = 80
NAME_SIZE = 32
"""Room for every known target name (``spikecore-v1-seed`` is 17 characters)."""

TARGET_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.+-]*"
"""The characters a stored target name may use (so every image also has an assembly text form)."""

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

RESOURCE_FIELDS = ("cores", "neurons_per_core", "synapse_bytes", "max_fan_in", "bus_size")
"""The target fields a program stores (text ``.target`` keys and image header fields)."""

_U32 = 2**32

_FIRE_BINARY = 0x1
_FIRE_SUBTRACT = 0x2
_FIRE_INIT_HALF = 0x4
_ACC_BIAS = 0x1


def target_from_fields(name: str, fields: dict[str, int]) -> TargetDescription:
    """The target a stored program describes, from the name and resource fields of its image header
    or ``.target`` directive: a known target with those fields, or a new target of that name. Raises
    TargetError for invalid field values, including values that do not fit the image's 32-bit fields
    (so every assembly listing also has an image)."""
    for key, value in fields.items():
        if value >= _U32:
            raise TargetError(f"{key} {value} does not fit 32 bits (the image's field width)")
    base = TARGETS.get(name) or TargetDescription(name=name)
    return base.with_options(**fields)


def _fire_flags(instr: Fire) -> int:
    flags = _FIRE_BINARY if instr.mode == FireMode.BINARY else 0
    flags |= _FIRE_SUBTRACT if instr.reset == ResetMode.SUBTRACT else 0
    return flags | (_FIRE_INIT_HALF if instr.init_half else 0)


def _instruction_row(instr: Instruction) -> tuple[int, int, int, int, int, list[int]]:
    if isinstance(instr, Acc):
        return (
            Opcode.ACC,
            0,
            instr.core,
            instr.base,
            instr.count,
            [instr.src, instr.src_len, instr.table, instr.row, instr.col, 0],
        )
    if isinstance(instr, AccBias):
        return Opcode.ACC, _ACC_BIAS, instr.core, instr.base, instr.count, [0, 0, instr.table, instr.row, 0, 0]
    if isinstance(instr, Fire):
        clamp = (instr.lo & 0xFF) | ((instr.hi & 0xFF) << 8)
        return (
            Opcode.FIRE,
            _fire_flags(instr),
            instr.core,
            instr.base,
            instr.count,
            [instr.dst, 0, instr.table, instr.row, instr.shift, clamp],
        )
    if isinstance(instr, Leak):
        return Opcode.LEAK, 0, instr.core, instr.base, instr.count, [instr.shift, 0, 0, 0, 0, 0]
    return Opcode.HALT, 0, 0, 0, 0, [0] * 6


def encode(program: Program) -> bytes:
    """The image of a valid program (validates first, so every image ``encode`` writes decodes)."""
    program.validate()
    target = program.target
    if not re.fullmatch(TARGET_NAME, target.name) or len(target.name) > NAME_SIZE:
        raise ImageError(
            f"target name {target.name!r} must be 1 to {NAME_SIZE} characters of [A-Za-z0-9_.+-]", "target"
        )
    name = target.name.encode("ascii")
    for key in ("synapse_bytes", "max_fan_in", "bus_size"):
        if getattr(target, key) >= _U32:
            raise ImageError(f"target {key} {getattr(target, key)} does not fit 32 bits", "target")
    for kind, tables in (("synapse", program.synapse_tables), ("param", program.param_tables)):
        for tid in tables:
            if not 0 <= tid < _U32:
                raise ImageError(f"{kind} table id {tid} does not fit 32 bits", f"{kind} table {tid}")
    if len(program.outputs) > 0xFFFF or len(program.synapse_tables) > 0xFFFF or len(program.param_tables) > 0xFFFF:
        raise ImageError("more than 65535 outputs or tables per kind", "header")

    parts: list[bytes] = [struct.pack("<d", program.input_scale)]
    parts += [_OUTPUT.pack(out.core, out.base, out.count, 0, out.scale) for out in program.outputs]
    instrs = np.zeros(len(program.instructions), dtype=_INSTR_DTYPE)
    for index, instr in enumerate(program.instructions):
        instrs[index] = _instruction_row(instr)
    parts.append(instrs.tobytes())
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
    header = _HEADER.pack(
        MAGIC, VERSION, HEADER_SIZE, name, target.cores, target.neurons_per_core, target.synapse_bytes,
        target.max_fan_in, target.bus_size, program.n_inputs, len(program.instructions), len(program.outputs),
        len(program.synapse_tables), len(program.param_tables), 0, len(payload), zlib.crc32(payload),
    )  # fmt: skip
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


def decode(data: bytes, filename: str | None = None) -> Program:
    """The program stored in an image; ImageError (with the byte offset) for anything malformed."""
    reader = _Reader(bytes(data), filename)
    header = _read_header(reader)
    input_scale = struct.unpack("<d", reader.take(8, "input scale"))[0]
    outputs = _read_outputs(reader, header.n_outputs)
    instr_start = reader.offset
    instructions = _read_instructions(reader, header.n_instructions)
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
    )
    try:
        program.validate()
    except ProgramError as err:
        raise _program_error(reader, err, instr_start, outputs_start=HEADER_SIZE + 8) from None
    return program


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
    if version != VERSION:
        raise reader.error(f"unsupported image version {version}, expected {VERSION}", 4)
    if header_size != HEADER_SIZE:
        raise reader.error(f"header size {header_size}, expected {HEADER_SIZE}", 6)
    if reserved != 0:
        raise reader.error(f"reserved header field is {reserved}, expected 0", _AT_RESERVED)
    _check_payload(reader, payload_size, crc)
    target = _header_target(reader, raw_name, (cores, neurons, synapse_bytes, max_fan_in, bus_size))
    return _Header(target, n_inputs, n_instr, n_outputs, n_syn, n_par)


def _check_payload(reader: _Reader, payload_size: int, crc: int) -> None:
    """The payload must be exactly as long as the header declares and match its CRC-32."""
    actual = len(reader.data) - HEADER_SIZE
    if payload_size != actual:
        kind = "truncated image" if actual < payload_size else "trailing bytes after the payload"
        raise reader.error(
            f"{kind}: the header declares {payload_size} payload bytes, the image has {actual}", _AT_PAYLOAD_SIZE
        )
    if zlib.crc32(reader.data[HEADER_SIZE:]) != crc:
        raise reader.error(
            f"payload CRC-32 mismatch: header says 0x{crc:08x}, payload is 0x{zlib.crc32(reader.data[HEADER_SIZE:]):08x}",
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
        outputs.append(OutputSpec(core, base, n_neurons, scale))
    return outputs


def _read_instructions(reader: _Reader, count: int) -> list[Instruction]:
    """The 32-byte instructions, each decoded at its own offset (so errors point at it)."""
    start = reader.offset
    raw = np.frombuffer(reader.take(count * _INSTR_DTYPE.itemsize, f"{count} instructions"), dtype=_INSTR_DTYPE)
    return [_decode_instruction(reader, start + 32 * index, *row) for index, row in enumerate(raw.tolist())]


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


def _program_error(reader: _Reader, err: ProgramError, instr_start: int, outputs_start: int) -> ImageError:
    """A validation error as an ImageError at the offset of the instruction (or output) it names."""
    where = err.location or ""
    offset = HEADER_SIZE
    kind, _, number = where.partition(" ")
    if kind == "instr" and number.isdigit():
        offset = instr_start + 32 * int(number)
    elif kind == "output" and number.isdigit():
        offset = outputs_start + _OUTPUT.size * int(number)
    return reader.error(f"{where}: {err.message}" if where else err.message, offset)


def _decode_instruction(
    reader: _Reader, offset: int, opcode: int, flags: int, core: int, base: int, count: int, w: list[int]
) -> Instruction:
    """One 32-byte instruction; ``w`` holds the six words w0..w5."""

    def require_zero(word_indices: tuple[int, ...], allowed_flags: int) -> None:
        if flags & ~allowed_flags:
            raise reader.error(f"{name}: undefined flag bits 0x{flags & ~allowed_flags:02x}", offset + 1)
        for i in word_indices:
            if w[i]:
                raise reader.error(f"{name}: reserved word w{i} is {w[i]}, expected 0", offset + 8 + 4 * i)

    if opcode not in Opcode._value2member_map_:
        raise reader.error(f"unknown opcode 0x{opcode:02x}", offset)
    name = Opcode(opcode).name
    if opcode == Opcode.ACC and flags & _ACC_BIAS:
        require_zero((0, 1, 4, 5), _ACC_BIAS)
        return AccBias(core, base, count, table=w[2], row=w[3])
    if opcode == Opcode.ACC:
        require_zero((5,), 0)
        return Acc(core, base, count, src=w[0], src_len=w[1], table=w[2], row=w[3], col=w[4])
    if opcode == Opcode.FIRE:
        require_zero((1,), _FIRE_BINARY | _FIRE_SUBTRACT | _FIRE_INIT_HALF)
        if w[5] >> 16:
            raise reader.error(f"FIRE: reserved upper half of w5 is {w[5] >> 16}, expected 0", offset + 30)
        lo = int(np.int8(np.uint8(w[5] & 0xFF)))
        hi = int(np.int8(np.uint8(w[5] >> 8)))
        return Fire(
            core, base, count, dst=w[0], table=w[2], row=w[3],
            mode=FireMode.BINARY if flags & _FIRE_BINARY else FireMode.GRADED,
            reset=ResetMode.SUBTRACT if flags & _FIRE_SUBTRACT else ResetMode.ZERO,
            shift=w[4], lo=lo, hi=hi, init_half=bool(flags & _FIRE_INIT_HALF),
        )  # fmt: skip
    if opcode == Opcode.LEAK:
        require_zero((1, 2, 3, 4, 5), 0)
        return Leak(core, base, count, shift=w[0])
    require_zero((0, 1, 2, 3, 4, 5), 0)
    if core or base or count:
        raise reader.error("HALT: core, base and count must be 0", offset + 2)
    return Halt()


def save_image(program: Program, path: str | os.PathLike[str]) -> None:
    """Encode ``program`` and write it atomically to ``path``."""
    atomic_write(path, encode(program))


def load_image(path: str | os.PathLike[str]) -> Program:
    """Read and decode an image file; errors are located at ``path:byte N``."""
    return decode(Path(path).read_bytes(), filename=str(path))


def is_image(data: bytes) -> bool:
    """Whether ``data`` starts like a SpikeCore image (used to tell images from assembly text)."""
    return data[:4] == MAGIC
