"""A bounded, seeded fuzz campaign over every reader of docs/robustness.md, through the CLIs users run.

    python scripts/fuzz.py                                   # every reader, 300 cases each, seed 0
    python scripts/fuzz.py --readers asm,npy --cases 50 --seed 7 --timeout 10 --memory-mb 2048
    python scripts/fuzz.py --readers onnx --seed 7 --replay 41   # one case in this process, traceback shown

Each case is one input made from a seed corpus by a seeded strategy (byte flips, cuts, splices,
interesting numbers, deep nesting, hostile ``.npy`` headers, zip entries, header fields with a fixed
CRC, ...) and fed to the command a user would run on it (``spike-run`` for programs and inputs,
``spike-opt`` for IR and models). The cases run in a worker process whose address space is capped
(``RLIMIT_AS``, as ``ulimit -v``: its size after imports plus ``--memory-mb``), one at a time, each
under an alarm after ``--timeout`` seconds of CPU time and a parent-side kill after six times that
in wall time (a case blocked without using CPU). A finding is a
traceback or ``internal error`` line, a run past the time bound (hang), or a worker that dies or runs
out of memory (blow-up); a user error (``place: error: message``, exit 1) is the right answer. The
summary is one JSON object on stdout (cases, outcomes and findings per reader); exit status 1 when
anything was found. Case ``i`` of a reader depends only on (reader, seed, i), so ``--replay i``
reproduces it. docs/robustness.md records the campaigns run with it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

READERS = ("asm", "image", "npy", "npz", "mlir", "relay", "onnx", "pt2", "nir")

INTERESTING = [
    "0", "-1", "1", "127", "128", "-129", "255", "256", "65535", "65536", "2147483647", "2147483648",
    "-2147483649", "4294967295", "4294967296", "9223372036854775807", "18446744073709551616", "1" + "0" * 40,
    "1e309", "-1e309", "nan", "inf", "-inf", "0.0", "-0.0", "1e-320", "0x7FC00000", "?", "",
]  # fmt: skip
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:e-?\d+)?")


# --- mutation strategies ------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    """One to four byte-level edits: flips, cuts, copies, junk, a splice with another seed."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        at = rng.randrange(len(out) + 1)
        if choice == 0 and out:  # flip a bit
            at = min(at, len(out) - 1)
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1:  # delete a span
            del out[at : at + rng.randint(1, 64)]
        elif choice == 2 and out:  # duplicate a span
            span = out[at : at + rng.randint(1, 64)]
            out[at:at] = span * rng.randint(1, 8)
        elif choice == 3:  # junk
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice == 4:  # truncate
            del out[at:]
        elif choice == 5:  # splice with another seed
            other = rng.choice(corpus)
            cut = rng.randrange(len(other) + 1)
            out = out[:at] + bytearray(other[cut:])
        else:  # an interesting byte
            out[at:at] = bytes([rng.choice([0, 0x7F, 0x80, 0xFF, 0x0A, 0x22, 0x5C])])
    return bytes(out)


def mutate_numbers(rng: random.Random, data: bytes) -> bytes:
    """Replace one to three numbers of a text with interesting ones (sizes, ids, shifts, scales)."""
    numbers = list(_NUMBER.finditer(data))
    out = data
    for match in sorted(rng.sample(numbers, min(len(numbers), rng.randint(1, 3))), key=lambda m: -m.start()):
        out = out[: match.start()] + rng.choice(INTERESTING).encode() + out[match.end() :]
    return out


def mutate_lines(rng: random.Random, data: bytes) -> bytes:
    """Duplicate, drop or swap whole lines (directives, ops, table rows)."""
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    choice = rng.randrange(3)
    if choice == 0:
        lines.insert(j, lines[i])
    elif choice == 1:
        del lines[i]
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def nest(rng: random.Random, data: bytes) -> bytes:
    """Deep nesting at a bracket: the recursion that used to end in RecursionError."""
    depth = rng.choice([50, 200, 1000, 5000])
    spots = [m.start() for m in re.finditer(rb"[(\[{<]", data)] or [0]
    at = rng.choice(spots)
    opener = data[at : at + 1] or b"("
    closer = {b"(": b")", b"[": b"]", b"{": b"}", b"<": b">"}[opener]
    return data[:at] + opener * depth + closer * depth + data[at:]


