/* tinyc runtime: the strided copy behind the data-movement ops.
 * TRANSPOSE, SLICE, STRIDED_SLICE, REVERSE_V2, BROADCAST_TO, DEPTH_TO_SPACE and SPACE_TO_DEPTH
 * are each one call of tinyc_copy_nd; SPLIT, SPLIT_V, UNPACK, PACK, GATHER, GATHER_ND,
 * EMBEDDING_LOOKUP, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND and MIRROR_PAD copy their rows with
 * tinyc_copy_run. TFLM's kernels for these ops copy values without looking at them (transpose.cc
 * says so: "only does rearranging values"), so one kernel per element width serves every type:
 * `_x8` (int8, uint8, bool), `_x16` (int16), `_x32` (int32, float32), `_x64` (int64).
 *
 * The output is written in order. The compiler describes each output element's input element as
 * a walk: output element (i0, ..., i5), in row-major order over the extents dim0..dim5 (outermost
 * first), reads input element offset + i0 * stride0 + ... + i5 * stride5. Strides are in
 * elements and may be negative (REVERSE_V2, negative STRIDED_SLICE strides) or 0 (BROADCAST_TO).
 * The compiler drops extent-1 dimensions, merges dimensions that step as one (a transpose of
 * NHWC to NWHC keeps C as one contiguous run) and pads the walk to six loops with extent 1 on
 * the outside, so the C compiler, which sees the params as constants, unrolls the unit loops
 * away. TFLM's reference loops (reference/transpose.h, slice.h, strided_slice.h, reverse.h,
 * broadcast_to.h, depth_to_space.h, space_to_depth.h) visit the output in the same order.
 *
 * An innermost stride of 1 is a contiguous run and goes to memcpy; other runs copy one element
 * at a time, through a fixed-size memcpy the compiler turns into one load and one store (and
 * which does not assume int64 alignment: the arena aligns buffers to 4 bytes). Addresses are
 * computed from in-bounds element indices only, never by stepping a pointer past an end. */
#ifndef TINYC_COPY_ND_H
#define TINYC_COPY_ND_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;                   /* output extents */
  int32_t stride0, stride1, stride2, stride3, stride4, stride5; /* input strides, elements */
  int32_t offset;                                               /* input element of output 0 */
} tinyc_copy_nd_params;

/* `count` elements of `width` bytes to consecutive output elements from input elements
 * 0, stride, 2 * stride, ... after `input`; returns the output position after the run. */
TINYC_INLINE uint8_t *tinyc_copy_run(size_t width, int32_t count, int32_t stride,
                                      const uint8_t *TINYC_RESTRICT input,
                                      uint8_t *TINYC_RESTRICT output) {
  if (stride == 1) {
    memcpy(output, input, (size_t)count * width);
    return output + (size_t)count * width;
  }
  for (int32_t i = 0; i < count; ++i) {
    memcpy(output, input + (ptrdiff_t)i * stride * (ptrdiff_t)width, width);
    output += width;
  }
  return output;
}

TINYC_INLINE void tinyc_copy_nd(const tinyc_copy_nd_params *p, size_t width,
                                 const uint8_t *TINYC_RESTRICT input,
                                 uint8_t *TINYC_RESTRICT output) {
  for (int32_t i0 = 0; i0 < p->dim0; ++i0) {
    const int32_t o0 = p->offset + i0 * p->stride0;
    for (int32_t i1 = 0; i1 < p->dim1; ++i1) {
      const int32_t o1 = o0 + i1 * p->stride1;
      for (int32_t i2 = 0; i2 < p->dim2; ++i2) {
        const int32_t o2 = o1 + i2 * p->stride2;
        for (int32_t i3 = 0; i3 < p->dim3; ++i3) {
          const int32_t o3 = o2 + i3 * p->stride3;
          for (int32_t i4 = 0; i4 < p->dim4; ++i4) {
            const int32_t o4 = o3 + i4 * p->stride4;
            output = tinyc_copy_run(width, p->dim5, p->stride5,
                                    input + (ptrdiff_t)o4 * (ptrdiff_t)width, output);
          }
        }
      }
    }
  }
}

TINYC_INLINE void tinyc_copy_nd_x8(const tinyc_copy_nd_params *p, const void *input,
                                    void *output) {
  tinyc_copy_nd(p, 1, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_copy_nd_x16(const tinyc_copy_nd_params *p, const void *input,
                                     void *output) {
  tinyc_copy_nd(p, 2, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_copy_nd_x32(const tinyc_copy_nd_params *p, const void *input,
                                     void *output) {
  tinyc_copy_nd(p, 4, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_copy_nd_x64(const tinyc_copy_nd_params *p, const void *input,
                                     void *output) {
  tinyc_copy_nd(p, 8, (const uint8_t *)input, (uint8_t *)output);
}

TINYC_NAMESPACE_END

#endif /* TINYC_COPY_ND_H */
