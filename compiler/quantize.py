"""Requantization constants, computed exactly as TFLite Micro's Prepare functions compute them.

Pure functions on Python floats (which are IEEE doubles, like TFLM's `double`) and numpy float32.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def f32(x: float) -> float:
    """Round a Python float to float32 and back: TFLM's `float` intermediates."""
    return float(np.float32(x))


def round_half_away(x: float) -> int:
    """TfLiteRound / std::round: halves round away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


ROUNDINGS = ("double", "single")
_ROUNDING: contextvars.ContextVar[str] = contextvars.ContextVar("tinyc_rounding", default="double")


@contextlib.contextmanager
def rounding_mode(mode: str) -> Iterator[None]:
    """Compile under a requantization mode: "double" (TFLM's reference kernels, gemmlowp's two
    roundings; the default) or "single" (TFLite built with TFLITE_SINGLE_ROUNDING: one rounding
    shift of a 64-bit product). quantize_multiplier, multiply_by_quantized_multiplier and the
    tables built from them follow it; the generated code defines TINYC_SINGLE_ROUNDING to match.
    """
    if mode not in ROUNDINGS:
        raise ValueError(f"rounding {mode!r}: expected one of {', '.join(ROUNDINGS)}")
    token = _ROUNDING.set(mode)
    try:
        yield
    finally:
        _ROUNDING.reset(token)


def rounding() -> str:
    """The requantization mode being compiled: "double" or "single"."""
    return _ROUNDING.get()


def single_rounding() -> bool:
    return _ROUNDING.get() == "single"


class QuantizationError(ValueError):
    """A rescale factor the runtime cannot apply (or TFLM would apply with undefined behaviour);
    lowering reports it as unsupported, naming the op."""


def quantize_multiplier(real: float, max_shift: int = 30) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: real ~= multiplier * 2**(shift - 31), multiplier in [2**30, 2**31).

    `shift` is the left shift (negative shifts right), as MultiplyByQuantizedMultiplier takes it.
    A left shift above `max_shift` is refused: TFLM computes `x * (1 << shift)` in int32, undefined
    from 31 on, and such a factor (2^30 or more) only comes from a corrupt or absurd model.
    Under single rounding TFLite saturates a shift above 30 to (2^31 - 1, 30) instead, which
    only then meets `max_shift`.
    """
    if not math.isfinite(real):
        raise QuantizationError(f"rescale factor {real} is not a finite number")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:  # everything would be shifted out: TFLM flushes to zero
        return 0, 0
    if shift > 30 and single_rounding():  # quantization_util.cc under TFLITE_SINGLE_ROUNDING
        q_fixed, shift = (1 << 31) - 1, 30
    if shift > max_shift:
        raise QuantizationError(f"rescale factor {real:g} is too large (at most 2^{max_shift})")
    return q_fixed, shift


def quantize_value(x: float, scale: float, zero_point: int) -> int:
    """TFLM Quantize for activation bounds: zero_point + round(float(x) / scale), in float."""
    return zero_point + round_half_away(f32(f32(x) / f32(scale)))


