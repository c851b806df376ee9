"""QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32)."""

from __future__ import annotations

from ..ir import Graph, Op
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, require_types


@register(
    "QUANTIZE",
    inputs=1,
    types="float32 → int8, int8 → int8",
    notes="per-tensor; int8 → int8 requantizes with TFLM's multiplier",
)
def lower_quantize(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    signature = require_types(graph, op, {("float32", "int8"), ("int8", "int8")})
    require_per_tensor(op, y)
    io = (TensorArg(x.index), TensorArg(y.index))
    if signature[0] == "float32":
        return KernelCall(
            op,
            "tinyc_quantize_f32_s8",
            "quantize.h",
            "tinyc_quantize_params",
            (("size", y.size), ("scale", y.scale), ("zero_point", y.zero_point)),
            io,
        )
    require_per_tensor(op, x)
    multiplier, shift = quantize_multiplier(x.scale / y.scale)
    return KernelCall(
        op,
        "tinyc_requantize_s8",
        "quantize.h",
        "tinyc_requantize_params",
        (
            ("size", y.size),
            ("input_zero_point", x.zero_point),
            ("output_zero_point", y.zero_point),
            ("multiplier", multiplier),
            ("shift", shift),
        ),
        io,
    )


@register("DEQUANTIZE", types="int8 → float32", inputs=1, notes="per-tensor")
def lower_dequantize(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_types(graph, op, {("int8", "float32")})
    require_per_tensor(op, x)
    return KernelCall(
        op,
        "tinyc_dequantize_s8_f32",
        "quantize.h",
        "tinyc_dequantize_params",
        (("size", y.size), ("scale", x.scale), ("zero_point", x.zero_point)),
        (TensorArg(x.index), TensorArg(y.index)),
    )
