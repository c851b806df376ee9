/* tinyc runtime: REDUCE_MAX, REDUCE_MIN, SUM and REDUCE_ALL over any set of axes.
 *
 * Mirrors TFLM micro/kernels/reduce_common.cc and reference/reduce.h:
 *   REDUCE_MAX, REDUCE_MIN  int8, float32: reference_ops::ReduceGeneric with the running value
 *                           starting at the type's lowest (max) or highest (min) value and
 *                           `(in > current) ? in : current` (`<` for min). So a float NaN is never
 *                           taken, a row of -inf gives -FLT_MAX (the start value), and of two
 *                           equal values (+0.0 and -0.0) the first one stays. int8 needs the
 *                           output's scale and zero point to be the input's (no rescaling).
 *   SUM float32             ReduceGeneric from 0.0f with `in + current`, in input order.
 *   SUM int8, int16         reference_ops::QuantizedMeanOrSum (compute_sum = true): the int32
 *                           sum of the raw values, minus input_zero_point * count, requantized
 *                           with input_scale / output_scale (MultiplyByQuantizedMultiplier),
 *                           plus the output zero point, clamped to the type.
 *   REDUCE_ALL bool         ReduceGeneric from true with `in && current`.
 * TFLM accumulates each output over its input elements in input (row-major) order, which is the
 * order of the loops below for every output; only the float sum depends on it.
 *
 * The compiler drops size-1 dimensions and merges neighbouring dimensions that are both kept or
 * both reduced, so the input is at most three runs of kept dimensions interleaved with three runs
 * of reduced ones. `kept*` walks the outputs (outermost first), `reduced*` the input elements of
 * one output; extents and strides are in elements, an unused loop has extent 1. */
#ifndef TINYC_REDUCE_H
#define TINYC_REDUCE_H

#include <float.h>
#include <stdbool.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t kept_extent0, kept_extent1, kept_extent2;
  int32_t kept_stride0, kept_stride1, kept_stride2;
  int32_t reduced_extent0, reduced_extent1, reduced_extent2;
  int32_t reduced_stride0, reduced_stride1, reduced_stride2;
} tinyc_reduce_params;

typedef struct {
  int32_t kept_extent0, kept_extent1, kept_extent2;
  int32_t kept_stride0, kept_stride1, kept_stride2;
  int32_t reduced_extent0, reduced_extent1, reduced_extent2;
  int32_t reduced_stride0, reduced_stride1, reduced_stride2;
  int32_t count; /* input elements per output: the product of the reduced extents */
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier; /* QuantizeMultiplier(input_scale / output_scale) */
  int32_t shift;
} tinyc_reduce_sum_params;

/* `kind` is a constant in every caller, so each wrapper gets its own loops. */
enum { TINYC_REDUCE_MAX, TINYC_REDUCE_MIN, TINYC_REDUCE_SUM };

/* --- float32 --- */

TINYC_ALWAYS_INLINE float tinyc_reduce_one_f32(int32_t e0, int32_t e1, int32_t e2, int32_t s0,
                                                int32_t s1, int32_t s2, const float *x,
                                                int kind) {
  float current = kind == TINYC_REDUCE_MAX ? -FLT_MAX : kind == TINYC_REDUCE_MIN ? FLT_MAX : 0.0f;
  for (int32_t r0 = 0; r0 < e0; ++r0) {
    for (int32_t r1 = 0; r1 < e1; ++r1) {
      const float *row = x + r0 * s0 + r1 * s1;
      for (int32_t r2 = 0; r2 < e2; ++r2) {
        const float in = row[r2 * s2];
        if (kind == TINYC_REDUCE_MAX) {
          current = (in > current) ? in : current;
        } else if (kind == TINYC_REDUCE_MIN) {
          current = (in < current) ? in : current;
        } else {
          current = in + current;
        }
      }
    }
  }
  return current;
}

