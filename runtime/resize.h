/* tinyc runtime: RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR on NHWC tensors.
 * Mirrors TFLM reference_ops::ResizeNearestNeighbor (reference/resize_nearest_neighbor.h),
 * reference_ops::ResizeBilinear (float) and reference_ops::ResizeBilinearInteger (int8)
 * (reference/resize_bilinear.h), the functions TFLM's micro kernels call for these types.
 *
 * The output size is a constant of the model, so everything TFLM computes per output row and
 * column (GetNearestNeighbor, ComputeInterpolationValues[Integer]) is computed by the compiler
 * with TFLM's own arithmetic (float32 or 10-bit fixed point) and stored as small const arrays:
 *   - nearest: `rows[y]` = in_y * input_width * depth and `cols[x]` = in_x * depth (elements);
 *   - bilinear: `rows[2y], rows[2y+1]` = the offsets of rows y0 and y1, `cols[2x], cols[2x+1]`
 *     those of columns x0 and x1; the weights arrays hold, per row / column, the weight of the
 *     lower and of the upper neighbour.
 * The kernels are then plain loop nests. Nothing is rescaled: TFLM copies / interpolates the
 * quantized values as they are, whatever the input and output quantization. */
#ifndef TINYC_RESIZE_H
#define TINYC_RESIZE_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t output_height;
  int32_t output_width;
  int32_t depth;
  int32_t input_batch_stride; /* input_height * input_width * depth */
} tinyc_resize_params;

/* --- RESIZE_NEAREST_NEIGHBOR: a pure copy of one input pixel (depth elements) per output pixel.
 * TFLM copies float tensors as int32 words; the _x32 kernel does the same. */

TINYC_INLINE void tinyc_resize_nearest_x8(const tinyc_resize_params *p, const void *input,
                                           const int32_t *rows, const int32_t *cols,
                                           void *output) {
  const int8_t *in = (const int8_t *)input;
  int8_t *out = (int8_t *)output;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->output_height; ++y) {
      const int8_t *row = in + rows[y];
      for (int32_t x = 0; x < p->output_width; ++x) {
        const int8_t *pixel = row + cols[x];
        for (int32_t c = 0; c < p->depth; ++c) *out++ = pixel[c];
      }
    }
    in += p->input_batch_stride;
  }
}

TINYC_INLINE void tinyc_resize_nearest_x16(const tinyc_resize_params *p, const void *input,
                                            const int32_t *rows, const int32_t *cols,
                                            void *output) {
  const int16_t *in = (const int16_t *)input;
  int16_t *out = (int16_t *)output;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->output_height; ++y) {
      const int16_t *row = in + rows[y];
      for (int32_t x = 0; x < p->output_width; ++x) {
        const int16_t *pixel = row + cols[x];
        for (int32_t c = 0; c < p->depth; ++c) *out++ = pixel[c];
      }
    }
    in += p->input_batch_stride;
  }
}

TINYC_INLINE void tinyc_resize_nearest_x32(const tinyc_resize_params *p, const void *input,
                                            const int32_t *rows, const int32_t *cols,
                                            void *output) {
  const int32_t *in = (const int32_t *)input;
  int32_t *out = (int32_t *)output;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->output_height; ++y) {
      const int32_t *row = in + rows[y];
      for (int32_t x = 0; x < p->output_width; ++x) {
        const int32_t *pixel = row + cols[x];
        for (int32_t c = 0; c < p->depth; ++c) *out++ = pixel[c];
      }
    }
    in += p->input_batch_stride;
  }
}

/* --- RESIZE_BILINEAR, int8: ResizeBilinearInteger. Weights are in units of 2^-10 per axis
 * (TFLM's `(1 << 10) - (input_y - (1 << 10) * y0)` and `input_y - (1 << 10) * y0`), so the four
 * products carry 20 fractional bits. TFLM forms each product in int64; here |w_lo| + |w_hi| is at
 * most 2048 per axis (a weight is negative only for half-pixel centers left of the first input
 * pixel, and then both neighbours are that pixel), so with int8 values the four products sum to
 * at most 2^29 in magnitude and int32 holds exactly the same integers (the compiler checks the
 * bound for every row and column). The
 * result is rounded as TFLM's double-rounding build does: half away from zero, then C's
 * truncating division by 2^20. */
TINYC_INLINE void tinyc_resize_bilinear_s8(const tinyc_resize_params *p,
                                            const int8_t *TINYC_RESTRICT input,
                                            const int32_t *rows, const int32_t *row_weights,
                                            const int32_t *cols, const int32_t *col_weights,
                                            int8_t *TINYC_RESTRICT output) {
  const int8_t *in = input;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->output_height; ++y) {
      const int8_t *row0 = in + rows[2 * y];
      const int8_t *row1 = in + rows[2 * y + 1];
      const int32_t wy0 = row_weights[2 * y], wy1 = row_weights[2 * y + 1];
      for (int32_t x = 0; x < p->output_width; ++x) {
        const int32_t x0 = cols[2 * x], x1 = cols[2 * x + 1];
        const int32_t wx0 = col_weights[2 * x], wx1 = col_weights[2 * x + 1];
        /* TFLM's output_20_ll, _lu, _rl and _ru weights */
        const int32_t w00 = wy0 * wx0, w10 = wy1 * wx0, w01 = wy0 * wx1, w11 = wy1 * wx1;
        for (int32_t c = 0; c < p->depth; ++c) {
          const int32_t output_20 = row0[x0 + c] * w00 + row1[x0 + c] * w10 +
                                    row0[x1 + c] * w01 + row1[x1 + c] * w11;
          const int32_t round = output_20 > 0 ? (1 << 19) : -(1 << 19);
          *output++ = (int8_t)((output_20 + round) / (1 << 20));
        }
      }
    }
    in += p->input_batch_stride;
  }
}

/* --- RESIZE_BILINEAR, float: ResizeBilinear<float>. The weights are TFLM's float values
 * 1 - (input_y - y0) and input_y - y0 (likewise for x), computed by the compiler in float32 as
 * TFLM computes them. Each term is (value * weight_y) * weight_x and the terms are summed in
 * TFLM's order (y0x0, y1x0, y0x1, y1x1); TFLM then adds its rounding offset, 0.0f for float,
 * which is kept because it turns a -0.0f sum into +0.0f. */
TINYC_INLINE void tinyc_resize_bilinear_f32(const tinyc_resize_params *p,
                                             const float *TINYC_RESTRICT input,
                                             const int32_t *rows, const float *row_weights,
                                             const int32_t *cols, const float *col_weights,
                                             float *TINYC_RESTRICT output) {
  const float *in = input;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->output_height; ++y) {
      const float *row0 = in + rows[2 * y];
      const float *row1 = in + rows[2 * y + 1];
      const float wy0 = row_weights[2 * y], wy1 = row_weights[2 * y + 1];
      for (int32_t x = 0; x < p->output_width; ++x) {
        const int32_t x0 = cols[2 * x], x1 = cols[2 * x + 1];
        const float wx0 = col_weights[2 * x], wx1 = col_weights[2 * x + 1];
        for (int32_t c = 0; c < p->depth; ++c) {
          *output++ = row0[x0 + c] * wy0 * wx0 + row1[x0 + c] * wy1 * wx0 +
                      row0[x1 + c] * wy0 * wx1 + row1[x1 + c] * wy1 * wx1 + 0.0f;
        }
      }
    }
    in += p->input_batch_stride;
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_RESIZE_H */
