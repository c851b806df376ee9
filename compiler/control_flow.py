"""Graph -> Graph passes that turn a model's subgraphs and resource variables into what the
rest of the compiler knows: tensors of the main graph, state tensors, ops with bodies.

`resolve_resource_variables`: each resource variable (VAR_HANDLE's container and shared_name)
becomes one variable tensor, i.e. state (plan_memory puts it in the state region). READ_VARIABLE
and ASSIGN_VARIABLE then read and write that tensor; VAR_HANDLE goes. CALL_ONCE's subgraph is
evaluated at compile time: the constants it assigns are the variables' initial values (TFLM
assigns them at the first invoke; tinyc's state starts with them, and NAME_reset() restores
them). An initialisation that needs run-time data is refused.

`inline_subgraphs`: the subgraphs an IF or WHILE runs are copied into the main graph's tensor
space: each subgraph tensor gets a main-graph index, except its inputs, which are the tensors
the op passes (IF: its inputs after the condition; WHILE: its outputs, which hold the loop
variables), and its ops get fresh indices. The op keeps them as `Body`s in its options, which
ops/control_flow.py lowers into structured steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UnsupportedError, quote
from .fold import fold_constants
from .ir import Graph, Op, Tensor

RESOURCE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})


@dataclass(frozen=True)
class Body:
    """A subgraph as an IF or WHILE runs it, in main-graph tensor and op indices."""

    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


# --- resource variables ---


def resolve_resource_variables(graph: Graph) -> Graph:
    if not any(op.kind in RESOURCE_OPS for op in graph.ops):
        return graph
    tensors = list(graph.tensors)
    handles = _handles(graph)  # resource tensor -> variable key
    values = _variable_values(graph, handles)  # key -> a tensor holding a value
    initial = _initial_values(graph)
    variables: dict[tuple[str, str], int] = {}
    for key, like in values.items():
        state = like.replace(index=len(tensors), name=f"variable {key[1]}", data=None,
                             is_variable=True, initial=initial.get(key))
        if state.initial is not None and state.initial.nbytes != state.nbytes:
            raise UnsupportedError(f"resource variable {quote(key[1])}: CALL_ONCE assigns "
                                   f"{state.initial.nbytes} bytes, the model uses {state.nbytes}")
        tensors.append(state)
        variables[key] = state.index
    ops = []
    for op in graph.ops:
        if op.kind in ("VAR_HANDLE", "CALL_ONCE"):
            continue
        if op.kind in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
            state = variables[handles[op.inputs[0]]]
            op = op.replace(inputs=(state,) + op.inputs[1:])
        ops.append(op)
    return graph.replace(tensors=tuple(tensors), ops=tuple(ops))


def _key(op: Op) -> tuple[str, str]:
    def text(value) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")

    return text(op.options.get("container")), text(op.options.get("shared_name"))


def _handles(graph: Graph) -> dict[int, tuple[str, str]]:
    handles = {}
    for op in graph.ops:
        if op.kind == "VAR_HANDLE":
            handles[op.outputs[0]] = _key(op)
    for op in graph.ops:
        if op.kind in ("READ_VARIABLE", "ASSIGN_VARIABLE") and op.inputs[0] not in handles:
            raise UnsupportedError(f"op {op.index} ({op.kind}): its resource does not come from "
                                   f"a VAR_HANDLE of the main graph")
    return handles


def _variable_values(graph: Graph, handles: dict[int, tuple[str, str]]
                     ) -> dict[tuple[str, str], Tensor]:
    """For each variable, the tensors the model reads it into and assigns it from: all of one
    type and size (TFLM sizes the variable at its first assignment)."""
    seen: dict[tuple[str, str], Tensor] = {}
    for op in graph.ops:
        if op.kind == "READ_VARIABLE":
            value = graph.tensor(op.outputs[0])
        elif op.kind == "ASSIGN_VARIABLE":
            value = graph.tensor(op.inputs[1])
        else:
            continue
        key = handles[op.inputs[0]]
        first = seen.setdefault(key, value)
        if (first.dtype, first.nbytes) != (value.dtype, value.nbytes):
            raise UnsupportedError(f"op {op.index} ({op.kind}): resource variable "
                                   f"{quote(key[1])} is used as {first.dtype} {list(first.shape)}"
                                   f" and as {value.dtype} {list(value.shape)}")
    return seen


def _initial_values(graph: Graph) -> dict[tuple[str, str], np.ndarray]:
    """What the CALL_ONCE subgraphs assign, evaluated now; refused unless all constant."""
    initial: dict[tuple[str, str], np.ndarray] = {}
    for op in graph.ops:
        if op.kind != "CALL_ONCE":
            continue
        init = fold_constants(graph.subgraphs[op.options["init_subgraph_index"] - 1])
        handles = {o.outputs[0]: _key(o) for o in init.ops if o.kind == "VAR_HANDLE"}
        for inner in init.ops:
            if inner.kind == "VAR_HANDLE":
                continue
            if inner.kind != "ASSIGN_VARIABLE" or inner.inputs[0] not in handles:
                raise UnsupportedError(f"op {op.index} (CALL_ONCE): its subgraph computes "
                                       f"{inner.kind} at run time; tinyc takes initialisations "
                                       f"that assign constants")
            value = init.tensor(inner.inputs[1])
            if not value.is_const:
                raise UnsupportedError(f"op {op.index} (CALL_ONCE): the value assigned to "
                                       f"{quote(handles[inner.inputs[0]][1])} is not a constant")
            initial[handles[inner.inputs[0]]] = value.data
    return initial


# --- subgraphs of IF and WHILE ---


def inline_subgraphs(graph: Graph) -> Graph:
    if not any(op.kind in ("IF", "WHILE") for op in graph.ops):
        return graph
    inliner = _Inliner(graph)
    ops = tuple(inliner.op(op) for op in graph.ops)
    return graph.replace(tensors=tuple(inliner.tensors), ops=ops)


class _Inliner:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.tensors = list(graph.tensors)
        self.next_op = len(graph.ops)

    def op(self, op: Op) -> Op:
        """`op`, with the bodies of an IF or WHILE attached."""
        if op.kind == "IF":
            passed = op.inputs[1:]
            then = self.body(op, op.options["then_subgraph_index"], passed)
            orelse = self.body(op, op.options["else_subgraph_index"], passed)
            return op.replace(options={**op.options, "then": then, "else": orelse})
        if op.kind == "WHILE":
            cond = self.body(op, op.options["cond_subgraph_index"], op.outputs)
            body = self.body(op, op.options["body_subgraph_index"], op.outputs)
            return op.replace(options={**op.options, "cond": cond, "body": body})
        return op

    def body(self, op: Op, k: int, passed: tuple[int, ...]) -> Body:
        sub = self.graph.subgraphs[k - 1]
        if len(sub.inputs) != len(passed):
            raise UnsupportedError(f"op {op.index} ({op.kind}): subgraph {k} takes "
                                   f"{len(sub.inputs)} inputs, the op passes {len(passed)}")
        index: dict[int, int] = {}
        for inner, outer in zip(sub.inputs, passed):
            a, b = sub.tensor(inner), self.tensors[outer]
            if (a.dtype, a.shape) != (b.dtype, b.shape):
                raise UnsupportedError(f"op {op.index} ({op.kind}): subgraph {k}'s input "
                                       f"{a.label} is {a.dtype} {list(a.shape)}, the op passes "
                                       f"{b.dtype} {list(b.shape)}")
            index[inner] = outer
        for t in sub.tensors:
            if t.index not in index:
                index[t.index] = len(self.tensors)
                self.tensors.append(t.replace(index=len(self.tensors),
                                              name=f"subgraph {k}/{t.name}"))
        ops = []
        for inner in sub.ops:
            if inner.kind in RESOURCE_OPS:
                raise UnsupportedError(f"op {op.index} ({op.kind}): subgraph {k} uses resource "
                                       f"variables ({inner.kind}); tinyc takes them in the main "
                                       f"graph only")
            remapped = inner.replace(
                index=self._fresh(),
                inputs=tuple(index[t] if t >= 0 else t for t in inner.inputs),
                outputs=tuple(index[t] for t in inner.outputs))
            ops.append(self.op(remapped))  # a nested IF or WHILE gets its bodies too
        return Body(tuple(ops), tuple(index[t] for t in sub.inputs),
                    tuple(index[t] for t in sub.outputs))

    def _fresh(self) -> int:
        self.next_op += 1
        return self.next_op - 1
