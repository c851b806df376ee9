"""CONV_2D and DEPTHWISE_CONV_2D: int8, 16x8 (int16 activations, int8 weights) and float32.

All lowerings do what TFLM's Prepare does (conv_common.cc, depthwise_conv_common.cc):
padding from ComputePaddingHeightWidth, per-channel multipliers from
PopulateConvolutionQuantizationParams (double products, a per-tensor scale broadcast to every
channel), activation bounds from CalculateActivationRangeQuantized (float32:
CalculateActivationRange).

int8 CONV_2D also folds the input zero point into the bias:
    sum_taps w * (x - zp) + b  ==  sum_taps w * x + (b - zp * sum_taps w)
TFLM skips taps in the padding; the conv kernels read input_zero_point there instead, which adds
back exactly what the folding subtracted for those taps. Everything is int32 arithmetic, so the
result is bit-exact (see runtime/conv.h). Grouped convolution (filter depth a proper divisor of
the input depth, as TFLM's ConvPerChannel takes it) has its own in-place kernel there.

int8 DEPTHWISE_CONV_2D keeps the plain bias: its kernel visits only the taps inside the input and
sums (x - zp) * w as TFLM does (with no cost on Arm DSP cores, see runtime/depthwise_conv.h). Its
filter is rearranged so that the kernel reads it in order (depthwise_filter_blocks).

16x8 (runtime/conv_s16.h): TFLM's int16 kernels ignore the input and output zero points (but
clamp with the activation range computed with the output's), and accumulate in int64 with an
int64 bias, or, in CONV_2D, in int32 with an int32 bias (or no bias and quantized_bias_type
INT32), requantizing with the matching MultiplyByQuantizedMultiplier. The kernels form the exact
sum; the lowering proves that TFLM's accumulator holds it (int32: no overflow; int64: |acc| <
2^47, TFLM's contract) or refuses the layer. DEPTHWISE_CONV_2D reads its bias as int64 in TFLM:
an int32 one is refused (TFLM would read past its end).

float32 (runtime/conv_f32.h): TFLM's loops, same summation order; filters as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..ir import INT_RANGES, Graph, Op, Tensor
from ..overlap_order import (
    Geometry,
    conv_im2col_gap,
    conv_pixel_gap,
    depthwise_pixel_gap,
    depthwise_rows_gap,
    matmul_gap,
)
from ..quantize import (
    activation_range,
    check_accumulator,
    conv_multipliers,
    float_activation_range,
    fold_input_offset,
    multiply_by_quantized_multiplier,
)
from ..variants import FAST_OVERHEAD, Variant, in_place_twin, variants_for, with_param
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
NOTES = ("int16 is 16x8 (int8 weights, zero points ignored as TFLM does); per-channel or "
         "per-tensor int8 weights (zero point 0); bias optional (int32; int64 for 16x8{bias}); "
         "SAME/VALID padding, any stride and dilation; fused NONE/RELU/RELU6/RELU_N1_TO_1")
# (input, filter, output) types -> kernel suffix
SIGNATURES = {
    ("int8", "int8", "int8"): "s8",
    ("int16", "int8", "int16"): "s16",
    ("float32", "float32", "float32"): "f32",
}
SIGNATURE_NAMES = "int8/int8/int8, int16/int8/int16 or float32/float32/float32"
INT16_MIN, INT16_MAX = INT_RANGES["int16"]
INT32_MAX = INT_RANGES["int32"][1]
TENSOR_TYPE_INT32 = 2  # schema TensorType, as Conv2DOptions.quantized_bias_type holds it
S16_REACH = 1 << 15  # the largest |x| of an int16 input value
S64_LIMIT = 1 << 47  # TFLM's int64 MultiplyByQuantizedMultiplier takes |x| < 2^47 ...
S64_SHIFTS = range(-31, 8)  # ... and a shift in [-31, 8)
GEOMETRY_LIMIT = 1 << 30  # filter extents, paddings and input sizes the kernels index in int32


@dataclass(frozen=True)
class Window:
    """Spatial geometry of a convolution, as TFLM's Prepare computes it."""

    stride: tuple[int, int]  # (height, width)
    dilation: tuple[int, int]
    padding: tuple[int, int]  # before the first row / column


