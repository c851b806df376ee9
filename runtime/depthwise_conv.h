/* tinyc runtime: DEPTHWISE_CONV_2D, int8 activations and weights, int32 bias. (16x8 and float32:
 * runtime/conv_s16.h and runtime/conv_f32.h.)
 *
 * Computes what TFLM reference_integer_ops::DepthwiseConvPerChannel computes, bit for bit: NHWC
 * input, output channel c reads input channel c / depth_multiplier, and each output value is
 *     bias[c] + sum over the window's taps inside the input of (x - input_zero_point) * w
 * (TFLM's (x + input_offset) * w; it skips the taps that fall in the padding), requantized per
 * channel. `bias` is the layer's own (zeros when it has none; a channel whose weights are all
 * zero gets an equivalent constant, compiler/ops/conv.py fast_requantization): the compiler folds
 * nothing into it (the 3x3 kernels fold the input offset in at run time, per kind of window).
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
 * (-O0, where register allocation does not matter), clang and TINYC_NO_DSP take the portable
 * loops.
 *
 * Four-channel kernels (Arm DSP cores, gcc; depth multiplier 1, a multiple of 4 channels, the
 * compiler's fast requantization, see conv.h point 4): groups of 4 channels outside, pixels
 * inside. A 3x3 filter without dilation (tinyc_depthwise_3x3_*_s8) runs each output row's pixels
 * through tinyc_dw3x3_run_asm, one assembly loop from loads to stores: the windows inside the
 * input as one run, each border pixel alone, every window's taps straight-line code on plain x
 * with the input offset folded into the bias for exactly the taps it keeps (bias - zp * their
 * weights' sum: TFLM's integers), so padding costs nothing inside the loop. Other filters take
 * tinyc_depthwise_group4_body_s8 (the clipped-rectangle loops above, four channels at a time).
 *
 * Filter layout (compiler/ops/conv.py, depthwise_filter_blocks): TFLite's [1, H, W, C] filter
 * rearranged so that a pass over a window reads its weights in order: channels in blocks of 4
 * (the channels the kernel takes four at a time) or 1 (the others), each block tap by tap (4 or
 * 1 bytes per tap, taps in row-major order). The block of channel c starts at c * H * W. */
#ifndef TINYC_DEPTHWISE_CONV_H
#define TINYC_DEPTHWISE_CONV_H

#include "tinyc_dsp.h"

TINYC_NAMESPACE_BEGIN

/* The depthwise assembly needs 11 registers around its statements, which gcc finds at every
 * optimization level that defines __OPTIMIZE__ (with a frame pointer too); clang does not (nor
 * did it for the tap loops before these kernels): it takes the portable loops, the same sums. */
#if defined(TINYC_DSP) && defined(__OPTIMIZE__) && !defined(__clang__)
#define TINYC_DW_ASM 1
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
  int32_t input_zero_point;
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
  int32_t requant_fast; /* 1: the compiler proved tinyc_rq_apply exact here (tinyc_dsp.h) */
  int32_t row_block;    /* the four-channel Arm kernels: output rows per pass, 0 = all */
} tinyc_depthwise_conv_s8_params;

/* The filter taps f in [*first, *last) whose input coordinate origin + f * dilation lies in
 * [0, size). */
