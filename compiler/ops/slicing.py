"""STRIDED_SLICE and SLICE, as TFLM's strided_slice.cc / slice.cc: strided copies (copy_nd.h).

STRIDED_SLICE follows TFLM exactly, quirks included:
  - rank 1 to 4; begin, end and strides constant int32 vectors of the input's rank;
  - Prepare checks the output shape with StartForAxis/StopForAxis (strided_slice_logic.h) and
    a float division; Eval walks StridedSliceStartForAxis/StridedSliceEndForAxis. The two agree
    except for a shrunk axis whose begin is past the end or whose stride is negative, where Eval
    writes nothing: tinyc refuses those (TFLM would leave the output unwritten);
  - ellipsis_mask and new_axis_mask are ignored (BuildStridedSliceParams sets them to 0) and so
    is `offset` (the params struct is zero-initialised): a model relying on them gets TFLM's
    result, or is refused when its output shape disagrees, as TFLM refuses it.
SLICE: rank 1 to 5; constant int32 or int64 begin and size (-1: to the end); TFLM does not clamp,
so begin and size must lie inside the input.
Both copy values verbatim whatever the quantization, as TFLM does.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op
from . import Alias, KernelCall, register, unsupported
from .strided_copy import (
    const_ints,
    copy_step,
    require_dtype,
    require_same_dtype,
    row_major_strides,
)

TYPES = ("int8", "int16", "float32", "int32", "bool")
STRIDED_SLICE_MAX_RANK = 4  # strided_slice_common.cc kMaxDim
SLICE_MAX_RANK = 5  # slice.cc kMaxDim


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def _prepare_dim(begin: int, end: int, stride: int) -> int:
    """CheckOutputSize: ceil((end - begin) / float(stride)), at least 0, in float32."""
    value = math.ceil(float(np.float32(end - begin) / np.float32(stride)))
    return max(value, 0)


@register("STRIDED_SLICE", types="int8, int16, float32, int32, bool", inputs=4,
          notes="rank 1 to 4; constant int32 begin/end/strides, negative strides; "
                "begin/end/shrink masks as TFLM (ellipsis/new-axis masks and offset are "
                "ignored, as TFLM ignores them)")
def lower_strided_slice(graph: Graph, op: Op) -> KernelCall | Alias:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    rank = len(x.shape)
    if not 1 <= rank <= STRIDED_SLICE_MAX_RANK:
        raise unsupported(op, f"rank {rank} input (TFLM slices rank 1 to "
                              f"{STRIDED_SLICE_MAX_RANK})")
    begin, end, strides = (
        const_ints(op, graph.tensor(op.inputs[i]), what)
        for i, what in ((1, "begin"), (2, "end"), (3, "strides")))
    for name, values in (("begin", begin), ("end", end), ("strides", strides)):
        if len(values) != rank:
            raise unsupported(op, f"{name} has {len(values)} values for a rank {rank} input")
    if 0 in strides:
        raise unsupported(op, f"strides {strides}: a stride of 0 (TFLM rejects it)")
    options = op.options
    begin_mask = int(options.get("begin_mask", 0))
    end_mask = int(options.get("end_mask", 0))
    shrink_mask = int(options.get("shrink_axis_mask", 0))
    in_strides = row_major_strides(x.shape)
    prepare_shape: list[int] = []
    view: list[tuple[int, int]] = []
    offset = 0
    for axis, size in enumerate(x.shape):
        stride = strides[axis]
        shrink = bool(shrink_mask >> axis & 1)
        # Eval (and Prepare: they agree on the start): StridedSliceStartForAxis.
        start = begin[axis] + size if begin[axis] < 0 else begin[axis]
        start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
        if begin_mask >> axis & 1:
            start = 0 if stride > 0 else size - 1
        if shrink:
            if start >= size or stride < 0:
                raise unsupported(op, f"axis {axis} is shrunk at begin {begin[axis]} with "
                                      f"stride {stride}: TFLM's kernel copies nothing there")
            stop = start + 1
        else:
            stop = end[axis] + size if end[axis] < 0 else end[axis]
            stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
            if end_mask >> axis & 1:
                stop = size if stride > 0 else -1
            prepare_shape.append(_prepare_dim(start, stop, stride))
        count = max(0, -(-(stop - start) // stride))  # iterations of TFLM's `lc` loop
        if count and not 0 <= start < size:
            raise unsupported(op, f"axis {axis} starts at {start}, outside its {size} elements")
        view.append((count, stride * in_strides[axis]))
        offset += start * in_strides[axis] if count else 0
    if prepare_shape != list(y.shape):
        raise unsupported(op, f"output shape {list(y.shape)} is not the {prepare_shape} that "
                              f"begin {begin}, end {end}, strides {strides} and the masks give "
                              f"(TFLM rejects it)")
    return copy_step(graph, op, x, y, view, offset)


@register("SLICE", types="int8, int16, float32, int32, bool", inputs=3,
          notes="rank 1 to 5; constant int32/int64 begin and size (-1: to the end) inside "
                "the input")
def lower_slice(graph: Graph, op: Op) -> KernelCall | Alias:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    begin_tensor, size_tensor = graph.tensor(op.inputs[1]), graph.tensor(op.inputs[2])
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    rank = len(x.shape)
    if not 1 <= rank <= SLICE_MAX_RANK:
        raise unsupported(op, f"rank {rank} input (TFLM slices rank 1 to {SLICE_MAX_RANK})")
    if begin_tensor.dtype != size_tensor.dtype:
        raise unsupported(op, f"begin ({begin_tensor.dtype}) and size ({size_tensor.dtype}) "
                              f"have different types")
    begin = const_ints(op, begin_tensor, "begin", ("int32", "int64"))
    sizes = const_ints(op, size_tensor, "size", ("int32", "int64"))
    if len(begin) != rank or len(sizes) != rank:
        raise unsupported(op, f"begin {begin} and size {sizes} must each have {rank} values")
    strides = row_major_strides(x.shape)
    view, offset = [], 0
    for axis, (b, s, dim) in enumerate(zip(begin, sizes, x.shape, strict=True)):
        stop = dim if s == -1 else b + s
        if not 0 <= b < stop <= dim:
            raise unsupported(op, f"axis {axis}: begin {b} and size {s} are not inside its "
                                  f"{dim} elements (TFLM does not clamp)")
        view.append((stop - b, strides[axis]))
        offset += b * strides[axis]
    if [e for e, _ in view] != list(y.shape):
        raise unsupported(op, f"output shape {list(y.shape)} is not the slice's "
                              f"{[e for e, _ in view]}")
    return copy_step(graph, op, x, y, view, offset)
