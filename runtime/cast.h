/* tinyc runtime: CAST between int8, int16, int32, float32 and bool, element by element.
 *
 * Mirrors micro/kernels/cast.cc's copyCast as the tflite-micro interpreter runs it:
 *   - integer to integer: static_cast, so narrowing keeps the low bits (two's complement wrap);
 *   - integer or bool to float32: static_cast (round to nearest for |x| > 2^24);
 *   - float32 to integer: truncation toward zero, saturated to the type's range, NaN to 0 (the
 *     interpreter's behaviour, tested: a bare static_cast would be undefined out of range);
 *   - to bool: x != 0 (NaN is true, -0.0 false); bool to a number: 0 or 1.
 * tinyc_cast_<from>_<to> for every pair; a same-type cast is a copy. */
#ifndef TINYC_CAST_H
#define TINYC_CAST_H

#include <stdbool.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t size;
} tinyc_cast_params;

/* float -> integer conversions that are defined for every input. The bounds are exact floats:
 * x >= 2^31 saturates; anything above INT32_MIN truncates into range. */
TINYC_INLINE int32_t tinyc_cast_float_to_i32(float x, int32_t lo, int32_t hi) {
  if (x != x) return 0;
  if (x >= (float)hi) return hi; /* (float)INT32_MAX is 2^31 */
  if (x <= (float)lo) return lo;
  return (int32_t)x;
}

#define TINYC_CAST(from, FROM_T, to, TO_T, expression)                                        \
  TINYC_INLINE void tinyc_cast_##from##_##to(const tinyc_cast_params *p, const FROM_T *input, \
                                              TO_T *output) {                                  \
    for (int32_t i = 0; i < p->size; ++i) {                                                     \
      const FROM_T x = input[i];                                                                \
      output[i] = (expression);                                                                 \
    }                                                                                           \
  }

/* Integers (and bool) to integers, float and bool. */
#define TINYC_CAST_FROM_INTEGER(from, FROM_T)                                                   \
  TINYC_CAST(from, FROM_T, s8, int8_t, (int8_t)x)                                               \
  TINYC_CAST(from, FROM_T, s16, int16_t, (int16_t)x)                                            \
  TINYC_CAST(from, FROM_T, s32, int32_t, (int32_t)x)                                            \
  TINYC_CAST(from, FROM_T, f32, float, (float)x)                                                \
  TINYC_CAST(from, FROM_T, b, bool, x != 0)

TINYC_CAST_FROM_INTEGER(s8, int8_t)
TINYC_CAST_FROM_INTEGER(s16, int16_t)
TINYC_CAST_FROM_INTEGER(s32, int32_t)
TINYC_CAST_FROM_INTEGER(b, bool)

TINYC_CAST(f32, float, s8, int8_t, (int8_t)tinyc_cast_float_to_i32(x, -128, 127))
TINYC_CAST(f32, float, s16, int16_t, (int16_t)tinyc_cast_float_to_i32(x, -32768, 32767))
TINYC_CAST(f32, float, s32, int32_t, tinyc_cast_float_to_i32(x, INT32_MIN, INT32_MAX))
TINYC_CAST(f32, float, f32, float, x)
TINYC_CAST(f32, float, b, bool, x != 0)

TINYC_NAMESPACE_END

#endif /* TINYC_CAST_H */
