""".tflite models written directly as flatbuffers, for what the TF converter does not produce.

Tests use these for exact scales and zero points, chosen option values, or ops the converter
would fold away. Built with the flatbuffer object API of ai_edge_litert's generated schema
(tensorflow/lite/schema/schema.fbs; field names in camelCase, e.g. `fusedActivationFunction`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    shape: Sequence[int]
    dtype: Any  # a numpy dtype (np.int8, "float32", ...): the TensorType of the same name
    # (scale, zero point) per tensor, or (scales, zero points) per channel along `quant_axis`;
    # None: unquantized
    quant: tuple[float | Sequence[float], int | Sequence[int]] | None = None
    data: Any = None  # constant values, stored in the tensor's buffer; None: a variable tensor
    name: str | None = None  # default "t<index>"
    quant_axis: int = 0  # quantized_dimension of per-channel quantization
    variable: bool = False  # is_variable: state the model keeps across invokes


@dataclass(frozen=True)
class OperatorSpec:
    kind: str  # BuiltinOperator name, e.g. "ADD"
    inputs: Sequence[int]
    outputs: Sequence[int]
    options: str | None = None  # BuiltinOptions table, e.g. "AddOptions"
    fields: Mapping[str, Any] = field(default_factory=dict)  # its fields, object-API names


def tflite_model(
    tensors: Sequence[TensorSpec],
    operators: Sequence[OperatorSpec],
    inputs: Sequence[int],
    outputs: Sequence[int],
) -> bytes:
    """A one-subgraph model; tensor i is stored in buffer i + 1 (buffer 0 is the empty one)."""
    from ai_edge_litert import schema_py_generated as s

    subgraph = s.SubGraphT()
    subgraph.tensors, buffers = [], [s.BufferT()]
    for i, spec in enumerate(tensors):
        t = s.TensorT()
        t.shape, t.buffer = list(spec.shape), len(buffers)
        t.type = getattr(s.TensorType, np.dtype(spec.dtype).name.upper())
        t.name = f"t{i}" if spec.name is None else spec.name
        t.isVariable = spec.variable
        if spec.quant is not None:
            t.quantization = s.QuantizationParametersT()
            scale, zero_point = (np.atleast_1d(q).tolist() for q in spec.quant)
            t.quantization.scale, t.quantization.zeroPoint = scale, zero_point
            t.quantization.quantizedDimension = spec.quant_axis
        subgraph.tensors.append(t)
        buffer = s.BufferT()
        if spec.data is not None:
            buffer.data = list(np.asarray(spec.data, spec.dtype).tobytes())
        buffers.append(buffer)
    kinds = list(dict.fromkeys(spec.kind for spec in operators))
    codes = []
    for kind in kinds:
        code = s.OperatorCodeT()
        code.builtinCode = getattr(s.BuiltinOperator, kind)
        # 127 is PLACEHOLDER_FOR_GREATER_OP_CODES: readers then take builtinCode
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1
        codes.append(code)
    subgraph.operators = []
    for spec in operators:
        op = s.OperatorT()
        op.opcodeIndex = kinds.index(spec.kind)
        op.inputs, op.outputs = list(spec.inputs), list(spec.outputs)
        if spec.options is not None:
            op.builtinOptionsType = getattr(s.BuiltinOptions, spec.options)
            op.builtinOptions = getattr(s, spec.options + "T")()
            for name, value in spec.fields.items():
                setattr(op.builtinOptions, name, value)
        subgraph.operators.append(op)
    subgraph.inputs, subgraph.outputs = list(inputs), list(outputs)
    model = s.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, codes, [subgraph]
    model.buffers = buffers
    return pack(model)


def single_op_tflite(
    kind: str,
    tensors: Sequence[TensorSpec],
    inputs: Sequence[int],
    outputs: Sequence[int],
    options: str | None = None,
    **fields: Any,
) -> bytes:
    """A model of one op that reads every tensor but `outputs` (constants included), in order.

    `inputs`, `outputs`: the model's; `options`, `fields`: as in OperatorSpec.
    """
    op_inputs = [i for i in range(len(tensors)) if i not in outputs]
    op = OperatorSpec(kind, op_inputs, outputs, options, fields)
    return tflite_model(tensors, [op], inputs, outputs)


def pack(model: Any) -> bytes:
    """The .tflite bytes of a ModelT (of any copy of the generated schema)."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