TINYC_INLINE void tinyc_depthwise_window(int32_t origin, int32_t dilation, int32_t filter,
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

/* The portable (non-Arm) path on Xtensa, little-endian, gcc: the four-channel sum of depth
 * multiplier 1 from 32-bit words, where x, w and the steps between taps are 4-byte aligned (checked
 * at run time, once a call; otherwise the byte loops below). Each tap loads the 4 input bytes and
 * the 4 weights as one word each; x - zp comes from X ^ 0x80808080 (each byte + 128, now
 * unsigned: one instruction for all four) as byte - (128 + zp); the weights come out of W with one
 * instruction each: w3 = W >> 24 and w2 = (W << 8) >> 24 (arithmetic), and for w0 and w1 the
 * 16-bit multiply (MUL16S on Xtensa, which reads the low halfwords as signed) takes W << 8 and
 * W & 0xff00, whose low halfwords are 256 w0 and 256 w1 exactly. Channels 0 and 1 thus sum
 * 256 (x - zp) w, at most 255 * 128 * 256 < 2^23 a tap, exact in int32 up to 256 taps (checked;
 * more taps take the byte loops), and their sums are divided by 256 exactly (multiples of 256).
 * The same integers as the byte loops. Order of reads: the same taps, before any store.
 * Xtensa only: it has no sign-extending byte load (each byte costs a load and two shifts) and
 * has MUL16S. Cores with one (x86, RISC-V, Armv6-M) run the byte loops in fewer instructions
 * (measured on x86-64 with callgrind). Defining TINYC_DW_WORDS takes these loops on any other
 * little-endian gcc or clang target (the tests do, on the host). */
#if !defined(TINYC_DW_ASM) && !defined(TINYC_DW_WORDS) && defined(__XTENSA__) && \
    defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TINYC_DW_WORDS 1
#endif
#if defined(TINYC_DW_WORDS) && !defined(TINYC_DW_ASM)
TINYC_ALWAYS_INLINE uint32_t tinyc_dw_word(const int8_t *p) {
  uint32_t v;
  __builtin_memcpy(&v, __builtin_assume_aligned(p, 4), 4);
  return v;
}

/* The low halfwords of a and b as signed 16-bit values, multiplied (gcc and clang convert to a
 * narrower signed type modulo 2^16). */
TINYC_ALWAYS_INLINE int32_t tinyc_dw_mul16(uint32_t a, uint32_t b) {
  return (int32_t)(int16_t)a * (int32_t)(int16_t)b;
}

TINYC_ALWAYS_INLINE int32_t tinyc_dw_words_ok(const tinyc_depthwise_taps *t, const int8_t *x,
                                              const int8_t *w) {
  return ((((uintptr_t)x | (uintptr_t)w) | (uint32_t)(t->x_tap | t->x_skip)) & 3u) == 0 &&
         t->rows * t->cols <= 256;
}

/* One tap of four channels: s0, s1 (256 times the sums) and s2, s3 += (x - zp) * w, with
 * k = 128 + zp. Where k is the constant 0, the empty asm hides that the bytes lie in [0, 255],
 * so that gcc keeps the 16-bit multiply instead of sign-extending the weight's halfword. */
TINYC_ALWAYS_INLINE void tinyc_dw_tap_words(const int8_t *x, const int8_t *w, int32_t k,
                                            uint32_t mask, int32_t *s0, int32_t *s1,
                                            int32_t *s2, int32_t *s3) {
  const uint32_t xv = tinyc_dw_word(x) ^ 0x80808080u, wv = tinyc_dw_word(w);
  const uint32_t w8 = wv << 8;
  uint32_t v0 = (xv & 0xffu) - (uint32_t)k, v1 = ((xv >> 8) & 0xffu) - (uint32_t)k;
  __asm__("" : "+r"(v0), "+r"(v1));
  *s0 += tinyc_dw_mul16(v0, w8);
  *s1 += tinyc_dw_mul16(v1, wv & mask);
  *s2 += ((int32_t)((xv >> 16) & 0xffu) - k) * ((int32_t)w8 >> 24);
  *s3 += ((int32_t)(xv >> 24) - k) * ((int32_t)wv >> 24);
  /* one tap at a time: gcc would otherwise load a whole row's words first and spill */
  __asm__ volatile("" : "+r"(*s0), "+r"(*s1), "+r"(*s2), "+r"(*s3) : : "memory");
}

/* k = 128 + zp, a constant where the caller passes one (0 for zp = -128). Rows of 3 or 2 taps
 * (the 3x3 filters' windows inside the input and at its borders) straight-line, others a loop. */
TINYC_ALWAYS_INLINE void tinyc_dw_sum4_words(const tinyc_depthwise_taps *t, const int8_t *x,
                                             const int8_t *w, int32_t k, int32_t *s0,
                                             int32_t *s1, int32_t *s2, int32_t *s3) {
  int32_t a0 = 0, a1 = 0, a2 = *s2, a3 = *s3;
  const int32_t x_tap = t->x_tap, x_skip = t->x_skip, cols = t->cols;
  const int32_t w_row = 4 * (cols + t->w_skip);
  uint32_t mask = 0xff00u;
  int32_t row = t->rows;
  if (cols == 3) {
    const int32_t x_row = x_skip + 3 * x_tap;
    for (; row > 0; --row, x += x_row, w += w_row) {
      tinyc_dw_tap_words(x, w, k, mask, &a0, &a1, &a2, &a3);
      tinyc_dw_tap_words(x + x_tap, w + 4, k, mask, &a0, &a1, &a2, &a3);
      tinyc_dw_tap_words(x + 2 * x_tap, w + 8, k, mask, &a0, &a1, &a2, &a3);
    }
  } else if (cols == 2) {
    const int32_t x_row = x_skip + 2 * x_tap;
    for (; row > 0; --row, x += x_row, w += w_row) {
      tinyc_dw_tap_words(x, w, k, mask, &a0, &a1, &a2, &a3);
      tinyc_dw_tap_words(x + x_tap, w + 4, k, mask, &a0, &a1, &a2, &a3);
    }
  } else {
    for (; row > 0; --row, x += x_skip, w += w_row - 4 * cols)
      for (int32_t j = cols; j > 0; --j, x += x_tap, w += 4)
        tinyc_dw_tap_words(x, w, k, mask, &a0, &a1, &a2, &a3);
  }
  *s0 += a0 >> 8;
  *s1 += a1 >> 8;
  *s2 = a2;
  *s3 = a3;
}
#endif

/* acc[i] = bias[i] + sum over the taps t of (x[t][i] - zp) * w[t][i], i = 0..3: four output
 * channels from four input channels (depth multiplier 1); 4 weight bytes per tap. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__XTENSA__)
/* as conv.h's tinyc_conv_dot_2x2_s8: gcc -O2 for Xtensa spills after scheduling loads early */
__attribute__((optimize("no-schedule-insns")))
#endif
TINYC_NOINLINE void tinyc_depthwise_sum4_s8(const tinyc_depthwise_taps *t, const int8_t *x,
                                            const int8_t *w, int32_t zp, const int32_t *bias,
                                            int32_t acc[4]) {
  int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
#ifdef TINYC_DW_ASM
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
#ifdef TINYC_DW_WORDS
  if (tinyc_dw_words_ok(t, x, w)) {
    if (zp == -128) /* the usual zero point after a ReLU: x - zp is the byte plus 128 */
      tinyc_dw_sum4_words(t, x, w, 0, &a0, &a1, &a2, &a3);
    else
      tinyc_dw_sum4_words(t, x, w, 128 + zp, &a0, &a1, &a2, &a3);
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return;
  }
#endif
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
#ifdef TINYC_DW_ASM
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
#ifndef TINYC_SINGLE_ROUNDING /* single rounding: tinyc_requantize is one SMLAL already */
  if (shift < 0) {
    const int64_t nudge = (int64_t)(x >> 31) * ((int64_t)1 << 32) +
                          (int64_t)(((uint32_t)x & 0x80000000u) | 0x40000000u);
    const int32_t y = (int32_t)((nudge + (int64_t)x * multiplier) >> 31);
    return ((y >> (-shift - 1)) + 1) >> 1;
  }
#endif
  return tinyc_requantize(x, multiplier, shift);
}

/* Four output channels: requantized, offset, clamped. Inline and unrolled, so that the
 * accumulators need not go through memory. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_output4(const tinyc_depthwise_conv_s8_params *p,
                                                 const int32_t acc[4], const int32_t *multiplier,
                                                 const int8_t *shift, int8_t *out) {
  const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
#ifdef TINYC_MUL64_SLOW
  if (p->requant_fast) { /* no 64-bit product (a library call on these cores) */
    for (int32_t j = 0; j < 4; ++j)
      out[j] = tinyc_clamp_s8(
          tinyc_rq_apply(acc[j], tinyc_rq_make(multiplier[j], shift[j])) + offset, lo, hi);
    return;
  }
#endif
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
#ifdef TINYC_MUL64_SLOW
  if (p->requant_fast) { /* no 64-bit product (a library call on these cores) */
    const int32_t v = tinyc_rq_apply(acc, tinyc_rq_make(multiplier, shift)) + p->output_offset;
    *out = tinyc_clamp_s8(v, p->activation_min, p->activation_max);
    return;
  }
#endif
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

#ifdef TINYC_DW_ASM
/* ------------------------------------------------ four channels, depth multiplier 1, Arm DSP */

