"""GATHER, GATHER_ND and EMBEDDING_LOOKUP, as TFLM's gather.cc, gather_nd.cc, embedding_lookup.cc.

TFLM gathers int8 and float32 tensors with int32 indices (GATHER: any axis and batch_dims;
GATHER_ND: index tuples of up to 5 values; EMBEDDING_LOOKUP: rows of a rank >= 2 table, int8 or
float32, and an int8 table dequantized to float32 when its zero point is 0). Values are copied
verbatim, whatever the quantization, as TFLM does.

The indices may be constant or computed at run time. Constant indices are checked here and an
out-of-range one is refused. A run-time index out of range (TFLM's kernel returns an error) makes
the kernel write zeros for that slice and return -1 (runtime/gather.h): the generated code never
reads outside the input. The generated invoke() does not look at kernel results yet, so such a
model still returns 0.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, Tensor
from . import ArrayArg, ConstArray, KernelCall, TensorArg, register, require_per_tensor, unsupported
from .strided_copy import INT32_MAX, normalize_axis, require_dtype, require_same_dtype, width_suffix

TYPES = ("int8", "float32")
MAX_INDICES_ND = 5  # gather_nd.cc


def _indices(op: Op, indices: Tensor) -> None:
    if indices.dtype != "int32":
        raise unsupported(op, f"indices of type {indices.dtype} are not supported (TFLM's "
                              f"kernel takes int32)")


def _check_const_indices(op: Op, indices: Tensor, low: int, high: int, what: str) -> None:
    if indices.is_const and indices.size:
        values = indices.data.astype(np.int64)
        bad = values[(values < low) | (values >= high)]
        if bad.size:
            raise unsupported(op, f"constant index {int(bad[0])} is outside {what} [{low}, "
                                  f"{high}) (TFLM fails at run time)")


@register("GATHER", types="int8, float32", inputs=2,
          notes="int32 indices, constant or run-time (out of range: zeros); any axis and "
                "batch_dims, negative allowed")
def lower_gather(graph: Graph, op: Op) -> KernelCall:
    x, coords, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                    graph.tensor(op.outputs[0]))
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    _indices(op, coords)
    rank, coords_rank = len(x.shape), len(coords.shape)
    if not rank:
        raise unsupported(op, "a scalar input cannot be gathered from")
    axis = normalize_axis(op, int(op.options.get("axis", 0)), rank)
    batch_dims = int(op.options.get("batch_dims", 0))
    batch_dims = batch_dims + coords_rank if batch_dims < 0 else batch_dims
    if not (0 <= batch_dims <= axis and batch_dims < rank and batch_dims <= coords_rank):
        raise unsupported(op, f"batch_dims={op.options.get('batch_dims')} with axis "
                              f"{op.options.get('axis', 0)} (TFLM needs 0 <= batch_dims <= axis, "
                              f"batch_dims < {rank} and <= the indices' rank {coords_rank})")
    if x.shape[:batch_dims] != coords.shape[:batch_dims]:
        raise unsupported(op, f"input {list(x.shape)} and indices {list(coords.shape)} differ "
                              f"in their first {batch_dims} (batch) dimensions")
    expected = x.shape[:axis] + coords.shape[batch_dims:] + x.shape[axis + 1:]
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not the gather's "
                              f"{list(expected)}")
    _check_const_indices(op, coords, 0, x.shape[axis], f"axis {axis}'s range")
    if max(x.size, y.size) > INT32_MAX:
        raise unsupported(op, "the tensors have too many elements for int32 offsets")
    return KernelCall(
        op=op,
        function=f"tinyc_gather_{width_suffix(x)}",
        header="gather.h",
        params_type="tinyc_gather_params",
        params=(("batch", math.prod(x.shape[:batch_dims])),
                ("outer", math.prod(x.shape[batch_dims:axis])),
                ("axis_size", x.shape[axis]),
                ("coords", math.prod(coords.shape[batch_dims:])),
                ("inner", math.prod(x.shape[axis + 1:]))),
        args=(TensorArg(x.index), TensorArg(coords.index), TensorArg(y.index)),
        returns_status=True,  # an index out of range makes invoke() fail, as in TFLM
    )


@register("GATHER_ND", types="int8, float32", inputs=2,
          notes="int32 index tuples of up to 5 values, constant or run-time (a slice outside "
                "the input, by TFLM's flat check: zeros)")
def lower_gather_nd(graph: Graph, op: Op) -> KernelCall:
    x, indices, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                     graph.tensor(op.outputs[0]))
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    _indices(op, indices)
    rank, indices_rank = len(x.shape), len(indices.shape)
    if rank < 1 or indices_rank < 1:
        raise unsupported(op, f"input rank {rank} and indices rank {indices_rank} must be at "
                              f"least 1 (TFLM requires it)")
    nd = indices.shape[-1]
    if nd > rank or nd > MAX_INDICES_ND:
        raise unsupported(op, f"index tuples of {nd} values for a rank {rank} input (TFLM takes "
                              f"at most the rank and at most {MAX_INDICES_ND})")
    expected = indices.shape[:-1] + x.shape[nd:]
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not the gather's "
                              f"{list(expected)}")
    strides = [math.prod(x.shape[j + 1:]) for j in range(nd)]
    slice_size = math.prod(x.shape[nd:])
    if indices.is_const and indices.size and nd:
        tuples = indices.data.reshape(-1, nd).astype(np.int64)
        flat = tuples @ np.array(strides, np.int64)
        bad = np.flatnonzero((flat < 0) | (flat + slice_size > x.size))
        if bad.size:
            raise unsupported(op, f"constant index {tuples[bad[0]].tolist()} is outside the "
                                  f"input {list(x.shape)} (TFLM fails at run time)")
    if max(x.size, y.size) > INT32_MAX:
        raise unsupported(op, "the tensors have too many elements for int32 offsets")
    return KernelCall(
        op=op,
        function=f"tinyc_gather_nd_{width_suffix(x)}",
        header="gather.h",
        params_type="tinyc_gather_nd_params",
        params=(("slices", math.prod(indices.shape[:-1])), ("nd", nd),
                ("slice_size", slice_size), ("flat_size", x.size)),
        args=(ArrayArg("strides"), TensorArg(x.index), TensorArg(indices.index),
              TensorArg(y.index)),
        arrays=(ConstArray("strides", "int32_t", np.array(strides, np.int32)),),
        returns_status=True,  # an index out of range makes invoke() fail, as in TFLM
    )


@register("EMBEDDING_LOOKUP", types="int8, float32, int8 → float32", inputs=2,
          notes="int32 lookups (rank 1), constant or run-time (out of range: zeros); table of "
                "rank >= 2; an int8 table with zero point 0 dequantizes to a float32 output")
def lower_embedding_lookup(graph: Graph, op: Op) -> KernelCall:
    lookup, table, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                        graph.tensor(op.outputs[0]))
    _indices(op, lookup)
    if len(lookup.shape) != 1:
        raise unsupported(op, f"lookup of rank {len(lookup.shape)} (TFLM takes rank 1)")
    if len(table.shape) < 2:
        raise unsupported(op, f"table of rank {len(table.shape)} (TFLM takes rank >= 2)")
    require_dtype(op, table, TYPES)
    if (table.dtype, y.dtype) not in {("int8", "int8"), ("float32", "float32"),
                                      ("int8", "float32")}:
        raise unsupported(op, f"tensor types {table.dtype} -> {y.dtype} are not supported "
                              f"(TFLM: int8 -> int8 or float32, float32 -> float32)")
    expected = lookup.shape + table.shape[1:]
    if tuple(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not the lookup's "
                              f"{list(expected)}")
    rows, columns = table.shape[0], math.prod(table.shape[1:])
    _check_const_indices(op, lookup, 0, rows, "the table's rows")
    if max(table.size, y.size) > INT32_MAX:
        raise unsupported(op, "the tensors have too many elements for int32 offsets")
    if table.dtype == y.dtype:
        return KernelCall(
            op=op,
            function=f"tinyc_gather_{width_suffix(table)}",
            header="gather.h",
            params_type="tinyc_gather_params",
            params=(("batch", 1), ("outer", 1), ("axis_size", rows),
                    ("coords", lookup.size), ("inner", columns)),
            args=(TensorArg(table.index), TensorArg(lookup.index), TensorArg(y.index)),
            returns_status=True,  # an index out of range makes invoke() fail, as in TFLM
        )
    require_per_tensor(op, table)
    if table.zero_point != 0:
        raise unsupported(op, f"int8 table {table.label} has zero point {table.zero_point}: "
                              f"TFLM dequantizes only zero point 0")
    return KernelCall(
        op=op,
        function="tinyc_embedding_lookup_s8_f32",
        header="gather.h",
        params_type="tinyc_embedding_lookup_s8_f32_params",
        params=(("rows", rows), ("lookups", lookup.size), ("columns", columns),
                ("zero_point", table.zero_point), ("scale", float(table.scale))),
        args=(TensorArg(lookup.index), TensorArg(table.index), TensorArg(y.index)),
        returns_status=True,  # an index out of range makes invoke() fail, as in TFLM
    )
