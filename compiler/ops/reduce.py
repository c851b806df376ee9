"""REDUCE_MAX, REDUCE_MIN, SUM and REDUCE_ALL over a constant set of axes, keep_dims or not.

The types are those of TFLM's reduce_common.cc Eval switches:
  REDUCE_MAX, REDUCE_MIN  int8, float32 (EvalMinMaxHelper); int8 requires the output's scale and
                          zero point to equal the input's (TF_LITE_ENSURE_EQ there): no rescaling.
  SUM                     int8, int16, float32 (EvalSumHelper). The integer types use
                          QuantizedMeanOrSum with compute_sum: PrepareMeanOrSumHelper's
                          QuantizeMultiplier(input_scale / output_scale) in double, no 1/count.
  REDUCE_ALL              bool (EvalAllHelper).
TFLM has no REDUCE_PROD and no REDUCE_ANY kernel (a REDUCE_PROD of constants is folded by
fold_ops.py). The axis tensor is int32 (PrepareSimple checks it); TFLM reads it at Eval, tinyc
needs it constant. Negative and repeated axes resolve as ResolveAxis does; a scalar input reduces
to itself whatever the axes (ResolveAxis ignores them for rank 0). keep_dims only changes how the
output shape is written, not its elements, so the output need only have the right element count
(TFLM writes it by offsets computed from the input's shape).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import quantize_multiplier
from . import KernelCall, TensorArg, register, require_per_tensor, unsupported

MAX_RUNS = 3  # runs of kept and of reduced dimensions the kernel's loops take (each)


def resolve_axes(op: Op, axis: Tensor, rank: int) -> list[int]:
    """TFLM ResolveAxis: negative axes counted from the end, duplicates dropped, in order."""
    if not axis.is_const:
        raise unsupported(op, f"the axis input {axis.label} must be constant")
    if axis.dtype != "int32":
        raise unsupported(op, f"the axis input {axis.label} has type {axis.dtype} (TFLM "
                              f"requires int32)")
    if rank == 0:
        return []
    axes: list[int] = []
    for a in np.asarray(axis.data).reshape(-1).tolist():
        resolved = a + rank if a < 0 else a
        if not 0 <= resolved < rank:
            raise unsupported(op, f"axis {a} is out of range for an input of rank {rank}")
        if resolved not in axes:
            axes.append(resolved)
    return axes


def reduce_runs(shape: tuple[int, ...], axes: list[int]
                ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(kept runs, reduced runs): (extent, stride in elements) of each run of neighbouring
    dimensions of one kind, outermost first, with size-1 dimensions left out."""
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    runs: list[tuple[bool, int, int]] = []  # (reduced, extent, stride)
    for i, extent in enumerate(shape):
        if extent == 1:
            continue
        reduced = i in axes
        if runs and runs[-1][0] == reduced:
            # The previous run's stride is this dimension's extent times its stride: merge.
            runs[-1] = (reduced, runs[-1][1] * extent, strides[i])
        else:
            runs.append((reduced, extent, strides[i]))
    kept = [(e, s) for r, e, s in runs if not r]
    reduced_runs = [(e, s) for r, e, s in runs if r]
    return kept, reduced_runs


def loop_params(op: Op, shape: tuple[int, ...], axes: list[int]) -> tuple[tuple[str, int], ...]:
    kept, reduced = reduce_runs(shape, axes)
    if len(kept) > MAX_RUNS or len(reduced) > MAX_RUNS:
        raise unsupported(
            op,
            f"reducing {list(shape)} over axes {axes} alternates kept and reduced dimensions "
            f"too often (at most {MAX_RUNS} runs of each)",
        )
    kept = [(1, 0)] * (MAX_RUNS - len(kept)) + kept
    reduced = [(1, 0)] * (MAX_RUNS - len(reduced)) + reduced
    return (
        tuple((f"kept_extent{i}", e) for i, (e, _) in enumerate(kept))
        + tuple((f"kept_stride{i}", s) for i, (_, s) in enumerate(kept))
        + tuple((f"reduced_extent{i}", e) for i, (e, _) in enumerate(reduced))
        + tuple((f"reduced_stride{i}", s) for i, (_, s) in enumerate(reduced))
    )


