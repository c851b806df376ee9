/* tinyc runtime: ADD and SUB with broadcasting: int8 and int16 with rescaling and fused
 * activation, float32 with fused activation, int32.
 *
 * int8 and int16 mirror TFLM reference_integer_ops::AddFunc (integer_ops/add.h), the general
 * int16 path of reference_ops::Add (AddGeneralParamScale / AddElementwise, reference/add.h) and
 * reference_ops::SubElementwise / BroadcastQuantSubSlow (reference/sub.h): both inputs are
 * shifted left by `left_shift` (20 for int8, 15 for int16) for headroom, brought to a common
 * scale (twice the larger input scale) by multipliers below one, added or subtracted in int32,
 * then rescaled to the output. The multipliers come from TFLM's Prepare (add_common.cc,
 * sub_common.cc), computed offline by the compiler. TFLM's micro ADD passes pot_scale = false
 * to reference_ops::Add for int16, so the power-of-two special case of reference/add.h is never
 * taken (whatever the model's pot_scale_int16 option says), and SUB never calls
 * BroadcastSub16POTSlow: int16 is the general path here too.
 *
 * float32: reference_ops::Add / SubWithActivation / BroadcastSubSlow: the sum or difference
 * clamped by std::min(std::max(x, min), max) (tinyc_min_f32 / tinyc_max_f32 keep that operand
 * order). int32: the same in int32; it wraps around on overflow, as TFLM's int32 arithmetic does
 * on every target in practice (here in unsigned arithmetic, so it is defined). TFLM's int32 ADD
 * clamps to the whole int32 range whatever the fused activation (add.cc sets those limits), its
 * int32 SUB clamps to the fused activation's range: the compiler passes the limits.
 *
 * Broadcasting: TFLM's BroadcastBinaryOpSimple walks the output in order and steps each input
 * by a stride that is 0 along its broadcast (size-1) dimensions. The compiler computes the
 * same walk offline, fuses dimensions that step alike, and pads it to six nested loops
 * (outermost first): `dim0..dim5` are the loop extents, `input1_stride0..5` and
 * `input2_stride0..5` each input's step in elements. A same-shape add is one loop of `dim5`
 * elements with stride 1. Elementwise results do not depend on the walk, only on which input
 * elements meet, so any walk that pairs them like TFLM's is bit-exact. mul.h uses the same
 * walk (TINYC_ELEMENTWISE_WALK). */
#ifndef TINYC_ADD_H
#define TINYC_ADD_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t input1_offset; /* -input1 zero point */
  int32_t input2_offset; /* -input2 zero point */
  int32_t output_offset; /* output zero point */
  int32_t left_shift;
  int32_t input1_multiplier;
  int32_t input1_shift; /* <= 0 */
  int32_t input2_multiplier;
  int32_t input2_shift; /* <= 0 */
  int32_t output_multiplier;
  int32_t output_shift; /* <= 0 */
  int32_t activation_min;
  int32_t activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_add_s8_params;

typedef tinyc_add_s8_params tinyc_sub_s8_params;

/* One output element: TFLM AddFunc (subtract = 0) or the int8 Sub lambda (subtract = 1).
 * (offset + x) << 20 cannot overflow: |offset + x| <= 255. */
TINYC_INLINE int8_t tinyc_add_sub_s8_element(const tinyc_add_s8_params *p, int8_t x, int8_t y,
                                              int subtract) {
  const int32_t shifted1 = ((int32_t)x + p->input1_offset) * ((int32_t)1 << p->left_shift);
  const int32_t shifted2 = ((int32_t)y + p->input2_offset) * ((int32_t)1 << p->left_shift);
  const int32_t scaled1 = tinyc_requantize(shifted1, p->input1_multiplier, p->input1_shift);
  const int32_t scaled2 = tinyc_requantize(shifted2, p->input2_multiplier, p->input2_shift);
  const int32_t raw = subtract ? scaled1 - scaled2 : scaled1 + scaled2;
  const int32_t out = tinyc_requantize(raw, p->output_multiplier, p->output_shift) +
                      p->output_offset;
  return tinyc_clamp_s8(out, p->activation_min, p->activation_max);
}

TINYC_INLINE void tinyc_add_sub_s8(const tinyc_add_s8_params *p, const int8_t *input1,
                                    const int8_t *input2, int8_t *output, int subtract) {
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
              *output++ = tinyc_add_sub_s8_element(p, a[i5 * p->input1_stride5],
                                                   b[i5 * p->input2_stride5], subtract);
            }
          }
        }
      }
    }
  }
}

TINYC_INLINE void tinyc_add_s8(const tinyc_add_s8_params *p, const int8_t *input1,
                                const int8_t *input2, int8_t *output) {
  tinyc_add_sub_s8(p, input1, input2, output, 0);
}

TINYC_INLINE void tinyc_sub_s8(const tinyc_sub_s8_params *p, const int8_t *input1,
                                const int8_t *input2, int8_t *output) {
  tinyc_add_sub_s8(p, input1, input2, output, 1);
}

/* --- the walk for the other types: one expression of x (input1's element) and y (input2's) --- */

