"""The binary image of docs/isa.md section 5: exact layout, round trips, and hostile input."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.chip.assembly import assemble, disassemble
from spikeir.chip.image import HEADER_SIZE, decode, encode, is_image, load_image, save_image
from spikeir.chip.isa import Acc, AccBias, Halt, Program
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import ImageError, ProgramError, TargetError
from support.program_strategies import assert_same_program, programs
from support.programs import small_program


def with_crc(image: bytes | bytearray) -> bytes:
    """``image`` with its header's payload size and CRC made consistent again (to reach later checks)."""
    data = bytearray(image)
    payload = bytes(data[HEADER_SIZE:])
    struct.pack_into("<II", data, 72, len(payload), zlib.crc32(payload))
    return bytes(data)


def patched(image: bytes, offset: int, fmt: str, *values: int | float | bytes) -> bytes:
    data = bytearray(image)
    struct.pack_into(fmt, data, offset, *values)
    return with_crc(data)


# Offsets in the image of small_program(): an 80-byte header, the input scale, one output, seven
# instructions, synapse tables S0 (2x4) and S1 (2x2), param tables P0 and P1 (2 values each).
OUTPUT0 = 88
INSTR0 = 104
S0_AT = INSTR0 + 7 * 32
S1_AT = S0_AT + 12 + 8
P0_AT = S1_AT + 12 + 4
END = P0_AT + 2 * 16


def test_layout_of_the_small_program() -> None:
    image = encode(small_program())
    magic, version, header_size, name = struct.unpack_from("<4sHH32s", image)
    assert (magic, version, header_size, name.rstrip(b"\0")) == (b"SPKC", 1, 80, b"spikecore-v1")
    assert struct.unpack_from("<HHIIIIIHHHHII", image, 40)[:11] == (128, 1024, 131072, 16384, 262144, 4, 7, 1, 2, 2, 0)
    assert struct.unpack_from("<II", image, 72) == (len(image) - 80, zlib.crc32(image[80:]))
    assert struct.unpack_from("<d", image, 80) == (0.0078125,)
    assert struct.unpack_from("<HHHHd", image, OUTPUT0) == (1, 0, 2, 0, 0.000123)
    # ACC c0[0:2], S0[0:2, 0:4], bus[0:4]
    assert struct.unpack_from("<BBHHH6I", image, INSTR0) == (1, 0, 0, 0, 2, 0, 4, 0, 0, 0, 0)
    # ACC c0[0:2], P0[0:2]: flags bit0
    assert struct.unpack_from("<BBHHH6I", image, INSTR0 + 32) == (1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0)
    # FIRE c0[0:2] -> bus[4:6], graded, P1[0:2], shift=24, clamp=[0,127]
    assert struct.unpack_from("<BBHHH5Ibb2x", image, INSTR0 + 64) == (2, 0, 0, 0, 2, 4, 0, 1, 0, 24, 0, 127)
    # FIRE c1[0:2] -> bus[6:8], binary, P1[0:2], reset=subtract, init=half: flags 0b111
    assert struct.unpack_from("<BBHHH6I", image, INSTR0 + 128) == (2, 7, 1, 0, 2, 6, 0, 1, 0, 0, 0)
    # LEAK c1[0:2], shift=4
    assert struct.unpack_from("<BBHHH6I", image, INSTR0 + 160) == (3, 0, 1, 0, 2, 4, 0, 0, 0, 0, 0)
    assert struct.unpack_from("<32s", image, INSTR0 + 192) == (b"\x0f" + b"\0" * 31,)
    assert struct.unpack_from("<III8b", image, S0_AT) == (0, 2, 4, 0, -1, 127, -128, 1, 2, 3, 4)
    assert struct.unpack_from("<III4b", image, S1_AT) == (1, 2, 2, 1, 2, 3, 4)
    assert struct.unpack_from("<IIiiIIii", image, P0_AT) == (0, 2, 1, -2, 1, 2, 16, 5)
    assert len(image) == END


def test_synapse_tables_are_padded_to_four_bytes() -> None:
    program = small_program()
    program.synapse_tables[2] = np.arange(3, dtype=np.int8).reshape(1, 3)
    image = encode(program)
    assert_same_program(decode(image), program)
    assert (len(image) - HEADER_SIZE) % 4 == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_round_trip(program: Program) -> None:
    image = encode(program)
    assert_same_program(decode(image), program)
    text = disassemble(program)
    assert disassemble(decode(encode(assemble(text)))) == text


def test_encode_validates() -> None:
    program = small_program()
    program.instructions = program.instructions[:-1]
    with pytest.raises(ProgramError, match="must end with HALT"):
        encode(program)


