"""MIRROR_PAD and REVERSE_V2, as TFLM's mirror_pad.cc and reverse.cc.

MIRROR_PAD: int8 and float32, rank 1 to 6, constant int32/int64 paddings, REFLECT or SYMMETRIC.
TFLM does not check the paddings and reads outside the input when a left padding exceeds what
the mode allows; tinyc takes what TensorFlow allows: 0 <= padding <= size - 1 (REFLECT) or size
(SYMMETRIC). The walk (runtime/mirror_pad.h) merges unpadded dimensions: the inner ones become
one contiguous block, the outer ones one loop.
REVERSE_V2: every type TFLM takes (int8, uint8, int16, int32, int64, float32, bool), rank up to
6, a constant int32 list of axes that, sorted, must be contiguous (TFLM rejects others). It is a
strided copy with negative strides (copy_nd.h).
Both copy values verbatim, whatever the quantization, as TFLM does.
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import Alias, KernelCall, TensorArg, register, unsupported
from .strided_copy import (
    INT32_MAX,
    const_ints,
    copy_step,
    normalize_axis,
    require_dtype,
    require_same_dtype,
    row_major_strides,
    width_suffix,
)

MIRROR_TYPES = ("int8", "float32")
REVERSE_TYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")
MAX_RANK = 6  # RuntimeShape::kMaxSmallSize (reverse.cc); the mirror-pad kernel's six levels
MODES = {0: ("REFLECT", 1), 1: ("SYMMETRIC", 0)}  # MirrorPadMode -> (name, TFLM's offset)


def mirror_levels(shape: tuple[int, ...], pads: list[tuple[int, int]]
                  ) -> tuple[list[tuple[int, int, int, int]], int]:
    """(input extent, left, right, input stride) per level, outermost first, and the block.

    Trailing unpadded dimensions become the block (elements moved as one); consecutive
    unpadded dimensions outside it merge into one level; extent-1 unpadded ones vanish.
    """
    block, last = 1, len(shape)
    while last and pads[last - 1] == (0, 0):
        last -= 1
        block *= shape[last]
    levels: list[list[int]] = []  # innermost first
    stride = block
    for axis in range(last - 1, -1, -1):
        n, (left, right) = shape[axis], pads[axis]
        if (left, right) == (0, 0) and levels and levels[-1][1:3] == [0, 0]:
            levels[-1][0] *= n  # merges with the unpadded level inside it
        elif not ((left, right) == (0, 0) and n == 1):
            levels.append([n, left, right, stride])
        stride *= n
    return [tuple(level) for level in reversed(levels)], block


@register("MIRROR_PAD", types="int8, float32", inputs=2,
          notes="REFLECT and SYMMETRIC; rank 1 to 6; constant int32/int64 paddings within "
                "what TensorFlow allows")
def lower_mirror_pad(graph: Graph, op: Op) -> KernelCall | Alias:
    x, paddings, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                      graph.tensor(op.outputs[0]))
    require_same_dtype(op, x, y)
    require_dtype(op, x, MIRROR_TYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(op, f"rank {rank} input (tinyc mirror-pads rank 1 to {MAX_RANK})")
    mode = op.options.get("mode", 0)
    if mode not in MODES:
        raise unsupported(op, f"mode={mode} is not REFLECT (0) or SYMMETRIC (1)")
    name, offset = MODES[mode]
    values = const_ints(op, paddings, "paddings", ("int32", "int64"))
    if tuple(paddings.shape) != (rank, 2):
        raise unsupported(op, f"paddings of shape {list(paddings.shape)} for a rank {rank} "
                              f"input (TFLM takes [{rank}, 2])")
    pads = [(values[2 * i], values[2 * i + 1]) for i in range(rank)]
    for axis, ((left, right), n) in enumerate(zip(pads, x.shape, strict=True)):
        if min(left, right) < 0 or max(left, right) > n - offset:
            raise unsupported(op, f"{name} paddings {[left, right]} on axis {axis} of size {n} "
                                  f"(each must be in [0, {n - offset}])")
    expected = tuple(n + a + b for n, (a, b) in zip(x.shape, pads, strict=True))
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not the padded {list(expected)}")
    levels, block = mirror_levels(x.shape, pads)
    if not levels:  # nothing padded: the output is the input
        return copy_step(graph, op, x, y, [(x.size, 1)])
    if len(levels) > MAX_RANK or max(x.size, y.size) > INT32_MAX:
        raise unsupported(op, f"the padding needs {len(levels)} levels (at most {MAX_RANK}) "
                              f"or the tensors are too large")
    levels = [(1, 0, 0, 0)] * (MAX_RANK - len(levels)) + levels
    params = tuple(
        (f"{field}{i}", level[k])
        for k, field in enumerate(("dim", "left", "right", "stride"))
        for i, level in enumerate(levels)
    ) + (("block", block), ("offset", offset))
    return KernelCall(
        op=op,
        function=f"tinyc_mirror_pad_{width_suffix(x)}",
        header="mirror_pad.h",
        params_type="tinyc_mirror_pad_params",
        params=params,
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


@register("REVERSE_V2", types="int8, uint8, int16, int32, int64, float32, bool", inputs=2,
          notes="rank 1 to 6; constant int32 axes (negative allowed) that are contiguous once "
                "sorted, as TFLM requires")
def lower_reverse_v2(graph: Graph, op: Op) -> KernelCall | Alias:
    x, axis_tensor, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                         graph.tensor(op.outputs[0]))
    require_same_dtype(op, x, y)
    require_dtype(op, x, REVERSE_TYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(op, f"rank {rank} input (TFLM reverses rank 1 to {MAX_RANK})")
    if tuple(y.shape) != tuple(x.shape):
        raise unsupported(op, f"output shape {list(y.shape)} differs from the input's "
                              f"{list(x.shape)}")
    raw = const_ints(op, axis_tensor, "the axes")
    if len(axis_tensor.shape) != 1 or not 1 <= len(raw) <= rank:
        raise unsupported(op, f"axes {raw}: TFLM takes a list of 1 to {rank} axes")
    axes = sorted(normalize_axis(op, a, rank) for a in raw)
    if axes != list(range(axes[0], axes[0] + len(axes))):
        raise unsupported(op, f"axes {raw} are not contiguous (TFLM rejects them)")
    strides = row_major_strides(x.shape)
    view, offset = [], 0
    for axis, (n, s) in enumerate(zip(x.shape, strides, strict=True)):
        if axis in axes:
            view.append((n, -s))
            offset += (n - 1) * s
        else:
            view.append((n, s))
    return copy_step(graph, op, x, y, view, offset)
