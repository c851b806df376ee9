/* tinyc runtime: MEAN over any set of axes of a tensor of rank <= 4 (padded to 4 dimensions).
 * int8, int16 and float32.
 *
 * Mirrors TFLM reference_ops::QuantizedMeanOrSum (compute_sum = false), the only path TFLM micro
 * runs for int8 MEAN: each output is the int32 sum of its inputs, minus input_zero_point * count,
 * requantized with a multiplier that already includes 1/count (folded in by the compiler as TFLM
 * does at run time), plus the output zero point, clamped to int8. The sum is exact (int32
 * addition is associative), so the order of the loops here need not follow TFLM's. */
#ifndef TINYC_MEAN_H
#define TINYC_MEAN_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  /* Loop extents and input strides (in elements) of the 4 padded dimensions: `outer*` runs over
   * the kept dimensions (1 for a reduced one), `inner*` over the reduced ones (1 for a kept one). */
  int32_t outer0, outer1, outer2, outer3;
  int32_t inner0, inner1, inner2, inner3;
  int32_t stride0, stride1, stride2, stride3;
  int32_t count; /* elements per output: the product of `inner*` */
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
} tinyc_mean_s8_params;

/* int16 takes the same numbers. */
typedef tinyc_mean_s8_params tinyc_mean_s16_params;

TINYC_INLINE void tinyc_mean_s8(const tinyc_mean_s8_params *p, const int8_t *TINYC_RESTRICT input,
                                 int8_t *TINYC_RESTRICT output) {
  for (int32_t o0 = 0; o0 < p->outer0; ++o0) {
    for (int32_t o1 = 0; o1 < p->outer1; ++o1) {
      for (int32_t o2 = 0; o2 < p->outer2; ++o2) {
        for (int32_t o3 = 0; o3 < p->outer3; ++o3) {
          const int8_t *base = input + o0 * p->stride0 + o1 * p->stride1 +
                               o2 * p->stride2 + o3 * p->stride3;
          int32_t sum = 0;
          for (int32_t i0 = 0; i0 < p->inner0; ++i0) {
            for (int32_t i1 = 0; i1 < p->inner1; ++i1) {
              for (int32_t i2 = 0; i2 < p->inner2; ++i2) {
                const int8_t *row = base + i0 * p->stride0 + i1 * p->stride1 +
                                    i2 * p->stride2;
                for (int32_t i3 = 0; i3 < p->inner3; ++i3) sum += row[i3 * p->stride3];
              }
            }
          }
          /* int32 wrap-around, as TFLM's static_cast<int32_t> of the int64 difference. */
          const int32_t shifted_sum =
              (int32_t)((uint32_t)sum - (uint32_t)p->input_zero_point * (uint32_t)p->count);
          const int32_t value =
              tinyc_requantize(shifted_sum, p->multiplier, p->shift) + p->output_zero_point;
          *output++ = tinyc_clamp_s8(value, -128, 127);
        }
      }
    }
  }
}

/* int16: QuantizedMeanOrSum<int16_t, int32_t>, the int8 code on int16 values, clamped to int16.
 * TFLM's int32 sum cannot overflow up to 65536 elements per output; beyond that the sum here
 * wraps around as TFLM's int32 addition does on its targets. */
TINYC_INLINE void tinyc_mean_s16(const tinyc_mean_s16_params *p,
                                  const int16_t *TINYC_RESTRICT input,
                                  int16_t *TINYC_RESTRICT output) {
  for (int32_t o0 = 0; o0 < p->outer0; ++o0) {
    for (int32_t o1 = 0; o1 < p->outer1; ++o1) {
      for (int32_t o2 = 0; o2 < p->outer2; ++o2) {
        for (int32_t o3 = 0; o3 < p->outer3; ++o3) {
          const int16_t *base = input + o0 * p->stride0 + o1 * p->stride1 +
                                o2 * p->stride2 + o3 * p->stride3;
          uint32_t sum = 0;
          for (int32_t i0 = 0; i0 < p->inner0; ++i0) {
            for (int32_t i1 = 0; i1 < p->inner1; ++i1) {
              for (int32_t i2 = 0; i2 < p->inner2; ++i2) {
                const int16_t *row = base + i0 * p->stride0 + i1 * p->stride1 +
                                     i2 * p->stride2;
                for (int32_t i3 = 0; i3 < p->inner3; ++i3) {
                  sum += (uint32_t)(int32_t)row[i3 * p->stride3];
                }
              }
            }
          }
          const int32_t shifted_sum =
              (int32_t)(sum - (uint32_t)p->input_zero_point * (uint32_t)p->count);
          const int32_t value =
              tinyc_requantize(shifted_sum, p->multiplier, p->shift) + p->output_zero_point;
          *output++ = tinyc_clamp_s16(value, -32768, 32767);
        }
      }
    }
  }
}

typedef struct {
  int32_t outer0, outer1, outer2, outer3;
  int32_t inner0, inner1, inner2, inner3;
  int32_t stride0, stride1, stride2, stride3;
  int32_t count;
} tinyc_mean_f32_params;

/* reference_ops::Mean (float): a float sum from 0.0f over the reduced elements in row-major order
 * (the order both of TFLM's float paths use), divided by the element count. */
TINYC_INLINE void tinyc_mean_f32(const tinyc_mean_f32_params *p, const float *TINYC_RESTRICT input,
                                  float *TINYC_RESTRICT output) {
  for (int32_t o0 = 0; o0 < p->outer0; ++o0) {
    for (int32_t o1 = 0; o1 < p->outer1; ++o1) {
      for (int32_t o2 = 0; o2 < p->outer2; ++o2) {
        for (int32_t o3 = 0; o3 < p->outer3; ++o3) {
          const float *base = input + o0 * p->stride0 + o1 * p->stride1 + o2 * p->stride2 +
                              o3 * p->stride3;
          float sum = 0.0f;
          for (int32_t i0 = 0; i0 < p->inner0; ++i0) {
            for (int32_t i1 = 0; i1 < p->inner1; ++i1) {
              for (int32_t i2 = 0; i2 < p->inner2; ++i2) {
                const float *row = base + i0 * p->stride0 + i1 * p->stride1 + i2 * p->stride2;
                for (int32_t i3 = 0; i3 < p->inner3; ++i3) sum += row[i3 * p->stride3];
              }
            }
          }
          *output++ = sum / (float)p->count;
        }
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_MEAN_H */
