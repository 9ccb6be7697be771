"""Spaces: grid order, seeded random samples, TOML files and --vary, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikeir.sweep.space import (
    SweepError,
    SweepSpace,
    load_space,
    parse_vary,
    point_key,
    seed_space,
    space_from_mapping,
)


def test_grid_is_every_combination_last_axis_fastest() -> None:
    space = space_from_mapping({"mode": "rate", "timesteps": [1, 2], "per-channel": [False, True]}, "test")
    assert space.points() == [
        {"mode": "rate", "timesteps": 1, "per_channel": False},
        {"mode": "rate", "timesteps": 1, "per_channel": True},
        {"mode": "rate", "timesteps": 2, "per_channel": False},
        {"mode": "rate", "timesteps": 2, "per_channel": True},
    ]


def test_the_default_space_is_the_48_point_seed_sweep() -> None:
    points = seed_space().points()
    assert len(points) == len({point_key(p) for p in points}) == 48
    assert {p["neurons_per_core"] for p in points} == {0, 1} and {p["method"] for p in points} == {"max", "percentile"}


def test_random_sampling_is_seeded_distinct_and_from_the_grid() -> None:
    grid = seed_space()
    first = SweepSpace(grid.axes, "random", 10, 7, grid.fixed).points()
    again = SweepSpace(grid.axes, "random", 10, 7, grid.fixed).points()
    other = SweepSpace(grid.axes, "random", 10, 8, grid.fixed).points()
    assert first == again and first != other
    assert len({point_key(p) for p in first}) == 10
    assert all(p in grid.points() for p in first)
    assert SweepSpace(grid.axes, "random", 500, 0, grid.fixed).points() == grid.points()  # more than the grid: all


def test_a_space_file(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(
        '[sweep]\nsampling = "random"\nsamples = 3\nseed = 2\n[options]\nmode = "rate"\ntimesteps = [4, 8, 16, 32]\nneurons-per-core = [0, 1]\n'
    )
    space = load_space(path)
    assert (space.sampling, space.samples, space.seed) == ("random", 3, 2)
    assert space.axes == {"timesteps": (4, 8, 16, 32), "neurons_per_core": (0, 1)} and space.fixed == {"mode": "rate"}
    assert len(space.points()) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[options]\ntimestep = [1, 2]\n", "unknown compile option 'timestep'"),
        ("[options]\ntimesteps = [\n", "not valid TOML"),
        ("[option]\ntimesteps = [1]\n", "unknown table(s) option"),
        ("[options]\ntimesteps = []\n", "option 'timesteps' has no values"),
        ("[options]\ntimesteps = [{a = 1}]\n", "a value must be a boolean, number or string"),
        ('[sweep]\nsampling = "latin"\n', "sampling must be grid or random"),
        ('[sweep]\nsampling = "random"\n[options]\nmode = ["rate"]\n', "random sampling needs samples >= 1"),
        ("[sweep]\nrepeat = 2\n", "unknown [sweep] setting(s) repeat"),
    ],
)
def test_space_file_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(SweepError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")) as error:
        load_space(path)
    assert error.value.location in (str(path), "space")


def test_missing_space_file() -> None:
    with pytest.raises(SweepError, match="space file not found"):
        load_space("no/such/space.toml")


def test_vary_parses_values_as_toml_would() -> None:
    assert parse_vary(["timesteps=1,2", "per-channel=true,false", "method=max,percentile", "percentile=99.9"]) == {
        "timesteps": (1, 2),
        "per_channel": (True, False),
        "method": ("max", "percentile"),
        "percentile": (99.9,),
    }
    with pytest.raises(SweepError, match="expected NAME=VALUE"):
        parse_vary(["timesteps"])
    with pytest.raises(SweepError, match="unknown compile option 'tsteps'"):
        parse_vary(["tsteps=1"])


def test_vary_replaces_an_axis_or_a_fixed_value() -> None:
    space = space_from_mapping({"mode": "rate", "timesteps": [1, 2]}, "test").with_axes({"mode": ("graded", "rate")})
    assert len(space.points()) == 4 and space.fixed == {}


def test_a_point_key_does_not_depend_on_order() -> None:
    assert point_key({"a": 1, "b": True}) == point_key({"b": True, "a": 1}) != point_key({"a": 1, "b": False})
