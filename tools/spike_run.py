"""``spike-run``: run a SpikeCore program, or IR at any level, and print its outputs and statistics.

    spike-run net.s --input x.npy [--timesteps T] [--batch-from-file] [--lane N] [--json] [--log-spikes FILE]
    spike-run net.mlir --input x.npy [--symbol NAME] [same options]

The program is assembly text or a binary image (told apart by the image's magic bytes). The input
is a ``.npy`` array: int8 arrays are the payloads themselves; float arrays are quantized with the
program's input scale, ``clip(round(x / scale), -128, 127)``. A 1-D array is one sample and a 2-D
array a batch, one sample per row; ``--batch-from-file`` takes any array whose first axis indexes
the samples and flattens the rest (e.g. MNIST images of shape (N, 28, 28)). A program with a
streamed input (``.inputs N stream``) takes one stream (T, N) or a batch of them (B, T, N) (with
``--batch-from-file``, (B, T, ...)), and runs for the stream's T timesteps.

A ``.mlir`` file is IR at any level of the pipeline. ``--symbol`` (default ``main``, or the module's
only `spikecore.program` when it has no ``@main``) names what to run: a ``func.func`` is evaluated by
the IR interpreter (spikeir.ir.host.HostExecutor: nn and quant ops in numpy, each `spikecore.launch`
on the hardware model for ``--timesteps``), with the input shaped as its argument type says (a
first axis typed 1 takes any batch; one sample may leave the batch axis out); a placed
`spikecore.program` runs on the hardware model exactly as its assembly would.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from spikeir.chip.assembly import assemble
from spikeir.chip.hardware_model import SpikeCoreCPU, SpikeEvent
from spikeir.chip.image import decode, is_image
from spikeir.chip.isa import Program
from spikeir.errors import AssemblyError, DataError, InterpreterError
from spikeir.fileio import atomic_write, read_npy
from spikeir.tools.diagnostics import USER_ERRORS, quiet_broken_pipe, report, run_guarded

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.dialects.func import FuncOp

    from spikeir.dialects.spikecore import ProgramOp
    from spikeir.ir.host import HostExecutor

PROG = "spike-run"


def load_program(path: str) -> Program:
    """A program from an image or assembly file, whichever the file is."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"cannot read the program: {err.strerror or err}", path) from None
    if is_image(data):
        return decode(data, filename=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AssemblyError("neither a SpikeCore image (magic b'SPKC') nor UTF-8 assembly text", path) from None
    return assemble(text, filename=path)


def read_array(path: str) -> np.ndarray:
    """A ``.npy`` array of plain numbers, loaded without pickle and checked before allocating
    (spikeir.fileio.read_npy)."""
    return read_npy(path, "input")


def load_input(path: str, program: Program, batch_from_file: bool) -> np.ndarray:
    """The int8 payloads to run: shape (n_inputs,) for one sample, (B, n_inputs) for a batch; with a
    streamed input (T, n_inputs) for one stream, (B, T, n_inputs) for a batch."""
    x = read_array(path)
    if program.streamed_input:
        return _payloads(_stream_shape(x, program.n_inputs, batch_from_file, path), program, path)
    n = program.n_inputs
    if batch_from_file:
        if x.ndim < 2 or x.shape[0] == 0 or int(np.prod(x.shape[1:])) != n:
            raise DataError(
                f"--batch-from-file needs shape (samples, ...) with {n} values per sample, got {x.shape}", path
            )
        x = x.reshape(x.shape[0], n)
    elif x.ndim == 1 and x.shape[0] != n:
        raise DataError(f"the input has {x.shape[0]} values, the program takes {n}", path)
    elif x.ndim == 2 and (x.shape[1] != n or x.shape[0] == 0):
        raise DataError(f"a batch must have shape (samples, {n}) with at least one sample, got {x.shape}", path)
    elif x.ndim not in (1, 2):
        raise DataError(f"expected shape ({n},) or (samples, {n}), got {x.shape} (see --batch-from-file)", path)
    return _payloads(x, program, path)


def _stream_shape(x: np.ndarray, n: int, batch_from_file: bool, path: str) -> np.ndarray:
    """A streamed program's input as (T, n) or (B, T, n), each timestep's values flattened with
    ``batch_from_file``."""
    if batch_from_file:
        if x.ndim < 3 or 0 in x.shape[:2] or int(np.prod(x.shape[2:])) != n:
            raise DataError(
                f"--batch-from-file on a streamed program needs shape (samples, T, ...) with {n} values per "
                f"timestep, got {x.shape}",
                path,
            )
        return x.reshape(x.shape[0], x.shape[1], n)
    if x.ndim not in (2, 3) or x.shape[-1] != n or 0 in x.shape:
        raise DataError(
            f"the program streams its input: expected shape (T, {n}) or (samples, T, {n}) with T and samples "
            f">= 1, got {x.shape}",
            path,
        )
    return x


def run_timesteps(requested: int | None, program: Program, x: np.ndarray, path: str) -> int:
    """``--timesteps`` as the run needs it: 1 by default; for a streamed input, the stream's length
    (``-T``, if given, must agree)."""
    if not program.streamed_input:
        return 1 if requested is None else requested
    length = int(x.shape[-2])
    if requested is not None and requested != length:
        raise DataError(f"--timesteps {requested} differs from the stream's length T={length}", path)
    if length > MAX_TIMESTEPS:
        raise DataError(f"the stream has {length:,} timesteps; spike-run runs at most {MAX_TIMESTEPS:,}", path)
    return length


def _payloads(x: np.ndarray, program: Program, path: str) -> np.ndarray:
    if x.dtype == np.int8:
        return x
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (int(x.min()) < -128 or int(x.max()) > 127):
            raise DataError(
                f"integer inputs are payloads and must lie in [-128, 127], got [{x.min()}, {x.max()}]", path
            )
        return x.astype(np.int8)
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"the input must be int8 payloads or floats, got dtype {x.dtype}", path)
    if program.input_scale == 0.0:
        raise DataError(
            "float inputs need the program's input scale, but it declares none (scale=0); pass int8 payloads", path
        )
    if not np.all(np.isfinite(x)):
        raise DataError("the input contains NaN or infinity", path)
    return np.clip(np.round(x.astype(np.float64) / program.input_scale), -128, 127).astype(np.int8)


