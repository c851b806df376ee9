"""PAD and PADV2 on int8 tensors with constant paddings, as TFLM's pad.cc / reference/pad.h.

PAD fills with the output zero point (real 0); PADV2 with its scalar constant_values input,
which TFLM requires to share the output's quantization. TFLM copies input bytes without
rescaling whatever the input and output quantization, and so does tinyc.
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import KernelCall, TensorArg, optional_input, register, require_per_tensor, unsupported

MAX_RANK = 5  # reference_ops::PadKernelMaxDimensionCount()


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
    if x.dtype != "int8" or y.dtype != "int8":
        raise unsupported(op, f"tensor types {x.dtype}/{y.dtype} are not supported (int8 only)")
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
    value = y.zero_point
    constant_index = optional_input(op, 2)
    if constant_index >= 0:
        constant = graph.tensor(constant_index)
        if constant.dtype != "int8" or constant.size != 1:
            raise unsupported(op, "constant_values must be an int8 scalar")
        if not constant.is_const:
            raise unsupported(op, "constant_values must be a constant")
        require_per_tensor(op, constant)
        if constant.scale != y.scale or constant.zero_point != y.zero_point:
            raise unsupported(
                op, "constant_values must have the output's quantization (TFLM requires it)"
            )
        value = int(constant.data.reshape(-1)[0])
    loops = pad_loops(x.shape, pairs)
    return KernelCall(
        op=op,
        function="tinyc_pad_s8",
        header="pad.h",
        params_type="tinyc_pad_s8_params",
        params=(
            tuple((f"dim{i}", e) for i, (e, _, _) in enumerate(loops))
            + tuple((f"left{i}", a) for i, (_, a, _) in enumerate(loops))
            + tuple((f"right{i}", b) for i, (_, _, b) in enumerate(loops))
            + (("pad_value", value),)
        ),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


NOTES = "constant non-negative paddings, rank <= 5; no rescaling (as TFLM)"


@register("PAD", types="int8", inputs=(2, 3), notes=NOTES + "; pads with the output zero point")
def lower_pad(graph: Graph, op: Op) -> KernelCall:
    return _lower_pad(graph, op)


@register("PADV2", types="int8", inputs=(2, 3),
          notes=NOTES + "; constant_values must be a constant scalar")
def lower_padv2(graph: Graph, op: Op) -> KernelCall:
    return _lower_pad(graph, op)
