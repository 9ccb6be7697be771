"""im2col for conv ACCs (docs/isa.md §2 "ACC (conv)"): gather indices, kernel matrices, fan-outs.

A conv ACC computes, for each neuron of its range, one position of the flattened (C', H', W')
output map. The hardware model computes it the way BLAS likes (docs/isa.md §3 "Implementation
notes"): per touched group g, the patches of the source map, ``(KC, H'*W')`` per lane, gathered by a
precomputed index whose padding taps point at a zero column, times that group's ``(C'g, KC)`` kernel
matrix; then the positions of the range are picked from the result. Everything here is built once
at load time from the instruction and its table; :class:`spikeir.chip.steps.ConvStep` executes it.

Fan-out: the number of (neuron, tap) pairs of one conv ACC that read a source address. The
accounting multiplies events by it (synaptic operations) and by ``fan-out > 0`` (deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeir.chip.isa import AccConv, ConvGeometry

MAX_ABS_PAYLOAD = 128
"""Largest magnitude of a bus payload (int8), the bound behind the float exactness checks."""
F32_EXACT = 2**24
"""Integers below this magnitude are exact in float32, and so is every partial sum that stays below it."""
F64_EXACT = 2**53
"""The same for float64."""


def group_taps(geometry: ConvGeometry) -> np.ndarray:
    """(KC, H'*W') int64: for the first group, the source offset (``(icl*H + iy)*W + ix``) each tap
    of each output position reads, or -1 where the tap falls on the padding. Group g reads the same
    offsets plus ``g * Cg * H * W``."""
    g = geometry
    cg = g.in_channels_per_group
    icl = np.arange(cg)[:, None, None, None, None]
    ky = np.arange(g.kernel_h)[None, :, None, None, None]
    kx = np.arange(g.kernel_w)[None, None, :, None, None]
    oy = np.arange(g.out_height)[None, None, None, :, None]
    ox = np.arange(g.out_width)[None, None, None, None, :]
    iy = oy * g.stride_h - g.pad_h + ky * g.dilation_h
    ix = ox * g.stride_w - g.pad_w + kx * g.dilation_w
    inside = (iy >= 0) & (iy < g.in_height) & (ix >= 0) & (ix < g.in_width)
    offsets = np.where(inside, (icl * g.in_height + iy) * g.in_width + ix, -1)
    return offsets.reshape(g.fan_in, g.out_positions).astype(np.int64)


def fan_out(instr: AccConv, taps: np.ndarray) -> np.ndarray:
    """(C*H*W,) int64: how many (neuron, tap) pairs of ``instr`` read each source address."""
    g = instr.geometry
    positions = np.arange(instr.p0, instr.p0 + instr.count)
    groups = positions // g.out_positions // g.out_channels_per_group
    read = taps[:, positions % g.out_positions]
    addresses = np.where(read >= 0, read + groups[None, :] * (g.in_channels_per_group * g.in_height * g.in_width), -1)
    return np.bincount(addresses[addresses >= 0], minlength=g.src_len).astype(np.int64)


@dataclass(frozen=True)
class ConvKernel:
    """One fused conv computation: the groups it touches, their gather index and kernel matrices,
    and which rows of the result are the members' neurons."""

    gather: np.ndarray
    """(groups touched, KC, H'*W') int64 into the source columns; padding taps hold ``C*H*W``, the
    index of an appended zero column."""
    weights: np.ndarray
    """(groups touched, C'g, KC), float32 when exact, else float64: each group's kernel matrix; an
    output channel no member touches has a zero row."""
    rows: np.ndarray | slice
    """The rows of the flattened ``(groups touched * C'g * H'*W', lanes)`` result, member by member."""
    bound: int
    """The largest ``128 * sum |w|`` over the kernel rows used: the exactness bound."""


