/* tinyc runtime: TRANSPOSE_CONV on NHWC tensors: int8, 16x8 (int16 activations, int8 weights,
 * int64 bias) and float32.
 * Computes what reference_integer_ops::TransposeConv (reference/integer_ops/transpose_conv.h,
 * both overloads) and reference_ops::TransposeConv (reference/transpose_conv.h, float) compute,
 * as TFLM's micro kernel (micro/kernels/transpose_conv.cc) calls them, bit for bit.
 *
 * Gather, not scatter. TFLM's kernels loop over the input pixels and add each one's products
 * into every output position it reaches, so they need an accumulator for the whole output (a
 * scratch buffer of int32 for int8, int64 for 16x8; the float output itself), finished by a
 * second pass over it. Here each output pixel is computed from the input pixels that reach it,
 * then requantized at once: no scratch, and each output value is written once (float: its sums
 * are kept in the pixel's own output values until they are final).
 *
 * Which input pixels reach an output pixel. Input row in_y reaches output row out_y through
 * filter row filter_y = out_y + pad_height - in_y * stride_height when that is in
 * [0, filter_height) (TFLM: out_y = in_y * stride_height - pad_height + filter_y). Those in_y
 * are consecutive, and from one to the next filter_y drops by stride_height. The compiler lists
 * them for each output row in `rows`, three int32s per row: how many input rows reach it, the
 * first of them, and its filter row; likewise `cols` for the columns. The steps to the next one
 * are one input row (column) and -filter_row_step (-filter_col_step) filter taps, a tap being
 * filter_y * filter_width + filter_x. So the loops have no bounds tests and no divisions.
 *
 * Summation order. For one output value TFLM's loops (in_y, in_x, in_channel, filter_y,
 * filter_x, out_channel) add the products in increasing (in_y, in_x, in_channel) order, one
 * filter tap per input value, starting from 0; then the bias. The float kernel visits them in
 * the same order (rows, then columns, then input channels, ascending), so its sums round the
 * same way. Integer sums do not depend on the order: the int kernels start from the bias and
 * take each tap's products as one dot product (the compiler proves no partial sum overflows).
 *
 * Filter layouts. The int kernels read TFLite's [out_channel][filter_y][filter_x][in_channel]:
 * one tap of one output channel is input_depth contiguous weights, dotted with one input pixel.
 * The float kernel reads [filter_y][filter_x][in_channel][out_channel] (rearranged by the
 * compiler): its innermost loop, as TFLM's, runs over the output channels, so each input value
 * is read once per tap and the products go to contiguous sums.
 *
 * int8 input offset: sum((x + input_offset) * w) = sum(x * w) + input_offset * sum(w); the
 * second term is one number per tap and output channel, computed by the compiler (`tap_offsets`,
 * indexed like the filter's taps), so the dot products are plain int8 ones.
 *
 * TFLM's quirks, kept: the 16x8 kernel ignores the input and output zero points (16-bit
 * activations are symmetric in TFLite), but clamps with the activation range computed with the
 * output zero point. The int8 kernel adds the input zero point; TFLM's ignores the filter's,
 * which the compiler requires to be 0. */
#ifndef TINYC_TRANSPOSE_CONV_H
#define TINYC_TRANSPOSE_CONV_H

#include "tinyc_dsp.h" /* TINYC_NOINLINE */

TINYC_NAMESPACE_BEGIN

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
  /* taps from one contributing input row's (column's) filter tap back to the next one's:
   * stride_height * filter_width (stride_width); 0 when no output row (column) is reached by
   * two input rows (columns), as the step is then never taken */
  int32_t filter_row_step;
  int32_t filter_col_step;
  int32_t output_offset;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_transpose_conv_s8_params;

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
  int32_t filter_row_step;
  int32_t filter_col_step;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_transpose_conv_s16_params;

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
  int32_t filter_row_step;
  int32_t filter_col_step;
  float activation_min;
  float activation_max;
} tinyc_transpose_conv_f32_params;

/* The sums of one output value are computed by a function of their own. On 32-bit Arm it is kept
 * out of line: gcc -Os keeps its loop's values in registers only when it sees that loop alone
 * (see tinyc_dsp.h). Elsewhere it is inlined into the kernel, whose params are constants, so that
 * the compiler sees the input depth and vectorizes the dot products. */
#if defined(__arm__)
#define TINYC_TRANSPOSE_CONV_SUM TINYC_NOINLINE
#else
#define TINYC_TRANSPOSE_CONV_SUM TINYC_ALWAYS_INLINE
#endif

