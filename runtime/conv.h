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
 * 3. The first two share one matrix product, tinyc_conv_matmul_*_s8: output channel pairs outside
 *    (their bias and requantization constants set up once), pixel pairs inside, two pixels by
 *    two channels per step, so every loaded byte feeds two products; tinyc_conv_s8 does one pixel
 *    by two channels. On cores with the Arm DSP extension (Cortex-M4/M7/M33/M55...) four bytes
 *    are loaded at once and multiplied two by two (SXTB16 + SMLAD): the sums are the same
 *    integers. With gcc there, a channel pair's whole run of pixel pairs is one assembly loop,
 *    chunk loops, requantization and stores included (tinyc_conv_pairs_asm).
 * 4. Requantization: where the compiler proves it exact (params requant_fast: right shifts,
 *    multipliers from QuantizeMultiplier, accumulators below 2^29, see compiler/ops/conv.py),
 *    tinyc_rq_apply (tinyc_dsp.h), five instructions on Arm, gives TFLM's double-rounded
 *    integers; else tinyc_requantize. The mode (tinyc_rq_mode: generic, fast with the whole int8
 *    range, fast with a narrower activation range) is a constant in each copy of the loops, and
 *    the kernels' inline entries pick the copy from the params, at compile time when they are the
 *    generated code's constants, so a model carries only the copies its layers use.
 *
 * Filter layout: tinyc_conv_s8 reads TFLite's OHWI filter as it is. The other two read a layout
 * the compiler arranges (compiler/ops/conv.py): the filter as a matrix of output_depth rows of
 * K = filter_height * filter_width * input_depth values (OHWI order; for the im2col kernel padded
 * with zeros to a multiple of 4), stored in pairs of rows (0, 1), (2, 3), ...: 4-value chunks of
 * the two rows alternate, then the K % 4 last values of the first row, then those of the second.
 * An unpaired last row is stored as is. */
#ifndef TINYC_CONV_H
#define TINYC_CONV_H

#include "tinyc_dsp.h"

TINYC_NAMESPACE_BEGIN

/* A conv mode beyond tinyc_dsp.h's: TINYC_RQ_FAST with k (the column length) a multiple of 4 and
 * an even number of output channels, where the assembly of tinyc_conv_pairs_asm runs. */
#define TINYC_RQ_FAST4 3
TINYC_ALWAYS_INLINE int32_t tinyc_conv_mode(int32_t mode, int32_t k, int32_t channels) {
#if defined(TINYC_DSP) && defined(__OPTIMIZE__) && !defined(__clang__)
  return mode == TINYC_RQ_FAST && k % 4 == 0 && channels % 2 == 0 ? TINYC_RQ_FAST4 : mode;
#else
  (void)k;
  (void)channels;
  return mode;
#endif
}


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
  int32_t requant_fast; /* 1: the compiler proved tinyc_rq_apply exact here (tinyc_dsp.h) */
  int32_t pixel_block;  /* tinyc_conv_1x1_s8: pixels per pass, 0 = all (see there) */
} tinyc_conv_s8_params;


/* The 13-register assembly below (the 2x2 chunk loops) is for gcc, whose register allocator
 * finds 13 registers for an asm statement at every optimization level that defines __OPTIMIZE__,
 * with a frame pointer too; clang (and Arm Compiler 6) refuse it and take the intrinsics loops,
 * which compute the same sums. */
#if defined(TINYC_DSP) && defined(__OPTIMIZE__) && !defined(__clang__)
#define TINYC_CONV_ASM13 1
#endif

#ifdef TINYC_CONV_ASM13
/* One 4-value chunk of the 2x2 product, in assembly: a = x0[0:4], b = x1[0:4], v = wa[0:4] then
 * wb[0:4]; SXTB16 without / with a rotation by 8 splits 4 int8 values into the int16 pairs
 * (v0, v2) and (v1, v3), SMLAD multiplies two pairs and adds both products. The three loads come
 * back to back (a load right after a load costs one cycle, not two) and post-increment their
 * pointers. 13 registers: the loop counter lives in memory (an end pointer compared with x0). */