def test_a_target_name_the_image_cannot_hold_cannot_be_made() -> None:
    """The image's name field holds 32 characters, so a longer name is refused when the target is made."""
    with pytest.raises(TargetError, match="1 to 32 characters"):
        SPIKECORE_V1.with_options(name="x" * 33)


def _error(image: bytes, filename: str | None = None) -> str:
    with pytest.raises(ImageError) as info:
        decode(image, filename)
    return str(info.value)


GOOD = encode(small_program())


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (b"", "byte 0: truncated image: 0 bytes, the header alone is 80"),
        (GOOD[:40], "byte 40: truncated image"),
        (b"SPKX" + GOOD[4:], "byte 0: bad magic b'SPKX'"),
        (patched(GOOD, 4, "<H", 3), "byte 4: unsupported image version 3, expected 1 or 2"),
        (patched(GOOD, 4, "<H", 2), "byte 6: header size 80, expected 96 for version 2"),
        (patched(GOOD, 6, "<H", 64), "byte 6: header size 64, expected 80"),
        (patched(GOOD, 70, "<H", 1), "byte 70: reserved header field is 1"),
        (GOOD[:-1], "byte 72: truncated image: the header declares"),
        (GOOD + b"\0", "byte 72: trailing bytes after the payload"),
        (GOOD[:-1] + bytes([GOOD[-1] ^ 1]), "byte 76: payload CRC-32 mismatch"),
        (patched(GOOD, 8, "<32s", b""), "byte 8: bad target name"),
        (patched(GOOD, 8, "<32s", b"ab\0cd"), "byte 8: bad target name"),
        (patched(GOOD, 8, "<32s", "né".encode()), "byte 8: bad target name"),
        (patched(GOOD, 40, "<H", 0), "byte 40: target 'spikecore-v1': cores must be a positive integer"),
        (
            patched(GOOD, 60, "<I", 2**32 - 1),
            f"byte {INSTR0}: 4294967295 instructions needs 137438953440 bytes but only",
        ),
        (patched(GOOD, 64, "<H", 60000), f"byte {OUTPUT0}: 60000 outputs needs 960000 bytes"),
        (patched(GOOD, 66, "<H", 3), f"byte {P0_AT}: duplicate synapse table id 0"),
        (patched(GOOD, 68, "<H", 9), f"byte {P0_AT}: 9 param tables needs 72 bytes but only 32 remain"),
        (patched(GOOD, OUTPUT0 + 6, "<H", 1), f"byte {OUTPUT0 + 6}: reserved output field is 1"),
        (patched(GOOD, INSTR0, "<B", 0), f"byte {INSTR0}: unknown opcode 0x00"),
        (patched(GOOD, INSTR0, "<B", 0x04), f"byte {INSTR0}: unknown opcode 0x04"),
        (patched(GOOD, INSTR0 + 1, "<B", 2), f"byte {INSTR0 + 1}: ACC: undefined flag bits 0x02"),
        (patched(GOOD, INSTR0 + 28, "<I", 5), f"byte {INSTR0 + 28}: ACC: reserved word w5 is 5"),
        (patched(GOOD, INSTR0 + 32 + 8, "<I", 1), f"byte {INSTR0 + 40}: ACC: reserved word w0 is 1"),
        (patched(GOOD, INSTR0 + 64 + 1, "<B", 8), f"byte {INSTR0 + 65}: FIRE: undefined flag bits 0x08"),
        (patched(GOOD, INSTR0 + 64 + 12, "<I", 1), f"byte {INSTR0 + 76}: FIRE: reserved word w1 is 1"),
        (patched(GOOD, INSTR0 + 64 + 30, "<H", 1), f"byte {INSTR0 + 94}: FIRE: reserved upper half of w5"),
        (patched(GOOD, INSTR0 + 160 + 1, "<B", 1), f"byte {INSTR0 + 161}: LEAK: undefined flag bits 0x01"),
        (patched(GOOD, INSTR0 + 192 + 2, "<H", 1), f"byte {INSTR0 + 194}: HALT: core, base and count must be 0"),
        (
            patched(GOOD, S0_AT + 4, "<I", 2**31),
            f"byte {S0_AT + 12}: synapse table 0 (2147483648x4) needs 8589934592 bytes but only 56 remain",
        ),
        (patched(GOOD, S1_AT, "<I", 0), f"byte {S1_AT}: duplicate synapse table id 0"),
        (patched(GOOD, P0_AT + 16, "<I", 0), f"byte {P0_AT + 16}: duplicate param table id 0"),
        (patched(GOOD, P0_AT + 4, "<I", 1), f"byte {END - 8}: 8 unexpected bytes after the last table"),
        # then Program.validate, located at the instruction it names:
        (patched(GOOD, INSTR0 + 2, "<H", 500), f"byte {INSTR0}: instr 0: core 500 is out of range"),
        (patched(GOOD, INSTR0 + 64 + 1, "<B", 2), f"byte {INSTR0 + 64}: instr 2: graded FIRE always resets to zero"),
        (patched(GOOD, INSTR0 + 64 + 24, "<I", 63), f"byte {INSTR0 + 64}: instr 2: graded shift 63 is outside 0..62"),
        (patched(GOOD, OUTPUT0, "<H", 999), f"byte {OUTPUT0}: output 0: core 999 is out of range"),
    ],
)
def test_decode_errors_name_the_offset(image: bytes, expected: str) -> None:
    assert expected in _error(image)