def activation_range(
    activation: str, scale: float, zero_point: int, qmin: int = INT8_MIN, qmax: int = INT8_MAX
) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized for a fused activation on an int8 output."""
    bounds = {
        "NONE": (None, None),
        "RELU": (0.0, None),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }
    if activation not in bounds:
        raise ValueError(activation)
    low, high = bounds[activation]
    act_min = qmin if low is None else max(qmin, quantize_value(low, scale, zero_point))
    act_max = qmax if high is None else min(qmax, quantize_value(high, scale, zero_point))
    return act_min, act_max


def float_activation_range(activation: str) -> tuple[float, float]:
    """TFLM CalculateActivationRange for float outputs: NONE clamps to the float32 limits."""
    big = float(np.finfo(np.float32).max)
    return {
        "NONE": (-big, big),
        "RELU": (0.0, big),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }[activation]


def conv_multipliers(
    input_scale: float, filter_scales: tuple[float, ...], output_scale: float, channels: int
) -> tuple[list[int], list[int]]:
    """Per-channel multipliers and shifts as PopulateConvolutionQuantizationParams makes them.

    A per-tensor filter scale is broadcast over `channels`; products are taken in double.
    """
    scales = filter_scales if len(filter_scales) > 1 else filter_scales * channels
    pairs = [quantize_multiplier(input_scale * s / output_scale) for s in scales]
    return [m for m, _ in pairs], [s for _, s in pairs]


def per_tensor_conv_multiplier(
    input_scale: float, filter_scale: float, output_scale: float
) -> tuple[int, int]:
    """FULLY_CONNECTED's per-tensor multiplier: input_scale * filter_scale / output_scale in double.

    TFLM's source at 90b983c (kernel_util.cc, GetQuantizedConvolutionMultipler) takes the scale
    product in float, but the tflite-micro interpreter we verify against rounds as if in double:
    on ad01_int8 the float product gives -22 where TFLM gives -21 (seed 1, sample 24, output 109;
    see tests/test_e2e_dense.py). The oracle decides.
    """
    return quantize_multiplier(input_scale * filter_scale / output_scale)


# --- Reference integer arithmetic, used by the compiler's constant folding and by unit tests. ---


def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 operands."""
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    total = ab + nudge
    return -((-total) >> 31) if total < 0 else total >> 31  # C division truncates toward 0


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT: round half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLM's MultiplyByQuantizedMultiplier (int32 x) in the mode being compiled: double rounding
    (gemmlowp) or single rounding."""
    if single_rounding():
        return multiply_by_quantized_multiplier_single(x, multiplier, shift)
    return multiply_by_quantized_multiplier_double(x, multiplier, shift)


def multiply_by_quantized_multiplier_single(x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier under TFLITE_SINGLE_ROUNDING (common.cc): the 64-bit product
    x * multiplier plus 2^(30 - shift), arithmetically shifted right by 31 - shift, kept to its
    low 32 bits (static_cast<int32_t>). TFLite's contract: multiplier >= 0, -31 <= shift <= 30."""
    total_shift = 31 - shift
    return wrap_int32((x * multiplier + (1 << (total_shift - 1))) >> total_shift)


def multiply_by_quantized_multiplier_double(x: int, multiplier: int, shift: int) -> int:
    """TFLM's double-rounding MultiplyByQuantizedMultiplier (int32 x)."""
    left = max(shift, 0)
    right = max(-shift, 0)
    shifted = wrap_int32(x * (1 << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def wrap_int32(x):
    """Two's-complement int32 wrap-around (what an int32 accumulator does), for Python ints and
    int64 numpy arrays alike."""
    return (x + (1 << 31)) % (1 << 32) - (1 << 31)


def fold_input_offset(bias: np.ndarray | None, weights: np.ndarray, zero_point: int,
                      channels: int, sum_axes: tuple[int, ...],
                      input_range: tuple[int, int] = (INT8_MIN, INT8_MAX)) -> np.ndarray:
    """bias[c] - zero_point * sum(weights of channel c), as int32 with wrap-around.

    sum_c w * (x - zp) + b == sum_c w * x + (b - zp * sum_c w) exactly in int32, so kernels that
    take this bias run plain int8 dot products. A missing bias counts as zeros. The accumulator's
    range is checked first (`check_accumulator`).
    """
    check_accumulator(bias, weights, zero_point, channels, sum_axes, input_range)
    values = bias.astype(np.int64) if bias is not None else np.zeros(channels, np.int64)
    values = values - zero_point * weights.astype(np.int64).sum(axis=sum_axes)
    return wrap_int32(values).astype(np.int32)


def check_accumulator(bias: np.ndarray | None, weights: np.ndarray, zero_point: int,
                      channels: int, sum_axes: tuple[int, ...],
                      input_range: tuple[int, int] = (INT8_MIN, INT8_MAX)) -> None:
    """Refuse (QuantizationError) weights and biases for which the int32 sum of bias and
    products, with the input offset applied or folded into the bias, could leave int32 for some
    input in `input_range`: TFLM's accumulator would overflow, which C leaves undefined, so no
    bit-exact answer exists. Only corrupt models come near this."""
    values = bias.astype(np.int64) if bias is not None else np.zeros(channels, np.int64)
    weight_mass = np.abs(weights.astype(np.int64)).sum(axis=sum_axes)
    folded = values - zero_point * weights.astype(np.int64).sum(axis=sum_axes)
    low, high = input_range
    centred = max(abs(low - zero_point), abs(high - zero_point))
    worst = np.maximum(np.abs(values) + weight_mass * centred,
                       np.abs(folded) + weight_mass * max(abs(low), abs(high)))
    if worst.size and int(worst.max()) > (1 << 31) - 1:
        raise QuantizationError(
            f"the bias and weights of channel {int(np.argmax(worst))} can take the int32 "
            f"accumulator to {int(worst.max())}, which overflows (corrupt bias or weights?)"
        )
