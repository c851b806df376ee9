"""FULLY_CONNECTED: int8 and 16x8 (int16 activations), per-tensor or per-channel int8 weights,
and float32, as TFLM's micro kernel computes them (reference_integer_ops::FullyConnected /
FullyConnectedPerChannel, reference_ops::FullyConnected).

Shapes as TFLM takes them: output_depth is the weights' rows and the output's last dimension,
batches the output's other dimensions, accum_depth the weights' columns; the input is read flat
(any rank, keep_num_dims or not), so it must hold batches * accum_depth values.

int8 lowering folds the input zero point into the bias offline:
    sum_d w[c,d] * (x[d] - zp_in) + b[c]  ==  sum_d w[c,d] * x[d] + (b[c] - zp_in * sum_d w[c,d])
which is exact in int32, so the kernel's inner loop is a plain int8 dot product. The weights are
stored in groups of rows whose 4-value chunks alternate (`group_rows`), so the kernel computes
four output channels per pass over the input (runtime/fully_connected.h).

16x8 (runtime/fully_connected_s16.h): TFLM accumulates in int64 with an int64 bias (or without a
bias unless quantized_bias_type is INT32) and requantizes with the int64
MultiplyByQuantizedMultiplier; with an int32 bias (or quantized_bias_type INT32) it accumulates
in int32, wrapping around, and requantizes as for int8. tinyc folds the input zero point into
the bias in exact integers and sums the products in int32 where it can prove that exact (see
`_lower_int16`), so both kinds of accumulator are reproduced bit for bit. The weights are laid
out as for int8, with each 4-value chunk stored in the order w0 w2 w1 w3 (`pair_order`) so that
the Arm DSP path turns one word of weights into the two int16 pairs SMLAD takes.

uint8 is refused: TFLM micro has no uint8 FULLY_CONNECTED kernel (its Eval fails on it).
"""

from __future__ import annotations

import numpy as np

from ..ir import INT_RANGES, Graph, Op, Tensor
from ..quantize import (
    activation_range,
    f32,
    float_activation_range,
    fold_input_offset,
    per_tensor_conv_multiplier,
    quantize_multiplier,
    round_half_away,
)
from . import (
    FUSED_ACTIVATIONS,
    ArrayArg,
    ConstArray,
    KernelCall,
    TensorArg,
    optional_input,
    register,
    require_option,
    require_types,
    unsupported,
)

INT32_MAX = (1 << 31) - 1
TENSOR_TYPE_INT32 = 2  # schema TensorType, as FullyConnectedOptions.quantized_bias_type holds it
S16_REACH = 1 << 15  # the largest |x| of an int16 input value
S64_LIMIT = 1 << 47  # TFLM's int64 MultiplyByQuantizedMultiplier takes |x| < 2^47
S64_MAX_SHIFT = 7  # ... and a shift below 8


