/* tinyc runtime: CONV_2D and DEPTHWISE_CONV_2D, float32.
 *
 * Computes what TFLM's reference_ops::Conv (reference/conv.h, float overload) and
 * reference_ops::DepthwiseConv (reference/depthwiseconv_float.h) compute, bit for bit on the
 * host (which builds with -ffp-contract=off: no fused multiply-add). Every output value is TFLM's
 *     total = 0.0f; for each tap inside the input (filter rows, then columns, then input channels
 *     of the group, in that order): total += x * w;
 *     out = min(max(total + bias, activation_min), activation_max)
 * with the same roundings in the same order: the taps TFLM skips in the padding are not visited
 * (tinyc_window_clip finds those inside once per output pixel); without a bias the compiler
 * passes zeros, and TFLM also adds 0.0f. The clamp is std::max then std::min
 * (tinyc_max_f32 / tinyc_min_f32: same operand order, so -0.0 and NaN come out alike).
 *
 * Grouped CONV_2D (filter_depth = input_depth / groups): output channel c reads the input
 * channels of group c / group_channels, as TFLM does. Filters in TFLite's layouts as they are:
 * OHWI for CONV_2D, [1][filter_height][filter_width][output_depth] for DEPTHWISE_CONV_2D. */
#ifndef TINYC_CONV_F32_H
#define TINYC_CONV_F32_H

#include "conv_window.h"
#include "tinyc_dsp.h" /* TINYC_NOINLINE */

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t input_depth;
  int32_t filter_height;
  int32_t filter_width;
  int32_t filter_depth; /* input_depth / groups */
  int32_t output_height;
  int32_t output_width;
  int32_t output_depth;
  int32_t group_channels; /* output channels per group: output_depth / groups */
  int32_t stride_height;
  int32_t stride_width;
  int32_t dilation_height;
  int32_t dilation_width;
  int32_t pad_height; /* padding before the first row / column (TFLM padding_values) */
  int32_t pad_width;
  float activation_min;
  float activation_max;
} tinyc_conv_f32_params;

typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t input_depth;
  int32_t filter_height;
  int32_t filter_width;
  int32_t output_height;
  int32_t output_width;
  int32_t output_depth; /* input_depth * depth_multiplier */
  int32_t depth_multiplier;
  int32_t stride_height;
  int32_t stride_width;
  int32_t dilation_height;
  int32_t dilation_width;
  int32_t pad_height;
  int32_t pad_width;
  float activation_min;
  float activation_max;
} tinyc_depthwise_conv_f32_params;

TINYC_INLINE float tinyc_conv_activate_f32(float v, float lo, float hi) {
  return tinyc_min_f32(tinyc_max_f32(v, lo), hi);
}

/* ---------------------------------------------------------------- CONV_2D */

/* Output channels c0 and c1 of one output pixel: x the input pixel of tap (fy0, fx0) in the
 * group's first channel, w0 / w1 the filters at that tap; `rows` x `cols` taps inside the input,
 * x_row / x_tap the input steps between filter rows / taps, w_row the filter's between rows.
 * Each sum runs in TFLM's order; the two share the input loads. */
TINYC_NOINLINE void tinyc_conv_dot_1x2_f32(const float *x, int32_t x_row, int32_t x_tap,
                                           const float *w0, const float *w1, int32_t w_row,
                                           int32_t depth, int32_t rows, int32_t cols,
                                           float s[2]) {
  float t0 = 0.0f, t1 = 0.0f;
  for (int32_t fy = 0; fy < rows; ++fy, x += x_row, w0 += w_row, w1 += w_row) {
    const float *xt = x, *v0 = w0, *v1 = w1;
    for (int32_t fx = 0; fx < cols; ++fx, xt += x_tap, v0 += depth, v1 += depth) {
      for (int32_t i = 0; i < depth; ++i) {
        const float a = xt[i];
        t0 += a * v0[i];
        t1 += a * v1[i];
      }
    }
  }
  s[0] = t0;
  s[1] = t1;
}

