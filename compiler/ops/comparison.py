"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL; LOGICAL_AND, LOGICAL_OR; SELECT_V2.

Types are those of TFLM's Eval switches (micro/kernels/comparisons.cc, logical.cc, select.cc):
  EQUAL, NOT_EQUAL                      bool, int8, int32, int64, float32
  GREATER, GREATER_EQUAL, LESS, LESS_EQUAL  int8, int32, int64, float32
  LOGICAL_AND, LOGICAL_OR               bool
  SELECT_V2                             condition bool; x, y and output int8, int16, float32
int8 comparisons rescale both inputs as ComparisonsPrepare computes: offset -zero point, left
shift 8, and QuantizeMultiplierSmallerThanOneExp(scale) of each input's own scale (which TFLM
aborts on for a scale >= 1: refused here). GREATER's Eval also takes int16, but Prepare computes
the rescale parameters only for int8 and Eval then reads unset ones (the interpreter answers
false for every element); tinyc refuses it rather than emit that. TFLM has no SELECT (v1) kernel.

Broadcasting: `elementwise.broadcast_loops` for the two-input ops. SELECT_V2 broadcasts three
inputs, which broadcast_loops does not take: `broadcast_loops3` below is the same walk (TFLM's
BroadcastSelectSimple) with a third stride per loop.
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import KernelCall, TensorArg, register, unsupported
from .binary import (
    SUFFIX,
    binary_operands,
    loop_params,
    require_output_type,
    require_quantized,
    smaller_than_one,
)
from .elementwise import LOOPS, MAX_RANK, broadcast_loops

COMPARISONS = ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")
COMPARISON_LEFT_SHIFT = 8  # comparisons.cc kLeftShift
_TYPES = {kind: ("int8", "int32", "int64", "float32") for kind in COMPARISONS}
_TYPES["EQUAL"] = _TYPES["NOT_EQUAL"] = ("bool", "int8", "int32", "int64", "float32")


def _comparison_notes(kind: str) -> str:
    note = ("bool output; broadcasting up to rank 6; int8 inputs rescaled as TFLM (left shift 8, "
            "each scale < 1 as a multiplier)")
    if kind == "GREATER":
        note += "; int16 refused (TFLM leaves its rescale parameters unset)"
    return note


def _lower_comparison(graph: Graph, op: Op) -> KernelCall:
    if graph.tensor(op.inputs[0]).dtype == "int16" and op.kind == "GREATER":
        raise unsupported(op, "int16 inputs: TFLM's Prepare computes no rescale parameters for "
                              "them and its Eval reads unset ones")
    x1, x2, y = binary_operands(graph, op, _TYPES[op.kind])
    require_output_type(op, y, "bool")
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    function = f"tinyc_{op.kind.lower()}_{SUFFIX[x1.dtype]}"
    args = (TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index))
    if x1.dtype != "int8":
        return KernelCall(op=op, function=function, header="comparison.h",
                          params_type="tinyc_comparison_params", params=loop_params(loops),
                          args=args)
    require_quantized(op, x1, x2)
    m1, s1 = smaller_than_one(op, x1.scale, "input 1 scale as a")
    m2, s2 = smaller_than_one(op, x2.scale, "input 2 scale as a")
    return KernelCall(
        op=op, function=function, header="comparison.h", params_type="tinyc_comparison_s8_params",
        params=(("left_shift", COMPARISON_LEFT_SHIFT), ("input1_offset", -x1.zero_point),
                ("input1_multiplier", m1), ("input1_shift", s1),
                ("input2_offset", -x2.zero_point), ("input2_multiplier", m2),
                ("input2_shift", s2)) + loop_params(loops),
        args=args)


for _kind in COMPARISONS:
    register(_kind, types=", ".join(_TYPES[_kind]), inputs=2,
             notes=_comparison_notes(_kind))(_lower_comparison)


