/* tinyc runtime: DEPTHWISE_CONV_2D, int8 activations and weights, int32 bias.
 *
 * Computes what TFLM reference_integer_ops::DepthwiseConvPerChannel computes, bit for bit:
 * NHWC input, [1, H, W, output_depth] filter, output channel c = input channel * depth_multiplier
 * + m. As in conv.h, the input offset is folded into `bias` by the compiler
 * (bias[c] = b[c] - input_zero_point * sum of channel c's weights), and taps outside the input
 * (which TFLM skips) read as input_zero_point, which gives back what the folding took away:
 * exact int32 arithmetic. The part of each output pixel's window inside the input is computed once
 * per pixel, as a list of its taps (in a scratch buffer planned in the arena), so the channel loops
 * run without bounds tests. */
#ifndef TINYC_DEPTHWISE_CONV_H
#define TINYC_DEPTHWISE_CONV_H

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


/* The taps of one output pixel: `inside` taps read the input (x[i]: offset of the input pixel's
 * first channel from `base`; tap[i]: filter tap index), the `outside` ones fall in the padding
 * (their filter tap indices at the end of `tap`, from tap[count - 1] backwards). For windows
 * entirely inside the input, `base` is the input pixel under tap (0, 0) and the list is the same
 * for every such window, so it is only rebuilt after a window at the border. The lists live in
 * the scratch buffer the compiler plans in the arena: 5 bytes per tap (x, then tap); filters of
 * more than 256 taps, or calls the plan gives no scratch, run tinyc_depthwise_conv_direct_s8. */
typedef struct {
  int32_t inside, outside, count;
  int32_t *x;
  uint8_t *tap;
} tinyc_depthwise_taps_s8;

/* List the taps inside rows [fy0, fy1) x columns [fx0, fx1) with input offsets from the input
 * pixel (iy0, ix0) (which may lie in the padding: the offsets are only added for taps inside). */
static inline void tinyc_depthwise_list_taps(const tinyc_depthwise_conv_s8_params *p, int32_t iy0,
                                             int32_t ix0, int32_t fy0, int32_t fy1, int32_t fx0,
                                             int32_t fx1, tinyc_depthwise_taps_s8 *taps) {
  int32_t in = 0, out = taps->count;
  for (int32_t fy = 0, t = 0; fy < p->filter_height; ++fy) {
    const int32_t row_inside = fy >= fy0 && fy < fy1;
    const int32_t row = (iy0 + fy * p->dilation_height) * p->input_width + ix0;
    for (int32_t fx = 0; fx < p->filter_width; ++fx, ++t) {
      if (row_inside && fx >= fx0 && fx < fx1) {
        taps->x[in] = (row + fx * p->dilation_width) * p->input_depth;
        taps->tap[in++] = (uint8_t)t;
      } else {
        taps->tap[--out] = (uint8_t)t;
      }
    }
  }
  taps->inside = in;
  taps->outside = taps->count - out;
}

/* a0..a3 += x[0..3] * w[0..3]: four channels of one tap. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_mac4(const int8_t *x, const int8_t *w, int32_t *a0,
                                              int32_t *a1, int32_t *a2, int32_t *a3) {
#ifdef TINYC_DSP
  /* Channels (0, 2) and (1, 3) as halfword pairs; 16x16 multiply-accumulates. */
  const int32_t xv = tinyc_load4(x), wv = tinyc_load4(w);
  const int32_t x_even = __sxtb16(xv), w_even = __sxtb16(wv);
  const int32_t x_odd = tinyc_sxtb16_odd(xv), w_odd = tinyc_sxtb16_odd(wv);
  *a0 = __smlabb(x_even, w_even, *a0);
  *a2 = __smlatt(x_even, w_even, *a2);
  *a1 = __smlabb(x_odd, w_odd, *a1);
  *a3 = __smlatt(x_odd, w_odd, *a3);
#else
  *a0 += x[0] * w[0];
  *a1 += x[1] * w[1];
  *a2 += x[2] * w[2];
  *a3 += x[3] * w[3];
#endif
}

