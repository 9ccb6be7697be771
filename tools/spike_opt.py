"""`spike-opt`: spikeir's modular optimizer driver, xDSL's `xdsl-opt` with spikeir's conventions.

Every `xdsl-opt` flag works unchanged (pipelines with options, --split-input-file,
--verify-diagnostics, --print-between-passes, -t, -o, ...); what spike-opt adds:

- input formats beyond MLIR text, through `spikeir.frontends.FRONTENDS` (`.pt2`, `.relay` with
  `--params FILE.npz`, `.onnx`), so any pass or target applies to a model file directly;
- the `spikecore-bin` target, which writes a binary program image (never to a terminal);
- `-o FILE` written only once the whole run has succeeded, through `spikeir.fileio.atomic_write`:
  a regular file is replaced atomically (keeping its mode), a symlink's target is replaced, a
  FIFO, a character device and `-` (standard output) are written through;
- errors a user can act on: `file:line:col: error: message` on stderr and exit status 1 instead
  of a Python traceback, and a bug as one `internal error` line (tools/diagnostics.py, `run_guarded`).

spikeir's dialects, passes and the `spikecore-asm` target reach both tools through the
`xdsl.universe` entry point (spikeir/universe.py); registering them here again would clash.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import io
import os
import re
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import parse_pipeline, parse_spec
from xdsl.utils.exceptions import ArgSpecParseError
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from spikeir.errors import SpikeIRError, TargetError
from spikeir.ir.printer import ExactMLIRTarget
from spikeir.passes.diagnostics import REMARKS, print_remarks
from spikeir.tools.diagnostics import USER_ERRORS, parse_module, quiet_broken_pipe, run_guarded

if TYPE_CHECKING:
    from spikeir.chip.isa import Program

PROG = "spike-opt"


def program_of(module: ModuleOp, program: str | None = None) -> Program:
    """The ISA program of a placed spikecore module (docs/pipeline.md, section 8): of its only
    `spikecore.program`, or of the one named ``program``."""
    from spikeir.ir.emit import program_from_module

    return program_from_module(module, program)


@dataclass(frozen=True)
class SpikeCoreAsmTarget(Target):
    """`-t spikecore-asm`: the program as SpikeCore assembly text (docs/isa.md), data included.

    `-t 'spikecore-asm{program=net}'` picks one program of a module that has several.
    """

    name = "spikecore-asm"

    program: str | None = None

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from spikeir.chip.assembly import disassemble

        output.write(disassemble(program_of(module, self.program)))


@dataclass(frozen=True)
class SpikeCoreBinTarget(Target):
    """`-t spikecore-bin`: the program as a binary image (spikeir.chip.image), for `spike-run`."""

    name = "spikecore-bin"

    program: str | None = None
    """Which `spikecore.program` to encode when the module has several."""

    def image(self, module: ModuleOp) -> bytes:
        from spikeir.chip.image import encode

        return encode(program_of(module, self.program))

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        # xDSL hands targets a text stream; an image is bytes, which only spike-opt writes.
        raise TargetError("spikecore-bin writes a binary image: use `spike-opt -t spikecore-bin -o FILE`", PROG)


MAX_INPUT_BYTES = 1 << 30
"""The largest input spike-opt reads (1 GiB): a network that fits SpikeCore's 128 cores is far
smaller in any format; an endless stream (`cat /dev/zero | spike-opt`) stops here."""


def _is_device(path: str) -> bool:
    """Whether ``path`` names a character or block device (``/dev/zero`` never ends)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # reading it reports the error
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def _is_regular(stream: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation: no file descriptor
        return False


def _too_large(size: int, at_least: bool = False) -> str:
    if at_least:
        return f"the input is more than {MAX_INPUT_BYTES:,} bytes, the most spike-opt reads"
    return f"the input is {size:,} bytes; spike-opt reads at most {MAX_INPUT_BYTES:,}"


class _PendingOutput(io.StringIO):
    """The text for `-o FILE`, held in memory until the whole run has succeeded and then written
    atomically: xDSL would open FILE first, so a failing run left it empty or half written."""

    def close(self) -> None:
        """xDSL closes its output stream when done (or failing): keep the text for the caller."""


def _spikeir_names() -> tuple[list[str], list[str], list[str]]:
    from spikeir.dialects import get_all_dialects
    from spikeir.frontends import FRONTENDS
    from spikeir.passes import get_all_passes

    return sorted(get_all_dialects()), sorted(get_all_passes()), ["mlir", *sorted(FRONTENDS)]


def _pipeline_error(spec: str, error: ArgSpecParseError) -> SpikeIRError:
    """Turn xDSL's multi-line pipeline syntax error into one line that names the column."""
    text = str(error)
    where = re.search(r"pass-pipeline:\d+:(\d+)", text)
    detail = [line.strip() for line in text.splitlines() if line.strip()][-1]
    column = f" at column {where.group(1)}" if where else ""
    return SpikeIRError(f"invalid pass pipeline -p '{spec}'{column}: {detail}{_quoting_hint(spec)}", PROG)


_UNQUOTED_PATH = re.compile(r"([\w-]+)=([^\s\"{}=,]*[/.][^\s\"{}=,]*)")
"""``option=some/path.npy`` without quotes: xDSL's pipeline syntax reads a path only as a string."""


def _quoting_hint(spec: str) -> str:
    for name, value in _UNQUOTED_PATH.findall(spec):
        if not _is_number(value):
            return f" (quote paths: {name}=\"{value}\")"
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class SpikeOptMain(xDSLOptMain):
    """xDSLOptMain with spikeir's frontends, binary target, `--params` and located errors."""

    version_format = "spike-opt (spikeir) built on xdsl version {xdsl_version}"

    failed_module: ModuleOp | None
    """The module whose verification failed, kept so the error can name the failing op's place."""

    def __init__(self, args: Sequence[str] | None = None) -> None:
        self._line_offset = 0
        self._pending = _PendingOutput()
        self._running: ModulePass | None = None  # the pass being applied, for the error message
        self.failed_module = None
        super().__init__(
            description="spikeir's modular optimizer driver: parse MLIR (or import a model), run "
            "passes (-p), print the result (-t).",
            args=args,
        )

    # --- registration -------------------------------------------------------------------------

    def register_all_frontends(self) -> None:
        from spikeir.frontends import FRONTENDS, FrontendOptions

        super().register_all_frontends()
        self.available_frontends["mlir"] = self._parse_mlir

        def wrap(ext: str):
            def read(stream: IO[bytes]) -> ModuleOp:
                input_file: str | None = self.args.input_file
                folder = None if input_file is None else Path(input_file).absolute().parent
                options = FrontendOptions(filename=self.get_input_name(), params=self.args.params, folder=folder)
                return FRONTENDS[ext](stream, options)

            return read

        for ext in FRONTENDS:
            self.available_frontends[ext] = wrap(ext)

    def register_all_targets(self) -> None:
        """Only the targets that print spikeir's IR: xDSL's others (llvm, riscv-asm, wat, ...) print
        their own dialects and crash or print nothing on ours (plain `xdsl-opt` still has them)."""
        super().register_all_targets()
        asm = self.available_targets[SpikeCoreAsmTarget.name]
        self.available_targets.clear()
        self.available_targets["mlir"] = lambda: ExactMLIRTarget  # IR that reads back bit for bit
        self.available_targets[SpikeCoreAsmTarget.name] = asm
        self.available_targets[SpikeCoreBinTarget.name] = lambda: SpikeCoreBinTarget

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--params",
            type=Path,
            metavar="FILE.npz",
            help="parameters for a frontend whose format keeps weights apart from the graph (Relay text)",
        )
        arg_parser.add_argument(
            "--remarks",
            action="store_true",
            help="print the passes' remarks (why an op stays on the host, ...) as 'remark: ...' on stderr",
        )
        dialects, passes, frontends = _spikeir_names()
        arg_parser.prog = PROG
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = (
            f"spikeir dialects: {', '.join(dialects)}\n"
            f"spikeir passes:   {', '.join(passes)}\n"
            f"spikeir targets:  {SpikeCoreAsmTarget.name}, {SpikeCoreBinTarget.name} (and mlir, the default)\n"
            f"input formats:    {', '.join('.' + f for f in frontends)} (by extension, or -f)\n"
            "example: spike-opt net.mlir -p 'nn-fold-reshapes,nn-fuse-dense' -o fused.mlir"
        )

    def setup_pipeline(self) -> None:
        """Check the pipeline's pass names first: xDSL would end an unknown one in a traceback."""
        spec = self.args.passes
        try:
            names = [p.name for p in parse_pipeline(spec)]
        except ArgSpecParseError as error:
            raise _pipeline_error(spec, error) from None
        for name in names:
            if name not in self.available_passes:
                close = difflib.get_close_matches(name, self.available_passes, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; `spike-opt --help` lists the passes"
                raise SpikeIRError(f"unknown pass '{name}' in -p{hint}", PROG)
        try:
            super().setup_pipeline()
        except ValueError as error:  # pass options that the pass does not declare, or bad values
            raise SpikeIRError(f"invalid pass pipeline -p '{spec}': {error}", PROG) from None
        verify = self.pipeline.callback

        def track(previous: ModulePass | None, module: ModuleOp, following: ModulePass | None) -> None:
            self._running = following
            if verify is not None:
                verify(previous, module, following)

        self.pipeline = dataclasses.replace(self.pipeline, callback=track)

    # --- input and output ---------------------------------------------------------------------

    def _parse_mlir(self, stream: IO[bytes]) -> ModuleOp:
        text = stream.read()
        if not text.strip() and not self.args.split_input_file:
            # xDSL would say "Could not parse entire input!" at 1:1, which hides the real problem.
            raise SpikeIRError(
                "the input is empty: expected MLIR text (or a model file, see -f)", self.get_input_name()
            )
        return parse_module(self.ctx, text, self.get_input_name(), self._line_offset, not self.args.no_implicit_module)

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        """The whole input in memory, read at most `MAX_INPUT_BYTES` of it: a device (`/dev/zero`)
        is refused unread, a larger regular file by its size, a larger stream when it passes the bound."""
        name = self.get_input_name()
        try:
            stream, extension = super().get_input_stream()
            try:
                size = os.fstat(stream.fileno()).st_size if _is_regular(stream) else 0
                if size > MAX_INPUT_BYTES:
                    raise SpikeIRError(_too_large(size), name)
                data = stream.read(MAX_INPUT_BYTES + 1)
            finally:
                if self.args.input_file is not None:  # a file spike-opt opened; stdin stays open
                    stream.close()
        except OSError as error:
            raise SpikeIRError(f"cannot read input file: {error.strerror}", self.args.input_file) from None
        if len(data) > MAX_INPUT_BYTES:
            raise SpikeIRError(_too_large(MAX_INPUT_BYTES, at_least=True), name)
        return io.BytesIO(data), extension

    def prepare_input(self) -> tuple[list[tuple[IO[bytes], int]], str]:
        if self.args.params is not None and not self.args.params.is_file():
            raise SpikeIRError("--params file not found", str(self.args.params))
        if self.args.input_file is not None and Path(self.args.input_file).is_dir():
            raise SpikeIRError("cannot read input file: Is a directory", self.args.input_file)
        if self.args.input_file is not None and _is_device(self.args.input_file):
            raise SpikeIRError(
                "cannot read input file: it is a device, not a file (give a file, or pipe into stdin)",
                self.args.input_file,
            )
        extension = self.args.frontend or Path(self.args.input_file or "x.mlir").suffix.lstrip(".")
        if extension not in self.available_frontends:
            known = ", ".join("." + ext for ext in self.available_frontends)
            raise SpikeIRError(
                f"no frontend reads '.{extension}' files (known: {known}); name one with -f", self.get_input_name()
            )
        return super().prepare_input()

    def prepare_output(self) -> IO[str]:
        return sys.stdout if self.args.output_file is None else self._pending

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0) -> ModuleOp | None:
        self._line_offset = start_offset
        return super().parse_chunk(chunk, file_extension, start_offset)

    def apply_passes(self, prog: ModuleOp) -> None:
        try:
            super().apply_passes(prog)
        except Exception as error:
            # Kept so the error can be placed at the op it names (verifier failures, @symbols, layers).
            self.failed_module = prog
            running = self._running
            if running is not None and running.name not in _spikeir_names()[1] and not isinstance(error, USER_ERRORS):
                # one of xDSL's own passes, which are not written for spikeir's dialects
                detail = ": " + " ".join(str(error).split())[:200] if str(error).strip() else ""
                raise SpikeIRError(
                    f"xDSL's pass '{running.name}' failed on this IR ({type(error).__name__}{detail}); "
                    "it is not written for spikeir's dialects",
                    PROG,
                ) from None
            raise

    # --- running ------------------------------------------------------------------------------

    def run(self) -> None:
        handler = print_remarks() if self.args.remarks else None
        try:
            if parse_spec(self.args.target).name == SpikeCoreBinTarget.name:
                self._run_binary()
                return
            super().run()
        finally:
            if handler is not None:
                REMARKS.removeHandler(handler)
        if self.args.output_file is not None:
            self._write_output(self.args.output_file, self._pending.getvalue().encode())

    @staticmethod
    def _write_output(output_file: str, data: bytes) -> None:
        from spikeir.fileio import atomic_write

        try:
            atomic_write(output_file, data)
        except OSError as error:
            raise SpikeIRError(f"cannot write output file: {error.strerror}", output_file) from None

    def _run_binary(self) -> None:
        """Like `run`, for the one target whose output is bytes."""
        output_file: str | None = self.args.output_file
        if output_file in (None, "-") and sys.stdout.isatty():
            raise TargetError("refusing to write a binary image to a terminal: use -o FILE or redirect stdout", PROG)
        if self.args.split_input_file:
            raise TargetError("spikecore-bin writes one image: it cannot be used with --split-input-file", PROG)
        chunks, extension = self.prepare_input()
        ((chunk, offset),) = chunks
        with chunk:
            module = self.parse_chunk(chunk, extension, offset)
        assert module is not None
        self.apply_passes(module)
        image = SpikeCoreBinTarget.from_spec(parse_spec(self.args.target)).image(module)
        if output_file is None:
            sys.stdout.buffer.write(image)
            sys.stdout.buffer.flush()
        else:
            self._write_output(output_file, image)


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: exit status 0, 1 for a user error, 2 for bad usage (argparse), 1 with
    one ``internal error`` line for a bug (the policy of every spikeir command, `run_guarded`)."""
    tools: list[SpikeOptMain] = []

    def body() -> int:
        tools.append(SpikeOptMain(args=argv))
        tools[0].run()
        return 0

    def where() -> tuple[str | None, Operation | None]:
        return (tools[0].get_input_name(), tools[0].failed_module) if tools else (None, None)

    return run_guarded(PROG, body, where)


if __name__ == "__main__":
    sys.exit(main())
