"""Compile time of `spikeir.compile` per stage, on a ladder of MLPs, and its growth with the weights.

Each case is a ReLU MLP with random weights (``torch.manual_seed(0)``) compiled in graded mode with
256 MNIST-like calibration inputs. Stages are the entries of `CompiledModel.compile_seconds`:
``import`` (torch.export and the nn frontend), the pipeline's stages, ``verify`` (the checks after
every stage, summed) and ``emit`` (IR -> ISA program). Each case is compiled ``repeats`` times in a
warm process (one compile of the smallest case first pays torch's lazy imports); every stage
reports its best time. The growth exponent is the least-squares slope of log(time) against
log(weights): 1 is linear. It is fitted over all cases and over the largest half of the ladder,
where fixed per-compile costs (torch.export tracing, verification) no longer hide the growth.

The lab's LeNet CNN (untrained, seed-0 weights) is compiled the same way, best of at least
``LENET_REPEATS`` (``lenet`` in the results): the issue's "LeNet compile < 0.5 s after imports".

Peak memory is measured in a fresh subprocess (`memory_profile`): the resident set before and after
compiling the largest case, with the cold-start costs (``import spikeir, torch`` and the first
compile, which loads torch.export's machinery) measured on the way.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any

import numpy as np

LADDER: tuple[tuple[int, ...], ...] = (
    (784, 64, 10),
    (784, 256, 256, 10),
    (784, 512, 512, 512, 10),
    (784, 1024, 1024, 10),
    (784, 1024, 1024, 1024, 1024, 10),
    (784, 768, 768, 768, 768, 768, 768, 768, 10),
)
"""From the seed's 784-64-10 (51k weights) to about 4M weights and 8 layers."""
QUICK_LADDER = LADDER[:4]

STAGES: dict[str, str] = {
    "import": "import",
    "nn-fold-reshapes": "fold",
    "nn-fold-batch-norm": "fold-bn",
    "nn-fold-pool": "fold-pool",
    "nn-fuse-dense": "fuse",
    "nn-fuse-conv2d": "fuse-conv",
    "partition-for-spikecore": "partition",
    "spikecore-quantize": "quantize",
    "lower-quant-to-spikecore": "lower",
    "spikecore-place": "place",
    "verify": "verify",
    "emit": "emit",
}
"""compile_seconds key -> column name, in pipeline order (graded mode: no convert-to-snn)."""
CALIBRATION = 256


def weight_count(widths: tuple[int, ...]) -> int:
    return sum(a * b for a, b in zip(widths, widths[1:]))


def make_case(widths: tuple[int, ...]) -> tuple[object, np.ndarray, np.ndarray]:
    """(torch model, example input, calibration inputs); 784 inputs come as 1x28x28 images like the seed's."""
    import torch

    torch.manual_seed(0)
    layers: list[torch.nn.Module] = [torch.nn.Flatten()]
    for index, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if index < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).eval()
    shape = (1, 28, 28) if widths[0] == 784 else (widths[0],)
    rng = np.random.default_rng(0)
    pixels = rng.random((CALIBRATION, *shape), dtype=np.float32)
    calibration = np.where(rng.random(pixels.shape) < 0.2, pixels, 0).astype(np.float32)
    return model, calibration[:1], calibration


