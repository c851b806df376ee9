/* tinyc runtime: CONV_2D, int8 activations and weights, int32 bias. (16x8 and float32:
 * runtime/conv_s16.h and runtime/conv_f32.h.)
 *
 * Computes what TFLM reference_integer_ops::ConvPerChannel computes, bit for bit, for NHWC input
 * and output; one filter group here, several in tinyc_conv_grouped_s8 (at the end, which reuses
 * these loops). How it gets there differs:
 *
 * 1. The input offset is folded into `bias` by the compiler:
 *        bias[c] = b[c] - input_zero_point * sum(filter[c])
 *    so the inner loops are plain int8 dot products. TFLM skips the taps that fall in the padding;
 *    that is the same as reading the value input_zero_point there ((zp - zp) * w = 0), which adds
 *    back exactly what the folding took away for those taps. All int32 arithmetic, so exact
 *    (modulo 2^32, like TFLM's accumulator).
 * 2. Convolution is a matrix product. Each output pixel's receptive field (its "column": the
 *    filter_height x filter_width x input_depth input values under the filter, input_zero_point
 *    where the window leaves the input) is dotted with each filter row. Three kernels, chosen by
 *    the compiler; only the second needs memory, a scratch buffer planned in the arena:
 *    - tinyc_conv_1x1_s8 (1x1 filter, stride 1, no padding): the columns are the input pixels;
 *    - tinyc_conv_im2col_s8: two columns at a time are gathered into the scratch buffer, padding
 *      filled with input_zero_point;
 *    - tinyc_conv_s8 (calls the plan gives no scratch): each window is read in place, one pixel
 *      at a time, and the taps in the padding are added as input_zero_point * (their weights' sum).
 *    The part of each window inside the input is computed once per pixel: no per-tap bounds tests.
 * 3. The first two multiply two pixels by two output channels per step, so every loaded byte
 *    feeds two products; tinyc_conv_s8 does one pixel by two channels. On cores with the Arm DSP
 *    extension (Cortex-M4/M7/M33/M55...) four bytes are loaded at once and multiplied two by two
 *    (SXTB16 + SMLAD): the sums are the same integers.
 *
 * Filter layout: tinyc_conv_s8 reads TFLite's OHWI filter as it is. The other two read a layout
 * the compiler arranges (compiler/ops/conv.py): the filter as a matrix of output_depth rows of
 * K = filter_height * filter_width * input_depth values (OHWI order), stored in pairs of rows
 * (0, 1), (2, 3), ...: 4-value chunks of the two rows alternate, then the K % 4 last values of the
 * first row, then those of the second. An unpaired last row is stored as is. */
#ifndef TINYC_CONV_H
#define TINYC_CONV_H

#include "tinyc_dsp.h"


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
  int32_t input_zero_point; /* what the padding reads as; folded into bias by the compiler */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_conv_s8_params;


/* One 4-value chunk of the 2x2 product: s00 += x0[0:4].wa, s01 += x0[0:4].wb, s10 += x1[0:4].wa,
 * s11 += x1[0:4].wb, where w holds wa[0:4] then wb[0:4]. */
TINYC_ALWAYS_INLINE void tinyc_conv_chunk_2x2_s8(const int8_t *x0, const int8_t *x1,
                                                 const int8_t *w, int32_t *s00, int32_t *s01,
                                                 int32_t *s10, int32_t *s11) {
#ifdef TINYC_DSP
  const int32_t a = tinyc_load4(x0), b = tinyc_load4(x1);
  const int32_t a_even = __sxtb16(a), a_odd = tinyc_sxtb16_odd(a);
  const int32_t b_even = __sxtb16(b), b_odd = tinyc_sxtb16_odd(b);
  int32_t v = tinyc_load4(w);
  int32_t v_even = __sxtb16(v), v_odd = tinyc_sxtb16_odd(v);
  *s00 = __smlad(a_odd, v_odd, __smlad(a_even, v_even, *s00));
  *s10 = __smlad(b_odd, v_odd, __smlad(b_even, v_even, *s10));
  v = tinyc_load4(w + 4);
  v_even = __sxtb16(v);
  v_odd = tinyc_sxtb16_odd(v);
  *s01 = __smlad(a_odd, v_odd, __smlad(a_even, v_even, *s01));
  *s11 = __smlad(b_odd, v_odd, __smlad(b_even, v_even, *s11));
#else
  for (int32_t j = 0; j < 4; ++j) {
    const int32_t a = x0[j], b = x1[j], va = w[j], vb = w[4 + j];
    *s00 += a * va;
    *s01 += a * vb;
    *s10 += b * va;
    *s11 += b * vb;
  }
#endif
}

