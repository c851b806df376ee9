/* tinyc runtime: SVDF, as TFLM's micro kernel computes it (micro/kernels/svdf.cc,
 * svdf_common.cc EvalIntegerSvdfReference / EvalFloatSvdfReference), bit for bit:
 *   tinyc_svdf_s8_s16  int8 input, int8 feature weights, int16 time weights and state, int32
 *                      bias, int8 output (EvalInt16SvdfReference);
 *   tinyc_svdf_s8      the same with int8 time weights and state (EvalInt8SvdfReference);
 *   tinyc_svdf_f32     float32 throughout.
 *
 * The state holds, per batch row, `filters` rows of `memory` values (oldest first). One invoke:
 *   1. the whole state moves left by one value (TFLM shifts the flat buffer; the value that
 *      crosses into the previous filter's last slot is overwritten in 2);
 *   2. feature matmul: each filter's newest slot gets  sum_c wf[f][c] * (x[c] - input_zp),
 *      requantized to the state's scale (effective_scale_1), clamped to the state type's range,
 *      plus the state's zero point (float: the plain dot product);
 *   3. time: per unit u, acc = bias[u] + sum over its `rank` filters f of
 *      sum_j wt[f][j] * (state[f][j] - state_zp), requantized to the output (effective_scale_2),
 *      plus the output zero point, clamped to int8 (float: the fused activation, which TFLM's
 *      integer kernel does not apply).
 * TFLM keeps the time dot products and the sums per unit in two int32 scratch buffers; tinyc adds
 * each dot product to its unit's sum as it is computed, in the same order, so it needs none (for
 * float the additions happen in exactly TFLM's order: bias, then the rank dot products, each
 * summed from 0.0f over the memory).
 *
 * Integer sums: TFLM's are int32 and wrap around on overflow in practice (an int16 state and
 * time weights can take a memory of 8 values beyond 2^31); tinyc sums in uint32, which wraps by
 * definition, and converts back, so the bits are the same. The compiler folds the input zero
 * point into one constant per filter (`feature_bias` = -input_zp * sum_c wf[f][c], exact modulo
 * 2^32), so the feature loop is a plain int8 dot product. */
#ifndef TINYC_SVDF_H
#define TINYC_SVDF_H

#include <math.h>
#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t input_size;
  int32_t filters; /* units * rank */
  int32_t units;
  int32_t rank;
  int32_t memory;
  int32_t feature_multiplier; /* effective_scale_1: input * feature weights -> state */
  int32_t feature_shift;
  int32_t output_multiplier; /* effective_scale_2: state * time weights -> output */
  int32_t output_shift;
  int32_t state_zero_point;
  int32_t output_zero_point;
} tinyc_svdf_params;

/* Steps 2 and 3 for one batch row; T is int16_t or int8_t (the state and time weights). */
#define TINYC_SVDF_INTEGER_ROW(T, T_MIN, T_MAX)                                                  \
  do {                                                                                          \
    /* Feature matmul into the newest slot of each filter. */                                   \
    for (int32_t f = 0; f < p->filters; ++f) {                                                  \
      uint32_t dot = (uint32_t)feature_bias[f];                                                 \
      const int8_t *w = weights_feature + f * p->input_size;                                    \
      for (int32_t c = 0; c < p->input_size; ++c) dot += (uint32_t)((int32_t)w[c] * x[c]);      \
      int32_t scaled = tinyc_requantize((int32_t)dot, p->feature_multiplier,                    \
                                        (int)p->feature_shift);                                 \
      scaled = tinyc_min_i32(tinyc_max_i32(T_MIN, scaled), T_MAX);                              \
      row_state[f * p->memory + p->memory - 1] = (T)(p->state_zero_point + scaled);             \
    }                                                                                           \
    /* Time, reduce, rescale. */                                                                \
    const T *wt = weights_time;                                                                 \
    const T *s = row_state;                                                                     \
    for (int32_t u = 0; u < p->units; ++u) {                                                    \
      uint32_t acc = (uint32_t)bias[u];                                                         \
      for (int32_t r = 0; r < p->rank; ++r) {                                                   \
        uint32_t dot = 0;                                                                       \
        for (int32_t j = 0; j < p->memory; ++j) {                                               \
          dot += (uint32_t)wt[j] * (uint32_t)((int32_t)s[j] - p->state_zero_point);             \
        }                                                                                       \
        acc += dot;                                                                             \
        wt += p->memory;                                                                        \
        s += p->memory;                                                                         \
      }                                                                                         \
      const int32_t scaled =                                                                    \
          tinyc_requantize((int32_t)acc, p->output_multiplier, (int)p->output_shift) +          \
          p->output_zero_point;                                                                 \
      row_output[u] = tinyc_clamp_s8(scaled, INT8_MIN, INT8_MAX);                               \
    }                                                                                           \
  } while (0)

