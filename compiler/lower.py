"""lower: Graph -> LoweredModel, the list of kernel calls and aliases the generated invoke() runs.

Ops whose inputs are all constant are evaluated here (see `fold.py`) and never reach the
generated code; every other op is lowered by its module in `ops/`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnsupportedError
from .fold import fold_constants
from .ir import Graph
from .ops import KernelCall, Step, load_all

FULL_INTEGER_HINT = (
    "convert a full-integer model instead: converter.optimizations = [tf.lite.Optimize.DEFAULT], "
    "converter.representative_dataset = <calibration data>, converter.target_spec.supported_ops = "
    "[tf.lite.OpsSet.TFLITE_BUILTINS_INT8], converter.inference_input_type = tf.int8, "
    "converter.inference_output_type = tf.int8"
)


@dataclass(frozen=True)
class LoweredModel:
    graph: Graph  # after constant folding
    steps: tuple[Step, ...]

    @property
    def calls(self) -> tuple[KernelCall, ...]:
        return tuple(s for s in self.steps if isinstance(s, KernelCall))


def lower(graph: Graph) -> LoweredModel:
    graph = fold_constants(graph)
    _check_supported(graph)
    registry = load_all()
    steps = tuple(registry[op.kind].lower(graph, op) for op in graph.ops)
    return LoweredModel(graph, steps)


def _check_supported(graph: Graph) -> None:
    """Fail early, naming every unsupported op with its count and listing the supported ones."""
    _check_not_hybrid(graph)
    registry = load_all()
    missing: dict[str, int] = {}
    for op in graph.ops:
        if op.kind not in registry:
            missing[op.kind] = missing.get(op.kind, 0) + 1
    if missing:
        named = ", ".join(f"{kind} x{count}" for kind, count in sorted(missing.items()))
        raise UnsupportedError(
            f"unsupported ops: {named} (supported: {', '.join(sorted(registry))})"
        )


def _check_not_hybrid(graph: Graph) -> None:
    """A dynamic-range model feeds float activations into ops with int8 constant weights."""
    for op in graph.ops:
        tensors = [graph.tensor(t) for t in op.inputs if t >= 0]
        has_float_activation = any(t.dtype == "float32" and not t.is_const for t in tensors)
        has_int8_weights = any(t.dtype == "int8" and t.is_const for t in tensors)
        if has_float_activation and has_int8_weights:
            raise UnsupportedError(
                f"op {op.index} ({op.kind}) takes float activations with int8 weights: this is a "
                f"dynamic-range (hybrid) quantized model, which tinyc does not compile; "
                + FULL_INTEGER_HINT
            )

