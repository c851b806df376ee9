/* tinyc runtime: UNIDIRECTIONAL_SEQUENCE_LSTM, as TFLM's micro kernel computes it
 * (micro/kernels/unidirectional_sequence_lstm.cc, lstm_eval.h / lstm_eval.cc), bit for bit:
 *   tinyc_lstm_s8   int8 activations, int8 weights, int32 biases, int16 cell state ("8x8->16");
 *   tinyc_lstm_s16  int16 activations, int8 weights, int64 biases, int16 cell state ("16x8");
 *   tinyc_lstm_f32  float32 throughout.
 * The standard (Keras) LSTM only, as TFLM's: all four gates, no peephole, no projection, no
 * layer norm.
 *
 * One step (LstmStep) for one row of the batch, with x the row's input at time t and h, c its
 * hidden and cell state (both op inputs that the kernel updates in place):
 *   gate    = act(clamp16(FC_x(x) + bias) +sat clamp16(FC_h(h)))   for input, forget, cell,
 *             output gates (CalculateLstmGate); act is sigmoid, or for the cell gate the op's
 *             fused activation (TFLM takes tanh or sigmoid; the schema can only say tanh);
 *             FC outputs are Q3.12, act outputs Q0.15
 *   c       = clip(mul(forget, c) +sat mul(input, cell))           (UpdateLstmCell)
 *   h       = mul(tanh(c), output)                                 (UpdateLstmHidden)
 *   out[t]  = h
 * where mul is reference_integer_ops::MulElementwise with the multipliers TFLM's Prepare makes
 * (lstm_eval_common.cc CreateInterGateMulParams), and sigmoid / tanh the int16 reference
 * Logistic / Tanh of activations.h. The float kernel runs the same steps with the float reference
 * ops (FullyConnected with the float32 limits as clamp, Logistic, Tanh, Mul, plain add).
 *
 * TFLM runs a time-major op one time step at a time for the whole batch, a batch-major one batch
 * row by batch row; every row's arithmetic depends on that row only, so tinyc runs one row at a
 * time in both cases and the strides say where row b at time t is.
 *
 * The compiler does what TFLM's Prepare does (compiler/ops/lstm.py) and passes the results:
 * per gate the multiplier and shift of its two FCs (input scale * weight scale / 2^-12), the three
 * multiplications' multipliers, the quantized cell clip, the rescale of the cell state before
 * tanh (from its power-of-two scale). It also folds the zero point of x (and of h) into each FC's
 * bias offline:  sum_d w[d] * (x[d] - zp) + b  ==  sum_d w[d] * x[d] + (b - zp * sum_d w[d]),
 * exact in the accumulator (int32 for 8x8, where the compiler checks that no sum can overflow;
 * int64 for 16x8). Weights are [4][state_size][input_size] and [4][state_size][state_size] in the
 * model's gate order (input, forget, cell, output), each gate's matrix in fully_connected.h's
 * row-group layout for 8x8 (whose dot products it uses), row by row otherwise; biases
 * [8][state_size]: the four input FCs' then the four recurrent FCs'.
 *
 * Scratch: three vectors of state_size cell values (TFLM's buffer0..2; its buffer3, the
 * recurrent FC's output, is not needed since each FC value is added as it is computed). */
#ifndef TINYC_LSTM_H
#define TINYC_LSTM_H

#include <string.h>