/* The state (B * filters * memory values) moves left by one, as TFLM's copy loop moves it. */
#define TINYC_SVDF_SHIFT_STATE(T)                                                                \
  memmove(state, state + 1,                                                                     \
          ((size_t)p->batches * (size_t)p->filters * (size_t)p->memory - 1u) * sizeof(T))

TINYC_INLINE void tinyc_svdf_s8_s16(const tinyc_svdf_params *p, const int8_t *input,
                                     const int8_t *weights_feature, const int32_t *feature_bias,
                                     const int16_t *weights_time, const int32_t *bias,
                                     int16_t *state, int8_t *output) {
  TINYC_SVDF_SHIFT_STATE(int16_t);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = input + b * p->input_size;
    int16_t *row_state = state + b * p->filters * p->memory;
    int8_t *row_output = output + b * p->units;
    TINYC_SVDF_INTEGER_ROW(int16_t, INT16_MIN, INT16_MAX);
  }
}

TINYC_INLINE void tinyc_svdf_s8(const tinyc_svdf_params *p, const int8_t *input,
                                 const int8_t *weights_feature, const int32_t *feature_bias,
                                 const int8_t *weights_time, const int32_t *bias, int8_t *state,
                                 int8_t *output) {
  TINYC_SVDF_SHIFT_STATE(int8_t);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = input + b * p->input_size;
    int8_t *row_state = state + b * p->filters * p->memory;
    int8_t *row_output = output + b * p->units;
    TINYC_SVDF_INTEGER_ROW(int8_t, INT8_MIN, INT8_MAX);
  }
}

/* --- float32 ----------------------------------------------------------------------------------- */

typedef struct {
  int32_t batches;
  int32_t input_size;
  int32_t filters;
  int32_t units;
  int32_t rank;
  int32_t memory;
  int32_t activation; /* TINYC_SVDF_ACT_*: the fused activation, as ActivationValFloat */
} tinyc_svdf_f32_params;

#define TINYC_SVDF_ACT_NONE 0
#define TINYC_SVDF_ACT_RELU 1
#define TINYC_SVDF_ACT_RELU_N1_TO_1 2
#define TINYC_SVDF_ACT_RELU6 3
#define TINYC_SVDF_ACT_TANH 4
#define TINYC_SVDF_ACT_SIGN_BIT 5

/* micro/kernels/activation_utils.h ActivationValFloat (TfLiteMax/TfLiteMin are std::max/min). */
TINYC_ALWAYS_INLINE float tinyc_svdf_activation_f32(int32_t activation, float a) {
  switch (activation) {
    case TINYC_SVDF_ACT_RELU:
      return tinyc_max_f32(0.0f, a);
    case TINYC_SVDF_ACT_RELU_N1_TO_1:
      return tinyc_max_f32(-1.0f, tinyc_min_f32(a, 1.0f));
    case TINYC_SVDF_ACT_RELU6:
      return tinyc_max_f32(0.0f, tinyc_min_f32(a, 6.0f));
    case TINYC_SVDF_ACT_TANH:
      return tanhf(a);
    case TINYC_SVDF_ACT_SIGN_BIT:
      return signbit(a) ? 1.0f : 0.0f;
    default:
      return a;
  }
}

TINYC_INLINE void tinyc_svdf_f32(const tinyc_svdf_f32_params *p, const float *input,
                                  const float *weights_feature, const float *weights_time,
                                  const float *bias, float *state, float *output) {
  TINYC_SVDF_SHIFT_STATE(float);
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *x = input + b * p->input_size;
    float *row_state = state + b * p->filters * p->memory;
    float *row_output = output + b * p->units;
    /* conv1d(inputs, weights_feature) into the newest slot of each filter */
    for (int32_t f = 0; f < p->filters; ++f) {
      float dot = 0.0f;
      const float *w = weights_feature + f * p->input_size;
      for (int32_t c = 0; c < p->input_size; ++c) dot += w[c] * x[c];
      row_state[f * p->memory + p->memory - 1] = dot;
    }
    /* ApplyTimeWeightsBiasAndActivation */
    const float *wt = weights_time;
    const float *s = row_state;
    for (int32_t u = 0; u < p->units; ++u) {
      float sum = bias[u];
      for (int32_t r = 0; r < p->rank; ++r) {
        float dot = 0.f;
        for (int32_t j = 0; j < p->memory; ++j) dot += wt[j] * s[j];
        sum += dot;
        wt += p->memory;
        s += p->memory;
      }
      row_output[u] = tinyc_svdf_activation_f32(p->activation, sum);
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_SVDF_H */
