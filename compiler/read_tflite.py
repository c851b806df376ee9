"""read: a .tflite file -> Graph. The only module that touches the flatbuffer schema."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import tflite
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from .errors import TinycError, UnsupportedError, quote
from .ir import DTYPES, Graph, Op, QuantParams, Tensor


def _enum_names(enum_class: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


OP_NAMES = _enum_names(BuiltinOperator)
OPTION_CLASSES = _enum_names(BuiltinOptions)
TYPE_NAMES = {k: v.lower() for k, v in _enum_names(TensorType).items()}
ACTIVATIONS = _enum_names(ActivationFunctionType)
PADDINGS = _enum_names(Padding)
MAX_OPTION_VECTOR = 1 << 16  # option vectors hold a few dims; a corrupt length must not loop
# Option fields stored as enums, decoded to their names so op modules compare strings.
ENUM_FIELDS = {"fused_activation_function": ACTIVATIONS, "padding": PADDINGS}


def read_model(path: str | Path) -> Graph:
    """Parse the first subgraph of a .tflite file; TinycError on anything that is not one.

    This only decodes: whether the graph makes sense is `validate.validate_graph`'s business.
    """
    return parse_model(_read_bytes(Path(path)), str(path))


def parse_model(data: bytes, label: str = "model") -> Graph:
    """`read_model` for bytes in memory (the fuzzers call it directly); `label` names the
    model in messages."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TinycError(f"{label}: not a .tflite model (no TFL3 flatbuffer identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        return _read_graph(model, data)
    except TinycError:
        raise
    except Exception as exc:  # the flatbuffer library raises assorted errors on corrupt input
        detail = quote(f"{type(exc).__name__}: {exc}", limit=80)
        raise TinycError(
            f"{label}: not a valid .tflite model (corrupt or truncated: {detail})"
        ) from None


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TinycError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TinycError(f"{path}: is a directory, not a .tflite file") from None
    except OSError as exc:
        raise TinycError(f"{path}: cannot read ({exc.strerror})") from None
    if not data:
        raise TinycError(f"{path}: file is empty")
    return data


def _read_graph(model: Any, data: bytes) -> Graph:
    count = model.SubgraphsLength()
    if count < 1:
        raise TinycError("model has no subgraph")
    # A corrupt length would have us loop for billions of entries: every table takes at least
    # a 4-byte offset, so no real vector is longer than the file.
    for what, length in (("subgraphs", count), ("operator codes", model.OperatorCodesLength()),
                         ("buffers", model.BuffersLength())):
        if length * 4 > len(data):
            raise TinycError(f"model claims {length} {what}, more than the file can hold")
    main = _read_subgraph(model, data, model.Subgraphs(0))
    others = tuple(_read_subgraph(model, data, model.Subgraphs(k)) for k in range(1, count))
    return main.replace(subgraphs=others)


def _read_subgraph(model: Any, data: bytes, subgraph: Any) -> Graph:
    for what, length in (("tensors", subgraph.TensorsLength()),
                         ("operators", subgraph.OperatorsLength())):
        if length * 4 > len(data):
            raise TinycError(f"model claims {length} {what}, more than the file can hold")
    tensors = tuple(
        _read_tensor(model, data, subgraph.Tensors(i), i) for i in range(subgraph.TensorsLength())
    )
    ops = tuple(
        _read_op(model, subgraph.Operators(i), i) for i in range(subgraph.OperatorsLength())
    )
    return Graph(
        tensors=tensors,
        ops=ops,
        inputs=_ints(subgraph.InputsAsNumpy(), subgraph.InputsLength()),
        outputs=_ints(subgraph.OutputsAsNumpy(), subgraph.OutputsLength()),
    )


def _ints(vector: Any, length: int) -> tuple[int, ...]:
    """An int vector of the flatbuffer (its AsNumpy() gives 0, not an array, when empty)."""
    return tuple(int(i) for i in vector) if length else ()


def _read_tensor(model: Any, data: bytes, t: Any, index: int) -> Tensor:
    name = t.Name().decode("utf-8", "replace") if t.Name() else f"tensor_{index}"
    dtype = TYPE_NAMES.get(t.Type(), f"type {t.Type()}")
    if dtype not in DTYPES:
        raise UnsupportedError(
            f"tensor {index} ({quote(name)}) has unsupported type {dtype.upper()}"
        )
    shape = _ints(t.ShapeAsNumpy(), t.ShapeLength())
    # A dynamic batch (-1) in the shape signature is fine once the shape itself is fixed.
    if any(d < 0 for d in shape):
        raise UnsupportedError(
            f"tensor {index} ({quote(name)}) has a dynamic shape {_short(shape)}"
        )
    return Tensor(
        index,
        name,
        shape,
        dtype,
        _read_quant(t),
        _read_buffer(model, data, t, index, name, dtype, shape),
        is_variable=bool(t.IsVariable()),
    )


def _short(values: tuple[int, ...], limit: int = 6) -> str:
    """A shape or index list for a message, the middle elided when long."""
    if len(values) <= limit:
        return str(list(values))
    return "[" + ", ".join(map(str, values[:limit])) + f", ... ({len(values)} values)]"


def _read_quant(t: Any) -> QuantParams | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    zero_points = (
        q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
    )
    return QuantParams(
        scale=tuple(float(s) for s in q.ScaleAsNumpy().astype(np.float32)),
        zero_point=tuple(int(z) for z in zero_points),
        axis=int(q.QuantizedDimension()),
    )


def _read_buffer(model: Any, data: bytes, t: Any, index: int, name: str, dtype: str,
                 shape: tuple[int, ...]):
    what = f"tensor {index} ({quote(name)})"
    if not 0 <= t.Buffer() < max(model.BuffersLength(), 1):
        raise TinycError(f"{what} refers to buffer {t.Buffer()}, which does not exist")
    buffer = model.Buffers(t.Buffer()) if model.BuffersLength() else None
    if buffer is None:
        return None
    if buffer.DataLength():
        raw = buffer.DataAsNumpy().tobytes()
    elif buffer.Offset() > 1:  # large models keep buffers after the flatbuffer
        if buffer.Offset() + buffer.Size() > len(data):
            raise TinycError(f"{what}: its buffer lies beyond the end of the file")
        raw = data[buffer.Offset() : buffer.Offset() + buffer.Size()]
    else:
        return None
    itemsize = np.dtype(DTYPES[dtype][0]).itemsize
    expected = int(np.prod(shape, dtype=object))  # exact, however large the dims
    if len(raw) != expected * itemsize:
        needs = expected * itemsize
        raise TinycError(
            f"{what}: its buffer holds {len(raw)} bytes, its shape {_short(shape)} of {dtype} "
            f"needs {needs if needs < 1 << 40 else 'over 2^40'}"
        )
    array = np.frombuffer(raw, dtype=DTYPES[dtype][0])
    array = array.reshape(shape).copy()
    array.setflags(write=False)
    return array


def _read_op(model: Any, op: Any, index: int) -> Op:
    if not 0 <= op.OpcodeIndex() < model.OperatorCodesLength():
        raise TinycError(f"op {index} refers to operator code {op.OpcodeIndex()}, which does not "
                         f"exist")
    code = model.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    kind = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if kind == "CUSTOM":
        # Bounded and quoted here, once: the custom code reaches messages, never code.
        kind = "CUSTOM:" + quote(code.CustomCode() or b"", limit=40)
    inputs = _ints(op.InputsAsNumpy(), op.InputsLength())
    outputs = _ints(op.OutputsAsNumpy(), op.OutputsLength())
    return Op(index, kind, inputs, outputs, _read_options(op))


def _read_options(op: Any) -> dict[str, Any]:
    """Builtin options as {snake_case_field: value}, enums decoded to their names."""
    class_name = OPTION_CLASSES.get(op.BuiltinOptionsType(), "NONE")
    table = op.BuiltinOptions()
    if class_name == "NONE" or table is None:
        return {}
    options = _option_class(class_name)()
    options.Init(table.Bytes, table.Pos)
    values: dict[str, Any] = {}
    for method in _option_fields(class_name):
        key = _snake(method)
        if hasattr(options, method + "Length"):  # a vector field (e.g. ReshapeOptions.new_shape)
            getter = getattr(options, method)
            length = getattr(options, method + "Length")()
            if length > MAX_OPTION_VECTOR:
                raise TinycError(f"op option {_snake(method)} claims {length} values")
            value = tuple(getter(j) for j in range(length))
        else:
            value = getattr(options, method)()
        values[key] = ENUM_FIELDS[key].get(value, value) if key in ENUM_FIELDS else value
    return values


@cache
def _option_class(class_name: str) -> type:
    return getattr(importlib.import_module(f"tflite.{class_name}"), class_name)


@cache
def _option_fields(class_name: str) -> tuple[str, ...]:
    cls = _option_class(class_name)
    return tuple(
        name
        for name in dir(cls)
        if name[0].isupper()
        and name != "Init"  # the table's own method; InitSubgraphIndex is a field
        and not name.startswith("GetRootAs")
        and not name.endswith(("AsNumpy", "Length", "IsNone", "BufferHasIdentifier"))
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def op_kind_summary(graph: Graph) -> dict[str, int]:
    counts: dict[str, int] = {}
    for op in graph.ops:
        counts[op.kind] = counts.get(op.kind, 0) + 1
    return counts