def _operands(graph: Graph, op: Op, types: dict[str, str]) -> tuple[Tensor, list[int], Tensor]:
    """Input, resolved axes, output; refuses types not in `types` (dtype -> kernel suffix)."""
    x, axis, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if x.dtype not in types:
        raise unsupported(op, f"{x.label} has type {x.dtype} (TFLM's {op.kind} takes "
                              f"{', '.join(types)})")
    if y.dtype != x.dtype:
        raise unsupported(op, f"tensor types {x.dtype}/{y.dtype} differ (TFLM requires one type)")
    axes = resolve_axes(op, axis, len(x.shape))
    if x.size == 0:
        raise unsupported(op, "empty tensors are not supported")
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    if y.size != math.prod(kept):
        raise unsupported(
            op,
            f"output shape {list(y.shape)} does not match reducing {list(x.shape)} over axes "
            f"{axes}",
        )
    return x, axes, y


def _call(op: Op, function: str, params_type: str, params, x: Tensor, y: Tensor) -> KernelCall:
    return KernelCall(
        op=op,
        function=function,
        header="reduce.h",
        params_type=params_type,
        params=params,
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


NOTES = ("constant int32 axes (any set, negative or repeated), any rank with at most 3 runs "
         "each of kept and of reduced dimensions; keep_dims true or false")
MINMAX_TYPES = {"int8": "s8", "float32": "f32"}


def _lower_minmax(graph: Graph, op: Op, name: str) -> KernelCall:
    x, axes, y = _operands(graph, op, MINMAX_TYPES)
    suffix = MINMAX_TYPES[x.dtype]
    if x.dtype == "int8":
        require_per_tensor(op, x, y)
        if x.scale != y.scale or x.zero_point != y.zero_point:
            raise unsupported(
                op,
                f"output scale {y.scale:g} and zero point {y.zero_point} differ from the "
                f"input's {x.scale:g} and {x.zero_point} (TFLM requires them equal)",
            )
    return _call(op, f"tinyc_reduce_{name}_{suffix}", "tinyc_reduce_params",
                 loop_params(op, x.shape, axes), x, y)


@register("REDUCE_MAX", inputs=2, types="int8, float32",
          notes=NOTES + "; int8 output of the input's scale and zero point (as TFLM requires)")
def lower_reduce_max(graph: Graph, op: Op) -> KernelCall:
    return _lower_minmax(graph, op, "max")


@register("REDUCE_MIN", inputs=2, types="int8, float32",
          notes=NOTES + "; int8 output of the input's scale and zero point (as TFLM requires)")
def lower_reduce_min(graph: Graph, op: Op) -> KernelCall:
    return _lower_minmax(graph, op, "min")


SUM_TYPES = {"int8": "s8", "int16": "s16", "float32": "f32"}


@register("SUM", inputs=2, types="int8, int16, float32",
          notes=NOTES + "; int8 and int16 rescaled to the output's quantization as TFLM does "
          "(any zero points)")
def lower_sum(graph: Graph, op: Op) -> KernelCall:
    x, axes, y = _operands(graph, op, SUM_TYPES)
    suffix = SUM_TYPES[x.dtype]
    loops = loop_params(op, x.shape, axes)
    if x.dtype == "float32":
        return _call(op, "tinyc_reduce_sum_f32", "tinyc_reduce_params", loops, x, y)
    require_per_tensor(op, x, y)
    multiplier, shift = quantize_multiplier(x.scale / y.scale)
    count = math.prod(x.shape[a] for a in axes)
    return _call(
        op,
        f"tinyc_reduce_sum_{suffix}",
        "tinyc_reduce_sum_params",
        loops
        + (
            ("count", count),
            ("input_zero_point", x.zero_point),
            ("output_zero_point", y.zero_point),
            ("multiplier", multiplier),
            ("shift", shift),
        ),
        x,
        y,
    )


@register("REDUCE_ALL", inputs=2, types="bool", notes=NOTES)
def lower_reduce_all(graph: Graph, op: Op) -> KernelCall:
    x, axes, y = _operands(graph, op, {"bool": "b"})
    return _call(op, "tinyc_reduce_all_b", "tinyc_reduce_params", loop_params(op, x.shape, axes),
                 x, y)
