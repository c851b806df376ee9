"""validate: Graph -> Graph, unchanged or refused. The one place that decides what a model file
may make tinyc emit.

A .tflite file can come from anywhere, so everything the later stages and the generated C rely on
is checked here, once, right after reading, and refused with a message naming the tensor or op,
its index and the bad value:
  1. ops tinyc does not know, named with their indices before any structural complaint (a model
     with an LSTM is refused for the LSTM, not for the state tensor it reads);
  2. structure: tensor indices (-1 only for an op's optional inputs), how many inputs and outputs
     each op takes, one writer per tensor, no writes to constants or graph inputs, graph inputs
     without data, graph outputs that something writes;
  3. tensors: ranks, element counts and byte sizes that fit the 32-bit targets, quantization
     (finite positive scales in a sane range, zero points in the storage type's range,
     per-channel vectors matching their axis);
  4. op options: integers that fit the int32 fields of the kernels' params structs, window sizes,
     strides and dilations in a range the kernels index without overflow, finite floats.
Op-specific semantics (a bias as long as the channel count, an axis in range) are checked by each
op's lowering in `ops/`, which raises UnsupportedError naming the op; requantization multipliers
that the runtime cannot apply are refused by `quantize.quantize_multiplier`. `check_arena` is
the last guard, after planning.
"""

from __future__ import annotations

import math

from .errors import TinycError, UnsupportedError
from .fold import FOLDERS
from .ir import INT_RANGES, Graph, Op, Tensor, check
from .ops import load_all

MAX_RANK = 8  # no op tinyc lowers takes more (TFLM's RuntimeShape: 6 without allocation)
MAX_ELEMENTS = 1 << 30  # per tensor: index arithmetic in the kernels stays inside int32
MAX_TENSOR_BYTES = (1 << 31) - 1  # a C array on a 32-bit target
MAX_WINDOW = 1 << 15  # strides, dilations, filter and block sizes: (taps - 1) * dilation < 2^30
DEFAULT_MAX_ARENA = 64 << 20  # bytes; `--max-arena` changes it
SCALE_RANGE = (1e-30, 1e30)  # outside: TFLM's own float arithmetic overflows or flushes
INT32_RANGE = INT_RANGES["int32"]
WINDOW_OPTIONS = frozenset({
    "stride_h", "stride_w", "stride_d", "dilation_hfactor", "dilation_wfactor",
    "dilation_d_factor", "filter_height", "filter_width", "block_size",
})


def validate_graph(graph: Graph) -> Graph:
    _check_ops_known(graph)
    _check_subgraph_references(graph)
    _check_graph(graph, main=True)
    for k, subgraph in enumerate(graph.subgraphs, start=1):
        try:
            _check_graph(subgraph, main=False)
        except TinycError as exc:  # the same checks, the subgraph named
            raise type(exc)(f"subgraph {k}: {exc}") from None
    return graph


def _check_graph(graph: Graph, main: bool) -> None:
    _check_structure(graph, main)
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.ops:
        used.update(t for t in op.inputs + op.outputs if t >= 0)
    for t in sorted(used):  # a tensor nothing uses never reaches the generated code
        _check_tensor(graph.tensor(t))
    for op in graph.ops:
        _check_options(op)
    check(graph)


def check_arena(arena_bytes: int, limit: int = DEFAULT_MAX_ARENA) -> None:
    """The planned arena must fit the limit the user set (and a 32-bit address space)."""
    limit = min(limit, MAX_TENSOR_BYTES)
    if arena_bytes > limit:
        raise TinycError(f"the model needs an arena of {arena_bytes} bytes, more than the limit "
                         f"of {limit} bytes (raise it with --max-arena)")


# --- 1. unknown ops ---


def _check_ops_known(graph: Graph) -> None:
    known = set(load_all()) | set(FOLDERS)
    unknown: dict[str, list[str]] = {}
    for k, g in enumerate((graph, *graph.subgraphs)):
        for op in g.ops:
            if op.kind not in known:
                unknown.setdefault(op.kind, []).append(f"{k}:{op.index}" if k else str(op.index))
    if unknown:
        listed = [f"{kind} ({_ops_at(indices)})" for kind, indices in sorted(unknown.items())]
        shown = ", ".join(listed[:6]) + (f" and {len(listed) - 6} more" if len(listed) > 6 else "")
        raise UnsupportedError(f"unsupported ops: {shown}; `tinyc ops` lists the supported ones")


