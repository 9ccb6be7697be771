"""spikeir.chip stands on its own: nothing in it imports xDSL, TVM or torch, so a program can be
assembled, encoded, loaded and run with numpy alone (spikeir/chip/__init__.py makes that promise).

Two checks, because each misses what the other sees: the source of every module is read for its
imports (also those inside functions, which importing a module does not run), and a fresh
interpreter imports every module and runs a program through the whole chip layer, then looks at
what got loaded (which also catches a forbidden import by a module outside chip that chip uses).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import spikeir.chip

FORBIDDEN = ("xdsl", "tvm", "torch")
CHIP = Path(spikeir.chip.__file__).parent
SOURCES = sorted(CHIP.glob("*.py"))
MODULES = [f"spikeir.chip.{path.stem}" for path in SOURCES if path.stem != "__init__"]


def imported_modules(path: Path) -> set[str]:
    """The absolute name of every module the file imports, wherever the import statement is."""
    package = "spikeir.chip".split(".")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = package[: len(package) - node.level + 1] if node.level else []
            names.add(".".join(parent + ([node.module] if node.module else [])))
    return names


def test_the_chip_modules_are_found() -> None:
    assert {"spikeir.chip.assembly", "spikeir.chip.hardware_model", "spikeir.chip.image"} <= set(MODULES)


@pytest.mark.parametrize("path", SOURCES, ids=[path.name for path in SOURCES])
def test_no_chip_module_imports_xdsl_tvm_or_torch(path: Path) -> None:
    forbidden = sorted(name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN)
    assert not forbidden, f"spikeir/chip/{path.name} imports {', '.join(forbidden)}"


RUN_WITHOUT_THEM = """
import sys

import numpy as np

{imports}
from spikeir.chip.assembly import assemble, disassemble
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.image import decode, encode
from spikeir.chip.isa import Acc, Fire, Halt, OutputSpec, Program
from spikeir.chip.target import SPIKECORE_V1

target = SPIKECORE_V1.with_options(name="small", cores=2, neurons_per_core=4, bus_size=16)
program = Program(
    [Acc(0, 0, 2, src=0, src_len=3, table=0), Fire(0, 0, 2, dst=3, table=0), Halt()],
    3,
    [OutputSpec(0, 0, 2)],
    {{0: np.ones((2, 3), np.int8)}},
    {{0: np.ones(2, np.int32)}},
    target,
)
program = assemble(disassemble(decode(encode(program))))
cpu = SpikeCoreCPU(target=program.target)
cpu.load_program(program)
cpu.run(np.array([1, 2, 3], np.int8), timesteps=2)
assert cpu.stats.synaptic_ops == 12, cpu.stats
loaded = sorted(name for name in sys.modules if name.split(".")[0] in {forbidden!r})
assert not loaded, f"loaded: {{', '.join(loaded)}}"
"""


def test_importing_and_running_the_chip_loads_none_of_them() -> None:
    code = RUN_WITHOUT_THEM.format(imports="\n".join(f"import {name}" for name in MODULES), forbidden=FORBIDDEN)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
