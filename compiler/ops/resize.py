"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR on NHWC tensors, with a constant output size.

What TFLM's kernels compute per output row and column (resize_nearest_neighbor.h
GetNearestNeighbor in float32; resize_bilinear.h ComputeInterpolationValues in float32 for float
tensors and ComputeInterpolationValuesInteger in 10-bit fixed point for int8) depends only on the
shapes and the options, so it is computed here, with TFLM's arithmetic, into per-row and
per-column arrays of source offsets and weights (runtime/resize.h).

Types are the ones TFLM's micro kernels take: nearest copies int8, int16 and float32 (as int32
words); bilinear interpolates float32 (ResizeBilinear) and int8 (ResizeBilinearInteger). Neither
rescales: the quantized values pass through whatever the input and output quantization, as in
TFLM.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import round_half_away
from . import ArrayArg, ConstArray, KernelCall, TensorArg, register, unsupported

INT32_MAX = (1 << 31) - 1
NEAREST_KERNELS = {"int8": "x8", "int16": "x16", "float32": "x32"}


@register("RESIZE_NEAREST_NEIGHBOR", types="int8, int16, float32", inputs=2,
          notes="NHWC; constant output size; align_corners and half_pixel_centers; no rescaling "
                "(as TFLM)")
def lower_resize_nearest(graph: Graph, op: Op) -> KernelCall:
    x, y, (out_h, out_w) = _tensors(graph, op, set(NEAREST_KERNELS))
    align, half = _options(op)
    _, in_h, in_w, depth = x.shape
    rows = [nearest_index(i, in_h, out_h, align, half) * in_w * depth for i in range(out_h)]
    cols = [nearest_index(i, in_w, out_w, align, half) * depth for i in range(out_w)]
    return KernelCall(
        op=op,
        function=f"tinyc_resize_nearest_{NEAREST_KERNELS[x.dtype]}",
        header="resize.h",
        params_type="tinyc_resize_params",
        params=_params(x, out_h, out_w),
        args=(TensorArg(x.index), ArrayArg("rows"), ArrayArg("cols"), TensorArg(y.index)),
        arrays=(ConstArray("rows", "int32_t", np.array(rows, np.int32)),
                ConstArray("cols", "int32_t", np.array(cols, np.int32))),
    )


@register("RESIZE_BILINEAR", types="int8, float32", inputs=2,
          notes="NHWC; constant output size; align_corners or half_pixel_centers (not both, as "
                "TFLM); int8 in TFLM's 10-bit fixed point; no rescaling (as TFLM)")
def lower_resize_bilinear(graph: Graph, op: Op) -> KernelCall:
    x, y, (out_h, out_w) = _tensors(graph, op, {"int8", "float32"})
    align, half = _options(op)
    if align and half:
        raise unsupported(op, "align_corners and half_pixel_centers are both set (TFLM refuses "
                              "it)")
    _, in_h, in_w, depth = x.shape
    if x.dtype == "float32":
        row_index, row_weight = _float_axis(out_h, in_h, align, half)
        col_index, col_weight = _float_axis(out_w, in_w, align, half)
        weight_type, suffix = "float", "f32"
    else:
        row_index, row_weight = _integer_axis(op, out_h, in_h, align, half)
        col_index, col_weight = _integer_axis(op, out_w, in_w, align, half)
        weight_type, suffix = "int32_t", "s8"
        worst = max(abs(a) + abs(b) for a, b in row_weight) * max(
            abs(a) + abs(b) for a, b in col_weight) * 128
        if worst > INT32_MAX:
            raise unsupported(op, f"interpolation weights up to {worst} overflow int32")
    for axis, index, size in (("row", row_index, in_h), ("column", col_index, in_w)):
        bad = [pair for pair in index if not (0 <= pair[0] < size and 0 <= pair[1] < size)]
        if bad:
            raise unsupported(op, f"{axis} neighbours {bad[0]} fall outside the input (size "
                                  f"{size}); TFLM would read out of bounds")
    rows = np.array(index_pairs(row_index, in_w * depth), np.int32)
    cols = np.array(index_pairs(col_index, depth), np.int32)
    weights_type = np.float32 if weight_type == "float" else np.int32
    return KernelCall(
        op=op,
        function=f"tinyc_resize_bilinear_{suffix}",
        header="resize.h",
        params_type="tinyc_resize_params",
        params=_params(x, out_h, out_w),
        args=(TensorArg(x.index), ArrayArg("rows"), ArrayArg("row_weights"), ArrayArg("cols"),
              ArrayArg("col_weights"), TensorArg(y.index)),
        arrays=(
            ConstArray("rows", "int32_t", rows),
            ConstArray("row_weights", weight_type, np.array(row_weight, weights_type).ravel()),
            ConstArray("cols", "int32_t", cols),
            ConstArray("col_weights", weight_type, np.array(col_weight, weights_type).ravel()),
        ),
    )


