/* tinyc runtime: FULLY_CONNECTED.
 * Mirrors TFLM reference_integer_ops::FullyConnected / FullyConnectedPerChannel and
 * reference_ops::FullyConnected (float). The int8 input offset is folded into `bias` by the
 * compiler (bias[c] - zp_in * sum(w[c,:])), so the inner loop is a plain dot product. */
#ifndef TINYC_FULLY_CONNECTED_H
#define TINYC_FULLY_CONNECTED_H

#include "tinyc_common.h"

typedef struct {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  int32_t per_channel; /* 1: multiplier/shift per output channel; 0: one for all */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_fully_connected_s8_params;

static inline void tinyc_fully_connected_s8(const tinyc_fully_connected_s8_params *p,
                                            const int8_t *TINYC_RESTRICT input,
                                            const int8_t *TINYC_RESTRICT filter,
                                            const int32_t *bias, const int32_t *multiplier,
                                            const int8_t *shift, int8_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->accum_depth;
    for (int32_t c = 0; c < p->output_depth; ++c) {
      const int8_t *w = filter + c * p->accum_depth;
      int32_t acc = bias[c];
      for (int32_t d = 0; d < p->accum_depth; ++d) acc += (int32_t)w[d] * (int32_t)in[d];
      const int32_t q = p->per_channel ? c : 0;
      acc = tinyc_requantize(acc, multiplier[q], shift[q]) + p->output_offset;
      output[b * p->output_depth + c] = tinyc_clamp_s8(acc, p->activation_min, p->activation_max);
    }
  }
}

typedef struct {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  float activation_min;
  float activation_max;
} tinyc_fully_connected_f32_params;

/* Summation order and the separate bias add match TFLM, so results are bit-identical as long as
 * the compiler does not contract a*b+c into a fused multiply-add (see -ffp-contract). */
static inline void tinyc_fully_connected_f32(const tinyc_fully_connected_f32_params *p,
                                             const float *TINYC_RESTRICT input,
                                             const float *TINYC_RESTRICT filter,
                                             const float *bias, float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *in = input + b * p->accum_depth;
    for (int32_t c = 0; c < p->output_depth; ++c) {
      const float *w = filter + c * p->accum_depth;
      float total = 0.0f;
      for (int32_t d = 0; d < p->accum_depth; ++d) total += in[d] * w[d];
      const float value = total + bias[c];
      output[b * p->output_depth + c] =
          tinyc_min_f32(tinyc_max_f32(value, p->activation_min), p->activation_max);
    }
  }
}

#endif /* TINYC_FULLY_CONNECTED_H */
