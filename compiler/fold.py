"""Compile-time evaluation of ops whose inputs are all constant (shape arithmetic and the like).

A folder computes an op's outputs with numpy; `fold_constants` turns those outputs into constant
tensors and drops the op. Folders register with `@folds("KIND")`; ops without a folder are left
for lowering even when their inputs are constant. A folder may return None to decline (a type or
option it does not evaluate exactly); the op is then left for lowering too. `shape_only=True`
marks ops whose output depends only on their inputs' static shapes (SHAPE): they fold even when
their inputs are activations, whose `data` the folder receives as None. The shape-arithmetic
folders live in `fold_ops.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .ir import DTYPES, Graph, Op

Folder = Callable[[Graph, Op, list[np.ndarray]], "list[np.ndarray] | None"]
FOLDERS: dict[str, Folder] = {}
SHAPE_ONLY: set[str] = set()  # kinds that fold from static shapes, constant inputs or not


def folds(kind: str, *, shape_only: bool = False) -> Callable[[Folder], Folder]:
    def decorate(fn: Folder) -> Folder:
        if kind in FOLDERS:  # two modules folding one op would silently shadow each other
            raise RuntimeError(f"a folder for {kind} is registered twice")
        FOLDERS[kind] = fn
        if shape_only:
            SHAPE_ONLY.add(kind)
        return fn

    return decorate


def fold_constants(graph: Graph) -> Graph:
    from .ops import load_all  # op modules register folders too (RESHAPE); import them first

    load_all()
    tensors = list(graph.tensors)
    kept: list[Op] = []
    for op in graph.ops:
        inputs = [tensors[t] for t in op.inputs if t >= 0]
        folder = FOLDERS.get(op.kind)
        if (
            folder is None
            or not (op.kind in SHAPE_ONLY or all(t.is_const for t in inputs))
            or set(op.outputs) & set(graph.outputs)
        ):
            kept.append(op)
            continue
        values = _try_fold(folder, graph.replace(tensors=tuple(tensors)), op,
                           [t.data for t in inputs])
        if values is None or any(
            np.size(v) != tensors[t].size for t, v in zip(op.outputs, values)
        ):  # declined, or disagrees with the output's static shape: leave it to lowering
            kept.append(op)
            continue
        for index, value in zip(op.outputs, values):
            out = tensors[index]
            array = np.asarray(value, dtype=DTYPES[out.dtype][0]).reshape(out.shape).copy()
            array.setflags(write=False)
            tensors[index] = out.replace(data=array)
    return graph.replace(tensors=tuple(tensors), ops=tuple(kept))


def _try_fold(folder: Folder, graph: Graph, op: Op, inputs: list) -> list[np.ndarray] | None:
    """A folder that trips over a malformed op (too few inputs, an index out of range) declines:
    lowering then refuses the op with a message instead of an internal error here."""
    try:
        with np.errstate(all="ignore"):
            return folder(graph, op, inputs)
    except (IndexError, KeyError, TypeError, ValueError, ArithmeticError):
        return None


from . import fold_ops  # noqa: E402, F401  (registers the shape-arithmetic folders)
