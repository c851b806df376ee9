/* tinyc runtime: the part of a convolution window inside the input, shared by the 16x8 and
 * float32 CONV_2D / DEPTHWISE_CONV_2D kernels (runtime/conv_s16.h, runtime/conv_f32.h).
 *
 * TFLM's reference kernels test every tap ("is_point_inside_image") and skip the ones in the
 * padding. Along one axis the taps inside are a run [first, last) of filter positions, so the
 * kernels find that run once per output pixel and loop over it without tests; they visit the
 * same taps in the same order as TFLM. */
#ifndef TINYC_CONV_WINDOW_H
#define TINYC_CONV_WINDOW_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

/* The filter taps f in [*first, *last) whose input coordinate origin + f * dilation lies in
 * [0, size). The compiler keeps (filter - 1) * dilation + size well inside int32. */
TINYC_INLINE void tinyc_window_clip(int32_t origin, int32_t dilation, int32_t filter,
                                     int32_t size, int32_t *first, int32_t *last) {
  int32_t lo = 0, hi = filter;
  if (origin < 0) lo = (-origin + dilation - 1) / dilation;
  if (origin + (filter - 1) * dilation >= size) hi = (size - origin + dilation - 1) / dilation;
  if (hi > filter) hi = filter;
  if (hi < lo) hi = lo;
  *first = lo;
  *last = hi;
}

TINYC_NAMESPACE_END

#endif /* TINYC_CONV_WINDOW_H */
