"""L2_NORMALIZATION over the last dimension, int8 and float32, as TFLM's micro/kernels/l2norm.cc.

L2NormPrepare takes input and output of one type, float32 or int8, rank at most 4 and no fused
activation. For int8 only the input zero point enters the arithmetic: TFLM writes the output as if
its scale were 1/128 and its zero point 0 and reads neither (the converter gives it exactly that),
so tinyc takes any output quantization too, as TFLM does. The int32 sum of squared differences
overflows in TFLM beyond (2^31 - 1) / max|q - zero_point|^2 elements per row; tinyc refuses such
rows (32768 or more elements for a zero point near 0).
"""

from __future__ import annotations

import math

from ..ir import Graph, Op
from . import KernelCall, TensorArg, register, require_per_tensor, unsupported

MAX_RANK = 4  # L2NormPrepare: NumDimensions(input) <= 4


@register(
    "L2_NORMALIZATION",
    inputs=1,
    types="int8, float32",
    notes="over the last dimension, rank 1 to 4, no fused activation (as TFLM); int8 output "
    "taken as scale 1/128, zero point 0, as TFLM does",
)
def lower_l2_norm(graph: Graph, op: Op) -> KernelCall:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype not in ("int8", "float32"):
        raise unsupported(op, f"{x.label} has type {x.dtype} (TFLM's L2_NORMALIZATION takes "
                              f"int8 and float32)")
    if y.dtype != x.dtype or y.shape != x.shape:
        raise unsupported(op, f"output {y.label} ({y.dtype} {list(y.shape)}) differs from the "
                              f"input ({x.dtype} {list(x.shape)}) in type or shape")
    if not 1 <= len(x.shape) <= MAX_RANK:
        raise unsupported(op, f"input of rank {len(x.shape)} is not supported (TFLM takes 1 to "
                              f"{MAX_RANK})")
    activation = op.options.get("fused_activation_function", "NONE")
    if activation != "NONE":
        raise unsupported(op, f"fused_activation_function={activation} is not supported (TFLM "
                              f"requires NONE)")
    if x.size == 0:
        raise unsupported(op, "empty tensors are not supported")
    depth = x.shape[-1]
    params: tuple[tuple[str, int], ...] = (("outer_size", math.prod(x.shape[:-1])),
                                           ("depth", depth))
    if x.dtype == "float32":
        suffix = "f32"
    else:
        suffix = "s8"
        require_per_tensor(op, x)
        largest = max(127 - x.zero_point, x.zero_point + 128)
        if depth * largest * largest > (1 << 31) - 1:
            raise unsupported(
                op,
                f"a last dimension of {depth} with input zero point {x.zero_point} is not "
                f"supported (TFLM's int32 sum of squares could overflow)",
            )
        params += (("input_zero_point", x.zero_point),)
    return KernelCall(
        op=op,
        function=f"tinyc_l2_norm_{suffix}",
        header="l2_norm.h",
        params_type=f"tinyc_l2_norm_{suffix}_params",
        params=params,
        args=(TensorArg(x.index), TensorArg(y.index)),
    )
