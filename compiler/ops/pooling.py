"""AVERAGE_POOL_2D and MAX_POOL_2D: int8, int16 and float32, NHWC, SAME/VALID padding.

Geometry follows TFLM's CalculateOpDataPooling (ComputePaddingHeightWidth): the output size is
recomputed from the options and must match the output tensor, and only the top/left padding is
passed to the kernel (windows are clipped to the input, so bottom/right padding needs no number).
int8 and int16 run the same reference_integer_ops code (PoolingPrepare: input and output share
scale and zero point; the fused activation is a clamp of the output's quantized range).
"""

from __future__ import annotations

from ..ir import INT_RANGES, Graph, Op, Tensor
from ..quantize import activation_range, f32, float_activation_range, round_half_away
from . import (
    FUSED_ACTIVATIONS,
    KernelCall,
    TensorArg,
    register,
    require_option,
    require_per_tensor,
    require_types,
    unsupported,
)

NOTES = (
    "NHWC; SAME/VALID padding, any stride and filter size; fused NONE/RELU/RELU6/"
    "RELU_N1_TO_1; int8/int16 input and output must share scale and zero point (as TFLM "
    "requires)"
)


def out_size_and_padding(
    padding: str, in_size: int, filter_size: int, stride: int, dilation: int = 1
) -> tuple[int, int]:
    """TFLM ComputeOutSizeChecked + ComputePaddingWithOffsetChecked: (output size, leading pad)."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size + stride - effective) // stride
    total = max((out - 1) * stride + effective - in_size, 0)
    return out, total // 2


@register("AVERAGE_POOL_2D", types="int8, int16, float32", inputs=1, notes=NOTES)
def lower_average_pool(graph: Graph, op: Op) -> KernelCall:
    return _lower_pool(graph, op, "average")


@register("MAX_POOL_2D", types="int8, int16, float32", inputs=1, notes=NOTES)
def lower_max_pool(graph: Graph, op: Op) -> KernelCall:
    return _lower_pool(graph, op, "max")


def _lower_pool(graph: Graph, op: Op, kind: str) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    signature = require_types(
        graph, op, {("int8", "int8"), ("int16", "int16"), ("float32", "float32")}
    )
    activation = require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    padding = require_option(op, "padding", {"SAME", "VALID"})
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"input of rank {len(x.shape)} is not supported (expected NHWC)")
    stride_h, stride_w = op.options.get("stride_h", 0), op.options.get("stride_w", 0)
    filter_h, filter_w = op.options.get("filter_height", 0), op.options.get("filter_width", 0)
    for name, value in (
        ("stride_h", stride_h),
        ("stride_w", stride_w),
        ("filter_height", filter_h),
        ("filter_width", filter_w),
    ):
        if value < 1:
            raise unsupported(op, f"{name}={value} is not supported (must be at least 1)")
    batches, in_h, in_w, depth = x.shape
    out_h, pad_h = out_size_and_padding(padding, in_h, filter_h, stride_h)
    out_w, pad_w = out_size_and_padding(padding, in_w, filter_w, stride_w)
    if y.shape != (batches, out_h, out_w, depth):
        raise unsupported(
            op,
            f"output shape {list(y.shape)} does not match the pooling geometry "
            f"{[batches, out_h, out_w, depth]}",
        )
    window_h = _check_windows(op, out_h, stride_h, pad_h, filter_h, in_h)
    window_w = _check_windows(op, out_w, stride_w, pad_w, filter_w, in_w)
    geometry = (
        ("batches", batches),
        ("input_height", in_h),
        ("input_width", in_w),
        ("depth", depth),
        ("output_height", out_h),
        ("output_width", out_w),
        ("stride_height", stride_h),
        ("stride_width", stride_w),
        ("filter_height", filter_h),
        ("filter_width", filter_w),
        ("padding_height", pad_h),
        ("padding_width", pad_w),
    )
    if signature[0] == "float32":
        act_min, act_max = float_activation_range(activation)
        suffix = "f32"
    else:
        _check_same_quantization(op, x, y)
        qmin, qmax = INT_RANGES[signature[1]]
        _check_activation_bounds(op, activation, y.scale)
        act_min, act_max = activation_range(activation, y.scale, y.zero_point, qmin, qmax)
        suffix = "s8" if signature[0] == "int8" else "s16"
        # TFLM sums a window in int32: refuse windows whose sum (and rounding) could overflow.
        count = window_h * window_w
        if kind == "average" and count * (qmax + 1) + count // 2 > (1 << 31) - 1:
            raise unsupported(
                op,
                f"a pooling window of {window_h}x{window_w} {signature[0]} values is not "
                f"supported (TFLM's int32 sum could overflow)",
            )
    return KernelCall(
        op=op,
        function=f"tinyc_{kind}_pool_{suffix}",
        header="pooling.h",
        params_type=f"tinyc_pool_{suffix}_params",
        params=geometry + (("activation_min", act_min), ("activation_max", act_max)),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


def _check_same_quantization(op: Op, x: Tensor, y: Tensor) -> None:
    """PoolingPrepare: |scale_in - scale_out| <= 1e-6 (float difference) and equal zero points."""
    require_per_tensor(op, x, y)
    if abs(f32(x.scale - y.scale)) > 1.0e-6 or x.zero_point != y.zero_point:
        raise unsupported(
            op,
            f"input quantization (scale {x.scale:g}, zero point {x.zero_point}) "
            f"differs from the output's (scale {y.scale:g}, zero point "
            f"{y.zero_point}); TFLM requires them equal",
        )


def _check_windows(op: Op, out: int, stride: int, pad: int, filter_size: int, in_size: int) -> int:
    """TFLM's average pool fails at run time on a window that lies entirely in the padding.
    Returns the largest window extent inside the input."""
    largest = 0
    for o in range(out):
        origin = o * stride - pad
        extent = min(filter_size, in_size - origin) - max(0, -origin)
        if extent <= 0:
            raise unsupported(op, f"output position {o} has a pooling window outside the input")
        largest = max(largest, extent)
    return largest


def _check_activation_bounds(op: Op, activation: str, scale: float) -> None:
    """CalculateActivationRangeQuantized fails when round(bound / scale) (in float) is outside
    int32 (a fused RELU6 or RELU_N1_TO_1 with a tiny output scale). PoolingPrepare ignores that
    failure and runs with bounds it never set (whatever its arena held), so no output is right."""
    bounds = {"RELU6": (6.0,), "RELU_N1_TO_1": (-1.0, 1.0)}.get(activation, ())
    for bound in bounds:
        q = round_half_away(f32(f32(bound) / f32(scale)))
        # TFLM accepts up to float(INT32_MAX) = 2^31 but then converts 2^31 to int32, which C
        # leaves undefined: refuse that too.
        if not -(1 << 31) <= q < (1 << 31):
            raise unsupported(
                op,
                f"fused_activation_function={activation} with output scale {scale:g} is not "
                f"supported (its bound {bound:g} does not quantize into int32; TFLM then "
                f"clamps to bounds it never set)",
            )
