"""DYNAMIC_UPDATE_SLICE: the operand with an update written over it at start indices read at run
time, each clamped into range, as TFLM's dynamic_update_slice.cc does (runtime/
dynamic_update_slice.h). Bytes are copied whatever the quantization, as in TFLM."""

from __future__ import annotations

from ..ir import Graph, Op
from . import KernelCall, TensorArg, register, unsupported

TYPES = ("int8", "int16", "int32", "float32")
MAX_RANK = 6


@register("DYNAMIC_UPDATE_SLICE", types="int8, int16, int32, float32", inputs=3,
          notes="start indices int32 or int64, constant or computed at run time, clamped as "
                "TFLM clamps them; rank <= 6")
def lower_dynamic_update_slice(graph: Graph, op: Op) -> KernelCall:
    operand, update, indices = (graph.tensor(t) for t in op.inputs)
    y = graph.tensor(op.outputs[0])
    if operand.dtype not in TYPES or update.dtype != operand.dtype or y.dtype != operand.dtype:
        raise unsupported(op, f"tensor types {operand.dtype}/{update.dtype}/{y.dtype} (TFLM takes "
                              f"one of {', '.join(TYPES)} for operand, update and output)")
    if indices.dtype not in ("int32", "int64"):
        raise unsupported(op, f"start indices of type {indices.dtype} (TFLM reads int32 or "
                              f"int64)")
    rank = len(operand.shape)
    if not 1 <= rank <= MAX_RANK or len(update.shape) != rank or y.shape != operand.shape:
        raise unsupported(op, f"operand {list(operand.shape)}, update {list(update.shape)} and "
                              f"output {list(y.shape)} must have one rank (1 to {MAX_RANK}) and "
                              f"the output the operand's shape")
    if indices.shape != (rank,):
        raise unsupported(op, f"start indices of shape {list(indices.shape)} for rank {rank}")
    if any(u > o for u, o in zip(update.shape, operand.shape)):
        raise unsupported(op, f"update {list(update.shape)} is larger than the operand "
                              f"{list(operand.shape)} (TFLM requires it to fit)")
    lead = (1,) * (MAX_RANK - rank)
    operand_dims, update_dims = lead + operand.shape, lead + update.shape
    return KernelCall(
        op=op,
        function="tinyc_dynamic_update_slice",
        header="dynamic_update_slice.h",
        params_type="tinyc_dynamic_update_slice_params",
        params=(("operand_bytes", operand.nbytes), ("rank", rank),
                ("indices_64", int(indices.dtype == "int64")), ("width", operand.itemsize))
        + tuple((f"operand_dim{i}", d) for i, d in enumerate(operand_dims))
        + tuple((f"update_dim{i}", d) for i, d in enumerate(update_dims)),
        args=(TensorArg(operand.index), TensorArg(update.index), TensorArg(indices.index),
              TensorArg(y.index)),
    )
