"""Models freshly converted from Keras with the layers TinyML users reach for, compiled whole.

Each model mixes the op families the way real networks do (conv stacks, residual ADD, concatenated
branches, pooling, Flatten, Dense, the common output activations), so lowering, folding and the
memory plan meet each other; every output byte must equal TFLM's. Each is converted the ways users
convert: full int8, 16x8 (int16 activations, int8 weights), int8 with uint8 input and output
(`inference_input_type = inference_output_type = tf.uint8`: a QUANTIZE at each end), and float32.
"""

from __future__ import annotations

import pytest

from tinyc import compile_model
from tinyc.pipeline import default_name
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from tflite_builders import (
    cached_model,
    keras_model,
    quiet_tensorflow,
    representative_samples,
    single_layer_model,
)


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


# mode: (tensor type of the model's input and output, what the converter is told)
MODES = {
    "int16": ("int16", {"io": "int16", "supported_ops":
                        "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"}),
    "uint8": ("uint8", {"supported_ops": "TFLITE_BUILTINS_INT8", "io": "uint8"}),
    "float": ("float32", {}),
}


def converted(name: str, mode: str):
    shape, build, _ = MODELS[name]
    _, how = MODES[mode]

    def make() -> bytes:
        tf = quiet_tensorflow()
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model(shape, build))
        if how:
            samples = representative_samples(shape, low=-1.0, high=1.0)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([s] for s in samples)
            converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, how["supported_ops"])]
            converter.inference_input_type = converter.inference_output_type = getattr(
                tf, how["io"])
        return converter.convert()

    return cached_model(f"keras-{name}-{mode}-v1", make)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_model_in_every_type_matches_tflm(name, mode):
    path = converted(name, mode)
    graph = read_model(path)
    io_type, _ = MODES[mode]
    assert {graph.tensor(t).dtype for t in graph.inputs + graph.outputs} == {io_type}
    found = {op.kind for op in graph.ops}
    assert MODELS[name][2] - {"RESHAPE"} <= found | {"RESHAPE"}, found
    if mode == "uint8":  # camera bytes in, bytes out: a QUANTIZE at each end of an int8 body
        assert graph.ops[0].kind == graph.ops[-1].kind == "QUANTIZE"
        assert {graph.tensor(t).dtype for t in graph.ops[0].outputs} == {"int8"}
    assert_bit_exact(path, samples=30)


@needs_m4
@pytest.mark.parametrize("name", sorted(MODELS))
def test_float_models_are_bit_exact_on_cortex_m4(name, tmp_path):
    """arm-none-eabi-gcc fuses float multiplies and adds by default (-ffp-contract=fast); the
    generated file turns that off for itself, so float kernels round as TFLM's do on the desk."""
    path = converted(name, "float")
    assert "fp-contract=off" in compile_model(path).files[f"{default_name(path)}.cpp"]
    for opt in ("Os", "O2"):
        assert_bit_exact_on_m4(path, tmp_path / opt, opt=opt)