@register(
    "FULLY_CONNECTED",
    inputs=(2, 3),
    optional=(2,),
    types="int8, int16, float32",
    notes="int16 is 16x8 (int8 weights; int64 or int32 bias); per-tensor or per-channel int8 "
    "weights (zero point 0); bias optional; fused NONE/RELU/RELU6/RELU_N1_TO_1; any batch and "
    "input rank (inner dimension flattened), keep_num_dims; no uint8 (TFLM has none)",
)
def lower_fully_connected(graph: Graph, op: Op) -> KernelCall:
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    bias_index = optional_input(op, 2)
    if "uint8" in (x.dtype, w.dtype, y.dtype):
        raise unsupported(op, "uint8 tensors are not supported (TFLM micro has no uint8 "
                              "FULLY_CONNECTED kernel)")
    require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    if op.options.get("weights_format", 0) != 0:
        raise unsupported(op, "shuffled weights_format is not supported")
    if not w.is_const:
        raise unsupported(op, "weights must be constant")
    if len(w.shape) != 2:
        raise unsupported(op, f"weights of rank {len(w.shape)} are not supported (expected 2)")
    output_depth, accum_depth = w.shape
    if not y.shape or y.shape[-1] != output_depth:
        raise unsupported(op, f"output shape {list(y.shape)} does not end in the weights' "
                              f"{output_depth} rows")
    if accum_depth == 0 or output_depth == 0:
        raise unsupported(op, f"weights of shape {list(w.shape)} are empty")
    if x.size % accum_depth or x.size // accum_depth != y.size // output_depth:
        raise unsupported(op, f"input shape {list(x.shape)} does not match weights {list(w.shape)}")
    batches = y.size // output_depth
    bias = graph.tensor(bias_index) if bias_index >= 0 else None
    if bias is not None and not bias.is_const:
        raise unsupported(op, "bias must be constant")
    if bias is not None and bias.size != output_depth:  # TFLM reads one value per output
        raise unsupported(op, f"bias {bias.label} has {bias.size} values for {output_depth} "
                              f"outputs")
    shape = (("batches", batches), ("accum_depth", accum_depth), ("output_depth", output_depth))
    if x.dtype == "float32":
        require_types(graph, op, {("float32",) * (3 if bias else 2) + ("float32",)})
        return _lower_float(op, shape, w, bias)
    if x.dtype == "int16":
        require_types(graph, op, {("int16", "int8", "int64", "int16"),
                                  ("int16", "int8", "int32", "int16"), ("int16", "int8", "int16")})
        return _lower_int16(op, shape, x, w, bias, y)
    require_types(graph, op, {("int8", "int8", "int32", "int8"), ("int8", "int8", "int8")})
    return _lower_int8(op, shape, x, w, bias, y)


def _check_quantization(op: Op, x: Tensor, w: Tensor, bias: Tensor | None, y: Tensor) -> None:
    """What TFLM's CalculateOpDataFullyConnected needs of the scales and zero points."""
    for t in (x, w, y):
        if t.quant is None:
            raise unsupported(op, f"{t.label} has no quantization parameters")
    if any(zp != 0 for zp in w.quant.zero_point):
        raise unsupported(op, "weights with a non-zero zero point are not supported")
    if w.quant.per_channel:
        if len(w.quant.scale) != w.shape[0] or w.quant.axis != 0:
            raise unsupported(op, "per-channel weight scales must run along the output channels")
    elif bias is not None:
        # GetQuantizedConvolutionMultipler: TF_LITE_ENSURE(scale_diff / output_scale <= 0.02)
        bias_scale = bias.quant.scale[0] if bias.quant is not None else 0.0
        product = x.scale * w.scale
        if not abs(product - bias_scale) / y.scale <= 0.02:
            raise unsupported(op, f"bias {bias.label} has scale {bias_scale:g}, too far from "
                                  f"input scale * weight scale = {product:g} (TFLM refuses it)")


def _multipliers(op: Op, x: Tensor, w: Tensor, y: Tensor,
                 max_shift: int = 30) -> tuple[list[int], list[int]]:
    """Per-channel (one per row) or per-tensor (one) multipliers and shifts, as TFLM's Prepare."""
    if w.quant.per_channel:
        pairs = [quantize_multiplier(x.scale * s / y.scale, max_shift) for s in w.quant.scale]
        return [m for m, _ in pairs], [s for _, s in pairs]
    if max_shift == 30:
        multiplier, shift = per_tensor_conv_multiplier(x.scale, w.scale, y.scale)
    else:  # the same product (see per_tensor_conv_multiplier), with the 16x8 shift limit
        multiplier, shift = quantize_multiplier(x.scale * w.scale / y.scale, max_shift)
    return [multiplier], [shift]


def _activation_range(op: Op, y: Tensor) -> tuple[int, int]:
    """CalculateActivationRangeQuantized on the output type's limits; TFLM's Prepare fails when
    a bound quantizes outside int32, so tinyc refuses that too."""
    activation = op.options["fused_activation_function"]
    for value in {"RELU6": (6.0,), "RELU_N1_TO_1": (-1.0, 1.0)}.get(activation, ()):
        if abs(round_half_away(f32(f32(value) / f32(y.scale)))) >= 1 << 31:
            raise unsupported(op, f"{activation} bound {value} is out of int32 range at output "
                                  f"scale {y.scale:g}")
    low, high = INT_RANGES[y.dtype]
    return activation_range(activation, y.scale, y.zero_point, low, high)


