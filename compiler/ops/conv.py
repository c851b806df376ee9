"""CONV_2D and DEPTHWISE_CONV_2D: int8 activations, int8 weights (per channel or per tensor).

Both lowerings do what TFLM's Prepare does (conv_common.cc, depthwise_conv_common.cc):
padding from ComputePaddingHeightWidth, per-channel multipliers from
PopulateConvolutionQuantizationParams (double products, a per-tensor scale broadcast to every
channel), activation bounds from CalculateActivationRangeQuantized.

CONV_2D also folds the input zero point into the bias:
    sum_taps w * (x - zp) + b  ==  sum_taps w * x + (b - zp * sum_taps w)
TFLM skips taps in the padding; the conv kernels read input_zero_point there instead, which adds
back exactly what the folding subtracted for those taps. Everything is int32 arithmetic, so the
result is bit-exact (see runtime/conv.h).

DEPTHWISE_CONV_2D keeps the plain bias: its kernel visits only the taps inside the input and
sums (x - zp) * w as TFLM does (with no cost on Arm DSP cores, see runtime/depthwise_conv.h). Its
filter is rearranged so that the kernel reads it in order (depthwise_filter_blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import activation_range, check_accumulator, conv_multipliers, fold_input_offset
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

PADDINGS = {"SAME", "VALID"}
NOTES = ("per-channel or per-tensor int8 weights (zero point 0); int32 bias optional; "
         "SAME/VALID padding, any stride and dilation; fused NONE/RELU/RELU6/RELU_N1_TO_1")


@dataclass(frozen=True)
class Window:
    """Spatial geometry of a convolution, as TFLM's Prepare computes it."""

    stride: tuple[int, int]  # (height, width)
    dilation: tuple[int, int]
    padding: tuple[int, int]  # before the first row / column


@register("CONV_2D", types="int8", inputs=(2, 3), optional=(2,), notes=NOTES + "; one filter group")
def lower_conv(graph: Graph, op: Op) -> KernelCall:
    x, w, bias, y = _tensors(graph, op)
    if w.shape[3] != x.shape[3]:
        raise unsupported(op, f"grouped convolution (filter depth {w.shape[3]}, input depth "
                              f"{x.shape[3]}) is not supported")
    channels = w.shape[0]
    window = _window(op, x, w.shape[1:3], y, channels)
    multipliers, shifts = _multipliers(op, x, w, y, channels, axis=0)
    bias_data = bias.data if bias is not None else None
    folded = fold_input_offset(bias_data, w.data, x.zero_point, channels, (1, 2, 3))
    pointwise = w.shape[1:3] == (1, 1) and window.stride == (1, 1) and window.padding == (0, 0)
    params = _geometry(x, w.shape[1:3], y) + _rest(op, x, y, window)
    column = w.size // channels  # filter_height * filter_width * input_depth
    io = (TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
          ArrayArg("shift"), TensorArg(y.index))
    constants = _arrays(folded, multipliers, shifts)
    # Windows read in place, TFLite's OHWI layout as it is: needs no scratch.
    in_place = KernelCall(
        op=op, function="tinyc_conv_s8", header="conv.h", params_type="tinyc_conv_s8_params",
        params=params, args=(io[0], TensorArg(w.index)) + io[2:], arrays=constants)
    # 2x2 matrix products: filter rows interleaved
    matrix = (ConstArray("filter", "int8_t", interleave_rows(w.data.reshape(channels, -1))),)
    if pointwise:
        return replace(in_place, function="tinyc_conv_1x1_s8", args=io, arrays=matrix + constants)
    return replace(in_place, function="tinyc_conv_im2col_s8", args=io + (ScratchArg(),),
                   arrays=matrix + constants, scratch_bytes=2 * column, fallback=in_place)


