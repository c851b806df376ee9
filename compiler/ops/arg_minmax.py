"""ARG_MAX and ARG_MIN along a constant axis, as TFLM's micro/kernels/arg_min_max.cc.

TFLM's Eval takes an int32 axis, an int32 output and an int8 or float32 input; everything else
fails there (an int64 output, whatever output_type says, included). It reads the first element
of the axis tensor at Eval; tinyc needs it constant. Quantization plays no part (the index of the
largest raw value is the index of the largest real value). Ties go to the first index, NaNs as
runtime/arg_minmax.h says.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op
from . import KernelCall, TensorArg, register, unsupported

TYPES = {"int8": "s8", "float32": "f32"}


def _lower(graph: Graph, op: Op, name: str) -> KernelCall:
    x, axis, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if x.dtype not in TYPES:
        raise unsupported(op, f"{x.label} has type {x.dtype} (TFLM's {op.kind} takes int8 and "
                              f"float32)")
    if y.dtype != "int32":
        raise unsupported(op, f"output {y.label} has type {y.dtype} (TFLM's {op.kind} writes "
                              f"int32 only)")
    if axis.dtype != "int32":
        raise unsupported(op, f"the axis input {axis.label} has type {axis.dtype} (TFLM "
                              f"requires int32)")
    if not axis.is_const:
        raise unsupported(op, f"the axis input {axis.label} must be constant")
    if axis.size == 0:
        raise unsupported(op, f"the axis input {axis.label} is empty")
    rank = len(x.shape)
    if rank == 0:
        raise unsupported(op, f"{x.label} is a scalar (TFLM needs an input of rank at least 1)")
    a = int(np.asarray(axis.data).reshape(-1)[0])  # TFLM reads the first element only
    resolved = a + rank if a < 0 else a
    if not 0 <= resolved < rank:
        raise unsupported(op, f"axis {a} is out of range for an input of rank {rank}")
    if x.size == 0:
        raise unsupported(op, "empty tensors are not supported")
    outer = math.prod(x.shape[:resolved])
    inner = math.prod(x.shape[resolved + 1:])
    if y.size != outer * inner:
        raise unsupported(op, f"output shape {list(y.shape)} does not match {list(x.shape)} "
                              f"without axis {a}")
    return KernelCall(
        op=op,
        function=f"tinyc_arg_{name}_{TYPES[x.dtype]}",
        header="arg_minmax.h",
        params_type="tinyc_arg_minmax_params",
        params=(("outer", outer), ("axis_size", x.shape[resolved]), ("inner", inner)),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


NOTES = ("int32 output (TFLM writes no other); constant int32 axis, negative allowed, any rank; "
         "ties give the first index")


@register("ARG_MAX", inputs=2, types="int8, float32", notes=NOTES)
def lower_arg_max(graph: Graph, op: Op) -> KernelCall:
    return _lower(graph, op, "max")


@register("ARG_MIN", inputs=2, types="int8, float32", notes=NOTES)
def lower_arg_min(graph: Graph, op: Op) -> KernelCall:
    return _lower(graph, op, "min")
