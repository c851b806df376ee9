"""CONV_2D and DEPTHWISE_CONV_2D: bit-exact with TFLM's reference kernels.

A grid of single-layer Keras models converted to full int8 by the TF converter covers padding,
strides, dilation, depth multipliers, kernel shapes, fused activations, bias or none, per-channel
and per-tensor weights. Inputs are calibrated on an asymmetric range, so the input zero point is
not 0: the conv kernels' folding of it into the bias (with the padding correction) and the
depthwise kernel's (x - zero point) sums over clipped windows are exercised. Each model is
compared with the TFLM interpreter on random int8 inputs over the whole int8 range.

The hosts running these tests take the portable C path of the kernels; on cores with the Arm DSP
extension the kernels use SXTB16/SMLAD (conv) and SXTAB16/SMLABB (depthwise, in assembly) instead,
which `test_cortex_m4_dsp_path_is_bit_exact` checks on an emulated Cortex-M4 (skipped when the
Arm toolchain or QEMU is missing).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import tempfile
from functools import cache
from pathlib import Path

import cffi
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyc.errors import UnsupportedError
from tinyc.lower import lower
from tinyc.ops.conv import depthwise_filter_blocks, interleave_rows
from tinyc.pipeline import compile_graph
from tinyc.quantize import multiply_by_quantized_multiplier
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner
from tinyc.write_files import runtime_sources

from conftest import SHARED_MODELS, assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from conv_models import Conv, write_model
from conv_models import assert_varied as assert_conv_varied
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from tflite_builders import single_layer_model

SAMPLES = 20
LOW, HIGH = -0.4, 1.2  # calibration range: input zero point about -64


def conv(tf, filters, kernel, strides=1, padding="same", dilation=1, activation=None,
         use_bias=True):
    return tf.keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
        activation=activation, use_bias=use_bias,
        bias_initializer=tf.keras.initializers.RandomUniform(-0.5, 0.5))


def depthwise(tf, kernel, strides=1, padding="same", dilation=1, multiplier=1, activation=None,
              use_bias=True):
    return tf.keras.layers.DepthwiseConv2D(
        kernel, strides=strides, padding=padding, dilation_rate=dilation,
        depth_multiplier=multiplier, activation=activation, use_bias=use_bias,
        bias_initializer=tf.keras.initializers.RandomUniform(-0.5, 0.5))


# name -> (input shape HWC, layer factory). Names say what each model adds to the grid.
CONVS = {
    "3x3-same-relu": ((9, 11, 3), lambda tf: conv(tf, 5, 3, activation="relu")),
    "3x3-valid-nobias": ((8, 8, 4), lambda tf: conv(tf, 6, 3, padding="valid", use_bias=False)),
    "3x3-same-s2-relu6-odd-input": ((11, 9, 3), lambda tf: conv(tf, 8, 3, 2, activation="relu6")),
    "3x3-valid-s2": ((10, 10, 2), lambda tf: conv(tf, 4, 3, 2, "valid", activation="relu")),
    "3x3-same-dilation2": ((12, 10, 3), lambda tf: conv(tf, 4, 3, dilation=2)),
    "3x3-valid-dilation2-relu": ((11, 9, 2), lambda tf: conv(tf, 3, 3, padding="valid",
                                                           dilation=2, activation="relu")),
    "2x2-same-even-kernel": ((6, 7, 3), lambda tf: conv(tf, 4, 2)),
    "5x5-same-depth1": ((7, 7, 1), lambda tf: conv(tf, 8, 5, activation="relu")),
    "3x1-same-nonsquare": ((10, 6, 4), lambda tf: conv(tf, 6, (3, 1))),
    "1x5-valid-s1x2": ((6, 12, 3), lambda tf: conv(tf, 5, (1, 5), (1, 2), "valid")),
    "10x4-same-s2-kws-like": ((25, 10, 1), lambda tf: conv(tf, 16, (10, 4), 2,
                                                           activation="relu")),
    "3x3-same-deep-k288": ((8, 8, 32), lambda tf: conv(tf, 16, 3, activation="relu")),
    "3x3-dilation2-deep-odd-filters": ((9, 9, 32), lambda tf: conv(tf, 5, 3, dilation=2)),
    "3x3-same-s2-deep-odd-input": ((9, 11, 40), lambda tf: conv(tf, 6, 3, 2, activation="relu6")),
    "1x1-relu-pointwise": ((7, 9, 16), lambda tf: conv(tf, 24, 1, activation="relu")),
    "1x1-odd-everything": ((5, 5, 7), lambda tf: conv(tf, 5, 1)),
    "1x1-nobias-relu6": ((4, 6, 12), lambda tf: conv(tf, 8, 1, activation="relu6",
                                                     use_bias=False)),
    "1x1-s2-strided": ((9, 9, 8), lambda tf: conv(tf, 6, 1, 2)),
}

DEPTHWISE = {
    "3x3-same-relu6": ((9, 11, 8), lambda tf: depthwise(tf, 3, activation="relu6")),
    "3x3-same-s2-odd-channels": ((11, 9, 6), lambda tf: depthwise(tf, 3, 2)),
    "3x3-valid-nobias": ((8, 8, 5), lambda tf: depthwise(tf, 3, padding="valid",
                                                         use_bias=False)),
    "3x3-same-multiplier2": ((7, 7, 3), lambda tf: depthwise(tf, 3, multiplier=2,
                                                             activation="relu")),
    "3x3-same-s2-multiplier8-depth1": ((9, 9, 1), lambda tf: depthwise(tf, 3, 2, multiplier=8)),
    "3x3-same-dilation2": ((10, 10, 4), lambda tf: depthwise(tf, 3, dilation=2)),
    "3x1-valid-nonsquare": ((20, 1, 16), lambda tf: depthwise(tf, (3, 1), padding="valid")),
    "5x5-same-relu": ((8, 8, 12), lambda tf: depthwise(tf, 5, activation="relu")),
    "10x8-same-s2-multiplier4": ((13, 12, 2), lambda tf: depthwise(tf, (10, 8), 2,
                                                                   multiplier=4)),
    "3x3-same-small-map": ((3, 3, 16), lambda tf: depthwise(tf, 3, activation="relu")),
    "12x12-same-144-taps": ((14, 13, 4), lambda tf: depthwise(tf, 12)),
    "17x17-same-over-256-taps": ((18, 17, 2), lambda tf: depthwise(tf, 17)),
    "5x1-same-dilation2x1-wide": ((12, 5, 6), lambda tf: depthwise(tf, (5, 1), dilation=(2, 1))),
}


def grid_model(kind: str, name: str) -> Path:
    shape, make = (CONVS if kind == "conv" else DEPTHWISE)[name]
    return single_layer_model(f"{kind}-{name}", shape, lambda tf, x: make(tf)(x),
                              low=LOW, high=HIGH)


def assert_varied_outputs(path: Path) -> None:
    """Guard against a vacuous comparison: TFLM's outputs must not be (nearly) constant."""
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    sample = np.random.default_rng(3).integers(-128, 127, x.shape, endpoint=True, dtype=np.int8)
    (out,) = tflm_runner(path, 1)([sample])
    assert len(np.unique(out)) >= 8, f"{path.name}: output has too few distinct values"


