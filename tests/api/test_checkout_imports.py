"""From a clone's root, `spikeir` is the source folder: its subpackages mapped from dialects/, passes/,
tools/ and benchmarks/ must import all the same (spikeir/__init__.py's checkout finder), and a new pass
file must be usable without reinstalling."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = ("spikeir", "dialects", "passes", "tools", "benchmarks", "tests", "pyproject.toml")

NEW_PASS = '''"""A pass added by following docs/writing-a-pass.md: it marks the module."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass


@dataclass(frozen=True)
class HelloPass(ModulePass):
    name = "hello"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        op.attributes["hello"] = StringAttr("world")
'''


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's package folders, as a clone has them (no install of its own)."""
    root = tmp_path_factory.mktemp("clone")
    for name in CHECKOUT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "Output"))
        else:
            shutil.copy(source, root / name)
    return root


def _python(cwd: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )


def test_subpackages_import_from_the_clone_root(clone: Path) -> None:
    done = _python(
        clone,
        "import spikeir, spikeir.dialects, spikeir.passes, spikeir.tools, spikeir.benchmarks, spikeir.passes.place\n"
        "for m in (spikeir, spikeir.dialects, spikeir.passes, spikeir.tools, spikeir.passes.place):\n"
        "    print(m.__file__)",
    )
    assert done.returncode == 0, done.stderr
    files = [Path(line) for line in done.stdout.split()]
    assert all(f.is_relative_to(clone) for f in files), files
    assert files[1] == clone / "dialects" / "__init__.py"


def test_only_the_mapped_folders_become_subpackages(clone: Path) -> None:
    done = _python(clone, "import spikeir.tests")
    assert done.returncode != 0 and "No module named 'spikeir.tests'" in done.stderr


def test_a_new_pass_file_runs_without_reinstalling(clone: Path) -> None:
    (clone / "passes" / "hello.py").write_text(NEW_PASS)
    done = _python(
        clone,
        "from xdsl.context import Context\n"
        "from xdsl.dialects.builtin import ModuleOp\n"
        "from spikeir.passes.hello import HelloPass\n"
        "m = ModuleOp([]); HelloPass().apply(Context(), m); print(m.attributes['hello'])",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '"world"'


def test_pytest_runs_from_the_clone_root(clone: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/chip/test_image.py"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
