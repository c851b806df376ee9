/* tinyc runtime: element-wise binary math with broadcasting: MAXIMUM, MINIMUM,
 * SQUARED_DIFFERENCE, DIV, FLOOR_DIV, FLOOR_MOD, PRELU; and ADD_N (n inputs, no broadcasting).
 *
 * Each output element is TFLM's per-element expression, as in reference/maximum_minimum.h
 * (MaximumOp/MinimumOp), micro/kernels/squared_difference.cc, reference/div.h,
 * reference/floor_div.h, reference/floor_mod.h, reference/prelu.h and micro/kernels/prelu_common.cc,
 * reference/add_n.h. The multipliers come from those kernels' Prepare, computed offline by the
 * compiler (compiler/ops/binary.py says how).
 *
 * Broadcasting: as runtime/add.h, TFLM's BroadcastBinaryOpSimple walk computed offline: six nested
 * loops, `dim0..dim5` their extents (outermost first), `input1_stride0..5` and
 * `input2_stride0..5` each input's step in elements, 0 along a broadcast dimension. The results
 * depend only on which elements meet, so any walk pairing them as TFLM does is bit-exact.
 * TINYC_BROADCAST_WALK runs one expression of `x` (the input1 element) and `y` (the input2
 * element) per output element; comparison.h uses it too.
 *
 * Integer overflow that TFLM leaves to the hardware (int32 SQUARED_DIFFERENCE) wraps here, in
 * unsigned arithmetic, as TFLM's signed arithmetic does on every target in practice. */
#ifndef TINYC_BINARY_H
#define TINYC_BINARY_H

#include <math.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

