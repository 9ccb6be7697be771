"""The importers are reachable from spikeir.frontends itself (issue 20: `from spikeir.frontends import
import_torch` failed), loaded only when named."""

from __future__ import annotations

import subprocess
import sys

import pytest

import spikeir.frontends as frontends
from spikeir.frontends import onnx, relax, relay_text, torch_export


def test_every_importer_is_a_name_of_the_package() -> None:
    assert frontends.import_torch is torch_export.import_torch
    assert frontends.import_pt2 is torch_export.import_pt2
    assert frontends.import_exported_program is torch_export.import_exported_program
    assert frontends.import_onnx is onnx.import_onnx
    assert frontends.import_relax is relax.import_relax
    assert frontends.import_relay is relay_text.import_relay


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'import_caffe'"):
        frontends.import_caffe  # noqa: B018


def test_the_package_alone_loads_no_heavy_library() -> None:
    code = "import sys, spikeir.frontends; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'tvm', 'onnx'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
