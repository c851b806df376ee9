"""LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH on int8, int16 and float32.

The types are what TFLM's micro kernels evaluate: all six take int8 and float32; LOGISTIC, TANH,
RELU, RELU6 and LEAKY_RELU also int16 (HARD_SWISH's Eval refuses int16). TFLM registers no
RELU_N1_TO_1 kernel (it exists only as a fused activation), so neither does tinyc.

int8: each op maps one int8 value to one int8 value by a function fixed at compile time by the
tensors' quantization (and LEAKY_RELU's alpha). So instead of porting TFLM's per-element integer
arithmetic to C, the compiler runs a Python port of it on all 256 inputs and the generated code
does one table load per element (`runtime/lut.h`). On a microcontroller that is 256 bytes of
flash per op against, for LOGISTIC/TANH, a fixed-point exp polynomial, barrel shifter and three
Newton-Raphson iterations per element; and the C kernel cannot disagree with the Python reference
because it has no arithmetic of its own.

int16 and float32: a table of every int16 input would be 128 KB per op, so these run in C
(`runtime/activations.h`): TFLM's int16 LOGISTIC/TANH (input rescale, then interpolation in its
256-entry uint16 sigmoid table), ReluQuantized, Relu6Quantized and QuantizeLeakyRelu on int16,
and the reference float kernels. The compiler computes what Prepare computes (below).

The ports below follow TFLM (commit 90b983c) statement by statement, with C's int32/int16
wrap-around and truncating division made explicit:
  - Prepare: micro/kernels/logistic_common.cc, tanh.cc, activations_common.cc,
    leaky_relu_common.cc, hard_swish_common.cc;
  - Eval: reference/integer_ops/logistic.h and tanh.h (gemmlowp fixedpoint.h's logistic and tanh
    on a Q4.27 input), micro/kernels/activations.h (ReluQuantized, Relu6Quantized),
    reference/leaky_relu.h (QuantizeLeakyRelu), reference/hard_swish.h (int16 fixed point).
Where the tflite-micro wheel (the oracle) differs from that source, the wheel wins: it divides
RELU's, LEAKY_RELU's and HARD_SWISH's scales in double where the source reads float
(relu_multiplier).
tests/test_op_activations.py checks every int8 table against the TFLM interpreter on all 256
inputs, and the int16 kernels on all 65,536.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import (
    f32,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
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

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


class ActivationError(ValueError):
    """Parameters TFLM's Prepare rejects (or would run into undefined behaviour with)."""


def _wrap16(x: int) -> int:
    return (x + (1 << 15)) % (1 << 16) - (1 << 15)


def _clamp(x: int, lo: int, hi: int) -> int:
    return min(max(x, lo), hi)


def _trunc_div(n: int, d: int) -> int:
    """C integer division (truncates toward zero) for d > 0."""
    return n // d if n >= 0 else -((-n) // d)


# --- gemmlowp fixedpoint.h on int32 raw values ---------------------------------------------
# A FixedPoint<int32_t, k> holds real = raw / 2^(31 - k). Only the raw ints are tracked here; the
# comments name the formats. gemmlowp's Add/Sub are plain int32 ops (wrap-around in practice).

_srdhm = saturating_rounding_doubling_high_mul
_rdbpot = rounding_divide_by_pot


