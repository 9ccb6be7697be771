"""Convolutions as linear maps: the dense matrix of a conv ACC and the composition of two convolutions.

Shared by the NIR importer (a pool or conv chain between two neuron layers becomes one conv ACC) and
nn-fold-pool (an average pooling folded into the layer that reads it). A map is a `ConvGeometry` (the
ISA's, docs/isa.md "ACC (conv)") with its kernel packed as ``(C', C/groups * kh * kw)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spikeir.chip.isa import ConvGeometry

ConvMap = tuple[ConvGeometry, NDArray[np.float64]]
"""A convolution: its geometry and its packed kernel."""


def unrolled(g: ConvGeometry, kernel: NDArray[np.float64]) -> NDArray[np.float64]:
    """The dense (C'H'W', CHW) matrix a conv ACC computes (docs/isa.md "ACC (conv)"), for the float model."""
    dense = np.zeros((g.out_size, g.src_len))
    oc, oy, ox = np.meshgrid(np.arange(g.out_channels), np.arange(g.out_height), np.arange(g.out_width), indexing="ij")
    rows = ((oc * g.out_height + oy) * g.out_width + ox).ravel()
    cg, ocg = g.in_channels_per_group, g.out_channels_per_group
    for icl in range(cg):
        for ky in range(g.kernel_h):
            for kx in range(g.kernel_w):
                iy = (oy * g.stride_h - g.pad_h + ky * g.dilation_h).ravel()
                ix = (ox * g.stride_w - g.pad_w + kx * g.dilation_w).ravel()
                ic = ((oc // ocg) * cg + icl).ravel()
                ok = (iy >= 0) & (iy < g.in_height) & (ix >= 0) & (ix < g.in_width)
                cols = (ic * g.in_height + iy) * g.in_width + ix
                dense[rows[ok], cols[ok]] += kernel[oc.ravel()[ok], (icl * g.kernel_h + ky) * g.kernel_w + kx]
    return dense


def full_kernel(g: ConvGeometry, kernel: NDArray[np.float64]) -> NDArray[np.float64]:
    """A grouped kernel (C', Cg*kh*kw) as the dense (C', C, kh, kw) one (zeros between groups)."""
    cg, ocg = g.in_channels_per_group, g.out_channels_per_group
    full = np.zeros((g.out_channels, g.in_channels, g.kernel_h, g.kernel_w))
    blocks = kernel.reshape(g.out_channels, cg, g.kernel_h, g.kernel_w)
    for o in range(g.out_channels):
        start = (o // ocg) * cg
        full[o, start : start + cg] = blocks[o]
    return full


def grouped(full: NDArray[np.float64], candidates: tuple[int, ...]) -> tuple[int, NDArray[np.float64]]:
    """The first group count whose block structure holds ``full`` (C', C, kh, kw), and its packed kernel."""
    out_c, in_c = full.shape[:2]
    for groups in candidates:
        if out_c % groups or in_c % groups:
            continue
        cg, ocg = in_c // groups, out_c // groups
        mask = np.zeros((out_c, in_c), dtype=bool)
        for o in range(out_c):
            mask[o, (o // ocg) * cg : (o // ocg + 1) * cg] = True
        if not np.any(full[~mask]):
            packed = np.stack([full[o, (o // ocg) * cg : (o // ocg + 1) * cg] for o in range(out_c)])
            return groups, packed.reshape(out_c, -1)
    return 1, full.reshape(out_c, -1)


def composed_extent(first: ConvGeometry, second: ConvGeometry) -> tuple[int, int]:
    """Kernel (h, w) of ``second`` after ``first`` as one convolution (see :func:`compose_convs`)."""
    return (
        (second.kernel_h - 1) * second.dilation_h * first.stride_h + (first.kernel_h - 1) * first.dilation_h + 1,
        (second.kernel_w - 1) * second.dilation_w * first.stride_w + (first.kernel_w - 1) * first.dilation_w + 1,
    )


def compose_convs(first: ConvMap, second: ConvMap) -> ConvMap | None:
    """``second`` applied to the output of ``first`` as one convolution of ``first``'s input, or None.

    With strides s, paddings p, dilations d and kernel sizes k per axis, output o of ``second`` reads
    positions ``o s2 - p2 + j2 d2`` of the intermediate map, each of which reads
    ``(o s2 - p2 + j2 d2) s1 - p1 + j1 d1`` of the input: stride ``s1 s2``, padding ``p1 + p2 s1``,
    tap ``j2 d2 s1 + j1 d1`` of a kernel of extent ``(k2 - 1) d2 s1 + (k1 - 1) d1 + 1`` holding
    ``sum_m K2[o, m, j2] K1[m, c, j1]``. This holds wherever ``second`` does not read the
    intermediate map's padding (there the composition would compute ``first`` on input data instead
    of a zero): the NIR importer checks the result against the dense product, nn-fold-pool with
    :func:`composes_exactly`. A sum pool k, stride k then a conv kh x kw is thus a conv of kernel
    ``(kh, kw) * k`` (each tap repeated k x k) and stride ``s k``. A depthwise ``first`` (a pooling)
    scales channels, so its taps multiply ``second``'s columns instead of forming C x C products."""
    g1, k1 = first
    g2, k2 = second
    depthwise = g1.groups == g1.in_channels == g1.out_channels
    b = full_kernel(g2, k2)
    taps = k1.reshape(g1.in_channels, g1.kernel_h, g1.kernel_w) if depthwise else full_kernel(g1, k1)
    ext_h, ext_w = composed_extent(g1, g2)
    full = np.zeros((g2.out_channels, g1.in_channels, ext_h, ext_w))
    for y2 in range(g2.kernel_h):
        for x2 in range(g2.kernel_w):
            for y1 in range(g1.kernel_h):
                for x1 in range(g1.kernel_w):
                    ty = y2 * g2.dilation_h * g1.stride_h + y1 * g1.dilation_h
                    tx = x2 * g2.dilation_w * g1.stride_w + x1 * g1.dilation_w
                    tap = b[:, :, y2, x2] * taps[:, y1, x1] if depthwise else b[:, :, y2, x2] @ taps[:, :, y1, x1]
                    full[:, :, ty, tx] += tap
    groups, kernel = grouped(full, (g2.groups,) if depthwise else (g1.groups, 1))
    g = ConvGeometry(
        g1.in_channels,
        g1.in_height,
        g1.in_width,
        g2.out_channels,
        g2.out_height,
        g2.out_width,
        ext_h,
        ext_w,
        g1.stride_h * g2.stride_h,
        g1.stride_w * g2.stride_w,
        g1.pad_h + g2.pad_h * g1.stride_h,
        g1.pad_w + g2.pad_w * g1.stride_w,
        1,
        1,
        groups,
    )
    if g.problem() is not None or g.expected_out_hw() != (g2.out_height, g2.out_width):
        return None
    return g, kernel


def composes_exactly(first: ConvGeometry, second: ConvGeometry) -> bool:
    """Whether :func:`compose_convs` of a bias-free ``first`` and ``second`` equals applying them in turn.

    The composition differs only where ``second`` reads the zero padding of the intermediate map: it
    computes ``first`` there, on input data. Along an axis with ``second``'s padding ``p2 > 0`` that
    is avoided when the windows of ``first`` at intermediate positions ``-1`` and ``H1`` (its output
    size) lie wholly in its own padding: ``(k1 - 1) d1 < s1 + p1`` and ``H1 s1 - p1 >= H0``.
    """
    axes = (
        (
            second.pad_h,
            first.kernel_h,
            first.dilation_h,
            first.stride_h,
            first.pad_h,
            first.out_height,
            first.in_height,
        ),
        (second.pad_w, first.kernel_w, first.dilation_w, first.stride_w, first.pad_w, first.out_width, first.in_width),
    )
    return all(p2 == 0 or ((k1 - 1) * d1 < s1 + p1 and h1 * s1 - p1 >= h0) for p2, k1, d1, s1, p1, h1, h0 in axes)
