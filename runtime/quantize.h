/* tinyc runtime: QUANTIZE and DEQUANTIZE.
 * Mirrors TFLM reference_ops::AffineQuantize, Requantize and Dequantize. */
#ifndef TINYC_QUANTIZE_H
#define TINYC_QUANTIZE_H

#include <math.h>

#include "tinyc_common.h"

typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
} tinyc_quantize_params;

/* q = round(x / scale) + zero_point, rounding halves away from zero (TfLiteRound), saturated.
 * Out-of-range floats are clamped before the cast, where TFLM's cast is undefined. */
static inline void tinyc_quantize_f32_s8(const tinyc_quantize_params *p, const float *input,
                                         int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    float r = roundf(input[i] / p->scale);
    r = tinyc_min_f32(tinyc_max_f32(r, -1e6f), 1e6f);
    output[i] = tinyc_clamp_s8((int32_t)r + p->zero_point, -128, 127);
  }
}

typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
} tinyc_requantize_params;

static inline void tinyc_requantize_s8(const tinyc_requantize_params *p, const int8_t *input,
                                       int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)input[i] - p->input_zero_point;
    output[i] = tinyc_clamp_s8(tinyc_requantize(x, p->multiplier, p->shift) + p->output_zero_point,
                               -128, 127);
  }
}

typedef tinyc_quantize_params tinyc_dequantize_params;

/* TFLM computes scale * (q - zero_point) in double and rounds to float once. The product of a
 * float scale and a 9-bit integer is exact in double, so one float multiply rounds the same. */
static inline void tinyc_dequantize_s8_f32(const tinyc_dequantize_params *p, const int8_t *input,
                                           float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
  }
}

#endif /* TINYC_QUANTIZE_H */
