/* tinyc runtime: CUMSUM along one axis, float32 and int8, with TFLM's exclusive and reverse.
 *
 * Mirrors TFLM reference_ops::CumSum (reference/cumsum.h) as micro/kernels/cumsum.cc calls it.
 * The shape is flattened around the axis: `before` elements ahead of it, `depth` along it and
 * `after` behind it (the axis stride, in elements). Each of the before * after chains is summed
 * along the axis, first to last or (reverse) last to first; an inclusive sum writes the
 * accumulator after adding the element, an exclusive one before.
 *
 * float32: the accumulator starts at 0.0f and adds each element in chain order.
 * int8: the general 8-bit add arithmetic (ArithmeticParams): each element plus input_offset
 * (minus the input zero point) is shifted left by left_shift (20) and scaled by input_multiplier
 * (1/2, so two of them never overflow); the int32 accumulator is scaled to the output with
 * output_multiplier, offset and clamped to int8. As in TFLM the accumulator does not start at 0
 * but at the scaled input_offset (the comment there says 0; the code is what runs), and it wraps
 * around modulo 2^32 when a long chain overflows it, as TFLM's int32 addition does on its
 * targets. */
#ifndef TINYC_CUMSUM_H
#define TINYC_CUMSUM_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t before;
  int32_t depth;
  int32_t after;
  int32_t exclusive; /* 0 or 1 */
  int32_t reverse;   /* 0 or 1 */
} tinyc_cumsum_f32_params;

typedef struct {
  int32_t before;
  int32_t depth;
  int32_t after;
  int32_t exclusive; /* 0 or 1 */
  int32_t reverse;   /* 0 or 1 */
  int32_t left_shift;
  int32_t input_offset; /* -input zero point */
  int32_t input_multiplier;
  int32_t input_shift; /* <= 0 */
  int32_t output_offset; /* output zero point */
  int32_t output_multiplier;
  int32_t output_shift; /* <= 0 */
} tinyc_cumsum_s8_params;

TINYC_INLINE void tinyc_cumsum_f32(const tinyc_cumsum_f32_params *p,
                                    const float *TINYC_RESTRICT input,
                                    float *TINYC_RESTRICT output) {
  for (int32_t b = 0; b < p->before; ++b) {
    for (int32_t a = 0; a < p->after; ++a) {
      const int32_t base = b * p->depth * p->after + a;
      float accumulator = 0.0f;
      for (int32_t d = 0; d < p->depth; ++d) {
        const int32_t index = base + (p->reverse ? p->depth - 1 - d : d) * p->after;
        if (p->exclusive) {
          output[index] = accumulator;
          accumulator = accumulator + input[index];
        } else {
          accumulator = accumulator + input[index];
          output[index] = accumulator;
        }
      }
    }
  }
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp of (value + input_offset) << left_shift. */
TINYC_INLINE int32_t tinyc_cumsum_scaled_input(const tinyc_cumsum_s8_params *p, int32_t value) {
  const int32_t shifted = (int32_t)((uint32_t)(value + p->input_offset) << p->left_shift);
  return tinyc_requantize(shifted, p->input_multiplier, p->input_shift);
}

TINYC_INLINE void tinyc_cumsum_s8(const tinyc_cumsum_s8_params *p,
                                   const int8_t *TINYC_RESTRICT input,
                                   int8_t *TINYC_RESTRICT output) {
  /* The accumulator's start: input_offset scaled like an input value of 0. */
  const int32_t start = tinyc_cumsum_scaled_input(p, 0);
  for (int32_t b = 0; b < p->before; ++b) {
    for (int32_t a = 0; a < p->after; ++a) {
      const int32_t base = b * p->depth * p->after + a;
      int32_t accumulator = start;
      for (int32_t d = 0; d < p->depth; ++d) {
        const int32_t index = base + (p->reverse ? p->depth - 1 - d : d) * p->after;
        const int32_t scaled = tinyc_cumsum_scaled_input(p, input[index]);
        int32_t sum;
        if (p->exclusive) {
          sum = accumulator;
          accumulator = (int32_t)((uint32_t)accumulator + (uint32_t)scaled);
        } else {
          accumulator = (int32_t)((uint32_t)accumulator + (uint32_t)scaled);
          sum = accumulator;
        }
        const int32_t raw =
            tinyc_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
        output[index] = tinyc_clamp_s8(raw, -128, 127);
      }
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_CUMSUM_H */
