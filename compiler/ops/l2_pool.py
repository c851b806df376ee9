"""L2_POOL_2D: float32 NHWC, SAME/VALID padding, as TFLM's l2_pool_2d.cc / reference_ops::L2Pool.

TFLM has no quantized L2 pool (its Prepare refuses every type but float32), so neither has tinyc.
Geometry follows L2Prepare (ComputePaddingHeightWidth); TFLM overwrites the output tensor's shape
with the computed one, so tinyc requires the model's output shape to equal it.
"""

from __future__ import annotations

from ..ir import Graph, Op
from ..quantize import float_activation_range
from . import (
    FUSED_ACTIVATIONS,
    KernelCall,
    TensorArg,
    register,
    require_option,
    require_types,
    unsupported,
)
from .pooling import out_size_and_padding

INT32_MAX = (1 << 31) - 1


@register("L2_POOL_2D", types="float32", inputs=1,
          notes="NHWC; SAME/VALID padding, any stride and filter size; fused NONE/RELU/RELU6/"
                "RELU_N1_TO_1 (TFLM has float32 only)")
def lower_l2_pool(graph: Graph, op: Op) -> KernelCall:
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise unsupported(op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs (expected 1 "
                              f"and 1)")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_types(graph, op, {("float32", "float32")})
    activation = require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    padding = require_option(op, "padding", {"SAME", "VALID"})
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"input of rank {len(x.shape)} is not supported (expected NHWC)")
    sizes = {name: op.options.get(name, 0)
             for name in ("stride_h", "stride_w", "filter_height", "filter_width")}
    for name, value in sizes.items():
        if not 1 <= value <= INT32_MAX // 2:
            raise unsupported(op, f"{name}={value} is not supported (must be at least 1)")
    batches, in_h, in_w, depth = x.shape
    out_h, pad_h = out_size_and_padding(padding, in_h, sizes["filter_height"], sizes["stride_h"])
    out_w, pad_w = out_size_and_padding(padding, in_w, sizes["filter_width"], sizes["stride_w"])
    if out_h < 1 or out_w < 1 or y.shape != (batches, out_h, out_w, depth):
        raise unsupported(op, f"output shape {list(y.shape)} does not match the pooling geometry "
                              f"{[batches, out_h, out_w, depth]}")
    if x.size > INT32_MAX or out_h * sizes["stride_h"] > INT32_MAX // 2 or (
            out_w * sizes["stride_w"] > INT32_MAX // 2):
        raise unsupported(op, f"input of {x.size} elements or strides overflow int32 indices")
    act_min, act_max = float_activation_range(activation)
    return KernelCall(
        op=op,
        function="tinyc_l2_pool_f32",
        header="l2_pool.h",
        params_type="tinyc_l2_pool_f32_params",
        params=(
            ("batches", batches),
            ("input_height", in_h),
            ("input_width", in_w),
            ("depth", depth),
            ("output_height", out_h),
            ("output_width", out_w),
            ("stride_height", sizes["stride_h"]),
            ("stride_width", sizes["stride_w"]),
            ("filter_height", sizes["filter_height"]),
            ("filter_width", sizes["filter_width"]),
            ("padding_height", pad_h),
            ("padding_width", pad_w),
            ("activation_min", act_min),
            ("activation_max", act_max),
        ),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )
