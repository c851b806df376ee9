/* tinyc runtime: FULLY_CONNECTED with int16 activations and int8 weights ("16x8").
 *
 * Computes what TFLM reference_integer_ops::FullyConnected / FullyConnectedPerChannel compute
 * for int16 input and output, bit for bit:
 *   acc = bias[c] + sum_d filter[c][d] * (input[d] - input_zero_point)
 *   out = clamp(MultiplyByQuantizedMultiplier(acc, multiplier, shift) + output_zero_point)
 * where TFLM's acc is an int64 (int64 bias, or no bias with quantized_bias_type other than
 * INT32), and MultiplyByQuantizedMultiplier its int64 form (tinyc_requantize_s64); or an int32
 * that wraps around (int32 bias, or no bias with quantized_bias_type INT32), and the usual
 * double-rounding form (tinyc_requantize): `int32_accumulator` says which.
 *
 * How tinyc gets there:
 * 1. The compiler folds the input offset into the bias, in exact integers:
 *        bias[c] = b[c] - input_zero_point * sum(filter[c])
 *    so the inner loops are plain dot products of int16 inputs and int8 weights.
 * 2. The dot products are summed in int32, which the compiler proves exact: each product is at
 *    most 2^22 in magnitude (32768 * 128). When |bias[c]| + 32768 * sum|filter[c]| fits in int32
 *    for every channel (any layer of a real model up to a few hundred inputs, most beyond), the
 *    compiler picks tinyc_fully_connected_s16: int32 bias, one int32 sum per channel. Otherwise
 *    tinyc_fully_connected_s16_wide: int64 bias, plus the int32 sums of blocks of
 *    `block_depth` inputs (a multiple of 4, short enough that no block can overflow). Either way
 *    the total is exact, so equal to TFLM's int64 accumulator, and equal modulo 2^32 to its
 *    int32 one, whatever order the products are added in.
 * 3. Output channels are computed four at a time (then two, then one), as in fully_connected.h:
 *    each input value loaded feeds four products. On cores with the Arm DSP extension
 *    (Cortex-M4/M7/M33/M55...) one word load gives two int16 inputs, one word load four int8
 *    weights, SXTB16 (with and without rotation) turns those into two pairs of int16 and SMLAD
 *    multiplies and adds a pair at once: the sums are the same integers as the portable loops'.
 *
 * Filter layout: the rows are grouped as fully_connected.h describes (groups of 4 rows while at
 * least 4 are left, then 2, then 1; within a group the 4-value chunks of its rows alternate,
 * then the accum_depth % 4 last values of each row), and within each 4-value chunk the values
 * are stored in the order w0 w2 w1 w3. SXTB16 of that word gives the halfwords (w0, w1), and
 * with a rotation by 8 (w2, w3): the pairs that line up with the input words (x0, x1) and
 * (x2, x3). The tails (accum_depth % 4 values) are stored in order. */
#ifndef TINYC_FULLY_CONNECTED_S16_H
#define TINYC_FULLY_CONNECTED_S16_H

#include "tinyc_dsp.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  int32_t block_depth; /* _wide: inputs per int32 partial sum (a multiple of 4); otherwise 0 */
  int32_t per_channel; /* 1: multiplier/shift per output channel; 0: one for all */
  int32_t int32_accumulator; /* 1: TFLM sums in int32 (int32 bias); 0: in int64 */
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_fully_connected_s16_params;

/* s + x0*w0 + x1*w1 + x2*w2 + x3*w3 for a chunk of 4 weights at w stored w0 w2 w1 w3: the
 * portable form of the DSP chunks below. */
TINYC_ALWAYS_INLINE int32_t tinyc_fc_chunk_s16(const int16_t *x, const int8_t *w, int32_t s) {
  return s + x[0] * w[0] + x[1] * w[2] + x[2] * w[1] + x[3] * w[3];
}

/* One 4-value chunk of x against the chunks of the 4 rows of a group at w (w[0:4] row 0, ...,
 * w[12:16] row 3); x and w move past them. On the DSP path this is one asm block: the compiler
 * neither spreads the loads between the multiplies (each costs a cycle more when it does not
 * follow another load) nor hoists the next chunk's loads and runs out of registers, as gcc does
 * at -Os and -O2 respectively with the same sequence in C. */
