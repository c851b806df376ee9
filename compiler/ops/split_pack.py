"""SPLIT, SPLIT_V, UNPACK and PACK, as TFLM's split.cc, split_v.cc, unpack.cc and pack.cc.

Each moves whole slices along one axis (runtime/split_pack.h): with `outer` the product of the
dimensions before the axis and `inner` the product of those after it, a split output is `outer`
contiguous runs of (its size along the axis) * inner elements, and a pack input is `outer` runs
of `inner` elements. TFLM copies values without reading their quantization, and so does tinyc.
TFLM's types: int8, int16, float32 and int32, plus int64 for PACK. The axis of SPLIT / SPLIT_V
must be a constant int32 scalar (TFLM requires a constant); SPLIT_V's size_splits operand is not
read, as in TFLM: the output shapes give the sizes. A call has at most TINYC_SPLIT_PACK_MAX
(64) outputs or inputs.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, Tensor
from . import Alias, ArrayArg, ConstArray, KernelCall, TensorArg, register, unsupported
from .strided_copy import (
    INT32_MAX,
    const_ints,
    normalize_axis,
    require_dtype,
    require_same_dtype,
    view_of,
    width_suffix,
)

MAX_TENSORS = 64  # runtime/split_pack.h TINYC_SPLIT_PACK_MAX
ANY = (1, 1 << 20)  # arity for validate.py; more than MAX_TENSORS is refused by the lowering
SPLIT_TYPES = ("int8", "int16", "float32", "int32")
PACK_TYPES = ("int8", "int16", "float32", "int32", "int64")


def _count(op: Op, count: int, what: str) -> None:
    if not 1 <= count <= MAX_TENSORS:
        raise unsupported(op, f"{count} {what} (tinyc's kernels take 1 to {MAX_TENSORS})")


def _split_call(op: Op, x: Tensor, outputs: list[Tensor], axis: int
                ) -> KernelCall | Alias | tuple[Alias, ...]:
    """Split x along `axis` into `outputs` (their sizes along the axis add up to x's); one
    output is the input's bytes (an Alias)."""
    _count(op, len(outputs), "outputs")
    require_same_dtype(op, x, *outputs)
    for y in outputs:
        if len(y.shape) != len(x.shape) or any(
                d != e for i, (d, e) in enumerate(zip(y.shape, x.shape, strict=True))
                if i != axis):
            raise unsupported(op, f"output shape {list(y.shape)} does not match input shape "
                                  f"{list(x.shape)} outside axis {axis}")
    if sum(y.shape[axis] for y in outputs) != x.shape[axis]:
        raise unsupported(op, f"output sizes {[y.shape[axis] for y in outputs]} along axis "
                              f"{axis} do not add up to the input's {x.shape[axis]}")
    if len(outputs) == 1 and not x.is_const:
        return Alias(op, x.index, outputs[0].index)
    outer = math.prod(x.shape[:axis])
    inner = math.prod(x.shape[axis + 1:])
    views = _contiguous_parts(x, outputs, axis, inner) if outer == 1 else None
    if views is not None:  # each part is one run of the input: seen in place, no copy
        return tuple(Alias(op, x.index, y.index, offset) for y, offset in zip(outputs, views))
    parts, first = [], 0
    for y in outputs:
        parts += [first * inner, y.shape[axis] * inner]
        first += y.shape[axis]
    if x.size > INT32_MAX:
        raise unsupported(op, "the input has too many elements for int32 offsets")
    suffix = width_suffix(x)
    return KernelCall(
        op=op,
        function=f"tinyc_split{len(outputs)}_{suffix}",
        header="split_pack.h",
        params_type="tinyc_split_params",
        params=(("outer", outer), ("input_stride", x.shape[axis] * inner)),
        args=(ArrayArg("parts"), TensorArg(x.index), *(TensorArg(y.index) for y in outputs)),
        arrays=(ConstArray("parts", "int32_t", np.array(parts, np.int32)),),
    )


def _axis_operand(graph: Graph, op: Op, position: int, rank: int) -> int:
    values = const_ints(op, graph.tensor(op.inputs[position]), "the axis")
    if len(values) != 1:
        raise unsupported(op, f"the axis operand holds {len(values)} values (one expected)")
    return normalize_axis(op, values[0], rank)


@register("SPLIT", types="int8, int16, float32, int32", inputs=2, outputs=ANY,
          notes="constant axis (negative allowed); equal parts; up to 64 outputs")
def lower_split(graph: Graph, op: Op) -> KernelCall | Alias:
    x = graph.tensor(op.inputs[1])
    outputs = [graph.tensor(t) for t in op.outputs]
    require_dtype(op, x, SPLIT_TYPES)
    if not x.shape:
        raise unsupported(op, "a scalar input cannot be split")
    axis = _axis_operand(graph, op, 0, len(x.shape))
    if len({y.shape for y in outputs}) != 1:
        raise unsupported(op, f"outputs of shapes {[list(y.shape) for y in outputs]}: SPLIT "
                              f"makes equal parts (TFLM copies output 0's shape)")
    num = op.options.get("num_splits", len(outputs))
    if num != len(outputs):
        raise unsupported(op, f"num_splits={num} but the op has {len(outputs)} outputs")
    return _split_call(op, x, outputs, axis)


@register("SPLIT_V", types="int8, int16, float32, int32", inputs=3, outputs=ANY,
          notes="constant axis (negative allowed); part sizes from the output shapes (as TFLM); "
                "up to 64 outputs")
def lower_split_v(graph: Graph, op: Op) -> KernelCall | Alias:
    x = graph.tensor(op.inputs[0])
    require_dtype(op, x, SPLIT_TYPES)
    if not x.shape:
        raise unsupported(op, "a scalar input cannot be split")
    axis = _axis_operand(graph, op, 2, len(x.shape))
    return _split_call(op, x, [graph.tensor(t) for t in op.outputs], axis)


def _contiguous_parts(x: Tensor, outputs: list[Tensor], axis: int, inner: int) -> list[int] | None:
    """Byte offsets of the parts of a split along the outermost non-unit axis, if every part
    can be an in-place view of the input (see strided_copy.view_of)."""
    offsets, first = [], 0
    for y in outputs:
        offset = view_of(x, first * inner)
        if offset is None:
            return None
        offsets.append(offset)
        first += y.shape[axis]
    return offsets


@register("UNPACK", types="int8, int16, float32, int32", inputs=1, outputs=ANY,
          notes="any axis (negative allowed); num must equal the axis size; up to 64 outputs")
def lower_unpack(graph: Graph, op: Op) -> KernelCall | Alias | tuple[Alias, ...]:
    x = graph.tensor(op.inputs[0])
    outputs = [graph.tensor(t) for t in op.outputs]
    require_dtype(op, x, SPLIT_TYPES)
    rank = len(x.shape)
    if not rank:
        raise unsupported(op, "a scalar input cannot be unpacked")
    axis = normalize_axis(op, int(op.options.get("axis", 0)), rank)
    num = int(op.options.get("num", 0))
    if not num == len(outputs) == x.shape[axis]:
        raise unsupported(op, f"num={num}, {len(outputs)} outputs and axis size "
                              f"{x.shape[axis]} must be equal")
    expected = x.shape[:axis] + x.shape[axis + 1:]
    for y in outputs:
        if tuple(y.shape) != expected:
            raise unsupported(op, f"output shape {list(y.shape)} is not the input's "
                                  f"{list(x.shape)} without axis {axis}")
    # Each output is the input's slice i along the axis, seen without that unit dimension.
    views = [y.replace(shape=x.shape[:axis] + (1,) + x.shape[axis + 1:]) for y in outputs]
    return _split_call(op, x, views, axis)


@register("PACK", types="int8, int16, float32, int32, int64", inputs=ANY,
          notes="any axis (negative allowed); values_count must equal the input count; "
                "up to 64 inputs")
def lower_pack(graph: Graph, op: Op) -> KernelCall | Alias:
    inputs = [graph.tensor(t) for t in op.inputs]
    y = graph.tensor(op.outputs[0])
    _count(op, len(inputs), "inputs")
    require_same_dtype(op, *inputs, y)
    require_dtype(op, y, PACK_TYPES)
    rank = len(y.shape)
    axis = normalize_axis(op, int(op.options.get("axis", 0)), rank)
    count = int(op.options.get("values_count", 0))
    if not count == len(inputs) == y.shape[axis]:
        raise unsupported(op, f"values_count={count}, {len(inputs)} inputs and output axis size "
                              f"{y.shape[axis]} must be equal")
    expected = y.shape[:axis] + y.shape[axis + 1:]
    for x in inputs:
        if tuple(x.shape) != expected:
            raise unsupported(op, f"input shape {list(x.shape)} is not the output's "
                                  f"{list(y.shape)} without axis {axis}")
    if y.size > INT32_MAX:
        raise unsupported(op, "the output has too many elements for int32 offsets")
    if len(inputs) == 1 and not inputs[0].is_const:
        return Alias(op, inputs[0].index, y.index)
    suffix = width_suffix(y)
    return KernelCall(
        op=op,
        function=f"tinyc_pack{len(inputs)}_{suffix}",
        header="split_pack.h",
        params_type="tinyc_pack_params",
        params=(("outer", math.prod(y.shape[:axis])), ("inner", math.prod(y.shape[axis + 1:])),
                ("count", len(inputs))),
        args=(*(TensorArg(x.index) for x in inputs), TensorArg(y.index)),
    )
