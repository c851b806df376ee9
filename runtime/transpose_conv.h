/* tinyc runtime: TRANSPOSE_CONV on NHWC tensors: int8, 16x8 (int16 activations, int8 weights,
 * int64 bias) and float32.
 * Mirrors reference_integer_ops::TransposeConv (reference/integer_ops/transpose_conv.h, both
 * overloads) and reference_ops::TransposeConv (reference/transpose_conv.h, float), as TFLM's
 * micro kernel (micro/kernels/transpose_conv.cc) calls them.
 *
 * Like TFLM, the kernels "scatter": every input pixel adds its products into the output
 * positions it reaches, into an accumulator of the whole output (int32 for int8, int64 for
 * 16x8; TFLM's scratch buffer, planned in the arena by tinyc), which is then requantized per
 * output channel. The float kernel accumulates in the output itself, as TFLM does.
 *
 * Loop order. TFLM loops in_y, in_x, in_channel, filter_y, filter_x, out_channel and tests every
 * product's output position; here the bounds are tested once per (in_y, in_x, filter_y,
 * filter_x), then in_channel and out_channel run without tests. The filter is rearranged by the
 * compiler from TFLite's [out_channel][filter_y][filter_x][in_channel] to
 * [filter_y][filter_x][in_channel][out_channel] so the innermost loop reads it in order.
 * Integer sums do not depend on the order. For float, each output value still receives its
 * products in TFLM's order (by in_y, then in_x, then in_channel: for one output position and
 * one input pixel there is exactly one filter tap), so the float sums are the same roundings.
 *
 * TFLM's quirks, kept: the 16x8 kernel ignores the input and output zero points (16-bit
 * activations are symmetric in TFLite), but clamps with the activation range computed with the
 * output zero point. The int8 kernel adds the input zero point; TFLM's ignores the filter's,
 * which the compiler requires to be 0. */
#ifndef TINYC_TRANSPOSE_CONV_H
#define TINYC_TRANSPOSE_CONV_H

#include "tinyc_common.h"

typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t input_depth;
  int32_t filter_height;
  int32_t filter_width;
  int32_t output_height;
  int32_t output_width;
  int32_t output_depth;
  int32_t stride_height;
  int32_t stride_width;
  int32_t pad_height; /* TFLM's padding_values: output rows before the first input row's taps */
  int32_t pad_width;
  int32_t input_offset; /* -input zero point */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_transpose_conv_s8_params;

typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t input_depth;
  int32_t filter_height;
  int32_t filter_width;
  int32_t output_height;
  int32_t output_width;
  int32_t output_depth;
  int32_t stride_height;
  int32_t stride_width;
  int32_t pad_height;
  int32_t pad_width;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_transpose_conv_s16_params;

typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t input_depth;
  int32_t filter_height;
  int32_t filter_width;
  int32_t output_height;
  int32_t output_width;
  int32_t output_depth;
  int32_t stride_height;
  int32_t stride_width;
  int32_t pad_height;
  int32_t pad_width;
  float activation_min;
  float activation_max;
} tinyc_transpose_conv_f32_params;

/* TFLM's MultiplyByQuantizedMultiplier(int64_t x, int32_t quantized_multiplier, int shift)
 * (kernels/internal/common.cc; the double-rounding build's version, which the oracle runs): the
 * multiplier is first reduced to 16 bits, rounded, then one rounding shift by 15 - shift. The
 * compiler guarantees TFLM's contract: multiplier >= 0, -31 <= shift < 8 and
 * |x| < 2^47, so nothing overflows. The conversion to int32 keeps the low 32 bits, as TFLM's.
 * (A candidate for tinyc_common.h once other 16x8 kernels need it.) */
TINYC_ALWAYS_INLINE int32_t tinyc_transpose_conv_requantize_s64(int64_t x, int32_t multiplier,
                                                                int shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - shift;
  x = x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1));
  return (int32_t)(x >> total_shift);
}

