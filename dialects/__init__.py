"""spikeir's xDSL dialects, from the float graph down to the chip: nn -> quant -> spikecore."""

from collections.abc import Callable

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func
from xdsl.ir import Dialect


def _nn() -> Dialect:
    from spikeir.dialects.nn import NN

    return NN


def _quant() -> Dialect:
    from spikeir.dialects.quant import QUANT

    return QUANT


def _spikecore() -> Dialect:
    from spikeir.dialects.spikecore import SPIKECORE

    return SPIKECORE


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Lazy loaders by dialect name, in the form xDSL's Universe expects."""
    return {"nn": _nn, "quant": _quant, "spikecore": _spikecore}


def spikeir_context() -> Context:
    """A Context that parses any spikeir IR: builtin, func and arith, and the three dialects (lazily)."""
    ctx = Context()
    for dialect in (Builtin, Func, Arith):
        ctx.load_dialect(dialect)
    for name, load in get_all_dialects().items():
        ctx.register_dialect(name, load)
    return ctx