def _mul_pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT<exponent> (int32): saturating left, rounding right shift."""
    if exponent == 0:
        return x
    if exponent < 0:
        return _rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << exponent


def _rounding_half_sum(a: int, b: int) -> int:
    total = a + b
    return wrap_int32(_trunc_div(total + (1 if total >= 0 else -1), 2))


_EXP_MINUS_ONE_EIGHTH = 1895147668  # Q0.31 exp(-1/8)
_ONE_THIRD = 715827883  # Q0.31 1/3
# exp(-2^e) in Q0.31, applied for each set bit 2^e of the input's integer part (the barrel shifter).
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))
_48_OVER_17 = 1515870810  # Q2.29
_NEG_32_OVER_17 = -1010580540  # Q2.29
_ONE_Q2 = 1 << 29


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    """Q0.31 -> Q0.31: Taylor expansion of exp around -1/8."""
    x = wrap_int32(a + (1 << 28))
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _mul_pot(x4, -2)
    poly = _mul_pot(wrap_int32(_srdhm(wrap_int32(x4_over_4 + x3), _ONE_THIRD) + x2), -1)
    return wrap_int32(_EXP_MINUS_ONE_EIGHTH + _srdhm(_EXP_MINUS_ONE_EIGHTH, wrap_int32(x + poly)))


def _exp_on_negative_values(a: int, integer_bits: int) -> int:
    """Q(integer_bits) input <= 0 -> Q0.31 exp(a)."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = wrap_int32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _mul_pot(a_mod_quarter_minus_one_quarter, integer_bits))  # Rescale<0>
    remainder = wrap_int32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent and remainder & (1 << (fractional_bits + exponent)):
            result = _srdhm(result, multiplier)
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):  # below -32: exp is 0
        result = 0
    return INT32_MAX if a == 0 else result


def _newton_raphson_reciprocal_q2(half_denominator: int) -> int:
    """Q2.29 approximation of 1 / half_denominator (Q0.31 in [1/2, 1)), 3 iterations."""
    x = wrap_int32(_48_OVER_17 + _srdhm(half_denominator, _NEG_32_OVER_17))
    for _ in range(3):
        half_denominator_times_x = _srdhm(half_denominator, x)
        one_minus = wrap_int32(_ONE_Q2 - half_denominator_times_x)
        x = wrap_int32(x + _mul_pot(_srdhm(x, one_minus), 2))  # Rescale<2> of a Q4 product
    return x


def _one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_raphson_reciprocal_q2(_rounding_half_sum(a, INT32_MAX))
    return _mul_pot(x, 1)  # ExactMulByPot<-1> (Q2 -> Q1) then Rescale<0>


def _one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_raphson_reciprocal_q2(_rounding_half_sum(a, INT32_MAX))
    return _mul_pot(wrap_int32(x - _ONE_Q2), 2)  # Rescale<0> of Q2