def output_scales(program: Program) -> np.ndarray | None:
    """The scale of each output neuron, or None when some output's scale is unknown (0)."""
    scales = [out.scale for out in program.outputs for _ in range(out.count)]
    return np.array(scales, np.float64) if scales and all(scales) else None


def write_spike_log(path: str, events: list[SpikeEvent]) -> None:
    """The spike log as ``.npy`` (an (E, 4) int64 array) or else as CSV, written atomically."""
    rows = np.array(events, dtype=np.int64).reshape(len(events), 4)
    if path.endswith(".npy"):
        buffer = io.BytesIO()
        np.save(buffer, rows)
        data = buffer.getvalue()
    else:
        lines = ["timestep,core,neuron,payload"] + [",".join(map(str, row)) for row in rows.tolist()]
        data = ("\n".join(lines) + "\n").encode()
    try:
        atomic_write(path, data)
    except OSError as err:
        raise DataError(f"cannot write the spike log: {err.strerror or err}", path) from None


MAX_TIMESTEPS = 100_000
"""The most timesteps one spike-run runs: time is linear in T (100,000 steps of the tour's tiny
network take about 6 s of CPU), and an unbounded ``-T`` would run for days with no output."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _timesteps(text: str) -> int:
    value = _positive(text)
    if value > MAX_TIMESTEPS:
        raise argparse.ArgumentTypeError(f"at most {MAX_TIMESTEPS:,} timesteps, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "program",
        help="assembly text (.s) or binary image (detected by its magic bytes), or IR at any level (.mlir)",
    )
    parser.add_argument("--input", "-i", required=True, metavar="X.npy", help="input array: int8 payloads or floats")
    parser.add_argument(
        "--timesteps",
        "-T",
        type=_timesteps,
        default=None,
        help=f"timesteps to run, at most {MAX_TIMESTEPS:,} (default 1; a streamed input runs for its length)",
    )
    parser.add_argument(
        "--batch-from-file",
        action="store_true",
        help="the input's first axis indexes samples; other axes are flattened",
    )
    parser.add_argument(
        "--lane", type=_non_negative, default=0, help="sample whose spikes --log-spikes records (default 0)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--log-spikes", metavar="FILE", help="write the lane's spike log (.npy, else CSV)")
    parser.add_argument(
        "--symbol",
        metavar="NAME",
        help="in a .mlir file: the func.func or spikecore.program to run (default: @main, else the only program)",
    )
    return parser


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.program.endswith(".mlir"):
        return _run_mlir(args)
    if args.symbol is not None:
        raise DataError("--symbol names a function or program of a .mlir file", args.program)
    return _run_program(args, load_program(args.program))


def _run_program(args: argparse.Namespace, program: Program) -> int:
    x = load_input(args.input, program, args.batch_from_file)
    args.timesteps = run_timesteps(args.timesteps, program, x, args.input)
    batch = x.shape[0] if x.ndim == (3 if program.streamed_input else 2) else 1
    if args.lane >= batch:
        raise DataError(
            f"--lane {args.lane} is not a sample of the input ({batch} sample{'s' * (batch != 1)})", args.input
        )
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    spikes = np.asarray(cpu.run(x, timesteps=args.timesteps, lane_to_log=args.lane)).reshape(batch, -1)
    values = np.asarray(cpu.outputs()).reshape(batch, -1)
    scales = output_scales(program)
    logits = values * scales / args.timesteps if scales is not None else None
    argmax = np.argmax(logits if logits is not None else values, axis=1).tolist() if values.shape[1] else None
    if args.log_spikes:
        write_spike_log(args.log_spikes, cpu.get_spike_log())
    stats = cpu.stats.as_dict()
    if args.json:
        result = {
            "program": args.program,
            "target": program.target.name,
            "input": args.input,
            "timesteps": args.timesteps,
            "batch": batch,
            "outputs": values.tolist(),
            "logits": logits.tolist() if logits is not None else None,
            "argmax": argmax,
            "spikes_per_core": spikes.tolist(),
            "stats": stats,
            "spike_log": {
                "lane": args.lane,
                "events": len(cpu.get_spike_log()),
                "truncated": cpu.spike_log_truncated,
                "file": args.log_spikes,
            },
        }
        print_json(result)
        return 0
    _print_text(args, program, batch, values, logits, argmax, stats, len(cpu.get_spike_log()), cpu.spike_log_truncated)
    return 0


def print_json(result: dict[str, object]) -> None:
    """``result`` as one line of strict JSON: NaN and infinity, which JSON has no words for, are an
    error rather than the bare ``NaN`` Python's json module would write."""
    try:
        text = json.dumps(result, allow_nan=False)
    except ValueError:
        raise DataError(
            "the results hold NaN or infinity, which JSON cannot express (run without --json to see them)",
            str(result.get("program")),
        ) from None
    sys.stdout.write(text + "\n")


