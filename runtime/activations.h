/* tinyc runtime: LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU and HARD_SWISH on int16 and float32.
 *
 * (int8 forms of these ops are 256-entry tables: runtime/lut.h.) A table of all 65,536 int16
 * inputs would take 128 KB of flash per op, so the int16 kernels run TFLM's arithmetic itself:
 *   - LOGISTIC, TANH: reference_integer_ops::Logistic / Tanh (int16), TFLM's rescale of the input
 *     to 1/(3 * 4096) units followed by linear interpolation in the 256-entry uint16 sigmoid
 *     table of tensorflow/lite/kernels/internal/common.h (`sigmoid_table_uint16`, 512 bytes of
 *     flash, shared by every LOGISTIC and TANH of the program); tanh(x) = 2 sigmoid(2x) - 1;
 *   - RELU: micro/kernels/activations.h ReluQuantized<int16_t> (zero points 0, as ReluPrepare
 *     requires); RELU6: Relu6Quantized<int16_t>, a clamp on the input scale;
 *   - LEAKY_RELU: reference_ops::QuantizeLeakyRelu<int16_t>.
 * The compiler does what Prepare does (compiler/ops/activations.py) and passes the results.
 *
 * float32: the expressions of TFLM's reference float kernels, in the same order and with the same
 * libm functions (std::exp(float) is expf, std::tanh(float) tanhf), so results are bit-identical
 * with TFLM on the same host; on a microcontroller expf/tanhf round as its libm does, exactly as
 * TFLM's own results would. ReluFloat and Relu6Float (micro/kernels/activations_common.cc),
 * reference_ops::LeakyRelu, Logistic<float> (with its cut-offs) and Tanh<float>, HardSwish<float>.
 *
 * TFLM has no int16 HARD_SWISH (its Eval refuses the type) and no RELU_N1_TO_1 kernel (only as a
 * fused activation), so neither is here. Every kernel walks `size` elements in order; input and
 * output may be the same buffer. */
#ifndef TINYC_ACTIVATIONS_H
#define TINYC_ACTIVATIONS_H

#include <math.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

/* --- int16 LOGISTIC and TANH: reference/integer_ops/logistic.h and tanh.h ------------------- */

/* TFLM's sigmoid_table_uint16, copied value for value (they are close to, but not all equal to,
 * round(65536 * sigmoid(i / 24))): entry i is sigmoid(i / 24), the input in steps of 2^9 units of
 * 1/(3 * 4096). A static const inside a function, so it exists (once per translation unit, in
 * flash) only when a kernel uses it. */
TINYC_INLINE const uint16_t *tinyc_sigmoid_table_u16(void) {
  static const uint16_t table[256] = {
      32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
      41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
      48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
      54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
      58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
      61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
      63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
      64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
      64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
      65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
      65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
      65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
      65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
      65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
      65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
      65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
      65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
      65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
      65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
      65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};
  return table;
}

/* The input rescale both kernels start with: (x * multiplier + rounding) >> shift. The compiler
 * has already applied TFLM's power-of-two case (multiplier 0 -> 3 << shift, shift 0) and computed
 * the rounding term (2^(shift - 1), or 0). The product is taken modulo 2^32 as TFLM's int32
 * arithmetic does in practice; the compiler only passes multipliers for which it cannot wrap
 * (|x| * multiplier + rounding < 2^31), so this is exact. */
typedef struct {
  int32_t size;
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t rounding;
} tinyc_logistic_s16_params;

typedef tinyc_logistic_s16_params tinyc_tanh_s16_params;

TINYC_ALWAYS_INLINE int32_t tinyc_logistic_rescale(const tinyc_logistic_s16_params *p,
                                                   int16_t x) {
  const uint32_t product = (uint32_t)(int32_t)x * (uint32_t)p->input_multiplier;
  return (int32_t)(product + (uint32_t)p->rounding) >> p->input_left_shift;
}

/* |x| as TFLM's abs() then uint32_t conversion leave it. */
TINYC_ALWAYS_INLINE uint32_t tinyc_logistic_abs_u32(int32_t x) {
  return x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
}

TINYC_INLINE void tinyc_logistic_s16(const tinyc_logistic_s16_params *p, const int16_t *input,
                                      int16_t *output) {
  const uint16_t *table = tinyc_sigmoid_table_u16();
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t input_data = tinyc_logistic_rescale(p, input[i]);
    /* Interpolation on the magnitude: uh indexes the table (a step is 2^9 input units), ut is
     * the 9 bits below it. */
    const uint32_t abs_input_data = tinyc_logistic_abs_u32(input_data);
    const uint32_t uh = abs_input_data >> 9;
    uint32_t result;
    if (uh >= 255) {
      result = 0x7FFFu << 10; /* saturate */
    } else {
      const uint32_t ua = table[uh];
      const uint32_t ub = table[uh + 1];
      const uint32_t ut = abs_input_data & 0x1FFu;
      result = (ua << 9) + ut * (ub - ua);
    }
    /* sigmoid(-x) = 1 - sigmoid(x); then back to Q0.15 with rounding. */
    result = input_data >= 0 ? result + (1u << 9) : (1u << (16 + 9)) - result + (1u << 9) - 1u;
    output[i] = (int16_t)(result >> 10);
  }
}

