"""FULLY_CONNECTED: int8 (per-tensor or per-channel weights) and float32.

int8 lowering folds the input zero point into the bias offline:
    sum_d w[c,d] * (x[d] - zp_in) + b[c]  ==  sum_d w[c,d] * x[d] + (b[c] - zp_in * sum_d w[c,d])
which is exact in int32, so the kernel's inner loop is a plain int8 dot product. The weights are
stored in groups of rows whose 4-value chunks alternate (`group_rows`), so the kernel computes
four output channels per pass over the input (runtime/fully_connected.h).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import (
    activation_range,
    conv_multipliers,
    float_activation_range,
    fold_input_offset,
    per_tensor_conv_multiplier,
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


@register(
    "FULLY_CONNECTED",
    inputs=(2, 3),
    optional=(2,),
    types="int8, float32",
    notes="per-tensor or per-channel int8 weights; bias optional; fused NONE/RELU/RELU6/"
    "RELU_N1_TO_1; any batch and input rank (inner dimension flattened)",
)
def lower_fully_connected(graph: Graph, op: Op) -> KernelCall:
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    bias_index = optional_input(op, 2)
    require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    if op.options.get("weights_format", 0) != 0:
        raise unsupported(op, "shuffled weights_format is not supported")
    if not w.is_const:
        raise unsupported(op, "weights must be constant")
    if len(w.shape) != 2:
        raise unsupported(op, f"weights of rank {len(w.shape)} are not supported (expected 2)")
    output_depth, accum_depth = w.shape
    if (
        x.size % accum_depth
        or y.size % output_depth
        or x.size // accum_depth != y.size // output_depth
    ):
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
    require_types(graph, op, {("int8", "int8", "int32", "int8"), ("int8", "int8", "int8")})
    return _lower_int8(op, shape, x, w, bias, y)


def _lower_int8(op: Op, shape, x: Tensor, w: Tensor, bias: Tensor | None, y: Tensor) -> KernelCall:
    for t in (x, w, y):
        if t.quant is None:
            raise unsupported(op, f"{t.label} has no quantization parameters")
    if any(zp != 0 for zp in w.quant.zero_point):
        raise unsupported(op, "weights with a non-zero zero point are not supported")
    output_depth = w.shape[0]
    if w.quant.per_channel:
        if len(w.quant.scale) != output_depth or w.quant.axis != 0:
            raise unsupported(op, "per-channel weight scales must run along the output channels")
        multipliers, shifts = conv_multipliers(x.scale, w.quant.scale, y.scale, output_depth)
    else:
        multiplier, shift = per_tensor_conv_multiplier(x.scale, w.scale, y.scale)
        multipliers, shifts = [multiplier], [shift]
    bias_data = bias.data if bias is not None else None
    folded = fold_input_offset(bias_data, w.data, x.zero_point, output_depth, (1,))
    act_min, act_max = activation_range(
        op.options["fused_activation_function"], y.scale, y.zero_point
    )
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