/* Every output channel of output pixel (oy, ox) of one image, two channels at a time. */
TINYC_NOINLINE void tinyc_conv_pixel_f32(const tinyc_conv_f32_params *p, const float *image,
                                         int32_t oy, int32_t ox, const float *filter,
                                         const float *bias, float *out) {
  const int32_t depth = p->input_depth, fd = p->filter_depth, gc = p->group_channels;
  const int32_t w_row = p->filter_width * fd;
  const int32_t k = p->filter_height * w_row;
  const int32_t iy0 = oy * p->stride_height - p->pad_height;
  const int32_t ix0 = ox * p->stride_width - p->pad_width;
  int32_t fy0, fy1, fx0, fx1;
  tinyc_window_clip(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
  tinyc_window_clip(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
  int32_t rows = fy1 - fy0, cols = fx1 - fx0;
  if (rows == 0 || cols == 0) rows = cols = 0;
  const float *x = image; /* input pixel of tap (fy0, fx0); not read when no tap is inside */
  if (rows > 0)
    x += ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 + fx0 * p->dilation_width) *
         depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth;
  const int32_t x_tap = p->dilation_width * depth;
  const int32_t w_first = rows > 0 ? fy0 * w_row + fx0 * fd : 0;
  const float lo = p->activation_min, hi = p->activation_max;
  for (int32_t c = 0; c < p->output_depth; c += 2) {
    const int32_t group = c / gc, end = (group + 1) * gc;
    const int32_t c1 = c + 1 < end ? c + 1 : c; /* an odd group's last channel: twice */
    float s[2];
    tinyc_conv_dot_1x2_f32(x + group * fd, x_row, x_tap, filter + c * k + w_first,
                           filter + c1 * k + w_first, w_row, fd, rows, cols, s);
    out[c] = tinyc_conv_activate_f32(s[0] + bias[c], lo, hi);
    out[c1] = tinyc_conv_activate_f32(s[1] + bias[c1], lo, hi);
    if (c1 == c) c -= 1; /* next pair starts at the next group's first channel */
  }
}

/* Any filter size, stride, dilation, padding and group count; OHWI filter. */
TINYC_INLINE void tinyc_conv_f32(const tinyc_conv_f32_params *p,
                                  const float *TINYC_RESTRICT input,
                                  const float *TINYC_RESTRICT filter, const float *bias,
                                  float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        tinyc_conv_pixel_f32(p, image, oy, ox, filter, bias, output);
        output += p->output_depth;
      }
    }
  }
}

/* ---------------------------------------------------------------- DEPTHWISE_CONV_2D */

/* One output pixel: its output values are the running sums. Tap by tap (rows, then columns: TFLM's
 * order for each channel), every channel adds its product, so each channel's sum takes its
 * products in TFLM's order while the input and filter are read in order. x: input pixel of tap
 * (fy0, fx0); w: that tap's filter values. */
TINYC_NOINLINE void tinyc_depthwise_pixel_f32(const tinyc_depthwise_conv_f32_params *p,
                                              const float *x, int32_t rows, int32_t cols,
                                              int32_t x_row, int32_t x_tap, const float *w,
                                              const float *bias, float *out) {
  const int32_t channels = p->output_depth, m = p->depth_multiplier;
  const int32_t w_row = p->filter_width * channels, depth = p->input_depth;
  for (int32_t c = 0; c < channels; ++c) out[c] = 0.0f;
  for (int32_t fy = 0; fy < rows; ++fy, x += x_row, w += w_row) {
    const float *xt = x, *wt = w;
    for (int32_t fx = 0; fx < cols; ++fx, xt += x_tap, wt += channels) {
      if (m == 1) {
        for (int32_t c = 0; c < channels; ++c) out[c] += xt[c] * wt[c];
      } else {
        for (int32_t ic = 0, c = 0; ic < depth; ++ic) {
          const float a = xt[ic];
          for (int32_t j = 0; j < m; ++j, ++c) out[c] += a * wt[c];
        }
      }
    }
  }
  const float lo = p->activation_min, hi = p->activation_max;
  for (int32_t c = 0; c < channels; ++c) out[c] = tinyc_conv_activate_f32(out[c] + bias[c], lo, hi);
}

/* Any filter size, stride, dilation, padding and depth multiplier. */
TINYC_INLINE void tinyc_depthwise_conv_f32(const tinyc_depthwise_conv_f32_params *p,
                                            const float *TINYC_RESTRICT input,
                                            const float *TINYC_RESTRICT filter,
                                            const float *bias, float *TINYC_RESTRICT output) {
  const int32_t depth = p->input_depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth;
  const int32_t x_tap = p->dilation_width * depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *image = input + b * p->input_height * p->input_width * depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_window_clip(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox, output += p->output_depth) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t fx0, fx1;
        tinyc_window_clip(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
        int32_t rows = fy1 - fy0, cols = fx1 - fx0;
        const float *x = image, *w = filter;
        if (rows > 0 && cols > 0) {
          x += ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 +
                fx0 * p->dilation_width) * depth;
          w += (fy0 * p->filter_width + fx0) * p->output_depth;
        } else {
          rows = cols = 0;
        }
        tinyc_depthwise_pixel_f32(p, x, rows, cols, x_row, x_tap, w, bias, output);
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_CONV_F32_H */
