"""A reader that stops early (`spike-opt x.mlir | head`) must not make a CLI print a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from spikeir.compiler import build_mlp_module

BIN = Path(sys.executable).parent


def _read_a_little_then_close(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(100)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.wait(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, b"", stderr)


def test_spike_opt_output_cut_short(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # Output far larger than a pipe's buffer, so the writer meets the closed pipe mid-print.
    module = build_mlp_module([rng.normal(size=(256, 512)).astype(np.float32)], [None], [None])
    source = tmp_path / "big.mlir"
    source.write_text(str(module))
    done = _read_a_little_then_close([str(BIN / "spike-opt"), str(source)])
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr.decode()


def test_spike_run_output_cut_short(tmp_path: Path) -> None:
    program = tmp_path / "p.s"
    program.write_text(
        ".target spikecore-v1\n.inputs 1\n.output c0[0:1]\n    ACC c0[0:1], S0[0:1, 0:1], bus[0:1]\n    HALT\n"
        ".synapses S0 1x1\n    01\n"
    )
    x = tmp_path / "x.npy"
    np.save(x, np.ones((5000, 1), np.int8))
    done = _read_a_little_then_close([str(BIN / "spike-run"), str(program), "--input", str(x)])
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr.decode()


def test_spikeir_without_a_command_is_a_usage_error() -> None:
    done = subprocess.run([str(BIN / "spikeir")], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: spikeir" in done.stderr and done.stdout == ""
