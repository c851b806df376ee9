"""MEAN: int8, int16 and float32, over any constant set of axes of a tensor of rank <= 4, keep_dims
or not.

This is what the converter emits for GlobalAveragePooling2D (axes [1, 2] of NHWC) and for
tf.reduce_mean / keras mean. TFLM micro has one int8 path (reference_ops::QuantizedMeanOrSum):
PrepareMeanOrSumHelper quantizes input_scale / output_scale (in double), and at run time the
multiplier absorbs 1/count: shift = min(floor(log2(count)), 32, 31 + output_shift),
multiplier = (multiplier << shift) / count, output_shift -= shift. tinyc does that here, once.
int16 runs the same template on int16_t (reduce_common.cc EvalIntegerMean<int16_t>): the same
multiplier, the same int32 sum and double-rounding MultiplyByQuantizedMultiplier, clamped to
int16; any zero points. TFLM's MEAN takes no other type (int32 input fails at Eval).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, require_types, unsupported


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """TFLM's int8 MEAN requantization, 1/count included: (multiplier, shift)."""
    multiplier, shift = quantize_multiplier(input_scale / output_scale)
    extra = min(count.bit_length() - 1, 32, 31 + shift)  # 63 - CountLeadingZeros(uint64 count)
    return (multiplier << extra) // count, shift - extra


@register(
    "MEAN",
    inputs=2,
    types="int8, int16, float32",
    notes="constant axes (any set, negative allowed) of a tensor of rank ≤ 4; keep_dims "
    "true or false",
)
def lower_mean(graph: Graph, op: Op) -> KernelCall:
    x, axis, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    signature = require_types(
        graph,
        op,
        {("int8", "int32", "int8"), ("int16", "int32", "int16"), ("float32", "int32", "float32")},
    )
    if not axis.is_const:
        raise unsupported(op, "the axis input must be constant")
    rank = len(x.shape)
    if rank > 4:
        raise unsupported(op, f"input of rank {rank} is not supported (at most 4)")
    axes = []
    for a in np.asarray(axis.data).ravel().tolist():
        resolved = a + rank if a < 0 else a
        if not 0 <= resolved < rank:
            raise unsupported(op, f"axis {a} is out of range for an input of rank {rank}")
        if resolved not in axes:
            axes.append(resolved)
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    # keep_dims only changes how the output shape is written, not its elements or their order.
    if y.size != int(np.prod(kept, dtype=np.int64)):
        raise unsupported(
            op,
            f"output shape {list(y.shape)} does not match reducing "
            f"{list(x.shape)} over axes {axes}",
        )
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if count == 0 or x.size == 0:
        raise unsupported(op, "empty tensors are not supported")
    params = _loops(x.shape, axes) + (("count", count),)
    if signature[0] == "float32":
        suffix = "f32"
    else:
        suffix = "s8" if signature[0] == "int8" else "s16"
        require_per_tensor(op, x, y)
        multiplier, shift = mean_multiplier(x.scale, y.scale, count)
        params += (
            ("input_zero_point", x.zero_point),
            ("output_zero_point", y.zero_point),
            ("multiplier", multiplier),
            ("shift", shift),
        )
    return KernelCall(
        op=op,
        function=f"tinyc_mean_{suffix}",
        header="mean.h",
        params_type=f"tinyc_mean_{suffix}_params",
        params=params,
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


def _loops(shape: tuple[int, ...], axes: list[int]) -> tuple[tuple[str, int], ...]:
    """The kernel's outer/inner extents and strides, the shape padded to 4 dimensions in front."""
    pad = 4 - len(shape)
    dims = (1,) * pad + tuple(shape)
    reduced = [i - pad in axes if i >= pad else False for i in range(4)]
    strides = [int(np.prod(dims[i + 1 :], dtype=np.int64)) for i in range(4)]
    outer = [1 if reduced[i] else dims[i] for i in range(4)]
    inner = [dims[i] if reduced[i] else 1 for i in range(4)]
    return (
        tuple((f"outer{i}", outer[i]) for i in range(4))
        + tuple((f"inner{i}", inner[i]) for i in range(4))
        + tuple((f"stride{i}", strides[i]) for i in range(4))
    )