#define TINYC_BROADCAST_WALK(p, T1, input1, T2, input2, TO, output, expression)            \
  do {                                                                                    \
    TO *out_ = (output);                                                                  \
    for (int32_t i0_ = 0; i0_ < (p)->dim0; ++i0_) {                                       \
      for (int32_t i1_ = 0; i1_ < (p)->dim1; ++i1_) {                                     \
        for (int32_t i2_ = 0; i2_ < (p)->dim2; ++i2_) {                                   \
          for (int32_t i3_ = 0; i3_ < (p)->dim3; ++i3_) {                                 \
            for (int32_t i4_ = 0; i4_ < (p)->dim4; ++i4_) {                               \
              const T1 *a_ = (input1) + i0_ * (p)->input1_stride0 +                       \
                             i1_ * (p)->input1_stride1 + i2_ * (p)->input1_stride2 +      \
                             i3_ * (p)->input1_stride3 + i4_ * (p)->input1_stride4;       \
              const T2 *b_ = (input2) + i0_ * (p)->input2_stride0 +                       \
                             i1_ * (p)->input2_stride1 + i2_ * (p)->input2_stride2 +      \
                             i3_ * (p)->input2_stride3 + i4_ * (p)->input2_stride4;       \
              for (int32_t i5_ = 0; i5_ < (p)->dim5; ++i5_) {                             \
                const T1 x = a_[i5_ * (p)->input1_stride5];                               \
                const T2 y = b_[i5_ * (p)->input2_stride5];                               \
                *out_++ = (expression);                                                   \
              }                                                                           \
            }                                                                             \
          }                                                                               \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  } while (0)

/* The walk alone: MAXIMUM, MINIMUM, FLOOR_DIV, FLOOR_MOD, float32 PRELU, float32 and int32
 * SQUARED_DIFFERENCE. */
typedef struct {
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_binary_params;

/* --- MAXIMUM / MINIMUM: no rescaling for any type (TFLM copies the winning input's value) --- */

#define TINYC_MAXIMUM_MINIMUM(suffix, T)                                                      \
  TINYC_INLINE void tinyc_maximum_##suffix(const tinyc_binary_params *p, const T *input1,   \
                                            const T *input2, T *output) {                    \
    TINYC_BROADCAST_WALK(p, T, input1, T, input2, T, output, x > y ? x : y);                  \
  }                                                                                           \
  TINYC_INLINE void tinyc_minimum_##suffix(const tinyc_binary_params *p, const T *input1,   \
                                            const T *input2, T *output) {                    \
    TINYC_BROADCAST_WALK(p, T, input1, T, input2, T, output, x < y ? x : y);                  \
  }

TINYC_MAXIMUM_MINIMUM(f32, float)
TINYC_MAXIMUM_MINIMUM(s8, int8_t)
TINYC_MAXIMUM_MINIMUM(s16, int16_t)
TINYC_MAXIMUM_MINIMUM(s32, int32_t)
TINYC_MAXIMUM_MINIMUM(s64, int64_t)

/* --- SQUARED_DIFFERENCE -------------------------------------------------------------------- */

TINYC_INLINE void tinyc_squared_difference_f32(const tinyc_binary_params *p, const float *input1,
                                                const float *input2, float *output) {
  TINYC_BROADCAST_WALK(p, float, input1, float, input2, float, output, (x - y) * (x - y));
}

TINYC_INLINE int32_t tinyc_squared_difference_s32_element(int32_t x, int32_t y) {
  const uint32_t difference = (uint32_t)x - (uint32_t)y;
  return (int32_t)(difference * difference);
}

TINYC_INLINE void tinyc_squared_difference_s32(const tinyc_binary_params *p,
                                                const int32_t *input1, const int32_t *input2,
                                                int32_t *output) {
  TINYC_BROADCAST_WALK(p, int32_t, input1, int32_t, input2, int32_t, output,
                       tinyc_squared_difference_s32_element(x, y));
}

typedef struct {
  int32_t input1_offset; /* -input1 zero point */
  int32_t input2_offset; /* -input2 zero point */
  int32_t output_offset; /* output zero point */
  int32_t left_shift;    /* 7 for int8, 0 for int16 */
  int32_t input1_multiplier;
  int32_t input1_shift; /* <= 0 */
  int32_t input2_multiplier;
  int32_t input2_shift; /* <= 0 */
  int32_t output_multiplier;
  int32_t output_shift;
  int32_t activation_min; /* the type's range: TFLM fuses no activation here */
  int32_t activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_squared_difference_s8_params;

typedef tinyc_squared_difference_s8_params tinyc_squared_difference_s16_params;

/* squared_difference.cc SquaredDifference<T>(x, y, params): both inputs shifted left, brought to
 * twice the larger input scale by multipliers below one, the difference squared in int32 (at most
 * 32640^2 for int8, 32768^2 for int16: no overflow) and rescaled to the output. */
TINYC_INLINE int32_t tinyc_squared_difference_quantized(const tinyc_squared_difference_s8_params *p,
                                                         int32_t x, int32_t y) {
  const int32_t shifted1 = (p->input1_offset + x) * ((int32_t)1 << p->left_shift);
  const int32_t shifted2 = (p->input2_offset + y) * ((int32_t)1 << p->left_shift);
  const int32_t scaled1 = tinyc_requantize(shifted1, p->input1_multiplier, p->input1_shift);
  const int32_t scaled2 = tinyc_requantize(shifted2, p->input2_multiplier, p->input2_shift);
  const int32_t raw_diff = scaled1 - scaled2;
  const int32_t raw_output =
      tinyc_requantize(raw_diff * raw_diff, p->output_multiplier, p->output_shift) +
      p->output_offset;
  return tinyc_min_i32(p->activation_max, tinyc_max_i32(p->activation_min, raw_output));
}

TINYC_INLINE void tinyc_squared_difference_s8(const tinyc_squared_difference_s8_params *p,
                                               const int8_t *input1, const int8_t *input2,
                                               int8_t *output) {
  TINYC_BROADCAST_WALK(p, int8_t, input1, int8_t, input2, int8_t, output,
                       (int8_t)tinyc_squared_difference_quantized(p, x, y));
}

TINYC_INLINE void tinyc_squared_difference_s16(const tinyc_squared_difference_s16_params *p,
                                                const int16_t *input1, const int16_t *input2,
                                                int16_t *output) {
  TINYC_BROADCAST_WALK(p, int16_t, input1, int16_t, input2, int16_t, output,
                       (int16_t)tinyc_squared_difference_quantized(p, x, y));
}

/* --- DIV ----------------------------------------------------------------------------------- */

typedef struct {
  float activation_min; /* CalculateActivationRange: NONE is [-FLT_MAX, FLT_MAX] */
  float activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_div_f32_params;

/* ActivationFunctionWithMinMax(a / b): std::min(std::max(q, min), max), in that operand order. */
TINYC_INLINE void tinyc_div_f32(const tinyc_div_f32_params *p, const float *input1,
                                 const float *input2, float *output) {
  TINYC_BROADCAST_WALK(p, float, input1, float, input2, float, output,
                       tinyc_min_f32(tinyc_max_f32(x / y, p->activation_min),
                                     p->activation_max));
}

typedef struct {
  int32_t activation_min;
  int32_t activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_div_s32_params;

/* C's truncating division, as TFLM's a / b; a zero divisor (or INT32_MIN / -1) traps there as
 * it does in TFLM. */
TINYC_INLINE void tinyc_div_s32(const tinyc_div_s32_params *p, const int32_t *input1,
                                 const int32_t *input2, int32_t *output) {
  TINYC_BROADCAST_WALK(p, int32_t, input1, int32_t, input2, int32_t, output,
                       tinyc_min_i32(tinyc_max_i32(x / y, p->activation_min),
                                     p->activation_max));
}

typedef struct {
  int32_t input1_offset; /* -input1 zero point */
  int32_t input2_offset; /* -input2 zero point */
  int32_t output_offset; /* output zero point */
  int32_t output_multiplier;
  int32_t output_shift;
  int32_t activation_min;
  int32_t activation_max;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_div_s8_params;

/* CountLeadingSignBits (gcc's __builtin_clrsb): 31 for 0 and -1. */
TINYC_INLINE int tinyc_count_leading_sign_bits(int32_t x) {
  uint32_t u = (uint32_t)(x < 0 ? ~x : x);
  if (u == 0) return 31;
#if defined(__GNUC__)
  return __builtin_clz(u) - 1;
#else
  int n = -1;
  while (!(u & 0x80000000u)) {
    u <<= 1;
    ++n;
  }
  return n;
#endif
}

/* gemmlowp RoundingDivideByPOT as TFLM's x86-64 build (the tflite-micro interpreter tinyc is
 * tested against) runs it in DivElementwise, where the exponent -total_shift reaches 32 and more
 * for small numerators and large divisors: `(1ll << e) - 1` narrowed to int32 is then -1 (all
 * remainder bits), and `x >> e`, undefined in C, is the x86 shift by e mod 32. TFLM on another
 * CPU computes other bytes for those elements (Arm shifts by the whole count); for exponents up
 * to 31 this is the plain RoundingDivideByPOT. The compiler keeps 0 <= e <= 62. */
TINYC_INLINE int32_t tinyc_div_rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(uint32_t)(((uint64_t)1 << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> (exponent & 31)) + (remainder > threshold ? 1 : 0);
}

/* reference_ops::DivElementwise for one pair. The divisor's reciprocal, GetReciprocal(|d|, 31,
 * &recip_shift) (a Newton-Raphson iteration in gemmlowp fixed point), depends only on |d| <= 255,
 * so the compiler tabulates it for all 256 values: `reciprocal[|d|]` and `reciprocal_shift[|d|]`.
 * d == 0 (TFLM only DCHECKs it) is tabulated as GetReciprocal(0) computes it. */
TINYC_INLINE int8_t tinyc_div_s8_element(const tinyc_div_s8_params *p, const int32_t *reciprocal,
                                          const int8_t *reciprocal_shift, int32_t a, int32_t b) {
  int32_t input1_val = p->input1_offset + a;
  int32_t input2_val = p->input2_offset + b;
  if (input2_val < 0) {
    /* The reciprocal must be positive to be a multiplier: invert both signs. */
    input1_val = -input1_val;
    input2_val = -input2_val;
  }
  const int32_t input2_inv = reciprocal[input2_val];
  const int recip_shift = reciprocal_shift[input2_val];
  const int headroom = tinyc_count_leading_sign_bits(input1_val);
  /* MultiplyByQuantizedMultiplierGreaterThanOne(input1_val, input2_inv, headroom) */
  const int32_t unscaled_quotient = tinyc_saturating_rounding_doubling_high_mul(
      (int32_t)((uint32_t)input1_val << headroom), input2_inv);
  const int total_shift = p->output_shift - recip_shift - headroom;
  /* MultiplyByQuantizedMultiplierSmallerThanOneExp(unscaled_quotient, multiplier, total_shift) */
  const int32_t unclamped_result =
      p->output_offset +
      tinyc_div_rounding_divide_by_pot(
          tinyc_saturating_rounding_doubling_high_mul(unscaled_quotient, p->output_multiplier),
          -total_shift);
  return (int8_t)tinyc_min_i32(p->activation_max,
                               tinyc_max_i32(p->activation_min, unclamped_result));
}

TINYC_INLINE void tinyc_div_s8(const tinyc_div_s8_params *p, const int32_t *reciprocal,
                                const int8_t *reciprocal_shift, const int8_t *input1,
                                const int8_t *input2, int8_t *output) {
  TINYC_BROADCAST_WALK(p, int8_t, input1, int8_t, input2, int8_t, output,
                       tinyc_div_s8_element(p, reciprocal, reciprocal_shift, x, y));
}

/* --- FLOOR_DIV, FLOOR_MOD (float32 only in TFLM) ------------------------------------------ */

/* reference_ops::FloorDiv<float>: std::floor of the quotient taken in double. TFLM's Eval fails
 * on a zero divisor; here it gives the IEEE result (an infinity or NaN). */
TINYC_INLINE void tinyc_floor_div_f32(const tinyc_binary_params *p, const float *input1,
                                       const float *input2, float *output) {
  TINYC_BROADCAST_WALK(p, float, input1, float, input2, float, output,
                       (float)floor((double)x / (double)y));
}

/* reference_ops::FloorMod<float>: fmodf, moved into the divisor's sign. */
TINYC_INLINE float tinyc_floor_mod_f32_element(float x, float y) {
  const float trunc_mod = fmodf(x, y);
  return (trunc_mod != 0) && ((y < 0) != (trunc_mod < 0)) ? (trunc_mod + y) : trunc_mod;
}

TINYC_INLINE void tinyc_floor_mod_f32(const tinyc_binary_params *p, const float *input1,
                                       const float *input2, float *output) {
  TINYC_BROADCAST_WALK(p, float, input1, float, input2, float, output,
                       tinyc_floor_mod_f32_element(x, y));
}

/* --- PRELU --------------------------------------------------------------------------------- */

/* BroadcastPrelu4DSlowFloat: in1 >= 0 ? in1 : in1 * alpha. */
TINYC_INLINE void tinyc_prelu_f32(const tinyc_binary_params *p, const float *input,
                                   const float *alpha, float *output) {
  TINYC_BROADCAST_WALK(p, float, input, float, alpha, float, output, x >= 0.0f ? x : x * y);
}

typedef struct {
  int32_t input_offset; /* -input zero point */
  int32_t alpha_offset; /* -alpha zero point */
  int32_t output_offset;
  int32_t output_multiplier_1; /* input scale / output scale */
  int32_t output_shift_1;
  int32_t output_multiplier_2; /* input scale * alpha scale / output scale */
  int32_t output_shift_2;
  int32_t dim0, dim1, dim2, dim3, dim4, dim5;
  int32_t input1_stride0, input1_stride1, input1_stride2, input1_stride3, input1_stride4,
      input1_stride5;
  int32_t input2_stride0, input2_stride1, input2_stride2, input2_stride3, input2_stride4,
      input2_stride5;
} tinyc_prelu_s8_params;

typedef tinyc_prelu_s8_params tinyc_prelu_s16_params;

/* reference_ops::BroadcastPrelu4DSlow's lambda, before the clamp to the output type. */
TINYC_INLINE int32_t tinyc_prelu_quantized(const tinyc_prelu_s8_params *p, int32_t input_val,
                                            int32_t alpha_val) {
  const int32_t input_value = p->input_offset + input_val;
  int32_t output_value;
  if (input_value >= 0) {
    output_value = tinyc_requantize(input_value, p->output_multiplier_1, p->output_shift_1);
  } else {
    const int32_t alpha_value = p->alpha_offset + alpha_val;
    output_value = tinyc_requantize(input_value * alpha_value, p->output_multiplier_2,
                                    p->output_shift_2);
  }
  return output_value + p->output_offset;
}

TINYC_INLINE void tinyc_prelu_s8(const tinyc_prelu_s8_params *p, const int8_t *input,
                                  const int8_t *alpha, int8_t *output) {
  TINYC_BROADCAST_WALK(p, int8_t, input, int8_t, alpha, int8_t, output,
                       tinyc_clamp_s8(tinyc_prelu_quantized(p, x, y), -128, 127));
}

/* int16 input and output with int8 alpha, as TFLM's PreluEval pairs them. */
TINYC_INLINE void tinyc_prelu_s16(const tinyc_prelu_s16_params *p, const int16_t *input,
                                   const int8_t *alpha, int16_t *output) {
  TINYC_BROADCAST_WALK(p, int16_t, input, int8_t, alpha, int16_t, output,
                       (int16_t)tinyc_min_i32(32767,
                                              tinyc_max_i32(-32768,
                                                            tinyc_prelu_quantized(p, x, y))));
}

/* --- ADD_N: n inputs of the output's shape, summed in input order -------------------------- */

typedef struct {
  int32_t size;
  int32_t input_count;
} tinyc_add_n_f32_params;

/* reference_ops::AddN<float>: x = 0, then x += input j, for j in order. */
TINYC_INLINE void tinyc_add_n_f32(const tinyc_add_n_f32_params *p, const float *const *inputs,
                                   float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    float x = 0;
    for (int32_t j = 0; j < p->input_count; ++j) x += inputs[j][i];
    output[i] = x;
  }
}

typedef struct {
  int32_t size;
  int32_t input_count;
  int32_t input_offset; /* -zero point shared by every input */
  int32_t output_offset;
  int32_t left_shift; /* 20 */
  int32_t input_multiplier;
  int32_t input_shift;
  int32_t output_multiplier;
  int32_t output_shift;
  int32_t activation_min;
  int32_t activation_max;
} tinyc_add_n_s8_params;

/* reference_ops::AddN(params, ...) for int8: the accumulator starts at the rescaled input offset
 * (TFLM's `x = params.input1_offset`, commented "x = 0"), then adds each rescaled input. */
TINYC_INLINE void tinyc_add_n_s8(const tinyc_add_n_s8_params *p, const int8_t *const *inputs,
                                  int8_t *output) {
  const int32_t scaled_offset = tinyc_requantize(p->input_offset * ((int32_t)1 << p->left_shift),
                                                 p->input_multiplier, p->input_shift);
  for (int32_t i = 0; i < p->size; ++i) {
    int32_t scaled_x = scaled_offset;
    for (int32_t j = 0; j < p->input_count; ++j) {
      const int32_t y = p->input_offset + inputs[j][i];
      scaled_x += tinyc_requantize(y * ((int32_t)1 << p->left_shift), p->input_multiplier,
                                   p->input_shift);
    }
    const int32_t raw_output =
        tinyc_requantize(scaled_x, p->output_multiplier, p->output_shift) + p->output_offset;
    output[i] = tinyc_clamp_s8(raw_output, p->activation_min, p->activation_max);
  }
}

/* The calls the generated code makes: one wrapper per input count collects the pointers. */
#define TINYC_ADD_N_WRAPPERS(suffix, T)                                                         \
  TINYC_INLINE void tinyc_add_n2_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, T *output) {            \
    const T *const inputs[] = {in0, in1};                                                       \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }                                                                                             \
  TINYC_INLINE void tinyc_add_n3_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, const T *in2,            \
                                           T *output) {                                         \
    const T *const inputs[] = {in0, in1, in2};                                                  \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }                                                                                             \
  TINYC_INLINE void tinyc_add_n4_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, const T *in2,            \
                                           const T *in3, T *output) {                           \
    const T *const inputs[] = {in0, in1, in2, in3};                                             \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }                                                                                             \
  TINYC_INLINE void tinyc_add_n5_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, const T *in2,            \
                                           const T *in3, const T *in4, T *output) {             \
    const T *const inputs[] = {in0, in1, in2, in3, in4};                                        \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }                                                                                             \
  TINYC_INLINE void tinyc_add_n6_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, const T *in2,            \
                                           const T *in3, const T *in4, const T *in5,            \
                                           T *output) {                                         \
    const T *const inputs[] = {in0, in1, in2, in3, in4, in5};                                   \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }                                                                                             \
  TINYC_INLINE void tinyc_add_n7_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, const T *in2,            \
                                           const T *in3, const T *in4, const T *in5,            \
                                           const T *in6, T *output) {                           \
    const T *const inputs[] = {in0, in1, in2, in3, in4, in5, in6};                              \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }                                                                                             \
  TINYC_INLINE void tinyc_add_n8_##suffix(const tinyc_add_n_##suffix##_params *p,             \
                                           const T *in0, const T *in1, const T *in2,            \
                                           const T *in3, const T *in4, const T *in5,            \
                                           const T *in6, const T *in7, T *output) {             \
    const T *const inputs[] = {in0, in1, in2, in3, in4, in5, in6, in7};                         \
    tinyc_add_n_##suffix(p, inputs, output);                                                    \
  }

TINYC_ADD_N_WRAPPERS(f32, float)
TINYC_ADD_N_WRAPPERS(s8, int8_t)

TINYC_NAMESPACE_END

#endif /* TINYC_BINARY_H */
