"""The op library: one module per op family, each registering how it lowers to a kernel call.

A lowering function takes the graph and one op and returns what the generated code does for it:
  - `KernelCall`: call a runtime function with a params struct, constant arrays and tensor buffers;
  - `Alias`: the output is the input's bytes seen with another shape (RESHAPE and friends).
It raises `UnsupportedError` naming the op, its index and the option it cannot compile.
Modules in this package are imported on first use, so adding an op is adding a file.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Op, Tensor


@dataclass(frozen=True)
class ConstArray:
    """A constant the generated code stores in flash; named `<model>_op<index>_<suffix>`."""

    suffix: str
    ctype: str  # "int8_t", "int32_t", "float", ...
    values: np.ndarray


@dataclass(frozen=True)
class TensorArg:
    """Pointer to a tensor's bytes: in the arena, or a constant tensor stored in flash."""

    tensor: int


@dataclass(frozen=True)
class ArrayArg:
    """Pointer to one of the call's ConstArrays."""

    suffix: str


@dataclass(frozen=True)
class ScratchArg:
    """Pointer to the call's scratch buffer, planned in the arena for the call's duration."""


Arg = TensorArg | ArrayArg | ScratchArg


@dataclass(frozen=True)
class KernelCall:
    op: Op
    function: str  # runtime function, e.g. "tinyc_fully_connected_s8"
    header: str  # runtime header declaring it, e.g. "fully_connected.h"
    params_type: str  # its params struct: every kernel takes one, first
    params: tuple[tuple[str, Any], ...]  # struct fields in declaration order: (name, value)
    args: tuple[Arg, ...]  # pointer arguments after the params struct
    arrays: tuple[ConstArray, ...] = ()
    scratch_bytes: int = 0
    reads: tuple[int, ...] = field(default=())  # tensors read; default: the TensorArgs
    # A call that needs no scratch and computes the same bytes, used when the planner has no room
    # for the scratch buffer (see plan_memory.py). None: the scratch is always given.
    fallback: KernelCall | None = None
    # The kernel returns int, non-zero when its input was out of range (a run-time index):
    # invoke() then returns non-zero too, as TFLM's Invoke does.
    returns_status: bool = False
    writes: tuple[int, ...] = ()  # tensors written; default: the op's outputs
    # In-place placements the kernel's loop order makes safe: (input tensor, byte offset of the
    # input's first byte from the output's first byte). The planner may then let that input,
    # if it dies at this call, share bytes with the output (plan_memory.py, "Overlaps").
    # A kernel that reads element i of a same-shaped input before writing element i of the
    # output, and never reads it again, declares offset 0.
    overlaps: tuple[tuple[int, int], ...] = ()

    def tensors_read(self) -> tuple[int, ...]:
        return self.reads or tuple(a.tensor for a in self.args if isinstance(a, TensorArg))

    def tensors_written(self) -> tuple[int, ...]:
        return self.writes or self.op.outputs


@dataclass(frozen=True)
class Alias:
    """`target` is `source`'s bytes from `offset` on, reinterpreted: no code, no copy.

    offset 0 and the same size: RESHAPE and friends. A positive offset (a multiple of the arena
    alignment, so every kernel may read the view): a slice or split part that is one contiguous
    run of its source."""

    op: Op
    source: int
    target: int
    offset: int = 0  # bytes


@dataclass(frozen=True)
class Control:
    """A line of structured control flow in invoke() (IF and WHILE, ops/control_flow.py):
      "if"            run what follows if the first element of bool tensor `cond` is true,
      "else"          ... otherwise what follows this,
      "loop"          repeat what follows,
      "break_unless"  leaving the loop unless the first element of `cond` is true,
      "end"           closing the innermost "if" or "loop".
    The planner keeps every buffer that is live into a loop live to its end."""

    op: Op
    kind: str
    cond: int = -1  # the bool tensor "if" and "break_unless" test

    def tensors_read(self) -> tuple[int, ...]:
        return (self.cond,) if self.cond >= 0 else ()

    def tensors_written(self) -> tuple[int, ...]:
        return ()