def mutate_text(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    strategy = rng.randrange(10)
    if strategy < 3:
        return mutate_numbers(rng, data)
    if strategy < 5:
        return mutate_lines(rng, data)
    if strategy == 5:
        return nest(rng, data)
    return mutate_bytes(rng, data, corpus)


def npy_bytes(rng: random.Random, corpus: list[bytes]) -> bytes:
    """A ``.npy`` file: a saved array of a random (often exotic) dtype and shape, a hand-made header
    whose shape and data disagree, or a mutated seed."""
    import numpy as np

    choice = rng.randrange(4)
    if choice == 0:
        dtype = rng.choice(
            ["i1", "u1", "i8", "f2", "f4", "f8", "g", "c8", "?", "M8[s]", "m8[ns]", "U3", "S2", "V4", "O", "(2,)i2"]
            + ["i1,f4", ">i4", "<f4"]
        )
        shape = tuple(rng.choice([0, 1, 2, 3, 4, 8]) for _ in range(rng.randrange(4)))
        buffer = io.BytesIO()
        array = np.zeros(shape, dtype=dtype) if dtype != "O" else np.array([{"a": 1}], dtype=object)
        np.save(buffer, array, allow_pickle=True)
        return buffer.getvalue()
    if choice == 1:
        descr = rng.choice(["<f4", "|i1", "<i8", "|O", "<c16", "|V8", "<U4", "<M8[s]", "[('a', '<i4')]", "'bad'"])
        shape = tuple(int(rng.choice(INTERESTING[:18])) for _ in range(rng.randrange(4)))
        fortran = rng.choice(["False", "True", "1", "'x'"])
        text = f"{{'descr': {descr if descr.startswith(('[', chr(39))) else repr(descr)}, "
        text += f"'fortran_order': {fortran}, 'shape': {shape}, }}"
        text += " " * (-(len(text) + 11) % 64) + "\n"
        body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 4, 16, 64])))
        version = rng.choice([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x09\x09"])
        size = struct.pack("<H", len(text)) if version == b"\x01\x00" else struct.pack("<I", len(text))
        return b"\x93NUMPY" + version + size + text.encode() + body
    if choice == 2:
        return mutate_bytes(rng, rng.choice(corpus), corpus)
    return rng.choice([b"", b"0.1, 0.2, 0.3, 0.4\n", b"\x93NUMPY", b"PK\x03\x04", bytes(200)])


def npz_bytes(rng: random.Random, arrays: dict[str, object]) -> bytes:
    """An ``.npz``: the real parameters with one replaced, renamed, duplicated, dropped, compressed
    into a bomb or given a hostile ``.npy``; or the archive's bytes mutated."""
    import warnings

    import numpy as np

    entries: list[tuple[str, bytes]] = []
    for name, value in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, value)
        entries.append((f"{name}.npy", buffer.getvalue()))
    choice = rng.randrange(6)
    index = rng.randrange(len(entries))
    if choice == 0:
        entries[index] = (entries[index][0], npy_bytes(rng, [e[1] for e in entries]))
    elif choice == 1:
        entries.append(entries[index])
    elif choice == 2:
        del entries[index]
    elif choice == 3:
        entries[index] = (rng.choice(["x.npy", "w", "../w.npy", "w.txt", "a/b.npy"]), entries[index][1])
    elif choice == 4:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|i1", "fortran_order": False, "shape": (1 << 26,)})
        entries[index] = (entries[index][0], header.getvalue() + bytes(1 << 26))  # 64 MiB of zeros in ~64 KiB
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # duplicate names, on purpose
        for name, body in entries:
            archive.writestr(name, body)
    data = buffer.getvalue()
    return mutate_bytes(rng, data, [data]) if choice == 5 else data


def image_bytes(rng: random.Random, corpus: list[bytes]) -> bytes:
    """A binary image: header fields or payload words set to interesting values with the CRC
    fixed (so the decoder's deeper checks are reached), or plain byte mutations."""
    data = bytearray(rng.choice(corpus))
    if rng.random() < 0.3:
        return mutate_bytes(rng, bytes(data), corpus)
    for _ in range(rng.randint(1, 3)):
        width = rng.choice([1, 2, 4])
        at = rng.randrange(0, len(data) - width + 1)
        value = rng.choice([0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]) & ((1 << (8 * width)) - 1)
        data[at : at + width] = value.to_bytes(width, "little")
    header = 96 if data[4] == 2 else 80
    if len(data) >= header:
        data[76:80] = struct.pack("<I", zlib.crc32(bytes(data[header:])))
    return bytes(data)


# --- readers: seeds, cases and the command each runs ----------------------------------------------------


@dataclass
class Case:
    """The files of one case (name -> bytes) and the command line, with {name} for their paths."""

    files: dict[str, bytes]
    command: Callable[[list[str]], int]
    argv: list[str]


@dataclass
class Reader:
    """A reader under test: ``make`` builds case inputs from a seeded generator; ``warm`` is the
    unmutated seed case, run once before the cap so lazy imports (TVM, torch) count against no case."""

    name: str
    make: Callable[[random.Random], Case]
    warm: Case


def _spike_run(argv: list[str]) -> int:
    from spikeir.tools.spike_run import main

    return main(argv)


def _spike_opt(argv: list[str]) -> int:
    from spikeir.tools.spike_opt import main

    return main(argv)


def _programs() -> tuple[list[bytes], list[bytes]]:
    from spikeir.chip.assembly import assemble
    from spikeir.chip.image import encode
    from support.programs import SMALL, SMALL_V2

    texts = [SMALL.encode(), SMALL_V2.encode()]
    return texts, [encode(assemble(t.decode())) for t in texts]


def _program_input(program: bytes) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    shape = (2, 3, 8) if b"stream" in program[:400] else (2, 4)
    np.save(buffer, np.arange(int(np.prod(shape)), dtype=np.int8).reshape(shape) - 3)
    return buffer.getvalue()


def _asm_reader() -> Reader:
    texts, _ = _programs()

    def make(rng: random.Random) -> Case:
        seed = rng.choice(texts)
        return Case({"p.s": mutate_text(rng, seed, texts), "x.npy": _program_input(seed)}, _spike_run, _RUN)

    return Reader("asm", make, Case({"p.s": texts[1], "x.npy": _program_input(texts[1])}, _spike_run, _RUN))


_RUN = ["{p.s}", "--input", "{x.npy}", "--json"]


def _image_reader() -> Reader:
    texts, images = _programs()

    def make(rng: random.Random) -> Case:
        index = rng.randrange(len(images))
        return Case(
            {"p.s": image_bytes(rng, images), "x.npy": _program_input(texts[index])}, _spike_run, _RUN
        )

    return Reader("image", make, Case({"p.s": images[0], "x.npy": _program_input(texts[0])}, _spike_run, _RUN))


def _npy_reader() -> Reader:
    texts, _ = _programs()
    corpus = [_program_input(t) for t in texts]

    def make(rng: random.Random) -> Case:
        batch = ["--batch-from-file"] if rng.random() < 0.3 else []
        return Case({"p.s": texts[0], "x.npy": npy_bytes(rng, corpus)}, _spike_run, _RUN + batch)

    return Reader("npy", make, Case({"p.s": texts[0], "x.npy": corpus[0]}, _spike_run, _RUN))


RELAY = b"""fn (%x: Tensor[(1, 4), float32], %w: Tensor[(3, 4), float32], %b: Tensor[(3), float32],
    %w2: Tensor[(2, 3), float32]) {
  %0 = nn.dense(%x, %w, units=3);
  %1 = nn.bias_add(%0, %b, axis=1);
  %2 = nn.relu(%1);
  %3 = nn.dense(%2, %w2, units=None);
  nn.softmax(%3, axis=1)
}
"""


def _relay_params() -> dict[str, object]:
    import numpy as np

    rng = np.random.default_rng(0)
    return {
        "w": rng.normal(size=(3, 4)).astype(np.float32),
        "b": rng.normal(size=3).astype(np.float32),
        "w2": rng.normal(size=(2, 3)).astype(np.float32),
    }


def _npz(arrays: dict[str, object]) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


_OPT_RELAY = ["{m.relay}", "--params", "{p.npz}"]


def _relay_reader() -> Reader:
    params = _npz(_relay_params())

    def make(rng: random.Random) -> Case:
        return Case({"m.relay": mutate_text(rng, RELAY, [RELAY]), "p.npz": params}, _spike_opt, _OPT_RELAY)

    return Reader("relay", make, Case({"m.relay": RELAY, "p.npz": params}, _spike_opt, _OPT_RELAY))


def _npz_reader() -> Reader:
    arrays = _relay_params()

    def make(rng: random.Random) -> Case:
        return Case({"m.relay": RELAY, "p.npz": npz_bytes(rng, arrays)}, _spike_opt, _OPT_RELAY)

    return Reader("npz", make, Case({"m.relay": RELAY, "p.npz": _npz(arrays)}, _spike_opt, _OPT_RELAY))


def _mlir_reader() -> Reader:
    """The tour's nn IR through the whole pipeline to assembly, and the placed IR to an image."""
    tiny = (ROOT / "examples" / "tiny_mlp.mlir").read_bytes()
    calibration = (ROOT / "examples" / "tiny_calibration.npy").read_bytes()
    pipeline = 'spikecore-pipeline{calibration="{c.npy}"}'
    compile_argv = ["{m.mlir}", "-p", pipeline, "-t", "spikecore-asm"]

    def make(rng: random.Random) -> Case:
        argv = compile_argv if rng.random() < 0.6 else ["{m.mlir}"]
        return Case({"m.mlir": mutate_text(rng, tiny, [tiny]), "c.npy": calibration}, _spike_opt, argv)

    return Reader("mlir", make, Case({"m.mlir": tiny, "c.npy": calibration}, _spike_opt, compile_argv))


def _onnx_seed() -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Add", ["h", "b"], ["a"]),
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [w, b],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _onnx_structured(rng: random.Random, seed: bytes) -> bytes:
    """The model with one field made hostile: a dim, a dtype, raw data, an attribute, an op type."""
    import onnx

    model = onnx.ModelProto.FromString(seed)
    graph = model.graph
    choice = rng.randrange(5)
    if choice == 0:
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[rng.randrange(len(dims))].dim_value = int(rng.choice(INTERESTING[:16]).lstrip("-"))
    elif choice == 1:
        tensor = rng.choice(graph.initializer)
        tensor.data_type = rng.choice([0, 2, 3, 7, 8, 9, 10, 11, 14, 16, 17, 99])
    elif choice == 2:
        tensor = rng.choice(graph.initializer)
        tensor.dims[rng.randrange(len(tensor.dims))] = rng.choice([0, 1, 7, 1 << 20, 1 << 40])
    elif choice == 3:
        graph.node[rng.randrange(len(graph.node))].op_type = rng.choice(["Conv", "Gemm", "Softmax", "Loop", "X"])
    else:
        tensor = rng.choice(graph.initializer)
        raw = tensor.raw_data or b""
        tensor.raw_data = raw[: rng.randrange(len(raw) + 1)] + bytes(rng.choice([0, 4, 1000]))
    return model.SerializeToString()


def _onnx_reader() -> Reader:
    seed = _onnx_seed()

    def make(rng: random.Random) -> Case:
        data = _onnx_structured(rng, seed) if rng.random() < 0.5 else mutate_bytes(rng, seed, [seed])
        return Case({"m.onnx": data}, _spike_opt, ["{m.onnx}"])

    return Reader("onnx", make, Case({"m.onnx": seed}, _spike_opt, ["{m.onnx}"]))


def _pt2_seed() -> bytes:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, 4),)), buffer)
    return buffer.getvalue()