def gemmlowp_logistic(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic: Q(integer_bits) raw -> Q0.31 raw."""
    if a == 0:
        return 1 << 30
    abs_input = a if a > 0 else wrap_int32(-a)
    if_positive = _one_over_one_plus_x_for_x_in_0_1(
        _exp_on_negative_values(wrap_int32(-abs_input), integer_bits))
    return if_positive if a > 0 else wrap_int32(INT32_MAX - if_positive)


def gemmlowp_tanh(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh: Q(integer_bits) raw -> Q0.31 raw."""
    if a == 0:
        return 0
    n = a if a < 0 else wrap_int32(-a)
    # neg_tanh_on_negative_values: ExactMulByPot<1> makes n a Q(integer_bits + 1) value of 2n.
    t = _one_minus_x_over_one_plus_x_for_x_in_0_1(_exp_on_negative_values(n, integer_bits + 1))
    return wrap_int32(-t) if a < 0 else t


# --- LOGISTIC / TANH ---------------------------------------------------------------------------

_INPUT_INTEGER_BITS = 4  # both kernels take the input in Q4.27


def logistic_tanh_params(input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, input_range_radius) as LogisticPrepare/TanhPrepare.

    TFLM rounds frexp's mantissa without QuantizeMultiplier's 2^31 fix-up; a float32 scale
    times 2^27 has a 24-bit mantissa, so q * 2^31 is an exact integer below 2^31 anyway.
    """
    real = float(np.float32(input_scale)) * float(1 << (31 - _INPUT_INTEGER_BITS))
    q, left_shift = math.frexp(real)
    multiplier = round_half_away(q * (1 << 31))
    if left_shift < 0:
        raise ActivationError(f"input scale {input_scale:g} is too small (TFLM shifts by a "
                              f"negative amount computing its input radius)")
    return multiplier, left_shift, calculate_input_radius(_INPUT_INTEGER_BITS, left_shift)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int,
                           total_signed_bits: int = 31) -> int:
    """TFLM CalculateInputRadius (double version): the largest |input| that does not saturate."""
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1)
                          * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def _logistic_tanh_s8(value: int, input_zero_point: int, params: tuple[int, int, int],
                      curve: Callable[[int, int], int], output_bits: int,
                      output_zero_point: int) -> int:
    """reference_integer_ops::Logistic and Tanh (the same steps) for one int8 value: inputs
    beyond the radius saturate, the rest are rescaled to Q4.27, go through the gemmlowp `curve`
    (Q0.31 out) and are rounded to `output_bits` fractional bits."""
    multiplier, left_shift, radius = params
    x = value - input_zero_point
    if x <= -radius:
        return -128
    if x >= radius:
        return 127
    input_in_q4 = multiply_by_quantized_multiplier(x, multiplier, left_shift)
    output_in_q0 = curve(input_in_q4, _INPUT_INTEGER_BITS)
    return _clamp(_rdbpot(output_in_q0, 31 - output_bits) + output_zero_point, -128, 127)


def logistic_s8(value: int, input_zero_point: int, params: tuple[int, int, int]) -> int:
    """Logistic for one int8 value (output scale 1/256, zero point -128)."""
    return _logistic_tanh_s8(value, input_zero_point, params, gemmlowp_logistic, 8, -128)


def tanh_s8(value: int, input_zero_point: int, params: tuple[int, int, int]) -> int:
    """Tanh for one int8 value (output scale 1/128, zero point 0)."""
    return _logistic_tanh_s8(value, input_zero_point, params, gemmlowp_tanh, 7, 0)


# --- LOGISTIC / TANH on int16: the Prepare half of TFLM's LUT kernels ---------------------------
# reference_integer_ops::Logistic/Tanh (int16) rescale the input to units of 1/(3 * 4096) and
# interpolate in a 256-entry sigmoid table; runtime/activations.h has that loop in C. What the
# compiler computes here is CalculateArithmeticOpDataLogistic's / tanh.cc's int16 branch.

_INT16_INPUT_INTEGER_BITS = 3
_INT16_OUTPUT_FRACTIONAL_BITS = 15


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLM CheckedLog2 (float arithmetic): (x is a power of two within 1e-3 in log2, the
    rounded log2). logf is taken as the correctly rounded log (a double log rounded to float);
    glibc's logf is within an ulp of it, which could only matter for a scale 2^(k +- 1e-3)."""
    x_log2 = f32(f32(math.log(f32(x))) * f32(1.0 / f32(math.log(2.0))))
    rounded = float(round_half_away(x_log2))
    return abs(f32(x_log2 - rounded)) < f32(1e-3), int(rounded)


def logistic_tanh_s16_params(input_scale: float, output_scale: float, tanh: bool
                             ) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, rounding) for tinyc_logistic_s16 / tinyc_tanh_s16.

    TFLM's Prepare takes a power-of-two input scale of 2^-12 (LOGISTIC; TANH also 2^-11) as
    multiplier 0, which Eval turns into 3 << shift with shift 0; any other scale becomes
    scale * 3 * 4096 doubled (shift + 1) until above 32767 / 2, truncated to an integer. Eval's
    rounding term 2^(shift - 1) is computed here too. The output scale must be 2^-15."""
    is_pot, log2_rounded = checked_log2(input_scale)
    left_shift = (15 - _INT16_INPUT_INTEGER_BITS) + log2_rounded
    is_pot = is_pot and left_shift in ((0, 1) if tanh else (0,))
    if is_pot:
        multiplier, left_shift = 3 << left_shift, 0
    else:
        real = f32(input_scale) * 4096.0 * 3.0
        left_shift = 0
        while real <= 32767.0 / 2.0 and left_shift <= 30:
            left_shift += 1
            real *= 2.0
        if real >= 1 << 16:
            raise ActivationError(f"input scale {input_scale:g} is too large: TFLM's input "
                                  f"multiplier {real:.0f} overflows its int32 product with the "
                                  f"input (at most 65535, input scale below 5.33)")
        multiplier = int(real)
        if multiplier == 0:
            raise ActivationError(f"input scale {input_scale:g} is too small: TFLM's input "
                                  f"multiplier is 0 and Eval then shifts 3 left by 31")
    is_pot, log2_rounded = checked_log2(output_scale)
    if not is_pot or log2_rounded != -_INT16_OUTPUT_FRACTIONAL_BITS:
        raise ActivationError(f"output scale {output_scale:g} (TFLM requires 2^-15)")
    return multiplier, left_shift, (1 << (left_shift - 1)) if left_shift > 0 else 0


# --- RELU / RELU6 / LEAKY_RELU -------------------------------------------------------------


def relu_multiplier(input_scale: float, output_scale: float) -> tuple[int, int]:
    """CalculateReluOpData's multiplier: input scale / output scale.

    The source divides the float scales in float and widens the quotient to double; the
    tflite-micro wheel (the oracle) divides in double, which changes some int8 and int16 outputs
    (tests/test_op_activations.py has scales where it does). The same holds for LEAKY_RELU's and
    HARD_SWISH's multipliers."""
    return quantize_multiplier(f32(input_scale) / f32(output_scale))


