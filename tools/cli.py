"""The `spikeir` command: `spikeir lab` (the SpikeCore Lab on MNIST) and `spikeir bench` (benchmarks)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from spikeir.tools.diagnostics import quiet_broken_pipe, report_exception

USAGE = """usage: spikeir <command> [options]

commands:
  lab     train, compile and run the seed's MNIST network on the SpikeCore hardware model
  bench   measure compile-time scaling and hardware-model throughput (prints ratios, writes JSON)

`spikeir <command> --help` lists a command's options."""


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
    try:
        if command == "lab":
            from spikeir.lab.pipeline import options_from_args, run_lab

            run_lab(options_from_args(rest))
            return 0
        if command == "bench":
            from spikeir.benchmarks.__main__ import main as bench_main

            return bench_main(rest)
    except BrokenPipeError:
        raise  # quiet_broken_pipe ends the command without a message
    except KeyboardInterrupt:
        print("spikeir: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI turns every failure into one line
        return report_exception(error, "spikeir " + command)
    print(f"spikeir: error: unknown command '{command}'\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
