/* tinyc runtime: CONV_2D, int8 activations and weights, int32 bias.
 *
 * Computes what TFLM reference_integer_ops::ConvPerChannel computes, bit for bit, for NHWC
 * input, OHWI filter and NHWC output (one filter group). Two differences in how it is computed:
 *
 * 1. The input offset is folded into `bias` by the compiler:
 *        bias[c] = b[c] - input_zero_point * sum(filter[c])
 *    so the inner loops are plain int8 dot products. TFLM skips the taps that fall in the
 *    padding; that is the same as reading the value input_zero_point there ((zp - zp) * w = 0).
 *    So a window that sticks out of the input adds input_zero_point * (sum of its skipped
 *    weights), which puts back exactly the part of the folded bias those taps removed. All of it
 *    is int32 arithmetic, which is exact (modulo 2^32, like TFLM's accumulator).
 * 2. The valid part of the window is computed once per output position, so the tap loops never
 *    test bounds. With dilation 1, the valid taps of one filter row are one contiguous run of
 *    bytes in both the input and the filter, so a row is a single dot product.
 *
 * tinyc_conv_1x1_s8 handles the common pointwise case (1x1 filter, stride 1, no padding), where
 * convolution is a matrix product of the [pixels, input_depth] input with the filter. */
#ifndef TINYC_CONV_H
#define TINYC_CONV_H

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
  int32_t dilation_height;
  int32_t dilation_width;
  int32_t pad_height; /* padding before the first row / column (TFLM padding_values) */
  int32_t pad_width;
  int32_t input_zero_point; /* value the padding stands for; folded into bias elsewhere */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
  int32_t per_channel; /* 1: multiplier/shift per output channel; 0: one for all */
} tinyc_conv_s8_params;

/* The filter taps f in [*first, *last) whose input coordinate origin + f * dilation lies in
 * [0, size): the part of the window that is inside the input. */
static inline void tinyc_conv_window(int32_t origin, int32_t dilation, int32_t filter,
                                     int32_t size, int32_t *first, int32_t *last) {
  int32_t lo = 0, hi = filter;
  if (origin < 0) lo = (-origin + dilation - 1) / dilation;
  if (origin + (filter - 1) * dilation >= size) hi = (size - origin + dilation - 1) / dilation;
  if (hi < lo) hi = lo;
  *first = lo;
  *last = hi;
}

/* *acc0 += x . w0 and *acc1 += x . w1 over n int8 values: two output channels share the input
 * loads, which is most of the work of a convolution. */
static inline void tinyc_conv_dot2_s8(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                      int32_t n, int32_t *acc0, int32_t *acc1) {
  int32_t a0 = *acc0, a1 = *acc1;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t v = x[i];
    a0 += v * w0[i];
    a1 += v * w1[i];
  }
  *acc0 = a0;
  *acc1 = a1;
}

static inline int32_t tinyc_conv_sum_s8(const int8_t *w, int32_t n) {
  int32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += w[i];
  return s;
}

/* Requantize one accumulator (bias already added) and store it, as TFLM does per output. */
static inline int8_t tinyc_conv_output_s8(const tinyc_conv_s8_params *p, int32_t acc,
                                          int32_t multiplier, int shift) {
  acc = tinyc_requantize(acc, multiplier, shift) + p->output_offset;
  return tinyc_clamp_s8(acc, p->activation_min, p->activation_max);
}

/* Accumulate output channels c0 and c1 (may be equal) at one output position whose valid window
 * is rows [fy0, fy1) x columns [fx0, fx1). `x` points at the input pixel of tap (fy0, fx0).
 * Skipped taps add input_zero_point * weight (see the header comment). */
static inline void tinyc_conv_window2_s8(const tinyc_conv_s8_params *p, const int8_t *x,
                                         const int8_t *w0, const int8_t *w1, int32_t fy0,
                                         int32_t fy1, int32_t fx0, int32_t fx1, int32_t *acc0,
                                         int32_t *acc1) {
  const int32_t depth = p->input_depth;
  const int32_t filter_row = p->filter_width * depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth;
  const int32_t x_tap = p->dilation_width * depth;
  const int32_t run = (fx1 - fx0) * depth;
  int32_t a0 = 0, a1 = 0;
  for (int32_t fy = fy0; fy < fy1; ++fy, x += x_row) {
    const int8_t *r0 = w0 + fy * filter_row + fx0 * depth;
    const int8_t *r1 = w1 + fy * filter_row + fx0 * depth;
    if (p->dilation_width == 1) {
      tinyc_conv_dot2_s8(x, r0, r1, run, &a0, &a1);
    } else {
      for (int32_t fx = fx0; fx < fx1; ++fx, r0 += depth, r1 += depth)
        tinyc_conv_dot2_s8(x + (fx - fx0) * x_tap, r0, r1, depth, &a0, &a1);
    }
  }
  const int32_t filter_size = p->filter_height * filter_row;
  if (run != filter_row || fy1 - fy0 != p->filter_height) {
    /* Border: the taps outside the input read as input_zero_point. */
    int32_t s0 = tinyc_conv_sum_s8(w0, filter_size), s1 = tinyc_conv_sum_s8(w1, filter_size);
    for (int32_t fy = fy0; fy < fy1; ++fy) {
      s0 -= tinyc_conv_sum_s8(w0 + fy * filter_row + fx0 * depth, run);
      s1 -= tinyc_conv_sum_s8(w1 + fy * filter_row + fx0 * depth, run);
    }
    a0 += p->input_zero_point * s0;
    a1 += p->input_zero_point * s1;
  }
  *acc0 = a0;
  *acc1 = a1;
}

