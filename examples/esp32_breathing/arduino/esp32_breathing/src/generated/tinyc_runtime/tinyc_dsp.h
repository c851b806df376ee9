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

/* Four int8 values as one word; Cortex-M with DSP allows unaligned word loads. */
static inline int32_t tinyc_load4(const int8_t *p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/* Bytes 1 and 3 sign-extended to two halfwords (SXTB16 with rotation: one instruction, which
 * compilers do not always form from __sxtb16 and a rotate). Bytes 0 and 2: __sxtb16(v). */
static inline int32_t tinyc_sxtb16_odd(int32_t v) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
#endif

/* Keep hot loops out of line where the compiler allows it: register allocators (gcc -Os in
 * particular) keep a loop's values in registers much better when they see that loop alone than
 * when it is inlined into the loops around it. */
#if defined(__GNUC__)
#define TINYC_NOINLINE static __attribute__((noinline, unused))
#else
#define TINYC_NOINLINE static inline
#endif

#endif /* TINYC_DSP_H */
