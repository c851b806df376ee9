"""AVERAGE_POOL_2D, MAX_POOL_2D, SOFTMAX, MEAN, RESHAPE/SQUEEZE/EXPAND_DIMS: bit-exact with TFLM.

Each model is one Keras graph converted to full int8 by the TF converter; options the converter
never emits (softmax beta, SQUEEZE, EXPAND_DIMS, unsupported activations) are written into a
converted model with the flatbuffer object API. Every model is compared with the TFLM interpreter
on random int8 inputs spanning the whole int8 range. The int16 and float32 paths (and grids of
flatbuffer models over every type) are in test_op_pool_softmax_grid.py, test_op_softmax_s16.py
and test_op_pool_softmax_keras.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from flatbuffer_models import pack
from tflite_builders import single_layer_model

SAMPLES = 20


def layers(tf):
    return tf.keras.layers


# --- pooling: (input shape, layer factory) ---
POOLS = {
    "avg-2x2-s2-valid": ((8, 8, 4), lambda L: L.AveragePooling2D(2, 2, "valid")),
    "avg-3x3-s2-same-odd": ((9, 9, 3), lambda L: L.AveragePooling2D(3, 2, "same")),
    "avg-3x3-s1-same-rect": ((7, 5, 2), lambda L: L.AveragePooling2D(3, 1, "same")),
    "avg-2x3-s1x2-valid": ((6, 7, 5), lambda L: L.AveragePooling2D((2, 3), (1, 2), "valid")),
    "avg-5x5-s1-same-big-filter": ((4, 4, 3), lambda L: L.AveragePooling2D(5, 1, "same")),
    "avg-4x4-s3-same": ((10, 11, 2), lambda L: L.AveragePooling2D(4, 3, "same")),
    "max-2x2-s2-valid": ((8, 8, 4), lambda L: L.MaxPooling2D(2, 2, "valid")),
    "max-3x3-s2-same-odd": ((9, 9, 3), lambda L: L.MaxPooling2D(3, 2, "same")),
    "max-3x2-s2x1-same": ((7, 6, 3), lambda L: L.MaxPooling2D((3, 2), (2, 1), "same")),
    "max-4x4-s1-valid": ((6, 6, 2), lambda L: L.MaxPooling2D(4, 1, "valid")),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pool(name):
    shape, make = POOLS[name]
    path = single_layer_model(f"pool-{name}", shape, lambda tf, x: make(layers(tf))(x))
    assert {op.kind for op in read_model(path).ops} <= {"AVERAGE_POOL_2D", "MAX_POOL_2D"}
    assert_bit_exact(path, SAMPLES)


@pytest.mark.parametrize("kind,activation", [("max", "RELU"), ("avg", "RELU6")])
def test_pool_fused_activation(kind, activation):
    """The converter fuses a following ReLU/ReLU6 into the pool's fused_activation_function."""

    def build(tf, x):
        L = layers(tf)
        pool = L.MaxPooling2D(2) if kind == "max" else L.AveragePooling2D(2)
        return L.ReLU(6.0 if activation == "RELU6" else None)(pool(x))

    path = single_layer_model(f"pool-{kind}-{activation}", (8, 8, 3), build, low=-4.0, high=8.0)
    ops = read_model(path).ops
    assert [op.options["fused_activation_function"] for op in ops] == [activation]
    assert_bit_exact(path, SAMPLES)


def test_pool_float():
    def build(tf, x):
        L = layers(tf)
        return L.MaxPooling2D(3, 2, "same")(L.AveragePooling2D(3, 1, "same")(x))

    path = single_layer_model("pool-float", (9, 7, 3), build, mode="float")
    assert_bit_exact(path, SAMPLES)


# --- softmax ---


def test_softmax_on_input():
    path = single_layer_model("softmax-input", (10,), lambda tf, x: layers(tf).Softmax()(x))
    assert_bit_exact(path, SAMPLES)