TINYC_ALWAYS_INLINE void tinyc_fc_chunk_1x4_s16(const int16_t **x, const int8_t **w, int32_t *s0,
                                                int32_t *s1, int32_t *s2, int32_t *s3) {
#ifdef TINYC_DSP
  int32_t x01, x23, v, u, t;
  __asm__(
      "ldr %[x01], [%[x]], #4\n\t"
      "ldr %[x23], [%[x]], #4\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s0], %[x01], %[t], %[s0]\n\t"
      "smlad %[s0], %[x23], %[v], %[s0]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s1], %[x01], %[t], %[s1]\n\t"
      "smlad %[s1], %[x23], %[u], %[s1]\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s2], %[x01], %[t], %[s2]\n\t"
      "smlad %[s2], %[x23], %[v], %[s2]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s3], %[x01], %[t], %[s3]\n\t"
      "smlad %[s3], %[x23], %[u], %[s3]"
      : [x] "+r"(*x), [w] "+r"(*w), [s0] "+r"(*s0), [s1] "+r"(*s1), [s2] "+r"(*s2),
        [s3] "+r"(*s3), [x01] "=&r"(x01), [x23] "=&r"(x23), [v] "=&r"(v), [u] "=&r"(u),
        [t] "=&r"(t)
      :
      : "memory");
#else
  *s0 = tinyc_fc_chunk_s16(*x, *w, *s0);
  *s1 = tinyc_fc_chunk_s16(*x, *w + 4, *s1);
  *s2 = tinyc_fc_chunk_s16(*x, *w + 8, *s2);
  *s3 = tinyc_fc_chunk_s16(*x, *w + 12, *s3);
  *x += 4;
  *w += 16;
#endif
}

/* s[r] = start[r] + x . row r, r < 4, for k values of the group of 4 rows at w (layout at the
 * top; k % 4 tail values after the chunks). */