def index_pairs(pairs: list[tuple[int, int]], stride: int) -> list[int]:
    return [i * stride for pair in pairs for i in pair]


def nearest_index(value: int, input_size: int, output_size: int, align: bool,
                  half: bool) -> int:
    """TFLM GetNearestNeighbor, in float32 as TFLM computes it."""
    f = np.float32
    if align and output_size > 1:
        scale = f(input_size - 1) / f(output_size - 1)
    else:
        scale = f(input_size) / f(output_size)
    offset = f(0.5) if half else f(0.0)
    scaled = float((f(value) + offset) * scale)
    index = round_half_away(scaled) if align else math.floor(scaled)
    index = min(index, input_size - 1)
    return max(0, index) if half else index


def _float_axis(output_size: int, input_size: int, align: bool,
                half: bool) -> tuple[list[tuple[int, int]], list[tuple[float, float]]]:
    """ComputeInterpolationValues per output position: (lower, upper) neighbours and the float
    weights TFLM multiplies them by, 1 - (input_y - y0) and input_y - y0."""
    f = np.float32
    scale = f(input_size) / f(output_size)
    if align and output_size > 1:
        scale = f(input_size - 1) / f(output_size - 1)
    indices, weights = [], []
    for value in range(output_size):
        if half:
            scaled = (f(value) + f(0.5)) * scale - f(0.5)
        else:
            scaled = f(value) * scale
        lower = max(int(math.floor(scaled)), 0)
        upper = min(int(math.ceil(scaled)), input_size - 1)
        fraction = scaled - f(lower)
        indices.append((lower, upper))
        weights.append((float(f(1) - fraction), float(fraction)))
    return indices, weights


def _integer_axis(op: Op, output_size: int, input_size: int, align: bool,
                  half: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """ComputeInterpolationValuesInteger per output position: (lower, upper) neighbours and the
    weights (1 << 10) - (input_y - (1 << 10) * y0) and input_y - (1 << 10) * y0."""
    if (1 << 10) * input_size > INT32_MAX:
        raise unsupported(op, f"input size {input_size} overflows TFLM's 10-bit scale")
    scale = c_div((1 << 10) * input_size + output_size // 2, output_size)
    if align and output_size > 1:
        scale = c_div((1 << 10) * (input_size - 1) + (output_size - 1) // 2, output_size - 1)
    if (output_size - 1) * scale + scale > INT32_MAX:
        raise unsupported(op, f"output size {output_size} overflows TFLM's 10-bit scale")
    indices, weights = [], []
    for value in range(output_size):
        scaled = value * scale + c_div(scale, 2) - (1 << 9) if half else value * scale
        lower = max(c_div(scaled, 1 << 10), 0)
        upper = min(c_div(scaled + (1 << 10) - 1, 1 << 10), input_size - 1)
        fraction = scaled - (1 << 10) * lower
        indices.append((lower, upper))
        weights.append(((1 << 10) - fraction, fraction))
    return indices, weights


def c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero), for b > 0."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _tensors(graph: Graph, op: Op, types: set[str]) -> tuple[Tensor, Tensor, tuple[int, int]]:
    if len(op.inputs) != 2 or len(op.outputs) != 1 or min(op.inputs) < 0:
        raise unsupported(op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs (expected "
                              f"an input and a size)")
    x, size, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                  graph.tensor(op.outputs[0]))
    if x.dtype not in types or y.dtype != x.dtype:
        raise unsupported(op, f"tensor types {x.dtype}/{y.dtype} are not supported (supported: "
                              f"{', '.join(sorted(types))}, same type in and out)")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"input of rank {len(x.shape)} is not supported (expected NHWC, "
                              f"as TFLM)")
    if size.dtype != "int32" or size.shape != (2,):
        raise unsupported(op, f"size tensor of type {size.dtype} and shape {list(size.shape)} "
                              f"(expected int32 [2])")
    if not size.is_const:
        raise unsupported(op, "the output size is computed at run time; only a constant size "
                              "is supported")
    out_h, out_w = (int(v) for v in size.data)
    if out_h < 1 or out_w < 1:
        raise unsupported(op, f"output size {[out_h, out_w]} (must be positive)")
    expected = (x.shape[0], out_h, out_w, x.shape[3])
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} does not match the input and size "
                              f"(expected {list(expected)})")
    if max(x.size, y.size) > INT32_MAX:
        raise unsupported(op, f"tensor of {max(x.size, y.size)} elements (int32 offsets)")
    return x, y, (out_h, out_w)


def _options(op: Op) -> tuple[bool, bool]:
    return bool(op.options.get("align_corners", False)), bool(
        op.options.get("half_pixel_centers", False))


def _params(x: Tensor, out_h: int, out_w: int) -> tuple[tuple[str, int], ...]:
    batches, in_h, in_w, depth = x.shape
    return (
        ("batches", batches),
        ("output_height", out_h),
        ("output_width", out_w),
        ("depth", depth),
        ("input_batch_stride", in_h * in_w * depth),
    )
