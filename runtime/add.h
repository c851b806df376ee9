/* tinyc runtime: ADD and SUB, int8 with rescaling, fused activation and broadcasting.
 * Mirrors TFLM reference_integer_ops::AddFunc (integer_ops/add.h) and the int8 path of
 * reference_ops::SubElementwise / BroadcastQuantSubSlow (reference/sub.h): both inputs are
 * shifted left by `left_shift` (20) for headroom, brought to a common scale (twice the larger
 * input scale) by multipliers below one, added or subtracted in int32, then rescaled to the
 * output. The multipliers come from TFLM's Prepare (add_common.cc, sub_common.cc), computed
 * offline by the compiler.
 *
 * Broadcasting: TFLM's BroadcastBinaryOpSimple walks the output in order and steps each input
 * by a stride that is 0 along its broadcast (size-1) dimensions. The compiler computes the
 * same walk offline, fuses dimensions that step alike, and pads it to six nested loops
 * (outermost first): `dim0..dim5` are the loop extents, `input1_stride0..5` and
 * `input2_stride0..5` each input's step in elements. A same-shape add is one loop of `dim5`
 * elements with stride 1. Elementwise results do not depend on the walk, only on which input
 * elements meet, so any walk that pairs them like TFLM's is bit-exact. */
#ifndef TINYC_ADD_H
#define TINYC_ADD_H

#include "tinyc_common.h"

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
static inline int8_t tinyc_add_sub_s8_element(const tinyc_add_s8_params *p, int8_t x, int8_t y,
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

static inline void tinyc_add_sub_s8(const tinyc_add_s8_params *p, const int8_t *input1,
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

static inline void tinyc_add_s8(const tinyc_add_s8_params *p, const int8_t *input1,
                                const int8_t *input2, int8_t *output) {
  tinyc_add_sub_s8(p, input1, input2, output, 0);
}

static inline void tinyc_sub_s8(const tinyc_sub_s8_params *p, const int8_t *input1,
                                const int8_t *input2, int8_t *output) {
  tinyc_add_sub_s8(p, input1, input2, output, 1);
}

#endif /* TINYC_ADD_H */
