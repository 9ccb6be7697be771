"""Image version 2 (docs/isa.md §5): its exact layout, the lowest-version rule, exact round trips of
every v2 form, errors at byte offsets, and scales that mean nothing refused (issue 19 item 8)."""

from __future__ import annotations

import dataclasses
import math
import re
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.chip.assembly import assemble, disassemble
from spikeir.chip.image import HEADER_SIZE_V2, decode, encode
from spikeir.chip.isa import OutputSpec, Program, ResetMode
from spikeir.errors import ImageError, ProgramError
from support.program_strategies import assert_same_program, programs, programs_v2
from support.programs import small_program, small_v2_program

# Offsets in the image of small_v2_program(): a 96-byte header, the input scale, one output, two
# probes, fifteen instructions, two conv geometry records, then the tables.
SCALE = 96
OUTPUT0 = 104
PROBE0 = 120
INSTR = 136
GEOMETRY0 = INSTR + 15 * 32


def at(index: int) -> int:
    """Offset of instruction ``index``."""
    return INSTR + 32 * index


def with_crc(image: bytes | bytearray, header_size: int = HEADER_SIZE_V2) -> bytes:
    data = bytearray(image)
    payload = bytes(data[header_size:])
    struct.pack_into("<II", data, 72, len(payload), zlib.crc32(payload))
    return bytes(data)


def patched(image: bytes, offset: int, fmt: str, *values: int | float | bytes) -> bytes:
    data = bytearray(image)
    struct.pack_into(fmt, data, offset, *values)
    return with_crc(data, HEADER_SIZE_V2 if data[4] == 2 else 80)


GOOD = encode(small_v2_program())
V1 = encode(small_program())


def _instr(image: bytes, index: int) -> tuple[int, ...]:
    return struct.unpack_from("<BBHHH6I", image, at(index))


def test_header_of_a_v2_image() -> None:
    magic, version, header_size, name = struct.unpack_from("<4sHH32s", GOOD)
    assert (magic, version, header_size, name.rstrip(b"\0")) == (b"SPKC", 2, 96, b"test-v2")
    assert struct.unpack_from("<HHIIIIIHHHHII", GOOD, 40)[:11] == (4, 32, 4096, 64, 64, 8, 15, 1, 4, 6, 0)
    assert struct.unpack_from("<II", GOOD, 72) == (len(GOOD) - 96, zlib.crc32(GOOD[96:]))
    assert struct.unpack_from("<HHI8s", GOOD, 80) == (2, 2, 1, bytes(8))  # probes, geometry records, streamed
    assert struct.unpack_from("<d", GOOD, SCALE) == (0.5,)
    assert struct.unpack_from("<HHHHd", GOOD, OUTPUT0) == (2, 0, 2, 0, 0.25)


def test_probe_records() -> None:
    assert struct.unpack_from("<HHHBB", GOOD, PROBE0) == (0, 0, 3, 0b011, 0)  # spikes v
    assert struct.unpack_from("<HHHBB", GOOD, PROBE0 + 8) == (2, 0, 2, 0b110, 0)  # v i


