"""One way for every spikeir CLI to tell a user what is wrong with their input.

Users see ``place: error: message`` on stderr (the form compilers and MLIR tools use, so editors
can jump to the place) and exit status 1, never a traceback: a traceback says "bug in the tool",
and bad input is not one. The place is as precise as we know: ``file:line:col`` of a parse error
or of the op that failed verification, else the file, else the program name.

Ops get their ``file:line:col`` from :class:`LocatingParser`, which records where each op was
parsed (MLIR does the same: every op carries a location).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import ParamSpec, TextIO

from xdsl.context import Context
from xdsl.dialects.builtin import FileLineColLoc, IntAttr, ModuleOp, StringAttr, UnknownLoc
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.utils.mlir_lexer import MLIRLexer

from spikeir.errors import SpikeIRError
from spikeir.fileio import check_nesting

P = ParamSpec("P")

USER_ERRORS: tuple[type[Exception], ...] = (ParseError, DiagnosticException, SpikeIRError)
"""Exceptions caused by the user's input (as opposed to bugs): what a CLI reports and exits 1 on."""

_LINE_COL = re.compile(r"\d+:\d+")

# xDSL 0.74 lexes string literals with `"(?:[^"\\...]+|...)*"`: the nested quantifier backtracks
# exponentially on an unterminated string (one 60-character line took hours). The same language
# with possessive quantifiers cannot backtrack, so a bad input fails in linear time.
MLIRLexer._unescaped_characters_regex = re.compile(r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+"')


class LocatingParser(Parser):
    """An xDSL parser that stores where each op was written as its ``FileLineColLoc``, and reports
    an invalid attribute or type as a parse error at the op that contains it.

    ``line_offset`` is added to line numbers, for chunks of a ``--split-input-file`` input. An
    explicit ``loc(...)`` in the text wins. The location only prints with ``--print-debuginfo``.
    """

    def __init__(self, ctx: Context, text: str | bytes, name: str, line_offset: int = 0) -> None:
        if isinstance(text, bytes):
            text = _utf8(text, name, line_offset)
        check_nesting(text, name, line_offset=line_offset)  # xDSL's parser recurses per level
        super().__init__(ctx, text, name)
        self._line_offset = line_offset

    def parse_operation(self) -> Operation:
        start = self._current_token.span
        try:
            op = super().parse_operation()
        except VerifyException as error:
            # An invalid attribute or type fails while being built, with no place: give it the op's.
            self.raise_error(str(error), at_position=start)
        except NotImplementedError:
            # xDSL parses some types it cannot build values of (a dense attribute of f80 elements)
            self.raise_error("an attribute of this op has a type xDSL cannot hold values of", at_position=start)
        except OverflowError:
            # a dense f32 literal beyond f32's range (1e309), found by scripts/fuzz.py
            self.raise_error("a value in an attribute of this op does not fit its element type", at_position=start)
        if isinstance(op.location, UnknownLoc):
            file, line, col = start.get_location()
            op.location = FileLineColLoc(StringAttr(file), IntAttr(line + self._line_offset), IntAttr(col))
        return op


def _utf8(data: bytes, name: str, line_offset: int) -> str:
    """``data`` as text; bytes that are not UTF-8 (a binary file given as MLIR) are a located user error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1 + line_offset
        column = error.start - data.rfind(b"\n", 0, error.start)
        raise SpikeIRError(
            f"the input is not UTF-8 text (byte 0x{data[error.start]:02x})", f"{name}:{line}:{column}"
        ) from None


def parse_module(
    ctx: Context, text: str | bytes, filename: str, line_offset: int = 0, implicit_module: bool = True
) -> ModuleOp:
    """Parse MLIR text, recording op locations for diagnostics; nesting beyond
    `spikeir.fileio.MAX_NESTING` is a located error, and one that still runs out of stack (angle
    brackets, which the bound does not count) an error at the file."""
    try:
        return LocatingParser(ctx, text, filename, line_offset).parse_module(implicit_module)
    except RecursionError:
        raise SpikeIRError("the input nests too deeply for the parser", filename) from None


def op_location(op: Operation) -> str | None:
    """``file:line:col`` of ``op`` if it has a file location."""
    loc = op.location
    if isinstance(loc, FileLineColLoc):
        return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return None


def find_invalid_op(root: Operation) -> Operation | None:
    """The op whose own verifier fails first, in the order ``root.verify()`` checks them.

    xDSL's VerifyException does not say which op failed, so we verify each op again, innermost
    first, without its nested ops.
    """
    for op in root.walk(region_first=True):
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException:
            return op
    return None


def named_op(root: Operation, name: str) -> Operation | None:
    """The op an error's location names: a symbol (``@net``) or a layer (``layers.0``)."""
    for op in root.walk():
        key = "sym_name" if name.startswith("@") else "layer"
        value = op.properties.get(key)
        if isinstance(value, StringAttr) and value.data == name.removeprefix("@"):
            return op
    return None


def _place(location: str | None, filename: str | None) -> str | None:
    """Where an error refers to: a bare ``line:col`` (or nothing) belongs to ``filename``."""
    if location is None:
        return filename
    if filename and _LINE_COL.match(location) and not location.startswith(filename):
        return f"{filename}:{location}"
    return location


def describe(
    error: BaseException, filename: str | None = None, module: Operation | None = None
) -> tuple[str | None, str, list[str]]:
    """``(place, message, context lines)`` of a user error.

    ``module`` is the IR that was being verified, to locate a verification failure at its op.
    """
    if isinstance(error, ParseError):
        file, line, col = error.span.get_location()
        source = error.span.input
        start = source.get_start_of_line(error.span.start)
        line_text = source.slice(start, source.get_end_of_line(error.span.start)) or ""
        text = line_text.decode("utf-8", errors="replace") if isinstance(line_text, bytes) else line_text
        context = [text, " " * (col - 1) + "^"] if text.strip() else []
        return f"{file}:{line}:{col}", error.msg.strip(), context
    if isinstance(error, SpikeIRError):
        # An error about a program or layer points at the op that defines it, as MLIR's diagnostics do.
        op = named_op(module, error.location) if module is not None and error.location else None
        where = op_location(op) if op is not None else None
        if where is not None:
            return where, f"{error.location}: {error.message}", []
        return _place(error.location, filename), error.message, []
    message = str(error).strip() or type(error).__name__
    if isinstance(error, VerifyException) and module is not None:
        op = find_invalid_op(module)
        if op is not None:
            return op_location(op) or filename, message, []
    return filename, message, []


def format_error(place: str | None, message: str, prog: str | None = None) -> str:
    """``place: error: message``, falling back to ``prog: error: message``."""
    where = place or prog
    return f"{where}: error: {message}" if where else f"error: {message}"


def report(
    error: BaseException,
    filename: str | None = None,
    *,
    module: Operation | None = None,
    prog: str | None = None,
    stream: TextIO | None = None,
) -> int:
    """Print ``error`` for a user (see :func:`describe`) to ``stream`` (stderr) and return exit status 1."""
    place, message, context = describe(error, filename, module)
    out = sys.stderr if stream is None else stream
    print(format_error(place, message, prog), file=out)
    for line in context:
        print(line, file=out)
    return 1


def report_exception(
    error: BaseException, prog: str, filename: str | None = None, *, module: Operation | None = None
) -> int:
    """Report any exception that ends a CLI as one line on stderr; return exit status 1.

    User errors read as with :func:`report` (``module`` places them at an op); OS errors name the
    file; anything else is a bug in spikeir, said so, with the traceback only when
    ``SPIKEIR_TRACEBACK=1`` (users need one line, the developer who fixes it needs the rest).
    """
    if isinstance(error, USER_ERRORS):
        return report(error, filename, module=module, prog=prog)
    if isinstance(error, OSError) and error.strerror:
        place = error.filename if error.filename is not None else prog
        print(format_error(str(place), error.strerror), file=sys.stderr)
        return 1
    print(
        format_error(
            prog,
            f"internal error: {type(error).__name__}: {error} (a bug in spikeir; set SPIKEIR_TRACEBACK=1 to see where)",
        ),
        file=sys.stderr,
    )
    if os.environ.get("SPIKEIR_TRACEBACK") == "1":
        traceback.print_exception(error)
    return 1


def run_guarded(
    prog: str,
    body: Callable[[], int],
    where: Callable[[], tuple[str | None, Operation | None]] = lambda: (None, None),
) -> int:
    """Run a CLI's work under the one failure policy of every spikeir command and return its
    exit status: a user error or an OS error is one line and status 1 (:func:`report_exception`),
    any other exception is one ``internal error ... a bug in spikeir`` line and status 1 (no
    traceback unless ``SPIKEIR_TRACEBACK=1``), Ctrl-C is ``prog: interrupted`` and status 130, and
    a closed pipe is left to :func:`quiet_broken_pipe`. ``where()`` says, once it failed, which
    file and which IR the error belongs to."""
    try:
        return body()
    except BrokenPipeError:
        raise  # quiet_broken_pipe ends the command without a message
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - a CLI turns every failure into one line
        filename, module = where()
        return report_exception(error, prog, filename, module=module)


def quiet_broken_pipe(main: Callable[P, int]) -> Callable[P, int]:
    """Wrap a CLI ``main``: a reader that stops early (``spike-opt x.mlir | head``) ends the command
    with status 1 and no traceback, including the final flush of stdout."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            status = main(*args, **kwargs)
            sys.stdout.flush()
            return status
        except BrokenPipeError:
            # Python flushes stdout again at exit; point it at /dev/null so that flush is quiet too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return run
