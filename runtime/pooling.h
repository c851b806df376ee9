/* tinyc runtime: AVERAGE_POOL_2D and MAX_POOL_2D on NHWC tensors, int8, int16 and float32.
 * Mirrors TFLM reference_integer_ops::AveragePool / MaxPool (int8 and int16: the same code on
 * either type, an int32 sum for the average) and reference_ops::AveragePool / MaxPool (float). Padding is the top/left amount TFLM's ComputePaddingHeightWidth gives; windows
 * are clipped to the input, so padded cells are never counted (the average divides by the number
 * of cells actually inside the input, as TFLM does). */
#ifndef TINYC_POOLING_H
#define TINYC_POOLING_H

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
  int32_t activation_min;
  int32_t activation_max;
} tinyc_pool_s8_params;

/* int16 takes the same numbers (the activation bounds are int16 values). */
typedef tinyc_pool_s8_params tinyc_pool_s16_params;

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
  int32_t padding_height;
  int32_t padding_width;
  float activation_min;
  float activation_max;
} tinyc_pool_f32_params;

/* One axis of a pooling window, clipped to the input: input positions [*start, *end). */
TINYC_INLINE void tinyc_pool_window(int32_t out, int32_t stride, int32_t padding, int32_t filter,
                                     int32_t input_size, int32_t *start, int32_t *end) {
  const int32_t origin = out * stride - padding;
  *start = origin + tinyc_max_i32(0, -origin);
  *end = origin + tinyc_min_i32(filter, input_size - origin);
}

TINYC_INLINE void tinyc_average_pool_s8(const tinyc_pool_s8_params *p,
                                         const int8_t *TINYC_RESTRICT input,
                                         int8_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        int32_t y0, y1, x0, x1;
        tinyc_pool_window(out_y, p->stride_height, p->padding_height, p->filter_height,
                          p->input_height, &y0, &y1);
        tinyc_pool_window(out_x, p->stride_width, p->padding_width, p->filter_width,
                          p->input_width, &x0, &x1);
        /* The compiler rejects geometries with an empty window (TFLM fails at run time). */
        const int32_t count = (y1 - y0) * (x1 - x0);
        for (int32_t c = 0; c < p->depth; ++c) {
          int32_t acc = 0;
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) acc += in[(y * p->input_width + x) * p->depth + c];
          }
          /* Round half away from zero; C division truncates toward zero, as in TFLM. */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          *output++ = tinyc_clamp_s8(acc, p->activation_min, p->activation_max);
        }
      }
    }
  }
}

TINYC_INLINE void tinyc_max_pool_s8(const tinyc_pool_s8_params *p,
                                     const int8_t *TINYC_RESTRICT input,
                                     int8_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        int32_t y0, y1, x0, x1;
        tinyc_pool_window(out_y, p->stride_height, p->padding_height, p->filter_height,
                          p->input_height, &y0, &y1);
        tinyc_pool_window(out_x, p->stride_width, p->padding_width, p->filter_width,
                          p->input_width, &x0, &x1);
        for (int32_t c = 0; c < p->depth; ++c) {
          int32_t max = -128;
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) {
              max = tinyc_max_i32(max, in[(y * p->input_width + x) * p->depth + c]);
            }
          }
          *output++ = tinyc_clamp_s8(max, p->activation_min, p->activation_max);
        }
      }
    }
  }
}

/* int16: reference_integer_ops::AveragePool / MaxPool for int16_t, the int8 code on int16 values.
 * The compiler bounds the window so the int32 sum cannot overflow. */
TINYC_INLINE void tinyc_average_pool_s16(const tinyc_pool_s16_params *p,
                                          const int16_t *TINYC_RESTRICT input,
                                          int16_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        int32_t y0, y1, x0, x1;
        tinyc_pool_window(out_y, p->stride_height, p->padding_height, p->filter_height,
                          p->input_height, &y0, &y1);
        tinyc_pool_window(out_x, p->stride_width, p->padding_width, p->filter_width,
                          p->input_width, &x0, &x1);
        const int32_t count = (y1 - y0) * (x1 - x0);
        for (int32_t c = 0; c < p->depth; ++c) {
          int32_t acc = 0;
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) acc += in[(y * p->input_width + x) * p->depth + c];
          }
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          *output++ = tinyc_clamp_s16(acc, p->activation_min, p->activation_max);
        }
      }
    }
  }
}

TINYC_INLINE void tinyc_max_pool_s16(const tinyc_pool_s16_params *p,
                                      const int16_t *TINYC_RESTRICT input,
                                      int16_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        int32_t y0, y1, x0, x1;
        tinyc_pool_window(out_y, p->stride_height, p->padding_height, p->filter_height,
                          p->input_height, &y0, &y1);
        tinyc_pool_window(out_x, p->stride_width, p->padding_width, p->filter_width,
                          p->input_width, &x0, &x1);
        for (int32_t c = 0; c < p->depth; ++c) {
          int32_t max = -32768;
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) {
              max = tinyc_max_i32(max, in[(y * p->input_width + x) * p->depth + c]);
            }
          }
          *output++ = tinyc_clamp_s16(max, p->activation_min, p->activation_max);
        }
      }
    }
  }
}

/* std::max / std::min as TFLM's float kernels use them: the first argument wins ties, which
 * decides the sign of a zero result (std::max(-0.0f, 0.0f) is -0.0f). */
TINYC_INLINE float tinyc_pool_std_max_f32(float a, float b) { return (a < b) ? b : a; }
TINYC_INLINE float tinyc_pool_std_min_f32(float a, float b) { return (b < a) ? b : a; }

TINYC_INLINE void tinyc_average_pool_f32(const tinyc_pool_f32_params *p,
                                          const float *TINYC_RESTRICT input,
                                          float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        int32_t y0, y1, x0, x1;
        tinyc_pool_window(out_y, p->stride_height, p->padding_height, p->filter_height,
                          p->input_height, &y0, &y1);
        tinyc_pool_window(out_x, p->stride_width, p->padding_width, p->filter_width,
                          p->input_width, &x0, &x1);
        const float count = (float)((y1 - y0) * (x1 - x0));
        for (int32_t c = 0; c < p->depth; ++c) {
          float total = 0.0f; /* summed in TFLM's order: rows, then columns */
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) total += in[(y * p->input_width + x) * p->depth + c];
          }
          const float average = total / count;
          *output++ = tinyc_pool_std_min_f32(tinyc_pool_std_max_f32(average, p->activation_min),
                                             p->activation_max);
        }
      }
    }
  }
}

TINYC_INLINE void tinyc_max_pool_f32(const tinyc_pool_f32_params *p,
                                      const float *TINYC_RESTRICT input,
                                      float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *in = input + b * p->input_height * p->input_width * p->depth;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
        int32_t y0, y1, x0, x1;
        tinyc_pool_window(out_y, p->stride_height, p->padding_height, p->filter_height,
                          p->input_height, &y0, &y1);
        tinyc_pool_window(out_x, p->stride_width, p->padding_width, p->filter_width,
                          p->input_width, &x0, &x1);
        for (int32_t c = 0; c < p->depth; ++c) {
          float max = -3.40282347e+38f; /* std::numeric_limits<float>::lowest() */
          for (int32_t y = y0; y < y1; ++y) {
            for (int32_t x = x0; x < x1; ++x) {
              max = tinyc_pool_std_max_f32(max, in[(y * p->input_width + x) * p->depth + c]);
            }
          }
          *output++ = tinyc_pool_std_min_f32(tinyc_pool_std_max_f32(max, p->activation_min),
                                             p->activation_max);
        }
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_POOLING_H */
