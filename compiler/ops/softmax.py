"""SOFTMAX: int8 in, int8 or int16 out, over the last dimension, TFLM's fixed-point algorithm.

The constants are computed as TFLM's CalculateSoftmaxParams does for int8: PreprocessSoftmaxScaling
(beta * input_scale * 2^26 in double, capped at 2^31 - 1, then QuantizeMultiplierGreaterThanOne)
and diff_min = -CalculateInputRadius(5, input_left_shift). See runtime/softmax.h for the kernel.
"""

from __future__ import annotations

import math

from ..ir import Graph, Op
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, require_types, unsupported

SCALED_DIFF_INTEGER_BITS = 5  # TFLM's kScaledDiffIntegerBits: exp() input is Q5.26


def softmax_scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) exactly as TFLM computes them.

    `beta` and `input_scale` are the float32 values from the model; TFLM widens both to double.
    """
    max_real_multiplier = float((1 << 31) - 1)  # TFLITE_SINGLE_ROUNDING is off in TFLM builds
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), max_real_multiplier)
    if not real > 1.0:
        raise ValueError(f"beta * input_scale * 2^26 = {real} must exceed 1")
    multiplier, left_shift = quantize_multiplier(real, max_shift=31)  # capped above
    # CalculateInputRadius(5, left_shift, 31): floor((2^5 - 1) * 2^26 / 2^left_shift), in double.
    radius = math.floor(
        1.0
        * ((1 << SCALED_DIFF_INTEGER_BITS) - 1)
        * (1 << (31 - SCALED_DIFF_INTEGER_BITS))
        / (1 << left_shift)
    )
    return multiplier, left_shift, -radius


@register(
    "SOFTMAX",
    inputs=1,
    types="int8 → int8, int8 → int16",
    notes="over the last dimension, any rank and beta; the output must have scale 1/256 "
    "and zero point -128 (int8) or scale 1/65536 and zero point -32768 (int16), as "
    "TFLM requires",
)
def lower_softmax(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    signature = require_types(graph, op, {("int8", "int8"), ("int8", "int16")})
    require_per_tensor(op, x, y)
    if not x.shape or x.shape != y.shape:
        raise unsupported(
            op,
            f"input shape {list(x.shape)} and output shape {list(y.shape)} "
            f"must be equal and of rank at least 1",
        )
    if signature[1] == "int8":
        function, required = "tinyc_softmax_s8", "scale 1/256 and zero point -128"
        ok = y.zero_point == -128 and y.scale == 1.0 / 256
    else:
        function, required = "tinyc_softmax_s8_s16", "scale 1/65536 and zero point -32768"
        ok = y.zero_point == -32768 and abs(y.scale - 1.0 / 65536) <= 0.001 / 65536
    if not ok:
        raise unsupported(
            op,
            f"output scale {y.scale:g} and zero point {y.zero_point} are not "
            f"supported (TFLM requires {required})",
        )
    beta = float(op.options.get("beta", 1.0))
    try:
        multiplier, left_shift, diff_min = softmax_scaling(beta, x.scale)
    except ValueError:
        raise unsupported(
            op,
            f"beta={beta:g} with input scale {x.scale:g} is not supported (beta"
            f" * input_scale * 2^26 must exceed 1, as TFLM requires)",
        ) from None
    depth = x.shape[-1]
    return KernelCall(
        op=op,
        function=function,
        header="softmax.h",
        params_type="tinyc_softmax_s8_params",
        params=(
            ("outer_size", x.size // depth if depth else 0),
            ("depth", depth),
            ("input_multiplier", multiplier),
            ("input_left_shift", left_shift),
            ("diff_min", diff_min),
        ),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )
