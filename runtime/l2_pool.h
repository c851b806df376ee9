/* tinyc runtime: L2_POOL_2D on float32 NHWC tensors.
 * Mirrors TFLM reference_ops::L2Pool (reference/pooling.h), the only L2_POOL_2D TFLM has
 * (l2_pool_2d.cc refuses every other type): per window, clipped to the input, the sum of squares
 * in row-major order, divided by the number of cells inside the input, square-rooted (sqrtf,
 * which IEEE 754 rounds correctly, like std::sqrt on a float), then clamped to the fused
 * activation's range with std::max / std::min's operand order. Padding is the top/left amount
 * TFLM's ComputePaddingHeightWidth gives. */
#ifndef TINYC_L2_POOL_H
#define TINYC_L2_POOL_H

#include <math.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t depth;
  int32_t output_height;
  int32_t output_width;
  int32_t stride_height;
  int32_t stride_width;
  int32_t filter_height;
  int32_t filter_width;
  int32_t padding_height; /* rows of padding above the input */
  int32_t padding_width;  /* columns of padding left of the input */
  float activation_min;
  float activation_max;
} tinyc_l2_pool_f32_params;

TINYC_INLINE void tinyc_l2_pool_f32(const tinyc_l2_pool_f32_params *p,
                                     const float *TINYC_RESTRICT input,
                                     float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      const int32_t in_y_origin = out_y * p->stride_height - p->padding_height;
      const int32_t y0 = in_y_origin + tinyc_max_i32(0, -in_y_origin);
      const int32_t y1 = in_y_origin + tinyc_min_i32(p->filter_height,
                                                     p->input_height - in_y_origin);
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        const int32_t in_x_origin = out_x * p->stride_width - p->padding_width;
        const int32_t x0 = in_x_origin + tinyc_max_i32(0, -in_x_origin);
        const int32_t x1 = in_x_origin + tinyc_min_i32(p->filter_width,
                                                       p->input_width - in_x_origin);
        /* TFLM's filter_count, an int converted to float by the division */
        const float count = (float)((y1 - y0) * (x1 - x0));
        for (int32_t c = 0; c < p->depth; ++c) {
          float sum_squares = 0.0f;
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) {
              const float value = in[(y * p->input_width + x) * p->depth + c];
              sum_squares += value * value;
            }
          }
          const float result = sqrtf(sum_squares / count);
          *output++ = tinyc_min_f32(tinyc_max_f32(result, p->activation_min),
                                    p->activation_max);
        }
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_L2_POOL_H */