#define TINYC_CONV_CHUNK_2X2                  \
  "ldr %[a], [%[x0]], #4\n\t"                 \
  "ldr %[b], [%[x1]], #4\n\t"                 \
  "ldr %[v], [%[w]], #4\n\t"                  \
  "sxtb16 %[ae], %[a]\n\t"                    \
  "sxtb16 %[a], %[a], ror #8\n\t"             \
  "sxtb16 %[be], %[b]\n\t"                    \
  "sxtb16 %[b], %[b], ror #8\n\t"             \
  "sxtb16 %[ve], %[v]\n\t"                    \
  "sxtb16 %[v], %[v], ror #8\n\t"             \
  "smlad %[s00], %[ae], %[ve], %[s00]\n\t"    \
  "smlad %[s00], %[a], %[v], %[s00]\n\t"      \
  "smlad %[s10], %[be], %[ve], %[s10]\n\t"    \
  "smlad %[s10], %[b], %[v], %[s10]\n\t"      \
  "ldr %[v], [%[w]], #4\n\t"                  \
  "sxtb16 %[ve], %[v]\n\t"                    \
  "sxtb16 %[v], %[v], ror #8\n\t"             \
  "smlad %[s01], %[ae], %[ve], %[s01]\n\t"    \
  "smlad %[s01], %[a], %[v], %[s01]\n\t"      \
  "smlad %[s11], %[be], %[ve], %[s11]\n\t"    \
  "smlad %[s11], %[b], %[v], %[s11]\n\t"

#define TINYC_CONV_LOOP_2X2(CHUNKS)                                                          \
  __asm__ volatile("1:\n\t" CHUNKS "ldr %[a], %[end]\n\t"                                    \
                   "cmp %[x0], %[a]\n\t"                                                     \
                   "bne 1b"                                                                  \
                   : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11),     \
                     [x0] "+r"(x0), [x1] "+r"(x1), [w] "+r"(w), [a] "=&r"(a), [b] "=&r"(b), \
                     [v] "=&r"(v), [ae] "=&r"(ae), [be] "=&r"(be), [ve] "=&r"(ve)            \
                   : [end] "m"(end)                                                          \
                   : "cc", "memory")

/* s[0] += x0.wa, s[1] += x0.wb, s[2] += x1.wa, s[3] += x1.wb for the interleaved pair of filter
 * rows (wa, wb) at `w`, over k values: four chunks per pass while 16 values are left, then one
 * per pass, then the k % 4 last values. Inline: the accumulators stay in registers. */
TINYC_ALWAYS_INLINE void tinyc_conv_dot_2x2_s8(const int8_t *x0, const int8_t *x1,
                                               const int8_t *w, int32_t k, int32_t s[4]) {
  int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
  int32_t a, b, v, ae, be, ve;
  const int8_t *end;
  if (k >= 16) {
    end = x0 + (k & ~15);
    TINYC_CONV_LOOP_2X2(TINYC_CONV_CHUNK_2X2 TINYC_CONV_CHUNK_2X2 TINYC_CONV_CHUNK_2X2
                            TINYC_CONV_CHUNK_2X2);
  }
  if (k & 12) {
    end = x0 + (k & 12);
    TINYC_CONV_LOOP_2X2(TINYC_CONV_CHUNK_2X2);
  }
  const int32_t tail = k & 3;
  for (int32_t j = 0; j < tail; ++j) {
    const int32_t xa = x0[j], xb = x1[j], va = w[j], vb = w[tail + j];
    s00 += xa * va;
    s01 += xa * vb;
    s10 += xb * va;
    s11 += xb * vb;
  }
  s[0] = s00;
  s[1] = s01;
  s[2] = s10;
  s[3] = s11;
}
#else
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
#if defined(__GNUC__) && !defined(__clang__) && defined(__XTENSA__)
/* gcc -O2 for Xtensa schedules every load of a pass before the first multiply (pre-allocation
 * scheduling) and then spills half of them; without that pass the loop keeps its registers. */
