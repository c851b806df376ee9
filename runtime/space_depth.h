/* tinyc runtime: BATCH_TO_SPACE_ND and SPACE_TO_BATCH_ND on NHWC tensors (NHC is W = 1).
 * DEPTH_TO_SPACE and SPACE_TO_DEPTH are plain strided copies (tinyc_copy_nd, copy_nd.h); these
 * two are not, because the crops and the padding cut across the blocks, so they keep the loops
 * of TFLM's reference/batch_to_space_nd.h and reference/space_to_batch_nd.h: pixel by pixel,
 * each pixel's `depth` values one contiguous run. The rows and columns a crop removes or a
 * padding adds are computed once per batch instead of tested pixel by pixel.
 *
 * BATCH_TO_SPACE_ND: input batch b holds the pixels of output batch b % out_batch at the offset
 *   (sh, sw) = divmod(b / out_batch, block_w) inside each block_h x block_w block; input pixel
 *   (ih, iw) goes to output pixel (ih * block_h + sh - crop_top, iw * block_w + sw - crop_left)
 *   when that lies inside the output (the compiler checked that every output pixel is written).
 * SPACE_TO_BATCH_ND: the inverse, walking the output; a pixel that falls in the padding gets
 *   `pad_value` in every byte. TFLM's kernel pads with a field it never initialises (the wheel
 *   tinyc is tested against writes 0x40 bytes); tinyc pads with the output's zero point (int8)
 *   or 0.0f, which is what TensorFlow computes.
 * Values are copied verbatim (by element width), as TFLM does. */
#ifndef TINYC_SPACE_DEPTH_H
#define TINYC_SPACE_DEPTH_H

#include <string.h>

#include "copy_nd.h"
#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t in_batch, in_height, in_width, depth;
  int32_t out_batch, out_height, out_width;
  int32_t block_height, block_width;
  int32_t crop_top, crop_left; /* BATCH_TO_SPACE_ND; SPACE_TO_BATCH_ND: pad_top, pad_left */
  int32_t pad_value;           /* SPACE_TO_BATCH_ND: the byte padded pixels are filled with */
} tinyc_space_batch_params;

/* The first i >= 0 with i * block + shift - offset >= 0, and the end of the run of i < count
 * with i * block + shift - offset < limit (block >= 1, shift and offset >= 0). */
TINYC_INLINE int32_t tinyc_space_batch_first(int32_t block, int32_t shift, int32_t offset) {
  const int32_t need = offset - shift; /* i * block >= need */
  return need <= 0 ? 0 : (need + block - 1) / block;
}
TINYC_INLINE int32_t tinyc_space_batch_end(int32_t count, int32_t block, int32_t shift,
                                            int32_t offset, int32_t limit) {
  const int32_t room = limit + offset - shift; /* i * block < room */
  const int32_t end = room <= 0 ? 0 : (room + block - 1) / block;
  return end < count ? end : count;
}

TINYC_INLINE void tinyc_batch_to_space_nd(const tinyc_space_batch_params *p, size_t width,
                                           const uint8_t *TINYC_RESTRICT input,
                                           uint8_t *TINYC_RESTRICT output) {
  const size_t pixel = (size_t)p->depth * width;
  for (int32_t in_b = 0; in_b < p->in_batch; ++in_b) {
    const int32_t out_b = in_b % p->out_batch;
    const int32_t spatial = in_b / p->out_batch;
    const int32_t shift_h = spatial / p->block_width;
    const int32_t shift_w = spatial % p->block_width;
    const int32_t h0 = tinyc_space_batch_first(p->block_height, shift_h, p->crop_top);
    const int32_t h1 = tinyc_space_batch_end(p->in_height, p->block_height, shift_h,
                                             p->crop_top, p->out_height);
    const int32_t w0 = tinyc_space_batch_first(p->block_width, shift_w, p->crop_left);
    const int32_t w1 = tinyc_space_batch_end(p->in_width, p->block_width, shift_w,
                                             p->crop_left, p->out_width);
    if (w0 >= w1) continue; /* every column of this batch is cropped */
    for (int32_t in_h = h0; in_h < h1; ++in_h) {
      const int32_t out_h = in_h * p->block_height + shift_h - p->crop_top;
      const uint8_t *in = input + (((ptrdiff_t)in_b * p->in_height + in_h) * p->in_width + w0) *
                                      (ptrdiff_t)pixel;
      uint8_t *out = output + (((ptrdiff_t)out_b * p->out_height + out_h) * p->out_width +
                               (w0 * p->block_width + shift_w - p->crop_left)) *
                                  (ptrdiff_t)pixel;
      for (int32_t in_w = w0; in_w < w1; ++in_w) {
        memcpy(out, in, pixel);
        in += pixel;
        if (in_w + 1 < w1) out += (ptrdiff_t)p->block_width * (ptrdiff_t)pixel;
      }
    }
  }
}

