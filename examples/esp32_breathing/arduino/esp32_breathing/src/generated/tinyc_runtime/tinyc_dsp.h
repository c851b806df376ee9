/* tinyc runtime: the Arm DSP-extension primitives the int8 kernels share (conv, depthwise conv,
 * fully connected), and the out-of-line marker for hot loops.
 *
 * TINYC_DSP is defined on cores with the DSP extension (Cortex-M4/M7/M33/M55...) when compiled by a
 * GNU-compatible compiler (gcc, clang, Arm Compiler 6) for the intrinsics and the one inline
 * instruction. Define TINYC_NO_DSP to use the portable C loops everywhere. The DSP paths compute
 * the same integer sums as the portable ones. */
#ifndef TINYC_DSP_H
#define TINYC_DSP_H

#include "tinyc_common.h"

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TINYC_NO_DSP)
#include <arm_acle.h>
#define TINYC_DSP 1
#endif

TINYC_NAMESPACE_BEGIN

#ifdef TINYC_DSP

/* Four int8 values as one word; Cortex-M with DSP allows unaligned word loads. */
TINYC_INLINE int32_t tinyc_load4(const int8_t *p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/* Bytes 1 and 3 sign-extended to two halfwords (SXTB16 with rotation: one instruction, which
 * compilers do not always form from __sxtb16 and a rotate). Bytes 0 and 2: __sxtb16(v). */
TINYC_INLINE int32_t tinyc_sxtb16_odd(int32_t v) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
#endif

/* ------------------------------------------------------------ requantization, right shifts */

/* TFLM's MultiplyByQuantizedMultiplier (double rounding) for the layers the compiler proves it
 * for (params field requant_fast): every channel's multiplier m in [2^30, 2^31) (what
 * QuantizeMultiplier gives), its shift <= 0 (a right shift e = -shift, or none), and every
 * accumulator |x| < 2^29. Same integers as tinyc_requantize, in five instructions on Arm:
 *   1. y = SaturatingRoundingDoublingHighMul(x, m) = floor((x * m + 2^30) / 2^31) (gemmlowp's
 *      nudge and truncation toward zero reduce to this floor for both signs, tinyc_common.h).
 *      With the DSP extension that is one SMMULR (floor((a * b + 2^31) / 2^32)) and an add: with
 *      m2 = 2m - 2^32 (2m wrapped to int32), (x * m2 + 2^31) / 2^32 = (2xm + 2^31) / 2^32 - x,
 *      so y = SMMULR(x, m2) + x, for any x. |y| <= |x|.
 *   2. RoundingDivideByPOT(y, e), half away from zero, = floor((y + 2^(e-1) - [y < 0]) / 2^e)
 *      for e >= 1 and y for e = 0. Both are (2y + 2^e + (y >> 31)) >> (e + 1): doubling puts
 *      the sign's -1 at half weight, which changes no floor of an integer over 2^e (e >= 1) and
 *      makes e = 0 the identity. |2y| + 2^e < 2^31 for e <= 30.
 * The compiler hands these kernels shifts of at most 30 and no multiplier 0: with |x| < 2^29,
 * TFLM's result is 0 for e >= 30 and for QuantizeMultiplier's multiplier 0 (a scale below
 * 2^-31), and so is the result of (2^30, shift -30), which replaces them there
 * (compiler/ops/conv.py). tinyc_rq_make turns a channel's multiplier and shift into those constants once, outside the
 * loops over pixels. */
/* Cores whose compilers call a library routine for a 64-bit product (the ESP8266's LX106, with
 * the CALL0 ABI and no MUL32_HIGH; Armv6-M) take y from 16-bit halves instead: same integers. */
#if !defined(TINYC_DSP) && !defined(TINYC_MUL64_SLOW) && \
    (defined(__XTENSA_CALL0_ABI__) || defined(__ARM_ARCH_6M__))
#define TINYC_MUL64_SLOW 1
#endif

/* Under TINYC_SINGLE_ROUNDING (tinyc_common.h) the same layers take one rounding instead, in
 * three instructions on Arm: floor((x * m + 2^(30+e)) / 2^(31+e)) = floor((F + 2^e) / 2^(e+1))
 * with F = floor(4 x m / 2^32) (nested floors of divisions merge; 2^(30+e) = 2^e 2^30), and
 * |4x| < 2^31 for |x| < 2^29: 4x, SMMLA(4x, m, 2^e) = F + 2^e, an arithmetic shift by e + 1.
 * |F| < 2^30, so F + 2^e < 2^31 for e <= 30. Same constants (m, 2^e, e + 1) on every path. */

typedef struct {
  int32_t mul;   /* double rounding: m2 = 2m - 2^32 on the DSP path, m on the portable one;
                    single rounding: m */
  int32_t round; /* 2^e */
  int32_t shift; /* e + 1 */
} tinyc_rq;

TINYC_ALWAYS_INLINE tinyc_rq tinyc_rq_make(int32_t multiplier, int32_t shift) {
  tinyc_rq r;
  const int32_t e = -shift; /* 0 to 30, from the compiler */
#if defined(TINYC_DSP) && !defined(TINYC_SINGLE_ROUNDING)
  r.mul = (int32_t)((uint32_t)multiplier << 1);
#else
  r.mul = multiplier;
#endif
  r.round = (int32_t)(1u << (e & 31)); /* e < 0 (a left shift) only where requant_fast is 0 */
  r.shift = e + 1;
  return r;
}

/* floor((x * m + 2^30) / 2^31) for |x| < 2^29 and m in [2^30, 2^31), from 16-bit halves:
 * x = xh 2^16 + xl, m = mh 2^16 + ml (xl, ml, mh unsigned, xh signed), so
 * x m + 2^30 = 2^32 xh mh + 2^16 (xl mh + xh ml) + xl ml + 2^30, and the floor of that over 2^31
 * is 2 xh mh + floor((xl mh + xh ml + (xl ml >> 16) + 2^14) / 2^15) (nested floors of divisions
 * merge; 2^30 is a multiple of 2^16). xl mh < 2^31 is split at 2^15 so that no sum leaves int32:
 * |xh ml| < 2^29. */
TINYC_ALWAYS_INLINE int32_t tinyc_rq_high_mul32(int32_t x, int32_t m) {
  const uint32_t xl = (uint32_t)x & 0xffffu, ml = (uint32_t)m & 0xffffu, mh = (uint32_t)m >> 16;
  const int32_t xh = x >> 16;
  const uint32_t q1 = xl * mh;
  const int32_t rest = (int32_t)(q1 & 0x7fffu) + xh * (int32_t)ml +
                       (int32_t)(((xl * ml) >> 16) + (1u << 14));
  return 2 * xh * (int32_t)mh + (int32_t)(q1 >> 15) + (rest >> 15);
}

#ifdef TINYC_SINGLE_ROUNDING
/* floor(a * m / 2^31) for |a| < 2^30 and m in [2^30, 2^31), from 16-bit halves as
 * tinyc_rq_high_mul32 (without its 2^30 rounding term): |ah ml| < 2^30 and 2 |ah| mh <= 2^30. */
TINYC_ALWAYS_INLINE int32_t tinyc_rq_floor_mul31(int32_t a, int32_t m) {
  const uint32_t al = (uint32_t)a & 0xffffu, ml = (uint32_t)m & 0xffffu, mh = (uint32_t)m >> 16;
  const int32_t ah = a >> 16;
  const uint32_t q1 = al * mh;
  const int32_t rest = (int32_t)(q1 & 0x7fffu) + ah * (int32_t)ml + (int32_t)((al * ml) >> 16);
  return 2 * ah * (int32_t)mh + (int32_t)(q1 >> 15) + (rest >> 15);
}

TINYC_ALWAYS_INLINE int32_t tinyc_rq_apply(int32_t x, tinyc_rq r) {
#ifdef TINYC_DSP
  int32_t y;
  __asm__("smmla %0, %1, %2, %3" : "=r"(y) : "r"(x * 4), "r"(r.mul), "r"(r.round));
#elif defined(TINYC_MUL64_SLOW)
  const int32_t y = tinyc_rq_floor_mul31(x * 2, r.mul) + r.round;
#else
  const int32_t y = (int32_t)(((int64_t)(x * 4) * r.mul) >> 32) + r.round;
#endif
  return y >> r.shift;
}
#else
TINYC_ALWAYS_INLINE int32_t tinyc_rq_apply(int32_t x, tinyc_rq r) {
#ifdef TINYC_DSP
  int32_t y;
  __asm__("smmulr %0, %1, %2" : "=r"(y) : "r"(x), "r"(r.mul));
  y += x;
#elif defined(TINYC_MUL64_SLOW)
  const int32_t y = tinyc_rq_high_mul32(x, r.mul);
#else
  const int32_t y = (int32_t)(((int64_t)x * r.mul + ((int64_t)1 << 30)) >> 31);
#endif
  return (int32_t)((uint32_t)y * 2u + (uint32_t)r.round + (uint32_t)(y >> 31)) >> r.shift;
}
#endif /* TINYC_SINGLE_ROUNDING */

/* The requantization of tinyc_rq_apply as an assembly string for the kernels' asm loops:
 * S the accumulator (clobbered), W the result, M R SH the registers holding tinyc_rq's mul,
 * round and shift (asm operand names). */
#ifdef TINYC_SINGLE_ROUNDING
#define TINYC_RQ_ASM(S, W, M, R, SH)                 \
  "lsl %[" S "], %[" S "], #2\n\t"                   \
  "smmla %[" W "], %[" S "], %[" M "], %[" R "]\n\t" \
  "asr %[" W "], %[" W "], %[" SH "]\n\t"
#else
#define TINYC_RQ_ASM(S, W, M, R, SH)                   \
  "smmulr %[" W "], %[" S "], %[" M "]\n\t"            \
  "add %[" S "], %[" S "], %[" W "]\n\t"               \
  "add %[" W "], %[" R "], %[" S "], lsl #1\n\t"       \
  "add %[" W "], %[" W "], %[" S "], asr #31\n\t"      \
  "asr %[" W "], %[" W "], %[" SH "]\n\t"
#endif

/* One int8 output: the requantized value plus the output offset, clamped to [lo, hi]. On the
 * DSP path SSAT does the int8 saturation; `clamp` (lo > -128 || hi < 127, computed once per
 * call) says whether the activation range is narrower, so a layer whose range is all of int8
 * (the usual case) pays for no compares. */
TINYC_ALWAYS_INLINE int8_t tinyc_rq_out_s8(int32_t v, int32_t lo, int32_t hi, int32_t clamp) {
#ifdef TINYC_DSP
  v = __ssat(v, 8);
  if (clamp) {
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
  }
  return (int8_t)v;
#else
  (void)clamp;
  return tinyc_clamp_s8(v, lo, hi);
#endif
}

/* Requantization modes of an int8 kernel: TINYC_RQ_GENERIC (tinyc_requantize), TINYC_RQ_FAST
 * (tinyc_rq_apply, activation range all of int8) or TINYC_RQ_CLAMP (tinyc_rq_apply, a narrower
 * range). Kernels take it as a constant: each mode is its own copy of a kernel's loops, and the
 * kernel's inline entry picks one from the params, at compile time when they are constants. */
#define TINYC_RQ_GENERIC 0
#define TINYC_RQ_FAST 1
#define TINYC_RQ_CLAMP 2
TINYC_ALWAYS_INLINE int32_t tinyc_rq_mode(int32_t requant_fast, int32_t lo, int32_t hi) {
  return !requant_fast ? TINYC_RQ_GENERIC : lo > -128 || hi < 127 ? TINYC_RQ_CLAMP : TINYC_RQ_FAST;
}

/* Keep hot loops out of line where the compiler allows it: register allocators (gcc -Os in
 * particular) keep a loop's values in registers much better when they see that loop alone than
 * when it is inlined into the loops around it. */
/* Out of line: C++ inline linkage in a shared runtime (one copy for the program), static
 * otherwise (gcc refuses `inline` together with noinline in C). */
#if defined(__GNUC__) && defined(TINYC_SHARED_RUNTIME) && defined(__cplusplus)
#define TINYC_NOINLINE inline __attribute__((noinline))
#elif defined(__GNUC__)
#define TINYC_NOINLINE static __attribute__((noinline, unused))
#else
#define TINYC_NOINLINE TINYC_INLINE
#endif

TINYC_NAMESPACE_END

#endif /* TINYC_DSP_H */
