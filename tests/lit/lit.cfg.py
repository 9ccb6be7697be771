"""lit configuration: spike-opt / xdsl-opt / filecheck tests of the dialects, passes and tools."""

import os
import sys
from pathlib import Path

import lit.formats

config.name = "spikeir"  # noqa: F821  (lit injects `config`)
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821
config.excludes = ["lit.cfg.py"]  # noqa: F821

# lit runs RUN lines with PATH only: put the running interpreter's bin/ (the venv with spike-opt,
# xdsl-opt and filecheck) first, so the tests use this environment's tools, in CI as in a shell.
_bin = str(Path(sys.executable).parent)
config.environment["PATH"] = os.pathsep.join([_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])  # noqa: F821

# Round trips, as xDSL's own lit configuration defines them: print the generic form, parse it again and
# check the custom form (ROUNDTRIP), or check the generic form itself (GENERIC_ROUNDTRIP, prefix
# CHECK-GENERIC). The SPIKE_ ones go through spike-opt, the XDSL_ ones through plain xdsl-opt, which
# knows spikeir's dialects through the `xdsl.universe` entry point.
for _tool in ("spike-opt", "xdsl-opt"):
    _prefix = "SPIKE" if _tool == "spike-opt" else "XDSL"
    config.substitutions.append(  # noqa: F821
        (
            f"{_prefix}_ROUNDTRIP",
            f"{_tool} %s --print-op-generic --split-input-file | {_tool} --split-input-file | filecheck %s",
        )
    )
    config.substitutions.append(  # noqa: F821
        (
            f"{_prefix}_GENERIC_ROUNDTRIP",
            f"{_tool} %s --print-op-generic --split-input-file | filecheck %s --check-prefix=CHECK-GENERIC",
        )
    )
