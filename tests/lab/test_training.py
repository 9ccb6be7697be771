"""Training: the seed's network shape, determinism, accuracy on real digits, and the model cache."""

from __future__ import annotations

import dataclasses
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeir.lab.data import MNISTSplit, load_mnist, normalize
from spikeir.lab.training import (
    MLP,
    MNISTNet,
    cache_key,
    default_cache_dir,
    evaluate,
    train,
    train_or_load,
)


@pytest.fixture(scope="module")
def mnist() -> MNISTSplit:
    return load_mnist()


@pytest.fixture(scope="module")
def small(mnist: MNISTSplit) -> MNISTSplit:
    """500 training digits: enough to learn something, fast enough to train in every test."""
    return dataclasses.replace(mnist, x_train=mnist.x_train[:500], y_train=mnist.y_train[:500], source="small")


def test_mnistnet_matches_seed_layout() -> None:
    model = MNISTNet()
    shapes = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    assert shapes == {
        "layers.0.weight": (64, 784),
        "layers.0.bias": (64,),
        "layers.2.weight": (10, 64),
        "layers.2.bias": (10,),
    }
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert model(torch.zeros(3, 784)).shape == (3, 10)


def test_mlp_widths_configurable() -> None:
    model = MLP(hidden=(32, 16), num_classes=5)
    linears = [m for m in model.layers if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 32), (32, 16), (16, 5)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in model.layers) == 2
    assert MLP(hidden=()).layers[0].out_features == 10  # a plain linear classifier
    with pytest.raises(ValueError, match="positive integers"):
        MLP(hidden=(0,))


def test_train_is_deterministic_and_leaves_global_rng(small: MNISTSplit) -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    states, losses = [], []
    for _ in range(2):
        torch.manual_seed(7)
        model = MLP((16,))
        losses.append(train(model, small.x_train, small.y_train, epochs=2, seed=5, progress=False))
        states.append(model.state_dict())
    assert losses[0] == losses[1] and len(losses[0]) == 2
    for name in states[0]:
        assert torch.equal(states[0][name], states[1][name])
    torch.manual_seed(123)
    assert torch.equal(torch.get_rng_state(), before)
    assert not torch.are_deterministic_algorithms_enabled()


def test_train_seed_changes_result(small: MNISTSplit) -> None:
    results = []
    for seed in (0, 1):
        torch.manual_seed(0)
        model = MLP((16,))
        train(model, small.x_train, small.y_train, epochs=1, seed=seed, progress=False)
        results.append(model.state_dict()["layers.0.weight"].clone())
    assert not torch.equal(results[0], results[1])


def test_train_rejects_mismatched_data(small: MNISTSplit) -> None:
    with pytest.raises(ValueError, match="500 inputs but 499 labels"):
        train(MLP(), small.x_train, small.y_train[:-1], epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train(MLP(), small.x_train, small.y_train, batch_size=0, progress=False)


@pytest.mark.slow
def test_default_training_accuracy(mnist: MNISTSplit, tmp_path: Path) -> None:
    model, info = train_or_load(data=mnist, cache_dir=tmp_path)
    assert not info.cached and info.cache_problem is None
    # Measured: 92.3% on the 1,000 held-out digits; the bound leaves room for other torch builds.
    assert info.test_accuracy >= 0.90
    assert len(info.losses) == info.epochs and info.losses[-1] < info.losses[0] / 3
    assert evaluate(model, mnist.x_test, mnist.y_test) == info.test_accuracy
    assert not model.training


def test_cache_hit_returns_same_weights(small: MNISTSplit, tmp_path: Path) -> None:
    first, info1 = train_or_load((16,), small, epochs=2, cache_dir=tmp_path)
    assert info1.path.is_file() and info1.path.parent == tmp_path
    assert not list(tmp_path.glob("*.tmp"))
    second, info2 = train_or_load((16,), small, epochs=2, cache_dir=tmp_path)
    assert info2.cached and info2.key == info1.key and info2.losses == info1.losses
    assert info2.train_seconds == info1.train_seconds
    assert info2.test_accuracy == info1.test_accuracy
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name])