#include "activations.h"
#include "fully_connected.h" /* tinyc_fc_dot_1x4_s8 / _1x2_s8 / _1x1_s8 */
#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t batches;
  int32_t time_steps;
  int32_t input_size;
  int32_t state_size;
  /* element strides between batch rows and between time steps, of the input and the output */
  int32_t input_batch_stride;
  int32_t input_time_stride;
  int32_t output_batch_stride;
  int32_t output_time_stride;
  /* per gate: the input FC's and the recurrent FC's requantization to Q3.12 */
  int32_t input_gate_x_multiplier;
  int32_t input_gate_x_shift;
  int32_t input_gate_h_multiplier;
  int32_t input_gate_h_shift;
  int32_t forget_gate_x_multiplier;
  int32_t forget_gate_x_shift;
  int32_t forget_gate_h_multiplier;
  int32_t forget_gate_h_shift;
  int32_t cell_gate_x_multiplier;
  int32_t cell_gate_x_shift;
  int32_t cell_gate_h_multiplier;
  int32_t cell_gate_h_shift;
  int32_t output_gate_x_multiplier;
  int32_t output_gate_x_shift;
  int32_t output_gate_h_multiplier;
  int32_t output_gate_h_shift;
  int32_t cell_gate_tanh; /* 1: the cell gate's activation is tanh; 0: sigmoid */
  /* forget gate (Q0.15) x cell state -> cell state */
  int32_t forget_mul_multiplier;
  int32_t forget_mul_shift;
  /* input gate (Q0.15) x cell gate (Q0.15) -> cell state */
  int32_t input_mul_multiplier;
  int32_t input_mul_shift;
  /* tanh(cell) (Q0.15) x output gate (Q0.15) -> hidden state, with its zero point */
  int32_t hidden_mul_multiplier;
  int32_t hidden_mul_shift;
  int32_t hidden_zero_point;
  int32_t use_cell_clip; /* TFLM clips when the op's cell_clip > 0 */
  int32_t cell_clip;     /* quantized, in [0, 32767] */
  /* Tanh of the cell state: TFLM's input rescale (x * multiplier + rounding) >> shift */
  int32_t cell_tanh_multiplier;
  int32_t cell_tanh_shift;
  int32_t cell_tanh_rounding;
} tinyc_lstm_params;

/* --- shared integer steps ------------------------------------------------------------------- */

/* lstm_internal::AddElementWise (int16): saturating add. */
TINYC_ALWAYS_INLINE int16_t tinyc_lstm_add_s16(int32_t a, int32_t b) {
  return tinyc_clamp_s16(a + b, INT16_MIN, INT16_MAX);
}

/* reference_integer_ops::MulElementwise of two Q0.15 (or cell state) int16 values, offsets 0:
 * the int32 product requantized, plus the output offset, clamped to [lo, hi]. */
TINYC_ALWAYS_INLINE int32_t tinyc_lstm_mul(int16_t a, int16_t b, int32_t multiplier, int32_t shift,
                                           int32_t offset, int32_t lo, int32_t hi) {
  const int32_t product = (int32_t)a * (int32_t)b;
  const int32_t scaled = offset + tinyc_requantize(product, multiplier, (int)shift);
  return tinyc_min_i32(tinyc_max_i32(scaled, lo), hi);
}

/* The gate's activation, in place: sigmoid (reference_integer_ops::Logistic with
 * input_multiplier 0 and shift 0, so x * 3) or tanh (reference_integer_ops::Tanh with
 * cell_state_scale_power -12: also x * 3, no shift). */
TINYC_INLINE void tinyc_lstm_activate_s16(int16_t *gate, int32_t size, int32_t tanh) {
  const tinyc_logistic_s16_params q = {size, 3, 0, 0};
  if (tanh) {
    tinyc_tanh_s16(&q, gate, gate);
  } else {
    tinyc_logistic_s16(&q, gate, gate);
  }
}

/* UpdateLstmCell (int16): c = clip(mul(f, c) +sat mul(i, g)); `input_gate` receives i * g, as
 * TFLM's buffer1 does. */
TINYC_INLINE void tinyc_lstm_update_cell_s16(const tinyc_lstm_params *p, int16_t *cell,
                                              const int16_t *forget_gate, int16_t *input_gate,
                                              const int16_t *cell_gate) {
  const int32_t n = p->state_size;
  for (int32_t i = 0; i < n; ++i) {
    cell[i] = (int16_t)tinyc_lstm_mul(forget_gate[i], cell[i], p->forget_mul_multiplier,
                                      p->forget_mul_shift, 0, INT16_MIN, INT16_MAX);
  }
  for (int32_t i = 0; i < n; ++i) {
    input_gate[i] = (int16_t)tinyc_lstm_mul(input_gate[i], cell_gate[i], p->input_mul_multiplier,
                                            p->input_mul_shift, 0, INT16_MIN, INT16_MAX);
  }
  for (int32_t i = 0; i < n; ++i) cell[i] = tinyc_lstm_add_s16(cell[i], input_gate[i]);
  if (p->use_cell_clip) {
    /* Clipping: std::max(std::min(clip, v), -clip) */
    const int32_t clip = p->cell_clip;
    for (int32_t i = 0; i < n; ++i) {
      cell[i] = (int16_t)tinyc_max_i32(tinyc_min_i32(clip, cell[i]), -clip);
    }
  }
}

