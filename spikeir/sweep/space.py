"""The space a sweep explores: compile options, each with a list of values, from a TOML file or the
command line, enumerated as a grid or sampled (seeded) from that grid.

An axis is a field of `spikeir.CompileOptions` (dashes or underscores: ``per-channel`` is
``per_channel``); a misspelt name is an error before any work, but a *value* is only checked when its
point is compiled, so a bad value (``leak_shift = [4, 40]``) is a recorded failure of the points that
have it, with the option's own message, not a crash of the sweep.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from spikeir.errors import SpikeIRError
from spikeir.options import CompileOptions

OptionValue = bool | int | float | str
"""What one compile option can be set to (TOML's scalar types)."""
Point = dict[str, OptionValue]
"""One configuration: option name -> value (only the options the space varies)."""
Sampling = Literal["grid", "random"]
"""grid: every combination; random: ``samples`` distinct combinations drawn with ``seed``."""


class SweepError(SpikeIRError):
    """A sweep that cannot start: a bad space (file or ``--vary``), options, inputs or results file."""


NIR_ONLY = ("conventions", "encoder", "encoder_seed")
"""Options only a NIR model's points take (`spikeir.sweep.nir_points.NIR_OPTIONS`; the others are
`CompileOptions` fields too)."""


def option_names() -> list[str]:
    """The options a sweep can vary: the init fields of `CompileOptions`, and those of a NIR model's points."""
    return [*(option.name for option in fields(CompileOptions) if option.init), *NIR_ONLY]


def canonical_name(name: str, where: str) -> str:
    """``per-channel`` -> ``per_channel``; an unknown option is a `SweepError` naming ``where``."""
    canonical = name.strip().replace("-", "_")
    known = option_names()
    if canonical not in known:
        raise SweepError(f"unknown compile option '{name}'; the options are {', '.join(known)}", where)
    return canonical


def _scalar(value: object, name: str, where: str) -> OptionValue:
    if isinstance(value, bool | int | float | str):
        return value
    raise SweepError(f"option '{name}': a value must be a boolean, number or string, got {value!r}", where)


@dataclass(frozen=True)
class SweepSpace:
    """Axes (option -> values, in order) and how points are drawn from their product."""

    axes: dict[str, tuple[OptionValue, ...]] = field(default_factory=dict[str, tuple[OptionValue, ...]])
    sampling: Sampling = "grid"
    samples: int = 0
    """Random sampling: how many distinct points (all of them when the grid has no more)."""
    seed: int = 0
    fixed: dict[str, OptionValue] = field(default_factory=dict[str, OptionValue])
    """Options every point shares (not an axis: not part of a point's name in tables)."""

    def __post_init__(self) -> None:
        if self.sampling not in get_args(Sampling):
            raise SweepError(f"sampling must be grid or random, got {self.sampling!r}", "space")
        if self.sampling == "random" and self.samples < 1:
            raise SweepError(f"random sampling needs samples >= 1, got {self.samples}", "space")
        for name, values in self.axes.items():
            if not values:
                raise SweepError(f"option '{name}' has no values", "space")

    @property
    def size(self) -> int:
        """Points in the full grid."""
        return math.prod(len(values) for values in self.axes.values())

    def points(self) -> list[Point]:
        """Every grid point in order (last axis fastest), or the seeded random sample of them (in grid order)."""
        total = self.size
        if self.sampling == "grid" or self.samples >= total:
            indices = range(total)
        else:
            rng = np.random.default_rng(self.seed)
            indices = sorted(int(i) for i in rng.choice(total, size=self.samples, replace=False))
        return [{**self.fixed, **self._point(index)} for index in indices]

    def _point(self, index: int) -> Point:
        """Grid point number ``index`` (mixed radix over the axes, last axis fastest)."""
        point: Point = {}
        for name, values in reversed(list(self.axes.items())):
            index, digit = divmod(index, len(values))
            point[name] = values[digit]
        return dict(reversed(list(point.items())))

    def with_axes(self, axes: Mapping[str, Sequence[OptionValue]]) -> SweepSpace:
        """This space with ``axes`` added (or replacing axes of the same name): ``--vary`` over a file."""
        merged = {**self.axes, **{name: tuple(values) for name, values in axes.items()}}
        fixed = {name: value for name, value in self.fixed.items() if name not in merged}
        return SweepSpace(merged, self.sampling, self.samples, self.seed, fixed)


def space_from_mapping(
    options: Mapping[str, object], where: str, sampling: Sampling = "grid", samples: int = 0, seed: int = 0
) -> SweepSpace:
    """A space from ``{option: value or list of values}`` (a TOML table, or Python): a list is an axis,
    a single value is fixed for every point."""
    axes: dict[str, tuple[OptionValue, ...]] = {}
    fixed: dict[str, OptionValue] = {}
    for raw, value in options.items():
        name = canonical_name(raw, where)
        if isinstance(value, list | tuple):
            axes[name] = tuple(_scalar(item, raw, where) for item in value)  # pyright: ignore[reportUnknownVariableType]
        else:
            fixed[name] = _scalar(value, raw, where)
    return SweepSpace(axes, sampling, samples, seed, fixed)


def load_space(path: str | Path) -> SweepSpace:
    """Read a space file: ``[options]`` (option = value or [values]) and an optional ``[sweep]`` table
    (``sampling``, ``samples``, ``seed``); docs/sweep.md shows one."""
    where = str(path)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError("space file not found", where) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SweepError(f"cannot read the space file: {error}", where) from None
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"not valid TOML: {error}", where) from None
    unknown = sorted(set(document) - {"options", "sweep"})
    if unknown:
        raise SweepError(f"unknown table(s) {', '.join(unknown)}; a space file has [options] and [sweep]", where)
    options = document.get("options", {})
    settings = document.get("sweep", {})
    if not isinstance(options, dict) or not isinstance(settings, dict):
        raise SweepError("[options] and [sweep] must be tables", where)
    bad = sorted(set(settings) - {"sampling", "samples", "seed"})  # pyright: ignore[reportUnknownArgumentType]
    if bad:
        raise SweepError(f"unknown [sweep] setting(s) {', '.join(bad)}; they are sampling, samples, seed", where)
    sampling, samples, seed = settings.get("sampling", "grid"), settings.get("samples", 0), settings.get("seed", 0)
    if not isinstance(samples, int) or isinstance(samples, bool) or not isinstance(seed, int) or isinstance(seed, bool):
        raise SweepError("[sweep] samples and seed must be integers", where)
    if sampling not in get_args(Sampling):
        raise SweepError(f"[sweep] sampling must be grid or random, got {sampling!r}", where)
    return space_from_mapping(options, where, sampling, samples, seed)  # pyright: ignore[reportUnknownArgumentType]


