"""The `spikeir` command: `spikeir lab` (the SpikeCore Lab on MNIST) and `spikeir bench` (benchmarks)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from spikeir.tools.diagnostics import quiet_broken_pipe, run_guarded

USAGE = """usage: spikeir <command> [options]

commands:
  lab     train, compile and run the seed's MNIST network on the SpikeCore hardware model
  bench   measure compile-time scaling and hardware-model throughput (prints ratios, writes JSON)

`spikeir <command> --help` lists a command's options."""


COMMANDS = ("lab", "bench")


def _run(command: str, rest: list[str]) -> int:
    if command == "lab":
        from spikeir.lab.pipeline import options_from_args, run_lab

        run_lab(options_from_args(rest))
        return 0
    from spikeir.benchmarks.__main__ import main as bench_main

    return bench_main(rest)


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"spikeir: error: unknown command '{command}'\n{USAGE}", file=sys.stderr)
        return 2
    return run_guarded("spikeir " + command, lambda: _run(command, rest))


if __name__ == "__main__":
    sys.exit(main())
