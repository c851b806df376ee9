/* tinyc runtime: DYNAMIC_UPDATE_SLICE, by element width.
 * Mirrors TFLM's micro/kernels/dynamic_update_slice.cc: the output is the operand with the
 * update written over it from start indices read at run time (int32 or int64), each clamped to
 * [0, operand_dim - update_dim]; so the write always lies inside the output. Rows of the
 * update's last dimension are copied whole. Shapes come from the params (rank <= 6, unit
 * dimensions in front). */
#ifndef TINYC_DYNAMIC_UPDATE_SLICE_H
#define TINYC_DYNAMIC_UPDATE_SLICE_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t operand_bytes; /* the whole operand, copied first */
  int32_t rank;          /* the leading dimensions of the six below that the indices give */
  int32_t indices_64;    /* start indices are int64 (else int32) */
  int32_t width;         /* bytes per element */
  int32_t operand_dim0, operand_dim1, operand_dim2, operand_dim3, operand_dim4, operand_dim5;
  int32_t update_dim0, update_dim1, update_dim2, update_dim3, update_dim4, update_dim5;
} tinyc_dynamic_update_slice_params;

TINYC_INLINE void tinyc_dynamic_update_slice(const tinyc_dynamic_update_slice_params *p,
                                              const void *operand, const void *update,
                                              const void *indices, void *output) {
  const int32_t operand_dims[6] = {p->operand_dim0, p->operand_dim1, p->operand_dim2,
                                   p->operand_dim3, p->operand_dim4, p->operand_dim5};
  const int32_t update_dims[6] = {p->update_dim0, p->update_dim1, p->update_dim2,
                                  p->update_dim3, p->update_dim4, p->update_dim5};
  int32_t start[6] = {0, 0, 0, 0, 0, 0};
  int32_t stride[6]; /* output elements per step of each dimension */
  const int32_t lead = 6 - p->rank; /* the model's dimensions are the last `rank` of the six */
  for (int32_t i = 0; i < p->rank; ++i) {
    const int64_t raw = p->indices_64 ? ((const int64_t *)indices)[i]
                                      : (int64_t)((const int32_t *)indices)[i];
    const int64_t high = (int64_t)operand_dims[lead + i] - update_dims[lead + i];
    start[lead + i] = (int32_t)(raw < 0 ? 0 : raw > high ? high : raw);
  }
  stride[5] = 1;
  for (int32_t d = 4; d >= 0; --d) stride[d] = stride[d + 1] * operand_dims[d + 1];
  if (operand != output) memmove(output, operand, (size_t)p->operand_bytes);
  const size_t row = (size_t)update_dims[5] * (size_t)p->width;
  const uint8_t *src = (const uint8_t *)update;
  uint8_t *out = (uint8_t *)output;
  for (int32_t i0 = 0; i0 < update_dims[0]; ++i0)
    for (int32_t i1 = 0; i1 < update_dims[1]; ++i1)
      for (int32_t i2 = 0; i2 < update_dims[2]; ++i2)
        for (int32_t i3 = 0; i3 < update_dims[3]; ++i3)
          for (int32_t i4 = 0; i4 < update_dims[4]; ++i4) {
            const int32_t at = (start[0] + i0) * stride[0] + (start[1] + i1) * stride[1] +
                               (start[2] + i2) * stride[2] + (start[3] + i3) * stride[3] +
                               (start[4] + i4) * stride[4] + start[5];
            memcpy(out + (size_t)at * (size_t)p->width, src, row);
            src += row;
          }
}

TINYC_NAMESPACE_END

#endif /* TINYC_DYNAMIC_UPDATE_SLICE_H */
