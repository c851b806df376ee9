"""QUANTIZE and DEQUANTIZE between float32, int8, uint8, int16 and int32, as TFLM's micro
kernels take them (quantize_common.cc, dequantize_common.cc; runtime/quantize.h).

QUANTIZE from float32 is AffineQuantize (round(x / scale) + zero point); between integer types
it is Requantize with QuantizeMultiplier(input_scale / output_scale), the ratio taken in double
from the two float32 scales, as PrepareQuantizeReference does. DEQUANTIZE is scale * (q - zp).
"""

from __future__ import annotations

from ..ir import INT_RANGES, Graph, Op
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, require_types

SUFFIX = {"float32": "f32", "int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32"}
QUANTIZE_PAIRS = {
    ("float32", "int8"), ("float32", "int16"),
    ("int8", "int8"), ("int8", "uint8"), ("int8", "int16"), ("int8", "int32"),
    ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
    ("uint8", "int8"),
    ("int32", "int8"), ("int32", "int16"),
}
DEQUANTIZE_INPUTS = ("int8", "int16", "uint8")


def _pairs_note(pairs) -> str:
    by_input: dict[str, list[str]] = {}
    for source, target in sorted(pairs):
        by_input.setdefault(source, []).append(target)
    return "; ".join(f"{source} → {', '.join(targets)}" for source, targets in by_input.items())


@register("QUANTIZE", inputs=1, types="float32, int8, uint8, int16, int32",
          notes=f"per-tensor; {_pairs_note(QUANTIZE_PAIRS)} (as TFLM); between integer types "
          "it requantizes with TFLM's multiplier")
def lower_quantize(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    source, target = require_types(graph, op, QUANTIZE_PAIRS)
    require_per_tensor(op, y)
    low, high = INT_RANGES[target]
    io = (TensorArg(x.index), TensorArg(y.index))
    if source == "float32":
        return KernelCall(
            op, f"tinyc_quantize_f32_{SUFFIX[target]}", "quantize.h", "tinyc_quantize_params",
            (("size", y.size), ("scale", y.scale), ("zero_point", y.zero_point),
             ("output_min", low), ("output_max", high)),
            io,
        )
    require_per_tensor(op, x)
    multiplier, shift = quantize_multiplier(x.scale / y.scale)
    return KernelCall(
        op, f"tinyc_requantize_{SUFFIX[source]}_{SUFFIX[target]}", "quantize.h",
        "tinyc_requantize_params",
        (("size", y.size), ("input_zero_point", x.zero_point),
         ("output_zero_point", y.zero_point), ("multiplier", multiplier), ("shift", shift),
         ("output_min", low), ("output_max", high)),
        io,
        overlaps=((x.index, 0),) if x.itemsize == y.itemsize else (),  # element by element
    )


@register("DEQUANTIZE", inputs=1, types="int8, uint8, int16 → float32", notes="per-tensor")
def lower_dequantize(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_types(graph, op, {(t, "float32") for t in DEQUANTIZE_INPUTS})
    require_per_tensor(op, x)
    return KernelCall(
        op, f"tinyc_dequantize_{SUFFIX[x.dtype]}_f32", "quantize.h", "tinyc_dequantize_params",
        (("size", y.size), ("scale", x.scale), ("zero_point", x.zero_point)),
        (TensorArg(x.index), TensorArg(y.index)),
    )