#define TINYC_ELEMENTWISE_WALK(p, T, input1, input2, TO, output, expression)                 \
  do {                                                                                    \
    TO *out_ = (output);                                                                  \
    for (int32_t i0_ = 0; i0_ < (p)->dim0; ++i0_) {                                       \
      for (int32_t i1_ = 0; i1_ < (p)->dim1; ++i1_) {                                     \
        for (int32_t i2_ = 0; i2_ < (p)->dim2; ++i2_) {                                   \
          for (int32_t i3_ = 0; i3_ < (p)->dim3; ++i3_) {                                 \
            for (int32_t i4_ = 0; i4_ < (p)->dim4; ++i4_) {                               \
              const T *a_ = (input1) + i0_ * (p)->input1_stride0 +                        \
                            i1_ * (p)->input1_stride1 + i2_ * (p)->input1_stride2 +       \
                            i3_ * (p)->input1_stride3 + i4_ * (p)->input1_stride4;        \
              const T *b_ = (input2) + i0_ * (p)->input2_stride0 +                        \
                            i1_ * (p)->input2_stride1 + i2_ * (p)->input2_stride2 +       \
                            i3_ * (p)->input2_stride3 + i4_ * (p)->input2_stride4;        \
              for (int32_t i5_ = 0; i5_ < (p)->dim5; ++i5_) {                             \
                const T x = a_[i5_ * (p)->input1_stride5];                                \
                const T y = b_[i5_ * (p)->input2_stride5];                                \
                *out_++ = (expression);                                                   \
              }                                                                           \
            }                                                                             \
          }                                                                               \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  } while (0)

/* --- int16: the general path of reference_ops::Add (AddElementwise) and of reference_ops::Sub,
 * left_shift 15. |offset + x| <= 65535 (TFLM allows any int16 zero point here), so the shifted
 * value is below 2^31; each scaled input is at most half of that, so their sum or difference
 * stays in int32. --- */

typedef tinyc_add_s8_params tinyc_add_s16_params;
typedef tinyc_add_s8_params tinyc_sub_s16_params;

TINYC_INLINE int16_t tinyc_add_sub_s16_element(const tinyc_add_s16_params *p, int16_t x,
                                                int16_t y, int subtract) {
  const int32_t shifted1 = ((int32_t)x + p->input1_offset) * ((int32_t)1 << p->left_shift);
  const int32_t shifted2 = ((int32_t)y + p->input2_offset) * ((int32_t)1 << p->left_shift);
  const int32_t scaled1 = tinyc_requantize(shifted1, p->input1_multiplier, p->input1_shift);
  const int32_t scaled2 = tinyc_requantize(shifted2, p->input2_multiplier, p->input2_shift);
  const int32_t raw = subtract ? scaled1 - scaled2 : scaled1 + scaled2;
  const int32_t out = tinyc_requantize(raw, p->output_multiplier, p->output_shift) +
                      p->output_offset;
  return tinyc_clamp_s16(out, p->activation_min, p->activation_max);
}

TINYC_INLINE void tinyc_add_s16(const tinyc_add_s16_params *p, const int16_t *input1,
                                 const int16_t *input2, int16_t *output) {
  TINYC_ELEMENTWISE_WALK(p, int16_t, input1, input2, int16_t, output,
                         tinyc_add_sub_s16_element(p, x, y, 0));
}

TINYC_INLINE void tinyc_sub_s16(const tinyc_sub_s16_params *p, const int16_t *input1,
                                 const int16_t *input2, int16_t *output) {
  TINYC_ELEMENTWISE_WALK(p, int16_t, input1, input2, int16_t, output,
                         tinyc_add_sub_s16_element(p, x, y, 1));
}

/* --- float32: x + y or x - y, then TFLM's ActivationFunctionWithMinMax --- */

typedef struct {
  float activation_min; /* CalculateActivationRange: -FLT_MAX for no lower bound */
  float activation_max; /* FLT_MAX for no upper bound */
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_add_f32_params;

typedef tinyc_add_f32_params tinyc_sub_f32_params;

TINYC_INLINE float tinyc_activation_f32(float x, float lo, float hi) {
  return tinyc_min_f32(tinyc_max_f32(x, lo), hi);
}

TINYC_INLINE void tinyc_add_f32(const tinyc_add_f32_params *p, const float *input1,
                                 const float *input2, float *output) {
  TINYC_ELEMENTWISE_WALK(p, float, input1, input2, float, output,
                         tinyc_activation_f32(x + y, p->activation_min, p->activation_max));
}

TINYC_INLINE void tinyc_sub_f32(const tinyc_sub_f32_params *p, const float *input1,
                                 const float *input2, float *output) {
  TINYC_ELEMENTWISE_WALK(p, float, input1, input2, float, output,
                         tinyc_activation_f32(x - y, p->activation_min, p->activation_max));
}

/* --- int32: wrapping x + y or x - y, clamped to [activation_min, activation_max] --- */

typedef struct {
  int32_t activation_min;
  int32_t activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_add_s32_params;

typedef tinyc_add_s32_params tinyc_sub_s32_params;

TINYC_INLINE int32_t tinyc_wrap_s32(uint32_t x) { return (int32_t)x; }

TINYC_INLINE void tinyc_add_s32(const tinyc_add_s32_params *p, const int32_t *input1,
                                 const int32_t *input2, int32_t *output) {
  TINYC_ELEMENTWISE_WALK(
      p, int32_t, input1, input2, int32_t, output,
      tinyc_min_i32(tinyc_max_i32(tinyc_wrap_s32((uint32_t)x + (uint32_t)y), p->activation_min),
                    p->activation_max));
}

TINYC_INLINE void tinyc_sub_s32(const tinyc_sub_s32_params *p, const int32_t *input1,
                                 const int32_t *input2, int32_t *output) {
  TINYC_ELEMENTWISE_WALK(
      p, int32_t, input1, input2, int32_t, output,
      tinyc_min_i32(tinyc_max_i32(tinyc_wrap_s32((uint32_t)x - (uint32_t)y), p->activation_min),
                    p->activation_max));
}

TINYC_NAMESPACE_END

#endif /* TINYC_ADD_H */