/* Tanh of the cell state into `buffer` (lstm_internal::Tanh with the cell's scale power). */
TINYC_INLINE void tinyc_lstm_cell_tanh_s16(const tinyc_lstm_params *p, const int16_t *cell,
                                            int16_t *buffer) {
  const tinyc_tanh_s16_params q = {p->state_size, p->cell_tanh_multiplier, p->cell_tanh_shift,
                                   p->cell_tanh_rounding};
  tinyc_tanh_s16(&q, cell, buffer);
}

/* --- 8x8->16 ---------------------------------------------------------------------------------- */

/* One FC of a gate for one row (reference_integer_ops::FullyConnected, int8 -> int16, int32
 * accumulator): each of the n sums bias[c] + w[c] . x requantized to Q3.12 and clamped to
 * int16; stored in gate[c], or (add) added to it with saturation (AddElementWise). The dot
 * products are fully_connected.h's, on its weight layout (groups of 4, 2, 1 rows with
 * alternating 4-value chunks; DSP multiply-accumulates on Cortex-M), so the sums are the same
 * integers as a plain loop's. */
TINYC_INLINE void tinyc_lstm_fc_s8(const int8_t *x, const int8_t *w, int32_t k, int32_t n,
                                    const int32_t *bias, int32_t multiplier, int32_t shift,
                                    int add, int16_t *gate) {
  int32_t s[4];
  int32_t c = 0;
  while (c < n) {
    const int32_t rows = n - c >= 4 ? 4 : n - c >= 2 ? 2 : 1;
    if (rows == 4) {
      tinyc_fc_dot_1x4_s8(x, w, k, bias + c, s);
    } else if (rows == 2) {
      tinyc_fc_dot_1x2_s8(x, w, k, bias + c, s);
    } else {
      s[0] = tinyc_fc_dot_1x1_s8(x, w, k, bias[c]);
    }
    for (int32_t j = 0; j < rows; ++j) {
      const int32_t v =
          tinyc_clamp_s16(tinyc_requantize(s[j], multiplier, (int)shift), INT16_MIN, INT16_MAX);
      gate[c + j] = add ? tinyc_lstm_add_s16(gate[c + j], v) : (int16_t)v;
    }
    c += rows;
    w += rows * k;
  }
}

/* One gate (CalculateLstmGate) for one row: the input FC plus the recurrent FC, then the
 * activation. */
TINYC_INLINE void tinyc_lstm_gate_s8(const tinyc_lstm_params *p, const int8_t *x,
                                      const int8_t *x_weights, const int32_t *x_bias,
                                      int32_t x_multiplier, int32_t x_shift, const int8_t *h,
                                      const int8_t *h_weights, const int32_t *h_bias,
                                      int32_t h_multiplier, int32_t h_shift, int32_t tanh,
                                      int16_t *gate) {
  tinyc_lstm_fc_s8(x, x_weights, p->input_size, p->state_size, x_bias, x_multiplier, x_shift, 0,
                   gate);
  tinyc_lstm_fc_s8(h, h_weights, p->state_size, p->state_size, h_bias, h_multiplier, h_shift, 1,
                   gate);
  tinyc_lstm_activate_s16(gate, p->state_size, tanh);
}

