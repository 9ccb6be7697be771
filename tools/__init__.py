"""spikeir's command-line tools (installed as ``spikeir.tools``; console scripts in pyproject.toml).

- `spike-opt` (:mod:`spikeir.tools.spike_opt`): the optimizer driver, xDSL's ``xdsl-opt`` with
  spikeir's dialects and passes, model files as input (``.pt2``, ``.onnx``, ``.relay``) and the
  ``spikecore-asm`` / ``spikecore-bin`` targets: import, lower, place and emit a program.
- `spike-run` (:mod:`spikeir.tools.spike_run`): run a program (assembly text or binary image) on
  the bit-exact SpikeCore hardware model and print its outputs and statistics (``--json``).
- `spikeir` (:mod:`spikeir.tools.cli`): ``spikeir lab`` (the SpikeCore Lab pipeline on MNIST) and
  ``spikeir bench`` (the benchmarks).

Each also runs as ``python -m spikeir.tools.<module>``. :mod:`spikeir.tools.diagnostics` is what
they share: user errors as ``place: error: message`` with exit status 1, bad usage status 2, and
anything unexpected as one ``internal error`` line (`run_guarded`), never a traceback.
"""