def leaky_relu_params(input_scale: float, output_scale: float, alpha: float
                      ) -> tuple[int, int, int, int, bool]:
    """CalculateOpDataLeakyRelu, then QuantizeLeakyRelu's sign split of the alpha multiplier:
    (identity multiplier, identity shift, |alpha multiplier|, alpha shift, alpha negative).
    Products and quotients in double, as the wheel computes them (see relu_multiplier)."""
    in_s, out_s, alpha = f32(input_scale), f32(output_scale), f32(alpha)
    alpha_multiplier, alpha_shift = quantize_multiplier(in_s * alpha / out_s)
    identity_multiplier, identity_shift = quantize_multiplier(in_s / out_s)
    negative = alpha_multiplier < 0
    if alpha_multiplier == INT32_MIN:  # only for in * alpha / out within 2^-32 of -2^k
        raise ActivationError("input scale * alpha / output scale rounds to -2^k: TFLM negates "
                              "its multiplier -2^31, which overflows int32")
    return (identity_multiplier, identity_shift, -alpha_multiplier if negative else
            alpha_multiplier, alpha_shift, negative)


def relu6_bounds(input_scale: float, input_zero_point: int, qmin: int, qmax: int
                 ) -> tuple[int, int]:
    """Relu6Prepare: (zero, six) = (zero point, FloatToQuantizedType(6.0f)), on the input scale.

    FloatToQuantizedType divides in float (the wheel does too: 6 / scale near a half rounds as
    the float quotient says) and clamps to the type's range."""
    six_steps = round_half_away(f32(6.0 / f32(input_scale)))
    if six_steps >= 1 << 31:
        raise ActivationError("input scale too small: 6.0 / scale overflows TFLM's int32")
    return input_zero_point, _clamp(six_steps + input_zero_point, qmin, qmax)


def relu_table(input_scale: float, input_zero_point: int, output_scale: float,
               output_zero_point: int) -> Callable[[int], int]:
    """ReluPrepare (CalculateReluOpData<int8_t>) + ReluQuantized."""
    multiplier, shift = relu_multiplier(input_scale, output_scale)
    act_min = max(-128, output_zero_point)  # zero_point + (int)roundf(0.0f / scale)
    act_max = 127  # act_max is +infinity

    def relu(value: int) -> int:
        out = output_zero_point + multiply_by_quantized_multiplier(
            value - input_zero_point, multiplier, shift)
        return _clamp(out, act_min, act_max)

    return relu


def relu6_table(input_scale: float, input_zero_point: int) -> Callable[[int], int]:
    """Relu6Prepare + Relu6Quantized: a clamp on the *input* scale; TFLM ignores the output's."""
    zero, six = relu6_bounds(input_scale, input_zero_point, -128, 127)

    def relu6(value: int) -> int:
        return six if value > six else zero if value < zero else value

    return relu6


