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