def parse_value(text: str) -> OptionValue:
    """A command-line value as TOML would read it: true/false, an integer, a number, else a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_vary(texts: Sequence[str]) -> dict[str, tuple[OptionValue, ...]]:
    """``--vary NAME=V1,V2,...`` arguments -> axes."""
    axes: dict[str, tuple[OptionValue, ...]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        if not sep or not values.strip():
            raise SweepError(f"expected NAME=VALUE[,VALUE...], got '{text}'", "--vary")
        axes[canonical_name(name, "--vary")] = tuple(parse_value(value) for value in values.split(","))
    return axes


def point_key(point: Mapping[str, OptionValue]) -> str:
    """A point's name in the results file: a digest of its options (order-free, so a space read again,
    or spelt with dashes, names the same points)."""
    return hashlib.sha256(json.dumps(dict(point), sort_keys=True).encode()).hexdigest()[:16]


def describe_point(point: Mapping[str, OptionValue]) -> str:
    """``timesteps=8 per_channel=true`` (for tables and failure lines)."""
    return " ".join(f"{name}={json.dumps(value)}" for name, value in point.items())


SEED_SPACE: dict[str, OptionValue | list[OptionValue]] = {
    "mode": "rate",
    "timesteps": [1, 2, 4, 8, 16, 32],
    "method": ["max", "percentile"],
    "per_channel": [False, True],
    "neurons_per_core": [0, 1],
}
"""The default space (48 points): timesteps x calibration method x per-channel scales x neurons per core
(the target's 1,024, or the seed's one), in rate mode."""


def seed_space() -> SweepSpace:
    """`SEED_SPACE` as a grid."""
    return space_from_mapping(SEED_SPACE, "the default space")