/* a0..a3 += v * w[0..3]: one input value times four channels' weights. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_mac1x4(int32_t v, const int8_t *w, int32_t *a0,
                                                int32_t *a1, int32_t *a2, int32_t *a3) {
#ifdef TINYC_DSP
  const int32_t wv = tinyc_load4(w);
  const int32_t w_even = __sxtb16(wv), w_odd = tinyc_sxtb16_odd(wv);
  const int32_t vv = (int32_t)(((uint32_t)v << 16) | ((uint32_t)v & 0xffffu)); /* v, v */
  *a0 = __smlabb(vv, w_even, *a0);
  *a2 = __smlatt(vv, w_even, *a2);
  *a1 = __smlabb(vv, w_odd, *a1);
  *a3 = __smlatt(vv, w_odd, *a3);
#else
  *a0 += v * w[0];
  *a1 += v * w[1];
  *a2 += v * w[2];
  *a3 += v * w[3];
#endif
}

/* Requantize `count` accumulators of consecutive output channels (TFLM's
 * MultiplyByQuantizedMultiplier, output offset, activation clamp); multiplier, shift and out start
 * at the first channel. */
TINYC_NOINLINE void tinyc_depthwise_output_s8(
    const tinyc_depthwise_conv_s8_params *p, const int32_t *acc, int32_t count,
    const int32_t *multiplier, const int8_t *shift, int8_t *out) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t v = tinyc_requantize(acc[i], multiplier[i], shift[i]) + p->output_offset;
    out[i] = tinyc_clamp_s8(v, p->activation_min, p->activation_max);
  }
}

/* Every output channel of one output pixel, from its list of taps. Taps in the padding read
 * input_zero_point, which the folded bias expects. Out of line, so its loops keep registers. */
TINYC_NOINLINE void tinyc_depthwise_pixel_s8(const tinyc_depthwise_conv_s8_params *p,
                                                       const int8_t *image,
                                                       const tinyc_depthwise_taps_s8 *taps,
                                                       const int8_t *filter, const int32_t *bias,
                                                       const int32_t *multiplier,
                                                       const int8_t *shift, int8_t *out) {
  const int32_t channels = p->output_depth, m = p->depth_multiplier, zp = p->input_zero_point;
  const uint8_t *outside = taps->tap + taps->count - taps->outside;
  int32_t c = 0;
  /* Four output channels at a time: four input channels (multiplier 1) or one (a multiple of 4) */
  for (; (m == 1 || m % 4 == 0) && c + 4 <= channels; c += 4) {
    int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
    const int8_t *x = image + c / m, *w = filter + c;
    const int32_t *xi = taps->x;
    if (taps->outside == 0) { /* the whole window inside: taps in filter order */
      for (int32_t i = taps->inside; i > 0; --i, w += channels) {
        if (m == 1)
          tinyc_depthwise_mac4(x + *xi++, w, &a0, &a1, &a2, &a3);
        else
          tinyc_depthwise_mac1x4(x[*xi++], w, &a0, &a1, &a2, &a3);
      }
    } else {
      for (int32_t i = 0; i < taps->inside; ++i) {
        const int8_t *wt = w + taps->tap[i] * channels;
        if (m == 1)
          tinyc_depthwise_mac4(x + xi[i], wt, &a0, &a1, &a2, &a3);
        else
          tinyc_depthwise_mac1x4(x[xi[i]], wt, &a0, &a1, &a2, &a3);
      }
      for (int32_t i = 0; i < taps->outside; ++i)
        tinyc_depthwise_mac1x4(zp, w + outside[i] * channels, &a0, &a1, &a2, &a3);
    }
    const int32_t acc[4] = {a0, a1, a2, a3};
    tinyc_depthwise_output_s8(p, acc, 4, multiplier + c, shift + c, out + c);
  }
  for (; c < channels; ++c) { /* one by one; output channel c reads input channel c / m */
    const int8_t *x = image + c / m, *w = filter + c;
    int32_t acc = bias[c];
    for (int32_t i = 0; i < taps->inside; ++i) acc += x[taps->x[i]] * w[taps->tap[i] * channels];
    for (int32_t i = 0; i < taps->outside; ++i) acc += zp * w[outside[i] * channels];
    tinyc_depthwise_output_s8(p, &acc, 1, multiplier + c, shift + c, out + c);
  }
}