def _print_text(
    args: argparse.Namespace,
    program: Program,
    batch: int,
    values: np.ndarray,
    logits: np.ndarray | None,
    argmax: list[int] | None,
    stats: dict[str, object],
    logged: int,
    truncated: bool,
) -> None:
    print(
        f"{args.program}: target {program.target.name}, {len(program)} instructions; "
        f"{batch} sample{'s' * (batch != 1)} x {args.timesteps} timestep{'s' * (args.timesteps != 1)}"
    )
    with np.printoptions(precision=6, suppress=True, linewidth=120):
        for lane in range(batch):
            head = f"sample {lane}" + (f": argmax {argmax[lane]}" if argmax is not None else "")
            print(head)
            print(f"  V      {values[lane]}")
            if logits is not None:
                print(f"  logits {logits[lane]}  (V * scale / T)")
    if logits is None and values.shape[1]:
        print("(no float logits: the program does not declare every output's scale)")
    _print_stats("statistics", batch, stats)
    if args.log_spikes:
        note = " (truncated: the log reached its bound)" if truncated else ""
        print(f"spike log of sample {args.lane}: {logged} events written to {args.log_spikes}{note}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _print_stats(title: str, batch: int, stats: dict[str, object]) -> None:
    print(f"{title} (sums over {_plural(batch, 'sample')}; energy is an estimate from the target's energy table):")
    for key, value in stats.items():
        if not isinstance(value, (list, dict)) and key not in ("batch", "timesteps"):
            print(f"  {key:<22} {value:.6g}" if isinstance(value, float) else f"  {key:<22} {value}")


# --- .mlir files: IR at any level -------------------------------------------------------------------


def load_module(path: str) -> ModuleOp:
    """The module of a ``.mlir`` file, parsed with each op's ``file:line:col`` (not yet verified)."""
    from spikeir.dialects import spikeir_context
    from spikeir.tools.diagnostics import parse_module

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"cannot read the program: {err.strerror or err}", path) from None
    if not data.strip():
        raise DataError("the file is empty: expected MLIR text", path)
    return parse_module(spikeir_context(), data, path)