def _ops_at(indices: list[str]) -> str:
    """Where: op indices of the main graph, "k:i" for op i of subgraph k."""
    head = ", ".join(indices[:4])
    more = f" and {len(indices) - 4} more" if len(indices) > 4 else ""
    return f"op{'s' if len(indices) > 1 else ''} {head}{more}"


# --- 2. structure ---

SUBGRAPH_OPTIONS = ("then_subgraph_index", "else_subgraph_index", "cond_subgraph_index",
                    "body_subgraph_index", "init_subgraph_index")
MAX_NESTING = 8  # IF/WHILE/CALL_ONCE subgraphs within subgraphs


def _check_subgraph_references(graph: Graph) -> None:
    """Control-flow ops name subgraphs 1..n (never the main one), without cycles."""
    graphs = (graph, *graph.subgraphs)

    def callees(g: Graph) -> list[tuple[Op, int]]:
        return [(op, op.options[name]) for op in g.ops for name in SUBGRAPH_OPTIONS
                if name in op.options]

    for g in graphs:
        for op, k in callees(g):
            if not 1 <= k < len(graphs):
                raise TinycError(f"{_op(op)} runs subgraph {k}, which does not exist (the model "
                                 f"has subgraphs 1 to {len(graphs) - 1})")

    def depth(k: int, path: tuple[int, ...]) -> int:
        if k in path or len(path) > MAX_NESTING:
            raise UnsupportedError(f"subgraph {k} is run from within itself, or nested more "
                                   f"than {MAX_NESTING} deep (subgraphs {list(path)})")
        return 1 + max((depth(c, path + (k,)) for _, c in callees(graphs[k])), default=0)

    depth(0, ())


def _check_structure(graph: Graph, main: bool = True) -> None:
    count = len(graph.tensors)

    def in_range(index: int, what: str) -> None:
        if not 0 <= index < count:
            raise TinycError(f"{what} is tensor {index}, which does not exist "
                             f"(the model has {count} tensors)")

    if main and not graph.outputs:
        raise TinycError("the model has no outputs")
    for position, t in enumerate(graph.inputs):
        in_range(t, f"model input {position}")
        if graph.tensor(t).is_variable:
            raise TinycError(f"model input {position} is {graph.tensor(t).label}, which is "
                             f"marked variable (state the model keeps, not an input)")
        if graph.tensor(t).is_const:
            raise TinycError(f"model input {position} is {graph.tensor(t).label}, which has "
                             f"constant data: an input must be written by the caller")
    if len(set(graph.inputs)) != len(graph.inputs):
        raise TinycError("a tensor is listed twice among the model's inputs")
    writer: dict[int, int] = {}
    for op in graph.ops:
        _check_op_structure(graph, op, in_range)
        for t in op.outputs:
            if t in writer or t in graph.inputs:
                first = f"op {writer[t]}" if t in writer else "the caller (a model input)"
                raise TinycError(f"{_op(op)} writes {graph.tensor(t).label}, which {first} "
                                 f"already writes")
            writer[t] = op.index
    for position, t in enumerate(graph.outputs):
        in_range(t, f"model output {position}")
        tensor = graph.tensor(t)
        if tensor.is_const or tensor.is_variable:
            what = "a constant" if tensor.is_const else "state (marked variable)"
            raise TinycError(f"model output {position} is {tensor.label}, {what}: no op "
                             f"computes it")
        if t not in writer and t not in graph.inputs:
            raise TinycError(f"model output {position} is {tensor.label}, which no op writes")


