"""The `xdsl.universe` entry point: makes plain `xdsl-opt` know spikeir's dialects, passes and targets."""

from xdsl.universe import Universe

from spikeir.dialects import get_all_dialects
from spikeir.passes import get_all_passes

SPIKEIR_UNIVERSE = Universe(all_dialects=get_all_dialects(), all_passes=get_all_passes())
