"""A small run of scripts/fuzz.py (the campaign docs/robustness.md reports): a few seeded cases of
each cheap reader, bounded in memory and time per case, must give no traceback, hang or blow-up;
and the script itself must find one when a reader has a bug (a campaign that cannot fail proves
nothing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "scripts" / "fuzz.py"
sys.path.insert(0, str(ROOT / "scripts"))

import fuzz  # noqa: E402


def run(*args: str) -> tuple[int, dict[str, dict[str, object]]]:
    done = subprocess.run([sys.executable, str(FUZZ), *args], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.slow
def test_quick_campaign_finds_nothing() -> None:
    readers = ("asm", "image", "npy", "npz", "mlir", "relay")
    status, summary = run("--readers", ",".join(readers), "--cases", "12", "--seed", "11")
    for reader in readers:
        result = summary[reader]
        assert result["cases"] == 12 and result["findings"] == [], (reader, result)
        outcomes = result["outcomes"]
        assert isinstance(outcomes, dict) and sum(outcomes.values()) == 12
    assert status == 0


def test_cases_are_reproducible_from_reader_seed_and_index() -> None:
    reader = fuzz.MAKERS["asm"]()
    first = reader.make(fuzz.case_rng("asm", 5, 3)).files
    assert reader.make(fuzz.case_rng("asm", 5, 3)).files == first
    assert any(reader.make(fuzz.case_rng("asm", 5, i)).files != first for i in range(4, 8))


def test_a_bug_a_hang_and_a_blow_up_are_findings(tmp_path: Path) -> None:
    def bug(argv: list[str]) -> int:
        raise AssertionError("internal error: a bug")

    def hang(argv: list[str]) -> int:
        while True:
            pass

    def blow_up(argv: list[str]) -> int:
        print("spike-run: error: internal error: MemoryError: ", file=sys.stderr)
        return 1

    def user_error(argv: list[str]) -> int:
        print(f"{argv[0]}: error: bad input", file=sys.stderr)
        return 1

    import signal

    signal.signal(signal.SIGPROF, fuzz._alarm)
    outcomes = {}
    for command in (bug, hang, blow_up, user_error):
        case = fuzz.Case({"a": b"x"}, command, ["{a}"])
        reader = fuzz.Reader("t", lambda rng, c=case: c, case)
        outcomes[command.__name__] = fuzz.run_case(reader, 0, 0, 0.5, tmp_path)["outcome"]
    assert outcomes == {"bug": "traceback", "hang": "hang", "blow_up": "blow-up", "user_error": "user-error"}


def test_read_npz_on_the_campaign_case_that_broke_it() -> None:
    """Case 71 of seed 2026 (a cut central directory): zipfile raised ValueError('negative seek value')."""
    import io

    from spikeir import fileio
    from spikeir.errors import DataError

    data = fuzz.npz_bytes(fuzz.case_rng("npz", 2026, 71), fuzz._relay_params())
    with pytest.raises(DataError, match="not a valid .npz archive: negative seek value"):
        fileio.read_npz(io.BytesIO(data))