def test_v2_instruction_words() -> None:
    # LEAK c0[0:3], decay=P2[0:3]: flags bit0, w2 table, w3 row
    assert _instr(GOOD, 0) == (3, 0x01, 0, 0, 3, 0, 0, 2, 0, 0, 0)
    # ACC c0[0:3], S1[0:3, 0:3], bus[8:11], delay=1: w5 delay
    assert _instr(GOOD, 2) == (1, 0x00, 0, 0, 3, 8, 3, 1, 0, 0, 1)
    # FIRE c0[0:3] -> bus[8:11], binary, P1[0:3], reset=P3[0:3], refractory=2: bit0 | bit3, w1 and w4 the
    # v_reset table and row, w5 the refractory period
    assert _instr(GOOD, 4) == (2, 0x09, 0, 0, 3, 8, 3, 1, 0, 0, 2)
    # ACC c1[0:4], S2[0:4, 0:4], bus[0:8], conv, ...: flags bit3, w1 the geometry index 0
    assert _instr(GOOD, 5) == (1, 0x08, 1, 0, 4, 0, 0, 2, 0, 0, 0)
    # LEAK c2[0:2].i, decay=P5[0:2]
    assert _instr(GOOD, 7) == (3, 0x03, 2, 0, 2, 0, 0, 5, 0, 0, 0)
    # ACC c2[0:2].i, S3[...], bus[11:15]; ACC c2[0:2].i, P0[0:2]
    assert _instr(GOOD, 8) == (1, 0x02, 2, 0, 2, 11, 4, 3, 0, 0, 0)
    assert _instr(GOOD, 9) == (1, 0x03, 2, 0, 2, 0, 0, 0, 0, 0, 0)
    # ACC c2[0:2], i
    assert _instr(GOOD, 11) == (1, 0x04, 2, 0, 2, 0, 0, 0, 0, 0, 0)
    # ACC c3[0:4].i, ... conv ..., delay=2: geometry index 1
    assert _instr(GOOD, 12) == (1, 0x0A, 3, 0, 4, 0, 1, 2, 0, 0, 2)
    # LEAK c3[0:4].i, shift=2
    assert _instr(GOOD, 13) == (3, 0x02, 3, 0, 4, 2, 0, 0, 0, 0, 0)


def test_geometry_records() -> None:
    record = struct.unpack_from("<HHHHHHBBBBBBBBHHII", GOOD, GEOMETRY0)
    assert record == (2, 2, 2, 4, 1, 1, 2, 2, 1, 1, 0, 0, 1, 1, 2, 0, 0, 0)
    assert GOOD[GEOMETRY0 + 32 : GEOMETRY0 + 64] == GOOD[GEOMETRY0 : GEOMETRY0 + 32]
    assert struct.unpack_from("<III", GOOD, GEOMETRY0 + 64) == (0, 3, 8)  # then synapse table S0 (3x8)


def test_v2_image_round_trips() -> None:
    program = decode(GOOD)
    assert_same_program(program, small_v2_program())
    assert encode(program) == GOOD


def test_v1_programs_still_get_version_1_images() -> None:
    assert struct.unpack_from("<HH", V1, 4) == (1, 80)
    assert not small_program().uses_v2()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "streamed_input", True),
        lambda p: p.instructions.__setitem__(
            4, dataclasses.replace(p.instructions[4], reset=ResetMode.ZERO, refractory=1)
        ),
    ],
)
def test_one_v2_feature_makes_a_version_2_image(change) -> None:  # type: ignore[no-untyped-def]
    program = small_program()
    change(program)
    image = encode(program)
    assert struct.unpack_from("<HH", image, 4) == (2, 96)
    assert_same_program(decode(image), program)


def _as_version_2(v1_image: bytes) -> bytes:
    """A version-1 image rewritten as version 2 with no v2 feature (counts 0, flags 0)."""
    data = bytearray(v1_image[:80] + bytes(16) + v1_image[80:])
    struct.pack_into("<HH", data, 4, 2, 96)
    return with_crc(data)


def test_a_version_2_image_without_v2_features_decodes_to_the_v1_program() -> None:
    image = _as_version_2(V1)
    program = decode(image)
    assert_same_program(program, small_program())
    assert encode(program) == V1  # and re-encodes as version 1


