"""CONV_2D and DEPTHWISE_CONV_2D in float32: bit-identical with TFLM's reference kernels.

TFLM sums each output value in one order (filter rows, columns, input channels; the taps in the
padding skipped), then adds the bias (0.0f without one) and clamps; runtime/conv_f32.h keeps that
order, and the host build has no fused multiply-add, so every output float must be the same
bits. A grid of flatbuffer models (tests/conv_models.py: random weights and biases, inputs in
[-4, 4]) and a Keras model converted without quantization (Conv2D, grouped Conv2D,
DepthwiseConv2D, SeparableConv2D).
"""

from __future__ import annotations

import pytest

from tinyc.lower import lower
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from conv_models import Conv, assert_varied, write_model
from tflite_builders import single_layer_model

SAMPLES = 12


def f32(kind: str, shape, **fields) -> Conv:
    return Conv(kind, "float32", shape, **fields)


GRID = [
    f32("conv", (1, 7, 8, 5)),
    f32("conv", (1, 9, 9, 8), channels=6, stride=(2, 2), padding="VALID", activation="RELU"),
    f32("conv", (1, 8, 7, 16), filter_hw=(1, 1), channels=7),
    f32("conv", (1, 10, 9, 3), channels=4, dilation=(2, 3), activation="RELU6"),
    f32("conv", (2, 6, 6, 4), filter_hw=(5, 3), channels=3, bias=None),
    f32("conv", (1, 6, 6, 4), channels=5, activation="RELU_N1_TO_1"),
    f32("conv", (1, 8, 8, 6), channels=6, groups=2),
    f32("conv", (1, 8, 8, 6), channels=9, groups=3, stride=(2, 1), activation="RELU"),
    f32("conv", (1, 7, 7, 8), channels=8, groups=8, bias=None),  # depthwise-like groups
    f32("conv", (1, 3, 3, 4), filter_hw=(5, 5), channels=3),  # every window clipped
    f32("depthwise", (1, 9, 9, 8), channels=1),
    f32("depthwise", (1, 9, 9, 3), channels=3, stride=(2, 2), activation="RELU6"),
    f32("depthwise", (1, 10, 10, 4), channels=2, dilation=(2, 2), padding="VALID"),
    f32("depthwise", (2, 6, 6, 2), filter_hw=(3, 1), channels=4, bias=None),
    f32("depthwise", (1, 6, 6, 5), filter_hw=(5, 5), channels=1, activation="RELU_N1_TO_1"),
]


@pytest.mark.parametrize("c", GRID, ids=lambda c: c.id)
def test_grid(c, tmp_path):
    path = write_model(c, tmp_path)
    assert_varied(path)
    assert_bit_exact(path, SAMPLES)


def test_grid_calls_the_float_kernels(tmp_path):
    functions = set()
    for c in GRID:
        (call,) = lower(read_model(write_model(c, tmp_path))).calls
        functions.add(call.function)
        assert call.scratch_bytes == 0
    assert functions == {"tinyc_conv_f32", "tinyc_depthwise_conv_f32"}


def conv_net(tf, x):
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = tf.keras.layers.Conv2D(8, 3, padding="same", groups=2, activation="relu6")(y)
    y = tf.keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)(y)
    y = tf.keras.layers.SeparableConv2D(6, 3, padding="valid")(y)
    return tf.keras.layers.Conv2D(4, 1, dilation_rate=1, use_bias=False)(y)


def test_keras_float_conv_net():
    path = single_layer_model("conv-net-float-v1", (12, 12, 4), conv_net, mode="float")
    graph = read_model(path)
    kinds = [op.kind for op in graph.ops]
    assert kinds.count("CONV_2D") == 4 and kinds.count("DEPTHWISE_CONV_2D") == 2, kinds
    assert all(graph.tensor(t).dtype == "float32" for op in graph.ops for t in op.inputs)
    assert any(graph.tensor(op.inputs[1]).shape[3] < graph.tensor(op.inputs[0]).shape[3]
               for op in graph.ops if op.kind == "CONV_2D"), "no grouped CONV_2D"
    assert_bit_exact(path, 30)

