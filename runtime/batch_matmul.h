/* tinyc runtime: BATCH_MATMUL, int8, int16 and float32, broadcasting batch dimensions, adj_x and
 * adj_y.
 *
 * Mirrors TFLM reference_ops::BatchMatMul (reference/batch_matmul.h) as micro/kernels/
 * batch_matmul.cc calls it: out[b][a][c] = sum over k of lhs[b][a][k] * rhs[b][k][c], k in
 * increasing order from a zero accumulator. TFLM transposes the operands into buffers first (RHS
 * unless adj_y, LHS if adj_x) and runs the product with the roles swapped; the sums are the same
 * numbers, so here the operands are read in place through strides instead (the compiler stores
 * a constant RHS already transposed, so its depth is contiguous).
 *   float32  float products and sums in that order.
 *   int8     int32 sum of (rhs + rhs_offset) * (lhs + lhs_offset) (offsets: minus the zero
 *            points), MultiplyByQuantizedMultiplier, plus output_offset, clamped to int8.
 *   int16    the same with an int64 sum and the int64 MultiplyByQuantizedMultiplier (zero points
 *            are 0, as TFLM requires), clamped to int16.
 *
 * The batch dimensions are extended to three (TFLM's rank limit is 5); `batch*` are the output's,
 * `lhs_batch_stride*` and `rhs_batch_stride*` the operands' strides, 0 where an operand's
 * dimension is 1 and broadcasts. Within one matrix, `rows` (A) by `cols` (C) outputs over `depth`
 * (K) terms; the strides are in elements. */
#ifndef TINYC_BATCH_MATMUL_H
#define TINYC_BATCH_MATMUL_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batch0, batch1, batch2;
  int32_t lhs_batch_stride0, lhs_batch_stride1, lhs_batch_stride2;
  int32_t rhs_batch_stride0, rhs_batch_stride1, rhs_batch_stride2;
  int32_t rows, cols, depth;
  int32_t lhs_row_stride, lhs_depth_stride;
  int32_t rhs_depth_stride, rhs_col_stride;
} tinyc_batch_matmul_f32_params;

typedef struct {
  int32_t batch0, batch1, batch2;
  int32_t lhs_batch_stride0, lhs_batch_stride1, lhs_batch_stride2;
  int32_t rhs_batch_stride0, rhs_batch_stride1, rhs_batch_stride2;
  int32_t rows, cols, depth;
  int32_t lhs_row_stride, lhs_depth_stride;
  int32_t rhs_depth_stride, rhs_col_stride;
  int32_t lhs_offset; /* -lhs zero point */
  int32_t rhs_offset; /* -rhs zero point */
  int32_t output_offset;
  int32_t output_multiplier;
  int32_t output_shift;
} tinyc_batch_matmul_s8_params;

/* int16 takes the same numbers (its offsets are 0). */
typedef tinyc_batch_matmul_s8_params tinyc_batch_matmul_s16_params;

/* The batch loops, shared by the three types: `MATRIX` is one matrix product on `lhs_b`, `rhs_b`
 * writing at `out` and advancing it. */
