"""Single-op CONV_2D / DEPTHWISE_CONV_2D flatbuffer models for the conv tests, any type.

`conv_model` writes a model of one layer with chosen geometry, quantization, bias type and fused
activation; scales are picked so that TFLM's outputs spread over the output type's range (the
comparison is not vacuous) while fused activations still clip some of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model

ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PADDING = {"SAME": 0, "VALID": 1}
# typical |value| of a uniformly random input of each type
SPREAD = {"int8": 74.0, "int16": 18900.0, "float32": 2.3}


@dataclass(frozen=True)
class Conv:
    """One layer. kind: "conv" or "depthwise"; dtype: the activations' type ("int8", "int16"
    or "float32"); shape: input NHWC; channels: output channels (conv) or depth multiplier
    (depthwise); groups: conv only."""

    kind: str
    dtype: str
    shape: tuple[int, int, int, int]
    filter_hw: tuple[int, int] = (3, 3)
    channels: int = 4
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    per_channel: bool = True
    bias: str | None = "default"  # a type name, None (no bias) or "default" (the usual type)
    activation: str = "NONE"
    groups: int = 1
    zero_points: tuple[int, int] = (0, 0)  # input, output
    quantized_bias_type: int = 0  # Conv2DOptions.quantized_bias_type (schema TensorType)
    seed: int = 0
    weight_range: int = 127  # weights uniform in [-weight_range, weight_range]
    extreme_weights: bool = False  # weights +-weight_range only (the largest sums)
    options: dict = field(default_factory=dict)  # extra option fields, overriding

    @property
    def bias_type(self) -> str | None:
        if self.bias != "default":
            return self.bias
        return {"int8": "int32", "int16": "int64", "float32": "float32"}[self.dtype]

    @property
    def id(self) -> str:
        parts = [self.kind, self.dtype, "x".join(map(str, self.shape)),
                 "k" + "x".join(map(str, self.filter_hw)), f"c{self.channels}",
                 "s" + "x".join(map(str, self.stride)), "d" + "x".join(map(str, self.dilation)),
                 self.padding, "pc" if self.per_channel else "pt", f"b{self.bias_type}",
                 self.activation]
        if self.groups > 1:
            parts.append(f"g{self.groups}")
        if self.zero_points != (0, 0):
            parts.append("zp" + "_".join(map(str, self.zero_points)))
        if self.quantized_bias_type:
            parts.append(f"qbt{self.quantized_bias_type}")
        if self.extreme_weights or self.weight_range != 127:
            parts.append(f"w{'+-' if self.extreme_weights else ''}{self.weight_range}")
        if self.seed:
            parts.append(f"seed{self.seed}")
        return "-".join(parts)

    def output_hw(self) -> tuple[int, int]:
        out = []
        for size, taps, s, d in zip(self.shape[1:3], self.filter_hw, self.stride, self.dilation):
            effective = (taps - 1) * d + 1
            out.append((size + s - 1) // s if self.padding == "SAME"
                       else (size + s - effective) // s)
        return out[0], out[1]


def conv_model(c: Conv) -> bytes:
    rng = np.random.default_rng(c.seed)
    n, h, w, depth = c.shape
    kh, kw = c.filter_hw
    if c.kind == "conv":
        out_channels = c.channels
        filter_shape = (out_channels, kh, kw, depth // c.groups)
        axis = 0
    else:
        out_channels = depth * c.channels
        filter_shape = (1, kh, kw, out_channels)
        axis = 3
    taps = int(np.prod(filter_shape)) // out_channels
    oh, ow = c.output_hw()
    tensors = []
    float_model = c.dtype == "float32"
    if float_model:
        weights = rng.uniform(-1, 1, filter_shape).astype(np.float32)
        x_quant = y_quant = None
        w_spec = TensorSpec(filter_shape, np.float32, None, weights)
        acc_spread = math.sqrt(taps) * SPREAD["float32"] * 0.58
    else:
        if c.extreme_weights:
            weights = (rng.choice([-1, 1], filter_shape) * c.weight_range).astype(np.int8)
        else:
            weights = rng.integers(-c.weight_range, c.weight_range, filter_shape,
                                   endpoint=True).astype(np.int8)
        x_scale = 0.01 if c.dtype == "int8" else 1e-4
        if c.per_channel:
            w_scales = list(rng.uniform(0.5, 1.0, out_channels) * 0.002)
        else:
            w_scales = [0.0015]
        acc_spread = math.sqrt(taps) * SPREAD[c.dtype] * c.weight_range * 0.58
        out_spread = 40.0 if c.dtype == "int8" else 9000.0
        y_scale = x_scale * 0.0015 * acc_spread / out_spread
        x_quant = (x_scale, c.zero_points[0])
        y_quant = (y_scale, c.zero_points[1])
        w_spec = TensorSpec(filter_shape, np.int8, (w_scales, [0] * len(w_scales)), weights,
                            quant_axis=axis)
    tensors.append(TensorSpec(c.shape, c.dtype, x_quant))
    tensors.append(w_spec)
    inputs = [0, 1]
    if c.bias_type is not None:
        if float_model:
            values = rng.uniform(-1, 1, out_channels) * acc_spread
            quant = None
        else:
            ch_scales = w_scales if c.per_channel else w_scales * out_channels
            bias_scales = [x_scale * s for s in ch_scales]
            values = rng.uniform(-1, 1, out_channels) * acc_spread
            quant = (bias_scales, [0] * out_channels)
        tensors.append(TensorSpec((out_channels,), c.bias_type, quant,
                                  np.asarray(values).astype(c.bias_type)))
        inputs.append(2)
    tensors.append(TensorSpec((n, oh, ow, out_channels), c.dtype, y_quant))
    fields = dict(padding=PADDING[c.padding], strideH=c.stride[0], strideW=c.stride[1],
                  dilationHFactor=c.dilation[0], dilationWFactor=c.dilation[1],
                  fusedActivationFunction=ACTIVATIONS[c.activation])
    if c.kind == "conv":
        kind, options = "CONV_2D", "Conv2DOptions"
        if c.quantized_bias_type:
            fields["quantizedBiasType"] = c.quantized_bias_type
    else:
        kind, options = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions"
        fields["depthMultiplier"] = c.channels
    fields.update(c.options)
    op = OperatorSpec(kind, inputs, [len(tensors) - 1], options, fields)
    return tflite_model(tensors, [op], [0], [len(tensors) - 1])


def write_model(c: Conv, folder) -> Path:
    """The model of `c` as a file in `folder`."""
    path = Path(folder) / f"{c.id}.tflite"
    path.write_bytes(conv_model(c))
    return path


def tflm_output(path, seed: int = 3) -> np.ndarray:
    """TFLM's output for one random input over the input type's range (floats in [-4, 4])."""
    from tinyc.ir import DTYPES
    from tinyc.read_tflite import read_model
    from tinyc.verify.compare import tflm_runner

    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    dtype = DTYPES[x.dtype][0]
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.floating):
        sample = rng.uniform(-4, 4, x.shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        sample = rng.integers(info.min, info.max, x.shape, endpoint=True, dtype=dtype)
    (out,) = tflm_runner(path, 1)([sample])
    return np.asarray(out)


def assert_varied(path, minimum: int = 8) -> None:
    """Guard against a vacuous comparison: TFLM's output must take many values, and not sit
    at the clamp bounds (saturated) for most of its elements."""
    out = tflm_output(path).ravel()
    distinct = len(np.unique(out))
    assert distinct >= min(minimum, out.size), f"{path.name}: {distinct} distinct outputs"
    if np.issubdtype(out.dtype, np.integer):
        info = np.iinfo(out.dtype)
        saturated = np.mean((out == info.min) | (out == info.max))
        assert saturated < 0.5, f"{path.name}: {saturated:.0%} of the outputs saturate"
