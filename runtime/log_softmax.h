/* tinyc runtime: LOG_SOFTMAX over the last dimension, int8 and float32.
 *
 * int8 mirrors TFLM reference_ops::LogSoftmaxQuantized<int8_t> (reference/log_softmax.h), the
 * path micro/kernels/log_softmax.cc runs. Per row: the difference of each input to the row's
 * maximum is scaled to Q5.26 (input_multiplier, input_left_shift: beta = 1 times the input
 * scale); the exps of the differences at or above diff_min are summed in Q12.19; the log of the
 * sum is taken in Q5.26 (TFLM's log_x_for_x_greater_than_or_equal_to_1, below); each output is
 * (scaled difference - log of sum) in Q4.3 (scale 16/256) plus 127, clamped. Differences at or
 * below adjusted_diff_min, the larger of diff_min - 1 and the difference whose scaled value
 * would overflow that subtraction (reverse_scaling_*), give -128.
 * exp() and one_over_one_plus_x_for_x_in_0_1() are softmax.h's gemmlowp ports; every other
 * step is the gemmlowp or TFLM operation of the same name, on int32 raw values.
 *
 * float32 mirrors reference_ops::LogSoftmax (float): the row maximum (std::max from the lowest
 * float), the sum of expf(x - max) in order, logf, and x - max - log_sum. */
#ifndef TINYC_LOG_SOFTMAX_H
#define TINYC_LOG_SOFTMAX_H

#include <float.h>
#include <math.h>

#include "softmax.h"
#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t outer_size; /* rows: product of all dimensions but the last */
  int32_t depth;      /* the last dimension */
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t reverse_scaling_divisor;
  int32_t reverse_scaling_right_shift;
  int32_t diff_min;
} tinyc_log_softmax_s8_params;

typedef struct {
  int32_t outer_size;
  int32_t depth;
} tinyc_log_softmax_f32_params;

/* gemmlowp's FixedPoint + and - on int32 raw values (two's complement, no saturation). */
TINYC_INLINE int32_t tinyc_log_softmax_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

