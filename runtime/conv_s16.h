/* tinyc runtime: CONV_2D and DEPTHWISE_CONV_2D, 16x8: int16 activations, int8 weights.
 *
 * Computes what TFLM's reference_integer_ops::ConvPerChannel (the int16 overload, a template on
 * the accumulator type) and DepthwiseConvPerChannel (int16) compute, bit for bit, for NHWC input
 * and output, as TFLM's micro kernels (micro/kernels/conv.cc, depthwise_conv.cc) call them:
 *   acc = sum over the window's taps inside the input of x * w, plus bias[c],
 *   out = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c]))
 * TFLM's quirks, kept: the input and output zero points are not used (16-bit activations are
 * symmetric in TFLite), but the clamp bounds come from the activation range computed with the
 * output zero point (the compiler does that).
 *
 * Two accumulators, as in TFLM's CONV_2D: an int64 bias (or no bias with quantized_bias_type not
 * INT32) takes the int64 sum and the int64 MultiplyByQuantizedMultiplier (tinyc_requantize_s64);
 * an int32 bias (or none, with quantized_bias_type INT32) the int32 sum and the int32,
 * double-rounding one (tinyc_requantize), `int32_accumulator` = 1. The compiler widens every
 * bias to int64 (zeros when there is none) and proves for the int32 case that no sum leaves int32
 * (so the exact sum is TFLM's int32 sum), for the int64 case that |acc| < 2^47 (TFLM's
 * contract). The kernels always form the exact sum. DEPTHWISE_CONV_2D takes int64 only.
 *
 * Grouped CONV_2D (filter_depth = input_depth / groups): output channel c reads the input
 * channels of its group, c / group_channels, as TFLM's kernel does.
 *
 * No scratch: the part of each window inside the input is found once per output pixel
 * (tinyc_window_clip) and visited without bounds tests, the taps in the padding not at all.
 *
 * Sums of products. The conv sums them in int32 over segments of at most `block_depth` values,
 * which the compiler chooses so that no segment can leave int32 (every row of weights: usually
 * the whole window), and adds each segment to the int64 sum: exact, with 32-bit arithmetic in the
 * loops. On cores with the Arm DSP extension (Cortex-M4/M7/M33/M55, TINYC_DSP) those loops load
 * two int16 inputs as one word and multiply them with two int8 weights sign-extended into
 * halfwords by SXTB16, both products at once (SMLAD; in assembly when optimizing, so that gcc -Os
 * keeps every value in a register); TINYC_NO_DSP and -O0 take the portable loops.
 * SXTB16 extends bytes 0 and 2 (and, rotated, 1 and 3), so the compiler stores each tap's weights
 * in 4-value chunks ordered w0 w2 w1 w3 (compiler/ops/conv.py, pair_weight_chunks): one word
 * gives (w0, w1) and (w2, w3), to meet (x0, x1) and (x2, x3). The portable loops read the same
 * layout. The depthwise kernel takes four channels at a time, as the int8 one does
 * (runtime/depthwise_conv.h: same filter layout), with 16x16 multiply-accumulates into 32-bit sums
 * (SMLABB/SMLATB/SMLABT/SMLATT) where the compiler has proven from the weights that no sum of
 * products leaves int32 (`sums_fit_int32`; the bias is added in int64 afterwards); elsewhere it
 * takes the portable loops.
 *
 * Filter layouts. CONV_2D: TFLite's OHWI filter [output_depth][filter_height][filter_width]
 * [filter_depth], each tap's filter_depth values in chunks of 4 as above (the last
 * filter_depth % 4 as they are). DEPTHWISE_CONV_2D: as the int8 kernel's (channel blocks of 4 or
 * 1, tap by tap; channel c's block at c * filter_height * filter_width). */
#ifndef TINYC_CONV_S16_H
#define TINYC_CONV_S16_H

#include "conv_window.h"
#include "tinyc_dsp.h"

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
  int32_t block_depth; /* products summed in int32 at most (a multiple of 4; see below) */
  int32_t int32_accumulator; /* 1: TFLM's int32 accumulator and requantization (int32 bias) */
  int32_t activation_min;
  int32_t activation_max;
} tinyc_conv_s16_params;

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
  int32_t sums_fit_int32; /* 1: no channel's sum of products can leave int32 (compiler-proven) */
  int32_t activation_min;
  int32_t activation_max;
} tinyc_depthwise_conv_s16_params;

