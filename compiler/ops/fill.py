"""BROADCAST_TO, FILL and ZEROS_LIKE, as TFLM's broadcast_to.cc, fill.cc and zeros_like.cc.

Ops whose inputs are all constant are evaluated at compile time where a folder exists (FILL, in
fold_ops.py); these lowerings handle the run-time cases and whatever folding declined:
  BROADCAST_TO: any type; a constant int32/int64 shape of rank <= 5 that the input broadcasts
    to (input dimensions 1 or equal, aligned on the right); a strided copy whose broadcast
    dimensions have stride 0 (copy_nd.h);
  FILL: int8, int32 and float32 (TFLM's types); the scalar value may be computed at run time;
    the constant dims (any integer type, as TFLM's EnsureEq) must equal the output's shape;
  ZEROS_LIKE: int8, int32, int64 and float32; the output is all zero bytes, the value 0 of
    every such type. TFLM writes 0 whatever the quantization (not the zero point), and so does
    tinyc.
None of them looks at quantization, as in TFLM.
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import Alias, KernelCall, TensorArg, register, unsupported
from .strided_copy import (
    INT32_MAX,
    const_ints,
    copy_step,
    require_dtype,
    require_same_dtype,
    row_major_strides,
)

BROADCAST_TYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")
BROADCAST_MAX_RANK = 5  # broadcast_to.cc kMaxDims
FILL_TYPES = ("int8", "int32", "float32")
ZEROS_LIKE_TYPES = ("int8", "int32", "int64", "float32")
FILL_WIDTHS = {1: "x8", 4: "x32"}


@register("BROADCAST_TO", types="int8, uint8, int16, int32, int64, float32, bool", inputs=2,
          notes="constant int32/int64 shape, rank <= 5; input dimensions 1 or equal")
def lower_broadcast_to(graph: Graph, op: Op) -> KernelCall | Alias:
    x, shape_tensor, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                          graph.tensor(op.outputs[0]))
    require_same_dtype(op, x, y)
    require_dtype(op, x, BROADCAST_TYPES)
    shape = const_ints(op, shape_tensor, "the shape", ("int32", "int64"))
    if len(shape_tensor.shape) != 1:
        raise unsupported(op, f"the shape operand has rank {len(shape_tensor.shape)} (TFLM "
                              f"takes a vector)")
    rank = len(shape)
    if rank > BROADCAST_MAX_RANK or len(x.shape) > rank:
        raise unsupported(op, f"input rank {len(x.shape)} to shape {shape} (TFLM broadcasts to "
                              f"rank <= {BROADCAST_MAX_RANK}, from a rank no larger)")
    if list(y.shape) != shape:
        raise unsupported(op, f"output shape {list(y.shape)} is not the shape operand {shape}")
    extended = (1,) * (rank - len(x.shape)) + tuple(x.shape)
    if any(d not in (1, s) for d, s in zip(extended, shape, strict=True)):
        raise unsupported(op, f"input shape {list(x.shape)} does not broadcast to {shape}")
    strides = row_major_strides(extended)
    view = [(s, 0 if d == 1 else stride)
            for d, s, stride in zip(extended, shape, strides, strict=True)]
    return copy_step(graph, op, x, y, view)


@register("FILL", types="int8, int32, float32", inputs=2,
          notes="constant dims equal to the output shape; the scalar value may be computed at "
                "run time")
def lower_fill(graph: Graph, op: Op) -> KernelCall:
    dims, value, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                      graph.tensor(op.outputs[0]))
    require_same_dtype(op, value, y)
    require_dtype(op, y, FILL_TYPES)
    if value.shape != ():
        raise unsupported(op, f"value of shape {list(value.shape)} (TFLM requires a scalar)")
    shape = const_ints(op, dims, "dims", ("int8", "int16", "int32", "int64"))
    if len(dims.shape) != 1 or shape != list(y.shape):
        raise unsupported(op, f"dims {shape} is not the output shape {list(y.shape)} (TFLM "
                              f"requires them equal)")
    if y.size > INT32_MAX:
        raise unsupported(op, "the output has too many elements")
    return KernelCall(
        op=op,
        function=f"tinyc_fill_{FILL_WIDTHS[y.itemsize]}",
        header="fill.h",
        params_type="tinyc_fill_params",
        params=(("count", y.size),),
        args=(TensorArg(value.index), TensorArg(y.index)),
    )


@register("ZEROS_LIKE", types="int8, int32, int64, float32", inputs=1,
          notes="writes 0 (not the zero point), as TFLM")
def lower_zeros_like(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_same_dtype(op, x, y)
    require_dtype(op, x, ZEROS_LIKE_TYPES)
    if x.size != y.size:
        raise unsupported(op, f"input {list(x.shape)} and output {list(y.shape)} hold different "
                              f"numbers of elements")
    if y.nbytes > INT32_MAX:
        raise unsupported(op, "the output is too large")
    return KernelCall(
        op=op,
        function="tinyc_zeros_like_x8",
        header="fill.h",
        params_type="tinyc_zeros_like_params",
        params=(("bytes", y.nbytes),),
        args=(TensorArg(y.index),),
    )
