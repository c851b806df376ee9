"""RESHAPE, SQUEEZE, EXPAND_DIMS: the output is the input's bytes with another shape.

TFLM copies the bytes (or does nothing when its planner placed both tensors at the same address);
tinyc makes the output an alias of the input, so these ops cost no code and no memory. The shape
operand (RESHAPE's input 1, EXPAND_DIMS's axis) only matters for the output's static shape, which
the model already records, so it is not read. With a constant input the op is folded instead.
"""

from __future__ import annotations

import numpy as np

from ..fold import folds
from ..ir import Graph, Op
from . import Alias, register, unsupported

NOTES = "any type and rank; no code (the output aliases the input's bytes)"


@register("RESHAPE", types="any", inputs=(1, 2),
          notes=NOTES + "; the shape input may be constant or omitted")
@register("SQUEEZE", types="any", inputs=1, notes=NOTES)
@register("EXPAND_DIMS", types="any", inputs=2, notes=NOTES)
def lower_reshape(graph: Graph, op: Op) -> Alias:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype != y.dtype:
        raise unsupported(op, f"input type {x.dtype} differs from output type {y.dtype}")
    if x.size != y.size:
        raise unsupported(
            op,
            f"input shape {list(x.shape)} and output shape {list(y.shape)} "
            f"hold different numbers of elements",
        )
    if x.is_const:  # folding did not apply: the output is a model output, or the shape is computed
        raise unsupported(
            op,
            "a constant input that cannot be folded at compile time "
            "(e.g. one whose output is a model output) is not supported",
        )
    return Alias(op, x.index, y.index)


@folds("RESHAPE")
@folds("SQUEEZE")
@folds("EXPAND_DIMS")
def fold_reshape(graph: Graph, op: Op, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [inputs[0].reshape(graph.tensor(op.outputs[0]).shape)]