static inline void tinyc_conv_s8(const tinyc_conv_s8_params *p, const int8_t *TINYC_RESTRICT input,
                                 const int8_t *TINYC_RESTRICT filter, const int32_t *bias,
                                 const int32_t *multiplier, const int8_t *shift,
                                 int8_t *TINYC_RESTRICT output) {
  const int32_t depth = p->input_depth;
  const int32_t filter_size = p->filter_height * p->filter_width * depth;
  const int32_t channels = p->output_depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->input_height * p->input_width * depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_conv_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t fx0, fx1;
        tinyc_conv_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
        /* Input pixel of the first valid tap (only read when the window is not empty). */
        const int8_t *x = in + ((iy0 + fy0 * p->dilation_height) * p->input_width +
                                (ix0 + fx0 * p->dilation_width)) * depth;
        for (int32_t c = 0; c < channels; c += 2) {
          const int32_t c1 = c + 1 < channels ? c + 1 : c;
          int32_t acc0, acc1;
          tinyc_conv_window2_s8(p, x, filter + c * filter_size, filter + c1 * filter_size, fy0,
                                fy1, fx0, fx1, &acc0, &acc1);
          const int32_t q0 = p->per_channel ? c : 0, q1 = p->per_channel ? c1 : 0;
          output[c] = tinyc_conv_output_s8(p, bias[c] + acc0, multiplier[q0], shift[q0]);
          output[c1] = tinyc_conv_output_s8(p, bias[c1] + acc1, multiplier[q1], shift[q1]);
        }
        output += channels;
      }
    }
  }
}

/* 1x1 filter, stride 1, no padding: output[pixel][c] = requantize(bias[c] + input[pixel] .
 * filter[c]). Two pixels times two channels per step: each loaded byte feeds two products. */
static inline void tinyc_conv_1x1_s8(const tinyc_conv_s8_params *p,
                                     const int8_t *TINYC_RESTRICT input,
                                     const int8_t *TINYC_RESTRICT filter, const int32_t *bias,
                                     const int32_t *multiplier, const int8_t *shift,
                                     int8_t *TINYC_RESTRICT output) {
  const int32_t depth = p->input_depth;
  const int32_t channels = p->output_depth;
  const int32_t pixels = p->batches * p->output_height * p->output_width;
  for (int32_t i = 0; i < pixels; i += 2) {
    const int32_t i1 = i + 1 < pixels ? i + 1 : i;
    const int8_t *x0 = input + i * depth;
    const int8_t *x1 = input + i1 * depth;
    int8_t *out0 = output + i * channels;
    int8_t *out1 = output + i1 * channels;
    for (int32_t c = 0; c < channels; c += 2) {
      const int32_t c1 = c + 1 < channels ? c + 1 : c;
      const int8_t *w0 = filter + c * depth;
      const int8_t *w1 = filter + c1 * depth;
      int32_t a00 = bias[c], a01 = bias[c1], a10 = bias[c], a11 = bias[c1];
      for (int32_t d = 0; d < depth; ++d) {
        const int32_t v0 = x0[d], v1 = x1[d], k0 = w0[d], k1 = w1[d];
        a00 += v0 * k0;
        a01 += v0 * k1;
        a10 += v1 * k0;
        a11 += v1 * k1;
      }
      const int32_t q0 = p->per_channel ? c : 0, q1 = p->per_channel ? c1 : 0;
      out0[c] = tinyc_conv_output_s8(p, a00, multiplier[q0], shift[q0]);
      out0[c1] = tinyc_conv_output_s8(p, a01, multiplier[q1], shift[q1]);
      out1[c] = tinyc_conv_output_s8(p, a10, multiplier[q0], shift[q0]);
      out1[c1] = tinyc_conv_output_s8(p, a11, multiplier[q1], shift[q1]);
    }
  }
}

#endif /* TINYC_CONV_H */