TINYC_INLINE void tinyc_tanh_s16(const tinyc_tanh_s16_params *p, const int16_t *input,
                                  int16_t *output) {
  const uint16_t *table = tinyc_sigmoid_table_u16();
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t input_data = tinyc_logistic_rescale(p, input[i]);
    /* tanh(x) = 2 sigmoid(2x) - 1: indexing with 8 bits instead of 9 reads sigmoid at 2x. */
    const uint32_t abs_input_data = tinyc_logistic_abs_u32(input_data);
    const uint32_t uh = abs_input_data >> 8;
    int32_t result;
    if (uh >= 255) {
      result = 0xFFFF << 8; /* saturate */
    } else {
      const uint32_t ua = table[uh];
      const uint32_t ub = table[uh + 1];
      const uint32_t ut = abs_input_data & 0xFFu;
      result = (int32_t)((ua << 8) + ut * (ub - ua)); /* < 2^24 */
    }
    /* 2 sigmoid - 1, with the sign of x, rounded back to Q0.15. */
    result = input_data >= 0 ? result - (1 << (14 + 9)) + (1 << (9 - 2))
                             : -result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1;
    output[i] = (int16_t)(result >> (9 - 1));
  }
}

/* --- int16 RELU, RELU6: micro/kernels/activations.h ----------------------------------------- */

/* ReluQuantized<int16_t> with ReluPrepare's int16 constraints: both zero points are 0, so the
 * offsets vanish and the clamp is [0, 32767]. */
typedef struct {
  int32_t size;
  int32_t output_multiplier;
  int32_t output_shift;
} tinyc_relu_s16_params;

TINYC_INLINE void tinyc_relu_s16(const tinyc_relu_s16_params *p, const int16_t *input,
                                  int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t scaled = tinyc_requantize(input[i], p->output_multiplier, p->output_shift);
    output[i] = tinyc_clamp_s16(scaled, 0, INT16_MAX);
  }
}

/* Relu6Quantized<int16_t>: a clamp to [zero, six], both on the input's scale. */
typedef struct {
  int32_t size;
  int16_t lower;
  int16_t upper;
} tinyc_relu6_s16_params;

TINYC_INLINE void tinyc_relu6_s16(const tinyc_relu6_s16_params *p, const int16_t *input,
                                   int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int16_t val = input[i];
    output[i] = val > p->upper ? p->upper : val < p->lower ? p->lower : val;
  }
}

/* --- int16 LEAKY_RELU: reference/leaky_relu.h QuantizeLeakyRelu ---------------------------- */

/* alpha_multiplier is |output_multiplier_alpha| (TFLM's safe_alpha_multiplier) and
 * alpha_negative says whether to negate the scaled value, as TFLM does for negative alphas. */
typedef struct {
  int32_t size;
  int32_t input_offset;
  int32_t output_offset;
  int32_t identity_multiplier;
  int32_t identity_shift;
  int32_t alpha_multiplier;
  int32_t alpha_shift;
  int32_t alpha_negative;
} tinyc_leaky_relu_s16_params;

TINYC_INLINE void tinyc_leaky_relu_s16(const tinyc_leaky_relu_s16_params *p,
                                        const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t input_value = (int32_t)input[i] - p->input_offset;
    int32_t unclamped;
    if (input_value >= 0) {
      unclamped = p->output_offset +
                  tinyc_requantize(input_value, p->identity_multiplier, p->identity_shift);
    } else {
      const int32_t scaled = tinyc_requantize(input_value, p->alpha_multiplier, p->alpha_shift);
      unclamped = p->output_offset + (p->alpha_negative ? -scaled : scaled);
    }
    output[i] = tinyc_clamp_s16(unclamped, INT16_MIN, INT16_MAX);
  }
}

/* --- float32 -------------------------------------------------------------------------------- */

typedef struct {
  int32_t size;
} tinyc_activation_f32_params;

/* ReluFloat: val < 0 ? 0 : val (so -0.0 and NaN pass through). */
TINYC_INLINE void tinyc_relu_f32(const tinyc_activation_f32_params *p, const float *input,
                                  float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const float val = input[i];
    output[i] = val < 0.0f ? 0.0f : val;
  }
}

/* Relu6Float */
TINYC_INLINE void tinyc_relu6_f32(const tinyc_activation_f32_params *p, const float *input,
                                   float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const float val = input[i];
    output[i] = val > 6.0f ? 6.0f : val < 0.0f ? 0.0f : val;
  }
}

/* reference_ops::Logistic<float>: 1 above the upper cut-off, exp(x) below the lower one,
 * 1 / (1 + exp(-x)) between. */
TINYC_INLINE void tinyc_logistic_f32(const tinyc_activation_f32_params *p, const float *input,
                                      float *output) {
  const float cutoff_upper = 16.619047164916992188f;
  const float cutoff_lower = -9.f;
  for (int32_t i = 0; i < p->size; ++i) {
    const float val = input[i];
    float result;
    if (val > cutoff_upper) {
      result = 1.0f;
    } else if (val < cutoff_lower) {
      result = expf(val);
    } else {
      result = 1.f / (1.f + expf(-val));
    }
    output[i] = result;
  }
}

/* reference_ops::Tanh<float>: std::tanh */
TINYC_INLINE void tinyc_tanh_f32(const tinyc_activation_f32_params *p, const float *input,
                                  float *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = tanhf(input[i]);
}

/* reference_ops::HardSwish<float>: in * min(6, max(0, in + 3)) / 6, std::min/std::max operand
 * order. */
TINYC_INLINE void tinyc_hard_swish_f32(const tinyc_activation_f32_params *p, const float *input,
                                        float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const float in = input[i];
    output[i] = in * tinyc_min_f32(6.0f, tinyc_max_f32(0.0f, in + 3.0f)) / 6.0f;
  }
}

/* reference_ops::LeakyRelu (float): alpha may be > 1 or < 0, so no max. */
typedef struct {
  int32_t size;
  float alpha;
} tinyc_leaky_relu_f32_params;

TINYC_INLINE void tinyc_leaky_relu_f32(const tinyc_leaky_relu_f32_params *p, const float *input,
                                        float *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const float val = input[i];
    output[i] = val > 0.0f ? val : val * p->alpha;
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_ACTIVATIONS_H */
