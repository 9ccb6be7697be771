"""The `spikeir` command: `spikeir lab` (the SpikeCore Lab on MNIST), `spikeir bench` (benchmarks) and
`spikeir sweep` (design-space exploration); ``spikeir --version``."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from spikeir.tools.diagnostics import quiet_broken_pipe, run_guarded

COMMANDS: dict[str, str] = {
    "lab": "train, compile and run the seed's MNIST network on the SpikeCore hardware model",
    "bench": "measure compile-time scaling and hardware-model throughput (prints ratios, writes JSON)",
    "sweep": "explore compile options (timesteps, calibration, cores, ...) on Ray: accuracy, energy, Pareto fronts",
}
"""Every command, with the line ``spikeir --help`` shows for it."""


def usage() -> str:
    """``spikeir --help``: every command of `COMMANDS`."""
    width = max(map(len, COMMANDS))
    lines = "\n".join(f"  {name.ljust(width)}  {summary}" for name, summary in COMMANDS.items())
    return (
        "usage: spikeir <command> [options]\n       spikeir --version\n\n"
        f"commands:\n{lines}\n\n`spikeir <command> --help` lists a command's options."
    )


def spikeir_version() -> str:
    """The installed distribution's version, else (a clone used without installing) pyproject.toml's."""
    try:
        return version("spikeir")
    except PackageNotFoundError:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def _run(command: str, rest: list[str]) -> int:
    if command == "lab":
        from spikeir.lab.pipeline import options_from_args, run_lab

        run_lab(options_from_args(rest))
        return 0
    if command == "sweep":
        from spikeir.sweep.cli import main as sweep_main

        return sweep_main(rest)
    from spikeir.benchmarks.__main__ import main as bench_main

    return bench_main(rest)


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args[0] == "--version":
        print(f"spikeir {spikeir_version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"spikeir: error: unknown command '{command}'\n{usage()}", file=sys.stderr)
        return 2
    return run_guarded("spikeir " + command, lambda: _run(command, rest))


if __name__ == "__main__":
    sys.exit(main())
