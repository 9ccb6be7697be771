"""Design-space exploration (docs/sweep.md): `run_sweep` compiles a model for every point of a space of
compile options and measures each on the hardware model, on Ray when it is installed; `evaluate` is
the data-parallel evaluation of one compiled program. Ray is imported only when a sweep runs on it."""

from spikeir.sweep.evaluate import evaluate
from spikeir.sweep.models import EvalSet, SweepModel, lab_eval_set, lab_model, load_eval_set, load_model
from spikeir.sweep.runner import SweepReport, run_sweep
from spikeir.sweep.space import SweepError, SweepSpace, load_space, seed_space, space_from_mapping

__all__ = [
    "EvalSet",
    "SweepError",
    "SweepModel",
    "SweepReport",
    "SweepSpace",
    "evaluate",
    "lab_eval_set",
    "lab_model",
    "load_eval_set",
    "load_model",
    "load_space",
    "run_sweep",
    "seed_space",
    "space_from_mapping",
]
