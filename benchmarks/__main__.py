"""`spikeir bench`: compile-time scaling, hardware-model throughput and peak memory in one run.

The hardware section measures the v1 MLP cases, the ISA v2 conv case (``--only conv`` runs the
conv case alone; rows in the JSON's ``hardware_conv``) and ``compiled.run`` from float inputs
(``--only host``; rows in ``host``). ``--peers`` adds the SNN libraries on the same SNN (rows in
``peers``). The JSON's ``machine`` records the process's peak resident memory.

Prints a table per section and writes everything to JSON (``--json``). Numbers depend on the
machine and its load: docs/performance.md records a run and how to read it.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spikeir.fileio import atomic_write

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spikeir bench",
        description="Compile time per stage on MLPs up to 4M weights (with the growth exponent), hardware-model "
        "throughput against the float32 BLAS limit and the float model in PyTorch (784-64-10 MLP) and against float32 "
        "im2col + BLAS (conv layer, ISA v2), and peak compile memory.",
    )
    p.add_argument("--quick", action="store_true", help="smaller ladder, one repeat, shorter timings (about a minute)")
    p.add_argument("--json", metavar="PATH", help="write every measurement to this JSON file")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS and PyTorch threads, at most the machine's CPUs (default 1: multi-threaded BLAS on a loaded machine "
        "measures the load; 0 keeps the libraries' defaults)",
    )
    p.add_argument(
        "--only",
        choices=("compile", "hardware", "conv", "host", "memory"),
        action="append",
        help="run only this section (repeatable; default: all; 'hardware' includes 'conv' and 'host')",
    )
    p.add_argument(
        "--peers",
        action="store_true",
        help="also time sinabs, snnTorch, SpikingJelly and plain PyTorch on the same rate-coded SNN (the installed ones)",
    )
    return p


def peak_rss_mib() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine(threads: int) -> dict[str, Any]:
    """What the numbers were measured on: CPU model, cores, load, thread settings."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "threads": threads,
    }


def set_threads(threads: int) -> None:
    """Pin BLAS and PyTorch to ``threads`` threads. The environment variables reach a BLAS only
    before numpy loads it, and the `spikeir` command has loaded numpy already, so a loaded BLAS is
    limited at run time through threadpoolctl (a small matmul on two threads of a busy machine took
    20 ms instead of 0.2 ms when it was not)."""
    if threads <= 0:
        return
    numpy_loaded = "numpy" in sys.modules
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if numpy_loaded:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            print("note: threadpoolctl is not installed, so BLAS keeps its own thread count", file=sys.stderr)
        else:
            threadpool_limits(limits=threads)
    import torch

    torch.set_num_threads(threads)


def _check_writable(path: str) -> None:
    """Refuse a --json path that cannot take the results (a folder, or a folder we cannot write)."""
    target = Path(path)
    if target.is_dir() or not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
        raise OSError(errno.EACCES, "cannot write the benchmark results there (--json)", path)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.threads < 0:
        parser().error(f"--threads must be 0 or more, got {args.threads}")
    cpus = os.cpu_count() or 1
    if args.threads > cpus:
        parser().error(
            f"--threads {args.threads} exceeds this machine's {cpus} CPUs (more threads only measure contention)"
        )
    if args.json:
        _check_writable(args.json)  # fail before minutes of work, not after
    set_threads(args.threads)
    from . import compile_time, hardware

    sections = args.only or ["compile", "hardware", "memory"]
    ladder = compile_time.QUICK_LADDER if args.quick else compile_time.LADDER
    results: dict[str, Any] = {"quick": args.quick, "machine": machine(args.threads)}
    started = time.perf_counter()
    if "compile" in sections:
        results["compile"] = compile_time.measure(ladder, repeats=1 if args.quick else 3)
        print()
    if "hardware" in sections:
        print("hardware model (SpikeCoreCPU) vs float32 BLAS limit and float PyTorch, 784-64-10")
        results["hardware"] = hardware.measure(
            mappings=("dense",) if args.quick else ("dense", "seed"), min_total_s=0.1 if args.quick else 0.5
        )
        print()
    if "hardware" in sections or "conv" in sections:
        print("hardware model (SpikeCoreCPU) vs float32 im2col + BLAS limit, conv 2x34x34 -> 16x15x15 (ISA v2)")
        results["hardware_conv"] = hardware.measure_conv(
            streamed_batches=(10,) if args.quick else (10, 100), min_total_s=0.1 if args.quick else 0.5
        )
        print()
    if "hardware" in sections or "host" in sections:
        print("compiled.run (float inputs, graded 784-64-10) vs the same quantization + float32 BLAS, written directly")
        results["host"] = hardware.measure_host(min_total_s=0.1 if args.quick else 0.5)
        print()
    if args.peers:
        from . import peers

        results["peers"] = peers.measure(min_total_s=0.1 if args.quick else 0.5)
        print()
    if "memory" in sections:
        results["memory"] = compile_time.memory_profile(ladder[-1])
    results["seconds"] = time.perf_counter() - started
    results["machine"]["load_average_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results["machine"]["peak_rss_mib"] = peak_rss_mib()
    print(f"peak resident memory of this process: {results['machine']['peak_rss_mib']:.0f} MiB")
    if args.json:
        atomic_write(args.json, json.dumps(results, indent=1) + "\n")  # whole results or the old file
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