/* One tap of four channels, in assembly: t0 = the input pixel's 4 bytes, t1 = the tap's 4
 * weights. SXTAB16 takes x - zp of bytes 0 and 2 (1 and 3 with the rotation) as two halfwords;
 * SXTB16 splits the weights likewise; SMLABB/SMLATT multiply-accumulate the halves. Three
 * temporaries: the weights are loaded again for their second pair, which keeps the whole loop
 * in 11 registers (gcc must find them with a frame pointer, at -Og too). */
#define TINYC_DW_TAP4                              \
  "ldr %[t0], [%[x]]\n\t"                          \
  "ldr %[t1], [%[w]], #4\n\t"                      \
  "sxtab16 %[t2], %[neg_zp], %[t0]\n\t"            \
  "sxtab16 %[t0], %[neg_zp], %[t0], ror #8\n\t"    \
  "sxtb16 %[t1], %[t1]\n\t"                        \
  "smlabb %[a0], %[t2], %[t1], %[a0]\n\t"          \
  "smlatt %[a2], %[t2], %[t1], %[a2]\n\t"          \
  "ldr %[t1], [%[w], #-4]\n\t"                     \
  "sxtb16 %[t1], %[t1], ror #8\n\t"                \
  "smlabb %[a1], %[t0], %[t1], %[a1]\n\t"          \
  "smlatt %[a3], %[t0], %[t1], %[a3]\n\t"
/* The same for sums whose bias has the input offset folded in (x, not x - zp: no zp register,
 * so four temporaries fit in the same 11). */
#define TINYC_DW_TAP4_RAW                          \
  "ldr %[t0], [%[x]]\n\t"                          \
  "ldr %[t1], [%[w]], #4\n\t"                      \
  "sxtb16 %[t2], %[t0]\n\t"                        \
  "sxtb16 %[t0], %[t0], ror #8\n\t"                \
  "sxtb16 %[t3], %[t1]\n\t"                        \
  "sxtb16 %[t1], %[t1], ror #8\n\t"                \
  "smlabb %[a0], %[t2], %[t3], %[a0]\n\t"          \
  "smlatt %[a2], %[t2], %[t3], %[a2]\n\t"          \
  "smlabb %[a1], %[t0], %[t1], %[a1]\n\t"          \
  "smlatt %[a3], %[t0], %[t1], %[a3]\n\t"
#define TINYC_DW_NEXT_TAP "add %[x], %[x], %[x_tap]\n\t"
/* After a row's last tap: x_next (in memory: one register fewer) to the next row's first. */
#define TINYC_DW_NEXT_ROW_M "ldr %[t1], %[x_next]\n\tadd %[x], %[x], %[t1]\n\t"

/* acc[i] += sum of x[t][i] * w[t][i] over 1 to 3 rows of 3 taps, i = 0..3: straight-line code,
 * entered at the row that leaves `rows` rows to go. The caller's acc holds the bias with the
 * input offset folded in for exactly these taps: bias - zp * (their weights' sum). x: the input
 * under the first tap (channel c); w: its 4 weights; rows x_row bytes apart, taps x_tap. */
TINYC_ALWAYS_INLINE void tinyc_dw_rows3_raw(int32_t rows, const int8_t *x, int32_t x_tap,
                                            int32_t x_row, const int8_t *w, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], t0 = rows, t1, t2, t3;
  const int32_t x_next = x_row - 2 * x_tap;
  __asm__ volatile("cmp %[t0], #2\n\t"
                   "blt 3f\n\t"
                   "beq 2f\n\t"
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
                   "2:\n\t"
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
                   "3:\n\t"
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP
                   TINYC_DW_TAP4_RAW
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
                     [w] "+r"(w), [t0] "+r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
                   : [x_tap] "r"(x_tap), [x_next] "m"(x_next)
                   : "cc", "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* tinyc_dw_rows3_raw for rows of 2 taps of a 3-wide filter (a window clipped at the left or
 * right border): after each row, w skips the third tap's weights. */
