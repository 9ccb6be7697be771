"""spike-opt's two chip targets agree on v2 IR: the image written by -t spikecore-bin is version 2 and
decodes to the program that -t spikecore-asm prints."""

from __future__ import annotations

import struct
from pathlib import Path

from spikeir.chip.assembly import assemble
from spikeir.chip.image import HEADER_SIZE_V2, VERSION_2, decode, encode
from spikeir.tools.spike_opt import main as spike_opt

V2_IR = Path(__file__).parents[1] / "lit" / "tools" / "spikecore-v2-asm.mlir"


def test_the_v2_image_decodes_to_the_printed_program(tmp_path: Path) -> None:
    image, text = tmp_path / "p.img", tmp_path / "p.s"
    assert spike_opt([str(V2_IR), "-t", "spikecore-bin", "-o", str(image)]) == 0
    assert spike_opt([str(V2_IR), "-t", "spikecore-asm", "-o", str(text)]) == 0
    data = image.read_bytes()
    program = decode(data)
    assert program == assemble(text.read_text())
    assert program.uses_v2() and program.streamed_input
    assert encode(program) == data
    version, header_size = struct.unpack_from("<HH", data, 4)
    assert (version, header_size) == (VERSION_2, HEADER_SIZE_V2)
