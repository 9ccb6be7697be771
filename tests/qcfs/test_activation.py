"""The QCFS activation and the module utilities of spikeir.numerics.qcfs (no compiling here)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spikeir.errors import QuantizationError
from spikeir.numerics.qcfs import QCFS, QCFSError, activation_order, qcfs_modules, relu_model, to_qcfs


def test_forward_is_the_clip_floor_shift_staircase() -> None:
    act = QCFS(levels=4, lam=2.0)
    z = torch.tensor([-1.0, 0.0, 0.24, 0.26, 0.74, 0.76, 1.0, 1.9, 2.0, 5.0])
    # lam * clip(floor(z * 4 / 2 + 1/2) / 4, 0, 1): steps of 0.5 with edges at 0.25, 0.75, 1.25, 1.75
    expected = [0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert act(z).tolist() == expected


def test_floor_passes_its_gradient_straight_through() -> None:
    act = QCFS(levels=4, lam=2.0)
    z = torch.tensor([-0.5, 0.3, 1.1, 3.0], requires_grad=True)
    act(z).sum().backward()
    assert z.grad is not None
    assert z.grad.tolist() == [0.0, 1.0, 1.0, 0.0]  # identity inside the clip, zero where it clips
    assert act.lam.grad is not None and float(act.lam.grad) > 0  # the clipped input pulls lambda up


@pytest.mark.parametrize("levels", [0, -1, 2.5, True])
def test_bad_levels_are_errors(levels: object) -> None:
    with pytest.raises(QCFSError, match="levels must be an integer"):
        QCFS(levels=levels, lam=1.0)  # type: ignore[arg-type]


def test_bad_lambda_is_an_error_and_a_quantization_error() -> None:
    with pytest.raises(QuantizationError, match="lambda must be a positive number"):
        QCFS(levels=4, lam=0.0)


class _Block(nn.Module):
    """A module tree: conv, ReLU, and a nested head, as CNNs are written."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def test_to_qcfs_replaces_every_relu_of_a_module_tree_and_starts_lambda_from_data() -> None:
    torch.manual_seed(0)
    model = _Block()
    sample = torch.rand(64, 1, 6, 6)
    tuned = to_qcfs(model, sample, levels=4, percentile=100.0)
    names = [name for name, _ in qcfs_modules(tuned)]
    assert names == ["features.1", "head.2"]
    assert not any(isinstance(m, QCFS) for m in model.modules())  # the original is left alone
    with torch.no_grad():
        top = float(torch.relu(model.features[0](sample)).max())
    assert float(tuned.features[1].lam.detach()) == pytest.approx(top)  # the 100th percentile is the max
    assert activation_order(tuned, sample[:1]) == names


def test_to_qcfs_errors_name_the_module() -> None:
    with pytest.raises(QCFSError, match="no nn.ReLU module"):
        to_qcfs(nn.Sequential(nn.Linear(3, 2)), np.zeros((2, 3), np.float32))
    relu = nn.ReLU()
    shared = nn.Sequential(nn.Linear(3, 3), relu, nn.Linear(3, 3), relu)
    with pytest.raises(QCFSError, match="called more than once") as error:
        to_qcfs(shared, np.ones((2, 3), np.float32))
    assert error.value.location == "1"
    with pytest.raises(QCFSError, match="percentile"):
        to_qcfs(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), np.ones((2, 3), np.float32), percentile=0)


def test_relu_model_gives_back_the_relus_the_lambdas_and_levels() -> None:
    model = nn.Sequential(nn.Linear(3, 3), QCFS(4, 1.5), nn.Linear(3, 3), QCFS(4, 0.5), nn.Linear(3, 2))
    plain, lambdas, levels = relu_model(model)
    assert lambdas == {"1": 1.5, "3": 0.5} and levels == 4
    assert isinstance(plain[1], nn.ReLU) and isinstance(plain[3], nn.ReLU) and isinstance(model[1], QCFS)
    x = torch.rand(5, 3)
    assert torch.equal(plain[0](x), model[0](x))  # same weights
    with pytest.raises(QCFSError, match="different levels"):
        relu_model(nn.Sequential(nn.Linear(3, 3), QCFS(4), nn.Linear(3, 3), QCFS(8)))
    broken = nn.Sequential(nn.Linear(3, 3), QCFS(4))
    with torch.no_grad():
        broken[1].lam.fill_(-1.0)
    with pytest.raises(QCFSError, match="positive") as error:
        relu_model(broken)
    assert error.value.location == "1"


def test_fine_tune_trains_a_qcfs_copy_and_refuses_other_levels() -> None:
    from spikeir.numerics.qcfs import fine_tune

    torch.manual_seed(0)
    x = torch.rand(64, 6)
    y = (x.sum(1) > 3).long()
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    tuned, losses = fine_tune(model, x, y, levels=4, epochs=2)
    assert [m.levels for _, m in qcfs_modules(tuned)] == [4] and len(losses) == 2
    again, _ = fine_tune(tuned, x, y, epochs=1)  # a QCFS model is trained as it is
    assert [m.levels for _, m in qcfs_modules(again)] == [4]
    with pytest.raises(QCFSError, match=r"have \[4\] levels, not 8"):
        fine_tune(tuned, x, y, levels=8)
