"""spikeir's passes, registered by name in one place.

Each pass lives in its own module (``passes/<pass_name>.py``, dashes become underscores) and is
loaded lazily, so `spike-opt --help` and `xdsl-opt` start fast.
"""

from collections.abc import Callable
from importlib import import_module

from xdsl.passes import ModulePass

# pass name -> (module in spikeir.passes, class name)
_PASSES: dict[str, tuple[str, str]] = {
    "partition-for-spikecore": ("partition_for_spikecore", "PartitionForSpikeCorePass"),
    "lower-quant-to-spikecore": ("lower_quant_to_spikecore", "LowerQuantToSpikeCorePass"),
    "convert-to-snn": ("convert_to_snn", "ConvertToSnnPass"),
    "place": ("place", "PlacePass"),
    "spikecore-pipeline": ("spikecore_pipeline", "SpikeCorePipelinePass"),
    "fuse-dense": ("fuse_dense", "FuseDensePass"),
    "nn-fold-reshapes": ("nn_fold_reshapes", "NnFoldReshapesPass"),
    "quantize": ("quantize", "QuantizePass"),
}


def _loader(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        return getattr(import_module(f"spikeir.passes.{module}"), cls)

    return load


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Lazy loaders by pass name, in the form xDSL's Universe expects."""
    return {name: _loader(module, cls) for name, (module, cls) in _PASSES.items()}