def leaky_relu_table(input_scale: float, input_zero_point: int, output_scale: float,
                     output_zero_point: int, alpha: float) -> Callable[[int], int]:
    """CalculateOpDataLeakyRelu + QuantizeLeakyRelu (negative alpha included)."""
    identity_multiplier, identity_shift, safe_alpha, alpha_shift, negative = leaky_relu_params(
        input_scale, output_scale, alpha)

    def leaky_relu(value: int) -> int:
        x = value - input_zero_point
        out = output_zero_point
        if x >= 0:
            out += multiply_by_quantized_multiplier(x, identity_multiplier, identity_shift)
        else:
            scaled = multiply_by_quantized_multiplier(x, safe_alpha, alpha_shift)
            out += -scaled if negative else scaled
        return _clamp(wrap_int32(out), -128, 127)

    return leaky_relu


# --- HARD_SWISH: reference_ops::HardSwish's int16 fixed point ------------------------------------


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul<int16_t>."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return _wrap16(_trunc_div(ab + nudge, 1 << 15))


def _sdhm16(a: int, b: int) -> int:
    """TFLM SaturatingDoublingHighMul: like the above but rounding toward zero."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    return _wrap16(_trunc_div(ab, 1 << 15))


def _rdbpot16(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT<int16_t>: the mask is truncated to int16 like the C code."""
    mask = _wrap16((1 << exponent) - 1)
    remainder = _wrap16(x & mask)
    threshold = _wrap16((mask >> 1) + (1 if x < 0 else 0))
    return _wrap16((x >> exponent) + (1 if remainder > threshold else 0))


def _saturating_left_shift16(value: int, amount: int) -> int:
    return _clamp(value * (1 << amount), INT16_MIN, INT16_MAX)


def _downscale_int32_to_int16_multiplier(multiplier: int) -> int:
    if multiplier >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (multiplier + (1 << 15)) >> 16


def hard_swish_table(input_scale: float, input_zero_point: int, output_scale: float,
                     output_zero_point: int) -> Callable[[int], int]:
    """HardSwishPrepare (float scale arithmetic) + reference_ops::HardSwish<int8_t>."""
    hires_input_scale = f32(f32(1.0 / 128.0) * f32(input_scale))
    reluish_scale = f32(3.0 / 32768.0)
    # The divisions are in double in the wheel (see relu_multiplier), not in float as the source
    # reads; (1/128) * scale is exact either way.
    out_multiplier, out_exponent = quantize_multiplier(hires_input_scale / f32(output_scale))
    out_multiplier16 = _downscale_int32_to_int16_multiplier(out_multiplier)
    if out_exponent > 0:
        raise ActivationError("output scale below input scale / 128: TFLM's HardSwishPrepare "
                              "requires output_multiplier_exponent <= 0")
    reluish_multiplier, reluish_exponent = quantize_multiplier(hires_input_scale / reluish_scale)
    reluish_multiplier16 = _downscale_int32_to_int16_multiplier(reluish_multiplier)
    if reluish_exponent > 30 or -out_exponent > 31 or -reluish_exponent > 31:
        raise ActivationError("scales out of the range TFLM's HardSwish shifts can express")

    def hard_swish(value: int) -> int:
        input_value = _wrap16(value - input_zero_point)
        hires = _wrap16(input_value * (1 << 7))
        preshift_output = _srdhm16(hires, out_multiplier16)
        reluish = hires
        if reluish_exponent > 0:
            reluish = _saturating_left_shift16(reluish, reluish_exponent - 1)
        reluish = _srdhm16(reluish, reluish_multiplier16)
        if reluish_exponent > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if reluish_exponent < 0:
            reluish = _rdbpot16(reluish, -reluish_exponent)
        reluish = _wrap16((reluish + (1 << 15)) >> 1)
        preshift_output_value = _sdhm16(reluish, preshift_output)
        output = _rdbpot16(preshift_output_value, -out_exponent)
        output = _wrap16(output + output_zero_point)
        return _clamp(output, -128, 127)

    return hard_swish


# --- lowering ----------------------------------------------------------------------------------


