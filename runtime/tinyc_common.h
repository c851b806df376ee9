/* tinyc runtime: fixed-point helpers shared by the int8 kernels.
 *
 * Each function reproduces the arithmetic of TFLite Micro's reference kernels bit for bit
 * (tensorflow/lite/kernels/internal/common.h and gemmlowp's fixedpoint.h), so a tinyc model
 * and the TFLM interpreter produce identical bytes. Everything is `static inline`: two
 * generated models in one firmware each get their own copy and never clash at link time.
 * Valid C99 and C++11; no allocation, no global state. */
#ifndef TINYC_COMMON_H
#define TINYC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define TINYC_RESTRICT __restrict__
#else
#define TINYC_RESTRICT restrict
#endif

static inline int32_t tinyc_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t tinyc_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline float tinyc_min_f32(float a, float b) { return a < b ? a : b; }
static inline float tinyc_max_f32(float a, float b) { return a > b ? a : b; }

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32, rounded to nearest, ties away
 * from zero, saturating the one overflowing case. The truncating division of the original is
 * written as shifts of the magnitude, which avoids a 64-bit division call on Cortex-M. */
static inline int32_t tinyc_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudged = ab + (ab >= 0 ? (1 << 30) : (1 - (1 << 30)));
  return (int32_t)(nudged >= 0 ? (nudged >> 31) : -((-nudged) >> 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero. */
static inline int32_t tinyc_rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^(shift - 31).
 * A positive shift is applied to x first, with int32 wrap-around as in TFLM. */
static inline int32_t tinyc_requantize(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = (int32_t)((uint32_t)x << left_shift);
  return tinyc_rounding_divide_by_pot(
      tinyc_saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift);
}

static inline int8_t tinyc_clamp_s8(int32_t x, int32_t lo, int32_t hi) {
  return (int8_t)tinyc_min_i32(tinyc_max_i32(x, lo), hi);
}

#endif /* TINYC_COMMON_H */