__attribute__((optimize("no-schedule-insns")))
#endif
TINYC_NOINLINE void tinyc_conv_dot_2x2_s8(const int8_t *x0, const int8_t *x1,
                                                      const int8_t *w, int32_t k, int32_t s[4]) {
  int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
  /* one chunk a pass, its four steps written out, pointers moving: few live values, so that
   * compilers for small cores (gcc for Xtensa) keep them all in registers */
  for (int32_t i = k >> 2; i > 0; --i, w += 4) {
#define TINYC_CONV_STEP_2X2                                  \
  do {                                                       \
    const int32_t a = *x0++, b = *x1++, va = w[0], vb = w[4]; \
    ++w;                                                     \
    s00 += a * va;                                           \
    s01 += a * vb;                                           \
    s10 += b * va;                                           \
    s11 += b * vb;                                           \
  } while (0)
    TINYC_CONV_STEP_2X2;
    TINYC_CONV_STEP_2X2;
    TINYC_CONV_STEP_2X2;
    TINYC_CONV_STEP_2X2;
#undef TINYC_CONV_STEP_2X2
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



#endif

/* s[0] += x0.w, s[2] += x1.w for one plain filter row `w` of k values (an unpaired last row). */
TINYC_INLINE void tinyc_conv_dot_2x1_s8(const int8_t *x0, const int8_t *x1, const int8_t *w,
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

#ifdef TINYC_CONV_ASM13
#define TINYC_CONV_HAVE_PAIRS_ASM 1
/* The whole of a channel pair's work for `ctl[16]` pixel pairs, in assembly: for each pair of
 * columns x0, x1 = x0 + ctl[11], the four sums start at the biases, run the chunks of
 * tinyc_conv_dot_2x2_s8 over ctl[9] = k values (a multiple of 4) four chunks a pass, the first
 * pass entered so that it does the ctl[10] = (k / 4) % 4 odd chunks), are requantized by tinyc_rq_apply (mode TINYC_RQ_FAST:
 * SSAT is the whole clamp) and stored at out and out + ctl[12]; then out moves ctl[13] and x0
 * ctl[11] further (past the pair). Nothing goes through the compiler between pixels: gcc -Os
 * otherwise keeps every loop value on the stack around the 13-register chunk loop.
 * ctl: 0 b0, 1 b1, 2 m2_0, 3 m2_1, 4 round0, 5 round1, 6 shift0, 7 shift1, 8 output offset,
 * 9 k, 10 (k / 4) % 4, 11 x1 - x0 (k, or 0 for one pixel), 12 out1 - out (output_depth, or 0),
 * 13 out step, 14 the pair's filter rows, 15 out, 16 count, 17 scratch. */
TINYC_NOINLINE void tinyc_conv_pairs_asm(const int8_t *x0, int32_t *ctl) {
  int32_t s00, s01, s10, s11, a, b, v, ae, be, ve;
  const int8_t *x1, *w;
  int32_t *saved = ctl;
  __asm__ volatile(
      "0:\n\t"
      "ldr %[ve], %[saved]\n\t"
      "ldrd %[s00], %[s01], [%[ve], #0]\n\t"
      "ldr %[a], [%[ve], #44]\n\t"
      "ldr %[w], [%[ve], #56]\n\t"
      "mov %[s10], %[s00]\n\t"
      "mov %[s11], %[s01]\n\t"
      "add %[x1], %[x0], %[a]\n\t"
      "ldr %[a], [%[ve], #36]\n\t"
      "add %[a], %[x0], %[a]\n\t"
      "str %[a], [%[ve], #68]\n\t"
      /* (k / 4) % 4 chunks first: enter the unrolled loop at the chunk that leaves them */
      "ldr %[a], [%[ve], #40]\n\t"
      "cmp %[a], #2\n\t"
      "bgt 2f\n\t"
      "beq 3f\n\t"
      "cmp %[a], #1\n\t"
      "beq 5f\n"
      "1:\n\t"
      TINYC_CONV_CHUNK_2X2
      "2:\n\t"
      TINYC_CONV_CHUNK_2X2
      "3:\n\t"
      TINYC_CONV_CHUNK_2X2
      "5:\n\t"
      TINYC_CONV_CHUNK_2X2
      "ldr %[a], %[saved]\n\t"
      "ldr %[a], [%[a], #68]\n\t"
      "cmp %[x0], %[a]\n\t"
      "bne 1b\n"
      "4:\n\t"
      /* requantize (TINYC_RQ_ASM, tinyc_dsp.h), + offset, saturate */
      "ldr %[ve], %[saved]\n\t"
      "ldrd %[a], %[b], [%[ve], #8]\n\t"
      "ldrd %[v], %[ae], [%[ve], #16]\n\t"
      "ldr %[be], [%[ve], #24]\n\t"
      "ldr %[x1], [%[ve], #32]\n\t"
      TINYC_RQ_ASM("s00", "w", "a", "v", "be")
      "add %[w], %[w], %[x1]\n\t"
      "ssat %[s00], #8, %[w]\n\t"
      TINYC_RQ_ASM("s10", "w", "a", "v", "be")
      "add %[w], %[w], %[x1]\n\t"
      "ssat %[s10], #8, %[w]\n\t"
      "ldr %[be], [%[ve], #28]\n\t"
      TINYC_RQ_ASM("s01", "w", "b", "ae", "be")
      "add %[w], %[w], %[x1]\n\t"
      "ssat %[s01], #8, %[w]\n\t"
      TINYC_RQ_ASM("s11", "w", "b", "ae", "be")
      "add %[w], %[w], %[x1]\n\t"
      "ssat %[s11], #8, %[w]\n\t"
      /* store, step */
      "ldr %[w], [%[ve], #60]\n\t"
      "ldr %[a], [%[ve], #48]\n\t"
      "strb %[s00], [%[w]]\n\t"
      "strb %[s01], [%[w], #1]\n\t"
      "add %[a], %[w], %[a]\n\t"
      "strb %[s10], [%[a]]\n\t"
      "strb %[s11], [%[a], #1]\n\t"
      "ldr %[a], [%[ve], #52]\n\t"
      "ldr %[b], [%[ve], #44]\n\t"
      "add %[w], %[w], %[a]\n\t"
      "add %[x0], %[x0], %[b]\n\t"
      "ldr %[a], [%[ve], #64]\n\t"
      "str %[w], [%[ve], #60]\n\t"
      "subs %[a], %[a], #1\n\t"
      "str %[a], [%[ve], #64]\n\t"
      "bne 0b"
      : [s00] "=&r"(s00), [s01] "=&r"(s01), [s10] "=&r"(s10), [s11] "=&r"(s11),
        [x0] "+r"(x0), [x1] "=&r"(x1), [w] "=&r"(w), [a] "=&r"(a), [b] "=&r"(b),
        [v] "=&r"(v), [ae] "=&r"(ae), [be] "=&r"(be), [ve] "=&r"(ve)
      : [saved] "m"(saved)
      : "cc", "memory");
}

/* tinyc_conv_matmul_body_s8 in mode TINYC_RQ_FAST4 (k a multiple of 4, an even channel count):
 * each channel pair's pixel pairs by tinyc_conv_pairs_asm (a last odd pixel by one more pass, as
 * a pair of itself). */
TINYC_ALWAYS_INLINE void tinyc_conv_matmul_asm_s8(const tinyc_conv_s8_params *p,
                                                  const int8_t *x, int32_t pixels, int32_t k,
                                                  const int8_t *filter, const int32_t *bias,
                                                  const int32_t *multiplier,
                                                  const int8_t *shift, int8_t *out) {
  const int32_t channels = p->output_depth, offset = p->output_offset;
  int32_t ctl[18];
  ctl[8] = offset;
  ctl[9] = k;
  ctl[10] = (k >> 2) & 3;
  ctl[13] = 2 * channels;
  for (int32_t c = 0; c < channels; c += 2, filter += 2 * k) {
    const tinyc_rq r0 = tinyc_rq_make(multiplier[c], shift[c]);
    const tinyc_rq r1 = tinyc_rq_make(multiplier[c + 1], shift[c + 1]);
    ctl[0] = bias[c];
    ctl[1] = bias[c + 1];
    ctl[2] = r0.mul;
    ctl[3] = r1.mul;
    ctl[4] = r0.round;
    ctl[5] = r1.round;
    ctl[6] = r0.shift;
    ctl[7] = r1.shift;
    ctl[14] = (int32_t)(intptr_t)filter;
    ctl[15] = (int32_t)(intptr_t)(out + c);
    const int32_t pairs = pixels >> 1;
    if (pairs > 0) {
      ctl[11] = k;
      ctl[12] = channels;
      ctl[16] = pairs;
      tinyc_conv_pairs_asm(x, ctl);
    }
    if (pixels & 1) {
      ctl[11] = 0;
      ctl[12] = 0;
      ctl[16] = 1;
      tinyc_conv_pairs_asm(x + (pixels - 1) * k, ctl);
    }
  }
}
#endif

/* Every output channel of `pixels` pixels whose columns (k values each) follow each other from
 * x: out[i * output_depth + c] for pixel i and channel c. Channel pairs outside (their bias and
 * requantization constants set up once), pixel pairs inside; the 2x2 blocks of tinyc_conv_dot_2x2_s8.
 * When one pixel is left over, it is computed twice and stored twice. Out of line, so that its
 * loops keep their registers: one copy per requantization mode serves the 1x1 and the im2col
 * kernels (the mode is a constant in each, see TINYC_RQ_GENERIC). */
TINYC_ALWAYS_INLINE void tinyc_conv_matmul_body_s8(const tinyc_conv_s8_params *p,
                                                   const int8_t *x, int32_t pixels, int32_t k,
                                                   const int8_t *filter, const int32_t *bias,
                                                   const int32_t *multiplier,
                                                   const int8_t *shift, int8_t *out,
                                                   const int32_t mode) {
  const int32_t channels = p->output_depth, offset = p->output_offset;
  const int32_t lo = p->activation_min, hi = p->activation_max, clamp = mode == TINYC_RQ_CLAMP;
  for (int32_t c = 0; c < channels; c += 2, filter += 2 * k) {
    const int32_t pair = c + 1 < channels, c1 = c + pair;
    const int32_t b0 = bias[c], b1 = bias[c1];
    const tinyc_rq r0 = tinyc_rq_make(multiplier[c], shift[c]);
    const tinyc_rq r1 = tinyc_rq_make(multiplier[c1], shift[c1]);
    const int8_t *x0 = x;
    int8_t *o = out + c;
    for (int32_t i = 0; i < pixels; i += 2, x0 += 2 * k, o += 2 * channels) {
      const int32_t next = i + 1 < pixels; /* 0: one pixel left, computed twice */
      int32_t s[4] = {b0, b1, b0, b1};
      if (pair)
        tinyc_conv_dot_2x2_s8(x0, x0 + next * k, filter, k, s);
      else
        tinyc_conv_dot_2x1_s8(x0, x0 + next * k, filter, k, s);
      int8_t *o1 = o + next * channels;
      if (mode != TINYC_RQ_GENERIC) {
        o[0] = tinyc_rq_out_s8(tinyc_rq_apply(s[0], r0) + offset, lo, hi, clamp);
        o1[0] = tinyc_rq_out_s8(tinyc_rq_apply(s[2], r0) + offset, lo, hi, clamp);
        if (pair) {
          o[1] = tinyc_rq_out_s8(tinyc_rq_apply(s[1], r1) + offset, lo, hi, clamp);
          o1[1] = tinyc_rq_out_s8(tinyc_rq_apply(s[3], r1) + offset, lo, hi, clamp);
        }
      } else {
        tinyc_conv_output_s8(p, s, pair, multiplier + c, shift + c, o, o1);
      }
    }
  }
}

TINYC_NOINLINE void tinyc_conv_matmul_s8(const tinyc_conv_s8_params *p, const int8_t *x,
                                         int32_t pixels, int32_t k, const int8_t *filter,
                                         const int32_t *bias, const int32_t *multiplier,
                                         const int8_t *shift, int8_t *out) {
  tinyc_conv_matmul_body_s8(p, x, pixels, k, filter, bias, multiplier, shift, out,
                            TINYC_RQ_GENERIC);
}

TINYC_NOINLINE void tinyc_conv_matmul_rq_s8(const tinyc_conv_s8_params *p, const int8_t *x,
                                            int32_t pixels, int32_t k, const int8_t *filter,
                                            const int32_t *bias, const int32_t *multiplier,
                                            const int8_t *shift, int8_t *out) {
  tinyc_conv_matmul_body_s8(p, x, pixels, k, filter, bias, multiplier, shift, out,
                            TINYC_RQ_FAST);
}

TINYC_NOINLINE void tinyc_conv_matmul_rqc_s8(const tinyc_conv_s8_params *p, const int8_t *x,
                                             int32_t pixels, int32_t k, const int8_t *filter,
                                             const int32_t *bias, const int32_t *multiplier,
                                             const int8_t *shift, int8_t *out) {
  tinyc_conv_matmul_body_s8(p, x, pixels, k, filter, bias, multiplier, shift, out,
                            TINYC_RQ_CLAMP);
}

#ifdef TINYC_CONV_HAVE_PAIRS_ASM
TINYC_NOINLINE void tinyc_conv_matmul_rq4_s8(const tinyc_conv_s8_params *p, const int8_t *x,
                                             int32_t pixels, int32_t k, const int8_t *filter,
                                             const int32_t *bias, const int32_t *multiplier,
                                             const int8_t *shift, int8_t *out) {
  tinyc_conv_matmul_asm_s8(p, x, pixels, k, filter, bias, multiplier, shift, out);
}
#endif

/* The matmul of the layer's requantization mode (TINYC_RQ_FAST4: TINYC_RQ_FAST with k a multiple
 * of 4, where the assembly is built). */
TINYC_ALWAYS_INLINE void tinyc_conv_matmul_mode_s8(const tinyc_conv_s8_params *p,
                                                   const int8_t *x, int32_t pixels, int32_t k,
                                                   const int8_t *filter, const int32_t *bias,
                                                   const int32_t *multiplier,
                                                   const int8_t *shift, int8_t *out,
                                                   const int32_t mode) {
  if (mode == TINYC_RQ_FAST4) {
#ifdef TINYC_CONV_HAVE_PAIRS_ASM
    tinyc_conv_matmul_rq4_s8(p, x, pixels, k, filter, bias, multiplier, shift, out);
#else
    tinyc_conv_matmul_rq_s8(p, x, pixels, k, filter, bias, multiplier, shift, out);
#endif
  } else if (mode == TINYC_RQ_FAST)
    tinyc_conv_matmul_rq_s8(p, x, pixels, k, filter, bias, multiplier, shift, out);
  else if (mode == TINYC_RQ_CLAMP)
    tinyc_conv_matmul_rqc_s8(p, x, pixels, k, filter, bias, multiplier, shift, out);
  else
    tinyc_conv_matmul_s8(p, x, pixels, k, filter, bias, multiplier, shift, out);
}

/* The filter taps f in [*first, *last) whose input coordinate origin + f * dilation lies in
 * [0, size): the part of the window that is inside the input. */
TINYC_INLINE void tinyc_conv_window(int32_t origin, int32_t dilation, int32_t filter,
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
TINYC_INLINE int32_t tinyc_conv_sum_s8(const int8_t *w, int32_t n) {
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
TINYC_INLINE int32_t tinyc_conv_skipped_sum_s8(const tinyc_conv_s8_params *p, const int8_t *w,
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

TINYC_INLINE void tinyc_conv_fill_s8(int8_t *dst, int8_t value, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = value;
}

TINYC_INLINE void tinyc_conv_copy_s8(int8_t *dst, const int8_t *src, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
}

/* Gather the column of output pixel (oy, ox) of one image into `col`: filter_height rows of
 * filter_width * input_depth values, input_zero_point where the window leaves the input (which
 * the folded bias expects: no correction needed). */
TINYC_INLINE void tinyc_conv_gather_s8(const tinyc_conv_s8_params *p, const int8_t *image,
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

/* In place (compiler/overlap_order.py conv_im2col_gap): output pixels in pairs in raster order,
 * both windows gathered before the pair's output is stored; the input may start that many bytes
 * into the output's buffer. The scratch-free fallback (tinyc_conv_s8, conv_pixel_gap) declares
 * the larger of the two offsets, so either kernel may run.
 *
 * Any filter size, stride, dilation and padding: the columns of two output pixels are gathered
 * into `scratch` (2 * k bytes, planned in the arena: k is filter_height * filter_width *
 * input_depth rounded up to a multiple of 4, the filter rows padded with zeros to match) and
 * multiplied with the filter, stored as interleaved row pairs (see the top). */
TINYC_ALWAYS_INLINE void tinyc_conv_im2col_body_s8(const tinyc_conv_s8_params *p,
                                                   const int8_t *input,
                                                   const int8_t *TINYC_RESTRICT filter,
                                                   const int32_t *bias, const int32_t *multiplier,
                                                   const int8_t *shift,
                                                   int8_t *output, void *scratch,
                                                   const int32_t mode) {
  const int32_t taps = p->filter_height * p->filter_width * p->input_depth;
  const int32_t k = (taps + 3) & ~3;
  int8_t *columns[2] = {(int8_t *)scratch, (int8_t *)scratch + k};
  /* The padding of each column to a multiple of 4 meets zero weights; zeros there all the same,
   * so no byte of the sums comes from memory nothing wrote. */
  tinyc_conv_fill_s8(columns[0] + taps, 0, k - taps);
  tinyc_conv_fill_s8(columns[1] + taps, 0, k - taps);
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
      tinyc_conv_matmul_mode_s8(p, columns[0], 1 + two, k, filter, bias, multiplier, shift,
                                out + i * channels, mode);
    }
  }
}

/* Each requantization mode twice: with restrict on input and output (the call runs apart, as
 * most do: the compiler may keep input values in registers across output stores) and without
 * (the plan overlaps them: compiler/plan_memory.py renames such a call to the _in_place one). */
#define TINYC_CONV_IM2COL_VARIANT(NAME, MODE, R)                                               \
  TINYC_NOINLINE void NAME(const tinyc_conv_s8_params *p, const int8_t *R input,               \
                           const int8_t *TINYC_RESTRICT filter, const int32_t *bias,           \
                           const int32_t *multiplier, const int8_t *shift, int8_t *R output,   \
                           void *scratch) {                                                    \
    tinyc_conv_im2col_body_s8(p, input, filter, bias, multiplier, shift, output, scratch,      \
                              MODE);                                                           \
  }
#define TINYC_NO_RESTRICT
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_generic_s8, TINYC_RQ_GENERIC, TINYC_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_rq_s8, TINYC_RQ_FAST, TINYC_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_rqc_s8, TINYC_RQ_CLAMP, TINYC_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_rq4_s8, TINYC_RQ_FAST4, TINYC_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_generic_ip_s8, TINYC_RQ_GENERIC, TINYC_NO_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_rq_ip_s8, TINYC_RQ_FAST, TINYC_NO_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_rqc_ip_s8, TINYC_RQ_CLAMP, TINYC_NO_RESTRICT)
TINYC_CONV_IM2COL_VARIANT(tinyc_conv_im2col_rq4_ip_s8, TINYC_RQ_FAST4, TINYC_NO_RESTRICT)

/* The variant of the layer's requantization mode: inline, so that with the params a constant
 * the choice is made at compile time and only that variant is built. */
#define TINYC_CONV_IM2COL_DISPATCH(NAME, SUFFIX, R)                                            \
  TINYC_ALWAYS_INLINE void NAME(const tinyc_conv_s8_params *p, const int8_t *R input,          \
                                const int8_t *TINYC_RESTRICT filter, const int32_t *bias,      \
                                const int32_t *multiplier, const int8_t *shift,                \
                                int8_t *R output, void *scratch) {                             \
    const int32_t mode = tinyc_conv_mode(                                                      \
        tinyc_rq_mode(p->requant_fast, p->activation_min, p->activation_max),                  \
        (p->filter_height * p->filter_width * p->input_depth + 3) & ~3, p->output_depth);      \
    if (mode == TINYC_RQ_FAST4)                                                                \
      tinyc_conv_im2col_rq4##SUFFIX(p, input, filter, bias, multiplier, shift, output,         \
                                    scratch);                                                  \
    else if (mode == TINYC_RQ_FAST)                                                            \
      tinyc_conv_im2col_rq##SUFFIX(p, input, filter, bias, multiplier, shift, output, scratch); \
    else if (mode == TINYC_RQ_CLAMP)                                                           \
      tinyc_conv_im2col_rqc##SUFFIX(p, input, filter, bias, multiplier, shift, output,         \
                                    scratch);                                                  \
    else                                                                                       \
      tinyc_conv_im2col_generic##SUFFIX(p, input, filter, bias, multiplier, shift, output,     \
                                        scratch);                                              \
  }
TINYC_CONV_IM2COL_DISPATCH(tinyc_conv_im2col_s8, _s8, TINYC_RESTRICT)
TINYC_CONV_IM2COL_DISPATCH(tinyc_conv_im2col_in_place_s8, _ip_s8, TINYC_NO_RESTRICT)

/* Any filter size, stride, dilation and padding; filter in TFLite's OHWI layout. No buffer at all,
 * one output pixel at a time: for calls the plan gives no scratch. In place
 * (compiler/overlap_order.py conv_pixel_gap): pixels in raster order, each pixel's channels in
 * pairs, every pair reading the window before storing its two bytes. */
TINYC_INLINE void tinyc_conv_s8(const tinyc_conv_s8_params *p, const int8_t *input,
                                 const int8_t *TINYC_RESTRICT filter, const int32_t *bias,
                                 const int32_t *multiplier, const int8_t *shift,
                                 int8_t *output) {
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

/* 1x1 filter, stride 1, no padding: the columns are the input pixels. Inline: with the params
 * a constant, only the matmul of the layer's requantization mode is built.
 *
 * In place: pixel_block > 0 runs the matrix product on blocks of that many pixels (even), one
 * after the other, so that the input can share bytes with the output (compiler/ops/conv.py,
 * compiler/overlap_order.py matmul_gap). The order that allows it, on every path (the assembly
 * of tinyc_conv_pairs_asm and the C loops of tinyc_conv_matmul_body_s8 alike): blocks in pixel
 * order; in a block, output channel pairs in order; for each pair the block's pixels in pairs,
 * both pixels' k input bytes read before the pair's four output bytes are stored. A block's
 * input is read again for every channel pair, so the output written over it must stay below
 * the block's first input byte until its last pair: the planner's offset covers that. With
 * pixel_block 0 (all pixels, the fastest: the constants of a channel pair are set up once) no
 * input byte may be overwritten before the last channel pair, and the layer runs apart.
 * pixel_block < 0 runs blocks of -pixel_block pixels from the last block to the first (each
 * block in the order above): the input may then sit below the output (matmul_gap with a
 * negative block), and a chain of in-place layers alternating the two directions stays where
 * it is instead of moving down the arena by every layer's offset. */
#define TINYC_CONV_1X1(NAME, R)                                                                \
  TINYC_ALWAYS_INLINE void NAME(const tinyc_conv_s8_params *p, const int8_t *R input,          \
                                const int8_t *TINYC_RESTRICT filter, const int32_t *bias,      \
                                const int32_t *multiplier, const int8_t *shift,                \
                                int8_t *R output) {                                            \
    const int32_t mode = tinyc_conv_mode(                                                      \
        tinyc_rq_mode(p->requant_fast, p->activation_min, p->activation_max), p->input_depth,  \
        p->output_depth);                                                                      \
    const int32_t pixels = p->batches * p->output_height * p->output_width;                    \
    if (p->pixel_block < 0) { /* backwards: the blocks from the last (maybe short) one */     \
      const int32_t block = -p->pixel_block;                                                   \
      for (int32_t i = (pixels - 1) / block * block; i >= 0; i -= block) {                     \
        const int32_t n = pixels - i < block ? pixels - i : block;                             \
        tinyc_conv_matmul_mode_s8(p, input + i * p->input_depth, n, p->input_depth, filter,    \
                                  bias, multiplier, shift, output + i * p->output_depth,       \
                                  mode);                                                       \
      }                                                                                        \
      return;                                                                                  \
    }                                                                                          \
    const int32_t block = p->pixel_block > 0 ? p->pixel_block : pixels;                        \
    for (int32_t i = 0; i < pixels; i += block) {                                              \
      const int32_t n = pixels - i < block ? pixels - i : block;                               \
      tinyc_conv_matmul_mode_s8(p, input + i * p->input_depth, n, p->input_depth, filter,      \
                                bias, multiplier, shift, output + i * p->output_depth, mode);  \
    }                                                                                          \
  }
/* Apart (restrict: the fastest) and in place (compiler/plan_memory.py renames a call whose
 * input the plan puts inside its output). */
TINYC_CONV_1X1(tinyc_conv_1x1_s8, TINYC_RESTRICT)
TINYC_CONV_1X1(tinyc_conv_1x1_in_place_s8, TINYC_NO_RESTRICT)

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
TINYC_INLINE int32_t tinyc_conv_grouped_skipped_sum_s8(const tinyc_conv_grouped_s8_params *p,
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

/* Any filter size, stride, dilation, padding and group count. In place: the order of
 * tinyc_conv_s8 (pixels in raster order, channels of a pixel in pairs, each pair reading its
 * group's part of the window before storing). */
TINYC_INLINE void tinyc_conv_grouped_s8(const tinyc_conv_grouped_s8_params *p,
                                         const int8_t *input,
                                         const int8_t *TINYC_RESTRICT filter,
                                         const int32_t *bias, const int32_t *multiplier,
                                         const int8_t *shift, int8_t *output) {
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

TINYC_NAMESPACE_END

#endif /* TINYC_CONV_H */