@pytest.mark.parametrize("scratch", ["always", "never"])
@pytest.mark.parametrize("name", sorted(CONVS))
def test_conv(name, scratch):
    """Both kernel variants: with a scratch buffer in the arena, and the scratch-free fallback."""
    path = grid_model("conv", name)
    assert [op.kind for op in read_model(path).ops] == ["CONV_2D"]
    assert_bit_exact(path, SAMPLES, scratch=scratch)
    assert_varied_outputs(path)


@pytest.mark.parametrize("name", sorted(DEPTHWISE))
def test_depthwise(name):
    """One kernel, which needs no scratch: the scratch policy does not change it."""
    path = grid_model("depthwise", name)
    graph = read_model(path)
    assert [op.kind for op in graph.ops] == ["DEPTHWISE_CONV_2D"]
    (call,) = lower(graph).calls
    assert (call.scratch_bytes, call.fallback) == (0, None)
    assert_bit_exact(path, SAMPLES)
    assert_varied_outputs(path)


def test_grid_exercises_what_it_claims():
    """The converter keeps what the grid varies: zero points, paddings, kernel paths."""
    functions, paddings, zero_points, multipliers = set(), set(), set(), set()
    for kind, names in (("conv", CONVS), ("depthwise", DEPTHWISE)):
        for name in names:
            graph = read_model(grid_model(kind, name))
            (call,) = lower(graph).calls
            functions |= {call.function, call.fallback.function if call.fallback else ""}
            params = dict(call.params)
            paddings.add((params["pad_height"], params["pad_width"]))
            zero_points.add(params["input_zero_point"])
            multipliers.add(params.get("depth_multiplier", 0))
    assert functions == {"", "tinyc_conv_s8", "tinyc_conv_im2col_s8", "tinyc_conv_1x1_s8",
                         "tinyc_depthwise_conv_s8"}
    assert {(0, 0), (1, 1), (2, 2)} <= paddings
    assert 0 not in zero_points
    assert {1, 2, 4, 8} <= multipliers


