/* tinyc runtime: comparisons (EQUAL NOT_EQUAL GREATER GREATER_EQUAL LESS LESS_EQUAL), LOGICAL_AND,
 * LOGICAL_OR and SELECT_V2, with broadcasting.
 *
 * Comparisons mirror reference/comparisons.h: unquantized types compare the stored values
 * (ComparisonImpl / BroadcastComparison4DSlowImpl); int8 inputs are first brought to a common
 * scale as ComparisonWithScaling does: offset, shifted left by `left_shift` (8), multiplied by
 * each input's own scale as a fixed-point multiplier below one (QuantizeMultiplierSmallerThanOneExp
 * of the scale itself, in comparisons.cc's Prepare), then compared as int32. The output is bool.
 * Broadcasting is binary.h's six-loop walk (TFLM's BroadcastBinaryOpSimple, computed offline).
 *
 * LOGICAL_AND / LOGICAL_OR: logical_common.cc's x && y, x || y on bool.
 *
 * SELECT_V2 (reference/select.h, BroadcastSelectSimple): out = condition ? x : y, a copy of the
 * chosen element's bytes, so it is one kernel per element width (_x8, _x16, _x32). Three inputs
 * broadcast against the output: six loops with a stride per input. */
#ifndef TINYC_COMPARISON_H
#define TINYC_COMPARISON_H

#include <stdbool.h>

#include "binary.h"
#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

/* The walk: every comparison but the int8 ones, LOGICAL_AND, LOGICAL_OR. */
typedef tinyc_binary_params tinyc_comparison_params;

typedef struct {
  int32_t left_shift;
  int32_t input1_offset; /* -input1 zero point */
  int32_t input1_multiplier;
  int32_t input1_shift; /* <= 0 */
  int32_t input2_offset; /* -input2 zero point */
  int32_t input2_multiplier;
  int32_t input2_shift; /* <= 0 */
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_comparison_s8_params;

/* One input value on the common scale: MultiplyByQuantizedMultiplierSmallerThanOneExp of the
 * shifted, offset value. */
TINYC_INLINE int32_t tinyc_comparison_scaled(int32_t value, int32_t offset, int32_t left_shift,
                                              int32_t multiplier, int32_t shift) {
  return tinyc_requantize((offset + value) * ((int32_t)1 << left_shift), multiplier, shift);
}

#define TINYC_COMPARISON_S8_SCALED(p, x, y, OP)                                                 \
  (tinyc_comparison_scaled(x, (p)->input1_offset, (p)->left_shift, (p)->input1_multiplier,      \
                           (p)->input1_shift)                                                  \
       OP tinyc_comparison_scaled(y, (p)->input2_offset, (p)->left_shift,                       \
                                  (p)->input2_multiplier, (p)->input2_shift))

#define TINYC_COMPARISON_TYPED(name, OP, suffix, T)                                             \
  TINYC_INLINE void tinyc_##name##_##suffix(const tinyc_comparison_params *p, const T *input1, \
                                             const T *input2, bool *output) {                  \
    TINYC_BROADCAST_WALK(p, T, input1, T, input2, bool, output, x OP y);                        \
  }

/* tinyc_<name>_f32, _s32, _s64 and the rescaling _s8 for one comparison operator. */
#define TINYC_COMPARISON(name, OP)                                                              \
  TINYC_COMPARISON_TYPED(name, OP, f32, float)                                                  \
  TINYC_COMPARISON_TYPED(name, OP, s32, int32_t)                                                \
  TINYC_COMPARISON_TYPED(name, OP, s64, int64_t)                                                \
  TINYC_INLINE void tinyc_##name##_s8(const tinyc_comparison_s8_params *p, const int8_t *input1, \
                                       const int8_t *input2, bool *output) {                    \
    TINYC_BROADCAST_WALK(p, int8_t, input1, int8_t, input2, bool, output,                       \
                         TINYC_COMPARISON_S8_SCALED(p, x, y, OP));                              \
  }

TINYC_COMPARISON(equal, ==)
TINYC_COMPARISON(not_equal, !=)
TINYC_COMPARISON(greater, >)
TINYC_COMPARISON(greater_equal, >=)
TINYC_COMPARISON(less, <)
TINYC_COMPARISON(less_equal, <=)

/* EQUAL and NOT_EQUAL also take bool inputs. */
TINYC_COMPARISON_TYPED(equal, ==, b, bool)
TINYC_COMPARISON_TYPED(not_equal, !=, b, bool)

/* --- LOGICAL_AND, LOGICAL_OR ---------------------------------------------------------------- */

TINYC_INLINE void tinyc_logical_and_b(const tinyc_comparison_params *p, const bool *input1,
                                       const bool *input2, bool *output) {
  TINYC_BROADCAST_WALK(p, bool, input1, bool, input2, bool, output, x && y);
}

TINYC_INLINE void tinyc_logical_or_b(const tinyc_comparison_params *p, const bool *input1,
                                      const bool *input2, bool *output) {
  TINYC_BROADCAST_WALK(p, bool, input1, bool, input2, bool, output, x || y);
}

/* --- SELECT_V2 ------------------------------------------------------------------------------ */

typedef struct {
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t condition_stride0, condition_stride1, condition_stride2, condition_stride3,
      condition_stride4, condition_stride5;
  int32_t x_stride0, x_stride1, x_stride2, x_stride3, x_stride4, x_stride5;
  int32_t y_stride0, y_stride1, y_stride2, y_stride3, y_stride4, y_stride5;
} tinyc_select_params;

#define TINYC_SELECT(suffix, T)                                                                 \
  TINYC_INLINE void tinyc_select_##suffix(const tinyc_select_params *p, const bool *condition, \
                                           const void *x_data, const void *y_data,              \
                                           void *output_data) {                                 \
    const T *x = (const T *)x_data;                                                             \
    const T *y = (const T *)y_data;                                                             \
    T *out = (T *)output_data;                                                                  \
    for (int32_t i0 = 0; i0 < p->dim0; ++i0) {                                                  \
      for (int32_t i1 = 0; i1 < p->dim1; ++i1) {                                                \
        for (int32_t i2 = 0; i2 < p->dim2; ++i2) {                                              \
          for (int32_t i3 = 0; i3 < p->dim3; ++i3) {                                            \
            for (int32_t i4 = 0; i4 < p->dim4; ++i4) {                                          \
              const bool *c = condition + i0 * p->condition_stride0 +                           \
                              i1 * p->condition_stride1 + i2 * p->condition_stride2 +           \
                              i3 * p->condition_stride3 + i4 * p->condition_stride4;            \
              const T *a = x + i0 * p->x_stride0 + i1 * p->x_stride1 + i2 * p->x_stride2 +      \
                           i3 * p->x_stride3 + i4 * p->x_stride4;                               \
              const T *b = y + i0 * p->y_stride0 + i1 * p->y_stride1 + i2 * p->y_stride2 +      \
                           i3 * p->y_stride3 + i4 * p->y_stride4;                               \
              for (int32_t i5 = 0; i5 < p->dim5; ++i5) {                                        \
                *out++ = c[i5 * p->condition_stride5] ? a[i5 * p->x_stride5]                     \
                                                      : b[i5 * p->y_stride5];                   \
              }                                                                                 \
            }                                                                                   \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

TINYC_SELECT(x8, uint8_t)
TINYC_SELECT(x16, uint16_t)
TINYC_SELECT(x32, uint32_t)

TINYC_NAMESPACE_END

#endif /* TINYC_COMPARISON_H */