#ifdef TINYC_DSP
/* Two int16 values as one word (low halfword: p[0]); Cortex-M allows unaligned word loads. */
TINYC_INLINE int32_t tinyc_load2_s16(const int16_t *p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
#endif

/* ---------------------------------------------------------------- CONV_2D */

/* s[0] += x.w0, s[1] += x.w1 over `rows` runs of n values: run r starts at x + r * x_row and
 * at w0 + r * w_row, w1 + r * w_row; the weights of a run are in 4-value chunks w0 w2 w1 w3 from
 * its start. One output pixel, two output channels. The products are summed in int32 over
 * segments of at most `block` values (a multiple of 4), which the compiler has chosen so that no
 * segment's sum can leave int32 (|x * w| <= 2^22), then added to the int64 sums: exact, and
 * 32-bit multiply-accumulates (SMLAD) in the loop. */
TINYC_NOINLINE void tinyc_conv_dot_1x2_s16(const int16_t *x, int32_t x_row, const int8_t *w0,
                                           const int8_t *w1, int32_t w_row, int32_t n,
                                           int32_t rows, int32_t block, int64_t s[2]) {
  x_row -= n;
  w_row -= n;
  for (; rows > 0; --rows, x += x_row, w0 += w_row, w1 += w_row) {
    for (int32_t left = n; left > 0;) {
      int32_t j = left < block ? left : block;
      int32_t s0 = 0, s1 = 0;
      left -= j;
#if defined(TINYC_DSP) && defined(__OPTIMIZE__)
      /* Eight values per iteration, then four if left: per four, two words of inputs (x0, x1),
       * (x2, x3) and, per channel, one word of weights made into the halfword pairs (w0, w1)
       * and (w2, w3). In assembly, so that gcc -Os keeps every value in a register and the
       * pointers post-incremented. */
      int32_t i, a, b, v0, v1, t;
      __asm__ volatile(
          "lsrs %[i], %[j], #3\n\t"
          "beq 2f\n"
          "1:\n\t"
          "ldr %[a], [%[x]], #4\n\t"
          "ldr %[b], [%[x]], #4\n\t"
          "ldr %[v0], [%[w0]], #4\n\t"
          "ldr %[v1], [%[w1]], #4\n\t"
          "sxtb16 %[t], %[v0]\n\t"
          "sxtb16 %[v0], %[v0], ror #8\n\t"
          "smlad %[s0], %[a], %[t], %[s0]\n\t"
          "smlad %[s0], %[b], %[v0], %[s0]\n\t"
          "sxtb16 %[t], %[v1]\n\t"
          "sxtb16 %[v1], %[v1], ror #8\n\t"
          "smlad %[s1], %[a], %[t], %[s1]\n\t"
          "smlad %[s1], %[b], %[v1], %[s1]\n\t"
          "ldr %[a], [%[x]], #4\n\t"
          "ldr %[b], [%[x]], #4\n\t"
          "ldr %[v0], [%[w0]], #4\n\t"
          "ldr %[v1], [%[w1]], #4\n\t"
          "sxtb16 %[t], %[v0]\n\t"
          "sxtb16 %[v0], %[v0], ror #8\n\t"
          "smlad %[s0], %[a], %[t], %[s0]\n\t"
          "smlad %[s0], %[b], %[v0], %[s0]\n\t"
          "sxtb16 %[t], %[v1]\n\t"
          "sxtb16 %[v1], %[v1], ror #8\n\t"
          "smlad %[s1], %[a], %[t], %[s1]\n\t"
          "smlad %[s1], %[b], %[v1], %[s1]\n\t"
          "subs %[i], %[i], #1\n\t"
          "bne 1b\n"
          "2:\n\t"
          "tst %[j], #4\n\t"
          "beq 3f\n\t"
          "ldr %[a], [%[x]], #4\n\t"
          "ldr %[b], [%[x]], #4\n\t"
          "ldr %[v0], [%[w0]], #4\n\t"
          "ldr %[v1], [%[w1]], #4\n\t"
          "sxtb16 %[t], %[v0]\n\t"
          "sxtb16 %[v0], %[v0], ror #8\n\t"
          "smlad %[s0], %[a], %[t], %[s0]\n\t"
          "smlad %[s0], %[b], %[v0], %[s0]\n\t"
          "sxtb16 %[t], %[v1]\n\t"
          "sxtb16 %[v1], %[v1], ror #8\n\t"
          "smlad %[s1], %[a], %[t], %[s1]\n\t"
          "smlad %[s1], %[b], %[v1], %[s1]\n"
          "3:"
          : [s0] "+r"(s0), [s1] "+r"(s1), [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1),
            [i] "=&r"(i), [a] "=&r"(a), [b] "=&r"(b), [v0] "=&r"(v0), [v1] "=&r"(v1),
            [t] "=&r"(t)
          : [j] "r"(j)
          : "cc", "memory");
      j &= 3;
#else
      for (; j >= 4; j -= 4, x += 4, w0 += 4, w1 += 4) {
        const int32_t a = x[0], b = x[1], c = x[2], d = x[3];
        s0 += a * w0[0] + b * w0[2] + c * w0[1] + d * w0[3];
        s1 += a * w1[0] + b * w1[2] + c * w1[1] + d * w1[3];
      }
#endif
      for (; j > 0; --j) {
        const int32_t a = *x++;
        s0 += a * *w0++;
        s1 += a * *w1++;
      }
      s[0] += s0;
      s[1] += s1;
    }
  }
}

/* acc requantized to one output value: TFLM's int32 or int64 MultiplyByQuantizedMultiplier,
 * then the activation clamp (no output offset, as TFLM). */
TINYC_ALWAYS_INLINE int16_t tinyc_conv_output_s16(const tinyc_conv_s16_params *p, int64_t acc,
                                                  int32_t multiplier, int32_t shift) {
  const int32_t v = p->int32_accumulator ? tinyc_requantize((int32_t)acc, multiplier, shift)
                                         : tinyc_requantize_s64(acc, multiplier, shift);
  return tinyc_clamp_s16(v, p->activation_min, p->activation_max);
}

/* Every output channel of output pixel (oy, ox) of one image, two channels at a time. Out of
 * line, so that its loops keep their registers. */
TINYC_NOINLINE void tinyc_conv_pixel_s16(const tinyc_conv_s16_params *p, const int16_t *image,
                                         int32_t oy, int32_t ox, const int8_t *filter,
                                         const int64_t *bias, const int32_t *multiplier,
                                         const int8_t *shift, int16_t *out) {
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
  /* Input pixel of tap (fy0, fx0) (the image itself when no tap is inside), the steps between
   * filter rows and taps in the input, and the offset of tap (fy0, fx0) in a filter. */
  const int16_t *x = image;
  if (rows > 0)
    x += ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 + fx0 * p->dilation_width) *
         depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth;
  const int32_t x_tap = p->dilation_width * depth;
  const int32_t w_first = rows > 0 ? fy0 * w_row + fx0 * fd : 0;
  /* One group, dilation 1 and whole chunks per tap: a row's taps are one run in the input and
   * in the filter, whose chunks start where the taps' do. Else one run per tap. */
  const int32_t merged = fd == depth && p->dilation_width == 1 && fd % 4 == 0;
  for (int32_t c = 0; c < p->output_depth; c += 2) {
    const int32_t group = c / gc, end = (group + 1) * gc;
    /* a pair within the group; an odd group's last channel is computed twice */
    const int32_t c1 = c + 1 < end ? c + 1 : c;
    const int16_t *xg = x + group * fd;
    const int8_t *w0 = filter + c * k + w_first, *w1 = filter + c1 * k + w_first;
    int64_t s[2] = {0, 0};
    if (merged) {
      tinyc_conv_dot_1x2_s16(xg, x_row, w0, w1, w_row, cols * fd, rows, p->block_depth, s);
    } else {
      for (int32_t fx = 0; fx < cols; ++fx)
        tinyc_conv_dot_1x2_s16(xg + fx * x_tap, x_row, w0 + fx * fd, w1 + fx * fd, w_row, fd,
                               rows, p->block_depth, s);
    }
    out[c] = tinyc_conv_output_s16(p, s[0] + bias[c], multiplier[c], shift[c]);
    out[c1] = tinyc_conv_output_s16(p, s[1] + bias[c1], multiplier[c1], shift[c1]);
    if (c1 == c) c -= 1; /* next pair starts at the next group's first channel */
  }
}

