"""How spikeir's passes report to their caller: user errors and remarks. (Not a pass.)

**Errors.** A pass that cannot do its job because of its input (a network that does not fit the
target, calibration data that is missing, a layer that rate coding cannot express) raises a
:class:`PassError`. It is both things a caller may catch:

- a :class:`spikeir.errors.SpikeIRError` with a ``location`` (the layer, ``@program`` or option it
  is about), so the Python API has one error hierarchy and CLIs print ``place: error: message``;
- an xDSL ``PassFailedException``, so ``xdsl-opt``/``spike-opt --verify-diagnostics`` and any xDSL
  driver report it as a failed pass.

A category of :mod:`spikeir.errors` keeps its class: a placement error is a :class:`PlacementFailure`,
which is a ``PlacementError`` *and* a ``PassError``. Library code a pass calls (target lookup,
quantization numerics, file loading) raises plain ``spikeir.errors`` classes; a pass runs it inside
:func:`pass_errors`, which re-raises those as the matching ``PassError``.

**Remarks.** Notes that are not errors ("this op stays on the host because ...") go to the
``spikeir.remarks`` logger at INFO level, never straight to a stream: the Python API writes nothing
to stderr unless the application asks. A CLI asks with :func:`print_remarks` (spike-opt prints them
as ``remark: ...`` on stderr, as MLIR tools do); a program can also attach its own logging handler.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator
from contextlib import contextmanager
from typing import TextIO

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.utils.exceptions import PassFailedException

from spikeir.errors import DataError, PlacementError, QuantizationError, SpikeIRError, TargetError

# --- errors ---------------------------------------------------------------------------------------


class PassError(SpikeIRError, PassFailedException):
    """A user error found by a pass: a ``SpikeIRError`` and an xDSL ``PassFailedException``."""


class PlacementFailure(PlacementError, PassError):
    """A network that does not fit the target, found by a pass."""


class QuantizationFailure(QuantizationError, PassError):
    """Calibration or quantization that cannot be done faithfully, found by a pass."""


class DataFailure(DataError, PassError):
    """Missing or malformed data files (calibration sets) read by a pass."""


class TargetFailure(TargetError, PassError):
    """An unknown target or an invalid target option given to a pass."""


_CATEGORIES: tuple[tuple[type[SpikeIRError], type[PassError]], ...] = (
    (PlacementError, PlacementFailure),
    (QuantizationError, QuantizationFailure),
    (DataError, DataFailure),
    (TargetError, TargetFailure),
)


def as_pass_error(error: SpikeIRError, location: str | None = None) -> PassError:
    """``error`` as the ``PassError`` of its category (itself if it already is one); ``location``
    stands in for an error that names no place."""
    if isinstance(error, PassError):
        return error
    where = error.location if error.location is not None else location
    for category, failure in _CATEGORIES:
        if isinstance(error, category):
            return failure(error.message, where)
    return PassError(error.message, where)


@contextmanager
def pass_errors(location: str | None = None) -> Generator[None, None, None]:
    """Run a pass's work so that any ``SpikeIRError`` leaves it as a ``PassError`` of the same
    category; one without a location gets ``location`` (the pass name, say)."""
    try:
        yield
    except PassError:
        raise
    except SpikeIRError as error:
        raise as_pass_error(error, location) from error


# --- remarks --------------------------------------------------------------------------------------

REMARKS = logging.getLogger("spikeir.remarks")
"""The passes' remarks, one INFO record each; the op a remark is about is the record's ``op``."""


def remark(message: str, op: Operation | None = None) -> None:
    """Emit one remark (shown only where an application enabled remarks)."""
    REMARKS.info(message, extra={"op": op})


def nothing_to_do(pass_name: str, module: ModuleOp, finding: str) -> None:
    """Remark that ``pass_name`` left ``module`` as it was because of ``finding``, naming the nested
    modules when there are any: spikeir compiles the top-level module's functions, not theirs."""
    nested = sum(1 for op in module.walk() if isinstance(op, ModuleOp) and op is not module)
    hint = (
        f"; the functions of the {nested} nested builtin.module(s) are not compiled "
        "(spikeir compiles the top-level module's @main: give an inner module as its own input)"
        if nested
        else ""
    )
    remark(f"{pass_name}: {finding}{hint}", module)


def print_remarks(stream: TextIO | None = None) -> logging.Handler:
    """Print every remark as ``remark: message`` on ``stream`` (default: stderr at the time of each
    remark). Returns the handler, for ``REMARKS.removeHandler`` when done."""
    handler = _RemarkHandler(stream)
    handler.setFormatter(logging.Formatter("remark: %(message)s"))
    REMARKS.addHandler(handler)
    REMARKS.setLevel(logging.INFO)
    return handler


class _RemarkHandler(logging.StreamHandler[TextIO]):
    """A stream handler that, without a stream of its own, writes to whatever sys.stderr is now."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)
