"""TRANSPOSE_CONV: int8, 16x8 (int16 activations, int8 weights) and float32, as TFLM's
micro/kernels/transpose_conv.cc prepares and runs it.

Inputs: output_shape (int32 [4]; TFLM never reads its values, the output tensor's shape decides;
it may be computed at run time, as in the seanet models), weights [out_channels, height, width,
in_channels], input, optional bias. Prepare does:
  - padding from ComputePaddingHeightWidth(stride, dilation 1, the *output* height/width, filter)
    as if the transpose conv were the conv from its output back to its input, keeping only the
    leading amount (C integer division, as in padding.h);
  - per-channel multipliers from PopulateConvolutionQuantizationParams (double products, a
    per-tensor scale broadcast over the output channels) and the activation range from
    CalculateActivationRangeQuantized (on int16 limits for 16x8);
  - for 16x8, a 16-bit bias is widened to the int64 the kernel takes (done here, at compile time);
    an int32 bias would be read as int64 by TFLM, so it is refused.
The kernels gather (runtime/transpose_conv.h): each output pixel is summed from the input pixels
that reach it, listed here per output row and column (`tap_lists`), and requantized at once, so
unlike TFLM they need no scratch accumulator; float sums take their products in TFLM's order.
The float kernel reads the fused activation through TfLiteConvParams, whose `activation` field is
at the same offset as TfLiteTransposeConvParams', so it is the same value.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import activation_range, conv_multipliers, float_activation_range
from . import (
    FUSED_ACTIVATIONS,
    ArrayArg,
    ConstArray,
    KernelCall,
    TensorArg,
    optional_input,
    register,
    require_option,
    require_per_tensor,
    unsupported,
)

INT32_MAX = (1 << 31) - 1
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
SIGNATURES = {
    # (input, weights, output) -> (kernel suffix, accepted bias types)
    ("int8", "int8", "int8"): ("s8", {"int32"}),
    ("int16", "int8", "int16"): ("s16", {"int64", "int16"}),
    ("float32", "float32", "float32"): ("f32", {"float32"}),
}


@register("TRANSPOSE_CONV", types="int8, int16, float32", inputs=(3, 4), optional=(3,),
          notes="int16 is 16x8 (int8 weights); per-channel or per-tensor int8 weights (zero "
                "point 0); bias optional (int32; int64 or int16 for 16x8); SAME/VALID padding, "
                "any stride; fused NONE/RELU/RELU6/RELU_N1_TO_1; computed output pixel by "
                "output pixel (no scratch, unlike TFLM's int32/int64 accumulator)")
def lower_transpose_conv(graph: Graph, op: Op) -> KernelCall:
    if len(op.inputs) not in (3, 4) or len(op.outputs) != 1 or min(op.inputs[:3]) < 0:
        raise unsupported(op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs (expected "
                              f"output_shape, weights, input, optional bias)")
    shape_t, w, x, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                        graph.tensor(op.inputs[2]), graph.tensor(op.outputs[0]))
    bias_index = optional_input(op, 3)
    bias = graph.tensor(bias_index) if bias_index >= 0 else None
    signature = (x.dtype, w.dtype, y.dtype)
    if signature not in SIGNATURES:
        raise unsupported(op, f"input/weights/output types {'/'.join(signature)} are not "
                              f"supported (int8/int8/int8, int16/int8/int16, float32)")
    suffix, bias_types = SIGNATURES[signature]
    if bias is not None and bias.dtype not in bias_types:
        raise unsupported(op, f"{bias.dtype} bias with {x.dtype} activations is not supported "
                              f"({' or '.join(sorted(bias_types))})")
    if not w.is_const or (bias is not None and not bias.is_const):
        raise unsupported(op, "non-constant weights or bias are not supported")
    for t, role in ((x, "input"), (w, "weights"), (y, "output")):
        if len(t.shape) != 4:
            raise unsupported(op, f"{role} of rank {len(t.shape)} is not supported (expected 4)")
    if shape_t.dtype != "int32" or shape_t.shape != (4,):
        raise unsupported(op, f"output_shape of type {shape_t.dtype} and shape "
                              f"{list(shape_t.shape)} (expected int32 [4])")
    if shape_t.is_const and tuple(int(v) for v in shape_t.data) != tuple(y.shape):
        raise unsupported(op, f"output_shape {[int(v) for v in shape_t.data]} differs from the "
                              f"output tensor's shape {list(y.shape)}")
    batches, in_h, in_w, in_c = x.shape
    out_c, filter_h, filter_w, filter_c = w.shape
    if filter_c != in_c or y.shape[0] != batches or y.shape[3] != out_c:
        raise unsupported(op, f"input {list(x.shape)}, weights {list(w.shape)} and output "
                              f"{list(y.shape)} do not match (NHWC, OHWI weights)")
    if min(x.shape + w.shape + y.shape) < 1:
        raise unsupported(op, "empty tensors are not supported")
    if bias is not None and bias.size != out_c:
        raise unsupported(op, f"bias of {bias.size} values for {out_c} output channels")
    activation = require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    padding = require_option(op, "padding", {"SAME", "VALID"})
    stride_h, stride_w = op.options.get("stride_h", 0), op.options.get("stride_w", 0)
    if not (1 <= stride_h <= 1 << 16 and 1 <= stride_w <= 1 << 16):
        raise unsupported(op, f"strides {[stride_h, stride_w]} are not supported (1 to 65536)")
    out_h, out_w = y.shape[1:3]
    pad_h = transpose_padding(padding, out_h, filter_h, stride_h)
    pad_w = transpose_padding(padding, out_w, filter_w, stride_w)
    largest = max(x.size, w.size, y.size)  # element offsets in the kernels
    if largest > INT32_MAX:
        raise unsupported(op, f"tensors of {largest} elements overflow int32 offsets")
    rows = tap_lists(out_h, in_h, stride_h, pad_h, filter_h)
    cols = tap_lists(out_w, in_w, stride_w, pad_w, filter_w)
    geometry = (
        ("batches", batches),
        ("input_height", in_h),
        ("input_width", in_w),
        ("input_depth", in_c),
        ("filter_height", filter_h),
        ("filter_width", filter_w),
        ("output_height", out_h),
        ("output_width", out_w),
        ("output_depth", out_c),
        # taps back from one contributing input row (column) to the next; taken only where two
        # or more reach one output row (column), so the stride is below the filter's size
        ("filter_row_step", stride_h * filter_w if rows[:, 0].max() > 1 else 0),
        ("filter_col_step", stride_w if cols[:, 0].max() > 1 else 0),
    )
    tap_arrays = (ConstArray("rows", "int32_t", rows.ravel()),
                  ConstArray("cols", "int32_t", cols.ravel()))
    if suffix == "f32":
        act_min, act_max = float_activation_range(activation)
        bias_values = bias.data if bias is not None else np.zeros(out_c, np.float32)
        # [O, H, W, I] -> [H, W, I, O]: the innermost loop runs over output channels, as TFLM's
        filter_hwio = np.ascontiguousarray(w.data.transpose(1, 2, 3, 0)).ravel()
        return KernelCall(
            op=op, function="tinyc_transpose_conv_f32", header="transpose_conv.h",
            params_type="tinyc_transpose_conv_f32_params",
            params=geometry + (("activation_min", act_min), ("activation_max", act_max)),
            args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("rows"),
                  ArrayArg("cols"), TensorArg(y.index)),
            arrays=(ConstArray("filter", "float", filter_hwio.astype(np.float32)),
                    ConstArray("bias", "float", np.asarray(bias_values, np.float32).ravel()))
            + tap_arrays,
        )
    require_per_tensor(op, x, y)
    multipliers, shifts = _multipliers(op, x, w, y, out_c)
    quant_arrays = (ConstArray("multiplier", "int32_t", np.array(multipliers, np.int32)),
                    ConstArray("shift", "int8_t", np.array(shifts, np.int8)))
    filter_array = ConstArray("filter", "int8_t", w.data.astype(np.int8).ravel())  # OHWI
    if suffix == "s8":
        act_min, act_max = activation_range(activation, y.scale, y.zero_point)
        bias_values = (bias.data.astype(np.int32) if bias is not None
                       else np.zeros(out_c, np.int32))
        _check_int32_range(op, bias_values, w.data, x.zero_point)
        # input_offset * (the sum of each tap's weights), per output channel and tap: within
        # int32 by _check_int32_range (|input_offset| <= the largest |x + input_offset|)
        tap_offsets = -x.zero_point * w.data.astype(np.int64).sum(axis=3).ravel()
        return KernelCall(
            op=op, function="tinyc_transpose_conv_s8", header="transpose_conv.h",
            params_type="tinyc_transpose_conv_s8_params",
            params=geometry + (("output_offset", y.zero_point), ("activation_min", act_min),
                               ("activation_max", act_max)),
            args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"),
                  ArrayArg("tap_offsets"), ArrayArg("multiplier"), ArrayArg("shift"),
                  ArrayArg("rows"), ArrayArg("cols"), TensorArg(y.index)),
            arrays=(filter_array, ConstArray("bias", "int32_t", bias_values.ravel()),
                    ConstArray("tap_offsets", "int32_t", tap_offsets.astype(np.int32)))
            + quant_arrays + tap_arrays,
        )
    act_min, act_max = activation_range(activation, y.scale, y.zero_point, INT16_MIN, INT16_MAX)
    bias_values = (bias.data.astype(np.int64) if bias is not None
                   else np.zeros(out_c, np.int64)).ravel()
    _check_int64_range(op, bias_values, filter_h * filter_w * in_c, shifts)
    return KernelCall(
        op=op, function="tinyc_transpose_conv_s16", header="transpose_conv.h",
        params_type="tinyc_transpose_conv_s16_params",
        params=geometry + (("activation_min", act_min), ("activation_max", act_max)),
        args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
              ArrayArg("shift"), ArrayArg("rows"), ArrayArg("cols"), TensorArg(y.index)),
        arrays=(filter_array, ConstArray("bias", "int64_t", bias_values)) + quant_arrays
        + tap_arrays,
    )


def tap_lists(out_size: int, in_size: int, stride: int, pad: int,
              filter_size: int) -> np.ndarray:
    """Per output row (or column) o, the input rows that reach it: [count, first input row,
    its filter row], int32 [out_size, 3] ([0, 0, 0] for a row no input reaches).

    Input row i reaches output row o through filter row f = o + pad - i * stride when
    0 <= f < filter_size (TFLM: out_y = in_y * stride - pad + filter_y). Those i are consecutive:
    ascending, as TFLM's scatter adds them, with f dropping by `stride` from one to the next.
    """
    o_pad = np.arange(out_size, dtype=np.int64) + pad  # = i * stride + f
    first = np.maximum(0, -((filter_size - 1 - o_pad) // stride))  # ceil((o+pad+1-filter)/stride)
    count = np.maximum(0, np.minimum(in_size - 1, o_pad // stride) - first + 1)
    reached = count > 0
    table = np.stack([count, np.where(reached, first, 0),
                      np.where(reached, o_pad - first * stride, 0)], axis=1)
    return table.astype(np.int32)


def transpose_padding(padding: str, out_size: int, filter_size: int, stride: int) -> int:
    """TFLM ComputePaddingHeightWidth(stride, 1, out_size, filter_size).height, C arithmetic."""
    numerator = out_size + stride - 1 if padding == "SAME" else out_size + stride - filter_size
    computed = abs(numerator) // stride * (1 if numerator >= 0 else -1)  # truncates toward 0
    total = max((computed - 1) * stride + filter_size - out_size, 0)
    return total // 2


def _multipliers(op: Op, x: Tensor, w: Tensor, y: Tensor,
                 channels: int) -> tuple[list[int], list[int]]:
    if w.quant is None:
        raise unsupported(op, f"weights {w.name!r} are not quantized")
    scales = w.quant.scale
    if len(scales) > 1 and (len(scales) != channels or w.quant.axis != 0):
        raise unsupported(op, f"per-channel weight scales must run along axis 0 ({channels} "
                              f"channels; got {len(scales)} on axis {w.quant.axis})")
    if any(zp != 0 for zp in w.quant.zero_point):
        raise unsupported(op, "weights with a non-zero zero point are not supported")
    return conv_multipliers(x.scale, scales, y.scale, channels)


def _check_int32_range(op: Op, bias: np.ndarray, weights: np.ndarray, zero_point: int) -> None:
    """TFLM sums (x - zero point) * w and the bias in int32, where overflow is undefined in C:
    refuse weights and biases for which some input could take a sum out of int32 (only corrupt
    models come near). Each tap reaches an output at most once, so the bound is per channel."""
    reach = max(abs(-128 - zero_point), abs(127 - zero_point))
    mass = np.abs(weights.astype(np.int64)).reshape(weights.shape[0], -1).sum(axis=1)
    worst = np.abs(bias.astype(np.int64)) + mass * reach
    if int(worst.max()) > INT32_MAX:
        raise unsupported(op, f"the bias and weights of channel {int(np.argmax(worst))} can take "
                              f"the int32 accumulator to {int(worst.max())}, which overflows")


def _check_int64_range(op: Op, bias: np.ndarray, products: int, shifts: list[int]) -> None:
    """TFLM's int64 MultiplyByQuantizedMultiplier asserts -31 <= shift < 8 and |x| < 2^47."""
    if any(not -31 <= s < 8 for s in shifts):
        raise unsupported(op, f"requantization shift {max(shifts)} is out of TFLM's 16x8 range "
                              f"(-31 to 7)")
    worst = products * (1 << 15) * (1 << 7) + max((abs(int(b)) for b in bias), default=0)
    if worst >= 1 << 47:
        raise unsupported(op, "bias or accumulator may exceed TFLM's 16x8 range of 2^47")