#define TINYC_BATCH_MATMUL_BATCHES(p, T_IN, T_OUT, lhs, rhs, output, MATRIX)                     \
  do {                                                                                         \
    T_OUT *out = (output);                                                                     \
    for (int32_t b0 = 0; b0 < (p)->batch0; ++b0) {                                             \
      for (int32_t b1 = 0; b1 < (p)->batch1; ++b1) {                                           \
        for (int32_t b2 = 0; b2 < (p)->batch2; ++b2) {                                         \
          const T_IN *lhs_b = (lhs) + b0 * (p)->lhs_batch_stride0 +                            \
                              b1 * (p)->lhs_batch_stride1 + b2 * (p)->lhs_batch_stride2;       \
          const T_IN *rhs_b = (rhs) + b0 * (p)->rhs_batch_stride0 +                            \
                              b1 * (p)->rhs_batch_stride1 + b2 * (p)->rhs_batch_stride2;       \
          MATRIX;                                                                              \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  } while (0)

TINYC_INLINE float *tinyc_batch_matmul_f32_matrix(const tinyc_batch_matmul_f32_params *p,
                                                 const float *lhs, const float *rhs,
                                                 float *TINYC_RESTRICT out) {
  for (int32_t a = 0; a < p->rows; ++a) {
    const float *lhs_row = lhs + a * p->lhs_row_stride;
    for (int32_t c = 0; c < p->cols; ++c) {
      const float *rhs_col = rhs + c * p->rhs_col_stride;
      float total = 0.0f;
      for (int32_t k = 0; k < p->depth; ++k) {
        total += rhs_col[k * p->rhs_depth_stride] * lhs_row[k * p->lhs_depth_stride];
      }
      *out++ = total;
    }
  }
  return out;
}

TINYC_INLINE void tinyc_batch_matmul_f32(const tinyc_batch_matmul_f32_params *p,
                                          const float *lhs, const float *rhs,
                                          float *TINYC_RESTRICT output) {
  TINYC_BATCH_MATMUL_BATCHES(p, float, float, lhs, rhs, output,
                             out = tinyc_batch_matmul_f32_matrix(p, lhs_b, rhs_b, out));
}

TINYC_INLINE int8_t *tinyc_batch_matmul_s8_matrix(const tinyc_batch_matmul_s8_params *p,
                                                const int8_t *lhs, const int8_t *rhs,
                                                int8_t *TINYC_RESTRICT out) {
  for (int32_t a = 0; a < p->rows; ++a) {
    const int8_t *lhs_row = lhs + a * p->lhs_row_stride;
    for (int32_t c = 0; c < p->cols; ++c) {
      const int8_t *rhs_col = rhs + c * p->rhs_col_stride;
      /* The compiler bounds depth so that this sum cannot overflow. */
      int32_t total = 0;
      for (int32_t k = 0; k < p->depth; ++k) {
        total += (rhs_col[k * p->rhs_depth_stride] + p->rhs_offset) *
                 (lhs_row[k * p->lhs_depth_stride] + p->lhs_offset);
      }
      const int32_t scaled =
          tinyc_requantize(total, p->output_multiplier, p->output_shift) + p->output_offset;
      *out++ = tinyc_clamp_s8(scaled, -128, 127);
    }
  }
  return out;
}

TINYC_INLINE void tinyc_batch_matmul_s8(const tinyc_batch_matmul_s8_params *p,
                                         const int8_t *lhs, const int8_t *rhs,
                                         int8_t *TINYC_RESTRICT output) {
  TINYC_BATCH_MATMUL_BATCHES(p, int8_t, int8_t, lhs, rhs, output,
                             out = tinyc_batch_matmul_s8_matrix(p, lhs_b, rhs_b, out));
}

TINYC_INLINE int16_t *tinyc_batch_matmul_s16_matrix(const tinyc_batch_matmul_s16_params *p,
                                                 const int16_t *lhs, const int16_t *rhs,
                                                 int16_t *TINYC_RESTRICT out) {
  for (int32_t a = 0; a < p->rows; ++a) {
    const int16_t *lhs_row = lhs + a * p->lhs_row_stride;
    for (int32_t c = 0; c < p->cols; ++c) {
      const int16_t *rhs_col = rhs + c * p->rhs_col_stride;
      /* |total| < 2^47 (the compiler bounds depth), as the int64 multiplier needs. */
      int64_t total = 0;
      for (int32_t k = 0; k < p->depth; ++k) {
        total += (int64_t)(rhs_col[k * p->rhs_depth_stride] + p->rhs_offset) *
                 (int64_t)(lhs_row[k * p->lhs_depth_stride] + p->lhs_offset);
      }
      const int32_t scaled =
          tinyc_requantize_s64(total, p->output_multiplier, p->output_shift) + p->output_offset;
      *out++ = tinyc_clamp_s16(scaled, -32768, 32767);
    }
  }
  return out;
}

TINYC_INLINE void tinyc_batch_matmul_s16(const tinyc_batch_matmul_s16_params *p,
                                          const int16_t *lhs, const int16_t *rhs,
                                          int16_t *TINYC_RESTRICT output) {
  TINYC_BATCH_MATMUL_BATCHES(p, int16_t, int16_t, lhs, rhs, output,
                             out = tinyc_batch_matmul_s16_matrix(p, lhs_b, rhs_b, out));
}

#undef TINYC_BATCH_MATMUL_BATCHES

TINYC_NAMESPACE_END

#endif /* TINYC_BATCH_MATMUL_H */
