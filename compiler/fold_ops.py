"""Folders for the shape arithmetic TensorFlow's converter leaves in models.

A Keras model converted with a dynamic batch size computes its RESHAPE targets at run time:
    SHAPE(x) -> STRIDED_SLICE [0] -> PACK(batch, 32) -> RESHAPE(x, shape)
and variants with GATHER, CONCATENATION, CAST, REDUCE_PROD, int32 MUL, FILL or RANGE. TFLM never
reads RESHAPE's shape operand (it uses the output tensor's stored dims), and tinyc's shapes are all
static, so every one of these ops has a compile-time value: folding them leaves nothing of the
shape subgraph for code generation. SHAPE and RANK are "shape-only": they fold even though their
input is an activation.

Each folder follows the semantics of the TFLM (or, for ops TFLM lacks, TFLite) kernel and
returns None, leaving the op to lowering, for anything it does not reproduce exactly:
quantized arithmetic, fused activations, out-of-range indices, float-to-int overflow, and
results whose size disagrees with the output tensor's static shape.
"""

from __future__ import annotations

import numpy as np

from .fold import folds
from .ir import DTYPES, Graph, Op, Tensor

Values = list[np.ndarray]


def _out(graph: Graph, op: Op, position: int = 0) -> Tensor:
    return graph.tensor(op.outputs[position])


def _np_dtype(tensor: Tensor) -> type:
    return DTYPES[tensor.dtype][0]


def _ints(array: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(array).reshape(-1)]


def _same_quant(graph: Graph, op: Op) -> bool:
    """Byte-copying ops: TFLM copies quantized values verbatim, so all quantization must agree."""
    tensors = [graph.tensor(t) for t in op.inputs if t >= 0] + [_out(graph, op)]
    return len({t.quant for t in tensors if t.dtype == tensors[-1].dtype}) <= 1


# --- shape-only ---


@folds("SHAPE", shape_only=True)
def fold_shape(graph: Graph, op: Op, inputs: Values) -> Values:
    return [np.array(graph.tensor(op.inputs[0]).shape, dtype=_np_dtype(_out(graph, op)))]


@folds("RANK", shape_only=True)
def fold_rank(graph: Graph, op: Op, inputs: Values) -> Values:
    return [np.array(len(graph.tensor(op.inputs[0]).shape), dtype=_np_dtype(_out(graph, op)))]


# --- slicing and gathering (byte copies in TFLM) ---


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


@folds("STRIDED_SLICE")
def fold_strided_slice(graph: Graph, op: Op, inputs: Values) -> Values | None:
    """TFLM strided_slice: begin/end/shrink masks per axis (strided_slice_logic.h).

    TFLM zeroes ellipsis_mask and new_axis_mask and ignores `offset`; rather than reproduce a
    result TensorFlow would not give, such ops are left alone.
    """
    x, begin, end, strides = inputs[0], _ints(inputs[1]), _ints(inputs[2]), _ints(inputs[3])
    o = op.options
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0) or o.get("offset", False):
        return None
    rank = x.ndim
    if not len(begin) == len(end) == len(strides) == rank or 0 in strides:
        return None
    begin_mask, end_mask = o.get("begin_mask", 0), o.get("end_mask", 0)
    shrink_mask = o.get("shrink_axis_mask", 0)
    index = []
    for axis, size in enumerate(x.shape):
        stride = strides[axis]
        start, stop = begin[axis], end[axis]
        lo, hi = (0, size) if stride > 0 else (-1, size - 1)
        start = _clamp(start + size if start < 0 else start, lo, hi)
        if begin_mask & (1 << axis):
            start = 0 if stride > 0 else size - 1
        if shrink_mask & (1 << axis):
            stop = start if start >= size else start + 1
        else:
            stop = _clamp(stop + size if stop < 0 else stop, lo, hi)
            if end_mask & (1 << axis):
                stop = size if stride > 0 else -1
        index.append(list(range(start, stop, stride)))
    result = x[np.ix_(*index)] if rank else x
    return [result]


