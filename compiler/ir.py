"""The intermediate representation every stage passes along: tensors, ops and the graph.

All classes are frozen; stages that change a graph build a new one (`Graph.replace`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import TinycError, quote

# dtype name -> (numpy dtype, C type)
DTYPES: dict[str, tuple[type, str]] = {
    "float32": (np.float32, "float"),
    "int8": (np.int8, "int8_t"),
    "uint8": (np.uint8, "uint8_t"),
    "int16": (np.int16, "int16_t"),
    "int32": (np.int32, "int32_t"),
    "int64": (np.int64, "int64_t"),
    "bool": (np.bool_, "bool"),
    # A handle to a resource variable (VAR_HANDLE's output): no bytes of its own in tinyc, the
    # variable it names becomes a state tensor (control_flow.resolve_resource_variables).
    "resource": (np.int32, "int32_t"),
}
# The range of each integer storage type: zero points, activation bounds, saturation.
INT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "uint8": (0, (1 << 8) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
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
    # State that persists across invokes (LSTM/SVDF state): the model marks it `is_variable`.
    is_variable: bool = False
    # A variable tensor's value before the first invoke and after reset (None: TFLM's default,
    # every byte the zero point for int8, else zero). Not `data`: the tensor is not a constant.
    initial: np.ndarray | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How messages name this tensor, everywhere: its index and its quoted, bounded name."""
        return f"tensor {self.index} ({quote(self.name)})"

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # exact: a corrupt shape must not wrap around

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
        assert self.quant is not None, f"{self.label} is not quantized"
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None, f"{self.label} is not quantized"
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
    # The model's other subgraphs, which IF, WHILE and CALL_ONCE run: subgraph k is
    # subgraphs[k - 1], each with tensors of its own.
    subgraphs: tuple[Graph, ...] = ()

    def tensor(self, index: int) -> Tensor:
        if index < 0:  # -1 marks an omitted optional input: never wrap to the last tensor
            raise IndexError(f"tensor index {index} (an omitted optional input?)")
        return self.tensors[index]

    def replace(self, **changes: Any) -> Graph:
        return dataclasses.replace(self, **changes)

    def consumers(self, tensor_index: int) -> list[Op]:
        return [op for op in self.ops if tensor_index in op.inputs]


def check(graph: Graph) -> None:
    """Structural invariants every stage relies on; raises TinycError on a malformed graph.

    `validate.validate_graph` checks far more, with messages for users, right after reading;
    this is the cheap subset a stage may re-check after changing the graph.
    """
    count = len(graph.tensors)
    for i, tensor in enumerate(graph.tensors):
        if tensor.index != i:
            raise TinycError(f"tensor {i} has index {tensor.index}")
        if tensor.dtype not in DTYPES:
            raise TinycError(f"{tensor.label} has unknown type {tensor.dtype}")
    produced = set(graph.inputs) | {t.index for t in graph.tensors if t.is_const or t.is_variable}
    for op in graph.ops:
        for t in op.inputs:
            if t >= count or t < -1 or (t >= 0 and t not in produced):
                raise TinycError(f"op {op.index} ({op.kind}) reads tensor {t} before it is written")
        for t in op.outputs:
            if not 0 <= t < count:
                raise TinycError(f"op {op.index} ({op.kind}) writes unknown tensor {t}")
            produced.add(t)
    for t in graph.outputs:
        if t not in produced:
            raise TinycError(f"graph output tensor {t} is never written")