def test_nonzero_padding_is_rejected() -> None:
    program = small_program()
    program.synapse_tables[2] = np.arange(3, dtype=np.int8).reshape(1, 3)
    image = encode(program)
    pad_at = P0_AT + 12 + 3  # S2 follows S1: a 12-byte header, 3 bytes, one padding byte
    assert struct.unpack_from("<III3bx", image, P0_AT) == (2, 1, 3, 0, 1, 2)
    assert "byte {}: synapse table 2: nonzero padding".format(pad_at) in _error(patched(image, pad_at, "<B", 1))


def test_decode_error_names_the_file() -> None:
    assert _error(b"nope" * 20, "net.spk").startswith("net.spk:byte 0: bad magic")


def test_hostile_counts_are_rejected_without_allocating() -> None:
    one_huge_table = with_crc(GOOD[:S0_AT] + struct.pack("<III", 0, 2**32 - 1, 2**32 - 1))
    start = time.perf_counter()
    for image in (
        patched(GOOD, 60, "<I", 2**32 - 1),
        patched(one_huge_table, 66, "<H", 1),
        patched(GOOD, 66, "<H", 65535),
    ):
        with pytest.raises(ImageError, match="needs"):
            decode(image)
    assert time.perf_counter() - start < 0.5


@settings(max_examples=200, deadline=1000)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_image_errors(data: bytes) -> None:
    for image in (data, b"SPKC" + data, with_crc(b"SPKC\x01\x00\x50\x00" + data) if len(data) >= 72 else data):
        with pytest.raises(ImageError):
            decode(image)


@settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(
    programs(max_instructions=5),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    st.sampled_from(["flip", "truncate", "extend"]),
    st.booleans(),
)
def test_mutated_images_decode_or_raise_image_error(
    program: Program, edits: list[tuple[int, int]], how: str, fix_crc: bool
) -> None:
    image = bytearray(encode(program))
    if how == "flip":
        for position, value in edits:
            image[position % len(image)] ^= value or 1
    elif how == "truncate":
        del image[edits[0][0] % len(image) :]
    else:
        image += bytes(value for _, value in edits)
    mutated = with_crc(image) if fix_crc and len(image) >= HEADER_SIZE else bytes(image)
    try:
        decoded = decode(mutated)
    except ImageError:
        return
    assert encode(decoded) == mutated  # whatever decodes is exactly what its image says


def test_large_image_round_trips_fast() -> None:
    rng = np.random.default_rng(1)
    program = Program(
        [Acc(0, 0, 1024, src=0, src_len=2048, table=0), AccBias(0, 0, 1024, table=0), Halt()],
        n_inputs=2048,
        synapse_tables={0: rng.integers(-128, 128, (1024, 2048), dtype=np.int8)},
        param_tables={0: rng.integers(-1000, 1000, 1024).astype(np.int32)},
        target=SPIKECORE_V1.with_options(synapse_bytes=1 << 22),
    )
    start = time.perf_counter()
    image = encode(program)
    again = decode(image)
    assert time.perf_counter() - start < 0.5
    assert len(image) > 2 * 2**20
    assert_same_program(again, program)


def test_save_and_load_image(tmp_path: Path) -> None:
    path = tmp_path / "net.spk"
    save_image(small_program(), path)
    assert is_image(path.read_bytes())
    assert_same_program(load_image(path), small_program())
    assert [p.name for p in tmp_path.iterdir()] == ["net.spk"]


def test_failed_save_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "net.spk"
    save_image(small_program(), path)
    before = path.read_bytes()
    broken = small_program()
    broken.instructions = broken.instructions[:-1]
    with pytest.raises(ProgramError):
        save_image(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.spk"]


def test_load_image_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.spk"
    path.write_bytes(GOOD[:-3])
    with pytest.raises(ImageError, match=r"bad\.spk:byte 72: truncated image"):
        load_image(path)


def test_programs_compare_by_value() -> None:
    text = """.target spikecore-v1
.inputs 2
    ACC c0[0:1], S0[0:1, 0:2], bus[0:2]
    HALT
.synapses S0 1x2
    017f
"""
    a, b = assemble(text), assemble(text)
    assert a == b and decode(encode(a)) == a
    assert a != assemble(text.replace("017f", "027f"))