def _lower_int8(op: Op, shape, x: Tensor, w: Tensor, bias: Tensor | None, y: Tensor) -> KernelCall:
    _check_quantization(op, x, w, bias, y)
    output_depth = w.shape[0]
    multipliers, shifts = _multipliers(op, x, w, y)
    bias_data = bias.data if bias is not None else None
    folded = fold_input_offset(bias_data, w.data, x.zero_point, output_depth, (1,))
    act_min, act_max = _activation_range(op, y)
    return KernelCall(
        op=op,
        function="tinyc_fully_connected_s8",
        header="fully_connected.h",
        params_type="tinyc_fully_connected_s8_params",
        params=shape
        + (
            ("per_channel", int(w.quant.per_channel)),
            ("output_offset", y.zero_point),
            ("activation_min", act_min),
            ("activation_max", act_max),
        ),
        args=(
            TensorArg(x.index),
            ArrayArg("filter"),
            ArrayArg("bias"),
            ArrayArg("multiplier"),
            ArrayArg("shift"),
            TensorArg(y.index),
        ),
        arrays=(
            ConstArray("filter", "int8_t", group_rows(w.data)),
            ConstArray("bias", "int32_t", folded),
            ConstArray("multiplier", "int32_t", np.array(multipliers, np.int32)),
            ConstArray("shift", "int8_t", np.array(shifts, np.int8)),
        ),
    )


def _lower_int16(op: Op, shape, x: Tensor, w: Tensor, bias: Tensor | None, y: Tensor
                 ) -> KernelCall:
    """16x8. TFLM's accumulator: int32 for an int32 bias, or no bias and quantized_bias_type
    INT32; int64 otherwise. tinyc computes the exact sum either way (int32 partial sums that
    cannot overflow, see runtime/fully_connected_s16.h) and wraps it to int32 for the former."""
    _check_quantization(op, x, w, bias, y)
    int32_accumulator = (bias.dtype == "int32" if bias is not None
                         else op.options.get("quantized_bias_type", 0) == TENSOR_TYPE_INT32)
    weights = w.data.astype(np.int64)
    output_depth, accum_depth = weights.shape
    raw = bias.data.astype(np.int64) if bias is not None else np.zeros(output_depth, np.int64)
    b = [int(v) for v in raw]
    mass = [int(v) for v in np.abs(weights).sum(axis=1)]
    sums = [int(v) for v in weights.sum(axis=1)]
    zp = x.zero_point
    if int32_accumulator:
        multipliers, shifts = _multipliers(op, x, w, y)
    else:
        # TFLM's int64 MultiplyByQuantizedMultiplier: shift < 8 and |acc| < 2^47. Its acc is
        # bias + sum w * (x - zp), each (x - zp) at most `reach` in magnitude.
        multipliers, shifts = _multipliers(op, x, w, y, max_shift=S64_MAX_SHIFT)
        reach = max(abs(INT_RANGES["int16"][0] - zp), abs(INT_RANGES["int16"][1] - zp))
        worst = max(abs(bc) + m * reach for bc, m in zip(b, mass))
        if worst >= S64_LIMIT:
            raise unsupported(op, f"the bias and weights can take the int64 accumulator to "
                                  f"{worst}, beyond TFLM's 16x8 limit of 2^47")
    # The kernel multiplies the raw inputs; the input offset goes into the bias, exactly.
    folded = [bc - zp * sc for bc, sc in zip(b, sums)]
    narrow = all(abs(f) + m * S16_REACH <= INT32_MAX for f, m in zip(folded, mass))
    act_min, act_max = _activation_range(op, y)
    if narrow:  # every total fits in int32 from the bias on: one int32 sum per channel
        function, bias_array, block = "tinyc_fully_connected_s16", ConstArray(
            "bias", "int32_t", np.array(folded, np.int32)), 0
    else:  # int64 bias; int32 sums over blocks of inputs that cannot overflow
        largest = max(1, int(np.abs(weights).max()))
        block = INT32_MAX // (largest * S16_REACH) // 4 * 4
        function, bias_array = "tinyc_fully_connected_s16_wide", ConstArray(
            "bias", "int64_t", np.array(folded, np.int64))
    return KernelCall(
        op=op,
        function=function,
        header="fully_connected_s16.h",
        params_type="tinyc_fully_connected_s16_params",
        params=shape
        + (
            ("block_depth", block),
            ("per_channel", int(w.quant.per_channel)),
            ("int32_accumulator", int(int32_accumulator)),
            ("output_offset", y.zero_point),
            ("activation_min", act_min),
            ("activation_max", act_max),
        ),
        args=(
            TensorArg(x.index),
            ArrayArg("filter"),
            ArrayArg("bias"),
            ArrayArg("multiplier"),
            ArrayArg("shift"),
            TensorArg(y.index),
        ),
        arrays=(
            ConstArray("filter", "int8_t", group_rows(pair_order(w.data))),
            bias_array,
            ConstArray("multiplier", "int32_t", np.array(multipliers, np.int32)),
            ConstArray("shift", "int8_t", np.array(shifts, np.int8)),
        ),
    )