TINYC_ALWAYS_INLINE void tinyc_reduce_f32(const tinyc_reduce_params *p,
                                          const float *TINYC_RESTRICT input,
                                          float *TINYC_RESTRICT output, int kind) {
  for (int32_t k0 = 0; k0 < p->kept_extent0; ++k0) {
    for (int32_t k1 = 0; k1 < p->kept_extent1; ++k1) {
      const float *base = input + k0 * p->kept_stride0 + k1 * p->kept_stride1;
      for (int32_t k2 = 0; k2 < p->kept_extent2; ++k2) {
        *output++ = tinyc_reduce_one_f32(p->reduced_extent0, p->reduced_extent1,
                                         p->reduced_extent2, p->reduced_stride0,
                                         p->reduced_stride1, p->reduced_stride2,
                                         base + k2 * p->kept_stride2, kind);
      }
    }
  }
}

TINYC_INLINE void tinyc_reduce_max_f32(const tinyc_reduce_params *p, const float *input,
                                        float *output) {
  tinyc_reduce_f32(p, input, output, TINYC_REDUCE_MAX);
}

TINYC_INLINE void tinyc_reduce_min_f32(const tinyc_reduce_params *p, const float *input,
                                        float *output) {
  tinyc_reduce_f32(p, input, output, TINYC_REDUCE_MIN);
}

TINYC_INLINE void tinyc_reduce_sum_f32(const tinyc_reduce_params *p, const float *input,
                                        float *output) {
  tinyc_reduce_f32(p, input, output, TINYC_REDUCE_SUM);
}

/* --- int8 and int16 --- */

/* Max, min, or the int32 sum with wrap-around (TFLM's AddTensorValuesWithExpectedOverflow). */
TINYC_ALWAYS_INLINE int32_t tinyc_reduce_one_s8(int32_t e0, int32_t e1, int32_t e2, int32_t s0,
                                                int32_t s1, int32_t s2, const int8_t *x,
                                                int kind) {
  int32_t current = kind == TINYC_REDUCE_MAX ? -128 : kind == TINYC_REDUCE_MIN ? 127 : 0;
  for (int32_t r0 = 0; r0 < e0; ++r0) {
    for (int32_t r1 = 0; r1 < e1; ++r1) {
      const int8_t *row = x + r0 * s0 + r1 * s1;
      for (int32_t r2 = 0; r2 < e2; ++r2) {
        const int32_t in = row[r2 * s2];
        if (kind == TINYC_REDUCE_MAX) {
          current = (in > current) ? in : current;
        } else if (kind == TINYC_REDUCE_MIN) {
          current = (in < current) ? in : current;
        } else {
          current = (int32_t)((uint32_t)current + (uint32_t)in);
        }
      }
    }
  }
  return current;
}

TINYC_ALWAYS_INLINE void tinyc_reduce_minmax_s8(const tinyc_reduce_params *p,
                                                const int8_t *TINYC_RESTRICT input,
                                                int8_t *TINYC_RESTRICT output, int kind) {
  for (int32_t k0 = 0; k0 < p->kept_extent0; ++k0) {
    for (int32_t k1 = 0; k1 < p->kept_extent1; ++k1) {
      const int8_t *base = input + k0 * p->kept_stride0 + k1 * p->kept_stride1;
      for (int32_t k2 = 0; k2 < p->kept_extent2; ++k2) {
        *output++ = (int8_t)tinyc_reduce_one_s8(p->reduced_extent0, p->reduced_extent1,
                                                p->reduced_extent2, p->reduced_stride0,
                                                p->reduced_stride1, p->reduced_stride2,
                                                base + k2 * p->kept_stride2, kind);
      }
    }
  }
}

TINYC_INLINE void tinyc_reduce_max_s8(const tinyc_reduce_params *p, const int8_t *input,
                                       int8_t *output) {
  tinyc_reduce_minmax_s8(p, input, output, TINYC_REDUCE_MAX);
}

TINYC_INLINE void tinyc_reduce_min_s8(const tinyc_reduce_params *p, const int8_t *input,
                                       int8_t *output) {
  tinyc_reduce_minmax_s8(p, input, output, TINYC_REDUCE_MIN);
}

/* QuantizedMeanOrSum's last step: (int32)(sum - zero_point * count) (TFLM subtracts in int64
 * and converts, which is this subtraction modulo 2^32), rescaled, offset. */
