/* tinyc runtime: MIRROR_PAD (REFLECT and SYMMETRIC), by element width.
 * Mirrors TFLM's mirror_pad.cc, which maps every output index to an input index per dimension
 * (GetInputDimension) and copies the value: inside the input's range the index is the input's;
 * in the left padding it counts back from the edge, in the right padding back from the end.
 * REFLECT does not repeat the edge value (offset 1), SYMMETRIC does (offset 0):
 *   left:   out i < left        -> in left + offset - 1 - i
 *   middle: left <= i < left+n  -> in i - left
 *   right:  i >= left + n       -> in n - 1 - offset - (i - left - n)
 * The compiler checked that the paddings fit (at most n - offset each, as TensorFlow requires),
 * so every index stays inside the input.
 *
 * Rather than an index computation per element, the compiler merges the dimensions: unpadded
 * inner dimensions become one contiguous `block` moved as a unit, unpadded outer dimensions
 * merge with each other, and the walk is padded to six levels (extent 1 on the outside). Levels
 * 0-4 map one index per row; the innermost level copies its rows as three runs: the left
 * padding's blocks in reverse order, the input's n blocks in one memcpy, the right padding's
 * blocks in reverse order. Values are copied verbatim (TFLM does not look at quantization). */
#ifndef TINYC_MIRROR_PAD_H
#define TINYC_MIRROR_PAD_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;                   /* input extents */
  int32_t left0, left1, left2, left3, left4, left5;             /* padding before */
  int32_t right0, right1, right2, right3, right4, right5;       /* padding after */
  int32_t stride0, stride1, stride2, stride3, stride4, stride5; /* input elements per step */
  int32_t block;  /* elements copied as one unit: the unpadded inner dimensions */
  int32_t offset; /* 1 for REFLECT, 0 for SYMMETRIC */
} tinyc_mirror_pad_params;

TINYC_INLINE int32_t tinyc_mirror_index(int32_t i, int32_t n, int32_t left, int32_t offset) {
  if (i < left) return left + offset - 1 - i;
  if (i < left + n) return i - left;
  return 2 * n + left - 1 - offset - i;
}

/* One innermost row: the blocks of `input` (starting at its first element) mirrored. */
TINYC_INLINE uint8_t *tinyc_mirror_pad_row(const tinyc_mirror_pad_params *p, size_t width,
                                            const uint8_t *TINYC_RESTRICT input,
                                            uint8_t *TINYC_RESTRICT output) {
  const size_t block = (size_t)p->block * width;
  const ptrdiff_t step = (ptrdiff_t)p->stride5 * (ptrdiff_t)width;
  for (int32_t i = 0; i < p->left5; ++i) {
    memcpy(output, input + (ptrdiff_t)(p->left5 + p->offset - 1 - i) * step, block);
    output += block;
  }
  memcpy(output, input, (size_t)p->dim5 * block); /* stride5 == block: contiguous */
  output += (size_t)p->dim5 * block;
  for (int32_t i = 0; i < p->right5; ++i) {
    memcpy(output, input + (ptrdiff_t)(p->dim5 - 1 - p->offset - i) * step, block);
    output += block;
  }
  return output;
}

TINYC_INLINE void tinyc_mirror_pad(const tinyc_mirror_pad_params *p, size_t width,
                                    const uint8_t *TINYC_RESTRICT input,
                                    uint8_t *TINYC_RESTRICT output) {
  const int32_t e0 = p->left0 + p->dim0 + p->right0, e1 = p->left1 + p->dim1 + p->right1;
  const int32_t e2 = p->left2 + p->dim2 + p->right2, e3 = p->left3 + p->dim3 + p->right3;
  const int32_t e4 = p->left4 + p->dim4 + p->right4;
  for (int32_t i0 = 0; i0 < e0; ++i0) {
    const int32_t o0 = tinyc_mirror_index(i0, p->dim0, p->left0, p->offset) * p->stride0;
    for (int32_t i1 = 0; i1 < e1; ++i1) {
      const int32_t o1 = o0 + tinyc_mirror_index(i1, p->dim1, p->left1, p->offset) * p->stride1;
      for (int32_t i2 = 0; i2 < e2; ++i2) {
        const int32_t o2 =
            o1 + tinyc_mirror_index(i2, p->dim2, p->left2, p->offset) * p->stride2;
        for (int32_t i3 = 0; i3 < e3; ++i3) {
          const int32_t o3 =
              o2 + tinyc_mirror_index(i3, p->dim3, p->left3, p->offset) * p->stride3;
          for (int32_t i4 = 0; i4 < e4; ++i4) {
            const int32_t o4 =
                o3 + tinyc_mirror_index(i4, p->dim4, p->left4, p->offset) * p->stride4;
            output = tinyc_mirror_pad_row(p, width, input + (ptrdiff_t)o4 * (ptrdiff_t)width,
                                          output);
          }
        }
      }
    }
  }
}

TINYC_INLINE void tinyc_mirror_pad_x8(const tinyc_mirror_pad_params *p, const void *input,
                                       void *output) {
  tinyc_mirror_pad(p, 1, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_mirror_pad_x32(const tinyc_mirror_pad_params *p, const void *input,
                                        void *output) {
  tinyc_mirror_pad(p, 4, (const uint8_t *)input, (uint8_t *)output);
}

TINYC_NAMESPACE_END

#endif /* TINYC_MIRROR_PAD_H */
