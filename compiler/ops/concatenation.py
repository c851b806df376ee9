"""CONCATENATION of int8 activations along any axis.

TFLM (concatenation.cc) rejects int8 inputs whose scale or zero point differ from the output's,
so there is nothing to requantize: the kernel copies bytes. tinyc rejects the same models.
int32 shape arithmetic (CONCATENATION feeding a RESHAPE's shape) is constant-folded before
lowering; any other type is unsupported here.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op
from . import ArrayArg, ConstArray, KernelCall, TensorArg, register, require_option, unsupported

MAX_INPUTS = 10  # TFLM's kMaxInputNum; runtime/concatenation.h has one wrapper per count
MAX_RANK = 6  # TFLM's RuntimeShape::kMaxSmallSize


@register(
    "CONCATENATION",
    inputs=(1, MAX_INPUTS),
    types="int8",
    notes="any axis, up to 10 inputs, rank <= 6; inputs must share the output's "
    "quantization (as TFLM requires); no fused activation",
)
def lower_concatenation(graph: Graph, op: Op) -> KernelCall:
    inputs = [graph.tensor(t) for t in op.inputs]
    y = graph.tensor(op.outputs[0])
    for t in inputs + [y]:
        if t.dtype != "int8":
            raise unsupported(op, f"{t.label} has type {t.dtype} (only int8 is supported)")
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
        if t.quant is None or y.quant is None or t.quant.per_channel or y.quant.per_channel:
            raise unsupported(op, "int8 tensors must have per-tensor quantization")
        if t.scale != y.scale or t.zero_point != y.zero_point:
            raise unsupported(
                op,
                f"input {t.label} has scale {t.scale:g} / zero point "
                f"{t.zero_point}, output has {y.scale:g} / {y.zero_point}: "
                "TFLM requires identical int8 quantization (no rescaling)",
            )
    if sum(t.shape[axis] for t in inputs) != y.shape[axis]:
        raise unsupported(op, f"input sizes along axis {axis} do not add up to the output's")
    inner = math.prod(y.shape[axis + 1 :])
    copy_sizes = np.array([t.shape[axis] * inner for t in inputs], np.int32)
    return KernelCall(
        op=op,
        function=f"tinyc_concatenation{len(inputs)}_s8",
        header="concatenation.h",
        params_type="tinyc_concatenation_s8_params",
        params=(("outer_size", math.prod(y.shape[:axis])), ("input_count", len(inputs))),
        args=(ArrayArg("copy_sizes"), *(TensorArg(t.index) for t in inputs), TensorArg(y.index)),
        arrays=(ConstArray("copy_sizes", "int32_t", copy_sizes),),
    )