/* s[0] += x0.wa, s[1] += x0.wb, s[2] += x1.wa, s[3] += x1.wb for the interleaved pair of filter
 * rows (wa, wb) at `w`, over k values. Two chunks per iteration halve the loop overhead. */
TINYC_NOINLINE void tinyc_conv_dot_2x2_s8(const int8_t *x0, const int8_t *x1,
                                                      const int8_t *w, int32_t k, int32_t s[4]) {
  int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
  for (int32_t i = k >> 3; i > 0; --i) {
    tinyc_conv_chunk_2x2_s8(x0, x1, w, &s00, &s01, &s10, &s11);
    tinyc_conv_chunk_2x2_s8(x0 + 4, x1 + 4, w + 8, &s00, &s01, &s10, &s11);
    x0 += 8;
    x1 += 8;
    w += 16;
  }
  if (k & 4) {
    tinyc_conv_chunk_2x2_s8(x0, x1, w, &s00, &s01, &s10, &s11);
    x0 += 4;
    x1 += 4;
    w += 8;
  }
  const int32_t tail = k & 3;
  for (int32_t j = 0; j < tail; ++j) {
    const int32_t a = x0[j], b = x1[j], va = w[j], vb = w[tail + j];
    s00 += a * va;
    s01 += a * vb;
    s10 += b * va;
    s11 += b * vb;
  }
  s[0] = s00;
  s[1] = s01;
  s[2] = s10;
  s[3] = s11;
}

/* s[0] += x0.w, s[2] += x1.w for one plain filter row `w` of k values (an unpaired last row). */
static inline void tinyc_conv_dot_2x1_s8(const int8_t *x0, const int8_t *x1, const int8_t *w,
                                         int32_t k, int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[2];
  for (int32_t j = 0; j < k; ++j) {
    s0 += x0[j] * w[j];
    s1 += x1[j] * w[j];
  }
  s[0] = s0;
  s[2] = s1;
}

/* Requantize the 2x2 block s (see tinyc_conv_columns_s8) into channels c, c + 1 of out0 and out1
 * (TFLM's MultiplyByQuantizedMultiplier, output offset, activation clamp); only channel c when
 * `pair` is 0. Out of line: the loops that call it keep their registers. */
TINYC_NOINLINE void tinyc_conv_output_s8(const tinyc_conv_s8_params *p,
                                                     const int32_t s[4], int32_t pair,
                                                     const int32_t *multiplier,
                                                     const int8_t *shift, int8_t *out0,
                                                     int8_t *out1) {
  for (int32_t j = 0; j <= pair; ++j) {
    const int32_t m = multiplier[j], e = shift[j];
    const int32_t v0 = tinyc_requantize(s[j], m, e) + p->output_offset;
    const int32_t v1 = tinyc_requantize(s[2 + j], m, e) + p->output_offset;
    out0[j] = tinyc_clamp_s8(v0, p->activation_min, p->activation_max);
    out1[j] = tinyc_clamp_s8(v1, p->activation_min, p->activation_max);
  }
}

/* Every output channel of two pixels from their columns x0 and x1 (k values each). When only one
 * pixel is left, x1 == x0 and out1 == out0: the same values are computed and stored twice. */
static inline void tinyc_conv_columns_s8(const tinyc_conv_s8_params *p, const int8_t *x0,
                                         const int8_t *x1, int32_t k, const int8_t *filter,
                                         const int32_t *bias, const int32_t *multiplier,
                                         const int8_t *shift, int8_t *out0, int8_t *out1) {
  const int32_t channels = p->output_depth;
  for (int32_t c = 0; c < channels; c += 2, filter += 2 * k) {
    const int32_t pair = c + 1 < channels;
    int32_t s[4] = {bias[c], bias[c + pair], bias[c], bias[c + pair]};
    if (pair)
      tinyc_conv_dot_2x2_s8(x0, x1, filter, k, s);
    else
      tinyc_conv_dot_2x1_s8(x0, x1, filter, k, s);
    tinyc_conv_output_s8(p, s, pair, multiplier + c, shift + c, out0 + c, out1 + c);
  }
}

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

