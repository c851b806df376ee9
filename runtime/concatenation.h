/* tinyc runtime: CONCATENATION along any axis, for every type TFLM concatenates.
 * Mirrors TFLM reference_ops::Concatenation (reference/concatenation.h), which
 * micro/kernels/concatenation.cc calls for float32, int8, int16, int32, int64 and bool. TFLM
 * requires every int8 input to have the output's scale and zero point and int16 zero points of
 * 0 (and does not compare int16 scales), so nothing is rescaled: the kernel copies values
 * without looking at them, and one kernel per element width serves every type: `_x8` (int8,
 * bool), `_x16` (int16), `_x32` (int32, float32), `_x64` (int64).
 *
 * For each of `outer_size` slices (the product of the dimensions before the axis), each input
 * contributes `copy_sizes[i]` consecutive elements (its size along the axis times the product
 * of the dimensions after it), copied with memcpy as TFLM does (memcpy also copies int64
 * values that the arena aligns to 4 bytes only, and reads float values as bytes, not through
 * an integer type).
 *
 * Kernels take a fixed argument list, so a call with N inputs (1 <= N <= 10, TFLM's limit) uses
 * the wrapper tinyc_concatenationN_xW, which collects the input pointers into an array. */
#ifndef TINYC_CONCATENATION_H
#define TINYC_CONCATENATION_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t outer_size;
  int32_t input_count;
} tinyc_concatenation_params;

/* `width` is a constant in every wrapper below, so each gets its own copy of the loops. */
TINYC_ALWAYS_INLINE void tinyc_concatenation(const tinyc_concatenation_params *p, size_t width,
                                             const int32_t *copy_sizes,
                                             const void *const *inputs,
                                             void *TINYC_RESTRICT output) {
  uint8_t *out = (uint8_t *)output;
  for (int32_t k = 0; k < p->outer_size; ++k) {
    for (int32_t i = 0; i < p->input_count; ++i) {
      const size_t n = (size_t)copy_sizes[i] * width;
      memcpy(out, (const uint8_t *)inputs[i] + (size_t)k * n, n);
      out += n;
    }
  }
}

#define TINYC_CONCAT_P const tinyc_concatenation_params *p, const int32_t *copy_sizes
#define TINYC_CONCAT_RUN(width, ...)                     \
  const void *const inputs[] = {__VA_ARGS__};            \
  tinyc_concatenation(p, width, copy_sizes, inputs, output)

/* The ten wrappers for one element width. */
#define TINYC_CONCATENATIONS(suffix, width)                                                   \
  TINYC_INLINE void tinyc_concatenation1_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   void *output) {                           \
    TINYC_CONCAT_RUN(width, in0);                                                             \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation2_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, void *output) {          \
    TINYC_CONCAT_RUN(width, in0, in1);                                                        \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation3_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   void *output) {                           \
    TINYC_CONCAT_RUN(width, in0, in1, in2);                                                   \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation4_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   const void *in3, void *output) {          \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3);                                              \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation5_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   const void *in3, const void *in4,         \
                                                   void *output) {                           \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3, in4);                                         \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation6_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   const void *in3, const void *in4,         \
                                                   const void *in5, void *output) {          \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3, in4, in5);                                    \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation7_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   const void *in3, const void *in4,         \
                                                   const void *in5, const void *in6,         \
                                                   void *output) {                           \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3, in4, in5, in6);                               \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation8_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   const void *in3, const void *in4,         \
                                                   const void *in5, const void *in6,         \
                                                   const void *in7, void *output) {          \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3, in4, in5, in6, in7);                          \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation9_##suffix(TINYC_CONCAT_P, const void *in0,          \
                                                   const void *in1, const void *in2,         \
                                                   const void *in3, const void *in4,         \
                                                   const void *in5, const void *in6,         \
                                                   const void *in7, const void *in8,         \
                                                   void *output) {                           \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3, in4, in5, in6, in7, in8);                     \
  }                                                                                           \
  TINYC_INLINE void tinyc_concatenation10_##suffix(TINYC_CONCAT_P, const void *in0,         \
                                                    const void *in1, const void *in2,        \
                                                    const void *in3, const void *in4,        \
                                                    const void *in5, const void *in6,        \
                                                    const void *in7, const void *in8,        \
                                                    const void *in9, void *output) {         \
    TINYC_CONCAT_RUN(width, in0, in1, in2, in3, in4, in5, in6, in7, in8, in9);                \
  }

TINYC_CONCATENATIONS(x8, 1)
TINYC_CONCATENATIONS(x16, 2)
TINYC_CONCATENATIONS(x32, 4)
TINYC_CONCATENATIONS(x64, 8)

#undef TINYC_CONCATENATIONS
#undef TINYC_CONCAT_RUN
#undef TINYC_CONCAT_P

TINYC_NAMESPACE_END

#endif /* TINYC_CONCATENATION_H */