# --- fused RELU_N1_TO_1 and per-tensor weights need converter settings the builder lacks ---


def test_relu_n1_to_1_is_fused_and_bit_exact():
    path = single_layer_model(
        "conv-relu-n1-to-1", (6, 6, 3),
        lambda tf, x: tf.keras.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(
            conv(tf, 4, 3)(x)), low=LOW, high=HIGH)
    (op,) = read_model(path).ops
    assert op.options["fused_activation_function"] == "RELU_N1_TO_1"
    assert_bit_exact(path, SAMPLES)


def per_tensor_model(key: str, shape: tuple[int, ...], make) -> Path:
    """Like single_layer_model, with per-channel quantization turned off in the converter."""
    return single_layer_model(f"{key}-per-tensor", shape, lambda tf, x: make(tf)(x), low=LOW,
                              high=HIGH, flags={"_experimental_disable_per_channel": True})


@pytest.mark.parametrize(
    ("name", "shape", "make"),
    [
        ("conv-3x3", (7, 8, 3), lambda tf: conv(tf, 6, 3, 2, activation="relu")),
        ("conv-1x1", (5, 6, 8), lambda tf: conv(tf, 4, 1)),
        ("depthwise-3x3", (7, 7, 6), lambda tf: depthwise(tf, 3, activation="relu6")),
    ],
    ids=["conv-3x3", "conv-1x1", "depthwise-3x3"],
)
def test_per_tensor_weights(name, shape, make):
    path = per_tensor_model(name, shape, make)
    (op,) = read_model(path).ops
    assert not read_model(path).tensor(op.inputs[1]).quant.per_channel
    assert_bit_exact(path, SAMPLES)


# --- real weights: every conv op of real models against TFLM's own intermediate tensors ---


