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
 *    Each 4-value chunk is one asm block, as in fully_connected_s16.h (see the chunks below).
 *    (Two batch rows by two output channels per step, as conv.h does for pixels, measured
 *    slower than this on Cortex-M4, and most FULLY_CONNECTED calls have one batch row.)
 * 3. Requantization is TFLM's MultiplyByQuantizedMultiplier (tinyc_requantize); for one
 *    multiplier for all channels the DSP path computes tinyc_requantize's usual case with its
 *    constants taken out of the loop (tinyc_fc_output_s8).
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

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  int32_t per_channel; /* 1: multiplier/shift per output channel; 0: one for all */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_fully_connected_s8_params;

/* The dot-product chunks. Each takes 4 input values at *x against 4 values of each row of a
 * group at *w (row 0's chunk, then row 1's, ...: the layout at the top) and moves x and w past
 * them. On the DSP path each is one asm block, as in fully_connected_s16.h: the loads come
 * first and back to back (a load that directly follows a load costs one cycle, not two), they
 * post-increment their pointers (no separate adds), and the compiler can neither spread them
 * between the multiplies nor hoist the next chunk's loads and run out of registers (gcc does
 * both with the same sequence written in C, at -Os and at -O2). SXTB16 without and with a
 * rotation by 8 splits 4 int8 values into the int16 pairs (v0, v2) and (v1, v3); SMLAD
 * multiplies two pairs and adds both products: the same integer sums as the portable loops. */
TINYC_ALWAYS_INLINE void tinyc_fc_chunk_1x4_s8(const int8_t **x, const int8_t **w, int32_t *s0,
                                               int32_t *s1, int32_t *s2, int32_t *s3) {
#ifdef TINYC_DSP
  int32_t a, b, v, u, t;
  __asm__(
      "ldr %[a], [%[x]], #4\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[b], %[a], ror #8\n\t"
      "sxtb16 %[a], %[a]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s0], %[a], %[t], %[s0]\n\t"
      "smlad %[s0], %[b], %[v], %[s0]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s1], %[a], %[t], %[s1]\n\t"
      "smlad %[s1], %[b], %[u], %[s1]\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s2], %[a], %[t], %[s2]\n\t"
      "smlad %[s2], %[b], %[v], %[s2]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s3], %[a], %[t], %[s3]\n\t"
      "smlad %[s3], %[b], %[u], %[s3]"
      : [x] "+r"(*x), [w] "+r"(*w), [s0] "+r"(*s0), [s1] "+r"(*s1), [s2] "+r"(*s2),
        [s3] "+r"(*s3), [a] "=&r"(a), [b] "=&r"(b), [v] "=&r"(v), [u] "=&r"(u), [t] "=&r"(t)
      :
      : "memory");
#else
  const int8_t *p = *x, *q = *w;
  for (int32_t j = 0; j < 4; ++j) {
    const int32_t a = p[j];
    *s0 += a * q[j];
    *s1 += a * q[4 + j];
    *s2 += a * q[8 + j];
    *s3 += a * q[12 + j];
  }
  *x = p + 4;
  *w = q + 16;
#endif
}

TINYC_ALWAYS_INLINE void tinyc_fc_chunk_1x2_s8(const int8_t **x, const int8_t **w, int32_t *s0,
                                               int32_t *s1) {
#ifdef TINYC_DSP
  int32_t a, b, v, u, t;
  __asm__(
      "ldr %[a], [%[x]], #4\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[b], %[a], ror #8\n\t"
      "sxtb16 %[a], %[a]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s0], %[a], %[t], %[s0]\n\t"
      "smlad %[s0], %[b], %[v], %[s0]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s1], %[a], %[t], %[s1]\n\t"
      "smlad %[s1], %[b], %[u], %[s1]"
      : [x] "+r"(*x), [w] "+r"(*w), [s0] "+r"(*s0), [s1] "+r"(*s1), [a] "=&r"(a), [b] "=&r"(b),
        [v] "=&r"(v), [u] "=&r"(u), [t] "=&r"(t)
      :
      : "memory");
#else
  const int8_t *p = *x, *q = *w;
  for (int32_t j = 0; j < 4; ++j) {
    *s0 += p[j] * q[j];
    *s1 += p[j] * q[4 + j];
  }
  *x = p + 4;
  *w = q + 8;
#endif
}