def compile_case(widths: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """Best time of every stage over ``repeats`` compiles, and the best total."""
    import spikeir

    model, example, calibration = make_case(widths)
    runs: list[dict[str, float]] = []
    for _ in range(repeats):
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # partition's "stays on the host" remarks
            compiled = spikeir.compile(model, example_input=example, calibration=calibration)
        total = time.perf_counter() - start
        runs.append({**compiled.compile_seconds, "total": total})
    stages = {key: min(run[key] for run in runs) for key in runs[0]}
    return {
        "widths": list(widths),
        "layers": len(widths) - 1,
        "weights": weight_count(widths),
        "instructions": len(compiled.program),
        "repeats": repeats,
        "seconds": stages,
    }


LENET_REPEATS = 5
"""LeNet compiles per measurement (it is small: best of several is the compile, not the load)."""


def compile_lenet(repeats: int = LENET_REPEATS) -> dict[str, Any]:
    """The lab's LeNet (untrained, seed 0) compiled in graded mode with ``CALIBRATION`` MNIST-like
    1x28x28 inputs, ``repeats`` times in this (warm) process: best total and best time per stage."""
    import spikeir
    from spikeir.lab.training import fresh_model

    model = fresh_model("cnn", (64,), 0).eval()
    _, example, calibration = make_case((784, 10))  # its 1x28x28 MNIST-like inputs
    runs: list[dict[str, float]] = []
    for _ in range(repeats):
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            compiled = spikeir.compile(model, example_input=example, calibration=calibration)
        total = time.perf_counter() - start
        runs.append({**compiled.compile_seconds, "total": total})
    return {
        "model": "LeNet 1x28x28 (conv 6 5x5 pad 2, avg pool 2, conv 16 5x5, avg pool 2, 400-64-10)",
        "instructions": len(compiled.program),
        "repeats": repeats,
        "seconds": {key: min(run[key] for run in runs) for key in runs[0]},
        "totals": [run["total"] for run in runs],
    }


def fit_exponent(weights: list[int], seconds: list[float]) -> float:
    """Slope of the least-squares line through (log weights, log seconds)."""
    slope, _ = np.polyfit(np.log(weights), np.log(seconds), 1)
    return float(slope)


def exponents(cases: list[dict[str, Any]]) -> dict[str, float]:
    """Growth exponent of the total and of every stage over ``cases``."""
    weights = [c["weights"] for c in cases]
    return {key: fit_exponent(weights, [c["seconds"][key] for c in cases]) for key in cases[0]["seconds"]}


def measure(ladder: tuple[tuple[int, ...], ...] = LADDER, repeats: int = 3) -> dict[str, Any]:
    """Compile every case of ``ladder``, print the table, return cases and exponents."""
    columns = [*STAGES.values(), "total"]
    header = f"{'widths':34} {'weights':>9} " + " ".join(f"{c:>9}" for c in columns)
    print("compile time, seconds (best of %d; graded mode, %d calibration inputs)" % (repeats, CALIBRATION))
    print(header)
    print("-" * len(header))
    cases: list[dict[str, Any]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.export's deprecation notices
        compile_case(ladder[0], 1)  # torch.export's first call imports torch._dynamo: not a compile cost
        for widths in ladder:
            case = compile_case(widths, repeats)
            cases.append(case)
            seconds: dict[str, float] = case["seconds"]
            print(
                f"{'-'.join(map(str, widths)):34} {case['weights']:>9} "
                + " ".join(f"{seconds.get(key, 0.0):>9.4f}" for key in [*STAGES, "total"])
            )
    lenet = compile_lenet(max(repeats, LENET_REPEATS))
    seconds = lenet["seconds"]
    print(
        f"{'LeNet (CNN), best of ' + str(lenet['repeats']):34} {'':>9} "
        + " ".join(f"{seconds.get(key, 0.0):>9.4f}" for key in [*STAGES, "total"])
    )
    upper_half = cases[len(cases) // 2 :]
    fitted = exponents(cases) if len(cases) > 1 else {}
    fitted_upper = exponents(upper_half) if len(upper_half) > 1 else {}
    for label, fit in (("growth exponent, all cases", fitted), ("growth exponent, largest half", fitted_upper)):
        if fit:
            print(f"{label:44} " + " ".join(f"{fit[key]:>9.2f}" for key in [*STAGES, "total"]))
    print(f"goal (LeNet compile after imports, best of {lenet['repeats']}): {seconds['total']:.3f} s (target < 0.5 s)")
    return {
        "calibration_inputs": CALIBRATION,
        "cases": cases,
        "lenet": lenet,
        "exponents": fitted,
        "exponents_upper": fitted_upper,
    }


_MEMORY_CHILD = """
import contextlib, io, json, resource, sys, time, tracemalloc, warnings
warnings.simplefilter("ignore")
contextlib.redirect_stderr(io.StringIO()).__enter__()
start = time.perf_counter()
import torch, spikeir
imported = time.perf_counter() - start
start = time.perf_counter()
import torch.export, torch._dynamo
dynamo = time.perf_counter() - start
from spikeir.benchmarks.compile_time import make_case
seed = make_case((784, 64, 10))
times = []
for _ in range(2):
    start = time.perf_counter()
    spikeir.compile(seed[0], example_input=seed[1], calibration=seed[2])
    times.append(time.perf_counter() - start)
model, example, calibration = make_case(tuple(json.loads(sys.argv[1])))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
spikeir.compile(model, example_input=example, calibration=calibration)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
spikeir.compile(model, example_input=example, calibration=calibration)
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"import_s": imported, "torch_dynamo_import_s": dynamo, "first_seed_compile_s": times[0], "second_seed_compile_s": times[1],
                  "compile_s": seconds, "maxrss_before_mib": before / 1024, "maxrss_after_mib": after / 1024,
                  "traced_peak_mib": traced / 2**20}))
"""


def memory_profile(widths: tuple[int, ...]) -> dict[str, Any]:
    """Cold start and peak memory of compiling ``widths``, in a fresh interpreter.

    Two views of the peak: the process's maximum resident set before and after the compile (the
    model, its calibration data and torch.export's machinery already exist before, so a compile
    that stays below the earlier peak adds nothing), and the peak of the Python and numpy heap
    during a second compile (tracemalloc; torch's own allocations are not traced). Runs outside
    the source tree so the installed package is imported.
    """
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, json.dumps(list(widths))],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"memory benchmark failed: {done.stderr.strip().splitlines()[-1:]}")
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    facts["widths"] = list(widths)
    facts["weights"] = weight_count(widths)
    print(
        f"cold start: import torch + spikeir {facts['import_s']:.2f} s, then import torch._dynamo (torch.export "
        f"needs it) {facts['torch_dynamo_import_s']:.2f} s, first compile of 784-64-10 {facts['first_seed_compile_s']:.2f} s, "
        f"second {facts['second_seed_compile_s']:.3f} s"
    )
    print(
        f"peak memory compiling {'-'.join(map(str, widths))} ({facts['weights']:,} weights, {facts['compile_s']:.2f} s): "
        f"max RSS {facts['maxrss_before_mib']:.0f} MiB before -> {facts['maxrss_after_mib']:.0f} MiB after; "
        f"Python/numpy heap peak during the compile {facts['traced_peak_mib']:.0f} MiB"
    )
    return facts


if __name__ == "__main__":
    measure()