Step = KernelCall | Alias | Control
# A lowering gives one step, or several for an op with several outputs (a SPLIT into views).
Lowering = Callable[[Graph, Op], "Step | tuple[Step, ...]"]


Arity = tuple[int, int]  # (fewest, most) tensors


@dataclass(frozen=True)
class OpInfo:
    kind: str
    lower: Lowering
    types: str  # for the README's table: tensor types supported
    notes: str  # options and limits
    inputs: Arity | None  # how many inputs the op takes; None: the lowering checks
    outputs: Arity
    optional: frozenset[int]  # input positions that may be -1 (omitted)


REGISTRY: dict[str, OpInfo] = {}


def register(kind: str, *, types: str, notes: str, inputs: int | Arity | None = None,
             outputs: int | Arity = 1, optional: tuple[int, ...] = ()
             ) -> Callable[[Lowering], Lowering]:
    """Register a lowering. `inputs`/`outputs`: a count or a (fewest, most) range, checked by
    validate.py before lowering, as are the `optional` input positions allowed to be -1."""

    def arity(n: int | Arity) -> Arity:
        return (n, n) if isinstance(n, int) else n

    def decorate(lower: Lowering) -> Lowering:
        if kind in REGISTRY:
            raise RuntimeError(f"{kind} registered twice")
        REGISTRY[kind] = OpInfo(kind, lower, types, notes,
                                None if inputs is None else arity(inputs), arity(outputs),
                                frozenset(optional))
        return lower

    return decorate


@functools.cache
def load_all() -> dict[str, OpInfo]:
    """Import every op module (the first call only) so REGISTRY is complete."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


# --- helpers for op modules ---

# The fused activations kernels apply as a clamp of the output (TFLM CalculateActivationRange
# and CalculateActivationRangeQuantized).
FUSED_ACTIVATIONS = frozenset({"NONE", "RELU", "RELU6", "RELU_N1_TO_1"})


def unsupported(op: Op, what: str) -> UnsupportedError:
    return UnsupportedError(f"op {op.index} ({op.kind}): {what}")


def require_types(graph: Graph, op: Op, allowed: set[tuple[str, ...]]) -> tuple[str, ...]:
    """Check the (input types..., output type) signature of the non-omitted tensors."""
    signature = tuple(graph.tensor(t).dtype for t in op.inputs if t >= 0) + tuple(
        graph.tensor(t).dtype for t in op.outputs
    )
    if signature not in allowed:
        raise unsupported(op, f"tensor types {'/'.join(signature)} are not supported")
    return signature


def require_per_tensor(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.quant is None:
            raise unsupported(op, f"{t.label} is not quantized")
        if t.quant.per_channel:
            raise unsupported(op, f"{t.label} has per-channel quantization")


def require_option(op: Op, name: str, allowed: set[Any]) -> Any:
    value = op.options.get(name)
    if value not in allowed:
        raise unsupported(
            op,
            f"{name}={value} is not supported (supported: {', '.join(sorted(map(str, allowed)))})",
        )
    return value


def optional_input(op: Op, position: int) -> int:
    """Tensor index of an optional input, -1 when omitted."""
    return op.inputs[position] if len(op.inputs) > position else -1


def in_place_elementwise(graph: Graph, call: KernelCall) -> KernelCall:
    """`call` with an overlap at offset 0 for each input of the output's shape and element size:
    for kernels that walk the output in order and read that input's element i just before they
    write element i (the element-wise and broadcasting kernels)."""
    y = graph.tensor(call.op.outputs[0])
    same = tuple((t, 0) for t in dict.fromkeys(call.tensors_read())
                 if not graph.tensor(t).is_const and graph.tensor(t).shape == y.shape
                 and graph.tensor(t).itemsize == y.itemsize)
    return dataclasses.replace(call, overlaps=same)