/* Two chunks of one row (8 values): the DSP path only (the portable one is a plain loop). */
#ifdef TINYC_DSP
TINYC_ALWAYS_INLINE void tinyc_fc_chunk2_1x1_s8(const int8_t **x, const int8_t **w, int32_t *s) {
  int32_t a, b, c, v, u, t;
  __asm__(
      "ldr %[a], [%[x]], #4\n\t"
      "ldr %[c], [%[x]], #4\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[b], %[a], ror #8\n\t"
      "sxtb16 %[a], %[a]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s], %[a], %[t], %[s]\n\t"
      "smlad %[s], %[b], %[v], %[s]\n\t"
      "sxtb16 %[b], %[c], ror #8\n\t"
      "sxtb16 %[c], %[c]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s], %[c], %[t], %[s]\n\t"
      "smlad %[s], %[b], %[u], %[s]"
      : [x] "+r"(*x), [w] "+r"(*w), [s] "+r"(*s), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c),
        [v] "=&r"(v), [u] "=&r"(u), [t] "=&r"(t)
      :
      : "memory");
}
#endif

/* The loop over the k / 8 pairs of chunks of x (the chunks move x on): on the DSP path up to
 * the end pointer, which saves gcc -Os an instruction per iteration on Cortex-M4; elsewhere a
 * count, which gives gcc -O2 the shorter loop on x86-64 and Xtensa. */
#ifdef TINYC_DSP
#define TINYC_FC_LOOP8(x, k) for (const int8_t *const end_ = (x) + ((k) & ~7); (x) != end_;)
#else
#define TINYC_FC_LOOP8(x, k) for (int32_t i_ = (k) >> 3; i_ > 0; --i_)
#endif

/* s[r] = bias[r] + x . row r, r < 4, for the group of 4 rows of k values at w (layout at the
 * top). */
TINYC_NOINLINE void tinyc_fc_dot_1x4_s8(const int8_t *x, const int8_t *w, int32_t k,
                                        const int32_t *bias, int32_t s[4]) {
  int32_t s0 = bias[0], s1 = bias[1], s2 = bias[2], s3 = bias[3];
  TINYC_FC_LOOP8(x, k) { /* two chunks per iteration */
    tinyc_fc_chunk_1x4_s8(&x, &w, &s0, &s1, &s2, &s3);
    tinyc_fc_chunk_1x4_s8(&x, &w, &s0, &s1, &s2, &s3);
  }
  if (k & 4) tinyc_fc_chunk_1x4_s8(&x, &w, &s0, &s1, &s2, &s3);
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
  TINYC_FC_LOOP8(x, k) {
    tinyc_fc_chunk_1x2_s8(&x, &w, &s0, &s1);
    tinyc_fc_chunk_1x2_s8(&x, &w, &s0, &s1);
  }
  if (k & 4) tinyc_fc_chunk_1x2_s8(&x, &w, &s0, &s1);
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
  TINYC_FC_LOOP8(x, k) tinyc_fc_chunk2_1x1_s8(&x, &w, &s);
  k &= 7;
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
#if defined(TINYC_DSP) && !defined(TINYC_SINGLE_ROUNDING) /* single: tinyc_requantize's SMLAL */
    /* tinyc_requantize's fast path with what depends on the multiplier out of the loop: the
     * rounding term 2^(30-shift) + 2^30 as a word pair, and 2^31 less of it for a negative sum,
     * subtracted without a branch as (sum >> 31) << 31 (with its borrow, sum >> 31). */
    const uint32_t t = 1u << -e;
    const uint32_t round_lo = (t << 30) + (1u << 30);
    const uint32_t round_hi = (t >> 2) + (round_lo < (1u << 30));
    for (int32_t j = 0; j < n; ++j) {
      const int32_t x = s[j];
      uint32_t lo_word, hi_word, sign;
      __asm__("asr %[g], %[x], #31\n\t"
              "adds %[l], %[rl], %[g], lsl #31\n\t"
              "adc %[h], %[rh], %[g]\n\t"
              "smlal %[l], %[h], %[x], %[m]"
              : [l] "=&r"(lo_word), [h] "=&r"(hi_word), [g] "=&r"(sign)
              : [x] "r"(x), [m] "r"(m), [rl] "r"(round_lo), [rh] "r"(round_hi)
              : "cc");
      out[j] = tinyc_clamp_s8(((int32_t)hi_word >> (-e - 1)) + offset, lo, hi);
    }
#else
    for (int32_t j = 0; j < n; ++j)
      out[j] = tinyc_clamp_s8(tinyc_requantize(s[j], m, e) + offset, lo, hi);
#endif
  } else {
    const int32_t step = p->per_channel;
    for (int32_t j = 0; j < n; ++j, multiplier += step, shift += step)
      out[j] = tinyc_clamp_s8(tinyc_requantize(s[j], *multiplier, *shift) + offset, lo, hi);
  }
}

/* filter: the compiler's layout (see the top); bias: with the input offset folded in;
 * multiplier/shift: output_depth of each, or 1 when per_channel is 0. */
TINYC_ALWAYS_INLINE void tinyc_fully_connected_s8(const tinyc_fully_connected_s8_params *p,
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
TINYC_INLINE void tinyc_fully_connected_f32(const tinyc_fully_connected_f32_params *p,
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

TINYC_NAMESPACE_END

#endif /* TINYC_FULLY_CONNECTED_H */
