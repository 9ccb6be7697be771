"""Security: what a hostile model file or a careless output path must not get (issue 19, 1-4).

- Writing (`spikeir.fileio.atomic_write`, behind spike-opt ``-o`` and spike-run ``--log-spikes``):
  a regular file is replaced atomically and keeps its mode (and owner, as root); a symlink's target
  is replaced and the link kept; a FIFO, a character device, standard output and ``-`` are written
  through, never replaced; a folder or block device is refused. No writer in the code bypasses it.
- ONNX external data is read only from inside the model's own folder, whatever the current
  directory: no absolute path, no ``..``, no symlink out, only regular files, exactly the tensor's
  bytes; a model without a folder (bytes, standard input) that names external data is refused.
- A `.pt2` whose serialized program carries ``guards_code`` (Python run by the module that
  ``ExportedProgram.module()`` returns) is refused before torch loads it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeir import fileio
from spikeir.compiler import build_mlp_module
from spikeir.errors import FrontendError
from spikeir.frontends import FRONTENDS, FrontendOptions
from spikeir.frontends.onnx import import_onnx
from spikeir.frontends.torch_export import import_pt2
from spikeir.tools import spike_opt, spike_run
from support.programs import SMALL

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run_main(main: Callable[[list[str]], int], *args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def net(tmp_path: Path) -> Path:
    """A small nn-dialect module to run spike-opt on (its output is the same text)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "in" / "net.mlir"
    path.parent.mkdir()
    path.write_text(str(build_mlp_module([rng.standard_normal((3, 4))], [None], ["relu"])))
    return path


def expected_text(net: Path) -> str:
    status, out, err = run_main(spike_opt.main, net)
    assert status == 0, err
    return out


def no_temporaries(folder: Path) -> bool:
    return not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# -- writing: what the path is decides how --------------------------------------------------------


def test_fifo_is_written_through(net: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    status, _, err = run_main(spike_opt.main, net, "-o", fifo)
    reader.join(timeout=30)
    assert status == 0, err
    assert received == [expected_text(net).encode()]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a file"
    assert no_temporaries(tmp_path)


def test_spike_log_into_a_fifo(tmp_path: Path) -> None:
    program, x, fifo = tmp_path / "net.s", tmp_path / "x.npy", tmp_path / "log.fifo"
    program.write_text(SMALL)
    np.save(x, np.array([1, 2, 3, 4], np.int8))
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    status, _, err = run_main(spike_run.main, program, "--input", x, "--log-spikes", fifo)
    reader.join(timeout=30)
    assert status == 0, err
    assert received and received[0].startswith(b"timestep,core,neuron,payload\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlink_target_is_replaced_and_the_link_kept(net: Path, tmp_path: Path) -> None:
    real = tmp_path / "real" / "out.mlir"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o600)
    links = tmp_path / "links"
    links.mkdir()
    link = links / "out.mlir"
    link.symlink_to(Path("..") / "real" / "out.mlir")
    status, _, err = run_main(spike_opt.main, net, "-o", link)
    assert status == 0, err
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "out.mlir")
    assert real.read_text() == expected_text(net)
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert no_temporaries(real.parent) and no_temporaries(links)


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to("target.txt")
    fileio.atomic_write(link, "new")
    assert link.is_symlink() and (tmp_path / "target.txt").read_text() == "new"


@contextlib.contextmanager
def char_device(folder: Path) -> Iterator[Path]:
    """A fresh character device equal to /dev/null (1, 3) where this process may make one (root),
    else /dev/null itself. Never /dev/null as root: a regression would replace the machine's
    /dev/null with a regular file (it did, once, while checking that these tests catch the bug)."""
    device = folder / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (OSError, AttributeError):
        yield Path(os.devnull)
        return
    try:
        yield device
    finally:
        device.unlink()


