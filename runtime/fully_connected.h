/* tinyc runtime: FULLY_CONNECTED.
 *
 * int8: computes what TFLM reference_integer_ops::FullyConnected / FullyConnectedPerChannel
 * compute, bit for bit. How it gets there differs:
 *
 * 1. The input offset is folded into `bias` by the compiler:
 *        bias[c] = b[c] - input_zero_point * sum(filter[c])
 *    so the inner loops are plain int8 dot products. All int32 arithmetic, so exact (modulo 2^32,
 *    like TFLM's accumulator), whatever order the products are added in.
 * 2. Output channels (filter rows) are computed four at a time (then two, then one for the
 *    last output_depth % 4), one batch row after the other: each loaded input value feeds four
 *    products. On cores with the Arm DSP extension (Cortex-M4/M7/M33/M55...) four bytes are
 *    loaded at once and multiplied two by two (SXTB16 + SMLAD): the sums are the same integers.
 *    (Two batch rows by two output channels per step, as conv.h does for pixels, measured
 *    slower than this on Cortex-M4, and most FULLY_CONNECTED calls have one batch row.)
 *
 * Filter layout: the compiler (compiler/ops/fully_connected.py) stores the [output_depth,
 * accum_depth] weights in groups of rows: groups of 4 rows while at least 4 are left, then a
 * group of 2 if at least 2 are left, then 1 row. Within a group of g rows of K = accum_depth
 * values, the 4-value chunks of the g rows alternate (row 0 [0:4], row 1 [0:4], ..., row g-1
 * [0:4], row 0 [4:8], ...), then come the K % 4 last values of row 0, of row 1, ... A group of
 * 1 row is the row as it is. Group after group, g * K bytes each.
 *
 * float32: reference_ops::FullyConnected's arithmetic in its order (see below), filter as is. */
#ifndef TINYC_FULLY_CONNECTED_H
#define TINYC_FULLY_CONNECTED_H

#include "tinyc_dsp.h"

#ifdef TINYC_DSP
/* s + the dot product of the 4 values whose bytes 0, 2 are x_even's halfwords and bytes 1, 3
 * x_odd's with the 4 int8 values at w. */
TINYC_ALWAYS_INLINE int32_t tinyc_fc_mac4(int32_t x_even, int32_t x_odd, const int8_t *w,
                                          int32_t s) {
  const int32_t v = tinyc_load4(w);
  return __smlad(x_odd, tinyc_sxtb16_odd(v), __smlad(x_even, __sxtb16(v), s));
}
#endif

/* A point the optimizer cannot move the computation of x, w and the sums s0..s3 across: one
 * chunk is finished before the next one's loads. Otherwise gcc -O2 loads two chunks' weights at
 * once, runs out of registers and spills the sums to the stack. */
#ifdef TINYC_DSP
#define TINYC_FC_OPAQUE(x, w, s0, s1, s2, s3) \
  __asm__("" : "+r"(x), "+r"(w), "+r"(s0), "+r"(s1), "+r"(s2), "+r"(s3))
#else
#define TINYC_FC_OPAQUE(x, w, s0, s1, s2, s3) ((void)0)
#endif


