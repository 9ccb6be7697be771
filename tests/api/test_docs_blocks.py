"""Every command and code block of the README, docs/*.md and examples/README.md runs verbatim (issue 20).

A document's blocks are run as a newcomer would run them, in a temporary copy of the repository (its
tracked and untracked-but-not-ignored files, as a fresh clone has them, with ``.venv`` linked to the
environment running the tests):

- ```` ```sh ```` blocks: each command (a line, with ``\\`` continuations joined) in bash, with this
  environment's ``bin/`` first on PATH, in the copy's root, with a timeout; the blocks of a document
  in order, so a later block may read what an earlier one wrote.
- ```` ```python ```` blocks: all of one document's, in order, in one namespace (like a notebook), in
  one fresh interpreter whose working directory is the copy's root. A failure's traceback names the
  document and its line.

Listings that are not meant to run (printed output, grammars, IR excerpts, formulas) are fenced
```` ```text ```` or ```` ```mlir ```` (any language but sh and python) and are not run. A runnable block
that cannot run in a test says why in an HTML comment on the line before its fence,
``<!-- docs-test: skip (reason) -->``; there may be only a handful of those.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (
    "README.md",
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
    "examples/README.md",
)
RUN = ("sh", "python")
MAX_SKIPS = 6
COMMAND_TIMEOUT = 120
PYTHON_TIMEOUT = 240

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[^`\s]*)\s*$")
_SKIP = re.compile(r"^\s*<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->\s*$")
_MARKER = re.compile(r"docs-test", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    """1-based line of the block's first line of code (the one after the opening fence)."""
    language: str
    code: str
    skip: str | None
    """The reason given in a skip comment on the line before the fence, if any."""

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"


def blocks_of(document: str) -> list[Block]:
    """The fenced blocks of ``document``, in order."""
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        end = index + 1
        while end < len(lines) and not re.match(rf"^\s*{re.escape(fence)}\s*$", lines[end]):
            end += 1
        previous = lines[index - 1] if index > 0 else ""
        skip = _SKIP.match(previous)
        indent = len(opening["indent"])
        code = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[index + 1 : end])
        found.append(Block(document, index + 2, opening["lang"], code, skip["reason"].strip() if skip else None))
        index = end + 1
    return found


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


def commands_of(block: Block) -> list[tuple[int, str]]:
    """(line, command) for each command of an sh block: one per line, ``\\`` continuations joined."""
    commands: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for offset, line in enumerate(block.code.splitlines()):
        if not pending:
            start = block.line + offset
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        commands.append((start, " ".join(part.strip() for part in [*pending, line])))
        pending = []
    assert not pending, f"{block.id}: the block ends in a line continuation"
    return commands


# --- checks of the documents themselves -----------------------------------------------------------


def test_every_document_has_runnable_blocks() -> None:
    assert all((ROOT / d).is_file() for d in DOCUMENTS)
    assert sum(b.language in RUN and b.skip is None for b in ALL_BLOCKS) >= 10


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_fence_names_its_language(document: str) -> None:
    unlabelled = [b.line - 1 for b in blocks_of(document) if not b.language]
    assert not unlabelled, f"{document}: fences without a language (```text for listings) at lines {unlabelled}"


def test_skips_have_reasons_and_are_few() -> None:
    skipped = [b for b in ALL_BLOCKS if b.skip is not None]
    for block in skipped:
        assert block.skip, f"{block.id}: a skipped block must say why: <!-- docs-test: skip (reason) -->"
        assert block.language in RUN, f"{block.id}: only sh and python blocks run, so only they can be skipped"
    assert len(skipped) <= MAX_SKIPS, [f"{b.id} ({b.skip})" for b in skipped]
    for document in DOCUMENTS:
        lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if _MARKER.search(line):
                assert _SKIP.match(line), f"{document}:{number}: write it as <!-- docs-test: skip (reason) -->"
                following = lines[number] if number < len(lines) else ""
                assert _FENCE.match(following), f"{document}:{number}: a skip comment goes on the line before a fence"


def test_no_paths_of_the_development_machine_and_no_lock_files() -> None:
    found = [
        f"{document}:{number}: {bad!r}"
        for document in DOCUMENTS
        for number, line in enumerate((ROOT / document).read_text(encoding="utf-8").splitlines(), 1)
        for bad in (str(ROOT), "/work/", "flock")
        if bad in line
    ]
    assert not found, found


def test_no_heredocs_or_cd_in_sh_blocks() -> None:
    """Commands run one by one, so a heredoc or a `cd` would not mean what it says."""
    for block in ALL_BLOCKS:
        if block.language == "sh" and block.skip is None:
            for line, command in commands_of(block):
                assert "<<" not in command and not command.startswith("cd "), f"{block.document}:{line}: {command}"


# --- running them ---------------------------------------------------------------------------------


def _source_files() -> list[Path]:
    """What a fresh clone has: git's tracked and untracked-but-not-ignored files (or, without git, the
    tree less the usual build and cache folders)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]
    except (OSError, subprocess.SubprocessError):
        skipped = {".git", ".venv", "build", "spikeir-out", "__pycache__", ".pytest_cache", ".hypothesis", "Output"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skipped & set(p.relative_to(ROOT).parts)]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs") / "spikeir"
    for source in _source_files():
        target = root / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    if sys.prefix != sys.base_prefix:  # the docs say .venv/bin/...: the environment running the tests
        (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return root


def _environment(clone: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTHONPATH", None)
    return env


SH_DOCUMENTS = [d for d in DOCUMENTS if any(b.language == "sh" and b.skip is None for b in blocks_of(d))]
PYTHON_DOCUMENTS = [d for d in DOCUMENTS if any(b.language == "python" and b.skip is None for b in blocks_of(d))]


@pytest.mark.parametrize("document", SH_DOCUMENTS)
def test_sh_blocks_run(document: str, clone: Path) -> None:
    env = _environment(clone)
    for block in blocks_of(document):
        if block.language != "sh" or block.skip is not None:
            continue
        for line, command in commands_of(block):
            try:
                done = subprocess.run(
                    ["bash", "-e", "-o", "pipefail", "-c", command],
                    cwd=clone,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT,
                )
            except subprocess.TimeoutExpired:
                pytest.fail(f"{document}:{line}: `{command}` ran past {COMMAND_TIMEOUT} s")
            assert done.returncode == 0, (
                f"{document}:{line}: `{command}` exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )


# Runs the blocks handed over on stdin (a JSON list of [document, line, code]) in one namespace; each is
# compiled under the document's name, padded so that tracebacks give the document's line numbers.
_RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for document, line, code in json.load(sys.stdin):
    exec(compile("\\n" * (line - 1) + code, document, "exec"), namespace)
"""


@pytest.mark.parametrize("document", PYTHON_DOCUMENTS)
def test_python_blocks_run(document: str, clone: Path) -> None:
    blocks = [[b.document, b.line, b.code] for b in blocks_of(document) if b.language == "python" and b.skip is None]
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=json.dumps(blocks),
            cwd=clone,
            env=_environment(clone),
            capture_output=True,
            text=True,
            timeout=PYTHON_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{document}: its Python blocks ran past {PYTHON_TIMEOUT} s")
    assert done.returncode == 0, f"{document}: a Python block failed\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