TINYC_INLINE int32_t tinyc_log_softmax_sub(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* TFLM SaturatingAddNonGemmlowp / SaturatingSub on int32: the exact sum, clamped. */
TINYC_INLINE int32_t tinyc_log_softmax_saturate(int64_t x) {
  return (int32_t)(x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x);
}

/* gemmlowp RoundingHalfSum on int32: (a + b) / 2 rounded half away from zero. */
TINYC_INLINE int32_t tinyc_log_softmax_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* TFLM log_x_for_x_greater_than_or_equal_to_1<5>(FixedPoint<int32_t, 12>): log(x) of a Q12.19
 * x >= 1 in Q5.26. The result is accumulated with one more integer bit (Q6.25) and rescaled. The
 * constants are TFLM's (Q0.31): log(2), 2^-1/4, 2^-1/2 and the rational approximation's
 * coefficients. tinyc_saturating_shift_left is gemmlowp's SaturatingRoundingMultiplyByPOT for a
 * non-negative exponent (0 leaves the value as it is). */
TINYC_INLINE int32_t tinyc_log_x_for_x_greater_than_or_equal_to_1_q12_q5(int32_t input) {
  const int input_integer_bits = 12;
  const int accum_integer_bits = 6;
  const int32_t log_2 = 1488522236;
  const int32_t sqrt_sqrt_half = 1805811301;
  const int32_t sqrt_half = 1518500250;
  const int32_t one_quarter = 536870912;
  const int32_t alpha_n = 117049297;
  const int32_t alpha_d = 127690142;
  const int32_t alpha_i = 1057819769;
  const int32_t alpha_f = 638450708;
  /* Rescale<6>(1/4): Q0.31 to Q6.25. */
  const int32_t shifted_quarter = tinyc_rounding_divide_by_pot(one_quarter, accum_integer_bits);

  /* The input read as Q0.31; its power of two found from its headroom. */
  const int z_a_headroom_plus_1 = tinyc_count_leading_zeros_u32((uint32_t)input);
  const int32_t r_a_tmp = tinyc_saturating_shift_left(input, z_a_headroom_plus_1 - 1);
  const int32_t r_a_raw =
      tinyc_saturating_shift_left(tinyc_saturating_rounding_doubling_high_mul(r_a_tmp, sqrt_half),
                                  1);
  const int32_t z_a_pow_2_adj = tinyc_log_softmax_saturate(
      (int64_t)tinyc_saturating_shift_left(input_integer_bits - z_a_headroom_plus_1,
                                           31 - accum_integer_bits) +
      shifted_quarter);

  /* The same for the input times sqrt(1/2). */
  const int32_t z_b = tinyc_saturating_rounding_doubling_high_mul(input, sqrt_half);
  const int z_b_headroom = tinyc_count_leading_zeros_u32((uint32_t)z_b) - 1;
  const int32_t r_b_raw = tinyc_saturating_shift_left(input, z_b_headroom);
  const int32_t z_b_pow_2_adj = tinyc_log_softmax_saturate(
      (int64_t)tinyc_saturating_shift_left(input_integer_bits - z_b_headroom,
                                           31 - accum_integer_bits) -
      shifted_quarter);

  const int32_t r = tinyc_min_i32(r_a_raw, r_b_raw);
  const int32_t z_pow_2_adj = tinyc_max_i32(z_a_pow_2_adj, z_b_pow_2_adj);

  const int32_t p = tinyc_log_softmax_rounding_half_sum(r, sqrt_sqrt_half);
  int32_t q = tinyc_log_softmax_sub(r, sqrt_sqrt_half);
  q = tinyc_log_softmax_add(q, q);

  const int32_t common_sq = tinyc_saturating_rounding_doubling_high_mul(q, q);
  const int32_t num = tinyc_log_softmax_add(
      tinyc_saturating_rounding_doubling_high_mul(q, r),
      tinyc_saturating_rounding_doubling_high_mul(
          tinyc_saturating_rounding_doubling_high_mul(q, common_sq), alpha_n));
  const int32_t denom_minus_one_0 = tinyc_log_softmax_add(
      tinyc_saturating_rounding_doubling_high_mul(
          p, tinyc_log_softmax_add(tinyc_log_softmax_add(alpha_i, q),
                                   tinyc_saturating_rounding_doubling_high_mul(alpha_d, common_sq))),
      tinyc_saturating_rounding_doubling_high_mul(alpha_f, q));
  const int32_t recip_denom = tinyc_one_over_one_plus_x_for_x_in_0_1(denom_minus_one_0);

  /* Rescale<6>(num): Q0.31 to Q6.25. */
  const int32_t num_scaled = tinyc_rounding_divide_by_pot(num, accum_integer_bits);
  const int32_t sum = tinyc_log_softmax_add(
      tinyc_saturating_rounding_doubling_high_mul(z_pow_2_adj, log_2),
      tinyc_saturating_rounding_doubling_high_mul(num_scaled, recip_denom));
  /* Rescale<5>: Q6.25 to Q5.26, saturating. */
  return tinyc_saturating_shift_left(sum, 1);
}

TINYC_INLINE void tinyc_log_softmax_s8(const tinyc_log_softmax_s8_params *p,
                                        const int8_t *TINYC_RESTRICT input,
                                        int8_t *TINYC_RESTRICT output) {
  const int accumulation_integer_bits = 12;
  const int output_fractional_bits = 31 - 5 - 4; /* Q5.26 to the output's Q4.3 */
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int8_t *out = output + i * p->depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < p->depth; ++c) max_in_row = tinyc_max_i32(max_in_row, in[c]);

    /* The compiler bounds depth by 4095, so this Q12.19 sum of exps (each <= 1) cannot
     * overflow. */
    int32_t sum_of_exps = 0;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t input_diff = (int32_t)in[c] - max_in_row;
      if (input_diff >= p->diff_min) {
        const int32_t input_diff_in_q5 =
            tinyc_requantize(input_diff, p->input_multiplier, p->input_left_shift);
        /* Rescale<12> of the Q0.31 exp. */
        sum_of_exps += tinyc_rounding_divide_by_pot(
            tinyc_exp_on_negative_values_q5_26(input_diff_in_q5), accumulation_integer_bits);
      }
    }

    const int32_t log_sum_of_exps_in_q5 =
        tinyc_log_x_for_x_greater_than_or_equal_to_1_q12_q5(sum_of_exps);
    /* The smallest Q5.26 value plus the log (the log is >= 0: no overflow). */
    const int32_t shifted_log_sum_of_exps_in_q5 = log_sum_of_exps_in_q5 + INT32_MIN;
    const int32_t adjusted_diff_min = tinyc_max_i32(
        p->diff_min - 1, tinyc_requantize(shifted_log_sum_of_exps_in_q5,
                                          p->reverse_scaling_divisor,
                                          -p->reverse_scaling_right_shift));

    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t input_diff = (int32_t)in[c] - max_in_row;
      /* `>` here where the sum has `>=`, as in TFLM. */
      if (input_diff > adjusted_diff_min) {
        const int32_t input_diff_in_q5 =
            tinyc_requantize(input_diff, p->input_multiplier, p->input_left_shift);
        const int32_t output_in_q27 =
            tinyc_rounding_divide_by_pot(
                tinyc_log_softmax_sub(input_diff_in_q5, log_sum_of_exps_in_q5),
                output_fractional_bits) +
            127;
        out[c] = tinyc_clamp_s8(output_in_q27, -128, 127);
      } else {
        out[c] = -128;
      }
    }
  }
}

TINYC_INLINE void tinyc_log_softmax_f32(const tinyc_log_softmax_f32_params *p,
                                         const float *TINYC_RESTRICT input,
                                         float *TINYC_RESTRICT output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const float *in = input + i * p->depth;
    float *out = output + i * p->depth;
    float max = -FLT_MAX;
    for (int32_t c = 0; c < p->depth; ++c) max = tinyc_max_f32(max, in[c]);
    float sum = 0.0f;
    for (int32_t c = 0; c < p->depth; ++c) sum += expf(in[c] - max);
    const float log_sum = logf(sum);
    for (int32_t c = 0; c < p->depth; ++c) out[c] = in[c] - max - log_sum;
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_LOG_SOFTMAX_H */
