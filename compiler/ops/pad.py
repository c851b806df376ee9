"""PAD and PADV2 with constant paddings, as TFLM's pad.cc / pad_common.cc / reference/pad.h.

Types are pad.cc's Eval switch: int8, int16, int32, float32 (input, output and constant_values
of one type). The pad value is what pad.cc reads:
  int8     the output zero point (real 0) for PAD; PADV2's constant_values, which TFLM requires
           to share the output's scale and zero point.
  int16    0 for PAD, whatever the output zero point (TFLM's int16 zero points are 0 in practice);
           PADV2's constant_values as stored, its quantization unchecked (as TFLM).
  int32,   0 (0.0) for PAD; PADV2's constant_values.
  float32
constant_values may be computed (TFLM reads it at Eval): the kernel reads the element it points
to. TFLM copies input values without rescaling whatever the input and output quantization, and
so does tinyc, with one kernel per element width (runtime/pad.h).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from . import (
    ArrayArg,
    ConstArray,
    KernelCall,
    TensorArg,
    optional_input,
    register,
    require_per_tensor,
    unsupported,
)

MAX_RANK = 5  # reference_ops::PadKernelMaxDimensionCount()
# type: (kernel suffix, C type, numpy type of the default pad value)
TYPES = {
    "int8": ("x8", "int8_t", np.int8),
    "int16": ("x16", "int16_t", np.int16),
    "int32": ("x32", "int32_t", np.int32),
    "float32": ("x32", "float", np.float32),
}


def pad_loops(
    shape: tuple[int, ...], paddings: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """(output extent, left, right) per dimension, merged and extended to MAX_RANK, outermost first.

    A dimension merges into the next inner one when that one has no padding: its extent and
    paddings are then counted in units of the inner dimension's elements.
    """
    dims = [
        (d + left + right, left, right) for d, (left, right) in zip(shape, paddings, strict=True)
    ]
    merged: list[tuple[int, int, int]] = []  # innermost first
    for extent, left, right in reversed(dims):
        if merged and merged[-1][1] == merged[-1][2] == 0:
            inner = merged.pop()[0]
            extent, left, right = extent * inner, left * inner, right * inner
        elif extent == 1 and left == right == 0:
            continue  # contributes nothing to the walk
        merged.append((extent, left, right))
    merged += [(1, 0, 0)] * (MAX_RANK - len(merged))
    return merged[::-1]


def _lower_pad(graph: Graph, op: Op) -> KernelCall:
    x, paddings, y = (
        graph.tensor(op.inputs[0]),
        graph.tensor(op.inputs[1]),
        graph.tensor(op.outputs[0]),
    )
    if x.dtype not in TYPES:
        raise unsupported(op, f"{x.label} has type {x.dtype} (TFLM pads "
                              f"{', '.join(TYPES)})")
    if y.dtype != x.dtype:
        raise unsupported(op, f"tensor types {x.dtype}/{y.dtype} differ (TFLM requires one type)")
    if x.dtype == "int8":
        require_per_tensor(op, y)
    if len(x.shape) > MAX_RANK:
        raise unsupported(op, f"rank {len(x.shape)} input (TFLM pads at most {MAX_RANK} dims)")
    if not paddings.is_const:
        raise unsupported(op, "paddings must be constant (TFLM requires it)")
    if paddings.dtype != "int32":
        raise unsupported(op, f"paddings of type {paddings.dtype} (TFLM reads int32)")
    if paddings.size != 2 * len(y.shape) or len(x.shape) != len(y.shape):
        raise unsupported(
            op, f"paddings shape {list(paddings.shape)} does not match rank {len(y.shape)}"
        )
    pairs = [(int(a), int(b)) for a, b in paddings.data.reshape(-1, 2)]
    if any(a < 0 or b < 0 for a, b in pairs):
        raise unsupported(op, f"negative paddings {pairs} are not supported")
    if tuple(d + a + b for d, (a, b) in zip(x.shape, pairs, strict=True)) != tuple(y.shape):
        raise unsupported(
            op, f"output shape {list(y.shape)} is not input {list(x.shape)} padded by {pairs}"
        )
    suffix, ctype, np_type = TYPES[x.dtype]
    arrays: tuple[ConstArray, ...] = ()
    constant_index = optional_input(op, 2)
    if constant_index >= 0:
        constant = graph.tensor(constant_index)
        if constant.dtype != x.dtype or constant.size != 1:
            raise unsupported(
                op, f"constant_values {constant.label} has type {constant.dtype} and "
                    f"{constant.size} element(s): TFLM requires one {x.dtype} value"
            )
        if x.dtype == "int8":
            require_per_tensor(op, constant)
            if constant.scale != y.scale or constant.zero_point != y.zero_point:
                raise unsupported(
                    op, "constant_values must have the output's quantization (TFLM requires it)"
                )
        value_arg: TensorArg | ArrayArg = TensorArg(constant.index)
    else:
        value = y.zero_point if x.dtype == "int8" else 0
        arrays = (ConstArray("pad_value", ctype, np.array([value], np_type)),)
        value_arg = ArrayArg("pad_value")
    loops = pad_loops(x.shape, pairs)
    return KernelCall(
        op=op,
        function=f"tinyc_pad_{suffix}",
        header="pad.h",
        params_type="tinyc_pad_params",
        params=(
            tuple((f"dim{i}", e) for i, (e, _, _) in enumerate(loops))
            + tuple((f"left{i}", a) for i, (_, a, _) in enumerate(loops))
            + tuple((f"right{i}", b) for i, (_, _, b) in enumerate(loops))
        ),
        args=(TensorArg(x.index), value_arg, TensorArg(y.index)),
        arrays=arrays,
    )


NOTES = "constant non-negative paddings, rank <= 5; no rescaling (as TFLM)"


@register("PAD", types="int8, int16, int32, float32", inputs=(2, 3),
          notes=NOTES + "; pads with the output zero point (int8) or 0 (other types, as TFLM)")
def lower_pad(graph: Graph, op: Op) -> KernelCall:
    return _lower_pad(graph, op)


@register("PADV2", types="int8, int16, int32, float32", inputs=(2, 3),
          notes=NOTES + "; constant_values one value of the input's type, constant or computed "
          "(int8: of the output's quantization, as TFLM requires)")
def lower_padv2(graph: Graph, op: Op) -> KernelCall:
    return _lower_pad(graph, op)
