"""SOFTMAX over the last dimension: int8 -> int8, int8 -> int16, int16 -> int16, float32 -> float32.

These are the pairs TFLM's CalculateSoftmaxParams accepts (an int16 output takes int8 or int16
input, any other output the input's type); the rest are refused.

- int8 input: TFLM's fixed-point algorithm (reference_ops::Softmax<int8_t, int8_t/int16_t>).
  The constants are computed as CalculateSoftmaxParams does for int8: PreprocessSoftmaxScaling
  (beta * input_scale * 2^26 in double, capped at 2^31 - 1, then QuantizeMultiplierGreaterThanOne)
  and diff_min = -CalculateInputRadius(5, input_left_shift).
- int16 input: TFLM's table-based algorithm (reference_ops::SoftmaxInt16). Prepare fills two
  513-entry tables with LUTPopulate<int16_t> (exp on [-10, 0] and 1 / (1 + x) on [0, 1]); they
  depend on nothing in the model, so tinyc computes them here with TFLM's float32 arithmetic and
  stores them as const arrays. The input difference is rescaled with QuantizeMultiplier(
  input_scale * beta / (10 / 65535)) so that [-65535, 0] covers [-10, 0].
- float32: reference_ops::Softmax<float> (exp, sum and divide in float; see runtime/softmax.h).
See runtime/softmax.h for the kernels.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ..ir import Graph, Op
from ..quantize import quantize_multiplier, single_rounding
from . import (
    ArrayArg,
    ConstArray,
    KernelCall,
    TensorArg,
    register,
    require_per_tensor,
    require_types,
    unsupported,
)

SCALED_DIFF_INTEGER_BITS = 5  # TFLM's kScaledDiffIntegerBits: exp() input is Q5.26
LUT_SIZE = 513  # LUTSize<int16_t>(): 512 intervals and the end point
MAX_S16_DEPTH = 1 << 16  # more int16 exps (each < 2^15) could overflow TFLM's int32 sum


def softmax_scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) exactly as TFLM computes them for int8.

    `beta` and `input_scale` are the float32 values from the model; TFLM widens both to double.
    """
    # PreprocessSoftmaxScaling: 2^30 - 1 under TFLITE_SINGLE_ROUNDING (quantize.rounding_mode)
    max_real_multiplier = float((1 << 30) - 1 if single_rounding() else (1 << 31) - 1)
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


# --- int16: the tables TFLM's Prepare computes (InitializeLutForInt16) ---

_f32 = np.float32


def _expf(x: np.float32) -> np.float32:
    """std::exp(float), as the double exp rounded to float32 (so compiles are the same on every
    host). C libraries' expf may differ by one ULP (glibc's does at one point the exp table
    samples), but no table entry changes: tests/test_op_softmax_s16.py checks the tables against
    ones made with the C library's expf."""
    return _f32(math.exp(float(x)))


def _round(x: np.float32) -> np.float32:
    """TfLiteRound on a float: std::round, halves away from zero (exact in float32)."""
    return _f32(math.floor(abs(float(x)) + 0.5) * (1.0 if x >= 0 else -1.0))


def lut_populate_s16(
    input_scale: np.float32,
    input_zero_point: int,
    output_scale: np.float32,
    output_zero_point: int,
    transform: Callable[[np.float32], np.float32],
) -> np.ndarray:
    """TFLM detail::LUTPopulateInt16<float>, every operation in float32 in TFLM's order."""
    input_min = input_scale * _f32(-32768 - input_zero_point)
    input_max = input_scale * _f32(32767 - input_zero_point)
    output_min = output_scale * _f32(-32768 - output_zero_point)
    output_max = output_scale * _f32(32767 - output_zero_point)
    nb_steps = 512
    step = (input_max - input_min) / _f32(nb_steps)
    half_step = step / _f32(2)
    output_scaling_inv = _f32(65536) / (output_max - output_min)
    lut = np.zeros(nb_steps + 1, np.int16)
    for i in range(nb_steps):
        val = transform(input_min + _f32(i) * step)
        val_midpoint = transform(input_min + _f32(i) * step + half_step)
        val_next = transform(input_min + _f32(i + 1) * step)
        sample_val = _round(val * output_scaling_inv)
        midpoint_interp_val = _round(
            (val_next * output_scaling_inv + _round(val * output_scaling_inv)) / _f32(2)
        )
        midpoint_val = _round(val_midpoint * output_scaling_inv)
        midpoint_err = midpoint_interp_val - midpoint_val
        bias = _round(midpoint_err / _f32(2))
        lut[i] = int(min(max(float(sample_val - bias), -32768.0), 32767.0))
    last = _round(transform(input_max) * output_scaling_inv)
    lut[nb_steps] = int(min(max(float(last), -32768.0), 32767.0))
    return lut


def lut_sample_points(input_scale: np.float32, input_zero_point: int) -> list[np.float32]:
    """The float32 inputs lut_populate_s16 passes to its transform (for the tests)."""
    input_min = input_scale * _f32(-32768 - input_zero_point)
    input_max = input_scale * _f32(32767 - input_zero_point)
    step = (input_max - input_min) / _f32(512)
    half_step = step / _f32(2)
    points = [input_min + _f32(i) * step for i in range(513)]
    points += [input_min + _f32(i) * step + half_step for i in range(512)]
    return points + [input_max]


_RANGE = _f32(65535)  # int16 max - int16 min, an int32 converted to float
EXP_LUT_PARAMS = (_f32(10.0) / _RANGE, 32767, _f32(2.0) / _RANGE, 0)
ONE_OVER_ONE_PLUS_X_LUT_PARAMS = (_f32(1.0) / _RANGE, -32768, _f32(2.0) / _RANGE, 0)


