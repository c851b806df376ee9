/* tinyc runtime: DEPTHWISE_CONV_2D, int8 activations and weights, int32 bias. (16x8 and float32:
 * runtime/conv_s16.h and runtime/conv_f32.h.)
 *
 * Computes what TFLM reference_integer_ops::DepthwiseConvPerChannel computes, bit for bit: NHWC
 * input, output channel c reads input channel c / depth_multiplier, and each output value is
 *     bias[c] + sum over the window's taps inside the input of (x - input_zero_point) * w
 * (TFLM's (x + input_offset) * w; it skips the taps that fall in the padding), requantized per
 * channel. `bias` is the layer's own (zeros when it has none): nothing is folded into it.
 *
 * No scratch memory: the part of a window inside the input is a rectangle of taps, rows
 * [fy0, fy1) x columns [fx0, fx1), found once per output pixel, and the loops run over it without
 * bounds tests. A window inside the input is the full filter; at the borders the rectangle is
 * clipped and the taps outside are simply not visited.
 *
 * Output channels go four at a time where the depth multiplier allows it (1: four input channels;
 * a multiple of 4: one input channel for four filters), the others one at a time. On cores with
 * the Arm DSP extension the four-channel loops use SXTAB16, which sign-extends two input bytes to
 * halfwords and adds -input_zero_point to both in one instruction (x - input_zero_point lies in
 * [-255, 255]), and 16x16 multiply-accumulates (SMLABB/SMLATT/SMLABT): the same integers as the
 * portable loops. Those loops are written in assembly, so that all twelve values of the tap loop
 * stay in registers (gcc -Os otherwise keeps some of them on the stack); unoptimized builds
 * (-O0, where register allocation does not matter) and TINYC_NO_DSP take the portable loops.
 *
 * Filter layout (compiler/ops/conv.py, depthwise_filter_blocks): TFLite's [1, H, W, C] filter
 * rearranged so that a pass over a window reads its weights in order: channels in blocks of 4
 * (the channels the kernel takes four at a time) or 1 (the others), each block tap by tap (4 or
 * 1 bytes per tap, taps in row-major order). The block of channel c starts at c * H * W. */
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
  int32_t input_zero_point;
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

/* The taps of one output pixel's window that lie inside the input: `rows` runs of `cols` taps.
 * Within a run, taps are x_tap bytes apart in the input and one tap apart in the weights; after
 * a run, x moves x_skip bytes further and the weights w_skip taps further. */
typedef struct {
  int32_t rows, cols, x_tap, x_skip, w_skip;
} tinyc_depthwise_taps;

/* acc[i] = bias[i] + sum over the taps t of (x[t][i] - zp) * w[t][i], i = 0..3: four output
 * channels from four input channels (depth multiplier 1); 4 weight bytes per tap. */