def table(function: Callable[[int], int]) -> np.ndarray:
    """The 256-entry int8 table: entry i is the output for input value i - 128."""
    return np.array([function(v) for v in range(-128, 128)], dtype=np.int8)


def _operands(graph: Graph, op: Op, types: tuple[str, ...]) -> tuple[Tensor, Tensor, str]:
    """Input, output and their common type (one of `types`); quantized types per tensor."""
    (dtype, _) = require_types(graph, op, {(t, t) for t in types})
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if dtype != "float32":
        require_per_tensor(op, x, y)
    if x.size != y.size:
        raise unsupported(op, f"input shape {list(x.shape)} and output shape {list(y.shape)} "
                               f"differ in size")
    return x, y, dtype


def _lut_call(op: Op, x: Tensor, y: Tensor, function: Callable[[int], int]) -> KernelCall:
    return KernelCall(
        op=op,
        function="tinyc_lut_s8",
        header="lut.h",
        params_type="tinyc_lut_params",
        params=(("size", y.size),),
        args=(ArrayArg("table"), TensorArg(x.index), TensorArg(y.index)),
        arrays=(ConstArray("table", "int8_t", table(function)),),
        overlaps=((x.index, 0),),  # out[i] = table[in[i]]: in place is safe
    )


def _call(op: Op, x: Tensor, y: Tensor, function: str, params_type: str,
          params: tuple[tuple[str, int | float], ...] = ()) -> KernelCall:
    """A runtime/activations.h kernel: params (size first), input, output."""
    return KernelCall(
        op=op,
        function=function,
        header="activations.h",
        params_type=params_type,
        params=(("size", y.size), *params),
        args=(TensorArg(x.index), TensorArg(y.index)),
        overlaps=((x.index, 0),) if x.itemsize == y.itemsize else (),  # element by element
    )


def _float_call(op: Op, x: Tensor, y: Tensor, name: str) -> KernelCall:
    return _call(op, x, y, f"tinyc_{name}_f32", "tinyc_activation_f32_params")


