"""Fast conversion between numpy arrays and xDSL dense attributes.

Weights are large (a 784x512 layer has 400k values), so these go through the attributes' byte
buffers instead of Python lists: building or reading a million floats takes milliseconds.
"""

from __future__ import annotations

import sys

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    TensorType,
    f32,
    f64,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.hints import isa

from spikeir.errors import InterpreterError

# xDSL packs dense data in native byte order.
_ORDER = "<" if sys.byteorder == "little" else ">"


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype that matches an xDSL element type; any other type (bf16, f80, i1, ...) is an
    InterpreterError naming it, since numpy has no exact match to compute it with."""
    if isinstance(element_type, Float16Type):
        return np.dtype(f"{_ORDER}f2")
    if isinstance(element_type, Float32Type):
        return np.dtype(f"{_ORDER}f4")
    if isinstance(element_type, Float64Type):
        return np.dtype(f"{_ORDER}f8")
    if isa(element_type, IntegerType):
        width = element_type.width.data
        if width in (8, 16, 32, 64):
            return np.dtype(f"{_ORDER}i{width // 8}")
    raise InterpreterError(
        f"element type {element_type} is not supported (spikeir computes f16, f32, f64, i8, i16, i32 and i64)"
    )


def element_type_of(dtype: np.dtype) -> Float32Type | Float64Type | IntegerType:
    """The xDSL element type that matches a numpy dtype (f32, f64, i8, i32, i64)."""
    mapping: dict[str, Float32Type | Float64Type | IntegerType] = {"f4": f32, "f8": f64, "i1": i8, "i4": i32, "i8": i64}
    key = f"{dtype.kind}{dtype.itemsize}"
    if key not in mapping:
        raise TypeError(f"no xDSL element type for numpy dtype {dtype}")
    return mapping[key]


def dense_attr(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A `dense<...> : tensor<...>` attribute holding a copy of ``array`` (shape and dtype kept)."""
    array = np.asarray(array)
    element_type = element_type_of(array.dtype)
    data = np.ascontiguousarray(array, dtype=numpy_dtype(element_type)).tobytes()
    return DenseIntOrFPElementsAttr(TensorType(element_type, array.shape), BytesAttr(data))


def to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """A read-only numpy view of a dense attribute, in its shape; splats are expanded."""
    shape = attr.get_shape()
    flat = np.frombuffer(attr.data.data, dtype=numpy_dtype(attr.get_element_type()))
    count = int(np.prod(shape)) if shape else 1
    if flat.size == 1 and count != 1:
        flat = np.broadcast_to(flat, (count,))
    return flat.reshape(shape)


def shape_of(value: SSAValue) -> tuple[int, ...]:
    """The shape of a tensor-typed value (dynamic dimensions as -1)."""
    typ = value.type
    assert isinstance(typ, TensorType)
    return tuple(typ.get_shape())
