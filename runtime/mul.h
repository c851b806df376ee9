/* tinyc runtime: MUL with broadcasting: int8 and int16 with rescaling and fused activation,
 * float32 and int32 with fused activation.
 *
 * int8 and int16 mirror TFLM reference_integer_ops::MulElementwise / BroadcastMul6DSlow
 * (integer_ops/mul.h), which micro/kernels/mul_common.cc calls for both: the product of the
 * offset inputs is rescaled by one multiplier, s1 * s2 / s_out, which the compiler computes as
 * TFLM's Prepare does (QuantizeMultiplier in double). TFLM requires int16 zero points of 0, so
 * the int16 product is at most 2^30 and fits int32.
 *
 * float32 and int32: reference_ops::Mul / BroadcastMul6DSlow (reference/mul.h): the product
 * (WrappingMul: int32 wraps around, here in unsigned arithmetic) clamped by
 * std::min(std::max(x, min), max) to the fused activation's range (CalculateActivationRange).
 *
 * Broadcasting works as in add.h: six nested loops (outermost first) with extents `dim0..dim5`
 * and per-input element strides, 0 along broadcast dimensions, computed by the compiler; the
 * kernels other than int8 use add.h's TINYC_ELEMENTWISE_WALK. */
#ifndef TINYC_MUL_H
#define TINYC_MUL_H

#include "add.h" /* TINYC_ELEMENTWISE_WALK, tinyc_activation_f32, tinyc_wrap_s32 */
#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t input1_offset; /* -input1 zero point */
  int32_t input2_offset; /* -input2 zero point */
  int32_t output_offset; /* output zero point */
  int32_t output_multiplier;
  int32_t output_shift;
  int32_t activation_min;
  int32_t activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_mul_s8_params;

/* |offset + x| <= 255, so the int32 product cannot overflow. */
TINYC_INLINE int8_t tinyc_mul_s8_element(const tinyc_mul_s8_params *p, int8_t x, int8_t y) {
  const int32_t product = ((int32_t)x + p->input1_offset) * ((int32_t)y + p->input2_offset);
  const int32_t out = tinyc_requantize(product, p->output_multiplier, p->output_shift) +
                      p->output_offset;
  return tinyc_clamp_s8(out, p->activation_min, p->activation_max);
}

TINYC_INLINE void tinyc_mul_s8(const tinyc_mul_s8_params *p, const int8_t *input1,
                                const int8_t *input2, int8_t *output) {
  for (int32_t i0 = 0; i0 < p->dim0; ++i0) {
    for (int32_t i1 = 0; i1 < p->dim1; ++i1) {
      for (int32_t i2 = 0; i2 < p->dim2; ++i2) {
        for (int32_t i3 = 0; i3 < p->dim3; ++i3) {
          for (int32_t i4 = 0; i4 < p->dim4; ++i4) {
            const int8_t *a = input1 + i0 * p->input1_stride0 + i1 * p->input1_stride1 +
                              i2 * p->input1_stride2 + i3 * p->input1_stride3 +
                              i4 * p->input1_stride4;
            const int8_t *b = input2 + i0 * p->input2_stride0 + i1 * p->input2_stride1 +
                              i2 * p->input2_stride2 + i3 * p->input2_stride3 +
                              i4 * p->input2_stride4;
            for (int32_t i5 = 0; i5 < p->dim5; ++i5) {
              *output++ = tinyc_mul_s8_element(p, a[i5 * p->input1_stride5],
                                               b[i5 * p->input2_stride5]);
            }
          }
        }
      }
    }
  }
}

/* --- int16: as int8 (TFLM's MulElementwise template), all offsets 0, clamped to int16 --- */

typedef tinyc_mul_s8_params tinyc_mul_s16_params;

TINYC_INLINE int16_t tinyc_mul_s16_element(const tinyc_mul_s16_params *p, int16_t x, int16_t y) {
  const int32_t product = ((int32_t)x + p->input1_offset) * ((int32_t)y + p->input2_offset);
  const int32_t out = tinyc_requantize(product, p->output_multiplier, p->output_shift) +
                      p->output_offset;
  return tinyc_clamp_s16(out, p->activation_min, p->activation_max);
}

TINYC_INLINE void tinyc_mul_s16(const tinyc_mul_s16_params *p, const int16_t *input1,
                                 const int16_t *input2, int16_t *output) {
  TINYC_ELEMENTWISE_WALK(p, int16_t, input1, input2, int16_t, output,
                         tinyc_mul_s16_element(p, x, y));
}

/* --- float32 and int32 --- */

typedef tinyc_add_f32_params tinyc_mul_f32_params;
typedef tinyc_add_s32_params tinyc_mul_s32_params;

TINYC_INLINE void tinyc_mul_f32(const tinyc_mul_f32_params *p, const float *input1,
                                 const float *input2, float *output) {
  TINYC_ELEMENTWISE_WALK(p, float, input1, input2, float, output,
                         tinyc_activation_f32(x * y, p->activation_min, p->activation_max));
}

TINYC_INLINE void tinyc_mul_s32(const tinyc_mul_s32_params *p, const int32_t *input1,
                                 const int32_t *input2, int32_t *output) {
  TINYC_ELEMENTWISE_WALK(
      p, int32_t, input1, input2, int32_t, output,
      tinyc_min_i32(tinyc_max_i32(tinyc_wrap_s32((uint32_t)x * (uint32_t)y), p->activation_min),
                    p->activation_max));
}

TINYC_NAMESPACE_END

#endif /* TINYC_MUL_H */
