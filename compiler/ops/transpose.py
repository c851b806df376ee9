"""TRANSPOSE, as TFLM's transpose.cc / reference/transpose.h: a strided copy (copy_nd.h).

TFLM takes int8, int16 and float32 tensors of rank 1 to 5 and a constant int32 permutation, and
copies values without looking at their quantization, so tinyc neither checks nor changes it.
Output dimension k walks input dimension perm[k]. When only unit dimensions move, the bytes stay
where they are and the output is an Alias of the input (no code), as for RESHAPE.
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import Alias, KernelCall, register, unsupported
from .strided_copy import (
    const_ints,
    copy_step,
    require_dtype,
    require_same_dtype,
    row_major_strides,
)

MAX_RANK = 5  # transpose_common.cc: "Transpose op only supports 1D-5D input arrays"
TYPES = ("int8", "int16", "float32")


@register("TRANSPOSE", types="int8, int16, float32", inputs=2,
          notes="rank 1 to 5; constant int32 permutation; no code when only unit dimensions "
                "move (the output aliases the input's bytes)")
def lower_transpose(graph: Graph, op: Op) -> KernelCall | Alias:
    x, perm_tensor, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                         graph.tensor(op.outputs[0]))
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(op, f"rank {rank} input (TFLM transposes rank 1 to {MAX_RANK})")
    perm = const_ints(op, perm_tensor, "the permutation")
    if len(perm_tensor.shape) != 1 or sorted(perm) != list(range(rank)):
        raise unsupported(op, f"permutation {perm} is not a permutation of the {rank} "
                              f"input dimensions")
    expected = tuple(x.shape[p] for p in perm)
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not input {list(x.shape)} "
                              f"permuted by {perm} ({list(expected)})")
    strides = row_major_strides(x.shape)
    return copy_step(graph, op, x, y, [(x.shape[p], strides[p]) for p in perm])