TINYC_NOINLINE void tinyc_fc_dot_1x4_s16(const int16_t *x, const int8_t *w, int32_t k,
                                         const int32_t *start, int32_t s[4]) {
  int32_t s0 = start[0], s1 = start[1], s2 = start[2], s3 = start[3];
  for (const int16_t *end = x + (k & ~7); x != end;) { /* two chunks per iteration */
    tinyc_fc_chunk_1x4_s16(&x, &w, &s0, &s1, &s2, &s3);
    tinyc_fc_chunk_1x4_s16(&x, &w, &s0, &s1, &s2, &s3);
  }
  if (k & 4) tinyc_fc_chunk_1x4_s16(&x, &w, &s0, &s1, &s2, &s3);
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

/* One chunk of x against the chunks of the 2 rows of a group at w; x and w move past them. */
TINYC_ALWAYS_INLINE void tinyc_fc_chunk_1x2_s16(const int16_t **x, const int8_t **w, int32_t *s0,
                                                int32_t *s1) {
#ifdef TINYC_DSP
  int32_t x01, x23, v, u, t;
  __asm__(
      "ldr %[x01], [%[x]], #4\n\t"
      "ldr %[x23], [%[x]], #4\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s0], %[x01], %[t], %[s0]\n\t"
      "smlad %[s0], %[x23], %[v], %[s0]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s1], %[x01], %[t], %[s1]\n\t"
      "smlad %[s1], %[x23], %[u], %[s1]"
      : [x] "+r"(*x), [w] "+r"(*w), [s0] "+r"(*s0), [s1] "+r"(*s1), [x01] "=&r"(x01),
        [x23] "=&r"(x23), [v] "=&r"(v), [u] "=&r"(u), [t] "=&r"(t)
      :
      : "memory");
#else
  *s0 = tinyc_fc_chunk_s16(*x, *w, *s0);
  *s1 = tinyc_fc_chunk_s16(*x, *w + 4, *s1);
  *x += 4;
  *w += 8;
#endif
}

/* s[r] = start[r] + x . row r, r < 2, for k values of the group of 2 rows at w. */
TINYC_NOINLINE void tinyc_fc_dot_1x2_s16(const int16_t *x, const int8_t *w, int32_t k,
                                         const int32_t *start, int32_t s[2]) {
  int32_t s0 = start[0], s1 = start[1];
  for (const int16_t *end = x + (k & ~7); x != end;) {
    tinyc_fc_chunk_1x2_s16(&x, &w, &s0, &s1);
    tinyc_fc_chunk_1x2_s16(&x, &w, &s0, &s1);
  }
  if (k & 4) tinyc_fc_chunk_1x2_s16(&x, &w, &s0, &s1);
  const int32_t tail = k & 3;
  for (int32_t j = 0; j < tail; ++j) {
    s0 += x[j] * w[j];
    s1 += x[j] * w[tail + j];
  }
  s[0] = s0;
  s[1] = s1;
}

/* Two chunks of x against two chunks of one row at w; x and w move past them. */
TINYC_ALWAYS_INLINE void tinyc_fc_chunk2_1x1_s16(const int16_t **x, const int8_t **w,
                                                 int32_t *s) {
#ifdef TINYC_DSP
  int32_t x01, x23, x45, x67, v, u, t;
  __asm__(
      "ldr %[x01], [%[x]], #4\n\t"
      "ldr %[x23], [%[x]], #4\n\t"
      "ldr %[x45], [%[x]], #4\n\t"
      "ldr %[x67], [%[x]], #4\n\t"
      "ldr %[v], [%[w]], #4\n\t"
      "ldr %[u], [%[w]], #4\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "sxtb16 %[v], %[v], ror #8\n\t"
      "smlad %[s], %[x01], %[t], %[s]\n\t"
      "smlad %[s], %[x23], %[v], %[s]\n\t"
      "sxtb16 %[t], %[u]\n\t"
      "sxtb16 %[u], %[u], ror #8\n\t"
      "smlad %[s], %[x45], %[t], %[s]\n\t"
      "smlad %[s], %[x67], %[u], %[s]"
      : [x] "+r"(*x), [w] "+r"(*w), [s] "+r"(*s), [x01] "=&r"(x01), [x23] "=&r"(x23),
        [x45] "=&r"(x45), [x67] "=&r"(x67), [v] "=&r"(v), [u] "=&r"(u), [t] "=&r"(t)
      :
      : "memory");
#else
  *s = tinyc_fc_chunk_s16(*x + 4, *w + 4, tinyc_fc_chunk_s16(*x, *w, *s));
  *x += 8;
  *w += 8;
#endif
}

/* s + x . w for k values of one row at w. */
TINYC_NOINLINE int32_t tinyc_fc_dot_1x1_s16(const int16_t *x, const int8_t *w, int32_t k,
                                            int32_t s) {
  for (const int16_t *end = x + (k & ~7); x != end;) tinyc_fc_chunk2_1x1_s16(&x, &w, &s);
  if (k & 4) {
    s = tinyc_fc_chunk_s16(x, w, s);
    x += 4;
    w += 4;
  }
  for (int32_t j = 0; j < (k & 3); ++j) s += x[j] * w[j];
  return s;
}

/* One output value from TFLM's accumulator value acc: int32 or int64 requantization, output
 * offset, clamp. For an int32 accumulator acc is taken modulo 2^32, as TFLM's wraps around (the
 * conversion to int32_t is modulo 2^32 in gcc, clang and Arm Compiler). The offset is added
 * modulo 2^32 so that no sum is undefined in C. */
TINYC_ALWAYS_INLINE int16_t tinyc_fc_output1_s16(int32_t int32_accumulator, int64_t acc,
                                                 int32_t multiplier, int shift, int32_t offset,
                                                 int32_t lo, int32_t hi) {
  const int32_t scaled = int32_accumulator
                             ? tinyc_requantize((int32_t)(uint32_t)(uint64_t)acc, multiplier, shift)
                             : tinyc_requantize_s64(acc, multiplier, shift);
  return tinyc_clamp_s16((int32_t)((uint32_t)scaled + (uint32_t)offset), lo, hi);
}

/* out[j] for the int32 totals s[j] of n consecutive output channels, j < n. multiplier and
 * shift point at the first channel's (per_channel) or at the one for all. Locals: the int16
 * stores to `out` could alias the int8 shifts as far as the compiler knows; with them it
 * computes what depends on a per-tensor multiplier once. */
TINYC_NOINLINE void tinyc_fc_output_s16(const tinyc_fully_connected_s16_params *p,
                                        const int32_t *s, int32_t n, const int32_t *multiplier,
                                        const int8_t *shift, int16_t *out) {
  const int32_t acc32 = p->int32_accumulator, offset = p->output_offset;
  const int32_t lo = p->activation_min, hi = p->activation_max;
  if (!p->per_channel) {
    const int32_t m = *multiplier, e = *shift;
    for (int32_t j = 0; j < n; ++j)
      out[j] = tinyc_fc_output1_s16(acc32, s[j], m, e, offset, lo, hi);
  } else {
    for (int32_t j = 0; j < n; ++j)
      out[j] = tinyc_fc_output1_s16(acc32, s[j], multiplier[j], shift[j], offset, lo, hi);
  }
}

/* The same for int64 totals (tinyc_fully_connected_s16_wide; not worth specializing). */
TINYC_NOINLINE void tinyc_fc_output_wide_s16(const tinyc_fully_connected_s16_params *p,
                                             const int64_t *s, int32_t n,
                                             const int32_t *multiplier, const int8_t *shift,
                                             int16_t *out) {
  const int32_t step = p->per_channel;
  for (int32_t j = 0; j < n; ++j)
    out[j] = tinyc_fc_output1_s16(p->int32_accumulator, s[j], multiplier[j * step],
                                  shift[j * step], p->output_offset, p->activation_min,
                                  p->activation_max);
}

/* filter: the compiler's layout (see the top); bias: with the input offset folded in, and with
 * |bias[c]| + 32768 * sum|filter[c]| < 2^31 for every c; multiplier/shift: output_depth of each,
 * or 1 when per_channel is 0. */
TINYC_INLINE void tinyc_fully_connected_s16(const tinyc_fully_connected_s16_params *p,
                                             const int16_t *TINYC_RESTRICT input,
                                             const int8_t *TINYC_RESTRICT filter,
                                             const int32_t *bias, const int32_t *multiplier,
                                             const int8_t *shift, int16_t *TINYC_RESTRICT output) {
  const int32_t k = p->accum_depth, depth = p->output_depth, step = p->per_channel;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *x = input + b * k;
    const int8_t *w = filter;
    int16_t *out = output + b * depth;
    int32_t s[4], c = 0;
    for (; depth - c >= 4; c += 4, w += 4 * k) {
      tinyc_fc_dot_1x4_s16(x, w, k, bias + c, s);
      tinyc_fc_output_s16(p, s, 4, multiplier + c * step, shift + c * step, out + c);
    }
    if (depth - c >= 2) {
      tinyc_fc_dot_1x2_s16(x, w, k, bias + c, s);
      tinyc_fc_output_s16(p, s, 2, multiplier + c * step, shift + c * step, out + c);
      c += 2;
      w += 2 * k;
    }
    if (c < depth) {
      s[0] = tinyc_fc_dot_1x1_s16(x, w, k, bias[c]);
      tinyc_fc_output_s16(p, s, 1, multiplier + c * step, shift + c * step, out + c);
    }
  }
}

