"""Fuzzing the model-file frontends: a truncated, corrupted or hostile `.pt2` or `.onnx` file ends
in one FrontendError naming the file (spike-opt: ``file: error: ...``, exit 1), never a traceback,
a hang, or code run from the file (docs/robustness.md).

The `.pt2` cases include archives whose pickled or evaluated parts were replaced by code:
`torch.export.load` would run them, so `import_pt2` must refuse them before torch reads them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.errors import FrontendError
from spikeir.frontends import FRONTENDS, FrontendOptions
from spikeir.frontends.onnx import import_onnx
from spikeir.frontends.torch_export import import_pt2
from spikeir.tools.spike_opt import main as spike_opt

FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


def _pt2_bytes(model: torch.nn.Module, example: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model.eval(), (example,)), buffer)
    return buffer.getvalue()


def _onnx_bytes(
    nodes: list[tuple[str, list[str], list[str]]],
    weight_shape: tuple[int, ...],
    shapes: tuple[list[str | int], list[str | int]],
) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones(weight_shape, np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node(op, ins, outs) for op, ins, outs in nodes], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shapes[0])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shapes[1])], [weight])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


torch.manual_seed(0)
PT2 = _pt2_bytes(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()), torch.randn(1, 4))
ONNX = _onnx_bytes([("MatMul", ["x", "w"], ["h"]), ("Relu", ["h"], ["y"])], (4, 3), (["N", 4], ["N", 3]))
ENTRIES = [info.filename for info in zipfile.ZipFile(io.BytesIO(PT2)).infolist()]


def rewrite(archive: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """``archive`` with each entry's content replaced by ``change(name without the root, content)``
    (None drops the entry), stored as torch.export.save stores entries."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = change(info.filename.split("/", 1)[1], source.read(info))
            if content is not None:
                target.writestr(info, content)
    return out.getvalue()


def run_spike_opt(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = spike_opt([str(path)])
    return status, err.getvalue()


def assert_refused_or_imported(tmp_path: Path, data: bytes, ext: str) -> None:
    """spike-opt imports ``data`` or exits 1 with one ``file: error:`` line; the frontend, called
    directly, raises only FrontendError."""
    path = tmp_path / f"m.{ext}"
    path.write_bytes(data)
    start = time.perf_counter()
    status, err = run_spike_opt(path)
    assert time.perf_counter() - start < 10
    assert status in (0, 1) and "Traceback" not in err, err
    if status == 1:
        assert err.startswith(f"{path}: error: ") and err.count("\n") == 1, err
    try:
        FRONTENDS[ext](io.BytesIO(data), FrontendOptions(filename=str(path)))
    except FrontendError as error:
        assert error.location is not None and error.location.startswith(str(path)), error


def mutate(data: bytes, changes: list[tuple[int, str, int]]) -> bytes:
    """Bit flips, truncation, extension with junk, and deletion, at positions taken modulo the size."""
    out = bytearray(data)
    for position, how, value in changes:
        at = position % max(len(out), 1)
        if how == "flip" and out:
            out[at] ^= value
        elif how == "truncate":
            del out[at:]
        elif how == "extend":
            out += bytes([value]) * (value % 64 + 1)
        elif how == "delete":
            del out[at : at + value % 16 + 1]
    return bytes(out)


CHANGES = st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(["flip", "truncate", "extend", "delete"]), st.integers(1, 255)),
    min_size=1, max_size=3)  # fmt: skip


# -- .pt2 -------------------------------------------------------------------------------------------


def test_seed_archives_import() -> None:
    """The seeds are valid, so the fuzzing below starts from files that get past the loaders."""
    assert "nn.dense" in str(import_pt2(io.BytesIO(PT2)))
    assert "nn.dense" in str(import_onnx(ONNX, "m.onnx"))


@FUZZ
@given(CHANGES)
def test_mutated_pt2_bytes(tmp_path: Path, changes: list[tuple[int, str, int]]) -> None:
    assert_refused_or_imported(tmp_path, mutate(PT2, changes), "pt2")