def interleave_rows(matrix: np.ndarray) -> np.ndarray:
    """The filter layout runtime/conv.h reads: rows in pairs, 4-value chunks alternating.

    For rows a, b of k values: a[0:4] b[0:4] a[4:8] b[4:8] ... then a's k % 4 last values, then
    b's. An unpaired last row stays as it is. The kernel loads a chunk of each row per step.
    """
    rows, k = matrix.shape
    whole = k - k % 4
    parts = []
    for r in range(0, rows - 1, 2):
        a, b = matrix[r], matrix[r + 1]
        chunks = np.stack([a[:whole].reshape(-1, 4), b[:whole].reshape(-1, 4)], axis=1)
        parts += [chunks.reshape(-1), a[whole:], b[whole:]]
    if rows % 2:
        parts.append(matrix[-1])
    return np.concatenate(parts).astype(np.int8)


@register("DEPTHWISE_CONV_2D", types="int8", inputs=(2, 3), optional=(2,),
          notes=NOTES + "; any depth_multiplier")
def lower_depthwise_conv(graph: Graph, op: Op) -> KernelCall:
    x, w, bias, y = _tensors(graph, op)
    channels = w.shape[3]
    multiplier_depth = op.options.get("depth_multiplier")
    if w.shape[0] != 1:
        raise unsupported(op, f"filter shape {list(w.shape)} is not [1, height, width, channels]")
    if not multiplier_depth or x.shape[3] * multiplier_depth != channels:
        raise unsupported(op, f"depth_multiplier={multiplier_depth} does not match input depth "
                              f"{x.shape[3]} and filter channels {channels}")
    window = _window(op, x, w.shape[1:3], y, channels)
    multipliers, shifts = _multipliers(op, x, w, y, channels, axis=3)
    # The kernel's requantization reads a negative shift as a multiplier in [2^30, 2^31), as
    # QuantizeMultiplier makes them.
    assert all(m >= 1 << 30 for m, s in zip(multipliers, shifts) if s < 0)
    bias_data = bias.data if bias is not None else None
    check_accumulator(bias_data, w.data, x.zero_point, channels, (0, 1, 2))
    plain_bias = fold_input_offset(bias_data, w.data, 0, channels, (0, 1, 2))  # unfolded
    geometry = _geometry(x, w.shape[1:3], y)
    params = geometry + (("depth_multiplier", multiplier_depth),) + _rest(op, x, y, window)
    return KernelCall(
        op=op,
        function="tinyc_depthwise_conv_s8",
        header="depthwise_conv.h",
        params_type="tinyc_depthwise_conv_s8_params",
        params=params,
        args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
              ArrayArg("shift"), TensorArg(y.index)),
        arrays=(ConstArray("filter", "int8_t", depthwise_filter_blocks(w.data, multiplier_depth)),)
        + _arrays(plain_bias, multipliers, shifts),
    )


def depthwise_filter_blocks(weights: np.ndarray, depth_multiplier: int) -> np.ndarray:
    """The filter layout runtime/depthwise_conv.h reads: channel blocks, each tap by tap.

    [1, H, W, C] -> the channels the kernel takes four at a time (all but the last C % 4 when the
    depth multiplier is 1 or a multiple of 4, else none) in blocks of 4, the others in blocks of
    1; a block holds its channels' weights tap by tap (taps in row-major order), so channel c's
    block starts at c * H * W.
    """
    taps = weights.reshape(-1, weights.shape[3])  # [H * W, C]
    channels = taps.shape[1]
    grouped = channels // 4 * 4 if depth_multiplier == 1 or depth_multiplier % 4 == 0 else 0
    blocks = [taps[:, c:c + 4].reshape(-1) for c in range(0, grouped, 4)]
    blocks += [taps[:, c] for c in range(grouped, channels)]
    return np.concatenate(blocks).astype(np.int8)