TINYC_ALWAYS_INLINE void tinyc_dw_rows2_raw(int32_t rows, const int8_t *x, int32_t x_tap,
                                            int32_t x_row, const int8_t *w, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], t0 = rows, t1, t2, t3;
  const int32_t x_next = x_row - x_tap;
  __asm__ volatile("cmp %[t0], #2\n\t"
                   "blt 3f\n\t"
                   "beq 2f\n\t"
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
                   "adds %[w], %[w], #4\n\t"
                   "2:\n\t"
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
                   "adds %[w], %[w], #4\n\t"
                   "3:\n\t"
                   TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
                     [w] "+r"(w), [t0] "+r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
                   : [x_tap] "r"(x_tap), [x_next] "m"(x_next)
                   : "cc", "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* acc[i] += sum over the taps t of (x[t][i] - zp) * w[t][i], i = 0..3, over a window of
 * t->rows rows of t->cols taps (1 to 3), taps as in tinyc_depthwise_taps: row by row, a row's
 * taps by a jump into an unrolled row; after a row, w skips the weights of the taps clipped
 * off it. The borders of 3-wide filters. neg_zp: -zp in both halfwords. */
TINYC_ALWAYS_INLINE void tinyc_dw_rows_s8(const tinyc_depthwise_taps *t, const int8_t *x,
                                          const int8_t *w, int32_t neg_zp, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], t0, t1, t2;
  int32_t rows = t->rows;
  const int32_t x_tap = t->x_tap, x_next = t->x_skip + x_tap, cols = t->cols;
  const int32_t w_skip = 4 * t->w_skip;
  if (rows > 0 && cols > 0)
    __asm__ volatile(
        "2:\n\t"
        "ldr %[t0], %[cols]\n\t"
        "cmp %[t0], #2\n\t"
        "blt 5f\n\t"
        "beq 4f\n\t"
        TINYC_DW_TAP4 TINYC_DW_NEXT_TAP
        "4:\n\t" TINYC_DW_TAP4 TINYC_DW_NEXT_TAP
        "5:\n\t" TINYC_DW_TAP4 TINYC_DW_NEXT_ROW_M
        "ldr %[t0], %[w_skip]\n\t"
        "add %[w], %[w], %[t0]\n\t"
        "ldr %[t0], %[rows]\n\t"
        "subs %[t0], %[t0], #1\n\t"
        "str %[t0], %[rows]\n\t"
        "bne 2b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
          [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [rows] "+m"(rows)
        : [neg_zp] "r"(neg_zp), [x_tap] "r"(x_tap), [x_next] "m"(x_next), [cols] "m"(cols),
          [w_skip] "m"(w_skip)
        : "cc", "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* tinyc_depthwise_window without its divisions when the dilation is 1. */
TINYC_ALWAYS_INLINE void tinyc_dw_clip(int32_t origin, int32_t dilation, int32_t filter,
                                       int32_t size, int32_t *first, int32_t *last) {
  if (dilation != 1) {
    tinyc_depthwise_window(origin, dilation, filter, size, first, last);
    return;
  }
  const int32_t lo = origin < 0 ? -origin : 0;
  int32_t hi = size - origin < filter ? size - origin : filter;
  *first = lo;
  *last = hi < lo ? lo : hi;
}

/* `ctl[22]` output pixels of one output row, four channels, 3x3 filter without dilation, in
 * assembly from the first load to the last store (gcc -Os would keep the loop's values on the
 * stack). Each pixel's window keeps the same ctl[24] rows (1 to 3) and ctl[26] columns (3 for
 * a run of pixels inside the input horizontally, 2 for a border pixel): its sums start at
 * the four int32 at ctl[18], the bias with the input offset folded in for exactly those taps (bias - zp * their
 * weights' sum, so the taps multiply plain x: TFLM's integers, as in conv.h), run straight-line
 * code entered at the row that leaves ctl[24] rows to go (the weights of clipped columns
 * skipped), are requantized by tinyc_rq_apply (mode TINYC_RQ_FAST: SSAT is the clamp) and
 * stored as one word; then x moves ctl[19] and the output ctl[20] bytes on.
 * ctl: 4-7 m2, 8-11 round, 12-15 shift (tinyc_rq), 16 output offset, 17 x_tap (input depth),
 * 18 the folded bias, 19 x step, 20 output step, 21 out, 22 count, 23 the weights of the first tap
 * kept, 24 rows kept, 25 scratch, 26 columns kept. x_next: from a row's last tap kept to the
 * next row's first. 11 registers, so that gcc finds them with a frame pointer, at -Og too. */
TINYC_NOINLINE void tinyc_dw3x3_run_asm(const int8_t *x, int32_t *ctl, int32_t x_next) {
  int32_t a0, a1, a2, a3, t0, t1, t2, t3, x_tap;
  const int8_t *w;
  int32_t *saved = ctl;
  __asm__ volatile(
      "0:\n\t"
      "ldr %[t0], %[saved]\n\t"
      "ldr %[t1], [%[t0], #72]\n\t"
      "ldr %[w], [%[t0], #92]\n\t"
      "ldrd %[a0], %[a1], [%[t1], #0]\n\t"
      "ldrd %[a2], %[a3], [%[t1], #8]\n\t"
      "ldr %[x_tap], [%[t0], #68]\n\t"
      "str %[x], [%[t0], #100]\n\t"
      "ldr %[t1], [%[t0], #104]\n\t"
      "ldr %[t0], [%[t0], #96]\n\t"
      "cmp %[t1], #2\n\t"
      "beq 20f\n\t"
      /* three columns */
      "cmp %[t0], #2\n\t"
      "blt 3f\n\t"
      "beq 2f\n\t"
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
      "2:\n\t"
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
      "3:\n\t"
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP
      TINYC_DW_TAP4_RAW
      "b 4f\n"
      /* two columns (one clipped: its weights skipped after each row) */
      "20:\n\t"
      "cmp %[t0], #2\n\t"
      "blt 23f\n\t"
      "beq 22f\n\t"
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
      "adds %[w], %[w], #4\n"
      "22:\n\t"
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW TINYC_DW_NEXT_ROW_M
      "adds %[w], %[w], #4\n"
      "23:\n\t"
      TINYC_DW_TAP4_RAW TINYC_DW_NEXT_TAP TINYC_DW_TAP4_RAW
      "4:\n\t"
      /* requantize (TINYC_RQ_ASM, tinyc_dsp.h), + offset, saturate */
      "ldr %[t3], %[saved]\n\t"
      "ldr %[x_tap], [%[t3], #64]\n\t"
#define TINYC_DW_RQ(A, J)                                   \
      "ldr %[t0], [%[t3], #" #J "*4+16]\n\t"                \
      "ldr %[t1], [%[t3], #" #J "*4+32]\n\t"                \
      "ldr %[t2], [%[t3], #" #J "*4+48]\n\t"                \
      TINYC_RQ_ASM(#A, "w", "t0", "t1", "t2")               \
      "add %[w], %[w], %[x_tap]\n\t"                        \
      "ssat %[" #A "], #8, %[w]\n\t"
      TINYC_DW_RQ(a0, 0) TINYC_DW_RQ(a1, 1) TINYC_DW_RQ(a2, 2) TINYC_DW_RQ(a3, 3)
#undef TINYC_DW_RQ
      /* the four bytes as one word; step */
      "and %[a0], %[a0], #255\n\t"
      "bfi %[a0], %[a1], #8, #8\n\t"
      "bfi %[a0], %[a2], #16, #8\n\t"
      "bfi %[a0], %[a3], #24, #8\n\t"
      "ldr %[t0], [%[t3], #84]\n\t"
      "ldr %[t1], [%[t3], #80]\n\t"
      "str %[a0], [%[t0]]\n\t"
      "add %[t0], %[t0], %[t1]\n\t"
      "ldr %[x], [%[t3], #100]\n\t"
      "ldr %[t1], [%[t3], #76]\n\t"
      "str %[t0], [%[t3], #84]\n\t"
      "add %[x], %[x], %[t1]\n\t"
      "ldr %[t0], [%[t3], #88]\n\t"
      "subs %[t0], %[t0], #1\n\t"
      "str %[t0], [%[t3], #88]\n\t"
      "bne 0b"
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "+r"(x),
        [w] "=&r"(w), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
        [x_tap] "=&r"(x_tap)
      : [saved] "m"(saved), [x_next] "m"(x_next)
      : "cc", "memory");
}

/* tinyc_depthwise_3x3_body_s8 in mode TINYC_RQ_FAST: every pixel through tinyc_dw3x3_run_asm,
 * the columns inside the input as one run per output row, each border pixel alone. The folded
 * biases of the row's three kinds of window (all columns, the left one clipped, the right one
 * clipped) are set up when the rows a window keeps change, not per pixel. The input is at least
 * 2 wide (tinyc_depthwise_conv_s8 sends narrower ones elsewhere), so a window keeps 2 or 3
 * columns. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_3x3_fast_s8(const tinyc_depthwise_conv_s8_params *p,
                                                     const int8_t *input, const int8_t *filter,
                                                     const int32_t *bias,
                                                     const int32_t *multiplier,
                                                     const int8_t *shift, int8_t *output,
                                                     int32_t oy_begin, int32_t oy_end) {
  const int32_t depth = p->input_depth, width = p->input_width, channels = p->output_depth;
  const int32_t sw = p->stride_width, pw = p->pad_width, ow = p->output_width;
  const int32_t x_row = width * depth, zp = p->input_zero_point;
  int32_t ctl[27], folds[12], kept0 = -1, kept1 = -1;
  for (int32_t j = 0; j < 4; ++j) {
    const tinyc_rq r = tinyc_rq_make(multiplier[j], shift[j]);
    ctl[4 + j] = r.mul;
    ctl[8 + j] = r.round;
    ctl[12 + j] = r.shift;
  }
  ctl[16] = p->output_offset;
  ctl[17] = depth;
  ctl[19] = sw * depth;
  ctl[20] = channels;
  /* the output columns whose window is inside the input horizontally:
   * ox * sw - pw >= 0 and ox * sw - pw + 2 < width */
  const int32_t ox_lo = (pw + sw - 1) / sw;
  int32_t ox_hi = width - 3 + pw >= 0 ? (width - 3 + pw) / sw + 1 : 0;
  if (ox_hi > ow) ox_hi = ow;
  {
    const int8_t *image = input;
    output += oy_begin * ow * channels;
    for (int32_t oy = oy_begin; oy < oy_end; ++oy, output += ow * channels) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_dw_clip(iy0, 1, 3, p->input_height, &fy0, &fy1);
      const int8_t *row = image + (iy0 + fy0) * x_row; /* first row inside */
      ctl[24] = fy1 - fy0;
      if (fy0 != kept0 || fy1 != kept1) { /* other rows kept than the row before's */
        kept0 = fy0;
        kept1 = fy1;
        for (int32_t j = 0; j < 4; ++j) {
          int32_t first = 0, middle = 0, last = 0; /* the columns' sums over the rows kept */
          for (const int8_t *w = filter + 12 * fy0 + j; w < filter + 12 * fy1 + j; w += 12) {
            first += w[0];
            middle += w[4];
            last += w[8];
          }
          folds[j] = bias[j] - zp * (first + middle + last);
          folds[4 + j] = bias[j] - zp * (middle + last);
          folds[8 + j] = bias[j] - zp * (first + middle);
        }
      }
      for (int32_t ox = 0; ox < ow;) {
        const int32_t ix0 = ox * sw - pw;
        int32_t fx0 = 0, fx1 = 3, count = ox_hi - ox;
        const int32_t *fold = folds;
        if (ox < ox_lo || ox >= ox_hi) { /* a border pixel */
          tinyc_dw_clip(ix0, 1, 3, width, &fx0, &fx1);
          count = 1;
          fold = folds + (fx0 ? 4 : 8); /* 2 columns: the input is at least 2 wide */
        }
        ctl[18] = (int32_t)(intptr_t)fold;
        ctl[21] = (int32_t)(intptr_t)(output + ox * channels);
        ctl[22] = count;
        ctl[23] = (int32_t)(intptr_t)(filter + 12 * fy0 + 4 * fx0);
        ctl[26] = fx1 - fx0;
        tinyc_dw3x3_run_asm(row + (ix0 + fx0) * depth, ctl, x_row - (fx1 - fx0 - 1) * depth);
        ox += count;
      }
    }
  }
}


/* Channels c..c+3 (depth multiplier 1) of every output pixel, for the layers the compiler proved
 * tinyc_rq_apply for (mode TINYC_RQ_FAST or TINYC_RQ_CLAMP, a constant), any filter (3x3 without
 * dilation has its own body below). Channels outside, pixels inside: the four channels' bias and
 * requantization constants are set up once per layer. Windows at most 3 taps wide go through
 * tinyc_dw_rows_s8, wider ones through tinyc_depthwise_sum4_s8. input, filter, bias,
 * multiplier, shift and output point at channel c's. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_group4_body_s8(const tinyc_depthwise_conv_s8_params *p,
                                                        const int8_t *input,
                                                        const int8_t *filter,
                                                        const int32_t *bias,
                                                        const int32_t *multiplier,
                                                        const int8_t *shift, int8_t *output,
                                                        int32_t oy_begin, int32_t oy_end,
                                                        const int32_t mode) {
  const int32_t depth = p->input_depth, fh = p->filter_height, fw = p->filter_width;
  const int32_t width = p->input_width, channels = p->output_depth;
  const int32_t dh = p->dilation_height, dw = p->dilation_width;
  const int32_t x_row = dh * width * depth, x_tap = dw * depth;
  const int32_t zp = p->input_zero_point;
  const int32_t neg_zp = (int32_t)(((uint32_t)-zp & 0xffffu) * 0x10001u);
  const int32_t offset = p->output_offset;
  const int32_t lo = p->activation_min, hi = p->activation_max, clamp = mode == TINYC_RQ_CLAMP;
  const int32_t narrow = fw <= 3 && (fw > 1 || fh <= 3);
  const int32_t b0 = bias[0], b1 = bias[1], b2 = bias[2], b3 = bias[3];
  tinyc_rq r[4];
  for (int32_t j = 0; j < 4; ++j) r[j] = tinyc_rq_make(multiplier[j], shift[j]);
  {
    const int8_t *image = input;
    output += oy_begin * p->output_width * channels;
    for (int32_t oy = oy_begin; oy < oy_end; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_dw_clip(iy0, dh, fh, p->input_height, &fy0, &fy1);
      const int8_t *row = image + (iy0 + fy0 * dh) * width * depth; /* first row inside */
      for (int32_t ox = 0; ox < p->output_width; ++ox, output += channels) {
        const int32_t ix0 = ox * p->stride_width - p->pad_width;
        int32_t acc[4] = {b0, b1, b2, b3};
        {
          int32_t fx0, fx1;
          tinyc_dw_clip(ix0, dw, fw, width, &fx0, &fx1);
          tinyc_depthwise_taps t = {0, 0, x_tap, 0, 0};
          const int8_t *x = image;
          int32_t tap0 = 0;
          if (fy1 > fy0 && fx1 > fx0) {
            t.rows = fy1 - fy0;
            t.cols = fx1 - fx0;
            t.x_skip = x_row - t.cols * x_tap;
            t.w_skip = fw - t.cols;
            x = row + (ix0 + fx0 * dw) * depth;
            tap0 = fy0 * fw + fx0;
            if (fw == 1) { /* one filter column: its taps are one run down the rows */
              t.cols = t.rows;
              t.rows = 1;
              t.x_tap = x_row;
            }
          }
          if (narrow)
            tinyc_dw_rows_s8(&t, x, filter + 4 * tap0, neg_zp, acc);
          else
            tinyc_depthwise_sum4_s8(&t, x, filter + 4 * tap0, zp, acc, acc);
        }
        output[0] = tinyc_rq_out_s8(tinyc_rq_apply(acc[0], r[0]) + offset, lo, hi, clamp);
        output[1] = tinyc_rq_out_s8(tinyc_rq_apply(acc[1], r[1]) + offset, lo, hi, clamp);
        output[2] = tinyc_rq_out_s8(tinyc_rq_apply(acc[2], r[2]) + offset, lo, hi, clamp);
        output[3] = tinyc_rq_out_s8(tinyc_rq_apply(acc[3], r[3]) + offset, lo, hi, clamp);
      }
    }
  }
}