def _lower_float(op: Op, shape, w: Tensor, bias: Tensor | None) -> KernelCall:
    act_min, act_max = float_activation_range(op.options["fused_activation_function"])
    output_depth = w.shape[0]
    # TFLM adds 0.0f when there is no bias; a zero array keeps that (and -0.0 + 0.0 == +0.0).
    bias_values = bias.data if bias is not None else np.zeros(output_depth, np.float32)
    return KernelCall(
        op=op,
        function="tinyc_fully_connected_f32",
        header="fully_connected.h",
        params_type="tinyc_fully_connected_f32_params",
        params=shape + (("activation_min", act_min), ("activation_max", act_max)),
        args=(
            TensorArg(op.inputs[0]),
            TensorArg(w.index),
            ArrayArg("bias"),
            TensorArg(op.outputs[0]),
        ),
        arrays=(ConstArray("bias", "float", bias_values.astype(np.float32)),),
    )


def group_rows(matrix: np.ndarray) -> np.ndarray:
    """The weight layout runtime/fully_connected.h reads: rows in groups, 4-value chunks alternate.

    Groups of 4 rows while at least 4 are left, then 2 if at least 2 are left, then 1. For the
    rows r0..r(g-1) of a group and k values a row: r0[0:4] r1[0:4] ... r(g-1)[0:4] r0[4:8] ...,
    then the k % 4 last values of r0, then of r1, ... A group of one row is the row as it is.
    """
    rows, k = matrix.shape
    whole = k - k % 4
    parts, start = [], 0
    while start < rows:
        g = 4 if rows - start >= 4 else 2 if rows - start >= 2 else 1
        group = matrix[start : start + g]
        chunks = group[:, :whole].reshape(g, -1, 4).transpose(1, 0, 2)
        parts += [chunks.reshape(-1), group[:, whole:].reshape(-1)]
        start += g
    return np.concatenate(parts).astype(np.int8)


def pair_order(matrix: np.ndarray) -> np.ndarray:
    """Each row's whole 4-value chunks in the order w0 w2 w1 w3, the tail (k % 4 values) as it
    is: SXTB16 of such a word gives the int16 pairs (w0, w1) and, rotated by 8, (w2, w3)."""
    rows, k = matrix.shape
    whole = k - k % 4
    chunks = matrix[:, :whole].reshape(rows, -1, 4)[:, :, [0, 2, 1, 3]].reshape(rows, whole)
    return np.concatenate([chunks, matrix[:, whole:]], axis=1).astype(matrix.dtype)
