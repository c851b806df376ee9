/* tinyc runtime: element-wise unary math, one input element to one output element.
 *
 * float32 (ABS NEG SQUARE SQRT RSQRT EXP LOG SIN COS FLOOR CEIL ROUND ELU): the same expression
 * and the same libm function TFLM calls (micro/kernels/elementwise.cc, neg.cc, exp.cc, floor.cc,
 * ceil.cc, round.cc, elu.cc and reference/{neg,exp,floor,ceil,round,elu}.h), in the same order:
 * std::abs(float) is fabsf, std::sqrt sqrtf, std::exp expf, std::log logf, std::sin sinf,
 * std::cos cosf, std::floor floorf, std::ceil ceilf, TfLiteExpm1 expm1f. fabsf, sqrtf, floorf and
 * ceilf are exact everywhere; expf, logf, sinf, cosf and expm1f round as the target's libm does,
 * so their last bit can differ between a host (where tinyc is tested against TFLM) and a
 * microcontroller's libm, exactly as TFLM's own results would.
 *
 * int8 ABS, RSQRT and ELU are 256-entry tables computed by the compiler (runtime/lut.h). What is
 * here for integers: int16 ABS (quantized: AbsEvalQuantized; unquantized: std::abs), int16 RSQRT
 * (RsqrtEvalQuantized with GetInvSqrtQuantizedMultiplierExp's Newton-Raphson iteration, from
 * kernels/internal/common.h) and bool LOGICAL_NOT.
 *
 * Every kernel walks `size` elements in order; input and output may be the same buffer. */
#ifndef TINYC_UNARY_H
#define TINYC_UNARY_H

#include <math.h>
#include <stdbool.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t size;
} tinyc_unary_params;

/* --- float32 ------------------------------------------------------------------------------- */

#define TINYC_UNARY_F32(name, expression)                                                    \
  TINYC_INLINE void tinyc_##name##_f32(const tinyc_unary_params *p, const float *input,     \
                                        float *output) {                                      \
    for (int32_t i = 0; i < p->size; ++i) {                                                   \
      const float x = input[i];                                                               \
      output[i] = (expression);                                                               \
    }                                                                                         \
  }

/* reference_ops::RoundToNearest: halves to even, written with floor as TFLM has it (the int cast
 * only runs when diff == 0.5, so |floor_val| < 2^23 there). */
TINYC_INLINE float tinyc_round_to_nearest_f32(float value) {
  const float floor_val = floorf(value);
  const float diff = value - floor_val;
  if ((diff < 0.5f) || ((diff == 0.5f) && ((int32_t)floor_val % 2 == 0))) return floor_val;
  return floor_val + 1.0f;
}

TINYC_UNARY_F32(abs, fabsf(x))                       /* elementwise.cc AbsEval: std::abs */
TINYC_UNARY_F32(neg, -x)                             /* reference_ops::Negate */
TINYC_UNARY_F32(square, x * x)                       /* SquareEval */
TINYC_UNARY_F32(sqrt, sqrtf(x))                      /* SqrtEval: std::sqrt */
TINYC_UNARY_F32(rsqrt, 1.f / sqrtf(x))               /* RsqrtEval: 1.f / std::sqrt(f) */
TINYC_UNARY_F32(exp, expf(x))                        /* reference_ops::Exp */
TINYC_UNARY_F32(log, logf(x))                        /* LogEval: std::log */
TINYC_UNARY_F32(sin, sinf(x))                        /* SinEval: std::sin */
TINYC_UNARY_F32(cos, cosf(x))                        /* CosEval: std::cos */
TINYC_UNARY_F32(floor, floorf(x))                    /* reference_ops::Floor */
TINYC_UNARY_F32(ceil, ceilf(x))                      /* reference_ops::Ceil */
TINYC_UNARY_F32(round, tinyc_round_to_nearest_f32(x)) /* reference_ops::Round */
TINYC_UNARY_F32(elu, x < 0.0f ? expm1f(x) : x)       /* reference_ops::Elu: TfLiteExpm1 */

/* --- bool ---------------------------------------------------------------------------------- */

TINYC_INLINE void tinyc_logical_not_b(const tinyc_unary_params *p, const bool *input,
                                       bool *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = !input[i];
}

/* --- int16 ABS ----------------------------------------------------------------------------- */

/* Unquantized int16: static_cast<int16_t>(std::abs(int)), so -32768 stays -32768. */
TINYC_INLINE void tinyc_abs_s16(const tinyc_unary_params *p, const int16_t *input,
                                 int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = input[i];
    output[i] = (int16_t)(x < 0 ? -x : x);
  }
}