def _pt2_entries(rng: random.Random, seed: bytes) -> bytes:
    """The archive with one entry mutated (numbers in its JSON, or its bytes), re-zipped as stored."""
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    index = rng.randrange(len(entries))
    info, body = entries[index]
    body = mutate_numbers(rng, body) if info.filename.endswith(".json") else mutate_bytes(rng, body, [body])
    entries[index] = (info, body)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for item, data in entries:
            archive.writestr(item.filename, data)
    return buffer.getvalue()


def _pt2_reader() -> Reader:
    seed = _pt2_seed()

    def make(rng: random.Random) -> Case:
        data = _pt2_entries(rng, seed) if rng.random() < 0.6 else mutate_bytes(rng, seed, [seed])
        return Case({"m.pt2": data}, _spike_opt, ["{m.pt2}"])

    return Reader("pt2", make, Case({"m.pt2": seed}, _spike_opt, ["{m.pt2}"]))


def _nir_graph(rng: random.Random | None) -> object:
    """Input -> Affine -> LIF -> Affine -> LIF -> Output; with ``rng``, one parameter made hostile."""
    import nir
    import numpy as np

    values = np.random.default_rng(0)
    params: dict[str, dict[str, object]] = {
        "fc1": {"weight": values.normal(size=(3, 4)), "bias": values.normal(size=3)},
        "lif1": {"tau": np.full(3, 5.0), "r": np.ones(3), "v_leak": np.zeros(3), "v_threshold": np.ones(3)},
        "fc2": {"weight": values.normal(size=(2, 3)), "bias": np.zeros(2)},
        "lif2": {"tau": np.full(2, 5.0), "r": np.ones(2), "v_leak": np.zeros(2), "v_threshold": np.ones(2)},
    }
    if rng is not None:
        node = rng.choice(list(params))
        key = rng.choice(list(params[node]))
        old = np.asarray(params[node][key])
        params[node][key] = rng.choice(
            [
                np.full(old.shape, rng.choice([0.0, -1.0, np.nan, np.inf, 1e30, 1e-30])),
                np.zeros(tuple(rng.choice([0, 1, 5]) for _ in range(rng.randrange(4)))),
                old.astype(np.float16),
            ]
        )
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc1": nir.Affine(**params["fc1"]),  # type: ignore[arg-type]
        "lif1": nir.LIF(**params["lif1"]),  # type: ignore[arg-type]
        "fc2": nir.Affine(**params["fc2"]),  # type: ignore[arg-type]
        "lif2": nir.LIF(**params["lif2"]),  # type: ignore[arg-type]
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    if rng is not None and rng.random() < 0.3:
        edges = rng.choice([edges[:-1], [*edges, ("lif2", "fc1")], [*edges, ("output", "input")], edges[::-1]])
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _nir_bytes(graph: object) -> bytes:
    import nir

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "g.nir"
        nir.write(path, graph)  # type: ignore[arg-type]
        return path.read_bytes()