@FUZZ
@given(
    st.sampled_from(ENTRIES),
    st.sampled_from(["junk", "truncate", "flip", "drop"]),
    st.binary(max_size=64),
    st.integers(0, 10**4),
)
def test_corrupted_pt2_entries(tmp_path: Path, entry: str, how: str, junk: bytes, at: int) -> None:
    """One zip entry replaced by junk, cut short, bit-flipped or missing: the zip stays readable,
    so the damage reaches torch's deserializer (JSON, schema, tensor payloads)."""
    target = entry.split("/", 1)[1]

    def change(name: str, content: bytes) -> bytes | None:
        if name != target:
            return content
        if how == "drop":
            return None
        if how == "junk":
            return junk
        if how == "truncate":
            return content[: at % (len(content) + 1)]
        flipped = bytearray(content)
        if flipped:
            flipped[at % len(flipped)] ^= 0x55
        return bytes(flipped)

    assert_refused_or_imported(tmp_path, rewrite(PT2, change), "pt2")


class _Payload:
    """A pickle that touches ``MARK`` when unpickled: proof that the loader ran the file's code."""

    MARK: str = ""

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, str]]:
        return (open, (self.MARK, "w"))


def _malicious(tmp_path: Path) -> bytes:
    _Payload.MARK = str(tmp_path / "ran")
    return pickle.dumps(_Payload())


def _pickled_weight_config(content: bytes) -> bytes:
    config = json.loads(content)
    for payload in config["config"].values():
        payload["use_pickle"] = True
    return json.dumps(config).encode()


@pytest.mark.parametrize("attack", ["sample_inputs", "use_pickle", "opaque_constant", "sympify", "aotinductor"])
def test_malicious_pt2_is_refused_without_running_it(tmp_path: Path, attack: str) -> None:
    """torch.export.load runs a pickle in the sample inputs (weights_only=False fallback), in
    weights marked use_pickle and in opaque constants; sympify evaluates a symbolic shape as
    Python; AOTInductor payloads are native code. import_pt2 refuses each before torch reads it."""
    evil = _malicious(tmp_path)
    code = f"open({str(tmp_path / 'ran')!r}, 'w')"
    changes: dict[str, Callable[[str, bytes], bytes | None]] = {
        "sample_inputs": lambda name, c: evil if name.startswith("data/sample_inputs/") else c,
        "use_pickle": lambda name, c: _pickled_weight_config(c) if name.endswith("weights_config.json")
        else evil if name.startswith("data/weights/weight_") else c,
        "opaque_constant": lambda name, c: json.dumps({"config": {"k": {"path_name": "opaque_obj_0", "is_param": False, "use_pickle": True}}}).encode()
        if name.endswith("constants_config.json") else c,
        "sympify": lambda name, c: c.replace(b'{"as_int": 1}', json.dumps({"as_expr": {"expr_str": code, "hint": {"as_int": 1}}}).encode(), 1)
        if name.startswith("models/") else c,
        "aotinductor": lambda name, c: c,
    }  # fmt: skip
    data = rewrite(PT2, changes[attack])
    if attack == "opaque_constant":
        data = _add_entry(data, "data/constants/opaque_obj_0", evil)
    if attack == "aotinductor":
        data = _add_entry(data, "data/aotinductor/model/model.so", b"\x7fELF")
    path = tmp_path / "evil.pt2"
    path.write_bytes(data)
    status, err = run_spike_opt(path)
    assert status == 1 and err.startswith(f"{path}: error: ") and err.count("\n") == 1, err
    with pytest.raises(FrontendError):
        import_pt2(path)
    assert not (tmp_path / "ran").exists(), "the archive's code ran"


def _add_entry(archive: bytes, name: str, content: bytes) -> bytes:
    root = ENTRIES[0].split("/", 1)[0]
    out = io.BytesIO(archive)
    with zipfile.ZipFile(out, "a") as target:
        target.writestr(f"{root}/{name}", content)
    return out.getvalue()


def test_malicious_sample_inputs_would_run_in_torch(tmp_path: Path) -> None:
    """The threat is real in this torch: its own loader runs the pickle (so the test above tests something)."""
    data = rewrite(PT2, lambda name, c: _malicious(tmp_path) if name.startswith("data/sample_inputs/") else c)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(Exception):
        torch.export.load(io.BytesIO(data))
    assert (tmp_path / "ran").exists()