@functools.cache
def softmax_luts_s16() -> tuple[np.ndarray, np.ndarray]:
    """(exp LUT on [-10, 0], 1 / (1 + x) LUT on [0, 1]), Q0.15, as TFLM's Prepare fills them."""
    exp_lut = lut_populate_s16(*EXP_LUT_PARAMS, _expf)
    reciprocal_lut = lut_populate_s16(
        *ONE_OVER_ONE_PLUS_X_LUT_PARAMS, lambda v: _f32(1.0) / (_f32(1.0) + v)
    )
    exp_lut.setflags(write=False)
    reciprocal_lut.setflags(write=False)
    return exp_lut, reciprocal_lut


def _near(value: float, target: np.float32, tolerance: np.float32) -> bool:
    """TF_LITE_ENSURE_NEAR on floats: |value - target| <= tolerance, computed in float32."""
    a, b = _f32(value), target
    return bool((a - b if a > b else b - a) <= tolerance)


@register(
    "SOFTMAX",
    inputs=1,
    types="int8 → int8, int8 → int16, int16 → int16, float32",
    notes="over the last dimension, any rank and beta; the output must have scale 1/256 and "
    "zero point -128 (int8 → int8), scale 1/65536 and zero point -32768 (int8 → int16), or "
    "scale 1/32768 and zero point 0 with input zero point 0 (int16), as TFLM requires",
)
def lower_softmax(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    signature = require_types(
        graph,
        op,
        {("int8", "int8"), ("int8", "int16"), ("int16", "int16"), ("float32", "float32")},
    )
    if not x.shape or x.shape != y.shape:
        raise unsupported(
            op,
            f"input shape {list(x.shape)} and output shape {list(y.shape)} "
            f"must be equal and of rank at least 1",
        )
    depth = x.shape[-1]
    outer_size = x.size // depth if depth else 0
    beta = float(op.options.get("beta", 1.0))
    if signature[0] == "float32":
        return KernelCall(
            op=op,
            function="tinyc_softmax_f32",
            header="softmax.h",
            params_type="tinyc_softmax_f32_params",
            params=(("outer_size", outer_size), ("depth", depth), ("beta", beta)),
            args=(TensorArg(x.index), TensorArg(y.index)),
        )
    require_per_tensor(op, x, y)
    if signature[0] == "int16":
        return _lower_softmax_s16(op, x, y, beta, outer_size, depth)
    if signature[1] == "int8":
        function, required = "tinyc_softmax_s8", "scale 1/256 and zero point -128"
        ok = y.zero_point == -128 and y.scale == 1.0 / 256
    else:
        function, required = "tinyc_softmax_s8_s16", "scale 1/65536 and zero point -32768"
        ok = y.zero_point == -32768 and _near(y.scale, _f32(1.0) / _f32(65536),
                                               _f32(0.001) * _f32(1.0) / _f32(65536))
    if not ok:
        raise unsupported(
            op,
            f"output scale {y.scale:g} and zero point {y.zero_point} are not "
            f"supported (TFLM requires {required})",
        )
    try:
        multiplier, left_shift, diff_min = softmax_scaling(beta, x.scale)
    except ValueError:
        raise unsupported(
            op,
            f"beta={beta:g} with input scale {x.scale:g} is not supported (beta"
            f" * input_scale * 2^26 must exceed 1, as TFLM requires)",
        ) from None
    return KernelCall(
        op=op,
        function=function,
        header="softmax.h",
        params_type="tinyc_softmax_s8_params",
        params=(
            ("outer_size", outer_size),
            ("depth", depth),
            ("input_multiplier", multiplier),
            ("input_left_shift", left_shift),
            ("diff_min", diff_min),
        ),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


def _lower_softmax_s16(op: Op, x, y, beta: float, outer_size: int, depth: int) -> KernelCall:
    if x.zero_point != 0:
        raise unsupported(
            op, f"int16 input zero point {x.zero_point} is not supported (TFLM requires 0)"
        )
    if y.zero_point != 0 or not _near(y.scale, _f32(1.0) / _f32(32768),
                                      _f32(0.001) * _f32(1.0) / _f32(32768)):
        raise unsupported(
            op,
            f"output scale {y.scale:g} and zero point {y.zero_point} are not supported "
            f"(TFLM requires scale 1/32768 and zero point 0 for int16)",
        )
    if depth > MAX_S16_DEPTH:
        raise unsupported(
            op,
            f"a last dimension of {depth} is not supported (at most {MAX_S16_DEPTH}: TFLM's "
            f"int32 sum of exps would overflow)",
        )
    # CalculateSoftmaxParams, int16: the product and quotient in double, then QuantizeMultiplier
    # (a left shift above 30 is refused there).
    multiplier, shift = quantize_multiplier(x.scale * beta / (10.0 / 65535.0))
    exp_lut, reciprocal_lut = softmax_luts_s16()
    return KernelCall(
        op=op,
        function="tinyc_softmax_s16",
        header="softmax.h",
        params_type="tinyc_softmax_s16_params",
        params=(
            ("outer_size", outer_size),
            ("depth", depth),
            ("input_multiplier", multiplier),
            ("input_left_shift", shift),
        ),
        args=(TensorArg(x.index), TensorArg(y.index), ArrayArg("exp_lut"),
              ArrayArg("one_over_one_plus_x_lut")),
        arrays=(
            ConstArray("exp_lut", "int16_t", exp_lut),
            ConstArray("one_over_one_plus_x_lut", "int16_t", reciprocal_lut),
        ),
    )
