"""spikeir's passes, registered by name in one place.

Each pass lives in its own module (``passes/<pass_name>.py``, dashes become underscores) and is
loaded lazily, so `spike-opt --help` and `xdsl-opt` start fast. Modules that are not passes:
``diagnostics`` (errors and remarks of every pass).
"""

from collections.abc import Callable
from importlib import import_module

from xdsl.passes import ModulePass

# pass name -> (module in spikeir.passes, class name). Every name says whose it is (a spikeir dialect,
# spikecore or snn in it), so it cannot clash with a pass xDSL adds to the shared registry later.
_PASSES: dict[str, tuple[str, str]] = {
    "nn-fold-reshapes": ("nn_fold_reshapes", "NnFoldReshapesPass"),
    "nn-fold-batch-norm": ("fold_batch_norm", "NnFoldBatchNormPass"),
    "nn-fold-pool": ("fold_pool", "NnFoldPoolPass"),
    "nn-fuse-dense": ("fuse_dense", "FuseDensePass"),
    "nn-fuse-conv2d": ("fuse_conv2d", "FuseConv2dPass"),
    "partition-for-spikecore": ("partition_for_spikecore", "PartitionForSpikeCorePass"),
    "spikecore-quantize": ("quantize", "QuantizePass"),
    "lower-quant-to-spikecore": ("lower_quant_to_spikecore", "LowerQuantToSpikeCorePass"),
    "convert-to-snn": ("convert_to_snn", "ConvertToSnnPass"),
    "spikecore-place": ("place", "PlacePass"),
    "spikecore-pipeline": ("spikecore_pipeline", "SpikeCorePipelinePass"),
}


def _loader(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        return getattr(import_module(f"spikeir.passes.{module}"), cls)

    return load


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Lazy loaders by pass name, in the form xDSL's Universe expects."""
    return {name: _loader(module, cls) for name, (module, cls) in _PASSES.items()}