def _nir_reader() -> Reader:
    seed = _nir_bytes(_nir_graph(None))

    argv = ["{m.nir}", "-p", "spikecore-place", "-t", "spikecore-asm"]

    def make(rng: random.Random) -> Case:
        data = mutate_bytes(rng, seed, [seed])
        if rng.random() >= 0.4:
            with contextlib.suppress(AssertionError, ValueError, TypeError):  # nir itself refuses the graph
                data = _nir_bytes(_nir_graph(rng))
        return Case({"m.nir": data}, _spike_opt, argv)

    return Reader("nir", make, Case({"m.nir": seed}, _spike_opt, argv))


MAKERS: dict[str, Callable[[], Reader]] = {
    "asm": _asm_reader,
    "image": _image_reader,
    "npy": _npy_reader,
    "npz": _npz_reader,
    "mlir": _mlir_reader,
    "relay": _relay_reader,
    "onnx": _onnx_reader,
    "pt2": _pt2_reader,
    "nir": _nir_reader,
}


# --- running one case ------------------------------------------------------------------------------------


class CaseTimeout(BaseException):
    """The per-case alarm went off (a BaseException, so no `except Exception` in the code under test stops it)."""


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout


def case_rng(reader: str, seed: int, index: int) -> random.Random:
    return random.Random(f"{reader}:{seed}:{index}")