def entry_point(module: ModuleOp, symbol: str | None, path: str) -> FuncOp | ProgramOp:
    """What to run: the ``func.func`` or `spikecore.program` named ``symbol``; by default ``@main``,
    else the module's only program."""
    from xdsl.dialects.func import FuncOp
    from xdsl.traits import SymbolTable

    from spikeir.dialects.spikecore import ProgramOp

    runnable = [op for op in module.ops if isinstance(op, FuncOp | ProgramOp)]
    known = ", ".join(f"@{op.sym_name.data}" for op in runnable) or "none"
    if symbol is None:
        main = SymbolTable.lookup_symbol(module, "main")
        programs = [op for op in runnable if isinstance(op, ProgramOp)]
        if isinstance(main, FuncOp | ProgramOp):
            return main
        if main is None and len(programs) == 1:
            return programs[0]
        raise DataError(
            f"the module has no @main and not one spikecore.program: name one with --symbol ({known})", path
        )
    found = SymbolTable.lookup_symbol(module, symbol.removeprefix("@"))
    if not isinstance(found, FuncOp | ProgramOp):
        raise DataError(f"no func.func or spikecore.program @{symbol.removeprefix('@')} (runnable: {known})", path)
    return found


def check_not_recursive(module: ModuleOp, fn: FuncOp) -> None:
    """Refuse a function that calls itself, directly or through others: its evaluation never ends
    (the dialects have no conditionals a recursion could stop on), and Python's stack would."""
    from xdsl.dialects.func import CallOp, FuncOp
    from xdsl.traits import SymbolTable

    path = [fn]
    pending = [iter([op for op in fn.walk() if isinstance(op, CallOp)])]
    while pending:
        call = next(pending[-1], None)
        if call is None:
            pending.pop()
            path.pop()
            continue
        callee = SymbolTable.lookup_symbol(module, call.callee)
        if not isinstance(callee, FuncOp):
            continue
        if callee in path:
            cycle = " -> ".join(f"@{f.sym_name.data}" for f in [*path[path.index(callee) :], callee])
            raise InterpreterError(f"recursive calls ({cycle}): spike-run evaluates no recursion", f"@{fn.sym_name.data}")
        path.append(callee)
        pending.append(iter([op for op in callee.walk() if isinstance(op, CallOp)]))


def function_input(path: str, fn: FuncOp, batch_from_file: bool) -> np.ndarray:
    """The input array for ``fn``'s one tensor argument: a batch along the first axis, or one sample
    without it; ``batch_from_file`` reshapes each sample to the argument's shape."""
    from math import prod

    from xdsl.dialects.builtin import TensorType

    from spikeir.ir.interpreter import check_input

    types = fn.function_type.inputs.data
    if len(types) != 1 or not isinstance(types[0], TensorType):
        raise DataError(f"takes {len(types)} arguments; spike-run feeds one tensor (--input)", f"@{fn.sym_name.data}")
    typ = types[0]
    shape = typ.get_shape()
    x = read_array(path)
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"the input must be a numeric array, got dtype {x.dtype}", path)
    if not np.all(np.isfinite(x)):
        raise DataError("the input contains NaN or infinity", path)
    if batch_from_file:
        per_sample = prod(shape[1:])
        if x.ndim < 1 or x.shape[0] == 0 or min(shape[1:], default=0) < 0 or prod(x.shape[1:]) != per_sample:
            raise DataError(
                f"--batch-from-file needs shape (samples, ...) with {per_sample} values per sample, got {x.shape}", path
            )
        x = x.reshape((x.shape[0], *shape[1:]))
    elif shape and shape[0] in (1, -1) and x.ndim == len(shape) - 1:
        x = x[np.newaxis]  # one sample, without the batch axis
    if x.ndim and x.shape[0] == 0:
        raise DataError("the input has no samples", path)
    return check_input(x, typ, "the input", path)


