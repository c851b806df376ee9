"""Edit a real .tflite model through the flatbuffer object API: the malformed and hostile models
the validation, hostile-name and fuzz tests feed tinyc.

`edited(path, edit)` unpacks the model into a ModelT (ai_edge_litert's generated schema), calls
`edit(model)` to change it in place and packs it again. The helpers below make one change each.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flatbuffer_models import pack


def unpack(data: bytes) -> Any:
    from ai_edge_litert import schema_py_generated as s

    return s.ModelT.InitFromPackedBuf(bytearray(data), 0)


def edited(source: Path, edit: Callable[[Any], None]) -> bytes:
    model = unpack(source.read_bytes())
    edit(model)
    return pack(model)


def schema() -> Any:
    from ai_edge_litert import schema_py_generated as s

    return s


def graph(model: Any) -> Any:
    return model.subgraphs[0]


def set_scale(tensor_index: int, scale: float) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        graph(model).tensors[tensor_index].quantization.scale = np.array([scale], np.float32)

    return edit


def set_zero_point(tensor_index: int, zero_point: int) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        graph(model).tensors[tensor_index].quantization.zeroPoint = np.array([zero_point],
                                                                             np.int64)

    return edit


def set_option(op_index: int, **fields: Any) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        for name, value in fields.items():
            setattr(graph(model).operators[op_index].builtinOptions, name, value)

    return edit


def set_op_tensors(op_index: int, inputs=None, outputs=None) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        op = graph(model).operators[op_index]
        if inputs is not None:
            op.inputs = np.array(inputs, np.int32)
        if outputs is not None:
            op.outputs = np.array(outputs, np.int32)

    return edit


def set_graph_io(inputs=None, outputs=None) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        if inputs is not None:
            graph(model).inputs = np.array(inputs, np.int32)
        if outputs is not None:
            graph(model).outputs = np.array(outputs, np.int32)

    return edit


def set_data(tensor_index: int, values: np.ndarray) -> Callable[[Any], None]:
    """Give tensor `tensor_index` a buffer of its own holding `values` (a new constant)."""

    def edit(model: Any) -> None:
        buffer = schema().BufferT()
        buffer.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
        model.buffers.append(buffer)
        graph(model).tensors[tensor_index].buffer = len(model.buffers) - 1

    return edit


def set_shape(tensor_index: int, shape: list[int]) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        graph(model).tensors[tensor_index].shape = np.array(shape, np.int32)

    return edit


def rename_tensors(name_for: Callable[[int], str | bytes]) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        for i, tensor in enumerate(graph(model).tensors):
            name = name_for(i)
            tensor.name = name.encode("utf-8") if isinstance(name, str) else name

    return edit


def set_custom_op(op_index: int, custom_code: bytes) -> Callable[[Any], None]:
    """Turn op `op_index` into a CUSTOM op with `custom_code`."""

    def edit(model: Any) -> None:
        s = schema()
        code = s.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
        code.customCode = custom_code
        model.operatorCodes.append(code)
        op = graph(model).operators[op_index]
        op.opcodeIndex = len(model.operatorCodes) - 1
        op.builtinOptionsType, op.builtinOptions = 0, None

    return edit


def chain(*edits: Callable[[Any], None]) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        for e in edits:
            e(model)

    return edit
