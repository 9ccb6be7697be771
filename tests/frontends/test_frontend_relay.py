"""Legacy Relay text -> nn: the seed's printout, TVM's `def @main` form, params conventions, errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeir.errors import FrontendError
from spikeir.frontends import FRONTENDS, FrontendOptions
from spikeir.frontends.relay_text import import_relay, load_params, meta_constant_key
from spikeir.ir.interpreter import run_function
from support.frontend_helpers import SEED_RELAY, normalise, seed_model, seed_params

RNG = np.random.default_rng(0)
W1 = RNG.standard_normal((5, 12)).astype(np.float32)
B1 = RNG.standard_normal(5).astype(np.float32)
W2 = RNG.standard_normal((3, 5)).astype(np.float32)

DEF_MAIN = """#[version = "0.0.5"]
def @main(%data: Tensor[(1, 3, 4), float32], %fc1.weight: Tensor[(5, 12), float32]) -> Tensor[(1, 3), float32] {
  %0 = reshape(%data, newshape=[0, -1]) /* ty=Tensor[(1, 12), float32] */;
  %1 = nn.dense(%0, %fc1.weight, units=5) /* ty=Tensor[(1, 5), float32] */;
  let %2: Tensor[(1, 5), float32] = add(%1, %fc1_bias);   // a free variable, bound from params
  %3 = nn.relu(%2);
  %4 = nn.dense(%3, transpose(meta[relay.Constant][0], axes=[1, 0]), units=None);
  nn.softmax(%4, axis=1)
}
"""
DEF_PARAMS = {"fc1.weight": W1, "fc1_bias": B1, meta_constant_key(0): np.ascontiguousarray(W2.T)}


def _at(text: str, line: int, token: str) -> str:
    """``m.relay:line:col`` of the first ``token`` on 1-based ``line`` of ``text``."""
    return f"m.relay:{line}:{text.splitlines()[line - 1].index(token) + 1}"


def _reference(x: np.ndarray) -> np.ndarray:
    h = np.maximum(x.reshape(len(x), -1) @ W1.T + B1, 0) @ W2.T
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_seed_relay_is_the_torch_model() -> None:
    model = seed_model()
    module = import_relay(SEED_RELAY, seed_params(model))
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    (got,) = run_function(module, "main", x.numpy())
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_def_main_with_header_free_vars_let_and_comments() -> None:
    module = import_relay(DEF_MAIN, DEF_PARAMS)
    text = str(module)
    assert "func.func @main(%data: tensor<1x3x4xf32>) -> tensor<1x3xf32>" in text
    assert 'layer "fc1"' in text
    assert "nn.batch_flatten" in text and "axis(-1)" in text
    x = RNG.standard_normal((6, 3, 4)).astype(np.float32)
    (got,) = run_function(module, "main", x)
    np.testing.assert_allclose(got, _reference(x), rtol=1e-5, atol=1e-6)


def test_params_file_through_the_registry(tmp_path: Path) -> None:
    params = tmp_path / "params.npz"
    np.savez(params, **DEF_PARAMS)
    module = FRONTENDS["relay"](io.BytesIO(DEF_MAIN.encode()), FrontendOptions("m.relay", params))
    assert normalise(module) == normalise(import_relay(DEF_MAIN, load_params(params)))


def test_load_params_refuses_pickles(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FrontendError, match="cannot read the Relay params file"):
        load_params(path)


@pytest.mark.parametrize(
    ("text", "params", "location", "message"),
    [
        (
            DEF_MAIN.replace("units=5)", "units=5"),
            DEF_PARAMS,
            _at(DEF_MAIN.replace("units=5)", "units=5"), 4, ";"),
            "unexpected ';', expected",
        ),
        (
            DEF_MAIN.replace("nn.relu", "nn.sigmoid"),
            DEF_PARAMS,
            _at(DEF_MAIN, 6, "nn.relu"),
            "Relay op 'nn.sigmoid' is not supported",
        ),
        (
            DEF_MAIN.replace("nn.softmax", "nn.log_softmax"),
            DEF_PARAMS,
            _at(DEF_MAIN, 8, "nn.softmax"),
            "nn has no log_softmax",
        ),
        (
            DEF_MAIN,
            {k: v for k, v in DEF_PARAMS.items() if k != "fc1_bias"},
            _at(DEF_MAIN, 5, "%fc1_bias"),
            "variable %fc1_bias is not defined and the params file has no 'fc1_bias'",
        ),
        (
            DEF_MAIN,
            {k: v for k, v in DEF_PARAMS.items() if k != "fc1.weight"},
            _at(DEF_MAIN, 4, "nn.dense"),
            "nn.dense: the weight %fc1.weight has no value: the params file has no 'fc1.weight'",
        ),
        (
            DEF_MAIN,
            {k: v for k, v in DEF_PARAMS.items() if k != meta_constant_key(0)},
            _at(DEF_MAIN, 7, "meta"),
            "meta[relay.Constant][0] has no value: the params file has no 'meta_relay_constant_0'",
        ),
        (
            DEF_MAIN,
            {},
            _at(DEF_MAIN, 4, "nn.dense"),
            "nn.dense: the weight %fc1.weight has no value: no params were given (spike-opt --params FILE.npz",
        ),
        (
            DEF_MAIN,
            {**DEF_PARAMS, "fc1.weight": W2},
            _at(DEF_MAIN, 2, "%fc1.weight"),
            "parameter %fc1.weight is declared [5, 12]",
        ),
        (
            DEF_MAIN,
            {**DEF_PARAMS, meta_constant_key(0): W2},
            _at(DEF_MAIN, 7, "nn.dense") + ": nn.dense",
            "the input has 5 features but the weight [5, 3] expects 3",
        ),
        (
            DEF_MAIN.replace("[0, -1]", "[0, 5]"),
            DEF_PARAMS,
            _at(DEF_MAIN, 3, "reshape"),
            "reshape: cannot reshape 12 elements to [1, 5]",
        ),
        (DEF_MAIN[:-3], DEF_PARAMS, "m.relay:8:24", "unexpected end of input"),
    ],
)
def test_errors_are_located(text: str, params: dict[str, np.ndarray], location: str, message: str) -> None:
    with pytest.raises(FrontendError) as info:
        import_relay(text, params, "m.relay")
    assert info.value.location == location
    assert message in info.value.message


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=4), st.booleans(), st.integers(0, 2**31 - 1))
def test_generated_mlps_compute_what_they_say(widths: list[int], bias: bool, seed: int) -> None:
    """Any chain of dense(+bias)+relu written as Relay text evaluates like numpy."""
    rng = np.random.default_rng(seed)
    lines, params, value = [], {}, "%x"
    weights = [rng.standard_normal((o, i)).astype(np.float32) for i, o in zip(widths[:-1], widths[1:])]
    biases = [rng.standard_normal(w.shape[0]).astype(np.float32) for w in weights]
    for n, (w, b) in enumerate(zip(weights, biases)):
        params[f"w{n}"], params[f"b{n}"] = w, b
        lines.append(f"%d{n} = nn.dense({value}, %w{n});")
        value = f"%d{n}"
        if bias:
            lines.append(f"%a{n} = nn.bias_add({value}, %b{n});")
            value = f"%a{n}"
        lines.append(f"%r{n} = nn.relu({value});")
        value = f"%r{n}"
    text = f"fn (%x: Tensor[(1, {widths[0]}), float32]) {{\n" + "\n".join(lines) + f"\n{value}\n}}"
    x = rng.standard_normal((3, widths[0])).astype(np.float32)
    (got,) = run_function(import_relay(text, params), "main", x)
    expected = x
    for w, b in zip(weights, biases):
        expected = np.maximum(expected @ w.T + (b if bias else 0), 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
