/* tinyc runtime: FILL and ZEROS_LIKE, by element width (BROADCAST_TO is a strided copy with
 * zero strides: tinyc_copy_nd in copy_nd.h).
 * Mirrors TFLM's fill.cc / reference/fill.h (every output element gets the scalar `value`, read
 * when the kernel runs, so it may be computed at run time) and zeros_like.cc (every element
 * gets the value 0 of its type: all bytes zero for int8, int32, int64 and float32, whatever the
 * quantization: TFLM writes 0, not the zero point). */
#ifndef TINYC_FILL_H
#define TINYC_FILL_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t count; /* output elements */
} tinyc_fill_params;

TINYC_INLINE void tinyc_fill(const tinyc_fill_params *p, size_t width,
                              const uint8_t *TINYC_RESTRICT value,
                              uint8_t *TINYC_RESTRICT output) {
  for (int32_t i = 0; i < p->count; ++i) {
    memcpy(output, value, width);
    output += width;
  }
}

TINYC_INLINE void tinyc_fill_x8(const tinyc_fill_params *p, const void *value, void *output) {
  memset(output, *(const uint8_t *)value, (size_t)p->count);
}
TINYC_INLINE void tinyc_fill_x32(const tinyc_fill_params *p, const void *value, void *output) {
  tinyc_fill(p, 4, (const uint8_t *)value, (uint8_t *)output);
}

typedef struct {
  int32_t bytes; /* output bytes */
} tinyc_zeros_like_params;

TINYC_INLINE void tinyc_zeros_like_x8(const tinyc_zeros_like_params *p, void *output) {
  memset(output, 0, (size_t)p->bytes);
}

TINYC_NAMESPACE_END

#endif /* TINYC_FILL_H */
