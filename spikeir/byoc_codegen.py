"""Seed notebook import path (`spikecore.byoc_codegen`): re-exports the TVM Relax BYOC entry points of
spikeir.byoc.codegen, and the seed's compile_nn_to_spikecore.
"""

from spikeir.byoc.codegen import partition_for_spikecore, register_spikecore_target
from spikeir.compiler import compile_nn_to_spikecore

__all__ = ["compile_nn_to_spikecore", "partition_for_spikecore", "register_spikecore_target"]
