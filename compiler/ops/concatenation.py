"""CONCATENATION along any axis, for the types TFLM's concatenation.cc takes.

concatenation.cc accepts float32, int8, int16, int32, int64 and bool (inputs and output of one
type; uint8 and the rest are refused), no fused activation, at most 10 inputs of rank <= 6. It
rejects int8 inputs whose scale or zero point differ from the output's and int16 tensors with a
zero point other than 0; it does not compare int16 scales, nor look at the quantization of the
other types. So there is nothing to requantize: the kernel copies values (runtime/
concatenation.h, one kernel per element width), and tinyc rejects what TFLM rejects. Constant
int32 shape arithmetic (CONCATENATION feeding a RESHAPE's shape) is folded before lowering.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op
from . import ArrayArg, ConstArray, KernelCall, TensorArg, register, require_option, unsupported

MAX_INPUTS = 10  # TFLM's kMaxInputNum; runtime/concatenation.h has one wrapper per count
MAX_RANK = 6  # TFLM's RuntimeShape::kMaxSmallSize
WIDTH = {"int8": "x8", "bool": "x8", "int16": "x16", "int32": "x32", "float32": "x32",
         "int64": "x64"}


@register(
    "CONCATENATION",
    inputs=(1, MAX_INPUTS),
    types="int8, int16, int32, int64, float32, bool",
    notes="any axis, up to 10 inputs, rank <= 6; int8 inputs must share the output's "
    "quantization and int16 zero points be 0 (as TFLM requires; int16 scales are not "
    "compared, the values are copied); no fused activation",
)
def lower_concatenation(graph: Graph, op: Op) -> KernelCall:
    inputs = [graph.tensor(t) for t in op.inputs]
    y = graph.tensor(op.outputs[0])
    dtype = inputs[0].dtype
    if dtype not in WIDTH:
        raise unsupported(op, f"{inputs[0].label} has type {dtype} (TFLM concatenates "
                              f"{', '.join(sorted(WIDTH))})")
    for t in inputs[1:] + [y]:
        if t.dtype != dtype:
            raise unsupported(op, f"{t.label} has type {t.dtype}, the first input {dtype} "
                                  "(TFLM requires one type)")
    require_option(op, "fused_activation_function", {"NONE"})
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise unsupported(op, f"{len(inputs)} inputs (TFLM supports at most {MAX_INPUTS})")
    rank = len(y.shape)
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank} tensors are not supported (at most {MAX_RANK})")
    axis = op.options.get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise unsupported(op, f"axis {op.options.get('axis')} is out of range for rank {rank}")
    for t in inputs:
        if len(t.shape) != rank or any(
            d != o for j, (d, o) in enumerate(zip(t.shape, y.shape, strict=True)) if j != axis
        ):
            raise unsupported(
                op,
                f"input shape {list(t.shape)} does not match output shape "
                f"{list(y.shape)} outside axis {axis}",
            )
    if dtype == "int8":
        _check_int8(op, inputs, y)
    elif dtype == "int16":
        _check_int16(op, inputs, y)
    if sum(t.shape[axis] for t in inputs) != y.shape[axis]:
        raise unsupported(op, f"input sizes along axis {axis} do not add up to the output's")
    inner = math.prod(y.shape[axis + 1 :])
    copy_sizes = np.array([t.shape[axis] * inner for t in inputs], np.int32)
    return KernelCall(
        op=op,
        function=f"tinyc_concatenation{len(inputs)}_{WIDTH[dtype]}",
        header="concatenation.h",
        params_type="tinyc_concatenation_params",
        params=(("outer_size", math.prod(y.shape[:axis])), ("input_count", len(inputs))),
        args=(ArrayArg("copy_sizes"), *(TensorArg(t.index) for t in inputs), TensorArg(y.index)),
        arrays=(ConstArray("copy_sizes", "int32_t", copy_sizes),),
    )


def _check_int8(op: Op, inputs, y) -> None:
    """concatenation.cc: every int8 input's scale and zero point equal the output's."""
    for t in inputs + [y]:
        if t.quant is None or t.quant.per_channel:
            raise unsupported(op, "int8 tensors must have per-tensor quantization")
    for t in inputs:
        if t.scale != y.scale or t.zero_point != y.zero_point:
            raise unsupported(
                op,
                f"input {t.label} has scale {t.scale:g} / zero point "
                f"{t.zero_point}, output has {y.scale:g} / {y.zero_point}: "
                "TFLM requires identical int8 quantization (no rescaling)",
            )


def _check_int16(op: Op, inputs, y) -> None:
    """concatenation.cc: int16 zero points 0 (an unquantized tensor's is 0); scales unchecked."""
    for t in inputs + [y]:
        if t.quant is not None and t.quant.per_channel:
            raise unsupported(op, f"{t.label} has per-channel quantization")
        if t.quant is not None and t.zero_point != 0:
            raise unsupported(op, f"{t.label} has zero point {t.zero_point}: TFLM requires "
                                  "int16 zero points of 0")
