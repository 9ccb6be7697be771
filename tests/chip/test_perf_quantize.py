"""The fused, blocked `quantize_to_int8` equals the float64 formula it replaces, bit for bit.

The formula (docs/quantization.md) is ``clip(rint(float64(x) / scale), -128, 127)``; the fast version
divides in float64 too but clips before rounding and works a block at a time. These properties pin
the cases where a shortcut would differ: exact ties (``(k + 0.5) * scale``, rounded half to even),
values just around the clip bounds, huge and infinite values, subnormals, block boundaries.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikeir.numerics.quantization import quantize_to_int8


def formula(x: np.ndarray, scale: float) -> np.ndarray:
    """The definition: the division in float64, then rint, then clip."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) / scale), -128, 127).astype(np.int8)


scales = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    x=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=40),
        elements=st.floats(-1e6, 1e6, allow_nan=False, width=32),
    ),
    scale=scales,
    block=st.integers(1, 300),
)
def test_equals_the_formula(x: np.ndarray, scale: float, block: int) -> None:
    got = quantize_to_int8(x, scale, block=block)
    assert got.dtype == np.int8 and got.shape == x.shape
    assert np.array_equal(got, formula(x, scale))


@settings(max_examples=100, deadline=None)
@given(scale=scales, dtype=st.sampled_from([np.float32, np.float64]), block=st.integers(1, 600))
def test_ties_and_bounds(scale: float, dtype: type, block: int) -> None:
    """Every half-integer multiple of the scale in and just outside the int8 range, and its
    float neighbours: where rounding and clipping decide."""
    k = np.arange(-131, 131, dtype=np.float64) + 0.5
    exact = (k * scale).astype(dtype)
    near = np.concatenate([exact, np.nextafter(exact, np.inf), np.nextafter(exact, -np.inf), (k - 0.5) * scale])
    x = np.concatenate([near.astype(dtype), np.array([np.inf, -np.inf, 0.0, -0.0, 1e-45, 3e38], dtype)])
    assert np.array_equal(quantize_to_int8(x, scale, block=block), formula(x, scale))


def test_many_blocks_integers_and_scalars() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.5, (37, 2011)).astype(np.float32)  # 74,407 elements: more than one default block
    assert np.array_equal(quantize_to_int8(x, 0.0078125 / 3), formula(x, 0.0078125 / 3))
    ints = rng.integers(-1000, 1000, (5, 7))
    assert np.array_equal(quantize_to_int8(ints, 3.0), formula(ints, 3.0))
    assert quantize_to_int8(np.float32(0.5), 1.0).shape == ()
    assert quantize_to_int8(np.zeros((0, 4), np.float32), 1.0).shape == (0, 4)
    assert np.array_equal(quantize_to_int8([[1.5, 2.5]], 1.0), np.array([[2, 2]], np.int8))