def conv_kernel(members: list[AccConv], table: np.ndarray) -> ConvKernel:
    """The fused computation of conv ACCs that share a source, geometry and kernel (the same table
    rows per output channel), listed in the order their neurons are laid out."""
    first = members[0]
    g = first.geometry
    cog, positions = g.out_channels_per_group, g.out_positions
    row_of_channel0 = first.row - first.oc_first
    oc_lo = min(m.oc_first for m in members)
    oc_hi = max(m.oc_last for m in members)
    g_lo, g_hi = oc_lo // cog, oc_hi // cog
    touched = g_hi - g_lo + 1
    taps = group_taps(g)
    shift = np.arange(g_lo, g_hi + 1)[:, None, None] * (g.in_channels_per_group * g.in_height * g.in_width)
    gather = np.where(taps[None] >= 0, taps[None] + shift, g.src_len)

    weights = np.zeros((touched * cog, g.fan_in), np.int64)
    lo = oc_lo - g_lo * cog
    weights[lo : lo + oc_hi - oc_lo + 1] = table[
        row_of_channel0 + oc_lo : row_of_channel0 + oc_hi + 1, first.col : first.col + g.fan_in
    ]
    bound = int(np.abs(weights).sum(axis=1).max()) * MAX_ABS_PAYLOAD
    dtype = np.float32 if bound < F32_EXACT else np.float64
    # float64 is exact for every bound a table in memory can reach (KC * 2^14 < 2^53 needs KC < 2^39).
    rows = np.concatenate([np.arange(m.p0, m.p0 + m.count) for m in members]) - g_lo * cog * positions
    return ConvKernel(
        gather=np.ascontiguousarray(gather),
        weights=np.ascontiguousarray(weights.reshape(touched, cog, g.fan_in), dtype=dtype),
        rows=_as_slice(rows),
        bound=bound,
    )


def neuron_bounds(instr: AccConv, table: np.ndarray, payload: int = MAX_ABS_PAYLOAD) -> np.ndarray:
    """(count,) int64: per neuron, ``payload * sum |w|`` of its output channel's kernel row, the
    most it can change its compartment in one execution when no payload it reads exceeds
    ``payload`` in magnitude (1 for a source of binary spikes)."""
    g = instr.geometry
    sums = np.abs(table[instr.row : instr.row + instr.kernel_rows, instr.col : instr.col + g.fan_in].astype(np.int64))
    channel = np.arange(instr.p0, instr.p0 + instr.count) // g.out_positions - instr.oc_first
    return sums.sum(axis=1)[channel] * payload


_PATCH_BYTES = 6 * 2**20
"""The im2col patches are formed for about this many bytes' worth of lanes at a time, so that the
matmul reads them from cache: a whole batch's patches (hundreds of MB for the LeNet's second conv
at batch 1,000) go through memory twice, about 30% slower in one measurement."""


def convolve(kernel: ConvKernel, source: np.ndarray, as_float: bool = False) -> np.ndarray:
    """The members' dot products, (neurons, N), for ``source`` (N, C*H*W) of payloads: int64, or
    with ``as_float`` the exact float products as they come (for float32 state)."""
    groups, taps, positions = kernel.gather.shape
    n = source.shape[0]
    lanes = max(1, _PATCH_BYTES // (groups * taps * positions * kernel.weights.itemsize))
    if n <= lanes:
        return _convolve(kernel, source, as_float)
    first = _convolve(kernel, source[:lanes], as_float)
    dots = np.empty((first.shape[0], n), first.dtype)
    dots[:, :lanes] = first
    for start in range(lanes, n, lanes):
        dots[:, start : start + lanes] = _convolve(kernel, source[start : start + lanes], as_float)
    return dots


def _convolve(kernel: ConvKernel, source: np.ndarray, as_float: bool) -> np.ndarray:
    """:func:`convolve` on lanes whose patches fit in cache."""
    dtype = kernel.weights.dtype
    n = source.shape[0]
    padded = np.zeros((source.shape[1] + 1, n), dtype)
    padded[:-1] = source.T
    patches = padded[kernel.gather]  # (groups, KC, H'*W', N)
    groups, taps = patches.shape[:2]
    out = np.matmul(kernel.weights, patches.reshape(groups, taps, -1))  # (groups, C'g, H'*W'*N)
    dots = out.reshape(-1, n)[kernel.rows]
    return dots if as_float else dots.astype(np.int64)


def _as_slice(values: np.ndarray) -> np.ndarray | slice:
    if values.size and np.array_equal(values, np.arange(values[0], values[0] + values.size)):
        return slice(int(values[0]), int(values[0]) + int(values.size))
    return values