/* int8: scratch holds the batches * output_height * output_width * output_depth int32 sums.
 * The compiler refuses weights and biases whose sums could leave int32 (TFLM's would be
 * undefined); the sums are formed as uint32 all the same, so the C is defined for any input. */
static inline void tinyc_transpose_conv_s8(const tinyc_transpose_conv_s8_params *p,
                                           const int8_t *TINYC_RESTRICT input,
                                           const int8_t *TINYC_RESTRICT filter,
                                           const int32_t *TINYC_RESTRICT bias,
                                           const int32_t *TINYC_RESTRICT multiplier,
                                           const int8_t *TINYC_RESTRICT shift,
                                           int8_t *TINYC_RESTRICT output, void *scratch) {
  uint32_t *acc = (uint32_t *)scratch;
  const int32_t depth = p->output_depth;
  const int32_t count = p->batches * p->output_height * p->output_width * depth;
  for (int32_t i = 0; i < count; ++i) acc[i] = 0;
  const int8_t *in = input;
  for (int32_t b = 0; b < p->batches; ++b) {
    uint32_t *acc_batch = acc + b * p->output_height * p->output_width * depth;
    for (int32_t in_y = 0; in_y < p->input_height; ++in_y) {
      const int32_t out_y_origin = in_y * p->stride_height - p->pad_height;
      for (int32_t in_x = 0; in_x < p->input_width; ++in_x, in += p->input_depth) {
        const int32_t out_x_origin = in_x * p->stride_width - p->pad_width;
        for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
          const int32_t out_y = out_y_origin + filter_y;
          if (out_y < 0 || out_y >= p->output_height) continue;
          for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
            const int32_t out_x = out_x_origin + filter_x;
            if (out_x < 0 || out_x >= p->output_width) continue;
            uint32_t *out = acc_batch + (out_y * p->output_width + out_x) * depth;
            const int8_t *w =
                filter + (filter_y * p->filter_width + filter_x) * p->input_depth * depth;
            for (int32_t in_c = 0; in_c < p->input_depth; ++in_c, w += depth) {
              const int32_t value = in[in_c] + p->input_offset;
              for (int32_t out_c = 0; out_c < depth; ++out_c) {
                out[out_c] += (uint32_t)(value * w[out_c]);
              }
            }
          }
        }
      }
    }
  }
  for (int32_t i = 0; i < count; i += depth) {
    for (int32_t out_c = 0; out_c < depth; ++out_c) {
      const int32_t sum = (int32_t)(acc[i + out_c] + (uint32_t)bias[out_c]);
      const int32_t scaled =
          tinyc_requantize(sum, multiplier[out_c], shift[out_c]) + p->output_offset;
      output[i + out_c] = tinyc_clamp_s8(scaled, p->activation_min, p->activation_max);
    }
  }
}

/* 16x8: scratch holds the int64 sums, plus 7 bytes so that they can start on an 8-byte
 * boundary wherever the arena (and the scratch in it) is placed. int16 * int8 products fit int32;
 * the compiler checks that no sum plus bias can leave TFLM's +-2^47 range. */
