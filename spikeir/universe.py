"""The `xdsl.universe` entry point: makes plain `xdsl-opt` know spikeir's dialects, passes and targets."""

from xdsl.universe import Universe
from xdsl.utils.target import Target

from spikeir.dialects import get_all_dialects
from spikeir.passes import get_all_passes


def _spikecore_asm() -> type[Target]:
    from spikeir.tools.spike_opt import SpikeCoreAsmTarget

    return SpikeCoreAsmTarget


# spikecore-bin is not here: xDSL gives targets a text stream, and only spike-opt writes bytes.
SPIKEIR_UNIVERSE = Universe(
    all_dialects=get_all_dialects(),
    all_passes=get_all_passes(),
    all_targets={"spikecore-asm": _spikecore_asm},
)
