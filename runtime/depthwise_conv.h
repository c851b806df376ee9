/* tinyc runtime: DEPTHWISE_CONV_2D, int8 activations and weights, int32 bias.
 *
 * Computes what TFLM reference_integer_ops::DepthwiseConvPerChannel computes, bit for bit:
 * NHWC input, [1, H, W, output_depth] filter, output channel c = input channel * depth_multiplier
 * + m. As in conv.h, the input offset is folded into `bias` by the compiler
 * (bias[c] = b[c] - input_zero_point * sum of channel c's weights), and taps outside the input
 * (which TFLM skips) read as input_zero_point, which gives back what the folding took away:
 * exact int32 arithmetic. The window inside the input is computed once per output position. */
#ifndef TINYC_DEPTHWISE_CONV_H
#define TINYC_DEPTHWISE_CONV_H

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
  int32_t output_depth; /* input_depth * depth_multiplier */
  int32_t depth_multiplier;
  int32_t stride_height;
  int32_t stride_width;
  int32_t dilation_height;
  int32_t dilation_width;
  int32_t pad_height; /* padding before the first row / column (TFLM padding_values) */
  int32_t pad_width;
  int32_t input_zero_point; /* value the padding stands for; folded into bias elsewhere */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
  int32_t per_channel; /* 1: multiplier/shift per output channel; 0: one for all */
} tinyc_depthwise_conv_s8_params;

/* The filter taps f in [*first, *last) whose input coordinate origin + f * dilation lies in
 * [0, size). */
static inline void tinyc_depthwise_window(int32_t origin, int32_t dilation, int32_t filter,
                                          int32_t size, int32_t *first, int32_t *last) {
  int32_t lo = 0, hi = filter;
  if (origin < 0) lo = (-origin + dilation - 1) / dilation;
  if (origin + (filter - 1) * dilation >= size) hi = (size - origin + dilation - 1) / dilation;
  if (hi < lo) hi = lo;
  *first = lo;
  *last = hi;
}

static inline int8_t tinyc_depthwise_output_s8(const tinyc_depthwise_conv_s8_params *p,
                                               int32_t acc, int32_t multiplier, int shift) {
  acc = tinyc_requantize(acc, multiplier, shift) + p->output_offset;
  return tinyc_clamp_s8(acc, p->activation_min, p->activation_max);
}

/* Accumulate four consecutive output channels with depth_multiplier 1 (so four consecutive input
 * channels) at one output position. `w` points at the channels' weights of tap (0, 0); `x` at the
 * input channels of the first tap inside the input, (fy0, fx0). Rows [fy0, fy1) x columns
 * [fx0, fx1) are inside the input; the other taps read input_zero_point. */
static inline void tinyc_depthwise_block4_s8(const tinyc_depthwise_conv_s8_params *p,
                                             const int8_t *x, const int8_t *w, int32_t fy0,
                                             int32_t fy1, int32_t fx0, int32_t fx1,
                                             int32_t acc[4]) {
  const int32_t w_tap = p->output_depth;
  const int32_t x_tap = p->dilation_width * p->input_depth;
  const int32_t x_row = p->dilation_height * p->input_width * p->input_depth;
  const int32_t zp = p->input_zero_point;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t fy = 0; fy < p->filter_height; ++fy) {
    const int8_t *wr = w + fy * p->filter_width * w_tap;
    const int32_t inside = fy >= fy0 && fy < fy1;
    const int32_t lo = inside ? fx0 : p->filter_width;
    const int32_t hi = inside ? fx1 : p->filter_width;
    int32_t fx = 0;
    for (; fx < lo; ++fx, wr += w_tap) {
      a0 += zp * wr[0];
      a1 += zp * wr[1];
      a2 += zp * wr[2];
      a3 += zp * wr[3];
    }
    if (fx < hi) {
      const int8_t *xr = x + (fy - fy0) * x_row;
      for (; fx < hi; ++fx, wr += w_tap, xr += x_tap) {
        a0 += xr[0] * wr[0];
        a1 += xr[1] * wr[1];
        a2 += xr[2] * wr[2];
        a3 += xr[3] * wr[3];
      }
    }
    for (; fx < p->filter_width; ++fx, wr += w_tap) {
      a0 += zp * wr[0];
      a1 += zp * wr[1];
      a2 += zp * wr[2];
      a3 += zp * wr[3];
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* The same for one output channel: `x` points at its input channel at tap (fy0, fx0). */
static inline int32_t tinyc_depthwise_channel_s8(const tinyc_depthwise_conv_s8_params *p,
                                                 const int8_t *x, const int8_t *w, int32_t fy0,
                                                 int32_t fy1, int32_t fx0, int32_t fx1) {
  const int32_t w_tap = p->output_depth;
  const int32_t x_tap = p->dilation_width * p->input_depth;
  const int32_t x_row = p->dilation_height * p->input_width * p->input_depth;
  const int32_t zp = p->input_zero_point;
  int32_t acc = 0;
  for (int32_t fy = 0; fy < p->filter_height; ++fy) {
    const int8_t *wr = w + fy * p->filter_width * w_tap;
    const int32_t inside = fy >= fy0 && fy < fy1;
    const int32_t lo = inside ? fx0 : p->filter_width;
    const int32_t hi = inside ? fx1 : p->filter_width;
    int32_t fx = 0;
    for (; fx < lo; ++fx, wr += w_tap) acc += zp * wr[0];
    if (fx < hi) {
      const int8_t *xr = x + (fy - fy0) * x_row;
      for (; fx < hi; ++fx, wr += w_tap, xr += x_tap) acc += xr[0] * wr[0];
    }
    for (; fx < p->filter_width; ++fx, wr += w_tap) acc += zp * wr[0];
  }
  return acc;
}

static inline void tinyc_depthwise_conv_s8(const tinyc_depthwise_conv_s8_params *p,
                                           const int8_t *TINYC_RESTRICT input,
                                           const int8_t *TINYC_RESTRICT filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int8_t *shift, int8_t *TINYC_RESTRICT output) {
  const int32_t channels = p->output_depth;
  const int32_t multiplier_depth = p->depth_multiplier;
  /* Four channels at a time when they read four different input channels. */
  const int32_t blocked = multiplier_depth == 1 ? channels - channels % 4 : 0;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_depthwise_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0,
                             &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t fx0, fx1;
        tinyc_depthwise_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0,
                               &fx1);
        /* Input pixel of the first tap inside the input (only read if the window is not empty). */
        const int8_t *x = in + ((iy0 + fy0 * p->dilation_height) * p->input_width +
                                (ix0 + fx0 * p->dilation_width)) * p->input_depth;
        int32_t c = 0;
        for (; c < blocked; c += 4) {
          int32_t acc[4];
          tinyc_depthwise_block4_s8(p, x + c, filter + c, fy0, fy1, fx0, fx1, acc);
          for (int32_t k = 0; k < 4; ++k) {
            const int32_t q = p->per_channel ? c + k : 0;
            output[c + k] =
                tinyc_depthwise_output_s8(p, bias[c + k] + acc[k], multiplier[q], shift[q]);
          }
        }
        for (; c < channels; ++c) {
          const int32_t acc = tinyc_depthwise_channel_s8(p, x + c / multiplier_depth, filter + c,
                                                         fy0, fy1, fx0, fx1);
          const int32_t q = p->per_channel ? c : 0;
          output[c] = tinyc_depthwise_output_s8(p, bias[c] + acc, multiplier[q], shift[q]);
        }
        output += channels;
      }
    }
  }
}

#endif /* TINYC_DEPTHWISE_CONV_H */
