"""The intermediate representation every stage passes along: tensors, ops and the graph.

All classes are frozen; stages that change a graph build a new one (`Graph.replace`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import TinycError

# dtype name -> (numpy dtype, C type)
DTYPES: dict[str, tuple[type, str]] = {
    "float32": (np.float32, "float"),
    "int8": (np.int8, "int8_t"),
    "uint8": (np.uint8, "uint8_t"),
    "int16": (np.int16, "int16_t"),
    "int32": (np.int32, "int32_t"),
    "int64": (np.int64, "int64_t"),
    "bool": (np.bool_, "bool"),
}


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel on `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True, eq=False)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None = None
    data: np.ndarray | None = field(default=None, repr=False)  # set for constant tensors

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return np.dtype(DTYPES[self.dtype][0]).itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def ctype(self) -> str:
        return DTYPES[self.dtype][1]

    @property
    def scale(self) -> float:
        """Per-tensor scale; only meaningful for per-tensor quantized tensors."""
        assert self.quant is not None, f"tensor {self.name!r} is not quantized"
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None, f"tensor {self.name!r} is not quantized"
        return self.quant.zero_point[0]

    def replace(self, **changes: Any) -> Tensor:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Op:
    """One operator: `inputs` holds tensor indices, -1 for an omitted optional input."""

    index: int
    kind: str  # the TFLite builtin name, e.g. "FULLY_CONNECTED"
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Op:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def replace(self, **changes: Any) -> Graph:
        return dataclasses.replace(self, **changes)

    def consumers(self, tensor_index: int) -> list[Op]:
        return [op for op in self.ops if tensor_index in op.inputs]


def check(graph: Graph) -> None:
    """Structural invariants every stage relies on; raises TinycError on a malformed graph."""
    count = len(graph.tensors)
    for i, tensor in enumerate(graph.tensors):
        if tensor.index != i:
            raise TinycError(f"tensor {i} has index {tensor.index}")
        if tensor.dtype not in DTYPES:
            raise TinycError(f"tensor {tensor.name!r} has unknown type {tensor.dtype}")
    produced = set(graph.inputs) | {t.index for t in graph.tensors if t.is_const}
    for op in graph.ops:
        for t in op.inputs:
            if t >= count or (t >= 0 and t not in produced):
                raise TinycError(f"op {op.index} ({op.kind}) reads tensor {t} before it is written")
        for t in op.outputs:
            if not 0 <= t < count:
                raise TinycError(f"op {op.index} ({op.kind}) writes unknown tensor {t}")
            produced.add(t)
    for t in graph.outputs:
        if t not in produced:
            raise TinycError(f"graph output tensor {t} is never written")