/* tinyc_depthwise_group4_body_s8 for a 3x3 filter with dilation 1 (most depthwise layers).
 * The output columns whose window lies inside the input horizontally, [ox_lo, ox_hi), are found
 * once per layer and need no clipping: their rows of 3 taps run the straight-line path
 * (tinyc_dw_rows3_raw), entered at the first row inside, on plain x with the input offset folded
 * into the bias per output row (bias - zp * the kept rows' weight sums: the same integers as
 * TFLM's sum of (x - zp) * w over those taps, as in conv.h). The border columns go row by row. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_3x3_body_s8(const tinyc_depthwise_conv_s8_params *p,
                                                     const int8_t *input, const int8_t *filter,
                                                     const int32_t *bias,
                                                     const int32_t *multiplier,
                                                     const int8_t *shift, int8_t *output,
                                                     int32_t oy_begin, int32_t oy_end,
                                                     const int32_t mode) {
  const int32_t depth = p->input_depth, width = p->input_width, channels = p->output_depth;
  const int32_t sw = p->stride_width, pw = p->pad_width, ow = p->output_width;
  const int32_t x_row = width * depth;
  const int32_t zp = p->input_zero_point;
  const int32_t neg_zp = (int32_t)(((uint32_t)-zp & 0xffffu) * 0x10001u);
  const int32_t offset = p->output_offset;
  const int32_t lo = p->activation_min, hi = p->activation_max, clamp = mode == TINYC_RQ_CLAMP;
  const int32_t b0 = bias[0], b1 = bias[1], b2 = bias[2], b3 = bias[3];
  tinyc_rq r[4];
  for (int32_t j = 0; j < 4; ++j) r[j] = tinyc_rq_make(multiplier[j], shift[j]);
  /* sums of each filter row's weights, per channel: the input offset folded into the bias
   * for the taps a window keeps (rows [fy0, fy1) of 3 full columns) */
  int32_t row_sum[3][4];
  for (int32_t r = 0; r < 3; ++r)
    for (int32_t j = 0; j < 4; ++j)
      row_sum[r][j] = filter[12 * r + j] + filter[12 * r + 4 + j] + filter[12 * r + 8 + j];
  int32_t folded[4], left[4], right[4], kept0 = -1, kept1 = -1;
  /* ox * sw - pw >= 0 and ox * sw - pw + 2 < width */
  const int32_t ox_lo = (pw + sw - 1) / sw;
  const int32_t ox_hi = width - 3 + pw >= 0 ? (width - 3 + pw) / sw + 1 : 0;
  const uint32_t inner = ox_hi > ox_lo ? (uint32_t)(ox_hi - ox_lo) : 0u;
  {
    const int8_t *image = input;
    output += oy_begin * ow * channels;
    for (int32_t oy = oy_begin; oy < oy_end; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_dw_clip(iy0, 1, 3, p->input_height, &fy0, &fy1);
      const int8_t *row = image + (iy0 + fy0) * x_row; /* first row inside */
      const int8_t *w_row = filter + 12 * fy0;
      if (fy0 != kept0 || fy1 != kept1) { /* other rows kept than the row before's */
        /* the bias with the input offset folded in for the rows kept: all 3 columns, or the
         * last 2 (left border) or the first 2 (right border) */
        kept0 = fy0;
        kept1 = fy1;
        for (int32_t j = 0; j < 4; ++j) {
          int32_t all = 0, first = 0, last = 0;
          for (int32_t r = fy0; r < fy1; ++r) {
            all += row_sum[r][j];
            first += filter[12 * r + j];
            last += filter[12 * r + 8 + j];
          }
          folded[j] = bias[j] - zp * all;
          left[j] = folded[j] + zp * first;
          right[j] = folded[j] + zp * last;
        }
      }
      for (int32_t ox = 0; ox < ow; ++ox, output += channels) {
        const int32_t ix0 = ox * sw - pw;
        int32_t acc[4];
        if ((uint32_t)(ox - ox_lo) < inner) { /* no column clipped */
          acc[0] = folded[0];
          acc[1] = folded[1];
          acc[2] = folded[2];
          acc[3] = folded[3];
          if (fy1 > fy0)
            tinyc_dw_rows3_raw(fy1 - fy0, row + ix0 * depth, depth, x_row, w_row, acc);
        } else {
          int32_t fx0, fx1;
          tinyc_dw_clip(ix0, 1, 3, width, &fx0, &fx1);
          if (fx1 - fx0 == 2 && fy1 > fy0) { /* one column clipped */
            const int32_t *f = fx0 ? left : right;
            acc[0] = f[0];
            acc[1] = f[1];
            acc[2] = f[2];
            acc[3] = f[3];
            tinyc_dw_rows2_raw(fy1 - fy0, row + (ix0 + fx0) * depth, depth, x_row,
                               w_row + 4 * fx0, acc);
          } else {
            const tinyc_depthwise_taps t = {fy1 - fy0, fx1 - fx0, depth,
                                            x_row - (fx1 - fx0) * depth, 3 - (fx1 - fx0)};
            acc[0] = b0;
            acc[1] = b1;
            acc[2] = b2;
            acc[3] = b3;
            tinyc_dw_rows_s8(&t, row + (ix0 + fx0) * depth, w_row + 4 * fx0, neg_zp, acc);
          }
        }
        output[0] = tinyc_rq_out_s8(tinyc_rq_apply(acc[0], r[0]) + offset, lo, hi, clamp);
        output[1] = tinyc_rq_out_s8(tinyc_rq_apply(acc[1], r[1]) + offset, lo, hi, clamp);
        output[2] = tinyc_rq_out_s8(tinyc_rq_apply(acc[2], r[2]) + offset, lo, hi, clamp);
        output[3] = tinyc_rq_out_s8(tinyc_rq_apply(acc[3], r[3]) + offset, lo, hi, clamp);
      }
    }
  }
}