def _error(image: bytes) -> str:
    with pytest.raises(ImageError) as info:
        decode(image)
    return str(info.value)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (GOOD[:90], "byte 90: truncated image: 90 bytes, the version-2 header alone is 96"),
        (patched(GOOD, 6, "<H", 80), "byte 6: header size 80, expected 96 for version 2"),
        (patched(V1, 6, "<H", 96), "byte 6: header size 96, expected 80 for version 1"),
        (patched(GOOD, 84, "<I", 3), "byte 84: undefined program flag bits 0x00000002"),
        (patched(GOOD, 88, "<B", 1), "byte 88: reserved header bytes 0100000000000000"),
        (patched(GOOD, 95, "<B", 1), "byte 88: reserved header bytes"),
        (patched(GOOD, 80, "<H", 60000), f"byte {PROBE0}: 60000 probes needs 480000 bytes"),
        (patched(GOOD, 82, "<H", 3), "byte 82: the header declares 3 conv geometry records, the program has 2"),
        (patched(GOOD, PROBE0 + 6, "<B", 0), f"byte {PROBE0 + 6}: probe 0: kinds 0x00 must set one or more"),
        (patched(GOOD, PROBE0 + 6, "<B", 9), f"byte {PROBE0 + 6}: probe 0: kinds 0x09"),
        (patched(GOOD, PROBE0 + 15, "<B", 1), f"byte {PROBE0 + 15}: probe 1: reserved byte is 1"),
        (patched(GOOD, at(1) + 1, "<B", 0x05), f"byte {at(1) + 1}: ACC: flags 0x05 are no ACC form"),
        (patched(GOOD, at(1) + 1, "<B", 0x10), f"byte {at(1) + 1}: ACC: flags 0x10 are no ACC form"),
        (patched(GOOD, at(2) + 30, "<H", 1), f"byte {at(2) + 30}: ACC: w5 holds the delay in bits 0-15"),
        (patched(GOOD, at(3) + 28, "<I", 1), f"byte {at(3) + 28}: ACC: reserved word w5 is 1"),
        (patched(GOOD, at(11) + 8, "<I", 1), f"byte {at(11) + 8}: ACC: reserved word w0 is 1"),
        (patched(GOOD, at(5) + 12, "<I", 1), f"byte {at(5) + 12}: ACC: geometry index w1 is 1, expected 0"),
        (patched(GOOD, at(12) + 12, "<I", 0), f"byte {at(12) + 12}: ACC: geometry index w1 is 0, expected 1"),
        (patched(GOOD, at(4) + 1, "<B", 0x0B), f"byte {at(4) + 1}: FIRE: flag bits 1 (reset=subtract) and 3"),
        (patched(GOOD, at(4) + 1, "<B", 0x19), f"byte {at(4) + 1}: FIRE: undefined flag bits 0x10"),
        (patched(GOOD, at(4) + 29, "<B", 1), f"byte {at(4) + 29}: FIRE: w5 holds the refractory period in bits 0-7"),
        (patched(GOOD, at(4) + 1, "<B", 0x01), f"byte {at(4) + 12}: FIRE: reserved word w1 is 3"),
        (patched(GOOD, at(6) + 1, "<B", 0x08), f"byte {at(6) + 1}: FIRE: undefined flag bits 0x08"),
        (patched(GOOD, at(6) + 12, "<I", 1), f"byte {at(6) + 12}: FIRE: reserved word w1 is 1"),
        (patched(GOOD, at(0) + 1, "<B", 0x04), f"byte {at(0) + 1}: LEAK: undefined flag bits 0x04"),
        (patched(GOOD, at(0) + 8, "<I", 1), f"byte {at(0) + 8}: LEAK: reserved word w0 is 1"),
        (patched(GOOD, at(13) + 16, "<I", 1), f"byte {at(13) + 16}: LEAK: reserved word w2 is 1"),
        (patched(GOOD, GEOMETRY0 + 22, "<H", 1), f"byte {GEOMETRY0 + 22}: conv geometry record: reserved field"),
        (patched(GOOD, GEOMETRY0 + 28, "<I", 1), f"byte {GEOMETRY0 + 28}: conv geometry record: reserved field"),
        # v2 flags and words in a version-1 image are what they were before v2: undefined and reserved
        (patched(V1, 104 + 1, "<B", 0x02), "byte 105: ACC: undefined flag bits 0x02"),
        (patched(V1, 104 + 28, "<I", 1), "byte 132: ACC: reserved word w5 is 1"),
        (patched(V1, 104 + 160 + 1, "<B", 0x01), "byte 265: LEAK: undefined flag bits 0x01"),
        # then Program.validate, at the instruction, output or probe it names
        (patched(GOOD, GEOMETRY0 + 8, "<H", 2), f"byte {at(5)}: instr 5: conv output shape 4x2x1 does not match"),
        (patched(GOOD, GEOMETRY0 + 20, "<H", 3), f"byte {at(5)}: instr 5: conv groups 3 must divide"),
        (patched(GOOD, GEOMETRY0 + 24, "<I", 1), f"byte {at(5)}: instr 5: output positions [1:5] exceed"),
        (patched(GOOD, at(2) + 28, "<I", 2000), "byte 96: core 0: needs 6033 bytes of synaptic memory"),
        (
            patched(patched(GOOD, at(4) + 1, "<B", 0x03), at(4) + 12, "<I", 0),
            f"byte {at(4)}: instr 4: refractory requires reset=zero or reset=P",
        ),
        (patched(GOOD, at(4) + 16, "<I", 2), f"byte {at(4)}: instr 4: binary FIRE thresholds in param table 2"),
        (patched(GOOD, PROBE0 + 2, "<H", 31), f"byte {PROBE0}: probe 0: neurons [31:34] exceed core 0's 32"),
        (patched(GOOD, PROBE0 + 14, "<B", 7), f"byte {PROBE0 + 8}: probe 1: a spike probe needs"),
    ],
)
def test_v2_decode_errors_name_the_offset(image: bytes, expected: str) -> None:
    assert expected in _error(image)