typedef struct {
  int32_t size;
  int32_t input_offset;  /* the input zero point (TFLM's op_data->input_offset), 0 for int16 */
  int32_t output_offset; /* the output zero point, 0 for int16 */
  int32_t needs_rescale; /* input scale != output scale (float comparison, as Prepare) */
  int32_t multiplier;
  int32_t shift;
} tinyc_abs_quantized_s16_params;

/* AbsEvalQuantized<int16_t>: |x - zero point|, rescaled when the scales differ, saturated. */
TINYC_INLINE void tinyc_abs_quantized_s16(const tinyc_abs_quantized_s16_params *p,
                                           const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t d = (int32_t)input[i] - p->input_offset;
    const int32_t value = d < 0 ? -d : d;
    const int32_t out = p->needs_rescale
                            ? tinyc_requantize(value, p->multiplier, p->shift) + p->output_offset
                            : value + p->output_offset;
    output[i] = (int16_t)tinyc_min_i32(tinyc_max_i32(out, -32768), 32767);
  }
}

/* --- int16 RSQRT --------------------------------------------------------------------------- */

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31: a left shift that
 * saturates instead of overflowing. */
TINYC_INLINE int32_t tinyc_saturating_shift_left_i32(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* TFLM GetInvSqrtQuantizedMultiplierExp(input, kReverseShift = -1, ...) for input > 1: the
 * Newton-Raphson iteration x <- 1.5 x - (input / 2) x^3 in Q3.28, five times from x = 1, then
 * times sqrt(2) / 2. gemmlowp's FixedPoint products are SaturatingRoundingDoublingHighMul on the
 * raw values; Rescale<3> of a Q9 (x^3) or Q6 value is a saturating left shift by 6 or 3. */
TINYC_INLINE void tinyc_inv_sqrt_multiplier_exp(int32_t input, int32_t *inv_sqrt, int *shift) {
  int output_shift = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++output_shift;
  }
  int leading_zeros = 0;
  while (!(((uint32_t)input << leading_zeros) & 0x80000000u)) ++leading_zeros;
  const int left_shift_bit_pairs = (leading_zeros - 1) / 2 - 1;
  output_shift -= left_shift_bit_pairs;
  input = (int32_t)((uint32_t)input << (2 * left_shift_bit_pairs));
  const int32_t half_input = tinyc_rounding_divide_by_pot(input >> 1, 1);
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t x = 1 << 28; /* 1.0 in Q3.28 */
  for (int i = 0; i < 5; ++i) {
    const int32_t x2 = tinyc_saturating_rounding_doubling_high_mul(x, x);
    const int32_t x3 =
        tinyc_saturating_shift_left_i32(tinyc_saturating_rounding_doubling_high_mul(x2, x), 6);
    const int32_t a = tinyc_saturating_rounding_doubling_high_mul(half_three, x);
    const int32_t b = tinyc_saturating_rounding_doubling_high_mul(half_input, x3);
    x = tinyc_saturating_shift_left_i32((int32_t)((uint32_t)a - (uint32_t)b), 3);
  }
  x = tinyc_saturating_rounding_doubling_high_mul(x, 1518500250); /* sqrt(2) / 2 in Q0.31 */
  if (output_shift < 0) {
    x = (int32_t)((uint32_t)x << -output_shift);
    output_shift = 0;
  }
  *inv_sqrt = x;
  *shift = -output_shift;
}

typedef struct {
  int32_t size;
  int32_t input_offset;  /* input zero point: 0 for int16, as Prepare requires */
  int32_t output_offset; /* output zero point: 0 */
  int32_t multiplier;    /* 1 / (sqrt(input scale) * output scale) */
  int32_t shift;
} tinyc_rsqrt_s16_params;

/* RsqrtEvalQuantized<int16_t>. TFLM's Eval fails for inputs below the zero point (a negative
 * real); those go through the same arithmetic here (GetInvSqrt treats them as 1). */
TINYC_INLINE void tinyc_rsqrt_s16(const tinyc_rsqrt_s16_params *p, const int16_t *input,
                                   int16_t *output) {
  const int32_t kShift = 20; /* TFLM: shift to keep the value integer */
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t value = (int32_t)input[i] - p->input_offset;
    if (value == 0) {
      output[i] = 32767; /* TFLM: any value close to 0 maps to the largest output */
      continue;
    }
    int32_t inv_sqrt = INT32_MAX;
    int inv_sqrt_shift = 0;
    if (value > 1) tinyc_inv_sqrt_multiplier_exp(value, &inv_sqrt, &inv_sqrt_shift);
    const int32_t data = tinyc_requantize(1, inv_sqrt, inv_sqrt_shift + kShift);
    const int32_t out = tinyc_requantize(data, p->multiplier, p->shift - kShift) +
                        p->output_offset;
    output[i] = (int16_t)tinyc_min_i32(tinyc_max_i32(out, -32768), 32767);
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_UNARY_H */