def _run_mlir(args: argparse.Namespace) -> int:
    from spikeir.dialects.spikecore import ProgramOp
    from spikeir.ir.emit import program_from_ir

    module = load_module(args.program)
    try:
        module.verify()
        entry = entry_point(module, args.symbol, args.program)
        if isinstance(entry, ProgramOp):
            return _run_program(args, program_from_ir(entry))
        return _run_function(args, module, entry)
    except USER_ERRORS as err:
        return report(err, args.program, module=module, prog=PROG)


def _run_function(args: argparse.Namespace, module: ModuleOp, fn: FuncOp) -> int:
    from xdsl.interpreter import OpCounter

    from spikeir.dialects.spikecore import LaunchOp
    from spikeir.ir.host import HostExecutor

    check_not_recursive(module, fn)
    args.timesteps = 1 if args.timesteps is None else args.timesteps
    x = function_input(args.input, fn, args.batch_from_file)
    batch = x.shape[0] if x.ndim else 1
    if args.lane >= batch:
        raise DataError(f"--lane {args.lane} is not a sample of the input ({_plural(batch, 'sample')})", args.input)
    if args.log_spikes and not any(isinstance(op, LaunchOp) for op in module.walk()):
        raise DataError("--log-spikes records a spikecore.launch, and the module has none", args.program)
    executor = HostExecutor(module, args.timesteps, args.lane)
    counter = OpCounter()
    results = executor.run(fn.sym_name.data, x, listeners=(counter,))
    first = results[0] if results else None
    argmax = None
    if first is not None and first.ndim == 2 and first.shape[0] == batch and first.shape[1]:
        argmax = np.argmax(first, axis=1).tolist()
    if args.log_spikes:
        if not executor.launches:
            raise DataError(f"--log-spikes: @{fn.sym_name.data} ran no spikecore.launch", args.program)
        write_spike_log(args.log_spikes, executor.launches[0].spike_log)
    if args.json:
        _print_function_json(args, fn.sym_name.data, batch, results, argmax, dict(counter.ops), executor)
    else:
        _print_function_text(args, fn.sym_name.data, batch, results, argmax, dict(counter.ops), executor)
    return 0


def _print_function_json(
    args: argparse.Namespace,
    name: str,
    batch: int,
    results: tuple[np.ndarray, ...],
    argmax: list[int] | None,
    ops: dict[str, int],
    executor: HostExecutor,
) -> None:
    launches = [
        {
            "program": record.program,
            "target": record.target,
            "stats": record.stats.as_dict(),
            "spike_log": {"lane": args.lane, "events": len(record.spike_log), "truncated": record.spike_log_truncated},
        }
        for record in executor.launches
    ]
    result = {
        "program": args.program,
        "symbol": name,
        "input": args.input,
        "timesteps": args.timesteps,
        "batch": batch,
        "results": [r.tolist() for r in results],
        "argmax": argmax,
        "ops": ops,
        "launches": launches,
        "spike_log_file": args.log_spikes,
    }
    print_json(result)


def _print_function_text(
    args: argparse.Namespace,
    name: str,
    batch: int,
    results: tuple[np.ndarray, ...],
    argmax: list[int] | None,
    ops: dict[str, int],
    executor: HostExecutor,
) -> None:
    print(f"{args.program}: @{name}; {_plural(batch, 'sample')} x {_plural(args.timesteps, 'timestep')}")
    print("evaluated: " + ", ".join(f"{op} x{count}" for op, count in ops.items()))
    with np.printoptions(precision=6, suppress=True, linewidth=120):
        for lane in range(batch):
            print(f"sample {lane}" + (f": argmax {argmax[lane]}" if argmax is not None else ""))
            for index, value in enumerate(results):
                label = "result" if len(results) == 1 else f"result {index}"
                print(f"  {label} {value[lane] if value.ndim and value.shape[0] == batch else value}")
    for record in executor.launches:
        _print_stats(
            f"statistics of spikecore.launch @{record.program} on {record.target}", batch, record.stats.as_dict()
        )
    if args.log_spikes:
        record = executor.launches[0]
        note = " (truncated: the log reached its bound)" if record.spike_log_truncated else ""
        print(
            f"spike log of sample {args.lane} in @{record.program}: {len(record.spike_log)} events written to "
            f"{args.log_spikes}{note}"
        )


if __name__ == "__main__":
    sys.exit(main())