@folds("SLICE")
def fold_slice(graph: Graph, op: Op, inputs: Values) -> Values | None:
    x, begin, size = inputs[0], _ints(inputs[1]), _ints(inputs[2])
    if not len(begin) == len(size) == x.ndim:
        return None
    index = []
    for b, s, dim in zip(begin, size, x.shape):
        stop = dim if s == -1 else b + s
        if not 0 <= b <= stop <= dim:
            return None
        index.append(slice(b, stop))
    return [x[tuple(index)]]


@folds("GATHER")
def fold_gather(graph: Graph, op: Op, inputs: Values) -> Values | None:
    """TFLM gather: out[b, outer, coord, inner] = x[b, outer, indices[b, coord], inner]."""
    x, indices = inputs
    axis = op.options.get("axis", 0)
    axis = axis + x.ndim if axis < 0 else axis
    batch_dims = op.options.get("batch_dims", 0)
    batch_dims = batch_dims + indices.ndim if batch_dims < 0 else batch_dims
    if not (0 <= batch_dims <= axis < x.ndim and batch_dims <= indices.ndim
            and x.shape[:batch_dims] == indices.shape[:batch_dims]):
        return None
    if indices.size and (indices.min() < 0 or indices.max() >= x.shape[axis]):
        return None  # TFLM does not check (out-of-bounds read); TensorFlow raises
    batch = int(np.prod(x.shape[:batch_dims], dtype=np.int64))
    outer = int(np.prod(x.shape[batch_dims:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    coords = indices.reshape(batch, -1).astype(np.int64)
    source = x.reshape(batch, outer, x.shape[axis], inner)
    gathered = np.stack([source[b][:, coords[b], :] for b in range(batch)])
    shape = x.shape[:axis] + indices.shape[batch_dims:] + x.shape[axis + 1:]
    return [gathered.reshape(shape)]


@folds("PACK")
def fold_pack(graph: Graph, op: Op, inputs: Values) -> Values | None:
    if not _same_quant(graph, op):
        return None
    return [np.stack(inputs, axis=op.options.get("axis", 0))]


@folds("UNPACK")
def fold_unpack(graph: Graph, op: Op, inputs: Values) -> Values | None:
    (x,) = inputs
    axis = op.options.get("axis", 0)
    if not -x.ndim <= axis < x.ndim or x.shape[axis] != len(op.outputs):
        return None
    return list(np.moveaxis(x, axis, 0))


@folds("CONCATENATION")
def fold_concatenation(graph: Graph, op: Op, inputs: Values) -> Values | None:
    if op.options.get("fused_activation_function", "NONE") != "NONE" or not _same_quant(graph, op):
        return None  # TFLM rejects int8 inputs that would need requantizing
    return [np.concatenate(inputs, axis=op.options.get("axis", 0))]


# --- values ---


@folds("CAST")
def fold_cast(graph: Graph, op: Op, inputs: Values) -> Values | None:
    """static_cast<To>(from) per element: integer narrowing wraps, float -> int truncates."""
    (x,) = inputs
    out = _out(graph, op)
    to = np.dtype(_np_dtype(out))
    if out.dtype == "bool":
        return [x != 0]
    if x.dtype.kind == "f" and to.kind in "iu":
        info = np.iinfo(to)
        if not np.all(np.isfinite(x)) or np.any(np.trunc(x) < info.min) or \
                np.any(np.trunc(x) > info.max):
            return None  # undefined behaviour in C++
        return [np.trunc(x).astype(to)]
    if x.dtype.kind in "iub" and to.kind in "iu":
        return [x.astype(np.int64).astype(to)]  # two's complement wrap, as static_cast does
    return [x.astype(to)]


@folds("FILL")
def fold_fill(graph: Graph, op: Op, inputs: Values) -> Values | None:
    dims, value = inputs
    out = _out(graph, op)
    if tuple(_ints(dims)) != out.shape or value.size != 1 or not _same_quant(graph, op):
        return None  # TFLM requires the output's stored dims to equal `dims`
    return [np.full(out.shape, value.reshape(()), dtype=_np_dtype(out))]


@folds("RANGE")
def fold_range(graph: Graph, op: Op, inputs: Values) -> Values | None:
    """TFLite range.cc: out[0] = start, out[i + 1] = out[i] + delta, computed in the type."""
    start, limit, delta = (v.reshape(()) for v in inputs)
    out = _out(graph, op)
    if delta == 0 or not ((start <= limit and delta > 0) or (start >= limit and delta < 0)):
        return None
    if start.dtype.kind in "iu":
        s, lim, d = int(start), int(limit), int(delta)
        size = (abs(lim - s) + abs(d) - 1) // abs(d)
    else:
        size = int(np.ceil(np.abs((limit - start) / delta)))
    if size != out.size:
        return None
    values = np.empty(size, dtype=_np_dtype(out))
    value = start.astype(values.dtype)
    with np.errstate(over="ignore"):
        for i in range(size):
            values[i] = value
            value = (value + delta).astype(values.dtype)
    return [values]


def _unquantized_ints(graph: Graph, op: Op) -> bool:
    tensors = [graph.tensor(t) for t in op.inputs if t >= 0] + [_out(graph, op)]
    return all(t.dtype in ("int32", "int64") and t.quant is None for t in tensors)


def _wrap(values: np.ndarray, tensor: Tensor) -> np.ndarray:
    """C's two's complement wrap-around (in practice) for int32/int64 results."""
    return np.asarray(values).astype(_np_dtype(tensor))


@folds("REDUCE_PROD")
def fold_reduce_prod(graph: Graph, op: Op, inputs: Values) -> Values | None:
    x, axes = inputs
    if not _unquantized_ints(graph, op.replace(inputs=op.inputs[:1])):
        return None
    rank = x.ndim
    axes_list = sorted({a + rank if a < 0 else a for a in _ints(axes)})
    if any(not 0 <= a < rank for a in axes_list):
        return None
    with np.errstate(over="ignore"):
        result = np.prod(x, axis=tuple(axes_list), keepdims=bool(op.options.get("keep_dims")),
                         dtype=x.dtype)  # wraps like the int32 product in C
    return [result]


_ARITHMETIC = {
    "ADD": np.add,
    "SUB": np.subtract,
    "MUL": np.multiply,
    "MAXIMUM": np.maximum,
    "MINIMUM": np.minimum,
}


def _fold_int_arithmetic(graph: Graph, op: Op, inputs: Values) -> Values | None:
    """int32/int64 elementwise shape arithmetic (batch * 4 and the like); never quantized data."""
    if not _unquantized_ints(graph, op) or op.options.get("fused_activation_function",
                                                           "NONE") != "NONE":
        return None
    a, b = (v.astype(np.int64) for v in inputs)
    if op.kind == "FLOOR_DIV":
        if np.any(b == 0):
            return None
        return [_wrap(np.floor_divide(a, b), _out(graph, op))]
    with np.errstate(over="ignore"):
        result = _ARITHMETIC[op.kind](a, b)
    return [_wrap(result, _out(graph, op))]


for _kind in (*_ARITHMETIC, "FLOOR_DIV"):
    folds(_kind)(_fold_int_arithmetic)


@folds("BROADCAST_ARGS")
def fold_broadcast_args(graph: Graph, op: Op, inputs: Values) -> Values | None:
    """TFLM reference_ops::BroadcastArgs: the broadcast of two shapes (1-D int32/int64)."""
    if len(inputs) != 2 or any(np.ndim(v) != 1 for v in inputs):
        return None
    try:
        shape = np.broadcast_shapes(tuple(_ints(inputs[0])), tuple(_ints(inputs[1])))
    except ValueError:
        return None  # shapes that do not broadcast: TFLM's result is not defined
    return [np.array(shape, dtype=_np_dtype(_out(graph, op)))]
