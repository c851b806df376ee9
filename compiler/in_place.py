"""in_place: LoweredModel -> LoweredModel, CONCATENATIONs that cost nothing.

A CONCATENATION along its outermost non-unit axis lays its inputs one after the other in its
output. If each input's producer writes straight into its slot of the output's buffer, the
concatenation is done before it runs: the op becomes Aliases that place each input inside the
output (the planner resolves them, plan_memory.alias_groups) and no code.

An input qualifies when its bytes are only ever its own: an activation written by a kernel, or a
same-size view of one (a RESHAPE), none of them a model input, constant, state or a part of a
larger tensor, that no other concatenation takes, appearing once, and whose slot starts on the
arena alignment. The output
buffer then lives from the first input's write on, which can raise the peak earlier in the
model; so each concatenation is taken only if the arena does not grow (`plan` is asked).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .ir import Graph
from .lower import LoweredModel
from .ops import Alias, KernelCall
from .plan_memory import ALIGNMENT, alias_groups

Planner = Callable[[LoweredModel], int]  # a model -> its arena bytes


def concatenations_in_place(model: LoweredModel, arena_of: Planner) -> LoweredModel:
    best = arena_of(model)
    claimed: set[int] = set()
    index = 0
    while index < len(model.steps):
        views = _views(model, index, claimed)
        if views is not None:
            steps = model.steps[:index] + views + model.steps[index + 1:]
            candidate = LoweredModel(model.graph, steps)
            arena = arena_of(candidate)
            if arena <= best:
                model, best = candidate, arena
                claimed |= {v.target for v in views}
                index += len(views) - 1
        index += 1
    return model


def _views(model: LoweredModel, index: int, claimed: set[int]) -> tuple[Alias, ...] | None:
    step = model.steps[index]
    if not (isinstance(step, KernelCall) and step.op.kind == "CONCATENATION"):
        return None
    graph = model.graph
    op = step.op
    y = graph.tensor(op.outputs[0])
    axis = op.options.get("axis", 0)
    axis = axis + len(y.shape) if axis < 0 else axis
    if math.prod(y.shape[:axis]) != 1 or len(set(op.inputs)) != len(op.inputs):
        return None  # interleaved slices, or one tensor in two slots
    root, delta = alias_groups(LoweredModel(graph, model.steps[:index]))
    members: dict[int, list[int]] = {}
    for t, r in root.items():
        members.setdefault(r, []).append(t)
    written_by_kernel = {t for s in model.steps[:index] if isinstance(s, KernelCall)
                         for t in s.op.outputs}
    views, offset = [], 0
    for t in op.inputs:
        x = graph.tensor(t)
        group = members.get(root.get(t, t), [t])
        # The input's bytes are only its own: its group is it and same-size views of it
        # (RESHAPEs), written by a kernel, with no model input and no other claim among them.
        own = (t in root and delta[t] == 0 and root[t] in written_by_kernel
               and all(delta[m] == 0 and graph.tensor(m).nbytes == x.nbytes for m in group))
        if (not own or any(m in claimed or m in graph.inputs or _in_two_concatenations(graph, m)
                           for m in group)
                or x.is_const or x.is_variable or offset % ALIGNMENT or x.dtype != y.dtype):
            return None
        views.append(Alias(op, y.index, t, offset))
        offset += x.nbytes
    return tuple(views) if offset == y.nbytes else None


def _in_two_concatenations(graph: Graph, t: int) -> bool:
    """An input that another CONCATENATION also takes cannot sit in two outputs (the claimed
    set covers those already placed; this, the ones placed later)."""
    return sum(t in op.inputs for op in graph.ops if op.kind == "CONCATENATION") > 1