@pytest.mark.parametrize("spread", [8.0, 30.0, 100.0])
def test_softmax_wide_inputs(spread):
    """Large input scales: most differences fall below diff_min, the rest saturate exp()."""
    path = single_layer_model(
        f"softmax-spread-{spread}",
        (16,),
        lambda tf, x: layers(tf).Softmax()(x),
        low=-spread,
        high=spread,
    )
    assert_bit_exact(path, SAMPLES)


def test_softmax_after_dense():
    def build(tf, x):
        L = layers(tf)
        return L.Softmax()(L.Dense(12)(x))

    path = single_layer_model("softmax-dense", (20,), build, low=-3.0, high=3.0)
    assert [op.kind for op in read_model(path).ops] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert_bit_exact(path, SAMPLES)


def test_softmax_rank3_and_wide_depth():
    path = single_layer_model(
        "softmax-rank3", (3, 5, 7), lambda tf, x: layers(tf).Softmax()(x), low=-5.0, high=5.0
    )
    assert_bit_exact(path, SAMPLES)
    path = single_layer_model(
        "softmax-depth300", (300,), lambda tf, x: layers(tf).Softmax()(x), low=-6.0, high=6.0
    )
    assert_bit_exact(path, SAMPLES)


@pytest.mark.parametrize("beta", [0.25, 2.0, 37.5, 2000.0])
def test_softmax_beta(beta, tmp_path):
    """The converter always writes beta=1; other values are written in, as other tools do."""
    base = single_layer_model(
        "softmax-beta-base", (10,), lambda tf, x: layers(tf).Softmax()(x), low=-4.0, high=4.0
    )

    def edit(model):
        op = model.subgraphs[0].operators[0]
        op.builtinOptions.beta = beta

    assert_bit_exact(patch_model(base, tmp_path / "beta.tflite", edit), SAMPLES)


@pytest.mark.parametrize("spread", [4.0, 30.0])
def test_softmax_int16_output(spread, tmp_path):
    """int8 -> int16 runs the same fixed-point exp and reciprocal with 8 more output bits, so it
    checks them far more finely than int8 outputs can."""
    base = single_layer_model(
        f"softmax-spread-{spread}",
        (16,),
        lambda tf, x: layers(tf).Softmax()(x),
        low=-spread,
        high=spread,
    )

    def edit(model):
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

        graph = model.subgraphs[0]
        out = graph.tensors[graph.operators[0].outputs[0]]
        out.type = fb.TensorType.INT16
        out.quantization.scale, out.quantization.zeroPoint = [1.0 / 65536], [-32768]

    path = patch_model(base, tmp_path / "s16.tflite", edit)
    assert read_model(path).tensor(read_model(path).outputs[0]).dtype == "int16"
    assert_bit_exact(path, SAMPLES)


# --- mean ---


def test_global_average_pooling():
    path = single_layer_model(
        "gap-5x6x8", (5, 6, 8), lambda tf, x: layers(tf).GlobalAveragePooling2D()(x)
    )
    op = read_model(path).ops[0]
    assert op.kind == "MEAN" and not op.options["keep_dims"]
    assert_bit_exact(path, SAMPLES)


def test_global_average_pooling_keepdims_large():
    """16x16 = 256 elements per output: the multiplier absorbs 1/256 with the largest shift."""
    path = single_layer_model(
        "gap-keep-16x16x3",
        (16, 16, 3),
        lambda tf, x: layers(tf).GlobalAveragePooling2D(keepdims=True)(x),
        low=-2.0,
        high=6.0,
    )
    op = read_model(path).ops[0]
    assert op.kind == "MEAN" and op.options["keep_dims"]
    assert_bit_exact(path, SAMPLES)