/* Tap lists in `scratch` (5 bytes per filter tap, at most 256 taps). */
static inline void tinyc_depthwise_conv_s8(const tinyc_depthwise_conv_s8_params *p,
                                           const int8_t *TINYC_RESTRICT input,
                                           const int8_t *TINYC_RESTRICT filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int8_t *shift, int8_t *TINYC_RESTRICT output,
                                           void *scratch) {
  tinyc_depthwise_taps_s8 taps;
  taps.count = p->filter_height * p->filter_width;
  taps.x = (int32_t *)scratch;
  taps.tap = (uint8_t *)(taps.x + taps.count);
  int32_t listed_inside = 0; /* does `taps` hold the list of a window inside the input? */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_depthwise_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0,
                             &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox, output += p->output_depth) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t fx0, fx1;
        tinyc_depthwise_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0,
                               &fx1);
        const int32_t inside = fy1 - fy0 == p->filter_height && fx1 - fx0 == p->filter_width;
        if (inside && !listed_inside) /* offsets from the pixel under tap (0, 0) */
          tinyc_depthwise_list_taps(p, 0, 0, 0, p->filter_height, 0, p->filter_width, &taps);
        else if (!inside) /* offsets from the image's first pixel */
          tinyc_depthwise_list_taps(p, iy0, ix0, fy0, fy1, fx0, fx1, &taps);
        listed_inside = inside;
        const int8_t *base = inside ? image + (iy0 * p->input_width + ix0) * p->input_depth : image;
        tinyc_depthwise_pixel_s8(p, base, &taps, filter, bias, multiplier, shift, output);
      }
    }
  }
}

/* No scratch: for calls the plan gives no tap-list buffer, and filters of more than 256 taps.
 * TFLM's sum as it is: `bias` here is NOT folded (the plain int32 bias), and each tap inside the
 * input adds (x - input_zero_point) * w, which is what TFLM's (x + input_offset) * w adds; taps in
 * the padding add nothing, as TFLM skips them. The window is clipped to the input once per output
 * pixel, so no tap is bounds-tested. Out of line: its loops keep their registers. */
TINYC_NOINLINE void tinyc_depthwise_direct_pixel_s8(
    const tinyc_depthwise_conv_s8_params *p, const int8_t *window, int32_t fy0, int32_t fy1,
    int32_t fx0, int32_t fx1, const int8_t *filter, const int32_t *bias,
    const int32_t *multiplier, const int8_t *shift, int8_t *output) {
  const int32_t channels = p->output_depth, zp = p->input_zero_point;
  const int32_t x_row = p->dilation_height * p->input_width * p->input_depth;
  const int32_t x_tap = p->dilation_width * p->input_depth;
  for (int32_t c = 0; c < channels; ++c) {
    const int8_t *x = window + c / p->depth_multiplier + fy0 * x_row + fx0 * x_tap;
    const int8_t *w = filter + (fy0 * p->filter_width + fx0) * channels + c;
    int32_t acc = bias[c];
    for (int32_t fy = fy0; fy < fy1; ++fy, x += x_row, w += p->filter_width * channels) {
      const int8_t *xt = x, *wt = w;
      for (int32_t fx = fx0; fx < fx1; ++fx, xt += x_tap, wt += channels)
        acc += ((int32_t)*xt - zp) * (int32_t)*wt;
    }
    tinyc_depthwise_output_s8(p, &acc, 1, multiplier + c, shift + c, output + c);
  }
}

static inline void tinyc_depthwise_conv_direct_s8(const tinyc_depthwise_conv_s8_params *p,
                                                  const int8_t *TINYC_RESTRICT input,
                                                  const int8_t *TINYC_RESTRICT filter,
                                                  const int32_t *bias, const int32_t *multiplier,
                                                  const int8_t *shift,
                                                  int8_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_depthwise_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0,
                             &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox, output += p->output_depth) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t fx0, fx1;
        tinyc_depthwise_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0,
                               &fx1);
        /* the input pixel under tap (0, 0): may lie in the padding, only taps inside are read */
        const int8_t *window = image + (iy0 * p->input_width + ix0) * p->input_depth;
        tinyc_depthwise_direct_pixel_s8(p, window, fy0, fy1, fx0, fx1, filter, bias, multiplier,
                                        shift, output);
      }
    }
  }
}

#endif /* TINYC_DEPTHWISE_CONV_H */
