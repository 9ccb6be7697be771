"""Seed notebook import path (`spikecore.assembly`): re-exports the assembler of spikeir.chip.assembly,
and Opcode, which the seed imports from here.
"""

from spikeir.chip.assembly import assemble, disassemble, load_assembly, save_assembly
from spikeir.chip.isa import Opcode

__all__ = ["Opcode", "assemble", "disassemble", "load_assembly", "save_assembly"]