def test_zip_bomb_and_foreign_zip_are_refused(tmp_path: Path) -> None:
    compressed = io.BytesIO()
    with zipfile.ZipFile(compressed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in zipfile.ZipFile(io.BytesIO(PT2)).infolist():
            target.writestr(info.filename, zipfile.ZipFile(io.BytesIO(PT2)).read(info), zipfile.ZIP_DEFLATED)
    with pytest.raises(FrontendError, match="is compressed"):
        import_pt2(io.BytesIO(compressed.getvalue()))
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as target:
        target.writestr("version", "1")
        target.writestr("serialized_exported_program.json", "{}")
    with pytest.raises(FrontendError, match="one top-level folder"):
        import_pt2(io.BytesIO(foreign.getvalue()))


def test_dynamic_batch_archive_still_imports() -> None:
    """Symbolic shapes are checked, not refused: a dynamic batch axis is `Symbol('s..', ...)`."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    program = torch.export.export(model, (torch.randn(2, 4),), dynamic_shapes=({0: torch.export.Dim("b")},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    assert "nn.dense" in str(import_pt2(io.BytesIO(buffer.getvalue())))


def test_unsupported_pt2_op_is_named(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Sigmoid())
    path = tmp_path / "sigmoid.pt2"
    path.write_bytes(_pt2_bytes(model, torch.randn(1, 1, 5, 5)))
    status, err = run_spike_opt(path)
    expected = ": error: aten.sigmoid (layer '1') is not supported by spikeir; supported ops: "
    assert status == 1 and expected in err and "Traceback" not in err, err


# -- .onnx ------------------------------------------------------------------------------------------


@FUZZ
@given(CHANGES)
def test_mutated_onnx_bytes(tmp_path: Path, changes: list[tuple[int, str, int]]) -> None:
    assert_refused_or_imported(tmp_path, mutate(ONNX, changes), "onnx")


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_as_onnx(tmp_path: Path, data: bytes) -> None:
    assert_refused_or_imported(tmp_path, data, "onnx")


def test_unsupported_onnx_op_is_named(tmp_path: Path) -> None:
    sigmoid = _onnx_bytes([("MatMul", ["x", "w"], ["h"]), ("Sigmoid", ["h"], ["y"])], (4, 3), (["N", 4], ["N", 3]))
    path = tmp_path / "sigmoid.onnx"
    path.write_bytes(sigmoid)
    status, err = run_spike_opt(path)
    expected = f"{path}:main: error: Relax op 'relax.sigmoid' is not supported by spikeir; supported ops: "
    assert status == 1 and err.startswith(expected) and err.count("\n") == 1, err


def test_onnx_external_data_outside_the_model_is_refused(tmp_path: Path) -> None:
    from onnx import ModelProto, TensorProto

    model = ModelProto.FromString(ONNX)
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", os.path.abspath("/etc/passwd")), ("length", "48")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    path = tmp_path / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(FrontendError, match="must be a relative path inside the model's folder"):
        import_onnx(path)
    with pytest.raises(FrontendError, match="has no folder to look in"):  # bytes have no folder (test_security.py)
        import_onnx(model.SerializeToString(), "ext.onnx")


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (
            [("MatMug", ["x", "w"], ["h"]), ("Relu", ["h"], ["y"])],
            "not a valid ONNX model: No Op registered for MatMug with domain_version of 17 ==> Context: Bad node spec",
        ),
        (
            [("Relu", ["h"], ["y"]), ("MatMul", ["x", "w"], ["h"])],
            "not a valid ONNX model: Nodes in a graph must be topologically sorted, however input 'h' of node: name:",
        ),
    ],
)
def test_onnx_checker_errors_are_one_line(
    tmp_path: Path, nodes: list[tuple[str, list[str], list[str]]], message: str
) -> None:
    """Found by fuzzing: onnx's checker (and TVM) report on several lines; spike-opt printed them all."""
    path = tmp_path / "m.onnx"
    path.write_bytes(_onnx_bytes(nodes, (4, 3), (["N", 4], ["N", 3])))
    status, err = run_spike_opt(path)
    assert status == 1 and err.startswith(f"{path}: error: {message}") and err.count("\n") == 1, err


def test_tvm_importer_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(_onnx_bytes([("MatMul", ["x", "w"], ["h"]), ("Relu", ["h"], ["y"])], (5, 3), (["N", 4], ["N", 3])))
    status, err = run_spike_opt(path)
    assert (
        status == 1
        and err.startswith(f"{path}: error: TVM's ONNX importer failed: Matmul requires")
        and err.count("\n") == 1
    ), err
