/* tinyc runtime: PAD and PADV2 with constant paddings, for every type TFLM pads.
 * Mirrors TFLM reference_ops::PadImpl (reference/pad.h), which micro/kernels/pad.cc calls for
 * int8, int16, int32 and float32: the output is written in order; an element inside the padded
 * border of any dimension gets the pad value, every other element takes the next input element.
 * TFLM does not rescale (the input and output values are copied as they are), so one kernel per
 * element width serves every type: `_x8` (int8), `_x16` (int16), `_x32` (int32, float32).
 * The pad value is one element read from `value`, as TFLM reads `*constant_values`: the PADV2
 * constant_values tensor, or for PAD (and for PADV2 without it) a constant the compiler makes
 * (the output zero point for int8, 0 for the other types, as pad.cc has them).
 *
 * The compiler extends the shape to five dimensions (TFLM's limit) and merges a dimension into
 * the next inner one when that one has no padding, so a ZeroPadding2D on NHWC becomes rows of
 * (W + pads) * C elements. `dim0..dim4` are output extents (outermost first), `left0..4` and
 * `right0..4` the paddings before and after, in elements of that merged dimension. Elements
 * move through fixed-size memcpy, which compilers turn into one load or store (and which reads
 * float values as bytes, not through an integer type). */
#ifndef TINYC_PAD_H
#define TINYC_PAD_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t dim0, dim1, dim2, dim3, dim4;
  int32_t left0, left1, left2, left3, left4;
  int32_t right0, right1, right2, right3, right4;
} tinyc_pad_params;

TINYC_INLINE int tinyc_pad_inside(int32_t i, int32_t dim, int32_t left, int32_t right) {
  return i >= left && i < dim - right;
}

/* `count` copies of the `width`-byte value; returns the output position after them. */
TINYC_ALWAYS_INLINE uint8_t *tinyc_pad_fill(uint8_t *TINYC_RESTRICT output,
                                            const uint8_t *TINYC_RESTRICT value, size_t width,
                                            int32_t count) {
  for (int32_t j = 0; j < count; ++j) {
    memcpy(output, value, width);
    output += width;
  }
  return output;
}

/* `width` is a constant in every wrapper below, so each gets its own copy of the loops. */
TINYC_ALWAYS_INLINE void tinyc_pad(const tinyc_pad_params *p, size_t width,
                                   const uint8_t *TINYC_RESTRICT input,
                                   const uint8_t *TINYC_RESTRICT value,
                                   uint8_t *TINYC_RESTRICT output) {
  const int32_t copy = p->dim4 - p->left4 - p->right4;
  for (int32_t i0 = 0; i0 < p->dim0; ++i0) {
    const int in0 = tinyc_pad_inside(i0, p->dim0, p->left0, p->right0);
    for (int32_t i1 = 0; i1 < p->dim1; ++i1) {
      const int in1 = in0 && tinyc_pad_inside(i1, p->dim1, p->left1, p->right1);
      for (int32_t i2 = 0; i2 < p->dim2; ++i2) {
        const int in2 = in1 && tinyc_pad_inside(i2, p->dim2, p->left2, p->right2);
        for (int32_t i3 = 0; i3 < p->dim3; ++i3) {
          if (!(in2 && tinyc_pad_inside(i3, p->dim3, p->left3, p->right3))) {
            output = tinyc_pad_fill(output, value, width, p->dim4);
            continue;
          }
          output = tinyc_pad_fill(output, value, width, p->left4);
          memcpy(output, input, (size_t)copy * width);
          output += (size_t)copy * width;
          input += (size_t)copy * width;
          output = tinyc_pad_fill(output, value, width, p->right4);
        }
      }
    }
  }
}

/* The value is copied to a local first: the fill loops then store a value the compiler knows
 * does not change (and the pointer may be to a tensor in the arena, for a computed PADV2
 * constant_values). */
TINYC_INLINE void tinyc_pad_x8(const tinyc_pad_params *p, const void *input, const void *value,
                                void *output) {
  uint8_t v;
  memcpy(&v, value, sizeof v);
  tinyc_pad(p, sizeof v, (const uint8_t *)input, &v, (uint8_t *)output);
}
TINYC_INLINE void tinyc_pad_x16(const tinyc_pad_params *p, const void *input, const void *value,
                                 void *output) {
  uint16_t v;
  memcpy(&v, value, sizeof v);
  tinyc_pad(p, sizeof v, (const uint8_t *)input, (const uint8_t *)&v, (uint8_t *)output);
}
TINYC_INLINE void tinyc_pad_x32(const tinyc_pad_params *p, const void *input, const void *value,
                                 void *output) {
  uint32_t v;
  memcpy(&v, value, sizeof v);
  tinyc_pad(p, sizeof v, (const uint8_t *)input, (const uint8_t *)&v, (uint8_t *)output);
}

TINYC_NAMESPACE_END

#endif /* TINYC_PAD_H */
