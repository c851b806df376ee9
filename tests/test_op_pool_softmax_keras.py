"""Keras models with AveragePooling2D, MaxPooling2D, GlobalAveragePooling1D/2D, reduce_mean and
Softmax, converted by TensorFlow in 16x8 mode (int16 activations, int16 input and output) and
in float32, bit-exact with TFLM on random inputs over the int16 range (floats in [-4, 4]). The
16x8 models also run on an emulated Cortex-M4 (gcc -Os, the firmware build) against TFLM.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.read_tflite import read_model

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from tflite_builders import (
    cached_model,
    keras_model,
    quiet_tensorflow,
    representative_samples,
    single_layer_model,
)

SAMPLES = 20


def convert_16x8(model, samples: list[np.ndarray]) -> bytes:
    """Full-integer 16x8 conversion: int16 activations, int8 weights, int16 input and output."""
    tf = quiet_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def dataset():
        for s in samples:
            yield [s]

    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    ]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return converter.convert()


def model_16x8(key: str, shape, build, low: float = -1.0, high: float = 1.0):
    return cached_model(
        f"16x8-v1-{key}-{low}-{high}",
        lambda: convert_16x8(
            keras_model(shape, build), representative_samples(shape, low=low, high=high)
        ),
    )


def layers(tf):
    return tf.keras.layers


def _reduce_mean(axis, keepdims):
    def build(tf, x):
        return layers(tf).Lambda(lambda t: tf.reduce_mean(t, axis=axis, keepdims=keepdims))(x)

    return build


def _pools(tf, x):
    L = layers(tf)
    return L.MaxPooling2D(2, 1, "valid")(L.AveragePooling2D(3, 2, "same")(x))


def _pools_relu(tf, x):
    L = layers(tf)
    return L.ReLU()(L.AveragePooling2D((2, 3), (1, 2), "valid")(L.MaxPooling2D(3, 2, "same")(x)))


def _gap_softmax(tf, x):
    L = layers(tf)
    return L.Softmax()(L.GlobalAveragePooling2D()(x))


def _classifier_head(tf, x):
    L = layers(tf)
    return L.Softmax()(L.Flatten()(L.AveragePooling2D(2)(L.MaxPooling2D(2)(x))))


# name: (input shape, build, expected op kinds, input range)
MODELS = {
    "pools": ((9, 9, 4), _pools, ["AVERAGE_POOL_2D", "MAX_POOL_2D"], (-1.0, 1.0)),
    "pools-relu": ((8, 11, 3), _pools_relu, ["MAX_POOL_2D", "AVERAGE_POOL_2D"], (-2.0, 6.0)),
    "global-average-2d": ((5, 6, 8), lambda tf, x: layers(tf).GlobalAveragePooling2D()(x),
                          ["MEAN"], (-1.0, 1.0)),
    "global-average-2d-keep": (
        (16, 16, 3),
        lambda tf, x: layers(tf).GlobalAveragePooling2D(keepdims=True)(x),
        ["MEAN"],
        (-2.0, 6.0),
    ),
    "global-average-1d": ((7, 9), lambda tf, x: layers(tf).GlobalAveragePooling1D()(x),
                          ["MEAN"], (-1.0, 1.0)),
    "reduce-mean-last": ((4, 5, 6), _reduce_mean(-1, True), ["MEAN"], (-1.0, 1.0)),
    "reduce-mean-1-3": ((4, 5, 6), _reduce_mean((1, 3), False), ["MEAN"], (-3.0, 1.0)),
    "softmax": ((10,), lambda tf, x: layers(tf).Softmax()(x), ["SOFTMAX"], (-4.0, 4.0)),
    "softmax-wide": ((16,), lambda tf, x: layers(tf).Softmax()(x), ["SOFTMAX"], (-30.0, 30.0)),
    "softmax-rank3": ((3, 5, 7), lambda tf, x: layers(tf).Softmax()(x), ["SOFTMAX"], (-5.0, 5.0)),
    "gap-softmax": ((6, 6, 10), _gap_softmax, ["MEAN", "SOFTMAX"], (-3.0, 3.0)),
    "pool-flatten-softmax": (
        (8, 8, 3),
        _classifier_head,
        ["MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX"],
        (-3.0, 3.0),
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_16x8(name):
    shape, build, kinds, (low, high) = MODELS[name]
    path = model_16x8(name, shape, build, low, high)
    graph = read_model(path)
    assert [op.kind for op in graph.ops] == kinds
    assert {graph.tensor(t).dtype for op in graph.ops for t in op.outputs} == {"int16"}
    assert_bit_exact(path, SAMPLES)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_float32(name):
    shape, build, kinds, (low, high) = MODELS[name]
    path = single_layer_model(f"pool-softmax-{name}", shape, build, mode="float", low=low,
                              high=high)
    graph = read_model(path)
    assert [op.kind for op in graph.ops] == kinds
    assert {graph.tensor(t).dtype for op in graph.ops for t in op.outputs} == {"float32"}
    assert_bit_exact(path, SAMPLES)


@needs_m4
@pytest.mark.parametrize("name", ["pools-relu", "gap-softmax", "pool-flatten-softmax",
                                  "reduce-mean-1-3"])
def test_keras_16x8_on_cortex_m4(name, tmp_path):
    shape, build, _, (low, high) = MODELS[name]
    assert_bit_exact_on_m4(model_16x8(name, shape, build, low, high), tmp_path)
