"""CAST: every pair of int8, int16, int32, float32 and bool that TFLM's cast.cc converts.

cast.cc reads int8, int16, int32, uint32, float32 and bool inputs and, in the tflite-micro
interpreter tinyc is tested against, writes int8, int16, int32, uint32, float32 and bool outputs
(uint32 is not a tinyc type). Quantization is ignored: CAST converts the stored values. How each
pair converts (wrap, truncation with saturation, != 0) is in runtime/cast.h. CAST of a constant is
folded at compile time (fold_ops.py) and never reaches this lowering.
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import KernelCall, TensorArg, register, unsupported

CAST_TYPES = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32", "bool": "b"}


@register("CAST", types="int8, int16, int32, float32, bool", inputs=1,
          notes="any pair of these types; float32 to integer truncates and saturates (NaN to 0), "
                "integer narrowing wraps, to bool is != 0, as TFLM")
def lower_cast(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    for t, role in ((x, "input"), (y, "output")):
        if t.dtype not in CAST_TYPES:
            raise unsupported(op, f"{role} {t.label} has type {t.dtype} (supported: "
                                  f"{', '.join(CAST_TYPES)})")
    if x.size != y.size:
        raise unsupported(op, f"input shape {list(x.shape)} and output shape {list(y.shape)} "
                              "differ in size")
    return KernelCall(
        op=op,
        function=f"tinyc_cast_{CAST_TYPES[x.dtype]}_{CAST_TYPES[y.dtype]}",
        header="cast.h",
        params_type="tinyc_cast_params",
        params=(("size", y.size),),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )
