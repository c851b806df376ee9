/* tinyc runtime: CONCATENATION of int8 tensors along any axis.
 * Mirrors TFLM reference_ops::Concatenation (reference/concatenation.h). TFLM requires every int8
 * input to have the output's scale and zero point (concatenation.cc), so this is a pure copy:
 * for each of `outer_size` slices (the product of the dimensions before the axis), each input
 * contributes `copy_sizes[i]` consecutive bytes (its size along the axis times the product of
 * the dimensions after it).
 *
 * Kernels take a fixed argument list, so a call with N inputs (1 <= N <= 10, TFLM's limit) uses
 * the wrapper tinyc_concatenationN_s8, which collects the input pointers into an array. */
#ifndef TINYC_CONCATENATION_H
#define TINYC_CONCATENATION_H

#include "tinyc_common.h"

typedef struct {
  int32_t outer_size;
  int32_t input_count;
} tinyc_concatenation_s8_params;

static inline void tinyc_concatenation_s8(const tinyc_concatenation_s8_params *p,
                                          const int32_t *copy_sizes,
                                          const int8_t *const *inputs,
                                          int8_t *TINYC_RESTRICT output) {
  for (int32_t k = 0; k < p->outer_size; ++k) {
    for (int32_t i = 0; i < p->input_count; ++i) {
      const int32_t n = copy_sizes[i];
      const int8_t *in = inputs[i] + k * n;
      for (int32_t j = 0; j < n; ++j) output[j] = in[j];
      output += n;
    }
  }
}

#define TINYC_CONCAT_P const tinyc_concatenation_s8_params *p, const int32_t *copy_sizes
#define TINYC_CONCAT_RUN(...)                              \
  const int8_t *const inputs[] = {__VA_ARGS__};            \
  tinyc_concatenation_s8(p, copy_sizes, inputs, output)

static inline void tinyc_concatenation1_s8(TINYC_CONCAT_P, const int8_t *in0, int8_t *output) {
  TINYC_CONCAT_RUN(in0);
}
static inline void tinyc_concatenation2_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1);
}
static inline void tinyc_concatenation3_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2);
}
static inline void tinyc_concatenation4_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, const int8_t *in3,
                                           int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3);
}
static inline void tinyc_concatenation5_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, const int8_t *in3,
                                           const int8_t *in4, int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3, in4);
}
static inline void tinyc_concatenation6_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, const int8_t *in3,
                                           const int8_t *in4, const int8_t *in5,
                                           int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3, in4, in5);
}
static inline void tinyc_concatenation7_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, const int8_t *in3,
                                           const int8_t *in4, const int8_t *in5,
                                           const int8_t *in6, int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3, in4, in5, in6);
}
static inline void tinyc_concatenation8_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, const int8_t *in3,
                                           const int8_t *in4, const int8_t *in5,
                                           const int8_t *in6, const int8_t *in7,
                                           int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3, in4, in5, in6, in7);
}
static inline void tinyc_concatenation9_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                           const int8_t *in2, const int8_t *in3,
                                           const int8_t *in4, const int8_t *in5,
                                           const int8_t *in6, const int8_t *in7,
                                           const int8_t *in8, int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3, in4, in5, in6, in7, in8);
}
static inline void tinyc_concatenation10_s8(TINYC_CONCAT_P, const int8_t *in0, const int8_t *in1,
                                            const int8_t *in2, const int8_t *in3,
                                            const int8_t *in4, const int8_t *in5,
                                            const int8_t *in6, const int8_t *in7,
                                            const int8_t *in8, const int8_t *in9,
                                            int8_t *output) {
  TINYC_CONCAT_RUN(in0, in1, in2, in3, in4, in5, in6, in7, in8, in9);
}

#undef TINYC_CONCAT_RUN
#undef TINYC_CONCAT_P

#endif /* TINYC_CONCATENATION_H */