/* The gate with index g (0 input, 1 forget, 2 cell, 3 output) of the kernel's arrays. */
#define TINYC_LSTM_GATE_S8(p, x, h, input_weights, recurrent_weights, bias, g, name, tanh, out) \
  tinyc_lstm_gate_s8((p), (x), (input_weights) + (g) * (p)->state_size * (p)->input_size,      \
                     (bias) + (g) * (p)->state_size, (p)->name##_x_multiplier,                 \
                     (p)->name##_x_shift, (h),                                                 \
                     (recurrent_weights) + (g) * (p)->state_size * (p)->state_size,            \
                     (bias) + (4 + (g)) * (p)->state_size, (p)->name##_h_multiplier,           \
                     (p)->name##_h_shift, (tanh), (out))

TINYC_INLINE void tinyc_lstm_s8(const tinyc_lstm_params *p, const int8_t *input,
                                 const int8_t *input_weights, const int8_t *recurrent_weights,
                                 const int32_t *bias, int8_t *hidden_state, int16_t *cell_state,
                                 int8_t *output, void *scratch) {
  const int32_t n = p->state_size;
  int16_t *buffer0 = (int16_t *)scratch;
  int16_t *buffer1 = buffer0 + n;
  int16_t *buffer2 = buffer1 + n;
  for (int32_t b = 0; b < p->batches; ++b) {
    int8_t *h = hidden_state + b * n;
    int16_t *c = cell_state + b * n;
    for (int32_t t = 0; t < p->time_steps; ++t) {
      const int8_t *x = input + b * p->input_batch_stride + t * p->input_time_stride;
      /* Step 1: the forget, input and cell gates (LstmStep's order). */
      TINYC_LSTM_GATE_S8(p, x, h, input_weights, recurrent_weights, bias, 1, forget_gate, 0,
                         buffer0);
      TINYC_LSTM_GATE_S8(p, x, h, input_weights, recurrent_weights, bias, 0, input_gate, 0,
                         buffer1);
      TINYC_LSTM_GATE_S8(p, x, h, input_weights, recurrent_weights, bias, 2, cell_gate,
                         p->cell_gate_tanh, buffer2);
      /* Step 2: the cell state. */
      tinyc_lstm_update_cell_s16(p, c, buffer0, buffer1, buffer2);
      /* Step 3: the output gate (from the old hidden state), then the hidden state. */
      TINYC_LSTM_GATE_S8(p, x, h, input_weights, recurrent_weights, bias, 3, output_gate, 0,
                         buffer1);
      tinyc_lstm_cell_tanh_s16(p, c, buffer0);
      for (int32_t i = 0; i < n; ++i) {
        h[i] = (int8_t)tinyc_lstm_mul(buffer0[i], buffer1[i], p->hidden_mul_multiplier,
                                      p->hidden_mul_shift, p->hidden_zero_point, INT8_MIN,
                                      INT8_MAX);
      }
      /* Step 4: the output at time t is the hidden state. */
      memcpy(output + b * p->output_batch_stride + t * p->output_time_stride, h, (size_t)n);
    }
  }
}

/* --- 16x8 -------------------------------------------------------------------------------------- */

/* As tinyc_lstm_gate_s8 with int16 inputs: TFLM's accumulator is an int64 (int64 bias) and its
 * requantization the int64 MultiplyByQuantizedMultiplier (tinyc_requantize_s64); the compiler
 * checks TFLM's contract for it (shift < 8, |acc| < 2^47). */
TINYC_INLINE void tinyc_lstm_gate_s16(const tinyc_lstm_params *p, const int16_t *x,
                                       const int8_t *x_weights, const int64_t *x_bias,
                                       int32_t x_multiplier, int32_t x_shift, const int16_t *h,
                                       const int8_t *h_weights, const int64_t *h_bias,
                                       int32_t h_multiplier, int32_t h_shift, int32_t tanh,
                                       int16_t *gate) {
  const int32_t n_input = p->input_size;
  const int32_t n_state = p->state_size;
  for (int32_t c = 0; c < n_state; ++c) {
    int64_t acc = x_bias[c];
    const int8_t *w = x_weights + c * n_input;
    for (int32_t d = 0; d < n_input; ++d) acc += (int32_t)w[d] * x[d];
    const int32_t from_x = tinyc_clamp_s16(tinyc_requantize_s64(acc, x_multiplier, (int)x_shift),
                                           INT16_MIN, INT16_MAX);
    int64_t acc_h = h_bias[c];
    const int8_t *v = h_weights + c * n_state;
    for (int32_t d = 0; d < n_state; ++d) acc_h += (int32_t)v[d] * h[d];
    const int32_t from_h = tinyc_clamp_s16(tinyc_requantize_s64(acc_h, h_multiplier, (int)h_shift),
                                           INT16_MIN, INT16_MAX);
    gate[c] = tinyc_lstm_add_s16(from_x, from_h);
  }
  tinyc_lstm_activate_s16(gate, n_state, tanh);
}

#define TINYC_LSTM_GATE_S16(p, x, h, input_weights, recurrent_weights, bias, g, name, tanh, out) \
  tinyc_lstm_gate_s16((p), (x), (input_weights) + (g) * (p)->state_size * (p)->input_size,      \
                      (bias) + (g) * (p)->state_size, (p)->name##_x_multiplier,                 \
                      (p)->name##_x_shift, (h),                                                 \
                      (recurrent_weights) + (g) * (p)->state_size * (p)->state_size,            \
                      (bias) + (4 + (g)) * (p)->state_size, (p)->name##_h_multiplier,           \
                      (p)->name##_h_shift, (tanh), (out))

TINYC_INLINE void tinyc_lstm_s16(const tinyc_lstm_params *p, const int16_t *input,
                                  const int8_t *input_weights, const int8_t *recurrent_weights,
                                  const int64_t *bias, int16_t *hidden_state, int16_t *cell_state,
                                  int16_t *output, void *scratch) {
  const int32_t n = p->state_size;
  int16_t *buffer0 = (int16_t *)scratch;
  int16_t *buffer1 = buffer0 + n;
  int16_t *buffer2 = buffer1 + n;
  for (int32_t b = 0; b < p->batches; ++b) {
    int16_t *h = hidden_state + b * n;
    int16_t *c = cell_state + b * n;
    for (int32_t t = 0; t < p->time_steps; ++t) {
      const int16_t *x = input + b * p->input_batch_stride + t * p->input_time_stride;
      TINYC_LSTM_GATE_S16(p, x, h, input_weights, recurrent_weights, bias, 1, forget_gate, 0,
                          buffer0);
      TINYC_LSTM_GATE_S16(p, x, h, input_weights, recurrent_weights, bias, 0, input_gate, 0,
                          buffer1);
      TINYC_LSTM_GATE_S16(p, x, h, input_weights, recurrent_weights, bias, 2, cell_gate,
                          p->cell_gate_tanh, buffer2);
      tinyc_lstm_update_cell_s16(p, c, buffer0, buffer1, buffer2);
      TINYC_LSTM_GATE_S16(p, x, h, input_weights, recurrent_weights, bias, 3, output_gate, 0,
                          buffer1);
      tinyc_lstm_cell_tanh_s16(p, c, buffer0);
      for (int32_t i = 0; i < n; ++i) {
        h[i] = (int16_t)tinyc_lstm_mul(buffer0[i], buffer1[i], p->hidden_mul_multiplier,
                                       p->hidden_mul_shift, p->hidden_zero_point, INT16_MIN,
                                       INT16_MAX);
      }
      memcpy(output + b * p->output_batch_stride + t * p->output_time_stride, h,
             (size_t)n * sizeof(int16_t));
    }
  }
}

/* --- float32 ----------------------------------------------------------------------------------- */

typedef struct {
  int32_t batches;
  int32_t time_steps;
  int32_t input_size;
  int32_t state_size;
  int32_t input_batch_stride;
  int32_t input_time_stride;
  int32_t output_batch_stride;
  int32_t output_time_stride;
  int32_t cell_gate_tanh; /* 1: the cell gate's activation is tanh; 0: sigmoid */
  int32_t use_cell_clip;  /* cell_clip > 0 */
  float cell_clip;
  float activation_min; /* kTfLiteActNone's range: the float32 limits, which the FCs and */
  float activation_max; /* the multiplications clamp to, as TFLM's reference ops do */
} tinyc_lstm_f32_params;

/* ActivationFunctionWithMinMax: std::min(std::max(x, lo), hi). */
TINYC_ALWAYS_INLINE float tinyc_lstm_clamp_f32(const tinyc_lstm_f32_params *p, float x) {
  return tinyc_min_f32(tinyc_max_f32(x, p->activation_min), p->activation_max);
}

/* reference_ops::FullyConnected (float) for one row: total = sum of x * w in order, then
 * clamp(total + bias). */
TINYC_ALWAYS_INLINE float tinyc_lstm_fc_f32(const tinyc_lstm_f32_params *p, const float *x,
                                            const float *w, int32_t n, float bias) {
  float total = 0.f;
  for (int32_t d = 0; d < n; ++d) total += x[d] * w[d];
  return tinyc_lstm_clamp_f32(p, total + bias);
}

/* CalculateLstmGate (float): the input FC with its bias plus the recurrent FC (bias 0.0f, as
 * TFLM adds when there is none), then the activation. */
TINYC_INLINE void tinyc_lstm_gate_f32(const tinyc_lstm_f32_params *p, const float *x,
                                       const float *x_weights, const float *x_bias,
                                       const float *h, const float *h_weights, int32_t tanh,
                                       float *gate) {
  const int32_t n_input = p->input_size;
  const int32_t n_state = p->state_size;
  for (int32_t c = 0; c < n_state; ++c) {
    const float from_x = tinyc_lstm_fc_f32(p, x, x_weights + c * n_input, n_input, x_bias[c]);
    const float from_h = tinyc_lstm_fc_f32(p, h, h_weights + c * n_state, n_state, 0.0f);
    gate[c] = from_x + from_h;
  }
  const tinyc_activation_f32_params q = {n_state};
  if (tanh) {
    tinyc_tanh_f32(&q, gate, gate);
  } else {
    tinyc_logistic_f32(&q, gate, gate);
  }
}

#define TINYC_LSTM_GATE_F32(p, x, h, input_weights, recurrent_weights, bias, g, tanh, out) \
  tinyc_lstm_gate_f32((p), (x), (input_weights) + (g) * (p)->state_size * (p)->input_size,  \
                      (bias) + (g) * (p)->state_size, (h),                                  \
                      (recurrent_weights) + (g) * (p)->state_size * (p)->state_size, (tanh), \
                      (out))

TINYC_INLINE void tinyc_lstm_f32(const tinyc_lstm_f32_params *p, const float *input,
                                  const float *input_weights, const float *recurrent_weights,
                                  const float *bias, float *hidden_state, float *cell_state,
                                  float *output, void *scratch) {
  const int32_t n = p->state_size;
  float *buffer0 = (float *)scratch;
  float *buffer1 = buffer0 + n;
  float *buffer2 = buffer1 + n;
  const tinyc_activation_f32_params q = {n};
  for (int32_t b = 0; b < p->batches; ++b) {
    float *h = hidden_state + b * n;
    float *c = cell_state + b * n;
    for (int32_t t = 0; t < p->time_steps; ++t) {
      const float *x = input + b * p->input_batch_stride + t * p->input_time_stride;
      TINYC_LSTM_GATE_F32(p, x, h, input_weights, recurrent_weights, bias, 1, 0, buffer0);
      TINYC_LSTM_GATE_F32(p, x, h, input_weights, recurrent_weights, bias, 0, 0, buffer1);
      TINYC_LSTM_GATE_F32(p, x, h, input_weights, recurrent_weights, bias, 2, p->cell_gate_tanh,
                          buffer2);
      /* UpdateLstmCell: reference_ops::Mul clamps its products; the add does not clamp. */
      for (int32_t i = 0; i < n; ++i) c[i] = tinyc_lstm_clamp_f32(p, buffer0[i] * c[i]);
      for (int32_t i = 0; i < n; ++i) buffer1[i] = tinyc_lstm_clamp_f32(p, buffer1[i] * buffer2[i]);
      for (int32_t i = 0; i < n; ++i) c[i] = c[i] + buffer1[i];
      if (p->use_cell_clip) {
        /* Clipping: std::max(std::min(clip, v), -clip) */
        for (int32_t i = 0; i < n; ++i) {
          c[i] = tinyc_max_f32(tinyc_min_f32(p->cell_clip, c[i]), -p->cell_clip);
        }
      }
      TINYC_LSTM_GATE_F32(p, x, h, input_weights, recurrent_weights, bias, 3, 0, buffer1);
      tinyc_tanh_f32(&q, c, buffer0);
      for (int32_t i = 0; i < n; ++i) h[i] = tinyc_lstm_clamp_f32(p, buffer0[i] * buffer1[i]);
      memcpy(output + b * p->output_batch_stride + t * p->output_time_stride, h,
             (size_t)n * sizeof(float));
    }
  }
}

TINYC_NAMESPACE_END

#endif /* TINYC_LSTM_H */
