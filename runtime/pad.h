/* tinyc runtime: PAD and PADV2 on int8 tensors with constant paddings.
 * Mirrors TFLM reference_ops::PadImpl (reference/pad.h): the output is written in order; an
 * element inside the padded border of any dimension gets `pad_value`, every other element takes
 * the next input element. TFLM does not rescale (the input and output bytes are copied as they
 * are), and neither does this kernel.
 *
 * The compiler extends the shape to five dimensions (TFLM's limit) and merges a dimension into
 * the next inner one when that one has no padding, so a ZeroPadding2D on NHWC becomes rows of
 * (W + pads) * C bytes. `dim0..dim4` are output extents (outermost first), `left0..4` and
 * `right0..4` the paddings before and after, in elements of that merged dimension. */
#ifndef TINYC_PAD_H
#define TINYC_PAD_H

#include "tinyc_common.h"

typedef struct {
  int32_t dim0, dim1, dim2, dim3, dim4;
  int32_t left0, left1, left2, left3, left4;
  int32_t right0, right1, right2, right3, right4;
  int32_t pad_value;
} tinyc_pad_s8_params;

static inline int tinyc_pad_inside(int32_t i, int32_t dim, int32_t left, int32_t right) {
  return i >= left && i < dim - right;
}

static inline void tinyc_pad_s8(const tinyc_pad_s8_params *p, const int8_t *TINYC_RESTRICT input,
                                int8_t *TINYC_RESTRICT output) {
  const int8_t value = (int8_t)p->pad_value;
  const int32_t copy = p->dim4 - p->left4 - p->right4;
  for (int32_t i0 = 0; i0 < p->dim0; ++i0) {
    const int in0 = tinyc_pad_inside(i0, p->dim0, p->left0, p->right0);
    for (int32_t i1 = 0; i1 < p->dim1; ++i1) {
      const int in1 = in0 && tinyc_pad_inside(i1, p->dim1, p->left1, p->right1);
      for (int32_t i2 = 0; i2 < p->dim2; ++i2) {
        const int in2 = in1 && tinyc_pad_inside(i2, p->dim2, p->left2, p->right2);
        for (int32_t i3 = 0; i3 < p->dim3; ++i3) {
          if (!(in2 && tinyc_pad_inside(i3, p->dim3, p->left3, p->right3))) {
            for (int32_t j = 0; j < p->dim4; ++j) *output++ = value;
            continue;
          }
          for (int32_t j = 0; j < p->left4; ++j) *output++ = value;
          for (int32_t j = 0; j < copy; ++j) *output++ = *input++;
          for (int32_t j = 0; j < p->right4; ++j) *output++ = value;
        }
      }
    }
  }
}

#endif /* TINYC_PAD_H */