/* Every group of 4 channels, by the body of the layer's kind (a constant in each wrapper).
 * Output rows in blocks of row_block (0: all of them, one block, the fastest: a group's
 * constants are set up once per block); in each block the groups in order, and for each group
 * the block's pixels in raster order, every pixel's window read before its four bytes are
 * stored. That order lets the input share bytes with the output (compiler/overlap_order.py
 * depthwise_rows_gap): the rows a block writes over must have been read by every group.
 * row_block < 0 (_rows_back): the same blocks from the bottom one up, the input below the
 * output (depthwise_rows_gap with a negative block). */
#define TINYC_DW_GROUPS_VARIANT(NAME, BODY, MODE)                                               \
  TINYC_NOINLINE void NAME(const tinyc_depthwise_conv_s8_params *p, const int8_t *input,        \
                           const int8_t *filter, const int32_t *bias, const int32_t *multiplier, \
                           const int8_t *shift, int8_t *output) {                               \
    const int32_t taps = p->filter_height * p->filter_width, oh = p->output_height;             \
    for (int32_t b = 0; b < p->batches; ++b) {                                                  \
      const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;      \
      int8_t *out = output + b * oh * p->output_width * p->output_depth;                        \
      for (int32_t c = 0; c < p->output_depth; c += 4)                                          \
        BODY(p, image + c, filter + c * taps, bias + c, multiplier + c, shift + c, out + c, 0,  \
             oh, MODE);                                                                         \
    }                                                                                           \
  }                                                                                             \
  TINYC_NOINLINE void NAME##_rows(const tinyc_depthwise_conv_s8_params *p, const int8_t *input, \
                                  const int8_t *filter, const int32_t *bias,                    \
                                  const int32_t *multiplier, const int8_t *shift,               \
                                  int8_t *output) {                                             \
    const int32_t taps = p->filter_height * p->filter_width, oh = p->output_height;             \
    const int32_t rows = p->row_block;                                                          \
    for (int32_t b = 0; b < p->batches; ++b) {                                                  \
      const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;      \
      int8_t *out = output + b * oh * p->output_width * p->output_depth;                        \
      for (int32_t y0 = 0; y0 < oh; y0 += rows) {                                               \
        const int32_t y1 = oh - y0 < rows ? oh : y0 + rows;                                     \
        for (int32_t c = 0; c < p->output_depth; c += 4)                                        \
          BODY(p, image + c, filter + c * taps, bias + c, multiplier + c, shift + c, out + c,   \
               y0, y1, MODE);                                                                   \
      }                                                                                         \
    }                                                                                           \
  }                                                                                             \
  /* row_block < 0: the images from the last, in each the blocks of -row_block rows from the  \
   * bottom one up, each block in the order above: the input may sit below the output. */     \
  TINYC_NOINLINE void NAME##_rows_back(const tinyc_depthwise_conv_s8_params *p,                 \
                                       const int8_t *input, const int8_t *filter,               \
                                       const int32_t *bias, const int32_t *multiplier,          \
                                       const int8_t *shift, int8_t *output) {                   \
    const int32_t taps = p->filter_height * p->filter_width, oh = p->output_height;             \
    const int32_t rows = -p->row_block;                                                         \
    for (int32_t b = p->batches - 1; b >= 0; --b) {                                             \
      const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;      \
      int8_t *out = output + b * oh * p->output_width * p->output_depth;                        \
      for (int32_t y0 = (oh - 1) / rows * rows; y0 >= 0; y0 -= rows) {                          \
        const int32_t y1 = oh - y0 < rows ? oh : y0 + rows;                                     \
        for (int32_t c = 0; c < p->output_depth; c += 4)                                        \
          BODY(p, image + c, filter + c * taps, bias + c, multiplier + c, shift + c, out + c,   \
               y0, y1, MODE);                                                                   \
      }                                                                                         \
    }                                                                                           \
  }