/* s[0] += x.w0, s[1] += x.w1 over `rows` runs of n values: run r starts at x + r * x_row and at
 * w0 + r * w_row, w1 + r * w_row. One output pixel, two filter rows (output channels). */
TINYC_NOINLINE void tinyc_conv_dot_1x2_s8(const int8_t *x, int32_t x_row, const int8_t *w0,
                                               const int8_t *w1, int32_t w_row, int32_t n,
                                               int32_t rows, int32_t s[2]) {
  int32_t s0 = s[0], s1 = s[1];
  x_row -= n;
  w_row -= n;
  for (; rows > 0; --rows, x += x_row, w0 += w_row, w1 += w_row) {
    int32_t j = n;
#ifdef TINYC_DSP
    for (; j >= 4; j -= 4, x += 4, w0 += 4, w1 += 4) {
      const int32_t a = tinyc_load4(x);
      const int32_t a_even = __sxtb16(a), a_odd = tinyc_sxtb16_odd(a);
      const int32_t v0 = tinyc_load4(w0), v1 = tinyc_load4(w1);
      s0 = __smlad(a_odd, tinyc_sxtb16_odd(v0), __smlad(a_even, __sxtb16(v0), s0));
      s1 = __smlad(a_odd, tinyc_sxtb16_odd(v1), __smlad(a_even, __sxtb16(v1), s1));
      /* Opaque to the optimizer: keeps three post-incremented pointers, where gcc -Os would
       * otherwise rebuild them from one index every iteration. */
      __asm__("" : "+r"(x), "+r"(w0), "+r"(w1));
    }
#endif
    for (; j > 0; --j) {
      const int32_t a = *x++;
      s0 += a * *w0++;
      s1 += a * *w1++;
    }
  }
  s[0] = s0;
  s[1] = s1;
}

/* Sum of n int8 values. */
static inline int32_t tinyc_conv_sum_s8(const int8_t *w, int32_t n) {
  int32_t sum = 0;
#ifdef TINYC_DSP
  for (; n >= 4; n -= 4, w += 4) {
    const int32_t v = tinyc_load4(w);
    sum = __smlad(tinyc_sxtb16_odd(v), 0x00010001, __smlad(__sxtb16(v), 0x00010001, sum));
  }
#endif
  for (; n > 0; --n) sum += *w++;
  return sum;
}

/* Sum of the weights of filter `w` (one output channel, OHWI) at the taps outside rows
 * [fy0, fy1) x columns [fx0, fx1): the taps of a window that fall in the padding. */
static inline int32_t tinyc_conv_skipped_sum_s8(const tinyc_conv_s8_params *p, const int8_t *w,
                                                int32_t fy0, int32_t fy1, int32_t fx0,
                                                int32_t fx1) {
  const int32_t depth = p->input_depth, row = p->filter_width * depth;
  int32_t sum = tinyc_conv_sum_s8(w, fy0 * row); /* rows above the input */
  sum += tinyc_conv_sum_s8(w + fy1 * row, (p->filter_height - fy1) * row); /* and below */
  for (int32_t fy = fy0; fy < fy1; ++fy) { /* columns left and right of it */
    sum += tinyc_conv_sum_s8(w + fy * row, fx0 * depth);
    sum += tinyc_conv_sum_s8(w + fy * row + fx1 * depth, row - fx1 * depth);
  }
  return sum;
}

/* Every output channel of output pixel (oy, ox) of one image, two channels at a time. Only the
 * taps inside the input are read; with dilation 1, each filter row's valid taps are one run of
 * bytes in both the input and the filter. Out of line, so its loops keep their registers. */
