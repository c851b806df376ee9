/* tinyc runtime: ARG_MAX and ARG_MIN along one axis, int8 and float32 input, int32 output.
 *
 * Mirrors TFLM reference_ops::ArgMinMax as micro/kernels/arg_min_max.cc calls it, with
 * reference_ops::GreaterFn / LessFn (a plain `>` / `<`): along the axis the first value is the
 * running best and a later value replaces it only when strictly greater (ARG_MAX) or less
 * (ARG_MIN), so of equal values the first index wins, a NaN never replaces a number, and a NaN
 * in the first place is never replaced (nothing compares greater than it).
 *
 * The compiler flattens the shape around the axis: `outer` elements before it (the product of
 * the dimensions before the axis), `axis_size` along it and `inner` after it (the stride of the
 * axis, in elements). Outputs are written in order: outer-major, inner-minor. */
#ifndef TINYC_ARG_MINMAX_H
#define TINYC_ARG_MINMAX_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t outer;
  int32_t axis_size;
  int32_t inner;
} tinyc_arg_minmax_params;

/* `is_arg_max` is a constant in every caller, so each wrapper gets its own loops. */
#define TINYC_ARG_MINMAX_LOOPS(p, T, input, output, is_arg_max)                               \
  do {                                                                                      \
    for (int32_t outer = 0; outer < (p)->outer; ++outer) {                                  \
      const T *row = (input) + outer * (p)->axis_size * (p)->inner;                         \
      for (int32_t inner = 0; inner < (p)->inner; ++inner) {                                \
        const T *x = row + inner;                                                           \
        T best = x[0];                                                                      \
        int32_t best_index = 0;                                                             \
        for (int32_t i = 1; i < (p)->axis_size; ++i) {                                      \
          const T value = x[i * (p)->inner];                                                \
          if ((is_arg_max) ? (value > best) : (value < best)) {                             \
            best = value;                                                                   \
            best_index = i;                                                                 \
          }                                                                                 \
        }                                                                                   \
        *(output)++ = best_index;                                                           \
      }                                                                                     \
    }                                                                                       \
  } while (0)

TINYC_INLINE void tinyc_arg_max_s8(const tinyc_arg_minmax_params *p,
                                    const int8_t *TINYC_RESTRICT input,
                                    int32_t *TINYC_RESTRICT output) {
  TINYC_ARG_MINMAX_LOOPS(p, int8_t, input, output, 1);
}

TINYC_INLINE void tinyc_arg_min_s8(const tinyc_arg_minmax_params *p,
                                    const int8_t *TINYC_RESTRICT input,
                                    int32_t *TINYC_RESTRICT output) {
  TINYC_ARG_MINMAX_LOOPS(p, int8_t, input, output, 0);
}

TINYC_INLINE void tinyc_arg_max_f32(const tinyc_arg_minmax_params *p,
                                     const float *TINYC_RESTRICT input,
                                     int32_t *TINYC_RESTRICT output) {
  TINYC_ARG_MINMAX_LOOPS(p, float, input, output, 1);
}

TINYC_INLINE void tinyc_arg_min_f32(const tinyc_arg_minmax_params *p,
                                     const float *TINYC_RESTRICT input,
                                     int32_t *TINYC_RESTRICT output) {
  TINYC_ARG_MINMAX_LOOPS(p, float, input, output, 0);
}

#undef TINYC_ARG_MINMAX_LOOPS

TINYC_NAMESPACE_END

#endif /* TINYC_ARG_MINMAX_H */
