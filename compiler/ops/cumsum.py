"""CUMSUM along a constant axis, float32 and int8, exclusive and reverse, as TFLM's
micro/kernels/cumsum.cc.

CalculateOpData takes float32 or int8 (input and output of one type and shape), an int32 axis
of exactly one element and an input of rank at least 1; the axis is read at Eval (tinyc needs it
constant), negative counted from the end. For int8 it sets up the 8-bit add arithmetic with a
left shift of 20: input multiplier QuantizeMultiplierSmallerThanOneExp(s / (2 s)) = 1/2, output
multiplier QuantizeMultiplierSmallerThanOneExp(2 s / (2^20 output_scale)), both in double; that
function aborts unless the factor is in (0, 1), so tinyc refuses an output scale at or below
input_scale / 2^19. See runtime/cumsum.h for the accumulation (TFLM's start value included).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, unsupported

LEFT_SHIFT = 20  # TFLM's kCumSumIntegerShift


def smaller_than_one_multiplier(op: Op, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp, whose CHECKs abort TFLM: refused here instead."""
    if not 0.0 < real < 1.0:
        raise unsupported(op, f"{what} factor {real:g} is not in (0, 1) (TFLM aborts)")
    multiplier, shift = quantize_multiplier(real)
    if shift > 0:
        raise unsupported(op, f"{what} factor {real:g} rounds to 1 (TFLM aborts)")
    return multiplier, shift


@register(
    "CUMSUM",
    inputs=2,
    types="int8, float32",
    notes="constant int32 axis (one value, negative allowed), any rank; exclusive and reverse; "
    "int8 rescaled as TFLM does (output scale above input scale / 2^19)",
)
def lower_cumsum(graph: Graph, op: Op) -> KernelCall:
    x, axis, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if x.dtype not in ("int8", "float32"):
        raise unsupported(op, f"{x.label} has type {x.dtype} (TFLM's CUMSUM takes int8 and "
                              f"float32)")
    if y.dtype != x.dtype or y.shape != x.shape:
        raise unsupported(op, f"output {y.label} ({y.dtype} {list(y.shape)}) differs from the "
                              f"input ({x.dtype} {list(x.shape)}) in type or shape")
    if axis.dtype != "int32" or axis.size != 1:
        raise unsupported(op, f"the axis input {axis.label} has type {axis.dtype} and "
                              f"{axis.size} element(s) (TFLM requires one int32)")
    if not axis.is_const:
        raise unsupported(op, f"the axis input {axis.label} must be constant")
    rank = len(x.shape)
    if rank == 0:
        raise unsupported(op, f"{x.label} is a scalar (TFLM needs rank at least 1)")
    a = int(np.asarray(axis.data).reshape(-1)[0])
    resolved = a + rank if a < 0 else a
    if not 0 <= resolved < rank:
        raise unsupported(op, f"axis {a} is out of range for an input of rank {rank}")
    if x.size == 0:
        raise unsupported(op, "empty tensors are not supported")
    params: tuple[tuple[str, int], ...] = (
        ("before", math.prod(x.shape[:resolved])),
        ("depth", x.shape[resolved]),
        ("after", math.prod(x.shape[resolved + 1:])),
        ("exclusive", int(bool(op.options.get("exclusive", False)))),
        ("reverse", int(bool(op.options.get("reverse", False)))),
    )
    suffix = "f32"
    if x.dtype == "int8":
        suffix = "s8"
        require_per_tensor(op, x, y)
        twice_max_input_scale = 2 * x.scale
        input_multiplier, input_shift = smaller_than_one_multiplier(
            op, x.scale / twice_max_input_scale, "the input")
        output_multiplier, output_shift = smaller_than_one_multiplier(
            op, twice_max_input_scale / ((1 << LEFT_SHIFT) * y.scale), "the output")
        params += (
            ("left_shift", LEFT_SHIFT),
            ("input_offset", -x.zero_point),
            ("input_multiplier", input_multiplier),
            ("input_shift", input_shift),
            ("output_offset", y.zero_point),
            ("output_multiplier", output_multiplier),
            ("output_shift", output_shift),
        )
    return KernelCall(
        op=op,
        function=f"tinyc_cumsum_{suffix}",
        header="cumsum.h",
        params_type=f"tinyc_cumsum_{suffix}_params",
        params=params,
        args=(TensorArg(x.index), TensorArg(y.index)),
    )