/* x[0..n) . w[0..n), int8 (products below 2^14; the compiler bounds the sums). */
TINYC_ALWAYS_INLINE int32_t tinyc_transpose_conv_dot_s8(const int8_t *TINYC_RESTRICT x,
                                                        const int8_t *TINYC_RESTRICT w,
                                                        int32_t n) {
  int32_t sum = 0;
  for (int32_t k = 0; k < n; ++k) sum += x[k] * w[k];
  return sum;
}

/* x[0..n) . w[0..n), 16x8. Each product is below 2^22 in magnitude, so runs of up to 256 are
 * summed in int32 (below 2^30) and the runs in int64, TFLM's accumulator type. */
TINYC_ALWAYS_INLINE int64_t tinyc_transpose_conv_dot_s16(const int16_t *TINYC_RESTRICT x,
                                                         const int8_t *TINYC_RESTRICT w,
                                                         int32_t n) {
  int64_t sum = 0;
  while (n > 0) {
    const int32_t run = n < 256 ? n : 256;
    int32_t part = 0;
    for (int32_t k = 0; k < run; ++k) part += x[k] * w[k];
    sum += part;
    x += run;
    w += run;
    n -= run;
  }
  return sum;
}

/* int8: sum over the `rows` x `cols` input pixels from x (the first that reaches the output
 * pixel) of (x + input_offset) . (the weights of their tap, from `tap`, channel included). */
TINYC_TRANSPOSE_CONV_SUM int32_t tinyc_transpose_conv_sum_s8(
    const tinyc_transpose_conv_s8_params *p, const int8_t *x, const int8_t *filter,
    const int32_t *tap_offsets, int32_t tap, int32_t rows, int32_t cols) {
  const int32_t n = p->input_depth;
  const int32_t x_row = p->input_width * n;
  int32_t sum = 0;
  for (; rows > 0; --rows, x += x_row, tap -= p->filter_row_step) {
    const int8_t *x_px = x;
    int32_t t = tap;
    for (int32_t j = 0; j < cols; ++j, x_px += n, t -= p->filter_col_step) {
      sum += tinyc_transpose_conv_dot_s8(x_px, filter + t * n, n) + tap_offsets[t];
    }
  }
  return sum;
}

/* 16x8: as tinyc_transpose_conv_sum_s8, int16 inputs, no offset, int64 sum. */
TINYC_TRANSPOSE_CONV_SUM int64_t tinyc_transpose_conv_sum_s16(
    const tinyc_transpose_conv_s16_params *p, const int16_t *x, const int8_t *filter,
    int32_t tap, int32_t rows, int32_t cols) {
  const int32_t n = p->input_depth;
  const int32_t x_row = p->input_width * n;
  int64_t sum = 0;
  for (; rows > 0; --rows, x += x_row, tap -= p->filter_row_step) {
    const int16_t *x_px = x;
    int32_t t = tap;
    for (int32_t j = 0; j < cols; ++j, x_px += n, t -= p->filter_col_step) {
      sum += tinyc_transpose_conv_dot_s16(x_px, filter + t * n, n);
    }
  }
  return sum;
}

/* int8. The compiler refuses weights and biases for which some input could take a sum out of
 * int32 (|bias| + sum |w| * max |x + input_offset| per channel); every partial sum here is a
 * sum of some of those terms, so none overflows. The filter's taps are numbered
 * (out_channel * filter_height + filter_y) * filter_width + filter_x. */
TINYC_INLINE void tinyc_transpose_conv_s8(const tinyc_transpose_conv_s8_params *p,
                                           const int8_t *TINYC_RESTRICT input,
                                           const int8_t *TINYC_RESTRICT filter,
                                           const int32_t *TINYC_RESTRICT bias,
                                           const int32_t *TINYC_RESTRICT tap_offsets,
                                           const int32_t *TINYC_RESTRICT multiplier,
                                           const int8_t *TINYC_RESTRICT shift,
                                           const int32_t *TINYC_RESTRICT rows,
                                           const int32_t *TINYC_RESTRICT cols,
                                           int8_t *TINYC_RESTRICT output) {
  const int32_t in_depth = p->input_depth;
  const int32_t in_row_step = p->input_width * in_depth;
  const int32_t taps = p->filter_height * p->filter_width;
  const int32_t depth = p->output_depth;
  int8_t *out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_batch = input + b * p->input_height * in_row_step;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      const int32_t *row = rows + 3 * out_y;
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x, out += depth) {
        const int32_t *col = cols + 3 * out_x;
        const int8_t *x = in_batch + row[1] * in_row_step + col[1] * in_depth;
        const int32_t tap = row[2] * p->filter_width + col[2];
        for (int32_t c = 0; c < depth; ++c) {
          const int32_t acc = bias[c] + tinyc_transpose_conv_sum_s8(p, x, filter, tap_offsets,
                                                                    c * taps + tap, row[0],
                                                                    col[0]);
          out[c] = tinyc_clamp_s8(tinyc_requantize(acc, multiplier[c], shift[c]) +
                                      p->output_offset, p->activation_min, p->activation_max);
        }
      }
    }
  }
}

