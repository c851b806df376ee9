/* tinyc runtime: element-wise int8 -> int8 functions as a 256-entry lookup table.
 *
 * LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU and HARD_SWISH on int8 tensors map each input byte to
 * an output byte through a function fixed by the tensors' quantization. The compiler evaluates
 * that function for all 256 inputs with a Python port of TFLM's integer arithmetic
 * (reference_integer_ops::Logistic/Tanh with gemmlowp's fixed-point logistic/tanh,
 * reference_ops::HardSwish, QuantizeLeakyRelu, ReluQuantized, Relu6Quantized) and stores the
 * results in flash; see compiler/ops/activations.py. The kernel is then one load per element,
 * instead of the fixed-point polynomial and Newton-Raphson iterations TFLM runs per element, and
 * is bit-exact by construction wherever the table is. (Their int16 and float32 forms are C
 * kernels: runtime/activations.h. Other int8 element-wise ops use this kernel too.)
 *
 * `table[i]` is the output for input value i - 128. input and output may be the same buffer. */
#ifndef TINYC_LUT_H
#define TINYC_LUT_H

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t size;
} tinyc_lut_params;

TINYC_INLINE void tinyc_lut_s8(const tinyc_lut_params *p, const int8_t *table,
                                const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = table[(int32_t)input[i] + 128];
}

TINYC_NAMESPACE_END

#endif /* TINYC_LUT_H */
