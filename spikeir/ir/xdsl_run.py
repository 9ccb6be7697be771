"""``xdsl-run`` with spikeir's interpreter functions: nn, quant and `spikecore.launch` IR, executed.

    python -m spikeir.ir.xdsl_run net.mlir --args 'dense<...> : tensor<2x4xf32>' --verbose [--timesteps T]

xDSL 0.74's ``xdsl-run`` finds dialects through the ``xdsl.universe`` entry point (so it parses
spikeir IR), but its interpreter functions are a fixed list (``xdsl.interpreters.register_implementations``):
a `Universe` has no slot for them. This is xDSL's own ``xDSLRunMain`` with that hook overridden, as
xDSL's command-line tools are meant to be extended: xDSL's implementations first, then spikeir's
(:func:`register_spikeir_implementations`), whose numpy ``arith.constant`` replaces xDSL's so that
every tensor value is a numpy array. Function arguments are dense attributes (``--args``); a
first axis typed 1 takes any batch size.
"""

from __future__ import annotations

import argparse
import sys

from xdsl.interpreter import Interpreter as XDSLInterpreter
from xdsl.tools.xdsl_run import xDSLRunMain

from spikeir.ir.host import SpikeCoreFunctions
from spikeir.ir.interpreter import NnFunctions, QuantFunctions, TensorConstantFunctions


def register_spikeir_implementations(interpreter: XDSLInterpreter, timesteps: int = 1) -> None:
    """Add spikeir's implementations (arith.constant as numpy, nn, quant, spikecore.launch) to an
    interpreter that may already hold xDSL's; spikeir's win where both define an op."""
    for functions in (TensorConstantFunctions(), NnFunctions(), QuantFunctions(), SpikeCoreFunctions(timesteps)):
        interpreter.register_implementations(functions, override=True)


class SpikeIRRunMain(xDSLRunMain):
    """``xdsl-run`` that also runs spikeir's dialects."""

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--timesteps", type=int, default=1, help="timesteps of each spikecore.launch (default 1)"
        )

    def register_implementations(self, interpreter: XDSLInterpreter) -> None:
        super().register_implementations(interpreter)
        register_spikeir_implementations(interpreter, self.args.timesteps)


def main() -> None:
    SpikeIRRunMain(description="xDSL modular runner, with spikeir's nn, quant and spikecore interpreters").run()


if __name__ == "__main__":
    sys.exit(main())