@pytest.mark.parametrize("axis,keepdims", [(-1, False), (1, True), ((0, 2), False)])
def test_reduce_mean_axes(axis, keepdims):
    def build(tf, x):
        return layers(tf).Lambda(lambda t: tf.reduce_mean(t, axis=axis, keepdims=keepdims))(x)

    path = single_layer_model(f"mean-{axis}-{keepdims}", (4, 5, 6), build)
    assert [op.kind for op in read_model(path).ops] == ["MEAN"]
    assert_bit_exact(path, SAMPLES)


def test_global_average_pooling_1d_and_float():
    path = single_layer_model("gap1d", (7, 9), lambda tf, x: layers(tf).GlobalAveragePooling1D()(x))
    assert_bit_exact(path, SAMPLES)
    path = single_layer_model(
        "gap-float", (5, 6, 8), lambda tf, x: layers(tf).GlobalAveragePooling2D()(x), mode="float"
    )
    assert_bit_exact(path, SAMPLES)


# --- reshape family, and FULLY_CONNECTED on inputs of higher rank ---


def test_flatten_dense_softmax():
    """A small classifier: pool, Flatten (RESHAPE), Dense, Softmax."""

    def build(tf, x):
        L = layers(tf)
        return L.Softmax()(L.Dense(6)(L.Flatten()(L.AveragePooling2D(2)(x))))

    path = single_layer_model("flatten-classifier", (8, 8, 3), build)
    kinds = [op.kind for op in read_model(path).ops]
    assert kinds == ["AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert_bit_exact(path, SAMPLES)


def test_reshape_between_layers():
    def build(tf, x):
        L = layers(tf)
        return L.Softmax()(L.Reshape((6, 4))(L.MaxPooling2D(2)(L.Reshape((8, 6, 2))(x))))

    path = single_layer_model("reshape-chain", (96,), build, low=-5.0, high=5.0)
    assert [op.kind for op in read_model(path).ops].count("RESHAPE") == 2
    assert_bit_exact(path, SAMPLES)


def test_reshape_only_model():
    """The model's output is its input's bytes: both names point at one arena buffer."""
    path = single_layer_model("reshape-only", (4, 6), lambda tf, x: layers(tf).Reshape((24,))(x))
    assert [op.kind for op in read_model(path).ops] == ["RESHAPE"]
    assert_bit_exact(path, SAMPLES)


def test_reshape_of_a_constant_is_folded():
    """A RESHAPE of constant weights becomes a constant of the new shape, not an alias."""
    from tinyc.ir import Graph, Op, QuantParams, Tensor
    from tinyc.lower import lower
    from tinyc.ops import KernelCall

    q = QuantParams((0.5,), (0,))
    flat = np.arange(12, dtype=np.int8)
    tensors = (
        Tensor(0, "x", (1, 6), "int8", q),
        Tensor(1, "w_flat", (12,), "int8", q, flat),
        Tensor(2, "shape", (2,), "int32", None, np.array([2, 6], np.int32)),
        Tensor(3, "w", (2, 6), "int8", q),
        Tensor(4, "y", (1, 2), "int8", q),
    )
    ops = (
        Op(0, "RESHAPE", (1, 2), (3,)),
        Op(1, "FULLY_CONNECTED", (0, 3, -1), (4,), {"fused_activation_function": "NONE"}),
    )
    model = lower(Graph(tensors, ops, inputs=(0,), outputs=(4,)))
    assert [type(s) for s in model.steps] == [KernelCall]
    assert np.array_equal(model.graph.tensor(3).data, flat.reshape(2, 6))


def test_dense_on_rank3_input():
    """Dense on [1, 4, 6] is a FULLY_CONNECTED with keep_num_dims; Flatten -> Dense reshapes."""
    path = single_layer_model("dense-rank3", (4, 6), lambda tf, x: layers(tf).Dense(5)(x))
    op = read_model(path).ops[0]
    assert op.kind == "FULLY_CONNECTED" and op.options["keep_num_dims"]
    assert_bit_exact(path, SAMPLES)

    def build(tf, x):
        L = layers(tf)
        return L.Dense(7, activation="relu")(L.Flatten()(x))

    assert_bit_exact(single_layer_model("flatten-dense-rank3", (4, 6), build), SAMPLES)


def test_squeeze_and_expand_dims(tmp_path):
    """The converter turns tf.expand_dims/tf.squeeze into RESHAPE; write the real ops in."""

    def build(tf, x):
        L = layers(tf)
        wide = L.Lambda(lambda t: tf.expand_dims(t, -1))(x)
        return L.Lambda(lambda t: tf.squeeze(t, -1))(L.MaxPooling2D(2)(wide))

    base = single_layer_model("expand-squeeze", (4, 6), build)
    assert [op.kind for op in read_model(base).ops] == ["RESHAPE", "MAX_POOL_2D", "RESHAPE"]

    def edit(model):
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

        graph = model.subgraphs[0]
        expand, _, squeeze = graph.operators
        shape_tensor = graph.tensors[expand.inputs[1]]  # becomes EXPAND_DIMS's axis: [3]
        shape_tensor.shape = [1]
        model.buffers[shape_tensor.buffer].data = np.array([3], "<i4").view(np.uint8).tolist()
        expand.opcodeIndex = _opcode(model, fb.BuiltinOperator.EXPAND_DIMS)
        expand.builtinOptionsType, expand.builtinOptions = fb.BuiltinOptions.NONE, None
        squeeze.opcodeIndex = _opcode(model, fb.BuiltinOperator.SQUEEZE)
        squeeze.inputs = squeeze.inputs[:1]
        squeeze.builtinOptionsType = fb.BuiltinOptions.SqueezeOptions
        squeeze.builtinOptions = fb.SqueezeOptionsT()
        squeeze.builtinOptions.squeezeDims = [3]

    path = patch_model(base, tmp_path / "squeeze.tflite", edit)
    assert [op.kind for op in read_model(path).ops] == ["EXPAND_DIMS", "MAX_POOL_2D", "SQUEEZE"]
    assert_bit_exact(path, SAMPLES)


# --- errors ---


def test_unsupported_pool_activation_is_named(tmp_path):
    base = single_layer_model(
        "pool-max-2x2-s2-valid",
        (8, 8, 4),
        lambda tf, x: POOLS["max-2x2-s2-valid"][1](layers(tf))(x),
    )

    def edit(model):
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

        options = model.subgraphs[0].operators[0].builtinOptions
        options.fusedActivationFunction = fb.ActivationFunctionType.TANH

    path = patch_model(base, tmp_path / "tanh.tflite", edit)
    with pytest.raises(
        UnsupportedError,
        match=r"op 0 \(MAX_POOL_2D\).*"
        r"fused_activation_function=TANH",
    ):
        compile_model(path)


def test_unsupported_softmax_output_quantization_is_named(tmp_path):
    base = single_layer_model("softmax-input", (10,), lambda tf, x: layers(tf).Softmax()(x))

    def edit(model):
        graph = model.subgraphs[0]
        graph.tensors[graph.operators[0].outputs[0]].quantization.zeroPoint = [0]

    path = patch_model(base, tmp_path / "zp.tflite", edit)
    with pytest.raises(UnsupportedError, match=r"op 0 \(SOFTMAX\).*zero point 0"):
        compile_model(path)


# --- helpers ---


def patch_model(source: Path, target: Path, edit) -> Path:
    """Copy of a .tflite with `edit(ModelT)` applied (the flatbuffer object API)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    model = fb.ModelT.InitFromPackedBuf(bytearray(source.read_bytes()), 0)
    edit(model)
    target.write_bytes(pack(model))
    return target


def _opcode(model, builtin: int) -> int:
    """Index of the operator code for `builtin`, added if the model has none."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    for i, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return i
    code = fb.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    code.version = 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1
