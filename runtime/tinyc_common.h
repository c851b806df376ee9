/* tinyc runtime: fixed-point helpers shared by the int8 kernels.
 *
 * Each function reproduces the arithmetic of TFLite Micro's reference kernels bit for bit
 * (tensorflow/lite/kernels/internal/common.h and gemmlowp's fixedpoint.h), so a tinyc model
 * and the TFLM interpreter produce identical bytes. Everything is `TINYC_INLINE`: two
 * generated models in one firmware each get their own copy and never clash at link time.
 * Valid C99 and C++11; no allocation, no global state. */
#ifndef TINYC_COMMON_H
#define TINYC_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Linkage of every runtime function. By default a model's folder carries its own copies:
 * static, so models in one program never clash (each has its own). Models compiled with
 * `tinyc compile --shared-runtime` use one runtime folder (`tinyc runtime`) for the whole
 * program and define TINYC_SHARED_RUNTIME: the functions then have C++ inline linkage inside a
 * namespace named after the runtime's content, so the linker keeps one copy of each for all the
 * models, and two runtimes of different contents never merge. */
#if defined(TINYC_SHARED_RUNTIME) && defined(__cplusplus)
#include "tinyc_runtime_id.h"
#define TINYC_INLINE inline
#ifdef TINYC_SINGLE_ROUNDING
/* Models compiled with --rounding single get the same functions with other arithmetic: another
 * namespace, so that a program with models of both modes keeps one definition of each (ODR). */
#define TINYC_NAMESPACE_PASTE_(a, b) a##b
#define TINYC_NAMESPACE_PASTE(a, b) TINYC_NAMESPACE_PASTE_(a, b)
#define TINYC_NAMESPACE_BEGIN namespace TINYC_NAMESPACE_PASTE(TINYC_RUNTIME_NAMESPACE, _single) {
#define TINYC_USING_NAMESPACE using namespace TINYC_NAMESPACE_PASTE(TINYC_RUNTIME_NAMESPACE, _single);
#else
#define TINYC_NAMESPACE_BEGIN namespace TINYC_RUNTIME_NAMESPACE {
#define TINYC_USING_NAMESPACE using namespace TINYC_RUNTIME_NAMESPACE;
#endif
#define TINYC_NAMESPACE_END }
#else
#define TINYC_INLINE static inline
#define TINYC_NAMESPACE_BEGIN
#define TINYC_NAMESPACE_END
#endif

TINYC_NAMESPACE_BEGIN

#ifdef __cplusplus
#define TINYC_RESTRICT __restrict__
#else
#define TINYC_RESTRICT restrict
#endif

/* For the few helpers that run once per output value: compilers optimizing for size (gcc -Os)
 * otherwise turn them into calls, which costs as much as the arithmetic. */
#if defined(__GNUC__)
#define TINYC_ALWAYS_INLINE TINYC_INLINE __attribute__((always_inline))
#else
#define TINYC_ALWAYS_INLINE TINYC_INLINE
#endif

TINYC_INLINE int32_t tinyc_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
TINYC_INLINE int32_t tinyc_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
/* Same operand order as std::min / std::max (TFLM's clamps), so -0.0 and NaN come out alike. */
TINYC_INLINE float tinyc_min_f32(float a, float b) { return b < a ? b : a; }
TINYC_INLINE float tinyc_max_f32(float a, float b) { return a < b ? b : a; }

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

#ifdef TINYC_SINGLE_ROUNDING
/* Defined by models compiled with `tinyc compile --rounding single`: requantize as TFLite built
 * with TFLITE_SINGLE_ROUNDING does (common.cc), x * multiplier * 2^(shift - 31) with one rounding,
 * half up: (x * multiplier + 2^(30 - shift)) >> (31 - shift) on the 64-bit product, kept to its
 * low 32 bits. TFLite's contract, which the compiler guarantees: multiplier >= 0 and
 * -31 <= shift <= 30 (QuantizeMultiplier saturates larger shifts under single rounding), so
 * |x * multiplier| + the rounding term < 2^63. */
TINYC_ALWAYS_INLINE int32_t tinyc_requantize(int32_t x, int32_t multiplier, int shift) {
  if (shift < 0) {
    /* A right shift e = -shift (1 to 31), the usual case: the total shift 31 + e is at least 32,
     * so take the high word of the product plus 2^(30+e) (one SMLAL on Arm) and shift it by
     * e - 1. 2^(30+e) = (t >> 2) * 2^32 + (t << 30) (mod 2^32) for t = 2^e. */
    const int e = -shift;
    const uint32_t t = 1u << e;
    const int64_t round = (int64_t)(((uint64_t)(t >> 2) << 32) | (uint32_t)(t << 30));
    return (int32_t)((round + (int64_t)x * multiplier) >> 32) >> (e - 1);
  }
  const int total_shift = 31 - shift; /* 1 to 31 */
  return (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}
#else
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
#endif /* TINYC_SINGLE_ROUNDING */

/* TFLM MultiplyByQuantizedMultiplier for int64 accumulators (the 16x8 kernels): the multiplier
 * reduced to 16 bits (rounded, saturated at 0x7FFF), one rounding shift, in both rounding modes
 * (common.cc has the same code under TFLITE_SINGLE_ROUNDING). The compiler guarantees
 * TFLM's contract: multiplier >= 0, -31 <= shift < 8 and |x| < 2^47, so nothing overflows; the
 * conversion to int32 keeps the low 32 bits, as TFLM's static_cast does. */
TINYC_ALWAYS_INLINE int32_t tinyc_requantize_s64(int64_t x, int32_t multiplier, int shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - shift;
  x = x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1));
  return (int32_t)(x >> total_shift);
}

TINYC_INLINE int8_t tinyc_clamp_s8(int32_t x, int32_t lo, int32_t hi) {
  return (int8_t)tinyc_min_i32(tinyc_max_i32(x, lo), hi);
}

TINYC_INLINE int16_t tinyc_clamp_s16(int32_t x, int32_t lo, int32_t hi) {
  return (int16_t)tinyc_min_i32(tinyc_max_i32(x, lo), hi);
}

TINYC_NAMESPACE_END

#endif /* TINYC_COMMON_H */
