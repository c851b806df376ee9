/* tinyc runtime: GATHER, GATHER_ND and EMBEDDING_LOOKUP.
 * Mirrors TFLM's gather.cc, gather_nd.cc and embedding_lookup.cc: each output slice is a
 * contiguous copy (memcpy through tinyc_copy_run, copy_nd.h) of the input slice an index picks.
 * The indices may be computed at run time, so every one is checked before it is used: an index
 * TFLM rejects (its kernels then return kTfLiteError) makes the kernel write zero bytes for that
 * slice instead of reading outside the input, carry on with the other slices, and return -1
 * (0 when every index was in range). The bounds are TFLM's own:
 *   GATHER, EMBEDDING_LOOKUP: 0 <= index < size of the gathered axis;
 *   GATHER_ND: the slice's flat position must lie inside the input (TFLM checks the sum
 *     index[0] * stride[0] + ... + index[nd-1] * stride[nd-1], not each index: an index past
 *     its dimension that still lands inside the input reads what TFLM reads). The sum is formed
 *     in 64 bits, so no index can overflow it.
 * Data movement is by element width (`_x8` ... `_x64`); the hybrid EMBEDDING_LOOKUP (int8 table,
 * float32 output) dequantizes as TFLM's Dequantize: (value - zero_point) * scale in float. */
#ifndef TINYC_GATHER_H
#define TINYC_GATHER_H

#include <string.h>

#include "copy_nd.h"
#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batch;     /* product of the first batch_dims dimensions */
  int32_t outer;     /* product of the dimensions from batch_dims to the axis */
  int32_t axis_size; /* input size along the axis */
  int32_t coords;    /* indices per batch */
  int32_t inner;     /* product of the dimensions after the axis */
} tinyc_gather_params;

TINYC_INLINE int tinyc_gather(const tinyc_gather_params *p, size_t width,
                               const uint8_t *TINYC_RESTRICT input, const int32_t *coords,
                               uint8_t *TINYC_RESTRICT output) {
  int status = 0;
  const size_t slice = (size_t)p->inner * width;
  for (int32_t b = 0; b < p->batch; ++b) {
    for (int32_t o = 0; o < p->outer; ++o) {
      const ptrdiff_t row = ((ptrdiff_t)b * p->outer + o) * p->axis_size;
      for (int32_t c = 0; c < p->coords; ++c) {
        const int32_t index = coords[(ptrdiff_t)b * p->coords + c];
        if (index < 0 || index >= p->axis_size) {
          memset(output, 0, slice);
          output += slice;
          status = -1;
          continue;
        }
        output = tinyc_copy_run(width, p->inner, 1,
                                input + (row + index) * (ptrdiff_t)slice, output);
      }
    }
  }
  return status;
}

TINYC_INLINE int tinyc_gather_x8(const tinyc_gather_params *p, const void *input,
                                  const int32_t *coords, void *output) {
  return tinyc_gather(p, 1, (const uint8_t *)input, coords, (uint8_t *)output);
}
TINYC_INLINE int tinyc_gather_x16(const tinyc_gather_params *p, const void *input,
                                   const int32_t *coords, void *output) {
  return tinyc_gather(p, 2, (const uint8_t *)input, coords, (uint8_t *)output);
}
TINYC_INLINE int tinyc_gather_x32(const tinyc_gather_params *p, const void *input,
                                   const int32_t *coords, void *output) {
  return tinyc_gather(p, 4, (const uint8_t *)input, coords, (uint8_t *)output);
}
TINYC_INLINE int tinyc_gather_x64(const tinyc_gather_params *p, const void *input,
                                   const int32_t *coords, void *output) {
  return tinyc_gather(p, 8, (const uint8_t *)input, coords, (uint8_t *)output);
}

typedef struct {
  int32_t slices;     /* index tuples: product of the indices' dimensions but the last */
  int32_t nd;         /* values per index tuple (the indices' last dimension), 0 to 5 */
  int32_t slice_size; /* elements per slice: product of the input dimensions after nd */
  int32_t flat_size;  /* input elements */
} tinyc_gather_nd_params;

/* `strides[j]`: input elements per step of dimension j (TFLM's dims_to_count). */
TINYC_INLINE int tinyc_gather_nd(const tinyc_gather_nd_params *p, size_t width,
                                  const int32_t *strides, const uint8_t *TINYC_RESTRICT input,
                                  const int32_t *indices, uint8_t *TINYC_RESTRICT output) {
  int status = 0;
  const size_t slice = (size_t)p->slice_size * width;
  for (int32_t i = 0; i < p->slices; ++i) {
    int64_t from = 0;
    for (int32_t j = 0; j < p->nd; ++j) {
      from += (int64_t)indices[(ptrdiff_t)i * p->nd + j] * strides[j];
    }
    if (from < 0 || from + p->slice_size > p->flat_size) {
      memset(output, 0, slice);
      output += slice;
      status = -1;
      continue;
    }
    output = tinyc_copy_run(width, p->slice_size, 1, input + (ptrdiff_t)from * (ptrdiff_t)width,
                            output);
  }
  return status;
}

TINYC_INLINE int tinyc_gather_nd_x8(const tinyc_gather_nd_params *p, const int32_t *strides,
                                     const void *input, const int32_t *indices, void *output) {
  return tinyc_gather_nd(p, 1, strides, (const uint8_t *)input, indices, (uint8_t *)output);
}
TINYC_INLINE int tinyc_gather_nd_x16(const tinyc_gather_nd_params *p, const int32_t *strides,
                                      const void *input, const int32_t *indices, void *output) {
  return tinyc_gather_nd(p, 2, strides, (const uint8_t *)input, indices, (uint8_t *)output);
}
TINYC_INLINE int tinyc_gather_nd_x32(const tinyc_gather_nd_params *p, const int32_t *strides,
                                      const void *input, const int32_t *indices, void *output) {
  return tinyc_gather_nd(p, 4, strides, (const uint8_t *)input, indices, (uint8_t *)output);
}
TINYC_INLINE int tinyc_gather_nd_x64(const tinyc_gather_nd_params *p, const int32_t *strides,
                                      const void *input, const int32_t *indices, void *output) {
  return tinyc_gather_nd(p, 8, strides, (const uint8_t *)input, indices, (uint8_t *)output);
}

/* EMBEDDING_LOOKUP with an int8 table and a float32 output (embedding_lookup.cc EvalHybrid). */
typedef struct {
  int32_t rows;       /* table rows */
  int32_t lookups;    /* indices */
  int32_t columns;    /* elements per row */
  int32_t zero_point; /* the table's (TFLM requires 0) */
  float scale;        /* the table's */
} tinyc_embedding_lookup_s8_f32_params;

TINYC_INLINE int tinyc_embedding_lookup_s8_f32(const tinyc_embedding_lookup_s8_f32_params *p,
                                                const int32_t *lookup,
                                                const int8_t *TINYC_RESTRICT table,
                                                float *TINYC_RESTRICT output) {
  int status = 0;
  for (int32_t i = 0; i < p->lookups; ++i) {
    const int32_t index = lookup[i];
    float *out = output + (ptrdiff_t)i * p->columns;
    if (index < 0 || index >= p->rows) {
      for (int32_t j = 0; j < p->columns; ++j) out[j] = 0.0f;
      status = -1;
      continue;
    }
    const int8_t *row = table + (ptrdiff_t)index * p->columns;
    for (int32_t j = 0; j < p->columns; ++j) {
      out[j] = (float)((int32_t)row[j] - p->zero_point) * p->scale;
    }
  }
  return status;
}

TINYC_NAMESPACE_END

#endif /* TINYC_GATHER_H */