TINYC_NOINLINE void tinyc_conv_pixel_s8(const tinyc_conv_s8_params *p, const int8_t *image,
                                             int32_t oy, int32_t ox, const int8_t *filter,
                                             const int32_t *bias, const int32_t *multiplier,
                                             const int8_t *shift, int8_t *out) {
  const int32_t depth = p->input_depth;
  const int32_t k = p->filter_height * p->filter_width * depth;
  const int32_t iy0 = oy * p->stride_height - p->pad_height;
  const int32_t ix0 = ox * p->stride_width - p->pad_width;
  int32_t fy0, fy1, fx0, fx1;
  tinyc_conv_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
  tinyc_conv_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
  const int32_t border = fy1 - fy0 < p->filter_height || fx1 - fx0 < p->filter_width;
  /* Input pixel of tap (fy0, fx0) (only read when the window is not empty), the steps between
   * rows and taps in the input, and the offset of tap (fy0, fx0) in a filter. */
  const int8_t *x = image + ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 +
                             fx0 * p->dilation_width) * depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth;
  const int32_t x_tap = p->dilation_width * depth;
  const int32_t w_row = p->filter_width * depth;
  const int32_t w_first = fy0 * w_row + fx0 * depth;
  for (int32_t c = 0; c < p->output_depth; c += 2) {
    const int32_t c1 = c + 1 < p->output_depth ? c + 1 : c;
    const int8_t *w0 = filter + c * k + w_first, *w1 = filter + c1 * k + w_first;
    int32_t s[2] = {bias[c], bias[c1]};
    if (p->dilation_width == 1) { /* each row's valid taps: one run */
      tinyc_conv_dot_1x2_s8(x, x_row, w0, w1, w_row, (fx1 - fx0) * depth, fy1 - fy0, s);
    } else { /* dilated columns: one run per tap */
      for (int32_t fx = 0; fx < fx1 - fx0; ++fx)
        tinyc_conv_dot_1x2_s8(x + fx * x_tap, x_row, w0 + fx * depth, w1 + fx * depth, w_row,
                              depth, fy1 - fy0, s);
    }
    if (border) {
      s[0] += p->input_zero_point * tinyc_conv_skipped_sum_s8(p, filter + c * k, fy0, fy1, fx0,
                                                              fx1);
      s[1] += p->input_zero_point * tinyc_conv_skipped_sum_s8(p, filter + c1 * k, fy0, fy1, fx0,
                                                              fx1);
    }
    const int32_t v0 = tinyc_requantize(s[0], multiplier[c], shift[c]) + p->output_offset;
    const int32_t v1 = tinyc_requantize(s[1], multiplier[c1], shift[c1]) + p->output_offset;
    out[c] = tinyc_clamp_s8(v0, p->activation_min, p->activation_max);
    out[c1] = tinyc_clamp_s8(v1, p->activation_min, p->activation_max);
  }
}

static inline void tinyc_conv_fill_s8(int8_t *dst, int8_t value, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = value;
}

static inline void tinyc_conv_copy_s8(int8_t *dst, const int8_t *src, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
}

/* Gather the column of output pixel (oy, ox) of one image into `col`: filter_height rows of
 * filter_width * input_depth values, input_zero_point where the window leaves the input (which
 * the folded bias expects: no correction needed). */
static inline void tinyc_conv_gather_s8(const tinyc_conv_s8_params *p, const int8_t *image,
                                        int32_t oy, int32_t ox, int8_t *col) {
  const int32_t depth = p->input_depth;
  const int32_t row = p->filter_width * depth;
  const int8_t zp = (int8_t)p->input_zero_point;
  const int32_t iy0 = oy * p->stride_height - p->pad_height;
  const int32_t ix0 = ox * p->stride_width - p->pad_width;
  int32_t fy0, fy1, fx0, fx1;
  tinyc_conv_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
  tinyc_conv_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
  for (int32_t fy = 0; fy < p->filter_height; ++fy, col += row) {
    if (fy < fy0 || fy >= fy1) {
      tinyc_conv_fill_s8(col, zp, row);
      continue;
    }
    const int8_t *x = image + ((iy0 + fy * p->dilation_height) * p->input_width + ix0 +
                               fx0 * p->dilation_width) * depth;
    tinyc_conv_fill_s8(col, zp, fx0 * depth);
    if (p->dilation_width == 1) {
      tinyc_conv_copy_s8(col + fx0 * depth, x, (fx1 - fx0) * depth);
    } else {
      for (int32_t fx = fx0; fx < fx1; ++fx, x += p->dilation_width * depth)
        tinyc_conv_copy_s8(col + fx * depth, x, depth);
    }
    tinyc_conv_fill_s8(col + fx1 * depth, zp, (p->filter_width - fx1) * depth);
  }
}