def write_case(case: Case, folder: Path) -> list[str]:
    """Write the case's files into ``folder``; its command line with their paths in place of ``{name}``."""
    argv = list(case.argv)
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
        argv = [arg.replace("{" + name + "}", str(folder / name)) for arg in argv]
    return argv


def run_case(reader: Reader, seed: int, index: int, timeout: float, folder: Path) -> dict[str, object]:
    """Make case ``index`` and run it: ``{"outcome": ok | user-error | finding kind, ...}``."""
    try:
        case = reader.make(case_rng(reader.name, seed, index))
    except Exception as error:  # noqa: BLE001 - a bug of this script, not of spikeir: reported, the worker lives
        return {"index": index, "outcome": "bad-case", "status": "", "seconds": 0.0, "error": repr(error)[:300]}
    argv = write_case(case, folder)
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_PROF, timeout)  # CPU seconds: a loaded machine is no hang
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status: object = case.command(argv)
            except SystemExit as exit_:
                status = exit_.code
            except Exception as error:  # noqa: BLE001 - escaped the CLI's own guard: a finding
                print(f"Traceback: {type(error).__name__}: {error}", file=sys.stderr)
                status = "raised"
    except CaseTimeout:
        status = "timeout"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    seconds = time.perf_counter() - start
    text = err.getvalue()
    first = text.strip().splitlines()[0][:300] if text.strip() else ""
    if status == "timeout":
        outcome = "hang"
    elif "MemoryError" in text:
        outcome = "blow-up"
    elif "internal error" in text or "Traceback" in text or status not in (0, 1, 2):
        outcome = "traceback"
    else:
        outcome = "ok" if status == 0 else "user-error"
    return {"index": index, "outcome": outcome, "status": str(status), "seconds": round(seconds, 3), "error": first}


