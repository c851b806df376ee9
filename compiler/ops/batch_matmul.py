"""BATCH_MATMUL: int8, int16 and float32, as TFLM's micro/kernels/batch_matmul.cc.

BatchMatMulPrepare takes LHS, RHS and output of one type (float32, int8 or int16: no hybrid, no
int32 output), ranks 2 to 5, batch dimensions that broadcast (equal, or one of them 1), and equal
accumulation depths; the output's shape is the broadcast batch shape and rows x columns (tinyc
requires the model's output shape to be exactly that). int16 needs zero points 0 on all three
tensors. The requantization is GetQuantizedConvolutionMultipler (lhs_scale * rhs_scale /
output_scale) and QuantizeMultiplier; no fused activation (the output is clamped to its type).
Either operand may be constant or computed, with adj_x / adj_y in any combination; a constant RHS
is stored transposed (its depth contiguous, as TFLM transposes it once) and computed operands are
read in place through strides (runtime/batch_matmul.h).

tinyc refuses what would overflow TFLM's accumulators (an int32 sum for int8, the int64
MultiplyByQuantizedMultiplier's 2^47 bound for int16), and int16 factors of 128 or more (that
function's shift must stay below 8).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import quantize_multiplier
from . import ArrayArg, ConstArray, KernelCall, TensorArg, register, require_per_tensor, unsupported

TYPES = {"int8": ("s8", "int8_t"), "int16": ("s16", "int16_t"), "float32": ("f32", "float")}
MIN_RANK, MAX_RANK = 2, 5
BATCH_DIMS = MAX_RANK - 2
INT16_MAX_DEPTH = (1 << 17) - 1  # depth * 2^30 < 2^47


def _batch_strides(shape: tuple[int, ...], rank: int) -> list[int]:
    """The operand's stride along each of the `rank - 2` output batch dimensions, 0 where it
    broadcasts (TFLM's batch_matmul::extent)."""
    matrix = shape[-1] * shape[-2]
    batch = (1,) * (rank - len(shape)) + tuple(shape[:-2])
    return [0 if d == 1 else math.prod(batch[i + 1:]) * matrix for i, d in enumerate(batch)]


def _requantization(op: Op, lhs: Tensor, rhs: Tensor, out: Tensor, depth: int
                    ) -> tuple[tuple[str, int], ...]:
    require_per_tensor(op, lhs, rhs, out)
    if lhs.dtype == "int16":
        for t in (lhs, rhs, out):
            if t.zero_point != 0:
                raise unsupported(op, f"{t.label} has zero point {t.zero_point} (TFLM requires 0 "
                                      f"for int16)")
        if depth > INT16_MAX_DEPTH:
            raise unsupported(op, f"an accumulation depth of {depth} is not supported (at most "
                                  f"{INT16_MAX_DEPTH} for int16: TFLM's int64 rescaling takes "
                                  f"sums below 2^47)")
    else:
        largest = (max(127 - lhs.zero_point, lhs.zero_point + 128)
                   * max(127 - rhs.zero_point, rhs.zero_point + 128))
        if depth * largest > (1 << 31) - 1:
            raise unsupported(op, f"an accumulation depth of {depth} with zero points "
                                  f"{lhs.zero_point} and {rhs.zero_point} is not supported "
                                  f"(TFLM's int32 sum could overflow)")
    # GetQuantizedConvolutionMultipler: the product of the scales, then the quotient, in double.
    multiplier, shift = quantize_multiplier(lhs.scale * rhs.scale / out.scale)
    if lhs.dtype == "int16" and shift >= 8:
        raise unsupported(op, f"the rescale factor {lhs.scale * rhs.scale / out.scale:g} is not "
                              f"supported for int16 (TFLM's int64 rescaling takes less than 128)")
    return (
        ("lhs_offset", -lhs.zero_point),
        ("rhs_offset", -rhs.zero_point),
        ("output_offset", out.zero_point),
        ("output_multiplier", multiplier),
        ("output_shift", shift),
    )


@register(
    "BATCH_MATMUL",
    inputs=2,
    types="int8, int16, float32",
    notes="ranks 2 to 5, broadcasting batch dimensions; adj_x, adj_y; constant or computed "
    "operands; int16 zero points 0 (as TFLM requires)",
)
def lower_batch_matmul(graph: Graph, op: Op) -> KernelCall:
    lhs, rhs, out = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                     graph.tensor(op.outputs[0]))
    if lhs.dtype not in TYPES:
        raise unsupported(op, f"{lhs.label} has type {lhs.dtype} (TFLM's BATCH_MATMUL takes "
                              f"int8, int16 and float32)")
    if rhs.dtype != lhs.dtype or out.dtype != lhs.dtype:
        raise unsupported(op, f"tensor types {lhs.dtype}/{rhs.dtype}/{out.dtype} differ (TFLM "
                              f"requires one type: no hybrid, no int32 output)")
    for t in (lhs, rhs):
        if not MIN_RANK <= len(t.shape) <= MAX_RANK:
            raise unsupported(op, f"{t.label} has rank {len(t.shape)} (TFLM takes {MIN_RANK} to "
                                  f"{MAX_RANK})")
    adj_x = bool(op.options.get("adj_x", False))
    adj_y = bool(op.options.get("adj_y", False))
    rank = max(len(lhs.shape), len(rhs.shape))
    lhs_batch = (1,) * (rank - len(lhs.shape)) + lhs.shape[:-2]
    rhs_batch = (1,) * (rank - len(rhs.shape)) + rhs.shape[:-2]
    batch = []
    for a, b in zip(lhs_batch, rhs_batch, strict=True):
        if a != b and a != 1 and b != 1:
            raise unsupported(op, f"batch dimensions of {list(lhs.shape)} and {list(rhs.shape)} "
                                  f"do not broadcast")
        batch.append(b if a == 1 else a)
    rows, lhs_depth = (lhs.shape[-1], lhs.shape[-2]) if adj_x else lhs.shape[-2:]
    rhs_depth, cols = (rhs.shape[-1], rhs.shape[-2]) if adj_y else rhs.shape[-2:]
    if lhs_depth != rhs_depth:
        raise unsupported(op, f"the accumulation depths {lhs_depth} (LHS {list(lhs.shape)}, "
                              f"adj_x={adj_x}) and {rhs_depth} (RHS {list(rhs.shape)}, "
                              f"adj_y={adj_y}) differ")
    depth = lhs_depth
    expected = (*batch, rows, cols)
    if out.shape != expected:
        raise unsupported(op, f"output shape {list(out.shape)} is not the product's "
                              f"{list(expected)}")
    if out.size == 0 or depth == 0:
        raise unsupported(op, "empty tensors are not supported")

    suffix, ctype = TYPES[lhs.dtype]
    pad = [0] * (BATCH_DIMS - len(batch))
    rhs_arg: TensorArg | ArrayArg = TensorArg(rhs.index)
    arrays: tuple[ConstArray, ...] = ()
    rhs_depth_stride, rhs_col_stride = (1, depth) if adj_y else (cols, 1)
    if rhs.is_const and not adj_y:
        # Stored as [..., C, K], as TFLM transposes a constant RHS once: depth contiguous.
        transposed = np.ascontiguousarray(np.swapaxes(rhs.data, -1, -2))
        arrays = (ConstArray("rhs_transposed", ctype, transposed),)
        rhs_arg = ArrayArg("rhs_transposed")
        rhs_depth_stride, rhs_col_stride = 1, depth
    params: tuple[tuple[str, int], ...] = (
        tuple((f"batch{i}", d) for i, d in enumerate([1] * len(pad) + batch))
        + tuple((f"lhs_batch_stride{i}", s)
                for i, s in enumerate(pad + _batch_strides(lhs.shape, rank)))
        + tuple((f"rhs_batch_stride{i}", s)
                for i, s in enumerate(pad + _batch_strides(rhs.shape, rank)))
        + (("rows", rows), ("cols", cols), ("depth", depth))
        + ((("lhs_row_stride", 1), ("lhs_depth_stride", rows)) if adj_x
           else (("lhs_row_stride", depth), ("lhs_depth_stride", 1)))
        + (("rhs_depth_stride", rhs_depth_stride), ("rhs_col_stride", rhs_col_stride))
    )
    if lhs.dtype != "float32":
        params += _requantization(op, lhs, rhs, out, depth)
    return KernelCall(
        op=op,
        function=f"tinyc_batch_matmul_{suffix}",
        header="batch_matmul.h",
        params_type=f"tinyc_batch_matmul_{suffix}_params",
        params=params,
        args=(TensorArg(lhs.index), rhs_arg, TensorArg(out.index)),
        arrays=arrays,
    )