def _guarded(op: Op, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except ActivationError as exc:
        raise unsupported(op, str(exc)) from None


def _require_zero_points(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.zero_point != 0:
            raise unsupported(op, f"int16 {t.label} has zero point {t.zero_point} "
                                  f"(TFLM requires 0)")


_TABLE_NOTE = "int8: a 256-byte table of TFLM's arithmetic, computed at compile time"
_INT16_LUT_NOTE = ("int16: TFLM's interpolated sigmoid table (512 bytes, shared); zero points 0, "
                   "output scale 2^-15 (as TFLM requires)")


def _lower_logistic_tanh(graph: Graph, op: Op, tanh: bool) -> KernelCall:
    x, y, dtype = _operands(graph, op, ("int8", "int16", "float32"))
    name = "tanh" if tanh else "logistic"
    if dtype == "float32":
        return _float_call(op, x, y, name)
    if dtype == "int16":
        _require_zero_points(op, x, y)
        multiplier, shift, rounding = _guarded(
            op, lambda: logistic_tanh_s16_params(x.scale, y.scale, tanh))
        return _call(op, x, y, f"tinyc_{name}_s16", f"tinyc_{name}_s16_params",
                     (("input_multiplier", multiplier), ("input_left_shift", shift),
                      ("rounding", rounding)))
    if not tanh and y.zero_point != -128:
        raise unsupported(op, f"output zero point {y.zero_point} (TFLM requires -128)")
    params = _guarded(op, lambda: logistic_tanh_params(x.scale))
    if tanh:
        return _lut_call(op, x, y, lambda v: tanh_s8(v, x.zero_point, params))
    return _lut_call(op, x, y, lambda v: logistic_s8(v, x.zero_point, params))


@register("LOGISTIC", types="int8, int16, float32", inputs=1,
          notes=f"{_TABLE_NOTE}, output zero point -128 (as TFLM requires); {_INT16_LUT_NOTE}")
def lower_logistic(graph: Graph, op: Op) -> KernelCall:
    return _lower_logistic_tanh(graph, op, tanh=False)


@register("TANH", types="int8, int16, float32", inputs=1,
          notes=f"{_TABLE_NOTE}, output taken as scale 1/128, zero point 0 (as TFLM does); "
                f"{_INT16_LUT_NOTE}")
def lower_tanh(graph: Graph, op: Op) -> KernelCall:
    return _lower_logistic_tanh(graph, op, tanh=True)


@register("RELU", types="int8, int16, float32", inputs=1,
          notes=f"requantizes to the output scale; {_TABLE_NOTE}; int16: zero points 0 "
                f"(as TFLM requires)")
def lower_relu(graph: Graph, op: Op) -> KernelCall:
    x, y, dtype = _operands(graph, op, ("int8", "int16", "float32"))
    if dtype == "float32":
        return _float_call(op, x, y, "relu")
    if dtype == "int16":
        _require_zero_points(op, x, y)
        multiplier, shift = relu_multiplier(x.scale, y.scale)
        return _call(op, x, y, "tinyc_relu_s16", "tinyc_relu_s16_params",
                     (("output_multiplier", multiplier), ("output_shift", shift)))
    return _lut_call(op, x, y, relu_table(x.scale, x.zero_point, y.scale, y.zero_point))


@register("RELU6", types="int8, int16, float32", inputs=1,
          notes=f"clamps on the input scale, as TFLM does; {_TABLE_NOTE}")
def lower_relu6(graph: Graph, op: Op) -> KernelCall:
    x, y, dtype = _operands(graph, op, ("int8", "int16", "float32"))
    if dtype == "float32":
        return _float_call(op, x, y, "relu6")
    if dtype == "int16":
        zero, six = _guarded(op, lambda: relu6_bounds(x.scale, x.zero_point, INT16_MIN,
                                                      INT16_MAX))
        return _call(op, x, y, "tinyc_relu6_s16", "tinyc_relu6_s16_params",
                     (("lower", zero), ("upper", six)))
    return _lut_call(op, x, y, _guarded(op, lambda: relu6_table(x.scale, x.zero_point)))


@register("LEAKY_RELU", types="int8, int16, float32", inputs=1,
          notes=f"any alpha, negative included; {_TABLE_NOTE}")
def lower_leaky_relu(graph: Graph, op: Op) -> KernelCall:
    x, y, dtype = _operands(graph, op, ("int8", "int16", "float32"))
    alpha = f32(float(op.options.get("alpha", 0.0)))
    if dtype != "float32":
        _guarded(op, lambda: leaky_relu_params(x.scale, y.scale, alpha))  # refusals first
    if dtype == "float32":
        return _call(op, x, y, "tinyc_leaky_relu_f32", "tinyc_leaky_relu_f32_params",
                     (("alpha", alpha),))
    if dtype == "int16":
        identity_multiplier, identity_shift, alpha_multiplier, alpha_shift, negative = (
            leaky_relu_params(x.scale, y.scale, alpha))
        return _call(op, x, y, "tinyc_leaky_relu_s16", "tinyc_leaky_relu_s16_params",
                     (("input_offset", x.zero_point), ("output_offset", y.zero_point),
                      ("identity_multiplier", identity_multiplier),
                      ("identity_shift", identity_shift), ("alpha_multiplier", alpha_multiplier),
                      ("alpha_shift", alpha_shift), ("alpha_negative", int(negative))))
    return _lut_call(op, x, y, leaky_relu_table(x.scale, x.zero_point, y.scale, y.zero_point,
                                                alpha))


@register("HARD_SWISH", types="int8, float32", inputs=1,
          notes=f"{_TABLE_NOTE}; no int16 (TFLM's kernel has none)")
def lower_hard_swish(graph: Graph, op: Op) -> KernelCall:
    x, y, dtype = _operands(graph, op, ("int8", "float32"))
    if dtype == "float32":
        return _float_call(op, x, y, "hard_swish")
    function = _guarded(op, lambda: hard_swish_table(x.scale, x.zero_point, y.scale,
                                                     y.zero_point))
    return _lut_call(op, x, y, function)
