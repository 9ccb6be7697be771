"""Measure what int8 quantization costs on the lab's MNIST MLP (numbers quoted in docs/quantization.md).

Run: `.venv/bin/python benchmarks/quantization.py` from outside the source tree's import path, e.g.
`cd /tmp && /work/main/.venv/bin/python /work/main/benchmarks/quantization.py`. Trains (or loads from the
cache) the default 784-64-10 MLP, builds its partitioned nn IR by hand, quantizes it with each
scheme on 500 training digits, and evaluates the integer path on the 1,000 test digits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from spikeir.ir.interpreter import run_function  # noqa: E402
from spikeir.lab.data import load_mnist  # noqa: E402
from spikeir.lab.training import train_or_load  # noqa: E402
from spikeir.numerics.quantization import manual_quantize_weights  # noqa: E402
from spikeir.passes.quantize import quantize_module  # noqa: E402
from support.nn_models import partitioned_mlp  # noqa: E402  # pyright: ignore[reportMissingImports]


def main() -> None:
    data = load_mnist()
    model, info = train_or_load()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    layers = [
        (state["layers.0.weight"], state["layers.0.bias"], "relu"),
        (state["layers.2.weight"], state["layers.2.bias"], "none"),
    ]
    for name in ("layers.0.weight", "layers.2.weight"):
        w = state[name]
        for per_channel in (False, True):
            q, s, _ = manual_quantize_weights(w, per_channel=per_channel)
            scale = np.asarray(s).reshape(-1, 1) if per_channel else s
            err = np.abs(q * scale - w)
            print(
                f"{name} per_channel={per_channel}: mean |w - q*s| = {err.mean():.3g} "
                f"(mean |w| = {np.abs(w).mean():.3g}), max = {err.max():.3g}"
            )
    shape = (1, 1, 28, 28)
    (ref,) = run_function(partitioned_mlp(layers, input_shape=shape), "main", data.x_test)
    print(f"float: test accuracy {np.mean(ref.argmax(1) == data.y_test):.4f} (cached={info.cached})")
    for per_channel in (False, True):
        for method, pct in (("max", 100.0), ("percentile", 99.99), ("percentile", 99.9)):
            module = partitioned_mlp(layers, input_shape=shape)
            records = quantize_module(
                module, data.x_train[:500], per_channel=per_channel, method=method, percentile=pct
            )
            (got,) = run_function(module, "main", data.x_test)
            print(
                f"per_channel={per_channel!s:5} {method:10} p={pct:6}: acc {np.mean(got.argmax(1) == data.y_test):.4f}, "
                f"top-1 agreement {np.mean(got.argmax(1) == ref.argmax(1)):.4f}, "
                f"max |logit error| {np.abs(got - ref).max():.4f} (max |logit| {np.abs(ref).max():.2f}), "
                f"hidden scale {records[0].output_scale:.4g}, shift {records[0].shift}"
            )


if __name__ == "__main__":
    main()
