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
    ScratchArg,
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
                "any stride; fused NONE/RELU/RELU6/RELU_N1_TO_1; int8 and 16x8 sum into an "
                "int32/int64 scratch of the output's size in the arena, as TFLM")
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
    largest = max(x.size, w.size, y.size * 8 + 7, in_h * stride_h + filter_h,
                  in_w * stride_w + filter_w)
    if largest > INT32_MAX:
        raise unsupported(op, f"tensors or offsets of {largest} overflow int32")
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
        ("stride_height", stride_h),
        ("stride_width", stride_w),
        ("pad_height", pad_h),
        ("pad_width", pad_w),
    )
    # [O, H, W, I] -> [H, W, I, O]: the kernels' innermost loop runs over output channels
    filter_hwio = np.ascontiguousarray(w.data.transpose(1, 2, 3, 0)).ravel()
    if suffix == "f32":
        act_min, act_max = float_activation_range(activation)
        bias_values = bias.data if bias is not None else np.zeros(out_c, np.float32)
        return KernelCall(
            op=op, function="tinyc_transpose_conv_f32", header="transpose_conv.h",
            params_type="tinyc_transpose_conv_f32_params",
            params=geometry + (("activation_min", act_min), ("activation_max", act_max)),
            args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), TensorArg(y.index)),
            arrays=(ConstArray("filter", "float", filter_hwio.astype(np.float32)),
                    ConstArray("bias", "float", np.asarray(bias_values, np.float32).ravel())),
        )
    require_per_tensor(op, x, y)
    multipliers, shifts = _multipliers(op, x, w, y, out_c)
    if suffix == "s8":
        act_min, act_max = activation_range(activation, y.scale, y.zero_point)
        quant = (("input_offset", -x.zero_point), ("output_offset", y.zero_point))
        bias_values = (bias.data.astype(np.int32) if bias is not None
                       else np.zeros(out_c, np.int32))
        _check_int32_range(op, bias_values, w.data, x.zero_point)
        bias_array = ConstArray("bias", "int32_t", bias_values.ravel())
        scratch = y.size * 4
    else:
        act_min, act_max = activation_range(activation, y.scale, y.zero_point, INT16_MIN,
                                            INT16_MAX)
        quant = ()
        bias_values = (bias.data.astype(np.int64) if bias is not None
                       else np.zeros(out_c, np.int64)).ravel()
        _check_int64_range(op, bias_values, filter_h * filter_w * in_c, shifts)
        bias_array = ConstArray("bias", "int64_t", bias_values)
        scratch = y.size * 8 + 7  # + 7: room to start the int64 sums on an 8-byte boundary
    return KernelCall(
        op=op, function=f"tinyc_transpose_conv_{suffix}", header="transpose_conv.h",
        params_type=f"tinyc_transpose_conv_{suffix}_params",
        params=geometry + quant + (("activation_min", act_min), ("activation_max", act_max)),
        args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
              ArrayArg("shift"), TensorArg(y.index), ScratchArg()),
        arrays=(ConstArray("filter", "int8_t", filter_hwio.astype(np.int8)), bias_array,
                ConstArray("multiplier", "int32_t", np.array(multipliers, np.int32)),
                ConstArray("shift", "int8_t", np.array(shifts, np.int8))),
        scratch_bytes=scratch,
    )


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