@register("LOGICAL_AND", types="bool", inputs=2, notes="broadcasting up to rank 6")
@register("LOGICAL_OR", types="bool", inputs=2, notes="broadcasting up to rank 6")
def lower_logical(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = binary_operands(graph, op, ("bool",))
    require_output_type(op, y, "bool")
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    return KernelCall(op=op, function=f"tinyc_{op.kind.lower()}_b", header="comparison.h",
                      params_type="tinyc_comparison_params", params=loop_params(loops),
                      args=(TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)))


# --- SELECT_V2 ---------------------------------------------------------------------------------


def broadcast_loops3(op: Op, shapes: tuple[tuple[int, ...], ...], out_shape: tuple[int, ...]
                     ) -> list[tuple[int, ...]]:
    """The output walk as LOOPS nested loops, outermost first: (extent, stride per input).

    `broadcast_loops` for any number of inputs: strides in elements, 0 where an input has size 1
    and the output does not; adjacent dimensions merge when every input steps through them as
    one. The shapes must broadcast to `out_shape` (select.cc CheckBroadcastShape)."""
    rank = max(len(out_shape), *(len(s) for s in shapes))
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank} tensors are not supported (at most {MAX_RANK})")
    if len(out_shape) != rank:
        raise unsupported(op, f"output rank {len(out_shape)} is not the inputs' largest rank "
                              f"{rank}")
    extended = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    for d, d_out in enumerate(out_shape):
        dims = [e[d] for e in extended]
        if any(v not in (1, d_out) for v in dims) or d_out != max(dims):
            raise unsupported(op, f"input shapes {[list(s) for s in shapes]} do not broadcast to "
                                  f"the output shape {list(out_shape)}")
    loops: list[list[int]] = []  # innermost first: [extent, stride per input...]
    acc = [1] * len(shapes)
    for d in reversed(range(rank)):
        d_out = out_shape[d]
        strides = [0 if e[d] == 1 else a for e, a in zip(extended, acc, strict=True)]
        if d_out != 1:
            inner = loops[-1] if loops else None
            if inner and all(s == i * inner[0] for s, i in zip(strides, inner[1:], strict=True)):
                inner[0] *= d_out
            else:
                loops.append([d_out, *strides])
        acc = [a * e[d] for a, e in zip(acc, extended, strict=True)]
    loops += [[1] + [0] * len(shapes)] * (LOOPS - len(loops))
    return [tuple(loop) for loop in reversed(loops)]


_WIDTH = {"int8": "x8", "int16": "x16", "float32": "x32"}


@register("SELECT_V2", types="int8, int16, float32", inputs=3,
          notes="bool condition; condition, x and y broadcast against each other up to rank 6; "
                "copies bytes (no rescaling, as TFLM)")
def lower_select_v2(graph: Graph, op: Op) -> KernelCall:
    condition, x, y = (graph.tensor(t) for t in op.inputs)
    out = graph.tensor(op.outputs[0])
    if condition.dtype != "bool":
        raise unsupported(op, f"condition {condition.label} has type {condition.dtype} "
                              "(TFLM requires bool)")
    if x.dtype not in _WIDTH:
        raise unsupported(op, f"{x.label} has type {x.dtype} (supported: int8, int16, float32)")
    if y.dtype != x.dtype:
        raise unsupported(op, f"x type {x.dtype} and y type {y.dtype} differ")
    require_output_type(op, out, x.dtype)
    shapes = (condition.shape, x.shape, y.shape)
    if all(_size(s) == 1 for s in (*shapes, out.shape)):
        # select.cc: "mixed scalars" of one element each are selected elementwise, shapes aside.
        loops = [(1, 0, 0, 0)] * LOOPS
    else:
        loops = broadcast_loops3(op, shapes, out.shape)
    params = (tuple((f"dim{i}", loop[0]) for i, loop in enumerate(loops))
              + tuple((f"{name}_stride{i}", loop[k + 1]) for k, name in
                      enumerate(("condition", "x", "y")) for i, loop in enumerate(loops)))
    return KernelCall(op=op, function=f"tinyc_select_{_WIDTH[x.dtype]}", header="comparison.h",
                      params_type="tinyc_select_params", params=params,
                      args=(TensorArg(condition.index), TensorArg(x.index), TensorArg(y.index),
                            TensorArg(out.index)))


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= d
    return size

