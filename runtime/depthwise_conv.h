/* tinyc runtime: DEPTHWISE_CONV_2D, int8 activations and weights, int32 bias.
 *
 * Computes what TFLM reference_integer_ops::DepthwiseConvPerChannel computes, bit for bit:
 * NHWC input, [1, H, W, output_depth] filter, output channel c = input channel * depth_multiplier
 * + m. As in conv.h, the input offset is folded into `bias` by the compiler
 * (bias[c] = b[c] - input_zero_point * sum of channel c's weights), and taps outside the input
 * (which TFLM skips) read as input_zero_point, which gives back what the folding took away:
 * exact int32 arithmetic. For each output pixel the kernel first lists where each filter tap
 * reads: the input pixel, or a row of input_zero_point for taps in the padding. The channel loops
 * then run the same code for every pixel, with no bounds tests. */
#ifndef TINYC_DEPTHWISE_CONV_H
#define TINYC_DEPTHWISE_CONV_H

#include "tinyc_common.h"

#if defined(__ARM_FEATURE_DSP) && !defined(TINYC_NO_DSP)
#include <arm_acle.h>
#define TINYC_DEPTHWISE_DSP 1

/* Four int8 values as one word; Cortex-M with DSP allows unaligned word loads. */
static inline int32_t tinyc_depthwise_load4(const int8_t *p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/* Bytes 1 and 3 sign-extended to two halfwords (SXTB16 with rotation, one instruction). */
static inline int32_t tinyc_depthwise_sxtb16_odd(int32_t v) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
#endif

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

/* Point taps[t] at the input pixel under filter tap t of output pixel (oy, ox), or at `padding`
 * (input_depth bytes of input_zero_point) where the tap lies outside the input. */
static inline void tinyc_depthwise_taps(const tinyc_depthwise_conv_s8_params *p,
                                        const int8_t *image, const int8_t *padding, int32_t oy,
                                        int32_t ox, const int8_t **taps) {
  const int32_t iy0 = oy * p->stride_height - p->pad_height;
  const int32_t ix0 = ox * p->stride_width - p->pad_width;
  int32_t fy0, fy1, fx0, fx1;
  tinyc_depthwise_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
  tinyc_depthwise_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
  for (int32_t fy = 0; fy < p->filter_height; ++fy) {
    const int32_t row_inside = fy >= fy0 && fy < fy1;
    const int32_t row = (iy0 + fy * p->dilation_height) * p->input_width + ix0;
    for (int32_t fx = 0; fx < p->filter_width; ++fx)
      *taps++ = row_inside && fx >= fx0 && fx < fx1
                    ? image + (row + fx * p->dilation_width) * p->input_depth
                    : padding;
  }
}

#if defined(__GNUC__)
#define TINYC_DEPTHWISE_NOINLINE __attribute__((noinline))
#else
#define TINYC_DEPTHWISE_NOINLINE
#endif

/* Requantize `count` accumulators of consecutive output channels (TFLM's
 * MultiplyByQuantizedMultiplier, output offset, activation clamp); multiplier, shift and out start
 * at the first channel. Out of line: the tap loops that call it keep their registers. */
TINYC_DEPTHWISE_NOINLINE static void tinyc_depthwise_output_s8(
    const tinyc_depthwise_conv_s8_params *p, const int32_t *acc, int32_t count,
    const int32_t *multiplier, const int8_t *shift, int8_t *out) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t v = tinyc_requantize(acc[i], multiplier[i], shift[i]) + p->output_offset;
    out[i] = tinyc_clamp_s8(v, p->activation_min, p->activation_max);
  }
}

/* All output channels of one output pixel, given its taps (see tinyc_depthwise_taps). Kept out of
 * line where the compiler allows: then register allocators (gcc -Os in particular) keep its four
 * accumulators in registers instead of spilling them inside the tap loop. */
TINYC_DEPTHWISE_NOINLINE static void tinyc_depthwise_pixel_s8(const tinyc_depthwise_conv_s8_params *p,
                                            const int8_t *const *taps, const int8_t *filter,
                                            const int32_t *bias, const int32_t *multiplier,
                                            const int8_t *shift, int8_t *out) {
  const int32_t channels = p->output_depth;
  const int32_t count = p->filter_height * p->filter_width;
  int32_t c = 0;
  if (p->depth_multiplier == 1) {
    /* Four channels at a time: four accumulators, four input channels per tap. */
    for (; c + 4 <= channels; c += 4) {
      int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
      const int8_t *w = filter + c;
      for (int32_t t = 0; t < count; ++t, w += channels) {
        const int8_t *x = taps[t] + c;
#ifdef TINYC_DEPTHWISE_DSP
        /* Channels (0, 2) and (1, 3) as halfword pairs; 16x16 multiply-accumulates. */
        const int32_t xv = tinyc_depthwise_load4(x), wv = tinyc_depthwise_load4(w);
        const int32_t x_even = __sxtb16(xv), w_even = __sxtb16(wv);
        const int32_t x_odd = tinyc_depthwise_sxtb16_odd(xv);
        const int32_t w_odd = tinyc_depthwise_sxtb16_odd(wv);
        a0 = __smlabb(x_even, w_even, a0);
        a2 = __smlatt(x_even, w_even, a2);
        a1 = __smlabb(x_odd, w_odd, a1);
        a3 = __smlatt(x_odd, w_odd, a3);
#else
        a0 += x[0] * w[0];
        a1 += x[1] * w[1];
        a2 += x[2] * w[2];
        a3 += x[3] * w[3];
#endif
      }
      const int32_t acc[4] = {a0, a1, a2, a3};
      tinyc_depthwise_output_s8(p, acc, 4, multiplier + c, shift + c, out + c);
    }
  }
  /* The remaining channels one by one; output channel c reads input channel c / multiplier. */
  for (; c < channels; ++c) {
    const int32_t in_channel = c / p->depth_multiplier;
    int32_t acc = bias[c];
    const int8_t *w = filter + c;
    for (int32_t t = 0; t < count; ++t, w += channels) acc += taps[t][in_channel] * w[0];
    tinyc_depthwise_output_s8(p, &acc, 1, multiplier + c, shift + c, out + c);
  }
}

/* `scratch` holds the tap pointers of one output pixel and a row of input_zero_point standing for
 * the padding: 8 * filter_height * filter_width + input_depth + 8 bytes (pointers of up to 8 bytes,
 * aligned up from the arena's 4-byte alignment). */
static inline void tinyc_depthwise_conv_s8(const tinyc_depthwise_conv_s8_params *p,
                                           const int8_t *TINYC_RESTRICT input,
                                           const int8_t *TINYC_RESTRICT filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int8_t *shift, int8_t *TINYC_RESTRICT output,
                                           void *scratch) {
  /* Pointer table first, at pointer alignment (the arena only guarantees 4 bytes). */
  const uintptr_t align = sizeof(const int8_t *) - 1;
  const int8_t **taps = (const int8_t **)(((uintptr_t)scratch + align) & ~align);
  int8_t *padding = (int8_t *)(taps + p->filter_height * p->filter_width);
  for (int32_t i = 0; i < p->input_depth; ++i) padding[i] = (int8_t)p->input_zero_point;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        tinyc_depthwise_taps(p, image, padding, oy, ox, taps);
        tinyc_depthwise_pixel_s8(p, taps, filter, bias, multiplier, shift, output);
        output += p->output_depth;
      }
    }
  }
}

#endif /* TINYC_DEPTHWISE_CONV_H */