def test_cache_key_depends_on_everything(small: MNISTSplit) -> None:
    base = dict(hidden=(16,), data=small, epochs=2, batch_size=64, lr=1e-3, seed=0, normalized=False)
    key = cache_key(**base)  # type: ignore[arg-type]
    changes: list[dict[str, object]] = [
        {"hidden": (17,)},
        {"hidden": (16, 16)},
        {"epochs": 3},
        {"batch_size": 32},
        {"lr": 2e-3},
        {"seed": 1},
        {"normalized": True},
        {"data": dataclasses.replace(small, source="other")},
        {"data": dataclasses.replace(small, y_train=np.roll(small.y_train, 1))},
    ]
    for change in changes:
        assert cache_key(**{**base, **change}) != key, change  # type: ignore[arg-type]
    assert cache_key(**base) == key  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage, not a torch file", pickle.dumps({"key": "x"}, protocol=2), "wrong-shapes", "other-key"],
)
def test_corrupt_cache_is_retrained(small: MNISTSplit, tmp_path: Path, content: bytes | str) -> None:
    _, info = train_or_load((16,), small, epochs=1, cache_dir=tmp_path)
    if isinstance(content, str):
        key, hidden = (info.key, (8,)) if content == "wrong-shapes" else ("0" * 64, (16,))
        state = MLP(hidden).state_dict()
        torch.save({"key": key, "state_dict": state, "losses": [], "train_seconds": 0.0}, info.path)
    else:
        info.path.write_bytes(content)
    with pytest.warns(UserWarning, match="unusable cache file"):
        model, again = train_or_load((16,), small, epochs=1, cache_dir=tmp_path)
    assert not again.cached and again.cache_problem is not None and str(info.path) in again.cache_problem
    assert again.test_accuracy == info.test_accuracy
    # The retrained model replaced the bad file.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, third = train_or_load((16,), small, epochs=1, cache_dir=tmp_path)
    assert third.cached


class Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned",))


def test_cache_load_is_weights_only(small: MNISTSplit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, info = train_or_load((16,), small, epochs=1, cache_dir=tmp_path)
    torch.save({"key": info.key, "state_dict": Exploit()}, info.path)
    with pytest.warns(UserWarning, match="unusable cache file"):
        train_or_load((16,), small, epochs=1, cache_dir=tmp_path)
    assert not (tmp_path / "pwned").exists()


def test_unwritable_cache_still_returns_model(small: MNISTSplit, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    with pytest.warns(UserWarning, match="cannot write the cache"):
        model, info = train_or_load((16,), small, epochs=1, cache_dir=blocker / "cache")
    assert not info.cached and info.test_accuracy > 0.2 and isinstance(model, MLP)


def test_normalized_training(small: MNISTSplit, tmp_path: Path) -> None:
    model, info = train_or_load((16,), small, epochs=2, cache_dir=tmp_path, normalized=True)
    assert info.normalized
    assert evaluate(model, normalize(small.x_test), small.y_test) == info.test_accuracy


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPIKEIR_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("SPIKEIR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "spikeir"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "spikeir"


def test_progress_bar_silent_without_terminal(small: MNISTSplit, capsys: pytest.CaptureFixture[str]) -> None:
    train(MLP((8,)), small.x_train[:64], small.y_train[:64], epochs=1, progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_thread_count_restored(small: MNISTSplit) -> None:
    before = torch.get_num_threads()
    model = MLP((8,))
    train(model, small.x_train[:64], small.y_train[:64], epochs=1, progress=False)
    evaluate(model, small.x_test, small.y_test)
    assert torch.get_num_threads() == before


def test_lenet_is_conv_relu_pool_twice_then_two_linear_layers() -> None:
    from spikeir.lab.training import LeNet, architecture, build_model, describe

    model = LeNet()
    shapes = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    assert shapes == {
        "features.0.weight": (6, 1, 5, 5),
        "features.0.bias": (6,),
        "features.3.weight": (16, 6, 5, 5),
        "features.3.bias": (16,),
        "classifier.0.weight": (64, 400),
        "classifier.0.bias": (64,),
        "classifier.2.weight": (10, 64),
        "classifier.2.bias": (10,),
    }
    kinds = [type(m).__name__ for m in model.features]
    assert kinds == ["Conv2d", "ReLU", "AvgPool2d", "Conv2d", "ReLU", "AvgPool2d"]
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert describe("cnn", (64,)) == "LeNet CNN conv6-pool-conv16-pool-400-64-10"
    assert describe("mlp", (64,)) == "MLP 784-64-10"
    assert architecture("mlp", (64,)) == {"kind": "mlp", "in_features": 784, "hidden": [64], "num_classes": 10}
    assert isinstance(build_model("mlp"), MLP) and isinstance(build_model("cnn"), LeNet)
    with pytest.raises(ValueError, match="unknown model kind 'rnn'; known: mlp, cnn"):
        build_model("rnn")  # type: ignore[arg-type]


def test_cnn_is_cached_under_its_own_key(small: MNISTSplit, tmp_path: Path) -> None:
    base = dict(hidden=(16,), data=small, epochs=1, batch_size=64, lr=1e-3, seed=0, normalized=False)
    assert cache_key(**base, kind="cnn") != cache_key(**base, kind="mlp") == cache_key(**base)  # type: ignore[arg-type]
    tiny = dataclasses.replace(small, x_train=small.x_train[:128], y_train=small.y_train[:128], source="tiny")
    first, info = train_or_load((16,), tiny, epochs=1, cache_dir=tmp_path, kind="cnn")
    assert not info.cached and info.path.name.startswith("cnn-16-") and info.lr == 3e-3  # the CNN's learning rate
    again, info2 = train_or_load((16,), tiny, epochs=1, cache_dir=tmp_path, kind="cnn")
    assert info2.cached and info2.path == info.path
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