static inline void tinyc_transpose_conv_s16(const tinyc_transpose_conv_s16_params *p,
                                            const int16_t *TINYC_RESTRICT input,
                                            const int8_t *TINYC_RESTRICT filter,
                                            const int64_t *TINYC_RESTRICT bias,
                                            const int32_t *TINYC_RESTRICT multiplier,
                                            const int8_t *TINYC_RESTRICT shift,
                                            int16_t *TINYC_RESTRICT output, void *scratch) {
  int64_t *acc = (int64_t *)(((uintptr_t)scratch + 7u) & ~(uintptr_t)7u);
  const int32_t depth = p->output_depth;
  const int32_t count = p->batches * p->output_height * p->output_width * depth;
  for (int32_t i = 0; i < count; ++i) acc[i] = 0;
  const int16_t *in = input;
  for (int32_t b = 0; b < p->batches; ++b) {
    int64_t *acc_batch = acc + b * p->output_height * p->output_width * depth;
    for (int32_t in_y = 0; in_y < p->input_height; ++in_y) {
      const int32_t out_y_origin = in_y * p->stride_height - p->pad_height;
      for (int32_t in_x = 0; in_x < p->input_width; ++in_x, in += p->input_depth) {
        const int32_t out_x_origin = in_x * p->stride_width - p->pad_width;
        for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
          const int32_t out_y = out_y_origin + filter_y;
          if (out_y < 0 || out_y >= p->output_height) continue;
          for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
            const int32_t out_x = out_x_origin + filter_x;
            if (out_x < 0 || out_x >= p->output_width) continue;
            int64_t *out = acc_batch + (out_y * p->output_width + out_x) * depth;
            const int8_t *w =
                filter + (filter_y * p->filter_width + filter_x) * p->input_depth * depth;
            for (int32_t in_c = 0; in_c < p->input_depth; ++in_c, w += depth) {
              const int32_t value = in[in_c];
              for (int32_t out_c = 0; out_c < depth; ++out_c) out[out_c] += value * w[out_c];
            }
          }
        }
      }
    }
  }
  for (int32_t i = 0; i < count; i += depth) {
    for (int32_t out_c = 0; out_c < depth; ++out_c) {
      const int32_t scaled = tinyc_transpose_conv_requantize_s64(
          acc[i + out_c] + bias[out_c], multiplier[out_c], shift[out_c]);
      output[i + out_c] =
          (int16_t)tinyc_min_i32(tinyc_max_i32(scaled, p->activation_min), p->activation_max);
    }
  }
}

/* float: the output is the accumulator (TFLM zeroes it, sums into it, then adds the bias and
 * clamps with std::max / std::min's operand order). A missing bias is passed as zeros: the sums
 * start at +0.0f, so they are never -0.0f and adding +0.0f changes no value. */
static inline void tinyc_transpose_conv_f32(const tinyc_transpose_conv_f32_params *p,
                                            const float *TINYC_RESTRICT input,
                                            const float *TINYC_RESTRICT filter,
                                            const float *TINYC_RESTRICT bias,
                                            float *TINYC_RESTRICT output) {
  const int32_t depth = p->output_depth;
  const int32_t count = p->batches * p->output_height * p->output_width * depth;
  for (int32_t i = 0; i < count; ++i) output[i] = 0.0f;
  const float *in = input;
  for (int32_t b = 0; b < p->batches; ++b) {
    float *out_batch = output + b * p->output_height * p->output_width * depth;
    for (int32_t in_y = 0; in_y < p->input_height; ++in_y) {
      const int32_t out_y_origin = in_y * p->stride_height - p->pad_height;
      for (int32_t in_x = 0; in_x < p->input_width; ++in_x, in += p->input_depth) {
        const int32_t out_x_origin = in_x * p->stride_width - p->pad_width;
        for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
          const int32_t out_y = out_y_origin + filter_y;
          if (out_y < 0 || out_y >= p->output_height) continue;
          for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
            const int32_t out_x = out_x_origin + filter_x;
            if (out_x < 0 || out_x >= p->output_width) continue;
            float *out = out_batch + (out_y * p->output_width + out_x) * depth;
            const float *w =
                filter + (filter_y * p->filter_width + filter_x) * p->input_depth * depth;
            for (int32_t in_c = 0; in_c < p->input_depth; ++in_c, w += depth) {
              const float value = in[in_c];
              for (int32_t out_c = 0; out_c < depth; ++out_c) out[out_c] += value * w[out_c];
            }
          }
        }
      }
    }
  }
  for (int32_t i = 0; i < count; i += depth) {
    for (int32_t out_c = 0; out_c < depth; ++out_c) {
      const float acc = output[i + out_c] + bias[out_c];
      output[i + out_c] =
          tinyc_min_f32(tinyc_max_f32(acc, p->activation_min), p->activation_max);
    }
  }
}

#endif /* TINYC_TRANSPOSE_CONV_H */
