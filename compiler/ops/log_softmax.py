"""LOG_SOFTMAX over the last dimension, int8 and float32, as TFLM's micro/kernels/log_softmax.cc.

CalculateOpData takes one type for input and output (float32 or int8) and equal shapes. For int8
it requires output scale 16/256 and zero point 127, and computes with beta = 1:
  PreprocessLogSoftmaxScalingExp: input_multiplier / input_left_shift = QuantizeMultiplier-
    GreaterThanOne(min(input_scale * 2^26, 2^31 - 1)) (softmax's PreprocessSoftmaxScaling), and
    reverse_scaling_divisor / shift = QuantizeMultiplierSmallerThanOneExp(2^(31 - left_shift) /
    input_multiplier), all in double;
  diff_min = -CalculateInputRadius(5, input_left_shift).
TFLM aborts (a failed CHECK) where those factors leave their ranges: an input scale of at most
2^-26 (the scaled factor must exceed 1, which also makes the left shift at least 1, so
2^(31 - left_shift) fits an int); tinyc refuses those. The kernel's Q12.19 sum of exps
overflows from 4096 equal values on (TFLM: "safe from overflowing in 2^12 steps"), so the last
dimension is at most 4095 for int8.
"""

from __future__ import annotations

import math

from ..ir import Graph, Op
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, unsupported
from .softmax import softmax_scaling

OUTPUT_SCALE = 16.0 / 256
OUTPUT_ZERO_POINT = 127
MAX_S8_DEPTH = 4095


def log_softmax_params(op: Op, input_scale: float) -> tuple[tuple[str, int], ...]:
    """input_multiplier, input_left_shift, reverse_scaling_divisor, reverse_scaling_right_shift
    and diff_min as CalculateOpData computes them (beta 1)."""
    try:
        multiplier, left_shift, diff_min = softmax_scaling(1.0, input_scale)
    except ValueError:
        raise unsupported(op, f"input scale {input_scale:g} is too small (input_scale * 2^26 "
                              f"must exceed 1; TFLM aborts)") from None
    real_reverse = (1 << (31 - left_shift)) / multiplier
    divisor, reverse_shift = quantize_multiplier(real_reverse)
    if not 0.0 < real_reverse < 1.0 or reverse_shift > 0:
        raise unsupported(op, f"input scale {input_scale:g} gives a reverse scaling factor "
                              f"{real_reverse:g} outside (0, 1) (TFLM aborts)")
    return (
        ("input_multiplier", multiplier),
        ("input_left_shift", left_shift),
        ("reverse_scaling_divisor", divisor),
        ("reverse_scaling_right_shift", -reverse_shift),
        ("diff_min", diff_min),
    )


@register(
    "LOG_SOFTMAX",
    inputs=1,
    types="int8, float32",
    notes="over the last dimension, any rank; int8 output of scale 16/256 and zero point 127 "
    "(as TFLM requires), last dimension at most 4095",
)
def lower_log_softmax(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype not in ("int8", "float32"):
        raise unsupported(op, f"{x.label} has type {x.dtype} (TFLM's LOG_SOFTMAX takes int8 and "
                              f"float32)")
    if y.dtype != x.dtype or y.shape != x.shape:
        raise unsupported(op, f"output {y.label} ({y.dtype} {list(y.shape)}) differs from the "
                              f"input ({x.dtype} {list(x.shape)}) in type or shape")
    if not x.shape:
        raise unsupported(op, f"{x.label} is a scalar (TFLM needs rank at least 1)")
    if x.size == 0:
        raise unsupported(op, "empty tensors are not supported")
    depth = x.shape[-1]
    params: tuple[tuple[str, int], ...] = (("outer_size", math.prod(x.shape[:-1])),
                                           ("depth", depth))
    suffix = "f32"
    if x.dtype == "int8":
        suffix = "s8"
        require_per_tensor(op, x, y)
        if y.scale != OUTPUT_SCALE or y.zero_point != OUTPUT_ZERO_POINT:
            raise unsupported(
                op,
                f"output scale {y.scale:g} and zero point {y.zero_point} are not supported "
                f"(TFLM requires scale 16/256 and zero point 127)",
            )
        if depth > MAX_S8_DEPTH:
            raise unsupported(op, f"a last dimension of {depth} is not supported (at most "
                                  f"{MAX_S8_DEPTH}: TFLM's Q12.19 sum of exps would overflow)")
        params += log_softmax_params(op, x.scale)
    return KernelCall(
        op=op,
        function=f"tinyc_log_softmax_{suffix}",
        header="log_softmax.h",
        params_type=f"tinyc_log_softmax_{suffix}_params",
        params=params,
        args=(TensorArg(x.index), TensorArg(y.index)),
    )