def _check_op_structure(graph: Graph, op: Op, in_range) -> None:
    info = load_all().get(op.kind)
    optional = info.optional if info else frozenset()
    if not op.outputs and (info is None or info.outputs[0] > 0):
        raise TinycError(f"{_op(op)} has no outputs")
    if not op.inputs and (info is None or info.inputs is None or info.inputs[0] > 0):
        raise TinycError(f"{_op(op)} has no inputs")
    if info is not None:
        for what, arity, actual in (("inputs", info.inputs, op.inputs),
                                    ("outputs", info.outputs, op.outputs)):
            if arity is not None and not arity[0] <= len(actual) <= arity[1]:
                expected = str(arity[0]) if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
                raise TinycError(f"{_op(op)} has {len(actual)} {what}; it takes {expected}")
    for position, t in enumerate(op.inputs):
        if t == -1 and position in optional:
            continue
        if t == -1:
            raise TinycError(f"{_op(op)}: input {position} is omitted (-1), but is not optional")
        in_range(t, f"{_op(op)}: input {position}")
    for position, t in enumerate(op.outputs):
        in_range(t, f"{_op(op)}: output {position}")
        if graph.tensor(t).is_const:
            raise TinycError(f"{_op(op)} writes {graph.tensor(t).label}, which is a constant")
        if graph.tensor(t).is_variable:  # state is an op's input, updated in place
            raise TinycError(f"{_op(op)} writes {graph.tensor(t).label}, which is marked "
                             f"variable (state): state tensors are op inputs only")


def _op(op: Op) -> str:
    return f"op {op.index} ({op.kind})"


# --- 3. tensors ---


def _check_tensor(tensor: Tensor) -> None:
    if len(tensor.shape) > MAX_RANK:
        raise UnsupportedError(f"{tensor.label} has rank {len(tensor.shape)} "
                               f"(at most {MAX_RANK} is supported)")
    if tensor.size > MAX_ELEMENTS or tensor.nbytes > MAX_TENSOR_BYTES:
        raise TinycError(f"{tensor.label} has {tensor.size} elements ({tensor.nbytes} bytes): "
                         f"more than a 32-bit target can address")
    if tensor.size == 0 and not tensor.is_const:
        raise UnsupportedError(f"{tensor.label} has no elements (shape {list(tensor.shape)})")
    if tensor.quant is not None and tensor.dtype in INT_RANGES:
        _check_quant(tensor)


def _check_quant(tensor: Tensor) -> None:
    q = tensor.quant
    assert q is not None
    low, high = SCALE_RANGE
    for scale in q.scale:
        if not (math.isfinite(scale) and low <= scale <= high):
            raise TinycError(f"{tensor.label} has quantization scale {scale:g}: a scale must be "
                             f"finite and within [{low:g}, {high:g}]")
    zmin, zmax = INT_RANGES[tensor.dtype]
    for zero_point in q.zero_point:
        if not zmin <= zero_point <= zmax:
            raise TinycError(f"{tensor.label} has zero point {zero_point}, outside the range of "
                             f"{tensor.dtype} [{zmin}, {zmax}]")
    if len(q.zero_point) != len(q.scale):
        raise TinycError(f"{tensor.label} has {len(q.scale)} scales but {len(q.zero_point)} "
                         f"zero points")
    if q.per_channel:
        rank = len(tensor.shape)
        # Converters give a depthwise conv's rank-1 bias its filter's axis (3): TFLM ignores it.
        axis = q.axis if 0 <= q.axis < rank else 0 if rank == 1 else None
        if axis is None:
            raise TinycError(f"{tensor.label} is quantized per channel along axis {q.axis}, "
                             f"but has rank {rank}")
        if len(q.scale) != tensor.shape[axis]:
            raise TinycError(f"{tensor.label} has {len(q.scale)} per-channel scales for "
                             f"{tensor.shape[axis]} channels along axis {axis}")


# --- 4. options ---


def _check_options(op: Op) -> None:
    for name, value in op.options.items():
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, bool) or isinstance(v, str):
                continue
            if isinstance(v, float):
                if not math.isfinite(v):
                    raise TinycError(f"{_op(op)}: option {name} is {v}, not a finite number")
            elif isinstance(v, int):
                if not INT32_RANGE[0] <= v <= INT32_RANGE[1]:
                    raise TinycError(f"{_op(op)}: option {name}={v} does not fit in 32 bits")
                if name in WINDOW_OPTIONS and not 1 <= v <= MAX_WINDOW:
                    raise UnsupportedError(f"{_op(op)}: {name}={v} is not supported "
                                           f"(1 to {MAX_WINDOW})")
