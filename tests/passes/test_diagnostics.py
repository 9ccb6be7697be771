"""How passes report: one error hierarchy (SpikeIRError and xDSL diagnostic at once), options checked
when parsed, remarks only when asked, and pass names that cannot clash in the shared registry."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline
from xdsl.transforms import get_all_passes as xdsl_passes
from xdsl.utils.exceptions import PassFailedException

from spikeir.errors import DataError, PlacementError, QuantizationError, SpikeIRError, TargetError
from spikeir.passes import get_all_passes
from spikeir.passes.convert_to_snn import ConvertToSnnPass
from spikeir.passes.diagnostics import (
    REMARKS,
    DataFailure,
    PassError,
    PlacementFailure,
    QuantizationFailure,
    TargetFailure,
    as_pass_error,
    pass_errors,
    print_remarks,
    remark,
)
from spikeir.passes.lower_quant_to_spikecore import LowerQuantToSpikeCorePass
from spikeir.passes.place import PlacePass
from spikeir.passes.quantize import QuantizePass
from support.nn_models import partitioned_mlp, random_mlp
from support.spikecore_ir import quant_module, random_layers

CTX = Context()


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (PlacementError("too big", "fc"), PlacementFailure),
        (QuantizationError("no data", "x"), QuantizationFailure),
        (DataError("unreadable", "x.npy"), DataFailure),
        (TargetError("unknown target 'v9'"), TargetFailure),
        (SpikeIRError("anything else", "@net"), PassError),
    ],
)
def test_a_pass_error_keeps_its_category_and_is_a_diagnostic(error: SpikeIRError, kind: type[PassError]) -> None:
    converted = as_pass_error(error, "my-pass")
    assert type(converted) is kind
    assert isinstance(converted, type(error)) and isinstance(converted, PassFailedException)
    assert converted.message == error.message
    assert converted.location == (error.location or "my-pass")
    assert str(converted) == f"{converted.location}: {error.message}"
    assert as_pass_error(converted) is converted


def test_pass_errors_converts_only_spikeir_errors() -> None:
    with pytest.raises(TargetFailure, match="^spikecore-place: unknown"):
        with pass_errors("spikecore-place"):
            raise TargetError("unknown target")
    with pytest.raises(KeyError):  # a bug stays a bug
        with pass_errors("spikecore-place"):
            raise KeyError("x")


@pytest.mark.parametrize(
    ("lowered", "run", "kind", "message"),
    [
        (
            True,
            lambda m: PlacePass(target="spikecore-v9").apply(CTX, m),
            TargetFailure,
            "unknown target 'spikecore-v9'",
        ),
        (True, lambda m: PlacePass(cores=-2).apply(CTX, m), PlacementFailure, "cores must be positive"),
        (True, lambda m: PlacePass(cores=1).apply(CTX, m), PlacementFailure, "the network needs 2 cores"),
        (True, lambda m: ConvertToSnnPass(leak_shift=40).apply(CTX, m), PassError, "leak-shift must be 0"),
        (False, lambda m: LowerQuantToSpikeCorePass(target="nope").apply(CTX, m), TargetFailure, "unknown target"),
    ],
)
def test_user_errors_of_passes_are_spikeir_errors_and_diagnostics(
    lowered: bool, run: Callable[[ModuleOp], None], kind: type[PassError], message: str
) -> None:
    module = quant_module(random_layers(np.random.default_rng(0), [3, 2, 2]))
    if lowered:
        LowerQuantToSpikeCorePass().apply(CTX, module)
    with pytest.raises(kind, match=message) as info:
        run(module)
    assert isinstance(info.value, SpikeIRError) and isinstance(info.value, PassFailedException)


def test_quantize_errors_from_the_numerics_leave_the_pass_as_diagnostics(tmp_path: Path) -> None:
    module = partitioned_mlp(random_mlp(np.random.default_rng(0), [4, 3, 2]))
    path = tmp_path / "calib.npy"
    np.save(path, np.zeros((5, 7), np.float32))  # the wrong width: prepare_calibration says so
    with pytest.raises(QuantizationFailure, match="Nx4") as info:
        QuantizePass(calibration=str(path)).apply(CTX, module)
    assert info.value.location == "calibration"
    with pytest.raises(DataFailure):
        QuantizePass(calibration=str(tmp_path / "absent.npy")).apply(CTX, module)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("convert-to-snn{reset=hold}", "hold"),
        ("convert-to-snn{init-half=maybe}", "maybe"),
        ("spikecore-quantize{method=median}", "median"),
        ("spikecore-place{cores=many}", "many"),
    ],
)
def test_options_are_checked_when_the_pipeline_is_parsed(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        PassPipeline.parse_spec(get_all_passes(), spec)


def test_literal_options_take_their_values() -> None:
    (convert, quantize) = PassPipeline.parse_spec(
        get_all_passes(), "convert-to-snn{reset=zero},spikecore-quantize{method=percentile}"
    ).passes
    assert convert == ConvertToSnnPass(reset="zero")
    assert quantize == QuantizePass(method="percentile")


def test_pass_names_are_namespaced_and_do_not_clash_with_xdsl() -> None:
    ours = set(get_all_passes())
    assert not ours & set(xdsl_passes()), "a spikeir pass shares its name with an xDSL pass"
    for name in ours:
        words = name.split("-")
        assert {"nn", "quant", "spikecore", "snn"} & set(words), f"'{name}' does not say whose pass it is"
    for name, cls in get_all_passes().items():
        assert cls().name == name


def test_remarks_are_silent_unless_enabled(capfd: pytest.CaptureFixture[str]) -> None:
    remark("nothing asked for this")
    assert capfd.readouterr().err == ""
    stream = io.StringIO()
    handler = print_remarks(stream)
    try:
        remark("now it shows")
    finally:
        REMARKS.removeHandler(handler)
    assert stream.getvalue() == "remark: now it shows\n"
    assert capfd.readouterr().err == ""


def test_print_remarks_defaults_to_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    handler = print_remarks()
    try:
        remark("to stderr")
    finally:
        REMARKS.removeHandler(handler)
    assert capsys.readouterr().err == "remark: to stderr\n"


def test_an_application_can_take_remarks_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="spikeir.remarks"):
        remark("as a record")
    assert [r.getMessage() for r in caplog.records] == ["as a record"]