@pytest.mark.parametrize("target", ["mlir", "spikecore-bin"])
def test_character_device_stays_a_device(tmp_path: Path, target: str) -> None:
    source = ROOT / "tests" / "lit" / "tools" / "targets.mlir"
    with char_device(tmp_path) as device:
        status, _, err = run_main(spike_opt.main, source, "-t", target, "-o", device)
        assert status == 0, err
        info = os.lstat(device)
        assert stat.S_ISCHR(info.st_mode), f"{device} is no longer a character device"
        assert os.major(info.st_rdev) == 1 and os.minor(info.st_rdev) == 3
        assert no_temporaries(device.parent) if device.parent == tmp_path else True


def test_dash_is_standard_output(
    net: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # where a file named '-' would appear
    text = expected_text(net)
    assert spike_opt.main([str(net), "-o", "-"]) == 0
    assert capsys.readouterr().out == text
    assert not (tmp_path / "-").exists()


def test_dash_with_the_binary_target_refuses_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    source = ROOT / "tests" / "lit" / "tools" / "targets.mlir"
    assert spike_opt.main([str(source), "-t", "spikecore-bin", "-o", "-"]) == 1
    assert "refusing to write a binary image to a terminal" in capsys.readouterr().err


def test_dev_stdout_redirected_to_a_file_is_written_through(net: Path, tmp_path: Path) -> None:
    """``-o /dev/stdout`` with stdout a file: written through the open stdout (the file is not
    replaced behind the shell's back)."""
    out = tmp_path / "captured.mlir"
    with out.open("wb") as stdout:
        done = subprocess.run([str(BIN / "spike-opt"), str(net), "-o", "/dev/stdout"], stdout=stdout, check=False)
    assert done.returncode == 0
    assert out.read_text() == expected_text(net)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_existing_file_keeps_its_mode(net: Path, tmp_path: Path, mode: int) -> None:
    out = tmp_path / "private.mlir"
    out.write_text("old")
    out.chmod(mode)
    status, _, err = run_main(spike_opt.main, net, "-o", out)
    assert status == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == mode and out.read_text() == expected_text(net)


def test_spike_log_keeps_the_mode_of_a_private_file(tmp_path: Path) -> None:
    program, x, log = tmp_path / "net.s", tmp_path / "x.npy", tmp_path / "log.csv"
    program.write_text(SMALL)
    np.save(x, np.array([1, 2, 3, 4], np.int8))
    log.write_text("old")
    log.chmod(0o600)
    status, _, err = run_main(spike_run.main, program, "--input", x, "--log-spikes", log)
    assert status == 0, err
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and log.read_text().startswith("timestep,")


def test_new_file_gets_the_umask_default(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        fileio.atomic_write(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file away")
def test_root_keeps_the_owner_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "theirs.txt"
    path.write_text("old")
    os.chown(path, 12345, 12346)
    path.chmod(0o640)
    fileio.atomic_write(path, "new")
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 12346, 0o640)


def test_folder_is_refused(net: Path, tmp_path: Path) -> None:
    status, _, err = run_main(spike_opt.main, net, "-o", tmp_path)
    assert status == 1 and err == f"{tmp_path}: error: cannot write output file: Is a directory\n", err


def test_block_device_is_refused(tmp_path: Path) -> None:
    device = tmp_path / "block"
    try:
        os.mknod(device, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    except (OSError, AttributeError):
        pytest.skip("cannot make a block device here")
    with pytest.raises(OSError, match="refusing to write to a block device"):
        fileio.atomic_write(device, b"x")
    assert stat.S_ISBLK(os.lstat(device).st_mode)


WRITE_CALLS = {"write_text", "write_bytes"}
OWN_WRITERS = {
    "spikeir/fileio.py": "the one writer",
}


def _writes(path: Path) -> list[str]:
    """Calls in ``path`` that open a file for writing, other than through atomic_write."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        modes = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
        writes_mode = any(isinstance(m, ast.Constant) and set(str(m.value)) & set("wax+") for m in modes)
        if name in WRITE_CALLS or (name in ("open", "fdopen") and writes_mode):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return found


def test_every_writer_goes_through_atomic_write() -> None:
    """spikeir's code writes user-named paths only through `fileio.atomic_write`."""
    sources = [
        p for folder in ("spikeir", "tools", "passes", "dialects") for p in sorted((ROOT / folder).rglob("*.py"))
    ]
    found = [hit for path in sources if str(path.relative_to(ROOT)) not in OWN_WRITERS for hit in _writes(path)]
    assert found == []


# -- ONNX external data ---------------------------------------------------------------------------

WEIGHT = np.arange(12, dtype=np.float32).reshape(4, 3) / 8


def onnx_model(external: dict[str, str] | None = None) -> bytes:
    """MatMul(x, w) + Relu with w (4x3 float32, 48 bytes) inline, or external as ``external`` says."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(WEIGHT, "w")
    if external is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in external.items():
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [weight])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


SECRET = bytes(range(48))  # 48 bytes: exactly what the weight needs, so a leak would import cleanly


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """model/ (where the model is), cwd/ (the current directory, holding secret.txt), outside/."""
    paths = {name: tmp_path / name for name in ("model", "cwd", "outside")}
    for folder in paths.values():
        folder.mkdir()
    (paths["cwd"] / "secret.txt").write_bytes(SECRET)
    (paths["outside"] / "secret.txt").write_bytes(SECRET)
    monkeypatch.chdir(paths["cwd"])
    return paths


def test_legitimate_external_data_beside_the_model_is_read_from_any_cwd(layout: dict[str, Path]) -> None:
    model = layout["model"] / "m.onnx"
    model.write_bytes(onnx_model({"location": "w.bin", "length": "48"}))
    (layout["model"] / "w.bin").write_bytes(WEIGHT.tobytes())
    inline = str(import_onnx(onnx_model(), "m.onnx"))
    assert str(import_onnx(model, "m.onnx")) == inline
    assert str(import_onnx(model.read_bytes(), "m.onnx", layout["model"])) == inline
    status, out, err = run_main(spike_opt.main, model)
    assert status == 0 and err == "", err
    assert out == run_main(spike_opt.main, _inline_copy(layout["model"]))[1]


def _inline_copy(folder: Path) -> Path:
    path = folder / "inline.onnx"
    path.write_bytes(onnx_model())
    return path


def test_onnx_save_with_external_data_round_trips(layout: dict[str, Path]) -> None:
    """A model written by onnx itself (`save_as_external_data`, offsets, a sub-folder) imports."""
    import onnx

    model = onnx.ModelProto.FromString(onnx_model())
    path = layout["model"] / "saved.onnx"
    (layout["model"] / "data").mkdir()
    onnx.save_model(model, path, save_as_external_data=True, location="data/w.bin", size_threshold=0)
    assert (layout["model"] / "data" / "w.bin").exists()
    assert str(import_onnx(path, "m.onnx")) == str(import_onnx(onnx_model(), "m.onnx"))


def test_secret_in_the_current_directory_is_not_read(layout: dict[str, Path]) -> None:
    model = layout["model"] / "m.onnx"
    model.write_bytes(onnx_model({"location": "secret.txt", "length": "48"}))
    status, out, err = run_main(spike_opt.main, model)
    assert status == 1 and out == ""
    reason = "which cannot be read: No such file or directory"
    assert err == f"{model}: error: ONNX tensor 'w' keeps its data in 'secret.txt', {reason}\n", err


def _escape(layout: dict[str, Path], how: str) -> str:
    """A location that leads out of the model's folder (or to something that is not a file)."""
    model = layout["model"]
    if how == "symlink-file":
        (model / "w.bin").symlink_to(layout["outside"] / "secret.txt")
        return "w.bin"
    if how == "symlink-folder":
        (model / "data").symlink_to(layout["outside"])
        return "data/secret.txt"
    if how == "fifo":
        os.mkfifo(model / "w.bin")
        return "w.bin"
    if how == "folder":
        (model / "w.bin").mkdir()
        return "w.bin"
    return {
        "dotdot": "../outside/secret.txt",
        "inner-dotdot": "sub/../../outside/secret.txt",
        "absolute": str(layout["outside"] / "secret.txt"),
        "device": "/dev/zero",
        "empty": "",
    }[how]


ESCAPES = {
    "dotdot": "external data must be a relative path inside the model's folder (no absolute path, no '..')",
    "inner-dotdot": "external data must be a relative path inside the model's folder (no absolute path, no '..')",
    "absolute": "external data must be a relative path inside the model's folder (no absolute path, no '..')",
    "device": "external data must be a relative path inside the model's folder (no absolute path, no '..')",
    "empty": "external data must be a relative path inside the model's folder (no absolute path, no '..')",
    "symlink-file": "which leads outside the model's folder (through a symlink)",
    "symlink-folder": "which leads outside the model's folder (through a symlink)",
    "fifo": "which is not a regular file",
    "folder": "which is not a regular file",
}


@pytest.mark.parametrize("how", sorted(ESCAPES))
def test_external_data_outside_the_folder_is_refused(layout: dict[str, Path], how: str) -> None:
    location = _escape(layout, how)
    model = layout["model"] / "m.onnx"
    model.write_bytes(onnx_model({"location": location, "length": "48"}))
    status, out, err = run_main(spike_opt.main, model)
    assert status == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"{model}: error: ONNX tensor 'w' keeps its data in '{location}'"), err
    assert ESCAPES[how] in err, err


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"length": "12"}, "with offset 0 and length 12; the tensor needs 48 bytes"),
        ({"offset": "8", "length": "48"}, "which holds 40 bytes from offset 8; the tensor needs 48"),
        ({"offset": "-1"}, "with offset -1 and length 48"),
        ({"offset": "x"}, "its offset or length is not a whole number"),
    ],
)
def test_external_data_must_be_exactly_the_tensor(
    layout: dict[str, Path], entries: dict[str, str], message: str
) -> None:
    (layout["model"] / "w.bin").write_bytes(WEIGHT.tobytes())
    model = layout["model"] / "m.onnx"
    model.write_bytes(onnx_model({"location": "w.bin", **entries}))
    with pytest.raises(FrontendError, match=re.escape(message)):
        import_onnx(model)
    model.write_bytes(onnx_model({"location": "w.bin"}))  # no length: the tensor's bytes from offset 0
    assert str(import_onnx(model)) == str(import_onnx(onnx_model(), str(model)))