TINYC_ALWAYS_INLINE int32_t tinyc_reduce_sum_requantize(const tinyc_reduce_sum_params *p,
                                                        int32_t sum) {
  const int32_t shifted_sum =
      (int32_t)((uint32_t)sum - (uint32_t)p->input_zero_point * (uint32_t)p->count);
  return tinyc_requantize(shifted_sum, p->multiplier, p->shift) + p->output_zero_point;
}

TINYC_INLINE void tinyc_reduce_sum_s8(const tinyc_reduce_sum_params *p,
                                       const int8_t *TINYC_RESTRICT input,
                                       int8_t *TINYC_RESTRICT output) {
  for (int32_t k0 = 0; k0 < p->kept_extent0; ++k0) {
    for (int32_t k1 = 0; k1 < p->kept_extent1; ++k1) {
      const int8_t *base = input + k0 * p->kept_stride0 + k1 * p->kept_stride1;
      for (int32_t k2 = 0; k2 < p->kept_extent2; ++k2) {
        const int32_t sum = tinyc_reduce_one_s8(p->reduced_extent0, p->reduced_extent1,
                                                p->reduced_extent2, p->reduced_stride0,
                                                p->reduced_stride1, p->reduced_stride2,
                                                base + k2 * p->kept_stride2, TINYC_REDUCE_SUM);
        *output++ = tinyc_clamp_s8(tinyc_reduce_sum_requantize(p, sum), -128, 127);
      }
    }
  }
}

/* QuantizedMeanOrSum<int16_t, int32_t>: the int8 arithmetic on int16 values (an int32 sum that
 * wraps around beyond 65536 elements, as TFLM's does), clamped to int16. */
TINYC_INLINE void tinyc_reduce_sum_s16(const tinyc_reduce_sum_params *p,
                                        const int16_t *TINYC_RESTRICT input,
                                        int16_t *TINYC_RESTRICT output) {
  for (int32_t k0 = 0; k0 < p->kept_extent0; ++k0) {
    for (int32_t k1 = 0; k1 < p->kept_extent1; ++k1) {
      for (int32_t k2 = 0; k2 < p->kept_extent2; ++k2) {
        const int16_t *x =
            input + k0 * p->kept_stride0 + k1 * p->kept_stride1 + k2 * p->kept_stride2;
        uint32_t sum = 0;
        for (int32_t r0 = 0; r0 < p->reduced_extent0; ++r0) {
          for (int32_t r1 = 0; r1 < p->reduced_extent1; ++r1) {
            const int16_t *row = x + r0 * p->reduced_stride0 + r1 * p->reduced_stride1;
            for (int32_t r2 = 0; r2 < p->reduced_extent2; ++r2) {
              sum += (uint32_t)(int32_t)row[r2 * p->reduced_stride2];
            }
          }
        }
        *output++ = tinyc_clamp_s16(tinyc_reduce_sum_requantize(p, (int32_t)sum), -32768, 32767);
      }
    }
  }
}

/* --- bool --- */

TINYC_INLINE void tinyc_reduce_all_b(const tinyc_reduce_params *p,
                                      const bool *TINYC_RESTRICT input,
                                      bool *TINYC_RESTRICT output) {
  for (int32_t k0 = 0; k0 < p->kept_extent0; ++k0) {
    for (int32_t k1 = 0; k1 < p->kept_extent1; ++k1) {
      for (int32_t k2 = 0; k2 < p->kept_extent2; ++k2) {
        const bool *x =
            input + k0 * p->kept_stride0 + k1 * p->kept_stride1 + k2 * p->kept_stride2;
        bool current = true;
        for (int32_t r0 = 0; r0 < p->reduced_extent0; ++r0) {
          for (int32_t r1 = 0; r1 < p->reduced_extent1; ++r1) {
            const bool *row = x + r0 * p->reduced_stride0 + r1 * p->reduced_stride1;
            for (int32_t r2 = 0; r2 < p->reduced_extent2; ++r2) {
              current = row[r2 * p->reduced_stride2] && current;
            }
          }
        }
        *output++ = current;
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_REDUCE_H */
