"""Models freshly converted from Keras with the layers TinyML users reach for, compiled whole.

Each model mixes the op families the way real networks do (conv stacks, residual ADD, concatenated
branches, pooling, Flatten, Dense, the common output activations), so lowering, folding and the
memory plan meet each other; every output byte must equal TFLM's.
"""

from __future__ import annotations

import pytest

from tinyc import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from tflite_builders import single_layer_model


def cnn_softmax(tf, x):
    """Conv stem, depthwise-separable block with a residual ADD, two pooled branches concatenated,
    global average pooling, Dense, softmax."""
    layers = tf.keras.layers
    y = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    z = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    z = layers.Conv2D(8, 1, activation="relu")(z)
    y = layers.Add()([y, z])
    a = layers.MaxPooling2D(2)(y)
    b = layers.AveragePooling2D(2)(layers.Conv2D(4, 3, padding="same")(y))
    y = layers.Concatenate()([a, b])
    y = layers.GlobalAveragePooling2D()(y)
    return layers.Dense(5, activation="softmax")(y)


def flatten_sigmoid(tf, x):
    """Conv, pooling, Flatten into a Dense stack with a sigmoid output."""
    layers = tf.keras.layers
    y = layers.Conv2D(6, (3, 2), activation="relu")(x)
    y = layers.MaxPooling2D((2, 2))(y)
    y = layers.Flatten()(y)
    y = layers.Dense(12, activation="relu")(y)
    return layers.Dense(1, activation="sigmoid")(y)


def dense_tanh(tf, x):
    """A 1-D signal through Conv1D (converted to CONV_2D), pooling, Dense and a tanh output."""
    layers = tf.keras.layers
    y = layers.Conv1D(8, 5, padding="same", activation="relu")(x)
    y = layers.AveragePooling1D(2)(y)
    y = layers.Flatten()(y)
    return layers.Dense(3, activation="tanh")(y)


MODELS = {
    "cnn-softmax": ((16, 16, 3), cnn_softmax,
                    {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D", "AVERAGE_POOL_2D",
                     "CONCATENATION", "MEAN", "FULLY_CONNECTED", "SOFTMAX"}),
    "flatten-sigmoid": ((12, 10, 1), flatten_sigmoid,
                        {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "LOGISTIC"}),
    "conv1d-tanh": ((32, 2), dense_tanh, {"CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED",
                                          "TANH"}),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_model_compiles_whole_and_matches_tflm(name):
    shape, build, kinds = MODELS[name]
    path = single_layer_model(f"keras-{name}", shape, build, low=-1.0, high=1.0)
    found = {op.kind for op in read_model(path).ops}
    assert kinds <= found, f"the converter no longer emits {kinds - found}"
    for scratch in ("auto", "always"):
        assert_bit_exact(path, samples=50, scratch=scratch)
    compiled = compile_model(path)
    assert compiled.plan.arena_bytes >= compiled.plan.liveness_bound
