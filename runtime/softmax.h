/* tinyc runtime: SOFTMAX over the last dimension: int8 -> int8, int8 -> int16, int16 -> int16 and
 * float32.
 *
 * int8 input mirrors TFLM reference_ops::Softmax<int8_t, int8_t/int16_t>. Per row: the difference
 * to the row's maximum is scaled to Q5.26 by input_multiplier/input_left_shift, exp() is evaluated
 * in gemmlowp fixed point, the exps are summed in Q12.19, and each exp is multiplied by the
 * fixed-point reciprocal of the sum. Differences below diff_min contribute nothing and give the
 * output minimum. Every step below is the gemmlowp operation of the same name, on int32 raw
 * values.
 *
 * int16 input mirrors TFLM reference_ops::SoftmaxInt16: exp() and 1 / (1 + x) come from two
 * 513-entry interpolated tables (computed by the compiler as TFLM's Prepare computes them).
 *
 * float32 mirrors reference_ops::Softmax<float>: the same operations in the same order, expf. */
#ifndef TINYC_SOFTMAX_H
#define TINYC_SOFTMAX_H

#include <math.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t outer_size; /* rows: product of all dimensions but the last */
  int32_t depth;      /* the last dimension, over which softmax normalizes */
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t diff_min;
} tinyc_softmax_s8_params;

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0: x * 2^exponent, saturated. */
TINYC_INLINE int32_t tinyc_saturating_shift_left(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((int64_t)x * ((int64_t)1 << exponent));
}

/* gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31 in, Q0.31 out): a
 * fourth-order Taylor expansion around -1/8. */
TINYC_INLINE int32_t tinyc_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;    /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883; /* 1/3 */
  const int32_t x = a + (1 << 28);              /* a + 1/8 */
  const int32_t x2 = tinyc_saturating_rounding_doubling_high_mul(x, x);
  const int32_t x3 = tinyc_saturating_rounding_doubling_high_mul(x2, x);
  const int32_t x4 = tinyc_saturating_rounding_doubling_high_mul(x2, x2);
  const int32_t x4_over_4 = tinyc_rounding_divide_by_pot(x4, 2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 = tinyc_rounding_divide_by_pot(
      tinyc_saturating_rounding_doubling_high_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1);
  return constant_term + tinyc_saturating_rounding_doubling_high_mul(
                             constant_term, x + x4_over_24_plus_x3_over_6_plus_x2_over_2);
}

TINYC_INLINE int32_t tinyc_exp_barrel_step(int32_t result, int32_t remainder, int bit,
                                            int32_t multiplier) {
  return (remainder & ((int32_t)1 << bit))
             ? tinyc_saturating_rounding_doubling_high_mul(result, multiplier)
             : result;
}

/* gemmlowp exp_on_negative_values for a Q5.26 input (a <= 0), Q0.31 output. */
TINYC_INLINE int32_t tinyc_exp_on_negative_values_q5_26(int32_t a) {
  const int fractional_bits = 26;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
  /* Rescale<0> of a Q5.26 value: multiply by 2^5, saturating. */
  int32_t result = tinyc_exp_on_interval_between_negative_one_quarter_and_0_excl(
      tinyc_saturating_shift_left(a_mod_quarter_minus_one_quarter, 5));
  const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
  /* Barrel shifter: multiply by exp(-2^k) for each bit k of the remaining whole quarters. The
   * constants are Q0.31, as in gemmlowp. */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits - 2, 1672461947); /* -1/4 */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits - 1, 1302514674); /* -1/2 */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits + 0, 790015084);  /* -1 */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits + 1, 290630308);  /* -2 */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits + 2, 39332535);   /* -4 */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits + 3, 720401);     /* -8 */
  result = tinyc_exp_barrel_step(result, remainder, fractional_bits + 4, 242);        /* -16 */
  /* With 5 integer bits no input lies below -32, so gemmlowp's clamp does not apply. */
  return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 (Q0.31 in and out): Newton-Raphson division. */
TINYC_INLINE int32_t tinyc_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  /* RoundingHalfSum(a, One): (a + INT32_MAX + sign) / 2 in 64 bits, truncating. */
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
  const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
  int32_t x = constant_48_over_17 +
              tinyc_saturating_rounding_doubling_high_mul(half_denominator, constant_neg_32_over_17);
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x =
        tinyc_saturating_rounding_doubling_high_mul(half_denominator, x);
    const int32_t one_minus_half_denominator_times_x = (1 << 29) - half_denominator_times_x;
    /* Q2.29 * Q2.29 is Q4.27; Rescale<2> multiplies by 4, saturating. */
    x = x + tinyc_saturating_shift_left(
                tinyc_saturating_rounding_doubling_high_mul(x, one_minus_half_denominator_times_x),
                2);
  }
  /* ExactMulByPot<-1> (Q2.29 read as Q1.30), then Rescale<0>: multiply by 2, saturating. */
  return tinyc_saturating_shift_left(x, 1);
}