/* Any filter size, stride, dilation and padding: the columns of two output pixels are gathered
 * into `scratch` (2 * filter_height * filter_width * input_depth bytes, planned in the arena) and
 * multiplied with the filter, stored as interleaved row pairs (see the top). */
static inline void tinyc_conv_im2col_s8(const tinyc_conv_s8_params *p,
                                        const int8_t *TINYC_RESTRICT input,
                                        const int8_t *TINYC_RESTRICT filter, const int32_t *bias,
                                        const int32_t *multiplier, const int8_t *shift,
                                        int8_t *TINYC_RESTRICT output, void *scratch) {
  const int32_t k = p->filter_height * p->filter_width * p->input_depth;
  int8_t *columns[2] = {(int8_t *)scratch, (int8_t *)scratch + k};
  const int32_t pixels = p->output_height * p->output_width;
  const int32_t channels = p->output_depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    int8_t *out = output + b * pixels * channels;
    for (int32_t i = 0; i < pixels; i += 2) {
      const int32_t two = i + 1 < pixels;
      tinyc_conv_gather_s8(p, image, i / p->output_width, i % p->output_width, columns[0]);
      if (two)
        tinyc_conv_gather_s8(p, image, (i + 1) / p->output_width, (i + 1) % p->output_width,
                             columns[1]);
      tinyc_conv_columns_s8(p, columns[0], columns[two], k, filter, bias, multiplier, shift,
                            out + i * channels, out + (i + two) * channels);
    }
  }
}

/* Any filter size, stride, dilation and padding; filter in TFLite's OHWI layout. No buffer at all,
 * one output pixel at a time: for calls the plan gives no scratch. */
static inline void tinyc_conv_s8(const tinyc_conv_s8_params *p, const int8_t *TINYC_RESTRICT input,
                                 const int8_t *TINYC_RESTRICT filter, const int32_t *bias,
                                 const int32_t *multiplier, const int8_t *shift,
                                 int8_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        tinyc_conv_pixel_s8(p, image, oy, ox, filter, bias, multiplier, shift, output);
        output += p->output_depth;
      }
    }
  }
}

/* 1x1 filter, stride 1, no padding: the columns are the input pixels. */
static inline void tinyc_conv_1x1_s8(const tinyc_conv_s8_params *p,
                                     const int8_t *TINYC_RESTRICT input,
                                     const int8_t *TINYC_RESTRICT filter, const int32_t *bias,
                                     const int32_t *multiplier, const int8_t *shift,
                                     int8_t *TINYC_RESTRICT output) {
  const int32_t k = p->input_depth;
  const int32_t channels = p->output_depth;
  const int32_t pixels = p->batches * p->output_height * p->output_width;
  for (int32_t i = 0; i < pixels; i += 2) {
    const int32_t two = i + 1 < pixels;
    tinyc_conv_columns_s8(p, input + i * k, input + (i + two) * k, k, filter, bias, multiplier,
                          shift, output + i * channels, output + (i + two) * channels);
  }
}

/* ---------------------------------------------------------------- grouped CONV_2D */

/* Grouped convolution (TFLM's ConvPerChannel with filter depth input_depth / groups): output
 * channel c reads the filter_depth input channels of its group, c / group_channels. The bias is
 * folded as for the other kernels (over channel c's own weights), the filter is TFLite's OHWI
 * [output_depth][filter_height][filter_width][filter_depth] as it is, and no scratch is needed:
 * like tinyc_conv_s8, one output pixel at a time, the taps inside the input read in place (each
 * tap's filter_depth values are one run, by tinyc_conv_dot_1x2_s8) and those in the padding
 * added as input_zero_point * (their weights' sum). */
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
  int32_t pad_height;
  int32_t pad_width;
  int32_t input_zero_point;
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_conv_grouped_s8_params;

/* Sum of the weights of filter `w` (one output channel, [filter_height][filter_width][depth]) at
 * the taps outside rows [fy0, fy1) x columns [fx0, fx1). */
