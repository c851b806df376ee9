"""Compile-time evaluation of ops whose inputs are all constant (shape arithmetic and the like).

A folder computes an op's outputs with numpy; `fold_constants` turns those outputs into constant
tensors and drops the op. Folders register with `@folds("KIND")`; ops without a folder are left
for lowering even when their inputs are constant.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .ir import DTYPES, Graph, Op

Folder = Callable[[Graph, Op, list[np.ndarray]], list[np.ndarray]]
FOLDERS: dict[str, Folder] = {}


def folds(kind: str) -> Callable[[Folder], Folder]:
    def decorate(fn: Folder) -> Folder:
        FOLDERS[kind] = fn
        return fn

    return decorate


def fold_constants(graph: Graph) -> Graph:
    tensors = list(graph.tensors)
    kept: list[Op] = []
    for op in graph.ops:
        inputs = [tensors[t] for t in op.inputs if t >= 0]
        folder = FOLDERS.get(op.kind)
        if (
            folder is None
            or not all(t.is_const for t in inputs)
            or set(op.outputs) & set(graph.outputs)
        ):
            kept.append(op)
            continue
        values = folder(graph.replace(tensors=tuple(tensors)), op, [t.data for t in inputs])
        for index, value in zip(op.outputs, values):
            out = tensors[index]
            array = np.asarray(value, dtype=DTYPES[out.dtype][0]).reshape(out.shape).copy()
            array.setflags(write=False)
            tensors[index] = out.replace(data=array)
    return graph.replace(tensors=tuple(tensors), ops=tuple(kept))