def test_model_without_a_folder_cannot_name_external_data(
    layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = onnx_model({"location": "secret.txt", "length": "48"})
    message = "but the model was not read from a file, so it has no folder to look in"
    with pytest.raises(FrontendError, match=message):
        import_onnx(data, "m.onnx")
    with pytest.raises(FrontendError, match=message):
        FRONTENDS["onnx"](io.BytesIO(data), FrontendOptions(filename="m.onnx"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, err = run_main(spike_opt.main, "-f", "onnx")
    assert status == 1 and out == "" and err.startswith("stdin: error: ONNX tensor 'w' keeps its data in 'secret.txt'")


def test_model_proto_of_the_caller_is_left_as_it_was(layout: dict[str, Path]) -> None:
    import onnx

    (layout["model"] / "w.bin").write_bytes(WEIGHT.tobytes())
    model = onnx.ModelProto.FromString(onnx_model({"location": "w.bin", "length": "48"}))
    import_onnx(model, "m.onnx", layout["model"])
    assert model.graph.initializer[0].data_location == onnx.TensorProto.EXTERNAL


# -- .pt2 guards_code -----------------------------------------------------------------------------


def _pt2_with_guards(tmp_path: Path, guards: list[str]) -> bytes:
    torch.manual_seed(0)
    program = torch.export.export(
        torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval(), (torch.randn(1, 4),)
    )
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if "/models/" in info.filename and info.filename.endswith(".json"):
                document = json.loads(content)
                assert document["guards_code"] == []  # torch 2.13 writes it, empty for a plain model
                document["guards_code"] = guards
                content = json.dumps(document).encode()
            target.writestr(info, content)
    return out.getvalue()


def test_pt2_with_guards_code_is_refused(tmp_path: Path) -> None:
    mark = tmp_path / "ran"
    data = _pt2_with_guards(tmp_path, [f"(open({str(mark)!r}, 'w') is None) == False"])
    path = tmp_path / "guards.pt2"
    path.write_bytes(data)
    status, _, err = run_main(spike_opt.main, path)
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith(f"{path}: error: archive entry ") and "carries guard code (`guards_code`" in err, err
    with pytest.raises(FrontendError, match="guard code"):
        import_pt2(io.BytesIO(data))
    assert not mark.exists()


def test_guards_code_would_run_in_torch(tmp_path: Path) -> None:
    """The threat is real: the module torch makes from such an archive runs the guard on each call."""
    mark = tmp_path / "ran"
    data = _pt2_with_guards(tmp_path, [f"(open({str(mark)!r}, 'w') is None) == False"])
    with contextlib.redirect_stderr(io.StringIO()):
        module = torch.export.load(io.BytesIO(data)).module()
        module(torch.randn(1, 4))
    assert mark.exists()


def test_empty_guards_code_still_imports(tmp_path: Path) -> None:
    assert "nn.dense" in str(import_pt2(io.BytesIO(_pt2_with_guards(tmp_path, []))))


# -- .pt2 weights whose view is not their stored bytes (issue 19, 11) ----------------------------


def _pt2_with_weight_view(sizes: list[int], strides: list[int], offset: int = 0) -> bytes:
    """The Linear(4, 3) archive with weight 0 (48 stored bytes) described as another view."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model, (torch.randn(1, 4),)), buffer)

    def patch(meta: dict[str, object]) -> None:
        meta["sizes"] = [{"as_int": n} for n in sizes]
        meta["strides"] = [{"as_int": n} for n in strides]
        meta["storage_offset"] = {"as_int": offset}

    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("weights_config.json"):
                document = json.loads(content)
                patch(document["config"]["0.weight"]["tensor_meta"])
                content = json.dumps(document).encode()
            elif "/models/" in info.filename:
                document = json.loads(content)
                patch(document["graph_module"]["graph"]["tensor_values"]["p_0_weight"])
                content = json.dumps(document).encode()
            target.writestr(info, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("sizes", "strides", "offset", "message"),
    [
        (
            [3, 4],
            [0, 0],
            0,
            "is a view that repeats its elements (sizes [3, 4], strides [0, 0])",
        ),  # silently all one value
        ([3, 200_000_000], [0, 0], 0, "is a view that repeats its elements"),  # torch took 16 s to materialize it
        ([3, 4], [1, 1], 0, "is a view that repeats its elements"),
        ([3, 4], [4, 1], 1, "needs more bytes than the archive stores for it"),
        ([3, 5], [5, 1], 0, "needs more bytes than the archive stores for it"),
    ],
)
def test_pt2_weight_views_beyond_their_bytes_are_refused(
    tmp_path: Path, sizes: list[int], strides: list[int], offset: int, message: str
) -> None:
    path = tmp_path / "view.pt2"
    path.write_bytes(_pt2_with_weight_view(sizes, strides, offset))
    status, _, err = run_main(spike_opt.main, path)
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith(f"{path}: error: archive entry 'data/weights/model_weights_config.json': weight 'weight_0' ")
    assert message in err, err


def test_pt2_with_non_contiguous_parameter_buffer_and_constant_imports() -> None:
    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(4, 3).t())  # strides (1, 3): not contiguous, no overlap
            self.register_buffer("b", torch.randn(3))
            self.c = torch.randn(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x @ self.w.t() + self.b + self.c)

    buffer = io.BytesIO()
    torch.export.save(torch.export.export(Model(), (torch.randn(1, 4),)), buffer)
    assert "nn.dense" in str(import_pt2(io.BytesIO(buffer.getvalue())))