static inline int32_t tinyc_conv_grouped_skipped_sum_s8(const tinyc_conv_grouped_s8_params *p,
                                                        const int8_t *w, int32_t fy0,
                                                        int32_t fy1, int32_t fx0, int32_t fx1) {
  const int32_t depth = p->filter_depth, row = p->filter_width * depth;
  int32_t sum = tinyc_conv_sum_s8(w, fy0 * row);
  sum += tinyc_conv_sum_s8(w + fy1 * row, (p->filter_height - fy1) * row);
  for (int32_t fy = fy0; fy < fy1; ++fy) {
    sum += tinyc_conv_sum_s8(w + fy * row, fx0 * depth);
    sum += tinyc_conv_sum_s8(w + fy * row + fx1 * depth, row - fx1 * depth);
  }
  return sum;
}

/* Every output channel of output pixel (oy, ox) of one image, two channels of a group at a
 * time (an odd group's last channel alone, computed twice). */
TINYC_NOINLINE void tinyc_conv_grouped_pixel_s8(const tinyc_conv_grouped_s8_params *p,
                                                const int8_t *image, int32_t oy, int32_t ox,
                                                const int8_t *filter, const int32_t *bias,
                                                const int32_t *multiplier, const int8_t *shift,
                                                int8_t *out) {
  const int32_t depth = p->input_depth, fd = p->filter_depth, gc = p->group_channels;
  const int32_t w_row = p->filter_width * fd;
  const int32_t k = p->filter_height * w_row;
  const int32_t iy0 = oy * p->stride_height - p->pad_height;
  const int32_t ix0 = ox * p->stride_width - p->pad_width;
  int32_t fy0, fy1, fx0, fx1;
  tinyc_conv_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
  tinyc_conv_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
  if (fy1 - fy0 == 0 || fx1 - fx0 == 0 || fy0 >= p->filter_height || fx0 >= p->filter_width)
    fy0 = fy1 = fx0 = fx1 = 0; /* no tap inside: all of them are skipped */
  const int32_t rows = fy1 - fy0, cols = fx1 - fx0;
  const int32_t border = rows < p->filter_height || cols < p->filter_width;
  const int8_t *x = image; /* input pixel of tap (fy0, fx0); not read when no tap is inside */
  if (rows > 0)
    x += ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 + fx0 * p->dilation_width) *
         depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth;
  const int32_t x_tap = p->dilation_width * depth;
  const int32_t w_first = fy0 * w_row + fx0 * fd;
  for (int32_t c = 0; c < p->output_depth; c += 2) {
    const int32_t group = c / gc, end = (group + 1) * gc;
    const int32_t c1 = c + 1 < end ? c + 1 : c;
    const int8_t *xg = x + group * fd;
    const int8_t *w0 = filter + c * k + w_first, *w1 = filter + c1 * k + w_first;
    int32_t s[2] = {bias[c], bias[c1]};
    for (int32_t fx = 0; fx < cols; ++fx)
      tinyc_conv_dot_1x2_s8(xg + fx * x_tap, x_row, w0 + fx * fd, w1 + fx * fd, w_row, fd, rows,
                            s);
    if (border) {
      s[0] += p->input_zero_point *
              tinyc_conv_grouped_skipped_sum_s8(p, filter + c * k, fy0, fy1, fx0, fx1);
      s[1] += p->input_zero_point *
              tinyc_conv_grouped_skipped_sum_s8(p, filter + c1 * k, fy0, fy1, fx0, fx1);
    }
    const int32_t v0 = tinyc_requantize(s[0], multiplier[c], shift[c]) + p->output_offset;
    const int32_t v1 = tinyc_requantize(s[1], multiplier[c1], shift[c1]) + p->output_offset;
    out[c] = tinyc_clamp_s8(v0, p->activation_min, p->activation_max);
    out[c1] = tinyc_clamp_s8(v1, p->activation_min, p->activation_max);
    if (c1 == c) c -= 1; /* next pair starts at the next group's first channel */
  }
}

/* Any filter size, stride, dilation, padding and group count. */
static inline void tinyc_conv_grouped_s8(const tinyc_conv_grouped_s8_params *p,
                                         const int8_t *TINYC_RESTRICT input,
                                         const int8_t *TINYC_RESTRICT filter,
                                         const int32_t *bias, const int32_t *multiplier,
                                         const int8_t *shift, int8_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        tinyc_conv_grouped_pixel_s8(p, image, oy, ox, filter, bias, multiplier, shift, output);
        output += p->output_depth;
      }
    }
  }
}

#endif /* TINYC_CONV_H */