TINYC_INLINE int tinyc_count_leading_zeros_u32(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* exp(input_diff * beta * input_scale) in Q0.31 for one input_diff >= diff_min. The left shift
 * cannot overflow: diff_min bounds |input_diff| by 31 * 2^26 / 2^input_left_shift. */
TINYC_INLINE int32_t tinyc_softmax_exp(const tinyc_softmax_s8_params *p, int32_t input_diff) {
  /* MultiplyByQuantizedMultiplierGreaterThanOne: Q5.26 scaled difference. */
#ifdef TINYC_SINGLE_ROUNDING /* which is MultiplyByQuantizedMultiplier there */
  const int32_t input_diff_rescaled =
      tinyc_requantize(input_diff, p->input_multiplier, p->input_left_shift);
#else
  const int32_t input_diff_rescaled = tinyc_saturating_rounding_doubling_high_mul(
      (int32_t)((uint32_t)input_diff << p->input_left_shift), p->input_multiplier);
#endif
  return tinyc_exp_on_negative_values_q5_26(input_diff_rescaled);
}

/* One row's maximum, and the reciprocal of its sum of exps (GetReciprocal): a Q0.31 scale and
 * the number of bits the sum has above 1.0. */
TINYC_INLINE int32_t tinyc_softmax_row(const tinyc_softmax_s8_params *p, const int8_t *in,
                                        int32_t *scale, int *num_bits_over_unit) {
  const int accumulation_integer_bits = 12;
  int32_t max_in_row = -128;
  for (int32_t c = 0; c < p->depth; ++c) max_in_row = tinyc_max_i32(max_in_row, in[c]);
  int32_t sum_of_exps = 0; /* Q12.19 */
  for (int32_t c = 0; c < p->depth; ++c) {
    const int32_t input_diff = (int32_t)in[c] - max_in_row;
    if (input_diff >= p->diff_min) {
      /* Rescale<12> of a Q0.31 exp: divide by 2^12, rounding. */
      sum_of_exps += tinyc_rounding_divide_by_pot(tinyc_softmax_exp(p, input_diff),
                                                  accumulation_integer_bits);
    }
  }
  const int headroom_plus_one = tinyc_count_leading_zeros_u32((uint32_t)sum_of_exps);
  *num_bits_over_unit = accumulation_integer_bits - headroom_plus_one;
  const int32_t shifted_sum_minus_one =
      (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
  *scale = tinyc_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
  return max_in_row;
}

/* int8 output: scale 1/256, zero point -128. */
TINYC_INLINE void tinyc_softmax_s8(const tinyc_softmax_s8_params *p,
                                    const int8_t *TINYC_RESTRICT input,
                                    int8_t *TINYC_RESTRICT output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int8_t *out = output + i * p->depth;
    int32_t scale;
    int num_bits_over_unit;
    const int32_t max_in_row = tinyc_softmax_row(p, in, &scale, &num_bits_over_unit);
    const int exponent = num_bits_over_unit + 31 - 8;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t input_diff = (int32_t)in[c] - max_in_row;
      if (input_diff >= p->diff_min) {
        const int32_t unsat_output = tinyc_rounding_divide_by_pot(
            tinyc_saturating_rounding_doubling_high_mul(scale, tinyc_softmax_exp(p, input_diff)),
            exponent);
        out[c] = tinyc_clamp_s8(unsat_output - 128, -128, 127);
      } else {
        out[c] = -128;
      }
    }
  }
}

/* int16 output: scale 1/65536, zero point -32768. The same algorithm keeps 8 more bits. */
TINYC_INLINE void tinyc_softmax_s8_s16(const tinyc_softmax_s8_params *p,
                                        const int8_t *TINYC_RESTRICT input,
                                        int16_t *TINYC_RESTRICT output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int16_t *out = output + i * p->depth;
    int32_t scale;
    int num_bits_over_unit;
    const int32_t max_in_row = tinyc_softmax_row(p, in, &scale, &num_bits_over_unit);
    const int exponent = num_bits_over_unit + 31 - 16;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t input_diff = (int32_t)in[c] - max_in_row;
      if (input_diff >= p->diff_min) {
        const int32_t unsat_output = tinyc_rounding_divide_by_pot(
            tinyc_saturating_rounding_doubling_high_mul(scale, tinyc_softmax_exp(p, input_diff)),
            exponent);
        out[c] = (int16_t)tinyc_min_i32(tinyc_max_i32(unsat_output - 32768, -32768), 32767);
      } else {
        out[c] = -32768;
      }
    }
  }
}