TINYC_INLINE void tinyc_space_to_batch_nd(const tinyc_space_batch_params *p, size_t width,
                                           const uint8_t *TINYC_RESTRICT input,
                                           uint8_t *TINYC_RESTRICT output) {
  const size_t pixel = (size_t)p->depth * width;
  const size_t row = (size_t)p->out_width * pixel;
  for (int32_t out_b = 0; out_b < p->out_batch; ++out_b) {
    const int32_t in_b = out_b % p->in_batch;
    const int32_t shift_w = (out_b / p->in_batch) % p->block_width;
    const int32_t shift_h = (out_b / p->in_batch) / p->block_width;
    const int32_t h0 = tinyc_space_batch_first(p->block_height, shift_h, p->crop_top);
    const int32_t h1 = tinyc_space_batch_end(p->out_height, p->block_height, shift_h,
                                             p->crop_top, p->in_height);
    const int32_t w0 = tinyc_space_batch_first(p->block_width, shift_w, p->crop_left);
    const int32_t w1 = tinyc_space_batch_end(p->out_width, p->block_width, shift_w,
                                             p->crop_left, p->in_width);
    for (int32_t out_h = 0; out_h < p->out_height; ++out_h) {
      if (out_h < h0 || out_h >= h1 || w0 >= w1) {
        memset(output, p->pad_value, row);
        output += row;
        continue;
      }
      const int32_t in_h = out_h * p->block_height + shift_h - p->crop_top;
      const int32_t in_w = w0 * p->block_width + shift_w - p->crop_left;
      memset(output, p->pad_value, (size_t)w0 * pixel);
      output += (size_t)w0 * pixel;
      for (int32_t w = w0; w < w1; ++w) {
        const ptrdiff_t in_pixel = ((ptrdiff_t)in_b * p->in_height + in_h) * p->in_width + in_w +
                                   (ptrdiff_t)(w - w0) * p->block_width;
        output = tinyc_copy_run(width, p->depth, 1, input + in_pixel * (ptrdiff_t)pixel, output);
      }
      memset(output, p->pad_value, (size_t)(p->out_width - w1) * pixel);
      output += (size_t)(p->out_width - w1) * pixel;
    }
  }
}

TINYC_INLINE void tinyc_batch_to_space_nd_x8(const tinyc_space_batch_params *p,
                                              const void *input, void *output) {
  tinyc_batch_to_space_nd(p, 1, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_batch_to_space_nd_x32(const tinyc_space_batch_params *p,
                                               const void *input, void *output) {
  tinyc_batch_to_space_nd(p, 4, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_space_to_batch_nd_x8(const tinyc_space_batch_params *p,
                                              const void *input, void *output) {
  tinyc_space_to_batch_nd(p, 1, (const uint8_t *)input, (uint8_t *)output);
}
TINYC_INLINE void tinyc_space_to_batch_nd_x32(const tinyc_space_batch_params *p,
                                               const void *input, void *output) {
  tinyc_space_to_batch_nd(p, 4, (const uint8_t *)input, (uint8_t *)output);
}

TINYC_NAMESPACE_END

#endif /* TINYC_SPACE_DEPTH_H */