def _tensors(graph: Graph, op: Op) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    """Input, filter, bias (None if omitted) and output, after the checks both ops share."""
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    bias_index = optional_input(op, 2)
    bias = graph.tensor(bias_index) if bias_index >= 0 else None
    for t, role in ((x, "input"), (y, "output")):
        if t.dtype != "int8":
            raise unsupported(op, f"{t.dtype} {role} activations are not supported (int8 only)")
    if w.dtype != "int8":
        raise unsupported(op, f"{w.dtype} weights are not supported (int8 only)")
    if bias is not None and bias.dtype != "int32":
        raise unsupported(op, f"{bias.dtype} bias is not supported (int32 only)")
    if not w.is_const:
        raise unsupported(op, "non-constant weights are not supported")
    if bias is not None and not bias.is_const:
        raise unsupported(op, "non-constant bias is not supported")
    for t, role in ((x, "input"), (w, "filter"), (y, "output")):
        if len(t.shape) != 4:
            raise unsupported(op, f"{role} of rank {len(t.shape)} is not supported (expected 4)")
    channels = y.shape[3]
    if bias is not None and bias.size != channels:  # TFLM reads one value per channel
        raise unsupported(op, f"bias {bias.label} has {bias.size} values for {channels} "
                              f"output channels")
    if w.quant is None:
        raise unsupported(op, f"filter {w.label} is not quantized")
    require_per_tensor(op, x, y)
    if any(zp != 0 for zp in w.quant.zero_point):
        raise unsupported(op, "weights with a non-zero zero point are not supported")
    require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    require_option(op, "padding", PADDINGS)
    return x, w, bias, y


def _window(op: Op, x: Tensor, filter_hw: tuple[int, ...], y: Tensor, channels: int) -> Window:
    """Strides, dilations and padding; checks the output shape against TFLM's formula."""
    stride = (op.options.get("stride_h", 1), op.options.get("stride_w", 1))
    dilation = (op.options.get("dilation_hfactor", 1), op.options.get("dilation_wfactor", 1))
    if min(stride) < 1 or min(dilation) < 1:
        raise unsupported(op, f"stride {list(stride)} / dilation {list(dilation)} must be >= 1")
    padding, out_hw = [], []
    for axis in (0, 1):
        size, taps, s, d = x.shape[1 + axis], filter_hw[axis], stride[axis], dilation[axis]
        effective = (taps - 1) * d + 1
        if op.options["padding"] == "SAME":
            out = (size + s - 1) // s
        else:
            out = (size + s - effective) // s
        padding.append(max((out - 1) * s + effective - size, 0) // 2)
        out_hw.append(out)
    expected = (x.shape[0], *out_hw, channels)
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} does not match the input, filter "
                              f"and options (expected {list(expected)})")
    return Window(stride, dilation, (padding[0], padding[1]))


def _multipliers(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int,
                 axis: int) -> tuple[list[int], list[int]]:
    """One (multiplier, shift) per output channel; a per-tensor scale is broadcast, as in TFLM."""
    scales = w.quant.scale
    if len(scales) > 1 and (len(scales) != channels or w.quant.axis != axis):
        raise unsupported(op, f"per-channel weight scales must run along filter axis {axis} "
                              f"({channels} channels; got {len(scales)} on axis {w.quant.axis})")
    return conv_multipliers(x.scale, scales, y.scale, channels)


def _geometry(x: Tensor, filter_hw: tuple[int, ...], y: Tensor) -> tuple[tuple[str, int], ...]:
    return (
        ("batches", x.shape[0]),
        ("input_height", x.shape[1]),
        ("input_width", x.shape[2]),
        ("input_depth", x.shape[3]),
        ("filter_height", filter_hw[0]),
        ("filter_width", filter_hw[1]),
        ("output_height", y.shape[1]),
        ("output_width", y.shape[2]),
        ("output_depth", y.shape[3]),
    )


def _rest(op: Op, x: Tensor, y: Tensor, window: Window) -> tuple[tuple[str, int], ...]:
    act_min, act_max = activation_range(op.options["fused_activation_function"], y.scale,
                                        y.zero_point)
    return (
        ("stride_height", window.stride[0]),
        ("stride_width", window.stride[1]),
        ("dilation_height", window.dilation[0]),
        ("dilation_width", window.dilation[1]),
        ("pad_height", window.padding[0]),
        ("pad_width", window.padding[1]),
        ("input_zero_point", x.zero_point),
        ("output_offset", y.zero_point),
        ("activation_min", act_min),
        ("activation_max", act_max),
    )


def _arrays(folded: np.ndarray, multipliers: list[int], shifts: list[int]):
    return (
        ConstArray("bias", "int32_t", folded),
        ConstArray("multiplier", "int32_t", np.array(multipliers, np.int32)),
        ConstArray("shift", "int8_t", np.array(shifts, np.int8)),
    )