/* The variant of the layer's row_block (a constant where the params are). */
#define TINYC_DW_CALL(NAME)                                                  \
  do {                                                                       \
    if (p->row_block > 0)                                                    \
      NAME##_rows(p, input, filter, bias, multiplier, shift, output);        \
    else if (p->row_block < 0)                                               \
      NAME##_rows_back(p, input, filter, bias, multiplier, shift, output);   \
    else                                                                     \
      NAME(p, input, filter, bias, multiplier, shift, output);               \
  } while (0)
#define TINYC_DW_3X3_FAST(p, i, f, b, m, s, o, y0, y1, MODE) \
  tinyc_depthwise_3x3_fast_s8(p, i, f, b, m, s, o, y0, y1)
TINYC_DW_GROUPS_VARIANT(tinyc_depthwise_3x3_rq_s8, TINYC_DW_3X3_FAST, TINYC_RQ_FAST)
TINYC_DW_GROUPS_VARIANT(tinyc_depthwise_3x3_rqc_s8, tinyc_depthwise_3x3_body_s8, TINYC_RQ_CLAMP)
TINYC_DW_GROUPS_VARIANT(tinyc_depthwise_group4_rq_s8, tinyc_depthwise_group4_body_s8,
                        TINYC_RQ_FAST)
TINYC_DW_GROUPS_VARIANT(tinyc_depthwise_group4_rqc_s8, tinyc_depthwise_group4_body_s8,
                        TINYC_RQ_CLAMP)
#endif

