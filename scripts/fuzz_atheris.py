"""Coverage-guided fuzzing of spikeir's parsers with atheris (libFuzzer for Python), outside the test suite.

    pip install atheris                       # not a dependency of spikeir
    python scripts/fuzz_atheris.py asm   -max_total_time=120
    python scripts/fuzz_atheris.py image -max_total_time=120
    python scripts/fuzz_atheris.py relay -max_total_time=120

Each target feeds the fuzzer's bytes to one parser and accepts only that parser's user
error; any other exception is a crash, which libFuzzer reports and saves as ``crash-*`` (make it a
regression test in tests/robustness/test_robustness_fuzz.py). The seed corpus is the valid inputs the tests
use, so mutations start from realistic text. docs/robustness.md records the campaigns run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import numpy as np

    from spikeir.chip.assembly import assemble, disassemble
    from spikeir.chip.image import decode, encode
    from spikeir.errors import AssemblyError, FrontendError, ImageError
    from spikeir.frontends.relay_text import import_relay, meta_constant_key

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
from test_assembly import SMALL, small_program  # noqa: E402  (the tests' seed program)

RELAY_SEED = """def @main(%data: Tensor[(1, 3, 4), float32], %w: Tensor[(5, 12), float32]) -> Tensor[(1, 3), float32] {
  %0 = reshape(%data, newshape=[0, -1]);
  %1 = nn.dense(%0, %w, units=5);
  let %2: Tensor[(1, 5), float32] = add(%1, %b);
  %3 = nn.relu(%2);
  %4 = nn.dense(%3, transpose(meta[relay.Constant][0], axes=[1, 0]), units=None);
  nn.softmax(%4, axis=1)
}
"""
_RNG = np.random.default_rng(0)
RELAY_PARAMS = {
    "w": _RNG.standard_normal((5, 12)).astype(np.float32),
    "b": _RNG.standard_normal(5).astype(np.float32),
    meta_constant_key(0): _RNG.standard_normal((5, 3)).astype(np.float32),
}


def fuzz_asm(data: bytes) -> None:
    try:
        assemble(data.decode("utf-8", errors="replace"))
    except AssemblyError:
        pass


def fuzz_image(data: bytes) -> None:
    try:
        program = decode(data)
    except ImageError:
        return
    assert encode(program) == data  # whatever decodes is exactly what its image says


def fuzz_relay(data: bytes) -> None:
    try:
        import_relay(data.decode("utf-8", errors="replace"), RELAY_PARAMS, "m.relay")
    except FrontendError:
        pass


TARGETS: dict[str, tuple[Callable[[bytes], None], bytes]] = {
    "asm": (fuzz_asm, SMALL.encode()),
    "image": (fuzz_image, encode(small_program())),
    "relay": (fuzz_relay, RELAY_SEED.encode()),
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target, seed = TARGETS[sys.argv[1]]
    corpus = Path(f"fuzz-corpus-{sys.argv[1]}")
    corpus.mkdir(exist_ok=True)
    (corpus / "seed").write_bytes(seed)
    if sys.argv[1] == "asm":
        (corpus / "listing").write_bytes(disassemble(small_program()).encode())
    atheris.Setup([sys.argv[0], *sys.argv[2:], str(corpus)], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
