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

from .errors import TinycError, UnsupportedError
from .ir import DTYPES, Graph, Op, QuantParams, Tensor, check


def _enum_names(enum_class: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


OP_NAMES = _enum_names(BuiltinOperator)
OPTION_CLASSES = _enum_names(BuiltinOptions)
TYPE_NAMES = {k: v.lower() for k, v in _enum_names(TensorType).items()}
ACTIVATIONS = _enum_names(ActivationFunctionType)
PADDINGS = _enum_names(Padding)
# Option fields stored as enums, decoded to their names so op modules compare strings.
ENUM_FIELDS = {"fused_activation_function": ACTIVATIONS, "padding": PADDINGS}


def read_model(path: str | Path) -> Graph:
    """Parse the first subgraph of a .tflite file; TinycError on anything that is not one."""
    data = _read_bytes(Path(path))
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        graph = _read_graph(model, data)
    except TinycError:
        raise
    except Exception as exc:  # the flatbuffer library raises assorted errors on corrupt input
        raise TinycError(
            f"{path}: not a valid .tflite model (corrupt or truncated: {exc})"
        ) from exc
    check(graph)
    return graph


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
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TinycError(f"{path}: not a .tflite model (no TFL3 flatbuffer identifier)")
    return data


def _read_graph(model: Any, data: bytes) -> Graph:
    if model.SubgraphsLength() < 1:
        raise TinycError("model has no subgraph")
    subgraph = model.Subgraphs(0)
    tensors = tuple(
        _read_tensor(model, data, subgraph.Tensors(i), i) for i in range(subgraph.TensorsLength())
    )
    ops = tuple(
        _read_op(model, subgraph.Operators(i), i) for i in range(subgraph.OperatorsLength())
    )
    return Graph(
        tensors=tensors,
        ops=ops,
        inputs=tuple(int(i) for i in subgraph.InputsAsNumpy()),
        outputs=tuple(int(i) for i in subgraph.OutputsAsNumpy()),
    )


def _read_tensor(model: Any, data: bytes, t: Any, index: int) -> Tensor:
    name = t.Name().decode("utf-8", "replace") if t.Name() else f"tensor_{index}"
    dtype = TYPE_NAMES.get(t.Type(), f"type {t.Type()}")
    if dtype not in DTYPES:
        raise UnsupportedError(f"tensor {index} ({name!r}) has unsupported type {dtype.upper()}")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    if any(d < 0 for d in shape) or (
        t.ShapeSignatureLength() and min(t.ShapeSignatureAsNumpy()) < 0
    ):
        # A dynamic batch (-1) in the signature is fine once the shape is fixed to 1.
        if any(d < 0 for d in shape):
            raise UnsupportedError(f"tensor {index} ({name!r}) has a dynamic shape {list(shape)}")
    return Tensor(
        index, name, shape, dtype, _read_quant(t), _read_buffer(model, data, t, dtype, shape)
    )


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


def _read_buffer(model: Any, data: bytes, t: Any, dtype: str, shape: tuple[int, ...]):
    buffer = model.Buffers(t.Buffer())
    if buffer is None:
        return None
    if buffer.DataLength():
        raw = buffer.DataAsNumpy().tobytes()
    elif buffer.Offset() > 1:  # large models keep buffers after the flatbuffer
        raw = data[buffer.Offset() : buffer.Offset() + buffer.Size()]
    else:
        return None
    array = np.frombuffer(raw, dtype=DTYPES[dtype][0])
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise TinycError(f"tensor {t.Name()!r}: buffer holds {array.size} values, shape {shape}")
    array = array.reshape(shape).copy()
    array.setflags(write=False)
    return array


def _read_op(model: Any, op: Any, index: int) -> Op:
    code = model.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    kind = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if kind == "CUSTOM":
        kind = "CUSTOM:" + (code.CustomCode() or b"?").decode("utf-8", "replace")
    inputs = tuple(int(i) for i in op.InputsAsNumpy()) if op.InputsLength() else ()
    outputs = tuple(int(i) for i in op.OutputsAsNumpy()) if op.OutputsLength() else ()
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
            value = tuple(getter(j) for j in range(getattr(options, method + "Length")()))
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
    skip = ("Init", "GetRootAs")
    return tuple(
        name
        for name in dir(cls)
        if name[0].isupper()
        and not name.startswith(skip)
        and not name.endswith(("AsNumpy", "Length", "IsNone", "BufferHasIdentifier"))
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def op_kind_summary(graph: Graph) -> dict[str, int]:
    counts: dict[str, int] = {}
    for op in graph.ops:
        counts[op.kind] = counts.get(op.kind, 0) + 1
    return counts