/* 16x8: int64 sums; the compiler checks that no sum plus bias can leave TFLM's +-2^47 range.
 * Taps numbered as for int8. */
TINYC_INLINE void tinyc_transpose_conv_s16(const tinyc_transpose_conv_s16_params *p,
                                            const int16_t *TINYC_RESTRICT input,
                                            const int8_t *TINYC_RESTRICT filter,
                                            const int64_t *TINYC_RESTRICT bias,
                                            const int32_t *TINYC_RESTRICT multiplier,
                                            const int8_t *TINYC_RESTRICT shift,
                                            const int32_t *TINYC_RESTRICT rows,
                                            const int32_t *TINYC_RESTRICT cols,
                                            int16_t *TINYC_RESTRICT output) {
  const int32_t in_depth = p->input_depth;
  const int32_t in_row_step = p->input_width * in_depth;
  const int32_t taps = p->filter_height * p->filter_width;
  const int32_t depth = p->output_depth;
  int16_t *out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in_batch = input + b * p->input_height * in_row_step;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      const int32_t *row = rows + 3 * out_y;
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x, out += depth) {
        const int32_t *col = cols + 3 * out_x;
        const int16_t *x = in_batch + row[1] * in_row_step + col[1] * in_depth;
        const int32_t tap = row[2] * p->filter_width + col[2];
        for (int32_t c = 0; c < depth; ++c) {
          const int64_t acc = bias[c] + tinyc_transpose_conv_sum_s16(p, x, filter, c * taps + tap,
                                                                     row[0], col[0]);
          out[c] = tinyc_clamp_s16(tinyc_requantize_s64(acc, multiplier[c], shift[c]),
                                   p->activation_min, p->activation_max);
        }
      }
    }
  }
}

/* float: the output pixel's values hold its sums. They start at +0.0f and take their products
 * in TFLM's order; then, as TFLM, the bias is added and the clamp applied with std::max /
 * std::min's operand order. A missing bias is passed as zeros: the sums are never -0.0f (they
 * start at +0.0f), so adding +0.0f changes no value. */
TINYC_INLINE void tinyc_transpose_conv_f32(const tinyc_transpose_conv_f32_params *p,
                                            const float *TINYC_RESTRICT input,
                                            const float *TINYC_RESTRICT filter,
                                            const float *TINYC_RESTRICT bias,
                                            const int32_t *TINYC_RESTRICT rows,
                                            const int32_t *TINYC_RESTRICT cols,
                                            float *TINYC_RESTRICT output) {
  const int32_t in_depth = p->input_depth;
  const int32_t in_row_step = p->input_width * in_depth;
  const int32_t depth = p->output_depth;
  const int32_t tap_size = in_depth * depth;
  float *out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *in_batch = input + b * p->input_height * in_row_step;
    for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
      const int32_t *row = rows + 3 * out_y;
      for (int32_t out_x = 0; out_x < p->output_width; ++out_x, out += depth) {
        const int32_t *col = cols + 3 * out_x;
        const float *in_first = in_batch + row[1] * in_row_step + col[1] * in_depth;
        const int32_t tap_first = row[2] * p->filter_width + col[2];
        for (int32_t c = 0; c < depth; ++c) out[c] = 0.0f;
        for (int32_t i = 0; i < row[0]; ++i) {
          const float *x = in_first + i * in_row_step;
          int32_t tap = tap_first - i * p->filter_row_step;
          for (int32_t j = 0; j < col[0]; ++j, x += in_depth, tap -= p->filter_col_step) {
            const float *w = filter + tap * tap_size;
            for (int32_t k = 0; k < in_depth; ++k, w += depth) {
              const float value = x[k];
              for (int32_t c = 0; c < depth; ++c) out[c] += value * w[c];
            }
          }
        }
        for (int32_t c = 0; c < depth; ++c) {
          out[c] = tinyc_min_f32(tinyc_max_f32(out[c] + bias[c], p->activation_min),
                                 p->activation_max);
        }
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_TRANSPOSE_CONV_H */