TINYC_NOINLINE void tinyc_depthwise_sum4_s8(const tinyc_depthwise_taps *t, const int8_t *x,
                                            const int8_t *w, int32_t zp, const int32_t *bias,
                                            int32_t acc[4]) {
  int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
#if defined(TINYC_DSP) && defined(__OPTIMIZE__)
  /* -zp in both halfwords, for SXTAB16. The row loop's values live in memory (stack slots). */
  const int32_t neg_zp = (int32_t)(((uint32_t)-zp & 0xffffu) * 0x10001u);
  const int32_t cols = t->cols, x_skip = t->x_skip, w_skip = 4 * t->w_skip;
  int32_t rows = cols > 0 ? t->rows : 0, k, t0, t1, t2;
  if (rows > 0)
    __asm__ volatile(
        "2:\n\t"
        "ldr %[k], %[cols]\n"
        "1:\n\t"
        "ldr %[t0], [%[x]]\n\t"
        "ldr %[t1], [%[w]], #4\n\t"
        "add %[x], %[x], %[x_tap]\n\t"
        "sxtab16 %[t2], %[neg_zp], %[t0]\n\t"          /* x0 - zp, x2 - zp */
        "sxtab16 %[t0], %[neg_zp], %[t0], ror #8\n\t"  /* x1 - zp, x3 - zp */
        "sxtb16 %[t1], %[t1]\n\t"                      /* w0, w2 */
        "smlabb %[a0], %[t2], %[t1], %[a0]\n\t"
        "smlatt %[a2], %[t2], %[t1], %[a2]\n\t"
        "ldr %[t1], [%[w], #-4]\n\t"                   /* again: no register is left */
        "sxtb16 %[t1], %[t1], ror #8\n\t"              /* w1, w3 */
        "smlabb %[a1], %[t0], %[t1], %[a1]\n\t"
        "smlatt %[a3], %[t0], %[t1], %[a3]\n\t"
        "subs %[k], %[k], #1\n\t"
        "bne 1b\n\t"
        "ldr %[t0], %[x_skip]\n\t"
        "add %[x], %[x], %[t0]\n\t"
        "ldr %[t0], %[w_skip]\n\t"
        "add %[w], %[w], %[t0]\n\t"
        "ldr %[t0], %[rows]\n\t"
        "subs %[t0], %[t0], #1\n\t"
        "str %[t0], %[rows]\n\t"
        "bne 2b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
          [rows] "+m"(rows), [k] "=&r"(k), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
        : [neg_zp] "r"(neg_zp), [x_tap] "r"(t->x_tap), [cols] "m"(cols), [x_skip] "m"(x_skip),
          [w_skip] "m"(w_skip)
        : "cc", "memory");
#else
  for (int32_t row = t->rows; row > 0; --row, x += t->x_skip, w += 4 * t->w_skip) {
    for (int32_t k = t->cols; k > 0; --k, x += t->x_tap, w += 4) {
      a0 += (x[0] - zp) * w[0];
      a1 += (x[1] - zp) * w[1];
      a2 += (x[2] - zp) * w[2];
      a3 += (x[3] - zp) * w[3];
    }
  }
#endif
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* acc[i] = bias[i] + sum over the taps t of (x[t] - zp) * w[t][i], i = 0..3: four output
 * channels from one input channel (depth multiplier a multiple of 4); 4 weight bytes per tap. */
TINYC_NOINLINE void tinyc_depthwise_sum1x4_s8(const tinyc_depthwise_taps *t, const int8_t *x,
                                              const int8_t *w, int32_t zp, const int32_t *bias,
                                              int32_t acc[4]) {
  int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
#if defined(TINYC_DSP) && defined(__OPTIMIZE__)
  const int32_t cols = t->cols, x_skip = t->x_skip, w_skip = 4 * t->w_skip;
  int32_t rows = cols > 0 ? t->rows : 0, k, t0, t1, t2;
  if (rows > 0)
    __asm__ volatile(
        "2:\n\t"
        "ldr %[k], %[cols]\n"
        "1:\n\t"
        "ldrsb %[t0], [%[x]]\n\t"
        "ldr %[t1], [%[w]], #4\n\t"
        "add %[x], %[x], %[x_tap]\n\t"
        "sub %[t0], %[t0], %[zp]\n\t"         /* x - zp: the bottom halfword is what is read */
        "sxtb16 %[t2], %[t1]\n\t"             /* w0, w2 */
        "sxtb16 %[t1], %[t1], ror #8\n\t"     /* w1, w3 */
        "smlabb %[a0], %[t0], %[t2], %[a0]\n\t"
        "smlabt %[a2], %[t0], %[t2], %[a2]\n\t"
        "smlabb %[a1], %[t0], %[t1], %[a1]\n\t"
        "smlabt %[a3], %[t0], %[t1], %[a3]\n\t"
        "subs %[k], %[k], #1\n\t"
        "bne 1b\n\t"
        "ldr %[t0], %[x_skip]\n\t"
        "add %[x], %[x], %[t0]\n\t"
        "ldr %[t0], %[w_skip]\n\t"
        "add %[w], %[w], %[t0]\n\t"
        "ldr %[t0], %[rows]\n\t"
        "subs %[t0], %[t0], #1\n\t"
        "str %[t0], %[rows]\n\t"
        "bne 2b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
          [rows] "+m"(rows), [k] "=&r"(k), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
        : [zp] "r"(zp), [x_tap] "r"(t->x_tap), [cols] "m"(cols), [x_skip] "m"(x_skip),
          [w_skip] "m"(w_skip)
        : "cc", "memory");
#else
  for (int32_t row = t->rows; row > 0; --row, x += t->x_skip, w += 4 * t->w_skip) {
    for (int32_t k = t->cols; k > 0; --k, x += t->x_tap, w += 4) {
      const int32_t v = *x - zp;
      a0 += v * w[0];
      a1 += v * w[1];
      a2 += v * w[2];
      a3 += v * w[3];
    }
  }
#endif
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* TFLM's MultiplyByQuantizedMultiplier (as tinyc_requantize). Its usual case, a right shift
 * e = -shift >= 1 with a multiplier in [2^30, 2^31) (the compiler's multipliers come from
 * QuantizeMultiplier, so a negative shift means such a multiplier), is tinyc_requantize's
 *     floor((x * multiplier + 2^30 - 2^31 [x < 0] + 2^(30+e)) / 2^(31+e))
 * taken in two steps: y = floor((x * multiplier + 2^30 - 2^31 [x < 0]) / 2^31), which fits in
 * int32, then floor((y + 2^(e-1)) / 2^e) = ((y >> (e - 1)) + 1) >> 1 (nested floors of divisions
 * by integers merge). The 2^30 - 2^31 [x < 0] term is a 64-bit word pair made from x's sign bit:
 * high word x >> 31 (0 or -1), low word 2^30 plus the sign bit. */
TINYC_ALWAYS_INLINE int32_t tinyc_depthwise_requantize(int32_t x, int32_t multiplier,
                                                       int32_t shift) {
  if (shift < 0) {
    const int64_t nudge = (int64_t)(x >> 31) * ((int64_t)1 << 32) +
                          (int64_t)(((uint32_t)x & 0x80000000u) | 0x40000000u);
    const int32_t y = (int32_t)((nudge + (int64_t)x * multiplier) >> 31);
    return ((y >> (-shift - 1)) + 1) >> 1;
  }
  return tinyc_requantize(x, multiplier, shift);
}

/* Four output channels: requantized, offset, clamped. Inline and unrolled, so that the
 * accumulators need not go through memory. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_output4(const tinyc_depthwise_conv_s8_params *p,
                                                 const int32_t acc[4], const int32_t *multiplier,
                                                 const int8_t *shift, int8_t *out) {
  const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
  out[0] = tinyc_clamp_s8(tinyc_depthwise_requantize(acc[0], multiplier[0], shift[0]) + offset,
                          lo, hi);
  out[1] = tinyc_clamp_s8(tinyc_depthwise_requantize(acc[1], multiplier[1], shift[1]) + offset,
                          lo, hi);
  out[2] = tinyc_clamp_s8(tinyc_depthwise_requantize(acc[2], multiplier[2], shift[2]) + offset,
                          lo, hi);
  out[3] = tinyc_clamp_s8(tinyc_depthwise_requantize(acc[3], multiplier[3], shift[3]) + offset,
                          lo, hi);
}

/* One output channel, out of line: for the channels taken one at a time. */
TINYC_NOINLINE void tinyc_depthwise_output1(const tinyc_depthwise_conv_s8_params *p, int32_t acc,
                                            int32_t multiplier, int32_t shift, int8_t *out) {
  const int32_t v = tinyc_depthwise_requantize(acc, multiplier, shift) + p->output_offset;
  *out = tinyc_clamp_s8(v, p->activation_min, p->activation_max);
}

/* Every output channel of one output pixel: `t` the taps of its window inside the input, x the
 * input pixel under the first of them (channel 0), tap0 that tap's index in the filter
 * (fy0 * filter_width + fx0). Out of line, so that its loops keep their registers. */
TINYC_NOINLINE void tinyc_depthwise_pixel_s8(const tinyc_depthwise_conv_s8_params *p,
                                             const tinyc_depthwise_taps *t, const int8_t *x,
                                             int32_t tap0, const int8_t *filter,
                                             const int32_t *bias, const int32_t *multiplier,
                                             const int8_t *shift, int8_t *out) {
  const int32_t channels = p->output_depth, m = p->depth_multiplier, zp = p->input_zero_point;
  const int32_t taps = p->filter_height * p->filter_width;
  /* the channels taken four at a time */
  const int32_t grouped = m == 1 || m % 4 == 0 ? channels & ~3 : 0;
  int32_t c = 0;
  for (; c < grouped; c += 4) {
    int32_t acc[4];
    const int8_t *w = filter + c * taps + 4 * tap0;
    if (m == 1)
      tinyc_depthwise_sum4_s8(t, x + c, w, zp, bias + c, acc);
    else
      tinyc_depthwise_sum1x4_s8(t, x + c / m, w, zp, bias + c, acc);
    tinyc_depthwise_output4(p, acc, multiplier + c, shift + c, out + c);
  }
  for (; c < channels; ++c) { /* one weight byte per tap */
    const int8_t *xc = x + c / m, *w = filter + c * taps + tap0;
    int32_t acc = bias[c];
    for (int32_t row = t->rows; row > 0; --row, xc += t->x_skip, w += t->w_skip)
      for (int32_t k = t->cols; k > 0; --k, xc += t->x_tap, ++w) acc += (*xc - zp) * *w;
    tinyc_depthwise_output1(p, acc, multiplier[c], shift[c], out + c);
  }
}

/* Any filter size, stride, dilation, padding and depth multiplier. */
static inline void tinyc_depthwise_conv_s8(const tinyc_depthwise_conv_s8_params *p,
                                           const int8_t *TINYC_RESTRICT input,
                                           const int8_t *TINYC_RESTRICT filter,
                                           const int32_t *bias, const int32_t *multiplier,
                                           const int8_t *shift, int8_t *TINYC_RESTRICT output) {
#if defined(__GNUC__)
  /* Where layers share constant arrays, gcc specializes the pixel function for them, and
   * -Warray-bounds (in -Wall) then flags the four-channel loop's reads for a layer of fewer than
   * 4 channels, a loop that never runs for it. An empty asm hides where the pointers come from. */
  __asm__("" : "+r"(filter), "+r"(bias), "+r"(multiplier), "+r"(shift));
#endif
  const int32_t depth = p->input_depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth; /* between filter rows */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * depth;
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
        tinyc_depthwise_taps t = {0, 0, p->dilation_width * depth, 0, 0};
        const int8_t *x = image; /* not read when no tap is inside */
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
        tinyc_depthwise_pixel_s8(p, &t, x, tap0, filter, bias, multiplier, shift, output);
      }
    }
  }
}

#endif /* TINYC_DEPTHWISE_CONV_H */