def worker(readers: list[str], seed: int, timeout: float, memory_mb: int) -> None:
    """Read case indices ("reader index" lines) on stdin, answer one JSON line each on the saved
    stdout; everything the commands print goes to a StringIO (or, from C, to /dev/null)."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    signal.signal(signal.SIGPROF, _alarm)
    os.environ.pop("SPIKEIR_TRACEBACK", None)
    built = {name: MAKERS[name]() for name in readers}  # imports and seeds, before the cap
    with tempfile.TemporaryDirectory() as folder:
        for reader in built.values():
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                status = reader.warm.command(write_case(reader.warm, Path(folder)))
            if status != 0:
                answers.write(json.dumps({"ready": False, "error": f"the seed case of {reader.name} fails"}) + "\n")
                return
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    limit = size + memory_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    answers.write(json.dumps({"ready": True, "address_space_mb": limit >> 20}) + "\n")
    with tempfile.TemporaryDirectory() as folder:
        for line in sys.stdin:
            name, index = line.split()
            answer = run_case(built[name], seed, int(index), timeout, Path(folder))
            answers.write(json.dumps(answer) + "\n")


# --- the campaign ------------------------------------------------------------------------------------


class Worker:
    """A worker process, restarted after it dies or hangs."""

    def __init__(self, readers: list[str], args: argparse.Namespace) -> None:
        self.readers, self.args = readers, args
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        command = [sys.executable, __file__, "--worker", "--readers", ",".join(self.readers)]
        command += ["--seed", str(self.args.seed), "--timeout", str(self.args.timeout)]
        command += ["--memory-mb", str(self.args.memory_mb)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = self._answer(600)
        if ready is None or not ready.get("ready"):
            raise SystemExit(f"fuzz: the worker did not start: {(ready or {}).get('error', 'no answer')}")

    def _answer(self, wait: float) -> dict[str, object] | None:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], wait)
        line = self.process.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def run(self, reader: str, index: int) -> dict[str, object]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{reader} {index}\n")
        self.process.stdin.flush()
        answer = self._answer(6 * self.args.timeout + 30)  # wall time: a case blocked without using CPU
        if answer is not None:
            return answer
        hung = self.process.poll() is None
        self.stop()
        kind = "hang" if hung else "blow-up"
        return {"index": index, "outcome": kind, "status": "killed" if hung else "died", "seconds": None, "error": ""}

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def campaign(args: argparse.Namespace) -> dict[str, object]:
    readers = [r for r in args.readers.split(",") if r]
    unknown = sorted(set(readers) - set(MAKERS))
    if unknown:
        raise SystemExit(f"fuzz: unknown reader(s) {', '.join(unknown)}; known: {', '.join(MAKERS)}")
    summary: dict[str, object] = {"seed": args.seed, "timeout_s": args.timeout, "memory_mb": args.memory_mb}
    pool = Worker(readers, args)
    try:
        for reader in readers:
            start = time.perf_counter()
            counts: dict[str, int] = {}
            errors: dict[str, int] = {}
            findings: list[dict[str, object]] = []
            slowest = 0.0
            for index in range(args.cases):
                answer = pool.run(reader, index)
                outcome = str(answer["outcome"])
                counts[outcome] = counts.get(outcome, 0) + 1
                message = re.sub(r"^.*?: error: ", "", str(answer["error"]))[:80]
                errors[message] = errors.get(message, 0) + 1
                slowest = max(slowest, float(answer["seconds"] or 0.0))  # type: ignore[arg-type]
                if outcome not in ("ok", "user-error"):
                    findings.append(answer)
            summary[reader] = {
                "cases": args.cases,
                "outcomes": counts,
                "findings": findings,
                "slowest_case_s": round(slowest, 3),
                "commonest_errors": dict(sorted(errors.items(), key=lambda item: -item[1])[:6]),
                "wall_s": round(time.perf_counter() - start, 1),
            }
            print(json.dumps({reader: summary[reader]}), file=sys.stderr, flush=True)  # progress, if stopped later
    finally:
        pool.stop()
    return summary


def replay(args: argparse.Namespace) -> None:
    """One case in this process, with the traceback a finding had."""
    os.environ["SPIKEIR_TRACEBACK"] = "1"
    for name in args.readers.split(","):
        case = MAKERS[name]().make(case_rng(name, args.seed, args.replay))
        with tempfile.TemporaryDirectory() as folder:
            argv = write_case(case, Path(folder))
            print(f"{name} case {args.replay}: {' '.join(argv)}", file=sys.stderr)
            status = case.command(argv)
            print(f"exit status {status}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--readers", default=",".join(READERS), help=f"comma-separated, of {', '.join(READERS)}")
    parser.add_argument("--cases", type=int, default=300, help="cases per reader (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address space per worker beyond its imports")
    parser.add_argument("--replay", type=int, metavar="I", help="run case I of each reader here, traceback shown")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.readers.split(","), args.seed, args.timeout, args.memory_mb)
        return 0
    if args.replay is not None:
        replay(args)
        return 0
    summary = campaign(args)
    print(json.dumps(summary, indent=1))
    found = any(isinstance(v, dict) and v.get("findings") for v in summary.values())
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
