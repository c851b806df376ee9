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

/* For the few helpers that run once per output value: compilers optimizing for size (gcc -Os)
 * otherwise turn them into calls, which costs as much as the arithmetic. */
#if defined(__GNUC__)
#define TINYC_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define TINYC_ALWAYS_INLINE static inline
#endif

static inline int32_t tinyc_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t tinyc_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
/* Same operand order as std::min / std::max (TFLM's clamps), so -0.0 and NaN come out alike. */
static inline float tinyc_min_f32(float a, float b) { return b < a ? b : a; }
static inline float tinyc_max_f32(float a, float b) { return a < b ? b : a; }

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32, rounded to nearest, saturating
 * the one overflowing case. gemmlowp adds 2^30 (1 - 2^30 if a * b < 0) and divides by 2^31,
 * truncating toward zero. For a negative sum that truncation is the floor of (a * b + 2^30) / 2^31,
 * so both signs reduce to one arithmetic shift: no branch, no 64-bit division call on Cortex-M. */
TINYC_ALWAYS_INLINE int32_t tinyc_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  return (int32_t)(((int64_t)a * (int64_t)b + (1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero. */
TINYC_ALWAYS_INLINE int32_t tinyc_rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1u << exponent) - 1u); /* exponent <= 31 */
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^(shift - 31).
 * A positive shift is applied to x first, with int32 wrap-around as in TFLM. */
TINYC_ALWAYS_INLINE int32_t tinyc_requantize(int32_t x, int32_t multiplier, int shift) {
  if (shift < 0 && multiplier >= (1 << 30)) {
    /* The usual case, a right shift e = -shift and a multiplier from QuantizeMultiplier (so in
     * [2^30, 2^31)), in one 64-bit multiply-accumulate: same result, half the instructions.
     * TFLM rounds twice: y = floor((x*m + 2^30) / 2^31), then y / 2^e half away from zero, which
     * is floor((y + 2^(e-1) - [y < 0]) / 2^e). Nested floors of divisions merge into one:
     *   floor((x*m + 2^30 - 2^31 [y < 0] + 2^(30+e)) / 2^(31+e)),
     * and as m >= 2^30, y < 0 exactly when x < 0 (except x = -1, m = 2^30, where y = 0 but the
     * result is 0 either way). 2^(31+e) >= 2^32: take the high word, shift it by e - 1. */
    const int e = -shift;
    const uint32_t t = 1u << e; /* 2^(30+e) = (t >> 2) * 2^32 + (t << 30) (mod 2^32) */
    const int64_t round = (int64_t)(((uint64_t)(t >> 2) << 32) | (uint32_t)(t << 30));
    const int64_t half = x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30);
    return (int32_t)((half + round + (int64_t)x * multiplier) >> 32) >> (e - 1);
  }
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = (int32_t)((uint32_t)x << left_shift);
  return tinyc_rounding_divide_by_pot(
      tinyc_saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift);
}

/* TFLM MultiplyByQuantizedMultiplier for int64 accumulators (the 16x8 kernels): the multiplier
 * reduced to 16 bits (rounded, saturated at 0x7FFF), one rounding shift. The compiler guarantees
 * TFLM's contract: multiplier >= 0, -31 <= shift < 8 and |x| < 2^47, so nothing overflows; the
 * conversion to int32 keeps the low 32 bits, as TFLM's static_cast does. */
TINYC_ALWAYS_INLINE int32_t tinyc_requantize_s64(int64_t x, int32_t multiplier, int shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - shift;
  x = x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1));
  return (int32_t)(x >> total_shift);
}

static inline int8_t tinyc_clamp_s8(int32_t x, int32_t lo, int32_t hi) {
  return (int8_t)tinyc_min_i32(tinyc_max_i32(x, lo), hi);
}

static inline int16_t tinyc_clamp_s16(int32_t x, int32_t lo, int32_t hi) {
  return (int16_t)tinyc_min_i32(tinyc_max_i32(x, lo), hi);
}

#endif /* TINYC_COMMON_H */