@pytest.mark.parametrize("model", ["kws_ref_model.tflite", "micro_speech_quantized.tflite"])
def test_real_conv_ops_match_tflm_intermediates(model):
    """Each CONV_2D / DEPTHWISE_CONV_2D of a real model, compiled alone, reproduces the tensor
    TFLM computed for it inside the whole model (tflite-micro keeps all tensors on request)."""
    from tflite_micro.python.tflite_micro import runtime

    path = SHARED_MODELS / model
    graph = read_model(path)
    interpreter = runtime.Interpreter.from_file(
        str(path), arena_size=1 << 22,
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    details = interpreter.get_input_details(0)
    rng = np.random.default_rng(5)
    runs = []
    for _ in range(3):
        interpreter.set_input(rng.integers(-128, 127, details["shape"], endpoint=True,
                                           dtype=np.int8), 0)
        interpreter.invoke()
        runs.append({t.index: np.array(interpreter.GetTensor(t.index, 0)["tensor_data"])
                     for t in graph.tensors if not t.is_const})
    ops = [op for op in graph.ops if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert ops
    for op, scratch in itertools.product(ops, ["always", "never"]):
        single = graph.replace(ops=(op,), inputs=(op.inputs[0],), outputs=(op.outputs[0],))
        compiled = compile_graph(single, f"realconv_op{op.index}", scratch)
        host = build_host_model(compiled.files, compiled.name)
        for tensors in runs:
            x = tensors[op.inputs[0]].reshape(graph.tensor(op.inputs[0]).shape)
            (out,) = host.run([x])
            assert out == tensors[op.outputs[0]].tobytes(), f"{model} op {op.index} {scratch}"


def test_depthwise_layers_sharing_small_arrays_build_with_werror(tmp_path):
    """Two 3-channel depthwise layers of one input with the same bias and multipliers, which the
    generated code stores once: gcc specialized the kernel for those arrays and -Warray-bounds
    (the host build is -O2 -Wall -Werror) flagged the four-channel loop, which never runs for 3
    channels. Found by tests/test_random_graphs.py."""
    tensors = [TensorSpec((1, 2, 2, 3), np.int8, (0.5, 20))]
    ops = []
    for i in range(2):
        q = (np.array([5, -7, 9], np.int8) * (1 - 2 * i)).reshape(1, 1, 1, 3)
        tensors += [TensorSpec(q.shape, np.int8, (0.01 * (i + 1), 0), q, quant_axis=3),
                    TensorSpec((1, 2, 2, 3), np.int8, (0.05, i - 3))]
        ops.append(OperatorSpec(
            "DEPTHWISE_CONV_2D", [0, len(tensors) - 2], [len(tensors) - 1],
            "DepthwiseConv2DOptions", dict(padding=0, strideH=1, strideW=1, depthMultiplier=1,
                                           dilationHFactor=1, dilationWFactor=1)))  # SAME
    path = tmp_path / "two_small_depthwise.tflite"
    path.write_bytes(tflite_model(tensors, ops, [0], [2, 4]))
    assert_bit_exact(path, samples=20)


# --- unsupported options: clear errors naming the op and the option ---


def graph_with(kind: str, change) -> object:
    """A grid model's graph with one op or tensor changed by `change(graph, op) -> graph`."""
    name = "3x3-same-relu" if kind == "conv" else "3x3-same-relu6"
    graph = read_model(grid_model(kind, name))
    return change(graph, graph.ops[0])


def replace_op(graph, op, **changes):
    return graph.replace(ops=(op.replace(**changes),))


def replace_tensor(graph, index, **changes):
    tensors = list(graph.tensors)
    tensors[index] = tensors[index].replace(**changes)
    return graph.replace(tensors=tuple(tensors))


UNSUPPORTED = {
    "uint8-activations": ("conv", lambda g, op: replace_tensor(
        replace_tensor(g, op.inputs[0], dtype="uint8"), op.outputs[0], dtype="uint8"),
        "uint8 input activations with int8 weights and uint8 output"),
    "int8-in-int16-out": ("depthwise", lambda g, op: replace_tensor(
        g, op.outputs[0], dtype="int16"), "int8 input activations with int8 weights and int16"),
    "weight-zero-point": ("conv", lambda g, op: replace_tensor(
        g, op.inputs[1], quant=dataclasses.replace(
            g.tensor(op.inputs[1]).quant, zero_point=(3,) * 5)), "non-zero zero point"),
    "non-constant-weights": ("depthwise", lambda g, op: replace_tensor(g, op.inputs[1], data=None),
                             "non-constant weights"),
    "int64-bias": ("conv", lambda g, op: replace_tensor(g, op.inputs[2], dtype="int64"),
                   "int64 bias with int8 activations"),
    "float-bias": ("depthwise", lambda g, op: replace_tensor(g, op.inputs[2], dtype="float32"),
                   "float32 bias with int8 activations"),
    "padding": ("conv", lambda g, op: replace_op(g, op, options={**op.options, "padding": 7}),
                "padding=7"),
    "activation": ("depthwise", lambda g, op: replace_op(
        g, op, options={**op.options, "fused_activation_function": "TANH"}),
        "fused_activation_function=TANH"),
    "depth-multiplier": ("depthwise", lambda g, op: replace_op(
        g, op, options={**op.options, "depth_multiplier": 3}), "depth_multiplier=3"),
    # 3 groups of filter depth 1, but 5 output channels: TFLM would read past the input depth
    "grouped": ("conv", lambda g, op: replace_tensor(
        g, op.inputs[1], shape=(5, 3, 3, 1), data=g.tensor(op.inputs[1]).data[..., :1]),
        "grouped convolution: 5 output channels do not split into 3 groups"),
    "filter-deeper-than-input": ("conv", lambda g, op: replace_tensor(
        g, op.inputs[1], shape=(5, 3, 3, 6), data=np.concatenate(
            [g.tensor(op.inputs[1]).data] * 2, axis=3)), "filter depth 6"),
    "huge-dilation": ("conv", lambda g, op: replace_op(
        g, op, options={**op.options, "dilation_hfactor": 1 << 29}), "dilated filter extent"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_option_is_named(case):
    kind, change, expected = UNSUPPORTED[case]
    graph = graph_with(kind, change)
    op_kind = "CONV_2D" if kind == "conv" else "DEPTHWISE_CONV_2D"
    with pytest.raises(UnsupportedError) as info:
        lower(graph)
    message = str(info.value)
    assert f"op 0 ({op_kind})" in message and expected in message, message


# --- what the compiler and the kernels agree on ---


def test_interleave_rows_layout():
    matrix = np.arange(3 * 6, dtype=np.int8).reshape(3, 6)  # rows a, b, c; k = 6
    a, b, c = matrix
    expected = np.concatenate([a[:4], b[:4], a[4:], b[4:], c])
    assert interleave_rows(matrix).tolist() == expected.tolist()


@pytest.mark.parametrize(("multiplier", "grouped"), [(1, 4), (4, 4), (2, 0), (3, 0)])
def test_depthwise_filter_blocks_layout(multiplier, grouped):
    """Channels 0-3 in one block of 4 (when the kernel takes them four at a time), channel 4
    alone; each block tap by tap; channel c's block at c * taps."""
    weights = np.arange(2 * 3 * 5, dtype=np.int8).reshape(1, 2, 3, 5)  # 6 taps, 5 channels
    taps = weights.reshape(6, 5)
    blocks = depthwise_filter_blocks(weights, multiplier)
    assert blocks.size == weights.size
    for c in range(5):
        start = c * 6
        if c < grouped:
            block = blocks[c // 4 * 24:c // 4 * 24 + 24].reshape(6, 4)
            assert block[:, c % 4].tolist() == taps[:, c].tolist()
        else:
            assert blocks[start:start + 6].tolist() == taps[:, c].tolist()


@cache
def depthwise_requantize():
    """runtime/depthwise_conv.h's tinyc_depthwise_requantize, built for the host (cffi)."""
    ffi = cffi.FFI()
    ffi.cdef("int32_t requantize(int32_t x, int32_t multiplier, int32_t shift);")
    folder = Path(tempfile.mkdtemp(prefix="tinyc-depthwise-"))
    for name, text in runtime_sources(["depthwise_conv.h"]).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    ffi.set_source("_tinyc_depthwise_requantize", """
        #include "tinyc_runtime/depthwise_conv.h"
        int32_t requantize(int32_t x, int32_t multiplier, int32_t shift) {
          return tinyc_depthwise_requantize(x, multiplier, shift);
        }""", include_dirs=[str(folder)])
    module_path = ffi.compile(tmpdir=str(folder))
    spec = importlib.util.spec_from_file_location("_tinyc_depthwise_requantize", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lib.requantize


INT32 = st.integers(-(1 << 31), (1 << 31) - 1)
Q31_MULTIPLIER = st.integers(1 << 30, (1 << 31) - 1)  # QuantizeMultiplier's range


@settings(max_examples=3000, deadline=None)
@given(INT32, Q31_MULTIPLIER, st.integers(-31, -1))
def test_depthwise_requantize_right_shifts_match_tflm(x, multiplier, shift):
    """Its right-shift path (every depthwise layer of the shared models) over all int32 sums,
    against the Python port of MultiplyByQuantizedMultiplier (itself checked against exact
    rationals in test_quantize_math.py)."""
    expected = multiply_by_quantized_multiplier(x, multiplier, shift)
    assert depthwise_requantize()(x, multiplier, shift) == expected


@pytest.mark.parametrize("x", [-(1 << 31), -(1 << 30), -1, 0, 1, (1 << 30), (1 << 31) - 1])
@pytest.mark.parametrize("multiplier", [1 << 30, (1 << 30) + 1, (1 << 31) - 1])
@pytest.mark.parametrize("shift", [-31, -30, -2, -1, 0, 1, 7])
def test_depthwise_requantize_edges(x, multiplier, shift):
    expected = multiply_by_quantized_multiplier(x, multiplier, shift)
    assert depthwise_requantize()(x, multiplier, shift) == expected


# --- grouped CONV_2D (filter depth a proper divisor of the input depth) ---

GROUPED = [
    Conv("conv", "int8", (1, 7, 8, 6), channels=4, groups=2, zero_points=(10, -3)),
    Conv("conv", "int8", (1, 9, 9, 6), channels=9, groups=3, stride=(2, 2), dilation=(1, 2),
         zero_points=(-60, 5), activation="RELU"),  # 3 channels per group
    Conv("conv", "int8", (1, 8, 8, 4), channels=8, groups=4, padding="VALID",
         zero_points=(-128, 0)),  # filter depth 1
    Conv("conv", "int8", (2, 6, 6, 8), filter_hw=(1, 1), channels=4, groups=2,
         per_channel=False, zero_points=(3, 3)),
    Conv("conv", "int8", (1, 6, 6, 16), channels=6, groups=2, bias=None, activation="RELU6",
         zero_points=(-20, -10)),
    Conv("conv", "int8", (1, 3, 3, 4), filter_hw=(5, 5), channels=4, groups=2,
         zero_points=(50, 0)),  # every window clipped
    Conv("conv", "int8", (1, 10, 10, 32), channels=8, groups=4, dilation=(2, 2),
         zero_points=(7, 1), activation="RELU_N1_TO_1"),
]


@pytest.mark.parametrize("c", GROUPED, ids=lambda c: c.id)
def test_grouped(c, tmp_path):
    path = write_model(c, tmp_path)
    (call,) = lower(read_model(path)).calls
    assert call.function == "tinyc_conv_grouped_s8" and call.scratch_bytes == 0
    assert_conv_varied(path)
    assert_bit_exact(path, SAMPLES)


def grouped_net(tf, x):
    y = conv(tf, 8, 3, activation="relu")(x)
    y = tf.keras.layers.Conv2D(8, 3, padding="same", groups=2,
                               bias_initializer=tf.keras.initializers.RandomUniform(-0.5, 0.5))(y)
    y = depthwise(tf, 3, strides=2, activation="relu6")(y)
    y = tf.keras.layers.SeparableConv2D(6, 3, padding="valid", depth_multiplier=2)(y)
    return tf.keras.layers.Conv2D(4, 1, groups=2, use_bias=False)(y)


def test_keras_int8_net_with_groups():
    path = single_layer_model("conv-net-grouped", (12, 12, 4), grouped_net, low=LOW, high=HIGH)
    graph = read_model(path)
    calls = lower(graph).calls
    assert sum(c.function == "tinyc_conv_grouped_s8" for c in calls) == 2, [
        c.function for c in calls]
    assert [op.kind for op in graph.ops].count("DEPTHWISE_CONV_2D") == 2
    assert_bit_exact(path, SAMPLES)


# --- the Arm DSP path (SXTB16/SMLAD), on an emulated Cortex-M4 ---

CONV_DSP_MODELS = ["1x1-odd-everything", "3x3-same-s2-relu6-odd-input", "3x3-same-dilation2",
                   "3x3-same-deep-k288", "3x3-dilation2-deep-odd-filters",
                   "3x3-same-s2-deep-odd-input"]
# Conv models under both scratch policies (two kernels each); every depthwise model once (one
# kernel, whose DSP loops differ by depth multiplier, channel count, dilation, filter width 1
# and window clipping at the borders).
DSP_CASES = [("conv", name, scratch) for name in CONV_DSP_MODELS for scratch in ("always", "never")]
DSP_CASES += [("depthwise", name, "auto") for name in sorted(DEPTHWISE)]


@needs_m4
@pytest.mark.parametrize(("kind", "name", "scratch"), DSP_CASES,
                         ids=[f"{k}-{n}-{s}" for k, n, s in DSP_CASES])
def test_cortex_m4_dsp_path_is_bit_exact(kind, name, scratch, tmp_path):
    assert_bit_exact_on_m4(grid_model(kind, name), tmp_path, scratch=scratch)


@needs_m4
@pytest.mark.parametrize("c", [GROUPED[1], GROUPED[2], GROUPED[6]], ids=lambda c: c.id)
def test_cortex_m4_grouped_is_bit_exact(c, tmp_path):
    assert_bit_exact_on_m4(write_model(c, tmp_path), tmp_path)