/* --- int16 input, int16 output (scale 1/32768, zero point 0) --- */

typedef struct {
  int32_t outer_size;
  int32_t depth;
  int32_t input_multiplier; /* input_scale * beta / (10 / 65535): [-65535, 0] covers [-10, 0] */
  int32_t input_left_shift;
} tinyc_softmax_s16_params;

/* TFLM LUTLookup (int16): the top 9 bits index the table, the low 7 interpolate to the next
 * entry, rounding. Right shifts of negative values are arithmetic, as in TFLM's build. */
TINYC_INLINE int16_t tinyc_softmax_lut_lookup_s16(int16_t value, const int16_t *lut) {
  const uint16_t index = (uint16_t)(256 + (value >> 7));
  const int16_t offset = (int16_t)(value & 0x7f);
  const int16_t base = lut[index];
  const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
  const int delta = (slope * offset + 64) >> 7;
  return (int16_t)(base + delta);
}

/* `exp_lut`: exp on [-10, 0]; `one_over_one_plus_x_lut`: 1 / (1 + x) on [0, 1]; both Q0.15.
 * As in TFLM, the exps of a row are kept in its output until the reciprocal of their sum is
 * known. */
TINYC_INLINE void tinyc_softmax_s16(const tinyc_softmax_s16_params *p,
                                     const int16_t *TINYC_RESTRICT input,
                                     int16_t *TINYC_RESTRICT output,
                                     const int16_t *TINYC_RESTRICT exp_lut,
                                     const int16_t *TINYC_RESTRICT one_over_one_plus_x_lut) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int16_t *in = input + i * p->depth;
    int16_t *out = output + i * p->depth;
    int32_t max_in_row = -32768;
    for (int32_t c = 0; c < p->depth; ++c) max_in_row = tinyc_max_i32(max_in_row, in[c]);
    int32_t sum_of_exps = 0; /* Q16.15; the compiler bounds depth so it cannot overflow */
    for (int32_t c = 0; c < p->depth; ++c) {
      /* SoftMaxCalculateExp: MultiplyByQuantizedMultiplier of a difference in [-65535, 0],
       * recentred to [-32768, 32767] and saturated. */
      const int32_t scaled_diff =
          tinyc_requantize((int32_t)in[c] - max_in_row, p->input_multiplier, p->input_left_shift);
      const int16_t sym_scaled_diff = tinyc_clamp_s16(scaled_diff + 32767, -32768, 32767);
      out[c] = tinyc_softmax_lut_lookup_s16(sym_scaled_diff, exp_lut);
      sum_of_exps += out[c];
    }
    /* 1 / sum: the sum normalized to [2^30, 2^31), rounded to Q1.16 (so [1, 2) is [2^16, 2^17)),
     * minus 1 and recentred to [-32768, 32767] for the 1 / (1 + x) table. The sum is at least
     * exp(0) = 32767, so the shifts below lie in [0, 16] and [14, 30]. */
    const int headroom_plus_one = tinyc_count_leading_zeros_u32((uint32_t)sum_of_exps);
    const int32_t shifted_sum =
        (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int16_t sat_sym_shifted_sum =
        tinyc_clamp_s16(shifted_sum - ((1 << 15) + (1 << 16)), -32768, 32767);
    const int32_t reciprocal_scale =
        tinyc_softmax_lut_lookup_s16(sat_sym_shifted_sum, one_over_one_plus_x_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = (int64_t)1 << (right_shift - 1);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t result =
          (int32_t)(((int64_t)out[c] * reciprocal_scale + round) >> right_shift);
      out[c] = tinyc_clamp_s16(result, 0, 32767);
    }
  }
}

/* --- float32 --- */

typedef struct {
  int32_t outer_size;
  int32_t depth;
  float beta;
} tinyc_softmax_f32_params;

/* reference_ops::Softmax<float>: the row maximum (std::max from the lowest float), exps of
 * (x - max) * beta summed in order while stored in the output, then each divided by the sum. */
TINYC_INLINE void tinyc_softmax_f32(const tinyc_softmax_f32_params *p,
                                     const float *TINYC_RESTRICT input,
                                     float *TINYC_RESTRICT output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const float *in = input + i * p->depth;
    float *out = output + i * p->depth;
    float max = -3.40282347e+38f; /* std::numeric_limits<float>::lowest() */
    for (int32_t c = 0; c < p->depth; ++c) max = tinyc_max_f32(max, in[c]);
    float sum = 0.0f;
    for (int32_t c = 0; c < p->depth; ++c) {
      const float exp_c = expf((in[c] - max) * p->beta);
      out[c] = exp_c;
      sum += exp_c;
    }
    for (int32_t c = 0; c < p->depth; ++c) out[c] = out[c] / sum;
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_SOFTMAX_H */