@pytest.mark.parametrize("scale", [math.nan, math.inf, -math.inf, -1.5, -5e-324])
def test_meaningless_scales_are_refused_at_their_byte(scale: float) -> None:
    """Issue 19 item 8: NaN, infinite and negative scales, in either version, at the scale's offset."""
    message = "must be finite and positive (or 0.0 for unknown)"
    assert f"byte 80: input scale {message}" in _error(patched(V1, 80, "<d", scale))
    assert f"byte 96: output 0: output scale {message}" in _error(patched(V1, 88 + 8, "<d", scale))
    assert f"byte {SCALE}: input scale {message}" in _error(patched(GOOD, SCALE, "<d", scale))
    assert f"byte {OUTPUT0 + 8}: output 0: output scale {message}" in _error(patched(GOOD, OUTPUT0 + 8, "<d", scale))
    program = small_program()
    program.outputs = [OutputSpec(1, 0, 2, scale)]
    with pytest.raises(ProgramError, match=re.escape(f"output 0: output scale {message}")):
        encode(program)
    program = small_program()
    program.input_scale = scale
    with pytest.raises(ProgramError, match=re.escape(f"header: input scale {message}")):
        encode(program)


def test_negative_zero_scale_is_unknown_and_kept_bit_for_bit() -> None:
    program = small_program()
    program.input_scale = -0.0
    image = encode(program)
    assert image[80:88] == struct.pack("<d", -0.0)
    assert math.copysign(1.0, decode(image).input_scale) == -1.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(programs_v2(all_forms=True), programs_v2(), programs(max_instructions=6)))
def test_text_program_image_round_trips_are_exact(program: Program) -> None:
    image = encode(program)
    assert struct.unpack_from("<H", image, 4) == (2 if program.uses_v2() else 1,)
    decoded = decode(image)
    assert_same_program(decoded, program)
    assert encode(decoded) == image
    text = disassemble(program)
    assert disassemble(decoded) == text
    assert_same_program(assemble(text), program)
    assert encode(assemble(text)) == image


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    programs_v2(all_forms=True, max_instructions=3),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    st.booleans(),
)
def test_mutated_v2_images_decode_or_raise_image_error(
    program: Program, edits: list[tuple[int, int]], fix_crc: bool
) -> None:
    image = bytearray(encode(program))
    for position, value in edits:
        image[position % len(image)] ^= value or 1
    version = image[4] | image[5] << 8
    mutated = with_crc(image, 96 if version == 2 else 80) if fix_crc and len(image) >= 96 else bytes(image)
    try:
        decoded = decode(mutated)
    except ImageError:
        return
    again = encode(decoded)  # whatever decodes is what its image says (a v1 program re-encodes as version 1)
    assert again == mutated or (version == 2 and not decoded.uses_v2() and decode(again) == decoded)
