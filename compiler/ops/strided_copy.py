"""The strided copy the data-movement ops lower to (runtime/copy_nd.h), computed offline.

An op whose output is a rearrangement of one input (TRANSPOSE, SLICE, STRIDED_SLICE, REVERSE_V2,
BROADCAST_TO, DEPTH_TO_SPACE, SPACE_TO_DEPTH) describes its output as a *view* of the input: per
output dimension, outermost first, its extent and the input stride (in elements) of one step
along it, plus the input element that output element 0 reads. `copy_nest` turns that view into
the six loops tinyc_copy_nd runs: it drops extent-1 dimensions, merges a dimension into the next
inner one when the two step as one (outer stride == inner stride * inner extent), checks that
every element the walk reads lies inside the input, and pads the walk with unit loops on the
outside. `copy_step` makes the KernelCall, or an Alias when the walk is the identity (the bytes
do not move: a TRANSPOSE of unit dimensions, a SLICE of everything).

The element width picks the kernel (`_x8` ... `_x64`): TFLM copies these values verbatim.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..ir import Graph, Op, Tensor
from . import Alias, KernelCall, TensorArg, unsupported

LOOPS = 6  # loops in tinyc_copy_nd
INT32_MAX = (1 << 31) - 1
WIDTHS = {1: "x8", 2: "x16", 4: "x32", 8: "x64"}


def width_suffix(tensor: Tensor) -> str:
    """Kernel suffix for the tensor's element width: int8 -> "x8", float32 -> "x32", ..."""
    return WIDTHS[tensor.itemsize]


def row_major_strides(shape: Sequence[int]) -> list[int]:
    """Element strides of a contiguous tensor of `shape`, outermost first."""
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    return strides


@dataclass(frozen=True)
class CopyNest:
    """LOOPS loops (extent, input stride), outermost first, and the input element of output 0."""

    loops: tuple[tuple[int, int], ...]
    offset: int

    @property
    def elements(self) -> int:
        return math.prod(extent for extent, _ in self.loops)

    def is_identity(self) -> bool:
        """The walk reads input elements 0, 1, 2, ... in order: the output is the input's bytes."""
        return self.offset == 0 and self.is_contiguous()

    def is_contiguous(self) -> bool:
        """The walk reads one run of consecutive input elements, from `offset` on."""
        return self.loops[-1][1] == 1 and all(extent == 1 for extent, _ in self.loops[:-1])

    def params(self) -> tuple[tuple[str, int], ...]:
        return (
            tuple((f"dim{i}", extent) for i, (extent, _) in enumerate(self.loops))
            + tuple((f"stride{i}", stride) for i, (_, stride) in enumerate(self.loops))
            + (("offset", self.offset),)
        )


def merge_view(view: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The view's dimensions with extent-1 ones dropped and adjacent ones merged, outermost
    first (may be longer than LOOPS: the caller decides)."""
    merged: list[list[int]] = []  # innermost first
    for extent, stride in reversed(list(view)):
        if extent == 1:
            continue
        if merged and stride == merged[-1][1] * merged[-1][0]:
            merged[-1][0] *= extent
        else:
            merged.append([extent, stride])
    return [(e, s) for e, s in reversed(merged)]


def copy_nest(op: Op, view: Sequence[tuple[int, int]], offset: int, input_size: int) -> CopyNest:
    """The loops for a view of an input of `input_size` elements (see the module docstring)."""
    loops = merge_view(view)
    if len(loops) > LOOPS:
        raise unsupported(op, f"the copy needs {len(loops)} nested loops after merging "
                              f"dimensions (the kernel has {LOOPS})")
    low = offset + sum(min(0, (e - 1) * s) for e, s in loops)
    high = offset + sum(max(0, (e - 1) * s) for e, s in loops)
    if low < 0 or high >= input_size:
        # Every lowering computes views inside its input; this guards the generated code.
        raise unsupported(op, f"the copy would read input elements {low}..{high} of an input "
                              f"of {input_size}")
    values = [offset] + [v for loop in loops for v in loop]
    if any(abs(v) > INT32_MAX for v in values) or input_size > INT32_MAX:
        raise unsupported(op, "a copy extent or stride does not fit int32")
    loops = loops or [(1, 1)]  # a single element
    return CopyNest(tuple([(1, 0)] * (LOOPS - len(loops)) + loops), offset)


def copy_step(graph: Graph, op: Op, x: Tensor, y: Tensor,
              view: Sequence[tuple[int, int]], offset: int = 0) -> KernelCall | Alias:
    """tinyc_copy_nd from `x` into `y` along `view`; an Alias when no byte moves."""
    nest = copy_nest(op, view, offset, x.size)
    if nest.elements != y.size:
        raise unsupported(op, f"the copy writes {nest.elements} elements, the output "
                              f"{list(y.shape)} holds {y.size}")
    if nest.is_identity() and x.size == y.size and not x.is_const:
        return Alias(op, x.index, y.index)
    view = view_of(x, nest.offset) if nest.is_contiguous() else None
    return view and Alias(op, x.index, y.index, view) or copy_call(op, x, y, nest)


def view_of(x: Tensor, element_offset: int) -> int | None:
    """The byte offset at which a contiguous run of `x` from `element_offset` can be seen in
    place (an Alias), or None: constants live in flash, state apart, and a view must start
    on the arena's alignment so that every kernel can read it."""
    from ..plan_memory import ALIGNMENT

    offset = element_offset * x.itemsize
    if x.is_const or x.is_variable or offset % ALIGNMENT:
        return None
    return offset


def copy_call(op: Op, x: Tensor, y: Tensor, nest: CopyNest) -> KernelCall:
    suffix = width_suffix(y)
    return KernelCall(
        op=op,
        function=f"tinyc_copy_nd_{suffix}",
        header="copy_nd.h",
        params_type="tinyc_copy_nd_params",
        params=nest.params(),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


def require_same_dtype(op: Op, *tensors: Tensor) -> None:
    """TFLM's byte-copying kernels take one type for all their data tensors."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise unsupported(op, "tensor types " + "/".join(t.dtype for t in tensors)
                          + " differ (the op copies values of one type)")


def require_dtype(op: Op, tensor: Tensor, allowed: Sequence[str]) -> None:
    if tensor.dtype not in allowed:
        raise unsupported(op, f"type {tensor.dtype} is not supported (TFLM's kernel takes "
                              f"{', '.join(allowed)})")


def const_ints(op: Op, tensor: Tensor, what: str, dtypes: Sequence[str] = ("int32",)
               ) -> list[int]:
    """The values of a constant integer operand (begin, perm, axis, ...), flattened."""
    if not tensor.is_const:
        raise unsupported(op, f"{what} must be a constant tensor ({tensor.label} is computed "
                              f"at run time)")
    if tensor.dtype not in dtypes:
        raise unsupported(op, f"{what} of type {tensor.dtype} is not supported "
                              f"(TFLM reads {' or '.join(dtypes)})")
    return [int(v) for v in tensor.data.reshape(-1)]


def normalize_axis(op: Op, axis: int, rank: int, what: str = "axis") -> int:
    """A possibly negative axis in [-rank, rank) as a non-negative one."""
    if not -rank <= axis < rank:
        raise unsupported(op, f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis
