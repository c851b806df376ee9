/* tinyc runtime: L2_NORMALIZATION over the last dimension, int8 and float32.
 *
 * int8 mirrors TFLM reference_integer_ops::L2Normalization (reference/integer_ops/
 * l2normalization.h), which micro/kernels/l2norm.cc runs: per row, the int32 sum of the squared
 * differences to the input zero point; its inverse square root as a multiplier and shift
 * (TFLM's GetInvSqrtQuantizedMultiplierExp, below); each difference times that, with 7 more
 * bits of left shift (the output is taken as scale 1/128, zero point 0, whatever the output
 * tensor says: TFLM does not read it), clamped to int8.
 *
 * float32 mirrors reference_ops::L2Normalization: the float sum of squares in order, sqrtf,
 * std::max with epsilon 1e-6f (the value micro/kernels/l2norm.cc passes), one division per
 * element. */
#ifndef TINYC_L2_NORM_H
#define TINYC_L2_NORM_H

#include <math.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t outer_size; /* rows: product of all dimensions but the last */
  int32_t depth;      /* the last dimension */
  int32_t input_zero_point;
} tinyc_l2_norm_s8_params;

typedef struct {
  int32_t outer_size;
  int32_t depth;
} tinyc_l2_norm_f32_params;

TINYC_INLINE int tinyc_l2_norm_clz(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0: x * 2^exponent,
 * saturated. */
TINYC_INLINE int32_t tinyc_l2_norm_shift_left_saturating(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* TFLM GetInvSqrtQuantizedMultiplierExp(input, kReverseShift = -1, ...): 1 / sqrt(input) as a
 * Q0.31 multiplier and a (left) shift, by five Newton-Raphson steps in Q3.28 fixed point from a
 * guess of 1 on the input normalized into [2^27, 2^29). 0 and 1 give INT32_MAX, shift 0. */
TINYC_INLINE void tinyc_l2_norm_inv_sqrt(int32_t input, int32_t *output_inv_sqrt,
                                          int *output_shift) {
  if (input <= 1) {
    *output_inv_sqrt = INT32_MAX;
    *output_shift = 0;
    return;
  }
  int shift = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++shift;
  }
  const int max_left_shift_bits = tinyc_l2_norm_clz((uint32_t)input) - 1;
  const int left_shift_bit_pairs = max_left_shift_bits / 2 - 1;
  shift -= left_shift_bit_pairs;
  input <<= 2 * left_shift_bit_pairs;
  const int32_t fixedpoint_input = input >> 1;                              /* Q3.28 */
  const int32_t fixedpoint_half_input = tinyc_rounding_divide_by_pot(fixedpoint_input, 1);
  const int32_t fixedpoint_half_three = (1 << 28) + (1 << 27);             /* 1.5 */
  int32_t x = 1 << 28;                                                      /* 1.0 */
  for (int i = 0; i < 5; i++) {
    /* x * x * x is Q9.22; Rescale<3> multiplies by 2^6, saturating. */
    const int32_t x3 = tinyc_l2_norm_shift_left_saturating(
        tinyc_saturating_rounding_doubling_high_mul(
            tinyc_saturating_rounding_doubling_high_mul(x, x), x),
        6);
    /* 1.5 x - x^3 input / 2 in Q6.25, rescaled to Q3.28. */
    const int32_t difference = (int32_t)(
        (uint32_t)tinyc_saturating_rounding_doubling_high_mul(fixedpoint_half_three, x) -
        (uint32_t)tinyc_saturating_rounding_doubling_high_mul(fixedpoint_half_input, x3));
    x = tinyc_l2_norm_shift_left_saturating(difference, 3);
  }
  /* times sqrt(2) / 2 (Q0.31): Q3.28 */
  x = tinyc_saturating_rounding_doubling_high_mul(x, 1518500250);
  if (shift < 0) {
    x = (int32_t)((uint32_t)x << -shift);
    shift = 0;
  }
  *output_inv_sqrt = x;
  *output_shift = -shift; /* the right shift as a left shift */
}

TINYC_INLINE void tinyc_l2_norm_s8(const tinyc_l2_norm_s8_params *p,
                                    const int8_t *TINYC_RESTRICT input,
                                    int8_t *TINYC_RESTRICT output) {
  const int output_scale_bits = 7; /* the output in 1/128 */
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int8_t *out = output + i * p->depth;
    /* The compiler bounds depth so that this sum cannot overflow. */
    int32_t acc = 0;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)in[c] - p->input_zero_point;
      acc += diff * diff;
    }
    int32_t inv_l2norm_multiplier;
    int inv_l2norm_shift;
    tinyc_l2_norm_inv_sqrt(acc, &inv_l2norm_multiplier, &inv_l2norm_shift);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)in[c] - p->input_zero_point;
      const int32_t output_in_q24 = tinyc_requantize(diff, inv_l2norm_multiplier,
                                                     inv_l2norm_shift + output_scale_bits);
      out[c] = tinyc_clamp_s8(output_in_q24, -128, 127);
    }
  }
}

TINYC_INLINE void tinyc_l2_norm_f32(const tinyc_l2_norm_f32_params *p,
                                     const float *TINYC_RESTRICT input,
                                     float *TINYC_RESTRICT output) {
  const float epsilon = 1e-6f;
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const float *in = input + i * p->depth;
    float *out = output + i * p->depth;
    float squared_l2_norm = 0.0f;
    for (int32_t c = 0; c < p->depth; ++c) squared_l2_norm += in[c] * in[c];
    const float l2_norm = tinyc_max_f32(sqrtf(squared_l2_norm), epsilon);
    for (int32_t c = 0; c < p->depth; ++c) out[c] = in[c] / l2_norm;
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_L2_NORM_H */
