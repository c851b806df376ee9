"""lower: Graph -> LoweredModel, the list of kernel calls and aliases the generated invoke() runs.

Ops whose inputs are all constant are evaluated here (see `fold.py`) and never reach the
generated code; layout round trips (TRANSPOSE ... inverse TRANSPOSE) are removed (`simplify.py`);
every other op is lowered by its module in `ops/`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .control_flow import inline_subgraphs, resolve_resource_variables
from .errors import UnsupportedError
from .fold import fold_constants
from .ir import Graph, Op
from .ops import KernelCall, Step, load_all
from .quantize import QuantizationError
from .simplify import remove_layout_round_trips

FULL_INTEGER_HINT = (
    "convert with a representative_dataset and supported_ops [TFLITE_BUILTINS_INT8]"
)


@dataclass(frozen=True)
class LoweredModel:
    graph: Graph  # after constant folding
    steps: tuple[Step, ...]

    @property
    def calls(self) -> tuple[KernelCall, ...]:
        return tuple(s for s in self.steps if isinstance(s, KernelCall))


def lower(graph: Graph) -> LoweredModel:
    graph = inline_subgraphs(resolve_resource_variables(graph))
    graph = remove_layout_round_trips(fold_constants(graph))
    _check_not_hybrid(graph)
    steps: list[Step] = []
    for op in graph.ops:
        steps += lower_op(graph, op)
    return LoweredModel(graph, tuple(steps))


def lower_op(graph: Graph, op: Op) -> list[Step]:
    """The steps of one op (several for an op with views or bodies)."""
    registry = load_all()
    if op.kind not in registry:  # validate.py let it through because it can be folded
        raise UnsupportedError(
            f"op {op.index} ({op.kind}) is supported only when its inputs are constant, "
            f"so that it is evaluated at compile time"
        )
    try:
        lowered = registry[op.kind].lower(graph, op)
    except QuantizationError as exc:
        raise UnsupportedError(f"op {op.index} ({op.kind}): {exc}") from None
    return list(lowered) if isinstance(lowered, tuple) else [lowered]


def _check_not_hybrid(graph: Graph) -> None:
    """A dynamic-range model feeds float activations into ops with int8 constant weights."""
    for op in graph.ops:
        tensors = [graph.tensor(t) for t in op.inputs if t >= 0]
        has_float_activation = any(t.dtype == "float32" and not t.is_const for t in tensors)
        has_int8_weights = any(t.dtype == "int8" and t.is_const for t in tensors)
        if has_float_activation and has_int8_weights:
            raise UnsupportedError(
                f"op {op.index} ({op.kind}): float activations with int8 weights, a "
                f"dynamic-range (hybrid) model; tinyc needs full-integer ones: "
                + FULL_INTEGER_HINT
            )