/* Any filter size, stride, dilation, padding and group count; filter as described at the top. */
TINYC_INLINE void tinyc_conv_s16(const tinyc_conv_s16_params *p,
                                  const int16_t *TINYC_RESTRICT input,
                                  const int8_t *TINYC_RESTRICT filter, const int64_t *bias,
                                  const int32_t *multiplier, const int8_t *shift,
                                  int16_t *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        tinyc_conv_pixel_s16(p, image, oy, ox, filter, bias, multiplier, shift, output);
        output += p->output_depth;
      }
    }
  }
}

/* ---------------------------------------------------------------- DEPTHWISE_CONV_2D */

/* The taps of one output pixel's window inside the input: `rows` runs of `cols` taps. Within a
 * run, taps are x_tap values apart in the input and one tap apart in the weights; after a run, x
 * moves x_skip values further and the weights w_skip taps further. */
typedef struct {
  int32_t rows, cols, x_tap, x_skip, w_skip;
} tinyc_depthwise_taps_s16;

/* acc[i] = sum over the taps t of x[t][i] * w[t][i], i = 0..3: four output channels from four
 * input channels (depth multiplier 1); 4 weight bytes per tap. */
TINYC_NOINLINE void tinyc_depthwise_sum4_s16(const tinyc_depthwise_conv_s16_params *p,
                                             const tinyc_depthwise_taps_s16 *t, const int16_t *x,
                                             const int8_t *w, int64_t acc[4]) {
#ifdef TINYC_DSP
  if (p->sums_fit_int32) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int32_t cols = t->cols, x_tap = t->x_tap, x_skip = t->x_skip, w_skip = 4 * t->w_skip;
    for (int32_t row = t->rows; row > 0; --row, x += x_skip, w += w_skip) {
      for (int32_t k = cols; k > 0; --k, x += x_tap, w += 4) {
        const int32_t x01 = tinyc_load2_s16(x), x23 = tinyc_load2_s16(x + 2);
        const int32_t v = tinyc_load4(w);
        const int32_t even = __sxtb16(v), odd = tinyc_sxtb16_odd(v); /* (w0, w2), (w1, w3) */
        a0 = __smlabb(x01, even, a0);
        a1 = __smlatb(x01, odd, a1);
        a2 = __smlabt(x23, even, a2);
        a3 = __smlatt(x23, odd, a3);
      }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return;
  }
#endif
  (void)p;
  int64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t row = t->rows; row > 0; --row, x += t->x_skip, w += 4 * t->w_skip) {
    for (int32_t k = t->cols; k > 0; --k, x += t->x_tap, w += 4) {
      a0 += x[0] * w[0];
      a1 += x[1] * w[1];
      a2 += x[2] * w[2];
      a3 += x[3] * w[3];
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* acc[i] = sum over the taps t of x[t] * w[t][i], i = 0..3: four output channels from one input
 * channel (depth multiplier a multiple of 4); 4 weight bytes per tap. */
TINYC_NOINLINE void tinyc_depthwise_sum1x4_s16(const tinyc_depthwise_conv_s16_params *p,
                                               const tinyc_depthwise_taps_s16 *t,
                                               const int16_t *x, const int8_t *w,
                                               int64_t acc[4]) {
#ifdef TINYC_DSP
  if (p->sums_fit_int32) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int32_t cols = t->cols, x_tap = t->x_tap, x_skip = t->x_skip, w_skip = 4 * t->w_skip;
    for (int32_t row = t->rows; row > 0; --row, x += x_skip, w += w_skip) {
      for (int32_t k = cols; k > 0; --k, x += x_tap, w += 4) {
        const int32_t v = *x; /* its bottom halfword is what SMLABx reads */
        const int32_t weights = tinyc_load4(w);
        const int32_t even = __sxtb16(weights), odd = tinyc_sxtb16_odd(weights);
        a0 = __smlabb(v, even, a0);
        a1 = __smlabb(v, odd, a1);
        a2 = __smlabt(v, even, a2);
        a3 = __smlabt(v, odd, a3);
      }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return;
  }
#endif
  (void)p;
  int64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t row = t->rows; row > 0; --row, x += t->x_skip, w += 4 * t->w_skip) {
    for (int32_t k = t->cols; k > 0; --k, x += t->x_tap, w += 4) {
      const int32_t v = *x;
      a0 += v * w[0];
      a1 += v * w[1];
      a2 += v * w[2];
      a3 += v * w[3];
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* One output value: TFLM's int64 MultiplyByQuantizedMultiplier and the activation clamp. */
TINYC_ALWAYS_INLINE int16_t tinyc_depthwise_output_s16(const tinyc_depthwise_conv_s16_params *p,
                                                       int64_t acc, int32_t multiplier,
                                                       int32_t shift) {
  return tinyc_clamp_s16(tinyc_requantize_s64(acc, multiplier, shift), p->activation_min,
                         p->activation_max);
}

/* Every output channel of one output pixel: `t` the taps of its window inside the input, x the
 * input pixel under the first of them (channel 0), tap0 that tap's index in the filter. */
TINYC_NOINLINE void tinyc_depthwise_pixel_s16(const tinyc_depthwise_conv_s16_params *p,
                                              const tinyc_depthwise_taps_s16 *t,
                                              const int16_t *x, int32_t tap0,
                                              const int8_t *filter, const int64_t *bias,
                                              const int32_t *multiplier, const int8_t *shift,
                                              int16_t *out) {
  const int32_t channels = p->output_depth, m = p->depth_multiplier;
  const int32_t taps = p->filter_height * p->filter_width;
  /* the channels taken four at a time (the filter layout's blocks of 4) */
  const int32_t grouped = m == 1 || m % 4 == 0 ? channels & ~3 : 0;
  int32_t c = 0;
  for (; c < grouped; c += 4) {
    int64_t acc[4];
    const int8_t *w = filter + c * taps + 4 * tap0;
    if (m == 1)
      tinyc_depthwise_sum4_s16(p, t, x + c, w, acc);
    else
      tinyc_depthwise_sum1x4_s16(p, t, x + c / m, w, acc);
    for (int32_t i = 0; i < 4; ++i)
      out[c + i] = tinyc_depthwise_output_s16(p, acc[i] + bias[c + i], multiplier[c + i],
                                              shift[c + i]);
  }
  for (; c < channels; ++c) { /* one weight byte per tap */
    const int16_t *xc = x + c / m;
    const int8_t *w = filter + c * taps + tap0;
    int64_t acc = 0;
    for (int32_t row = t->rows; row > 0; --row, xc += t->x_skip, w += t->w_skip)
      for (int32_t k = t->cols; k > 0; --k, xc += t->x_tap, ++w) acc += *xc * *w;
    out[c] = tinyc_depthwise_output_s16(p, acc + bias[c], multiplier[c], shift[c]);
  }
}

/* Any filter size, stride, dilation, padding and depth multiplier. */
TINYC_INLINE void tinyc_depthwise_conv_s16(const tinyc_depthwise_conv_s16_params *p,
                                            const int16_t *TINYC_RESTRICT input,
                                            const int8_t *TINYC_RESTRICT filter,
                                            const int64_t *bias, const int32_t *multiplier,
                                            const int8_t *shift,
                                            int16_t *TINYC_RESTRICT output) {
#if defined(__GNUC__)
  /* As in runtime/depthwise_conv.h: keeps gcc from specializing the pixel function for small
   * shared constant arrays and flagging the four-channel loop, which never runs for them. */
  __asm__("" : "+r"(filter), "+r"(bias), "+r"(multiplier), "+r"(shift));
#endif
  const int32_t depth = p->input_depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth; /* between filter rows */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *image = input + b * p->input_height * p->input_width * depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_window_clip(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0, &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox, output += p->output_depth) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t fx0, fx1;
        tinyc_window_clip(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
        tinyc_depthwise_taps_s16 t = {0, 0, p->dilation_width * depth, 0, 0};
        const int16_t *x = image; /* not read when no tap is inside */
        int32_t tap0 = 0;
        if (fy1 > fy0 && fx1 > fx0) {
          t.rows = fy1 - fy0;
          t.cols = fx1 - fx0;
          t.x_skip = x_row - t.cols * t.x_tap;
          t.w_skip = p->filter_width - t.cols;
          x += ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 +
                fx0 * p->dilation_width) * depth;
          tap0 = fy0 * p->filter_width + fx0;
          if (p->filter_width == 1) { /* one filter column: its taps are one run down the rows */
            t.cols = t.rows;
            t.rows = 1;
            t.x_tap = x_row;
          }
        }
        tinyc_depthwise_pixel_s16(p, &t, x, tap0, filter, bias, multiplier, shift, output);
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_CONV_S16_H */
