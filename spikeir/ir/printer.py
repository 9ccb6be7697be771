"""IR text that reads back exactly.

xDSL 0.74 prints a NaN, an infinity or a large integer-valued f32 inside a dense list as a hex bit
pattern (``0x7FC00000``), and its parser reads a hex list element back as an integer *value*
(2143289344.0), so printed weights change on the way back in. MLIR's other form of a dense
attribute, one hex string of the raw bytes (``dense<"0x0000C07F"> : tensor<1xf32>``), reads back bit
for bit: :class:`ExactPrinter` prints a float dense attribute that way whenever the list form would
carry a hex element, and every other attribute as xDSL does.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import AnyFloat, DenseIntOrFPElementsAttr, ModuleOp
from xdsl.ir import Attribute, Operation
from xdsl.printer import Printer
from xdsl.targets.mlir import MLIRTarget
from xdsl.utils.hints import isa


class ExactPrinter(Printer):
    """xDSL's printer, except float dense attributes whose list form would not read back exactly."""

    def print_attribute(self, attribute: Attribute) -> None:
        if not isa(attribute, DenseIntOrFPElementsAttr[AnyFloat]):
            super().print_attribute(attribute)
            return
        # xDSL's list form, printed once: kept unless it carries a hex element (which reads back wrong)
        listed = StringIO()
        Printer(stream=listed).print_attribute(attribute)
        if "0x" not in listed.getvalue():
            self.print_string(listed.getvalue())
            return
        self.print_string(f'dense<"0x{attribute.data.data.hex().upper()}"> : ')
        super().print_attribute(attribute.type)


def print_ir(op: Operation) -> str:
    """``str(op)``, with attributes that read back exactly."""
    text = StringIO()
    ExactPrinter(stream=text).print_op(op)
    return text.getvalue()


@dataclass(frozen=True)
class ExactMLIRTarget(MLIRTarget):
    """spike-opt's ``-t mlir`` (the default output): xDSL's, printed with :class:`ExactPrinter`."""

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        if self.syntax_highlight:  # colours are for a terminal, not for reading back
            super().emit(ctx, module, output)
            return
        printer = ExactPrinter(
            stream=output,
            print_generic_format=self.print_generic_format,
            print_properties_as_attributes=self.print_properties_as_attributes,
            print_debuginfo=self.print_debuginfo,
        )
        printer.print_op(module)
        printer.print_metadata(ctx.loaded_dialects)
        print("\n", file=output)