@register("CONV_2D", types="int8, int16, float32", inputs=(2, 3), optional=(2,),
          notes=NOTES.format(bias=", or int32 as TFLM takes it") + "; grouped (filter depth "
          "dividing the input depth, output channels dividing into the groups)")
def lower_conv(graph: Graph, op: Op) -> KernelCall:
    x, w, bias, y, suffix = _tensors(graph, op)
    channels, depth, filter_depth = w.shape[0], x.shape[3], w.shape[3]
    if filter_depth < 1 or filter_depth > depth or depth % filter_depth:
        raise unsupported(op, f"grouped convolution with filter depth {filter_depth} is not "
                              f"supported: it must divide the input depth {depth}")
    groups = depth // filter_depth
    if channels % groups:
        raise unsupported(op, f"grouped convolution: {channels} output channels do not split "
                              f"into {groups} groups (input depth {depth}, filter depth "
                              f"{filter_depth})")
    window = _window(op, x, w.shape[1:3], y, channels)
    if suffix == "f32":
        return _lower_conv_f32(op, x, w, bias, y, window, groups)
    multipliers, shifts = _multipliers(op, x, w, y, channels, axis=0)
    if suffix == "s16":
        return _lower_conv_s16(op, x, w, bias, y, window, groups, multipliers, shifts)
    bias_data = bias.data if bias is not None else None
    folded = fold_input_offset(bias_data, w.data, x.zero_point, channels, (1, 2, 3))
    fast, folded, multipliers, shifts = fast_requantization(
        folded, bias_data, w.data, x.zero_point, (1, 2, 3), multipliers, shifts)
    io = (TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
          ArrayArg("shift"), TensorArg(y.index))
    constants = _arrays(folded, multipliers, shifts)
    if groups > 1:
        params = _grouped_geometry(x, w, y, groups) + _rest(op, x, y, window)
        return KernelCall(
            op=op, function="tinyc_conv_grouped_s8", header="conv.h",
            params_type="tinyc_conv_grouped_s8_params", params=params,
            args=(io[0], TensorArg(w.index)) + io[2:], arrays=constants,
            overlaps=((x.index, conv_pixel_gap(Geometry.of(dict(params)))),))
    pointwise = w.shape[1:3] == (1, 1) and window.stride == (1, 1) and window.padding == (0, 0)
    column = w.size // channels  # filter_height * filter_width * input_depth
    # im2col columns and filter rows padded to a multiple of 4 (zero weights): the kernels'
    # chunk loops then need no tail
    padded = column if pointwise else -(-column // 4) * 4
    params = (_geometry(x, w.shape[1:3], y) + _rest(op, x, y, window)
              + (("requant_fast", int(fast)), ("pixel_block", 0)))
    # Windows read in place, TFLite's OHWI layout as it is: needs no scratch.
    in_place = KernelCall(
        op=op, function="tinyc_conv_s8", header="conv.h", params_type="tinyc_conv_s8_params",
        params=params, args=(io[0], TensorArg(w.index)) + io[2:], arrays=constants)
    geometry = Geometry.of(dict(params))
    # 2x2 matrix products: filter rows interleaved
    rows = np.pad(w.data.reshape(channels, -1), ((0, 0), (0, padded - column)))
    matrix = (ConstArray("filter", "int8_t", interleave_rows(rows)),)
    if pointwise:  # in place through its variants (conv_1x1_variants)
        return replace(in_place, function="tinyc_conv_1x1_s8", args=io, arrays=matrix + constants)
    # In place, either kernel: the larger of the two kernels' offsets (the planner may swap one
    # for the other, plan_memory.apply_scratch_plan).
    overlaps = ((x.index, max(conv_im2col_gap(geometry), conv_pixel_gap(geometry))),)
    in_place = replace(in_place, overlaps=overlaps)
    return replace(in_place, function="tinyc_conv_im2col_s8", args=io + (ScratchArg(),),
                   arrays=matrix + constants, scratch_bytes=2 * padded, fallback=in_place)


# Estimated Cortex-M4 instructions of the int8 kernels (tinyc_conv_pairs_asm and
# tinyc_dw3x3_run_asm, bench/bench.py --layers): a 2x2 step of the 1x1 matrix product costs
# about 5 per input value plus 45 (sums set up, requantized, stored), a new block of pixels 45
# per channel pair (its constants set up again, the loop entered); a depthwise pixel of four
# channels about 10 per tap plus 40, a new block of rows about 100 per group of four channels.
MATMUL_STEP, MATMUL_STEP_PER_VALUE, MATMUL_BLOCK = 45, 5, 45
DW_PIXEL, DW_PIXEL_PER_TAP, DW_BLOCK = 40, 10, 100


def _block_sizes(limit: int, smallest: int) -> list[int]:
    """Block sizes to offer, below `limit`: smallest, then powers of two (and 3x)."""
    sizes, b = set(), smallest
    while b < limit:
        sizes.add(b)
        if b * 3 // 2 < limit and b >= 2:
            sizes.add(b * 3 // 2)
        b *= 2
    return sorted(sizes)


# The kernels take input and output `restrict` (runtime/conv.h): a call the plan runs in place
# is renamed to the twin without (plan_memory.plan_memory).
in_place_twin("tinyc_conv_1x1_s8", "tinyc_conv_1x1_in_place_s8")
in_place_twin("tinyc_conv_im2col_s8", "tinyc_conv_im2col_in_place_s8")


@variants_for("tinyc_conv_1x1_s8")
def conv_1x1_variants(graph: Graph, call: KernelCall) -> tuple[Variant, ...]:
    """The 1x1 kernel on blocks of pixels (pixel_block, runtime/conv.h): the smaller the block,
    the closer the input may sit to the output, the more often a channel pair's constants are
    set up again."""
    p = dict(call.params)
    pixels, k, channels = p["batches"] * p["output_height"] * p["output_width"], \
        p["input_depth"], p["output_depth"]
    pairs = -(-channels // 2)
    base = -(-pixels // 2) * pairs * (MATMUL_STEP + MATMUL_STEP_PER_VALUE * k)
    x = call.op.inputs[0]
    variants = []
    for block in _block_sizes(pixels, 2):
        if block % 2:
            continue
        cost = (-(-pixels // block) - 1) * pairs * MATMUL_BLOCK
        # Forwards (the input inside the output's end) and backwards (a negative block: the
        # blocks from the last to the first, the input below the output's start), so that a
        # chain of in-place layers can turn back instead of drifting one way. Backwards only
        # in the small memory mode: the fast mode's plans stay as they are.
        for signed, free in ((block, cost <= FAST_OVERHEAD * base), (-block, False)):
            gap = matmul_gap(pixels, k, channels, signed)
            variants.append(Variant(with_param(call, "pixel_block", signed, ((x, gap),)), cost,
                                    free))
    return tuple(variants)


def _depthwise_asm(p: dict) -> bool:
    """Whether the four-channel Arm kernels take this layer (tinyc_depthwise_conv_s8)."""
    return p["depth_multiplier"] == 1 and p["output_depth"] % 4 == 0 and p["requant_fast"] == 1


@variants_for("tinyc_depthwise_conv_s8")
def depthwise_variants(graph: Graph, call: KernelCall) -> tuple[Variant, ...]:
    """The four-channel Arm kernels on blocks of output rows (row_block,
    runtime/depthwise_conv.h). The portable kernel goes pixel by pixel whatever the block, so
    each offset is the larger of the two orders'."""
    p = dict(call.params)
    if not _depthwise_asm(p):
        return ()
    geometry = Geometry.of(p)
    pixel = depthwise_pixel_gap(geometry, p["depth_multiplier"])
    groups = p["output_depth"] // 4
    taps = p["filter_height"] * p["filter_width"]
    base = (p["batches"] * p["output_height"] * p["output_width"] * groups
            * (DW_PIXEL + DW_PIXEL_PER_TAP * taps))
    x = call.op.inputs[0]
    variants = []
    below = depthwise_pixel_gap(geometry, p["depth_multiplier"], backward=True)
    for rows in _block_sizes(p["output_height"], 1):
        cost = p["batches"] * (-(-p["output_height"] // rows) - 1) * groups * DW_BLOCK
        gap = max(depthwise_rows_gap(geometry, rows), pixel)
        variants.append(Variant(with_param(call, "row_block", rows, ((x, gap),)), cost,
                                cost <= FAST_OVERHEAD * base))
        # Backwards (a negative row_block: the blocks from the bottom one up, and the portable
        # kernel's pixels from the last one): the input below the output. Small mode only.
        gap = min(depthwise_rows_gap(geometry, -rows), below)
        variants.append(Variant(with_param(call, "row_block", -rows, ((x, gap),)), cost, False))
    return tuple(variants)


def _lower_conv_s16(op: Op, x: Tensor, w: Tensor, bias: Tensor | None, y: Tensor,
                    window: Window, groups: int, multipliers: list[int],
                    shifts: list[int]) -> KernelCall:
    """16x8 CONV_2D. TFLM's accumulator: int32 for an int32 bias, or no bias and
    quantized_bias_type INT32; int64 otherwise. The kernel forms the exact sum and takes the
    matching requantization (runtime/conv_s16.h); here the sum is proven to fit."""
    channels = w.shape[0]
    int32_accumulator = (bias.dtype == "int32" if bias is not None
                         else op.options.get("quantized_bias_type", 0) == TENSOR_TYPE_INT32)
    bias64 = _bias64(bias, channels)
    if int32_accumulator:
        check_accumulator(bias.data if bias is not None else None, w.data, 0, channels,
                          (1, 2, 3), (INT16_MIN, INT16_MAX))
    else:
        _check_int64_accumulator(op, bias64, w.data.reshape(channels, -1), shifts)
    act_min, act_max = _activation_range_s16(op, y)
    return KernelCall(
        op=op, function="tinyc_conv_s16", header="conv_s16.h",
        params_type="tinyc_conv_s16_params",
        params=_grouped_geometry(x, w, y, groups) + _spatial(window)
        + (("block_depth", _block_depth(w.data.reshape(channels, -1))),
           ("int32_accumulator", int(int32_accumulator)), ("activation_min", act_min),
           ("activation_max", act_max)),
        args=(TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
              ArrayArg("shift"), TensorArg(y.index)),
        arrays=(ConstArray("filter", "int8_t", pair_weight_chunks(w.data)),
                ConstArray("bias", "int64_t", bias64)) + _arrays(None, multipliers, shifts))


def _lower_conv_f32(op: Op, x: Tensor, w: Tensor, bias: Tensor | None, y: Tensor,
                    window: Window, groups: int) -> KernelCall:
    act_min, act_max = float_activation_range(op.options["fused_activation_function"])
    return KernelCall(
        op=op, function="tinyc_conv_f32", header="conv_f32.h",
        params_type="tinyc_conv_f32_params",
        params=_grouped_geometry(x, w, y, groups) + _spatial(window)
        + (("activation_min", act_min), ("activation_max", act_max)),
        args=(TensorArg(x.index), TensorArg(w.index), ArrayArg("bias"), TensorArg(y.index)),
        arrays=(ConstArray("bias", "float", _bias_f32(bias, w.shape[0])),))


FAST_REQUANT_REACH = 1 << 29  # tinyc_rq_apply (runtime/tinyc_dsp.h) takes |accumulator| < 2^29


def fast_requantization(kernel_bias: np.ndarray, bias: np.ndarray | None, weights: np.ndarray,
                        zero_point: int, sum_axes: tuple[int, ...], multipliers: list[int],
                        shifts: list[int]) -> tuple[bool, np.ndarray, list[int], list[int]]:
    """Whether the int8 kernels may requantize with tinyc_rq_apply (runtime/tinyc_dsp.h), and
    the bias, multipliers and shifts they then take.

    tinyc_rq_apply gives TFLM's integers when every multiplier is in [2^30, 2^31)
    (QuantizeMultiplier's range) or 0 (its answer for scales below 2^-31), every shift is a right
    shift or none, and no accumulator can reach 2^29 in magnitude: TFLM's bias plus products with
    the input offset applied (the conv kernels' sums with the offset folded into `kernel_bias`
    end at the same value). A channel whose weights are all zero computes its bias whatever the
    input; trained models have such channels with biases near 2^30 (vww_96_int8). Its output,
    requantize(bias) + output offset, clamped, is a constant, so it gets bias 2v, multiplier 2^30
    and shift 0 (requantize(2v) = floor(v + 1/2) = v), v TFLM's requantized bias bounded to
    [-256, 256] (beyond, the clamp gives the same byte): the same output from a small
    accumulator, by either requantization. When the fast path applies, a multiplier 0 or a shift
    below -30 (TFLM's result 0 for such accumulators) becomes 2^30 and -30 (0 too), which
    tinyc_rq_make takes without a test."""
    kernel_bias = np.array(kernel_bias, np.int32, copy=True)
    multipliers, shifts = list(multipliers), list(shifts)
    mass = np.abs(weights.astype(np.int64)).sum(axis=sum_axes)
    values = bias.astype(np.int64).ravel() if bias is not None else np.zeros(mass.size, np.int64)
    centred = max(abs(-128 - zero_point), abs(127 - zero_point))
    worst = np.abs(values) + mass * centred
    for c in np.flatnonzero(mass == 0):
        v = multiply_by_quantized_multiplier(int(kernel_bias[c]), multipliers[c], shifts[c])
        v = min(max(v, -256), 256)
        kernel_bias[c], multipliers[c], shifts[c], worst[c] = 2 * v, 1 << 30, 0, abs(2 * v)
    fast = (all(m == 0 or (1 << 30) <= m < (1 << 31) for m in multipliers)
            and all(e <= 0 for e in shifts)
            and (not worst.size or int(worst.max()) < FAST_REQUANT_REACH))
    if fast:  # |acc| < 2^29: a multiplier 0 or a shift below -30 gives 0, as 2^30, -30 does
        for c, (m, e) in enumerate(zip(multipliers, shifts)):
            if m == 0 or e < -30:
                multipliers[c], shifts[c] = 1 << 30, -30
    return fast, kernel_bias, multipliers, shifts


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


def pair_weight_chunks(weights: np.ndarray) -> np.ndarray:
    """The 16x8 CONV_2D filter layout runtime/conv_s16.h reads: TFLite's OHWI filter with each
    tap's values (the last axis) in 4-value chunks stored w0 w2 w1 w3; the last depth % 4 values
    of a tap as they are. SXTB16 of such a word gives the halfword pairs (w0, w1) and (w2, w3)."""
    depth = weights.shape[-1]
    whole = depth - depth % 4
    out = np.array(weights, np.int8, copy=True)
    chunks = out[..., :whole].reshape(*out.shape[:-1], whole // 4, 4)
    out[..., :whole] = chunks[..., [0, 2, 1, 3]].reshape(*out.shape[:-1], whole)
    return out.ravel()


@register("DEPTHWISE_CONV_2D", types="int8, int16, float32", inputs=(2, 3), optional=(2,),
          notes=NOTES.format(bias="") + "; any depth_multiplier")
def lower_depthwise_conv(graph: Graph, op: Op) -> KernelCall:
    x, w, bias, y, suffix = _tensors(graph, op)
    channels = w.shape[3]
    multiplier_depth = op.options.get("depth_multiplier")
    if w.shape[0] != 1:
        raise unsupported(op, f"filter shape {list(w.shape)} is not [1, height, width, channels]")
    if not multiplier_depth or x.shape[3] * multiplier_depth != channels:
        raise unsupported(op, f"depth_multiplier={multiplier_depth} does not match input depth "
                              f"{x.shape[3]} and filter channels {channels}")
    window = _window(op, x, w.shape[1:3], y, channels)
    geometry = _geometry(x, w.shape[1:3], y) + (("depth_multiplier", multiplier_depth),)
    if suffix == "f32":
        act_min, act_max = float_activation_range(op.options["fused_activation_function"])
        return KernelCall(
            op=op, function="tinyc_depthwise_conv_f32", header="conv_f32.h",
            params_type="tinyc_depthwise_conv_f32_params",
            params=geometry + _spatial(window)
            + (("activation_min", act_min), ("activation_max", act_max)),
            args=(TensorArg(x.index), TensorArg(w.index), ArrayArg("bias"), TensorArg(y.index)),
            arrays=(ConstArray("bias", "float", _bias_f32(bias, channels)),))
    multipliers, shifts = _multipliers(op, x, w, y, channels, axis=3)
    filter_array = ConstArray("filter", "int8_t",
                              depthwise_filter_blocks(w.data, multiplier_depth))
    io = (TensorArg(x.index), ArrayArg("filter"), ArrayArg("bias"), ArrayArg("multiplier"),
          ArrayArg("shift"), TensorArg(y.index))
    if suffix == "s16":
        # TFLM's int16 depthwise kernel reads its bias as int64 whatever its type.
        if bias is not None and bias.dtype != "int64":
            raise unsupported(op, f"{bias.dtype} bias with int16 activations is not supported "
                                  f"(int64 only: TFLM reads the bias as int64)")
        bias64 = _bias64(bias, channels)
        taps = w.data.reshape(-1, channels).T  # [channels, taps]
        _check_int64_accumulator(op, bias64, taps, shifts)
        mass = np.abs(taps.astype(np.int64)).sum(axis=1)
        # the DSP loops' 32-bit sums of products are exact when no channel's can leave int32
        fits = int(mass.max()) * S16_REACH <= INT32_MAX
        act_min, act_max = _activation_range_s16(op, y)
        return KernelCall(
            op=op, function="tinyc_depthwise_conv_s16", header="conv_s16.h",
            params_type="tinyc_depthwise_conv_s16_params",
            params=geometry + _spatial(window)
            + (("sums_fit_int32", int(fits)), ("activation_min", act_min),
               ("activation_max", act_max)),
            args=io,
            arrays=(filter_array, ConstArray("bias", "int64_t", bias64))
            + _arrays(None, multipliers, shifts))
    # The kernel's requantization reads a negative shift as a multiplier in [2^30, 2^31), as
    # QuantizeMultiplier makes them.
    assert all(m >= 1 << 30 for m, s in zip(multipliers, shifts) if s < 0)
    bias_data = bias.data if bias is not None else None
    check_accumulator(bias_data, w.data, x.zero_point, channels, (0, 1, 2))
    plain_bias = fold_input_offset(bias_data, w.data, 0, channels, (0, 1, 2))  # unfolded
    fast, plain_bias, multipliers, shifts = fast_requantization(
        plain_bias, bias_data, w.data, x.zero_point, (0, 1, 2), multipliers, shifts)
    params = geometry + _rest(op, x, y, window) + (("requant_fast", int(fast)),
                                                   ("row_block", 0))
    # In place as it is where the portable kernel runs everywhere (pixel by pixel); the
    # four-channel Arm kernels go group by group over all rows, and have variants
    # (depthwise_variants) that go by blocks of rows instead.
    overlaps = () if _depthwise_asm(dict(params)) else (
        (x.index, depthwise_pixel_gap(Geometry.of(dict(params)), multiplier_depth)),)
    return KernelCall(
        op=op,
        function="tinyc_depthwise_conv_s8",
        header="depthwise_conv.h",
        params_type="tinyc_depthwise_conv_s8_params",
        params=params,
        args=io,
        arrays=(filter_array,) + _arrays(plain_bias, multipliers, shifts),
        overlaps=overlaps,
    )


def depthwise_filter_blocks(weights: np.ndarray, depth_multiplier: int) -> np.ndarray:
    """The filter layout runtime/depthwise_conv.h (and conv_s16.h) reads: channel blocks, each
    tap by tap.

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


def _tensors(graph: Graph, op: Op) -> tuple[Tensor, Tensor, Tensor | None, Tensor, str]:
    """Input, filter, bias (None if omitted), output and kernel suffix, after the checks both
    ops share."""
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    bias_index = optional_input(op, 2)
    bias = graph.tensor(bias_index) if bias_index >= 0 else None
    signature = (x.dtype, w.dtype, y.dtype)
    suffix = SIGNATURES.get(signature)
    if suffix is None:
        if x.dtype == y.dtype and x.dtype in ("int8", "int16", "float32"):
            raise unsupported(op, f"{w.dtype} weights with {x.dtype} activations are not "
                                  f"supported (input/filter/output types {SIGNATURE_NAMES})")
        raise unsupported(op, f"{x.dtype} input activations with {w.dtype} weights and "
                              f"{y.dtype} output are not supported (input/filter/output types "
                              f"{SIGNATURE_NAMES})")
    bias_types = {"s8": {"int32"}, "s16": {"int32", "int64"}, "f32": {"float32"}}[suffix]
    if bias is not None and bias.dtype not in bias_types:
        raise unsupported(op, f"{bias.dtype} bias with {x.dtype} activations is not supported "
                              f"({' or '.join(sorted(bias_types))} only)")
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
    if suffix != "f32":
        if w.quant is None:
            raise unsupported(op, f"filter {w.label} is not quantized")
        require_per_tensor(op, x, y)
        if any(zp != 0 for zp in w.quant.zero_point):
            raise unsupported(op, "weights with a non-zero zero point are not supported")
    require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    require_option(op, "padding", PADDINGS)
    return x, w, bias, y, suffix


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
        if effective + size > GEOMETRY_LIMIT:
            raise unsupported(op, f"dilated filter extent {effective} with input size {size} "
                                  f"is not supported (at most {GEOMETRY_LIMIT} together)")
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


def _bias64(bias: Tensor | None, channels: int) -> np.ndarray:
    """The 16x8 kernels' bias: the layer's int32 or int64 values as int64, zeros without one."""
    if bias is None:
        return np.zeros(channels, np.int64)
    return bias.data.astype(np.int64).ravel()


def _bias_f32(bias: Tensor | None, channels: int) -> np.ndarray:
    """TFLM adds 0.0f without a bias: zeros give the same sums."""
    if bias is None:
        return np.zeros(channels, np.float32)
    return np.asarray(bias.data, np.float32).ravel()


def _check_int64_accumulator(op: Op, bias: np.ndarray, weights: np.ndarray,
                             shifts: list[int]) -> None:
    """TFLM's int64 MultiplyByQuantizedMultiplier requires -31 <= shift < 8 and |acc| < 2^47
    (beyond, its 64-bit products overflow). `weights`: one row of weights per output channel;
    acc is the bias plus a sum of products with int16 inputs, each |x| <= 2^15."""
    bad = [s for s in shifts if s not in S64_SHIFTS]
    if bad:
        raise unsupported(op, f"requantization shift {bad[0]} is out of TFLM's 16x8 range "
                              f"(-31 to 7): the scales give a factor of 2^{bad[0]} or more")
    mass = np.abs(weights.astype(np.int64)).sum(axis=1)
    worst = np.abs(bias) + mass * S16_REACH
    if worst.size and int(worst.max()) >= S64_LIMIT:
        channel = int(np.argmax(worst))
        raise unsupported(op, f"the bias and weights of channel {channel} can take the int64 "
                              f"accumulator to {int(worst.max())}, beyond TFLM's 16x8 limit "
                              f"of 2^47")


def _block_depth(weights: np.ndarray) -> int:
    """How many products of int16 inputs with one row of `weights` (per output channel) the
    16x8 conv kernel may sum in int32: all of them when no channel's sum can leave int32 (the
    usual case), else a multiple of 4 that the largest weight cannot overflow."""
    magnitudes = np.abs(weights.astype(np.int64))
    if int(magnitudes.sum(axis=1).max()) * S16_REACH <= INT32_MAX:
        return INT32_MAX
    return INT32_MAX // (int(magnitudes.max()) * S16_REACH) // 4 * 4


def _activation_range_s16(op: Op, y: Tensor) -> tuple[int, int]:
    """CalculateActivationRangeQuantized on int16 limits, with the output zero point (which the
    kernels then never add, as TFLM)."""
    return activation_range(op.options["fused_activation_function"], y.scale, y.zero_point,
                            INT16_MIN, INT16_MAX)


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


def _grouped_geometry(x: Tensor, w: Tensor, y: Tensor,
                      groups: int) -> tuple[tuple[str, int], ...]:
    """_geometry with the filter depth and the output channels per group."""
    plain = _geometry(x, w.shape[1:3], y)
    return (plain[:6] + (("filter_depth", w.shape[3]),) + plain[6:]
            + (("group_channels", y.shape[3] // groups),))


def _spatial(window: Window) -> tuple[tuple[str, int], ...]:
    return (
        ("stride_height", window.stride[0]),
        ("stride_width", window.stride[1]),
        ("dilation_height", window.dilation[0]),
        ("dilation_width", window.dilation[1]),
        ("pad_height", window.padding[0]),
        ("pad_width", window.padding[1]),
    )


def _rest(op: Op, x: Tensor, y: Tensor, window: Window) -> tuple[tuple[str, int], ...]:
    act_min, act_max = activation_range(op.options["fused_activation_function"], y.scale,
                                        y.zero_point)
    return _spatial(window) + (
        ("input_zero_point", x.zero_point),
        ("output_offset", y.zero_point),
        ("activation_min", act_min),
        ("activation_max", act_max),
    )


def _arrays(folded: np.ndarray | None, multipliers: list[int], shifts: list[int]):
    """bias (when given), multiplier and shift arrays."""
    bias = () if folded is None else (ConstArray("bias", "int32_t", folded),)
    return bias + (
        ConstArray("multiplier", "int32_t", np.array(multipliers, np.int32)),
        ConstArray("shift", "int8_t", np.array(shifts, np.int8)),
    )
