/* tinyc runtime: QUANTIZE and DEQUANTIZE.
 * Mirrors TFLM reference_ops::AffineQuantize, Requantize and Dequantize
 * (reference/quantize.h, reference/requantize.h, reference/dequantize.h) for the type pairs
 * TFLM's micro kernels take (micro/kernels/quantize_common.cc, dequantize_common.cc):
 *   float32 -> int8, int16                         tinyc_quantize_f32_<out>
 *   int8 -> int8, uint8, int16, int32;             tinyc_requantize_<in>_<out>
 *   int16 -> int8, int16, int32; uint8 -> int8;
 *   int32 -> int8, int16
 *   int8, int16, uint8 -> float32                  tinyc_dequantize_<in>_f32
 * The bodies are the same for every pair but the element types, so a macro writes each family
 * once; the function names say the pair. */
#ifndef TINYC_QUANTIZE_H
#define TINYC_QUANTIZE_H

#include <math.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
  int32_t output_min; /* the output type's range */
  int32_t output_max;
} tinyc_quantize_params;

/* q = round(x / scale) + zero_point, rounding halves away from zero (TfLiteRound), saturated.
 * Out-of-range floats are clamped before the cast, where TFLM's cast is undefined. */
#define TINYC_QUANTIZE_F32(NAME, OUT_T)                                                        \
  TINYC_INLINE void NAME(const tinyc_quantize_params *p, const float *input, OUT_T *output) { \
    for (int32_t i = 0; i < p->size; ++i) {                                                    \
      float r = roundf(input[i] / p->scale);                                                   \
      r = tinyc_min_f32(tinyc_max_f32(r, -1e6f), 1e6f);                                        \
      output[i] = (OUT_T)tinyc_min_i32(tinyc_max_i32((int32_t)r + p->zero_point, p->output_min), \
                                       p->output_max);                                         \
    }                                                                                          \
  }

TINYC_QUANTIZE_F32(tinyc_quantize_f32_s8, int8_t)
TINYC_QUANTIZE_F32(tinyc_quantize_f32_s16, int16_t)

typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
  int32_t output_min; /* the output type's range */
  int32_t output_max;
} tinyc_requantize_params;

/* TFLM Requantize: (x - input_zero_point) rescaled with MultiplyByQuantizedMultiplier, plus the
 * output zero point, saturated. (Its int8 <-> uint8 fast path, x ^ 0x80 when only the zero
 * point moves by 128, gives the same bytes as this general path.) The subtraction and the
 * addition wrap as TFLM's int32 arithmetic does on the targets, where C would leave an int32
 * input near its limits undefined. */
#define TINYC_REQUANTIZE(NAME, IN_T, OUT_T)                                                    \
  TINYC_INLINE void NAME(const tinyc_requantize_params *p, const IN_T *input, OUT_T *output) { \
    for (int32_t i = 0; i < p->size; ++i) {                                                    \
      const int32_t x = (int32_t)((uint32_t)(int32_t)input[i] - (uint32_t)p->input_zero_point); \
      const int32_t y = (int32_t)((uint32_t)tinyc_requantize(x, p->multiplier, p->shift) +     \
                                  (uint32_t)p->output_zero_point);                             \
      output[i] = (OUT_T)tinyc_min_i32(tinyc_max_i32(y, p->output_min), p->output_max);        \
    }                                                                                          \
  }

TINYC_REQUANTIZE(tinyc_requantize_s8_s8, int8_t, int8_t)
TINYC_REQUANTIZE(tinyc_requantize_s8_u8, int8_t, uint8_t)
TINYC_REQUANTIZE(tinyc_requantize_s8_s16, int8_t, int16_t)
TINYC_REQUANTIZE(tinyc_requantize_s8_s32, int8_t, int32_t)
TINYC_REQUANTIZE(tinyc_requantize_s16_s8, int16_t, int8_t)
TINYC_REQUANTIZE(tinyc_requantize_s16_s16, int16_t, int16_t)
TINYC_REQUANTIZE(tinyc_requantize_s16_s32, int16_t, int32_t)
TINYC_REQUANTIZE(tinyc_requantize_u8_s8, uint8_t, int8_t)
TINYC_REQUANTIZE(tinyc_requantize_s32_s8, int32_t, int8_t)
TINYC_REQUANTIZE(tinyc_requantize_s32_s16, int32_t, int16_t)

typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
} tinyc_dequantize_params;

/* TFLM computes scale * (q - zero_point) in double and rounds to float once. The product of a
 * float scale (24 significant bits) and an integer of at most 17 bits is exact in double, so
 * one float multiply rounds the same. */
#define TINYC_DEQUANTIZE(NAME, IN_T)                                                             \
  TINYC_INLINE void NAME(const tinyc_dequantize_params *p, const IN_T *input, float *output) { \
    for (int32_t i = 0; i < p->size; ++i) {                                                      \
      output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);                         \
    }                                                                                            \
  }

TINYC_DEQUANTIZE(tinyc_dequantize_s8_f32, int8_t)
TINYC_DEQUANTIZE(tinyc_dequantize_s16_f32, int16_t)
TINYC_DEQUANTIZE(tinyc_dequantize_u8_f32, uint8_t)

TINYC_NAMESPACE_END

#endif /* TINYC_QUANTIZE_H */