/* One output pixel of tinyc_depthwise_conv_general_s8 (either direction): its window clipped
 * to the image (rows fy0..fy1 of the filter, computed once per output row), its taps read, its
 * channels stored at `out`. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_general_pixel_s8(
    const tinyc_depthwise_conv_s8_params *p, const int8_t *image, int32_t iy0, int32_t fy0,
    int32_t fy1, int32_t ox, const int8_t *filter, const int32_t *bias,
    const int32_t *multiplier, const int8_t *shift, int8_t *out) {
  const int32_t depth = p->input_depth;
  const int32_t x_row = p->dilation_height * p->input_width * depth; /* between filter rows */
  const int32_t ix0 = ox * p->stride_width - p->pad_width;
  int32_t fx0, fx1;
  tinyc_depthwise_window(ix0, p->dilation_width, p->filter_width, p->input_width, &fx0, &fx1);
  tinyc_depthwise_taps t = {0, 0, p->dilation_width * depth, 0, 0};
  const int8_t *x = image; /* not read when no tap is inside */
  int32_t tap0 = 0;
  if (fy1 > fy0 && fx1 > fx0) {
    t.rows = fy1 - fy0;
    t.cols = fx1 - fx0;
    t.x_skip = x_row - t.cols * t.x_tap;
    t.w_skip = p->filter_width - t.cols;
    x += ((iy0 + fy0 * p->dilation_height) * p->input_width + ix0 + fx0 * p->dilation_width) *
         depth;
    tap0 = fy0 * p->filter_width + fx0;
    if (p->filter_width == 1) { /* one filter column: its taps are one run down the rows */
      t.cols = t.rows;
      t.rows = 1;
      t.x_tap = x_row;
    }
  }
  tinyc_depthwise_pixel_s8(p, &t, x, tap0, filter, bias, multiplier, shift, out);
}

/* Where layers share constant arrays, gcc specializes the pixel function for them, and
 * -Warray-bounds (in -Wall) then flags the four-channel loop's reads for a layer of fewer than
 * 4 channels, a loop that never runs for it. An empty asm hides where the pointers come from. */
#if defined(__GNUC__)
#define TINYC_DW_HIDE_ARRAYS() \
  __asm__("" : "+r"(filter), "+r"(bias), "+r"(multiplier), "+r"(shift))
#else
#define TINYC_DW_HIDE_ARRAYS() ((void)0)
#endif

/* tinyc_depthwise_conv_general_s8 backwards (row_block < 0: a layer the plan runs with its
 * input below its output, compiler/overlap_order.py depthwise_pixel_gap backward): the images
 * from the last, in each the output pixels from the last one to the first; a pixel's channels
 * in the same order as forwards. */
TINYC_NOINLINE void tinyc_depthwise_conv_general_back_s8(const tinyc_depthwise_conv_s8_params *p,
                                                          const int8_t *input,
                                                          const int8_t *TINYC_RESTRICT filter,
                                                          const int32_t *bias,
                                                          const int32_t *multiplier,
                                                          const int8_t *shift, int8_t *output) {
  TINYC_DW_HIDE_ARRAYS();
  const int32_t row_bytes = p->output_width * p->output_depth;
  for (int32_t b = p->batches - 1; b >= 0; --b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = p->output_height - 1; oy >= 0; --oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_depthwise_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0,
                             &fy1);
      int8_t *row = output + (b * p->output_height + oy) * row_bytes;
      for (int32_t ox = p->output_width - 1; ox >= 0; --ox)
        tinyc_depthwise_general_pixel_s8(p, image, iy0, fy0, fy1, ox, filter, bias, multiplier,
                                         shift, row + ox * p->output_depth);
    }
  }
}

/* Any filter size, stride, dilation, padding and depth multiplier. In place
 * (compiler/overlap_order.py depthwise_pixel_gap): output pixels in raster order; a pixel's
 * channels four at a time, then one at a time, each reading its taps before storing
 * (row_block < 0: tinyc_depthwise_conv_general_back_s8 instead, tinyc_depthwise_conv_s8). */
TINYC_INLINE void tinyc_depthwise_conv_general_s8(const tinyc_depthwise_conv_s8_params *p,
                                                   const int8_t *input,
                                                   const int8_t *TINYC_RESTRICT filter,
                                                   const int32_t *bias,
                                                   const int32_t *multiplier,
                                                   const int8_t *shift,
                                                   int8_t *output) {
  TINYC_DW_HIDE_ARRAYS();
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->input_height * p->input_width * p->input_depth;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      const int32_t iy0 = oy * p->stride_height - p->pad_height;
      int32_t fy0, fy1;
      tinyc_depthwise_window(iy0, p->dilation_height, p->filter_height, p->input_height, &fy0,
                             &fy1);
      for (int32_t ox = 0; ox < p->output_width; ++ox, output += p->output_depth)
        tinyc_depthwise_general_pixel_s8(p, image, iy0, fy0, fy1, ox, filter, bias, multiplier,
                                         shift, output);
    }
  }
}

/* The kernel: inline, so that with the params a constant the choice below is made at compile
 * time and only the code it picks is built. On Arm DSP cores, depth multiplier 1 with a multiple
 * of 4 channels and the fast requantization goes four channels at a time through
 * tinyc_depthwise_group4_*_s8; everything else through tinyc_depthwise_conv_general_s8. */
TINYC_ALWAYS_INLINE void tinyc_depthwise_conv_s8(const tinyc_depthwise_conv_s8_params *p,
                                                 const int8_t *input,
                                                 const int8_t *TINYC_RESTRICT filter,
                                                 const int32_t *bias, const int32_t *multiplier,
                                                 const int8_t *shift,
                                                 int8_t *output) {
#ifdef TINYC_DW_ASM
  const int32_t mode = tinyc_rq_mode(p->requant_fast, p->activation_min, p->activation_max);
  if (p->depth_multiplier == 1 && p->output_depth % 4 == 0 && mode != TINYC_RQ_GENERIC) {
    const int32_t is3x3 = p->filter_height == 3 && p->filter_width == 3 &&
                          p->dilation_height == 1 && p->dilation_width == 1 &&
                          p->input_width >= 2;
    if (is3x3 && mode == TINYC_RQ_FAST)
      TINYC_DW_CALL(tinyc_depthwise_3x3_rq_s8);
    else if (is3x3)
      TINYC_DW_CALL(tinyc_depthwise_3x3_rqc_s8);
    else if (mode == TINYC_RQ_FAST)
      TINYC_DW_CALL(tinyc_depthwise_group4_rq_s8);
    else
      TINYC_DW_CALL(tinyc_depthwise_group4_rqc_s8);
    return;
  }
#endif
  if (p->row_block < 0) /* backwards (the input below the output): the pixels from the last */
    tinyc_depthwise_conv_general_back_s8(p, input, filter, bias, multiplier, shift, output);
  else
    tinyc_depthwise_conv_general_s8(p, input, filter, bias, multiplier, shift, output);
}

TINYC_NAMESPACE_END

#endif /* TINYC_DEPTHWISE_CONV_H */