typedef struct {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  int32_t per_channel; /* 1: multiplier/shift per output channel; 0: one for all */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_fully_connected_s8_params;

/* One 4-value chunk of x against the chunks of the 4 rows of a group at w (w[0:4] row 0, ...,
 * w[12:16] row 3). */
TINYC_ALWAYS_INLINE void tinyc_fc_chunk_1x4_s8(const int8_t *x, const int8_t *w, int32_t *s0,
                                               int32_t *s1, int32_t *s2, int32_t *s3) {
#ifdef TINYC_DSP
  const int32_t a = tinyc_load4(x);
  const int32_t a_even = __sxtb16(a), a_odd = tinyc_sxtb16_odd(a);
  *s0 = tinyc_fc_mac4(a_even, a_odd, w, *s0);
  *s1 = tinyc_fc_mac4(a_even, a_odd, w + 4, *s1);
  *s2 = tinyc_fc_mac4(a_even, a_odd, w + 8, *s2);
  *s3 = tinyc_fc_mac4(a_even, a_odd, w + 12, *s3);
#else
  for (int32_t j = 0; j < 4; ++j) {
    const int32_t a = x[j];
    *s0 += a * w[j];
    *s1 += a * w[4 + j];
    *s2 += a * w[8 + j];
    *s3 += a * w[12 + j];
  }
#endif
}

/* s[r] = bias[r] + x . row r, r < 4, for the group of 4 rows of k values at w (layout at the
 * top). */
TINYC_NOINLINE void tinyc_fc_dot_1x4_s8(const int8_t *x, const int8_t *w, int32_t k,
                                           const int32_t *bias, int32_t s[4]) {
  int32_t s0 = bias[0], s1 = bias[1], s2 = bias[2], s3 = bias[3];
  for (int32_t i = k >> 3; i > 0; --i) { /* two chunks per iteration: half the loop overhead */
    tinyc_fc_chunk_1x4_s8(x, w, &s0, &s1, &s2, &s3);
    x += 4;
    w += 16;
    TINYC_FC_OPAQUE(x, w, s0, s1, s2, s3);
    tinyc_fc_chunk_1x4_s8(x, w, &s0, &s1, &s2, &s3);
    x += 4;
    w += 16;
    TINYC_FC_OPAQUE(x, w, s0, s1, s2, s3);
  }
  if (k & 4) {
    tinyc_fc_chunk_1x4_s8(x, w, &s0, &s1, &s2, &s3);
    x += 4;
    w += 16;
  }
  const int32_t tail = k & 3;
  for (int32_t j = 0; j < tail; ++j) {
    const int32_t a = x[j];
    s0 += a * w[j];
    s1 += a * w[tail + j];
    s2 += a * w[2 * tail + j];
    s3 += a * w[3 * tail + j];
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
}

/* s[0] = bias[0] + x . ra, s[1] = bias[1] + x . rb for the group of 2 rows ra, rb of k values
 * at w (layout at the top). */
TINYC_NOINLINE void tinyc_fc_dot_1x2_s8(const int8_t *x, const int8_t *w, int32_t k,
                                           const int32_t *bias, int32_t s[2]) {
  int32_t s0 = bias[0], s1 = bias[1];
  for (int32_t i = k >> 2; i > 0; --i, x += 4, w += 8) {
#ifdef TINYC_DSP
    const int32_t a = tinyc_load4(x);
    const int32_t a_even = __sxtb16(a), a_odd = tinyc_sxtb16_odd(a);
    s0 = tinyc_fc_mac4(a_even, a_odd, w, s0);
    s1 = tinyc_fc_mac4(a_even, a_odd, w + 4, s1);
#else
    for (int32_t j = 0; j < 4; ++j) {
      s0 += x[j] * w[j];
      s1 += x[j] * w[4 + j];
    }
#endif
  }
  const int32_t tail = k & 3;
  for (int32_t j = 0; j < tail; ++j) {
    s0 += x[j] * w[j];
    s1 += x[j] * w[tail + j];
  }
  s[0] = s0;
  s[1] = s1;
}

/* s + x . w for one row w of k values. */
TINYC_NOINLINE int32_t tinyc_fc_dot_1x1_s8(const int8_t *x, const int8_t *w, int32_t k,
                                              int32_t s) {
#ifdef TINYC_DSP
  for (; k >= 4; k -= 4, x += 4, w += 4) {
    const int32_t a = tinyc_load4(x);
    s = tinyc_fc_mac4(__sxtb16(a), tinyc_sxtb16_odd(a), w, s);
  }
#endif
  for (; k > 0; --k) s += *x++ * *w++;
  return s;
}

/* out[j] for the sums s[j] of n consecutive output channels, j < n: TFLM's
 * MultiplyByQuantizedMultiplier, output offset, activation clamp. multiplier and shift point at
 * the first channel's (per_channel) or at the one for all. Out of line: the loops that call it
 * keep their registers. */
TINYC_NOINLINE void tinyc_fc_output_s8(const tinyc_fully_connected_s8_params *p,
                                          const int32_t *s, int32_t n, const int32_t *multiplier,
                                          const int8_t *shift, int8_t *out) {
  /* Locals: the int8 stores to `out` could alias the parameters as far as the compiler knows. */
  const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
  if (!p->per_channel && *shift < 0 && *multiplier >= (1 << 30)) {
    /* One multiplier for all, in tinyc_requantize's usual range: the compiler sees the test
     * once, drops the other branch and computes what depends on the multiplier once. */
    const int32_t m = *multiplier, e = *shift;
    for (int32_t j = 0; j < n; ++j)
      out[j] = tinyc_clamp_s8(tinyc_requantize(s[j], m, e) + offset, lo, hi);
  } else {
    const int32_t step = p->per_channel;
    for (int32_t j = 0; j < n; ++j, multiplier += step, shift += step)
      out[j] = tinyc_clamp_s8(tinyc_requantize(s[j], *multiplier, *shift) + offset, lo, hi);
  }
}

/* filter: the compiler's layout (see the top); bias: with the input offset folded in;
 * multiplier/shift: output_depth of each, or 1 when per_channel is 0. */
static inline void tinyc_fully_connected_s8(const tinyc_fully_connected_s8_params *p,
                                            const int8_t *TINYC_RESTRICT input,
                                            const int8_t *TINYC_RESTRICT filter,
                                            const int32_t *bias, const int32_t *multiplier,
                                            const int8_t *shift, int8_t *TINYC_RESTRICT output) {
  const int32_t k = p->accum_depth, depth = p->output_depth, step = p->per_channel;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = input + b * k, *w = filter;
    int8_t *out = output + b * depth;
    int32_t s[4], c = 0;
    for (; depth - c >= 4; c += 4, w += 4 * k) {
      tinyc_fc_dot_1x4_s8(x, w, k, bias + c, s);
      tinyc_fc_output_s8(p, s, 4, multiplier + c * step, shift + c * step, out + c);
    }
    if (depth - c >= 2) {
      tinyc_fc_dot_1x2_s8(x, w, k, bias + c, s);
      tinyc_fc_output_s8(p, s, 2, multiplier + c * step, shift + c * step, out + c);
      c += 2;
      w += 2 * k;
    }
    if (c < depth) {
      s[0] = tinyc_fc_dot_1x1_s8(x, w, k, bias[c]);
      tinyc_fc_output_s8(p, s, 1, multiplier + c * step, shift + c * step, out + c);
    }
  }
}

typedef struct {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  float activation_min;
  float activation_max;
} tinyc_fully_connected_f32_params;

/* Summation order and the separate bias add match TFLM, so results are bit-identical as long as
 * the compiler does not contract a*b+c into a fused multiply-add (see -ffp-contract). */
static inline void tinyc_fully_connected_f32(const tinyc_fully_connected_f32_params *p,
                                             const float *TINYC_RESTRICT input,
                                             const float *TINYC_RESTRICT filter,
                                             const float *bias, float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *in = input + b * p->accum_depth;
    for (int32_t c = 0; c < p->output_depth; ++c) {
      const float *w = filter + c * p->accum_depth;
      float total = 0.0f;
      for (int32_t d = 0; d < p->accum_depth; ++d) total += in[d] * w[d];
      const float value = total + bias[c];
      output[b * p->output_depth + c] =
          tinyc_min_f32(tinyc_max_f32(value, p->activation_min), p->activation_max);
    }
  }
}

#endif /* TINYC_FULLY_CONNECTED_H */