/* The same for accumulators that may leave int32: int64 bias (input offset folded in), the
 * products summed in int32 over blocks of block_depth inputs, the blocks' sums in int64. A group
 * of g rows holds g * block_depth weights per block (the chunks of its rows alternate), so the
 * next block starts g * block_depth bytes on; the last block also takes the rows' tails. */
TINYC_INLINE void tinyc_fully_connected_s16_wide(const tinyc_fully_connected_s16_params *p,
                                                  const int16_t *TINYC_RESTRICT input,
                                                  const int8_t *TINYC_RESTRICT filter,
                                                  const int64_t *bias, const int32_t *multiplier,
                                                  const int8_t *shift,
                                                  int16_t *TINYC_RESTRICT output) {
  const int32_t k = p->accum_depth, depth = p->output_depth, step = p->per_channel;
  const int32_t block = p->block_depth;
  const int32_t zeros[4] = {0, 0, 0, 0};
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *x = input + b * k;
    const int8_t *w = filter;
    int16_t *out = output + b * depth;
    int32_t c = 0;
    while (c < depth) {
      const int32_t rows = depth - c >= 4 ? 4 : depth - c >= 2 ? 2 : 1;
      int64_t t[4];
      int32_t s[4];
      for (int32_t r = 0; r < rows; ++r) t[r] = bias[c + r];
      for (int32_t d = 0; d < k; d += block) {
        const int32_t n = k - d < block ? k - d : block;
        const int8_t *wb = w + rows * d;
        if (rows == 4) {
          tinyc_fc_dot_1x4_s16(x + d, wb, n, zeros, s);
        } else if (rows == 2) {
          tinyc_fc_dot_1x2_s16(x + d, wb, n, zeros, s);
        } else {
          s[0] = tinyc_fc_dot_1x1_s16(x + d, wb, n, 0);
        }
        for (int32_t r = 0; r < rows; ++r) t[r] += s[r];
      }
      tinyc_fc_output_wide_s16(p, t, rows, multiplier + c * step, shift + c * step, out + c);
      c += rows;
      w += rows * k;
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_FULLY_CONNECTED_S16_H */
