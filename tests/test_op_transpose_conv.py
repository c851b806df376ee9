"""TRANSPOSE_CONV (int8, 16x8, float32): bit-exact with TFLM's reference kernels.

- test_grid_matches_tflm: flatbuffer models over geometry (strides 1 to 3, equal or not per
  axis, SAME/VALID, filters from 1x1 to 5x5, stride larger than the filter, an output size that
  is not the usual one for the padding, batches), bias or none (int16 as well as int64 for
  16x8), every fused activation TFLM applies, per-channel and per-tensor weights, and scales
  spanning many requantization shifts. Each is compared with TFLM on random inputs, and checked
  not to be trivial (the outputs take many values, few saturate).
- the seanet 16x8 model from the shared models (int64 bias, output_shape a model input).
- Keras Conv2DTranspose converted by TensorFlow: strides 1 and 2, SAME and VALID, with and
  without bias, with relu (fused into the op, as the converter does when there is a bias), in
  int8, float32 and 16x8.
- no scratch: no TRANSPOSE_CONV call asks for one (any policy), and the seanet model's arena
  is at most TFLM's activation plan ("head"); the tap lists are the (input row, filter row)
  pairs TFLM's scatter loops reach each output row with, in its order; the float grid is
  sensitive to the summation order (another order gives other bytes for the "deep" model).
- on an emulated Cortex-M4 (m4bench), where the per-value sums are out of line: int8, 16x8
  and the seanet model.
- rejections name the op and the option; the generated code builds with -Werror.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.ops import KernelCall, ScratchArg
from tinyc.ops.transpose_conv import tap_lists, transpose_padding
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.compare import tflm_runner
from tinyc.verify.tflm_memory import tflm_arena

from conftest import M4BENCH, assert_bit_exact, assert_bit_exact_on_m4, needs_m4, shared_model
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from tflite_builders import cached_model, quiet_tensorflow, representative_samples

VERSION = "v1"  # bump to rebuild this file's cached TensorFlow models
SAMPLES = 12
SPREAD = 1.0  # output range / the typical spread of a sum: most outputs in range, many values
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}
PADDINGS = {"SAME": 0, "VALID": 1}
TYPES = {"int8": (np.int8, np.int32, 127), "16x8": (np.int16, np.int64, 32767),
         "float32": (np.float32, np.float32, None)}


def tconv_model(kind: str, in_shape, filter_ohw, strides, padding: str, bias: str | None,
                activation: str, per_channel: bool = True, seed: int = 0, out_hw=None,
                weight_scales=None, output_shape=None, weight_zero_point: int = 0,
                int16_zero_points=(0, 0)) -> bytes:
    """One TRANSPOSE_CONV with random weights and bias; int scales put the outputs in range.

    bias: None, or its type name ("int32", "int64", "int16", "float32").
    """
    rng = np.random.default_rng(seed)
    batches, height, width, in_c = in_shape
    out_c, filter_h, filter_w = filter_ohw
    if out_hw is None:
        out_hw = [n * s if padding == "SAME" else (n - 1) * s + f
                  for n, s, f in zip((height, width), strides, (filter_h, filter_w))]
    out_shape = (batches, *out_hw, out_c)
    act_type, _, qmax = TYPES[kind]
    tensors = [TensorSpec([4], np.int32, data=np.array(output_shape or out_shape, np.int32),
                          name="output_shape")]
    if kind == "float32":
        weights = rng.uniform(-1, 1, (out_c, filter_h, filter_w, in_c)).astype(np.float32)
        tensors += [TensorSpec(weights.shape, np.float32, data=weights, name="weights"),
                    TensorSpec(in_shape, np.float32, name="input")]
        if bias:
            tensors.append(TensorSpec([out_c], np.float32, name="bias",
                                      data=rng.uniform(-2, 2, out_c).astype(np.float32)))
        tensors.append(TensorSpec(out_shape, np.float32, name="output"))
    else:
        weights = rng.integers(-127, 128, (out_c, filter_h, filter_w, in_c)).astype(np.int8)
        scales = np.asarray(weight_scales if weight_scales is not None
                            else rng.uniform(0.002, 0.02, out_c if per_channel else 1))
        input_q = ((0.05, int(rng.integers(-40, 40))) if kind == "int8"
                   else (0.05 / 256, int16_zero_points[0]))
        # about the spread of a sum over the taps that reach one output
        taps = max(1, filter_h // strides[0]) * max(1, filter_w // strides[1]) * in_c
        spread = np.sqrt(taps) * 80 * (qmax + 1) * input_q[0] * float(np.median(scales)) * SPREAD
        output_q = (spread / qmax, int(rng.integers(-20, 20)) if kind == "int8"
                    else int16_zero_points[1])
        zero_points = [weight_zero_point] * len(scales)
        tensors += [TensorSpec(weights.shape, np.int8, (scales.tolist(), zero_points),
                               data=weights, name="weights"),
                    TensorSpec(in_shape, act_type, input_q, name="input")]
        if bias:
            limit = {"int32": 3000, "int64": 600_000, "int16": 3000}[bias]
            values = rng.integers(-limit, limit, out_c).astype(bias)
            bias_scales = (input_q[0] * np.broadcast_to(scales, (out_c,))).tolist()
            tensors.append(TensorSpec([out_c], bias, (bias_scales, [0] * out_c), data=values,
                                      name="bias"))
        tensors.append(TensorSpec(out_shape, act_type, output_q, name="output"))
    output = len(tensors) - 1
    op = OperatorSpec("TRANSPOSE_CONV", list(range(output)), [output], "TransposeConvOptions",
                      {"padding": PADDINGS[padding], "strideH": strides[0],
                       "strideW": strides[1],
                       "fusedActivationFunction": ACTIVATIONS[activation]})
    return tflite_model(tensors, [op], [2], [output])


CASES = {  # name: (input NHWC, (out channels, filter h, filter w), strides, padding, options)
    "s2-same-3x3": ((1, 4, 5, 3), (4, 3, 3), (2, 2), "SAME", {"activation": "RELU"}),
    "s1-valid-3x3": ((1, 4, 5, 3), (4, 3, 3), (1, 1), "VALID",
                     {"bias": None, "per_channel": False}),
    "s1x2-valid-3x4-batch2": ((2, 3, 6, 5), (8, 3, 4), (1, 2), "VALID", {"activation": "RELU6"}),
    "s3-same-2x2-gaps": ((1, 3, 3, 2), (3, 2, 2), (3, 3), "SAME",
                         {"activation": "RELU_N1_TO_1", "per_channel": False}),
    "s2x1-same-5x5": ((1, 5, 4, 4), (2, 5, 5), (2, 1), "SAME", {"bias": None}),
    "pointwise": ((1, 6, 6, 8), (6, 1, 1), (1, 1), "VALID", {}),
    "odd-output-size": ((1, 4, 4, 3), (5, 3, 3), (2, 2), "SAME", {"out_hw": (7, 7)}),
    "s1-same-5x5": ((1, 5, 6, 3), (3, 5, 5), (1, 1), "SAME",
                    {"activation": "RELU", "per_channel": False}),
    "deep": ((1, 4, 4, 24), (16, 3, 3), (2, 2), "SAME", {}),
    # weight scales over four decades: right shifts from small to large (the channels with
    # the largest scales saturate: test_grid_matches_tflm allows it here)
    "shift-sweep": ((1, 3, 3, 4), (12, 2, 2), (2, 2), "VALID",
                    {"weight_scales": np.logspace(-4, 0, 12)}),
}
BIAS = {"int8": "int32", "16x8": "int64", "float32": "float32"}
GRID = [(kind, name) for kind in TYPES for name in CASES]


def grid_path(kind: str, name: str, **overrides):
    in_shape, filter_ohw, strides, padding, options = CASES[name]
    options = {"bias": BIAS[kind], "activation": "NONE", **options, **overrides}
    seed = sorted(CASES).index(name)
    return model_file(f"tconv-{kind}-{name}", tconv_model(kind, in_shape, filter_ohw, strides,
                                                           padding, seed=seed, **options))


def model_file(name: str, data: bytes):
    """A flatbuffer model (cheap to make) on disk, named by its content."""
    return cached_model(f"{name}-{hashlib.sha256(data).hexdigest()[:16]}", lambda: data)


def assert_not_trivial(path, kind: str, saturated: float = 0.3) -> None:
    """A random input makes outputs that take many values and mostly stay inside the range."""
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    rng = np.random.default_rng(5)
    if kind == "float32":
        sample = rng.uniform(-4, 4, x.shape).astype(np.float32)
    else:
        info = np.iinfo(TYPES[kind][0])
        sample = rng.integers(info.min, info.max, x.shape, dtype=TYPES[kind][0], endpoint=True)
    (out,) = tflm_runner(path, 1)([sample])
    out = np.asarray(out)
    assert len(np.unique(out)) >= min(20, out.size // 4), np.unique(out)
    if kind != "float32":
        info = np.iinfo(out.dtype)
        assert np.mean((out == info.min) | (out == info.max)) < saturated


@pytest.mark.parametrize("kind,name", GRID, ids=[f"{k}-{n}" for k, n in GRID])
def test_grid_matches_tflm(kind, name):
    path = grid_path(kind, name)
    assert_not_trivial(path, kind, 0.5 if name == "shift-sweep" else 0.3)
    assert_bit_exact(path, SAMPLES)


@pytest.mark.parametrize("name", ["s2-same-3x3", "s1x2-valid-3x4-batch2"])
def test_16x8_with_int16_bias(name):
    """TFLM widens a 16-bit bias to int64 at run time; tinyc at compile time."""
    path = grid_path("16x8", name, bias="int16")
    assert [read_model(path).tensor(3).dtype] == ["int16"]
    assert_bit_exact(path, SAMPLES)


def test_16x8_ignores_zero_points_as_tflm_does():
    """TFLM's 16x8 kernel neither subtracts the input zero point nor adds the output's (int16
    activations are symmetric in TFLite) but clamps to the range computed with the output zero
    point; so does tinyc, for models that set them anyway."""
    path = grid_path("16x8", "s2-same-3x3", int16_zero_points=(300, -2000), activation="RELU")
    graph = read_model(path)
    assert [graph.tensor(t).zero_point for t in (2, 4)] == [300, -2000]
    assert_bit_exact(path, SAMPLES)


def test_transpose_padding_is_tflm_formula():
    # SAME: pad = max(filter - stride, 0) // 2 for the usual output size
    assert [transpose_padding("SAME", 8, f, 2) for f in (1, 2, 3, 4, 5)] == [0, 0, 0, 1, 1]
    assert transpose_padding("VALID", 9, 3, 2) == 0
    assert transpose_padding("SAME", 7, 3, 2) == 1  # odd output: the computed size rounds up
    # VALID with a filter larger than the output: C's division truncates toward zero
    assert transpose_padding("VALID", 1, 4, 2) == 0


# --- real models ---


def test_seanet_16x8_transpose_conv_model():
    """16x8, int64 bias, 3x4 filter, strides (1, 2); output_shape is a model input."""
    path = shared_model("wider/seanet_transpose_conv4_i16.tflite")
    graph = read_model(path)
    (op,) = graph.ops
    assert op.kind == "TRANSPOSE_CONV" and graph.tensor(op.inputs[3]).dtype == "int64"
    assert not graph.tensor(op.inputs[0]).is_const
    assert_bit_exact(path, 20)


def test_seanet_arena_within_tflm_and_no_scratch():
    """The gather kernels need no accumulator: tinyc's arena for the seanet model is the input
    and output only, at most TFLM's activation plan (which holds TFLM's int64 scratch too)."""
    path = shared_model("wider/seanet_transpose_conv4_i16.tflite")
    compiled = compile_model(path)
    calls = [s for s in compiled.model.steps if isinstance(s, KernelCall)]
    assert [c.op.kind for c in calls] == ["TRANSPOSE_CONV"]
    assert_no_scratch(calls)
    assert compiled.plan.scratch_offsets == {}
    head = tflm_arena(path, input_count=2)["head"]
    assert compiled.plan.arena_bytes <= head, (compiled.plan.arena_bytes, head)
    graph = read_model(path)
    io_bytes = sum(graph.tensor(t).nbytes for t in (*graph.inputs, *graph.outputs))
    assert compiled.plan.arena_bytes < io_bytes + 64  # nothing but the tensors (and alignment)


def assert_no_scratch(calls) -> None:
    for call in calls:
        assert call.scratch_bytes == 0 and call.fallback is None, call.function
        assert not any(isinstance(a, ScratchArg) for a in call.args), call.function


@pytest.mark.parametrize("scratch", ["never", "auto", "always"])
@pytest.mark.parametrize("kind", list(TYPES))
def test_no_scratch_under_any_policy(kind, scratch):
    compiled = compile_model(grid_path(kind, "s2-same-3x3"), scratch=scratch)
    assert_no_scratch([s for s in compiled.model.steps if isinstance(s, KernelCall)])
    assert compiled.plan.scratch_offsets == {}
    if scratch != "auto":
        assert_bit_exact(grid_path(kind, "deep"), 4, scratch=scratch)


TAP_GEOMETRIES = [  # (output size, input size, stride, pad, filter size)
    (o, i, s, p, f)
    for f in (1, 2, 3, 4, 5) for s in (1, 2, 3, 7) for i in (1, 2, 5) for p in (0, 1, 2)
    for o in {1, (i - 1) * s + f, i * s, i * s + 3}
]


def test_tap_lists_are_tflm_scatter_order():
    """For each output row, the (input row, filter row) pairs TFLM's scatter loops reach it
    with, in the order they reach it, are the kernel's list: count rows from the first, filter
    row dropping by the stride."""
    for out_size, in_size, stride, pad, filter_size in TAP_GEOMETRIES:
        reached = {o: [] for o in range(out_size)}
        for i in range(in_size):  # TFLM: in_y outer, filter_y inner, bounds tested
            for f in range(filter_size):
                o = i * stride - pad + f
                if 0 <= o < out_size:
                    reached[o].append((i, f))
        table = tap_lists(out_size, in_size, stride, pad, filter_size)
        assert table.shape == (out_size, 3) and table.dtype == np.int32
        for o, (count, first, tap) in enumerate(table.tolist()):
            listed = [(first + k, tap - k * stride) for k in range(count)]
            assert listed == reached[o], (out_size, in_size, stride, pad, filter_size, o)


def test_float_order_matters_for_these_sums():
    """The float grid can catch a kernel that adds in another order: for the "deep" model's
    sums, TFLM's order (in_y, in_x, in_channel ascending) gives the TFLM bytes while summing
    the same float32 products by input channel first, or backwards, does not."""
    path = grid_path("float32", "deep")
    graph = read_model(path)
    (op,) = graph.ops
    w = graph.tensor(op.inputs[1]).data
    bias = graph.tensor(op.inputs[3]).data
    x = np.random.default_rng(3).uniform(-4, 4, graph.tensor(op.inputs[2]).shape)
    x = x.astype(np.float32)
    (expected,) = tflm_runner(path, 1)([x])
    out_h, out_w = graph.tensor(op.outputs[0]).shape[1:3]
    pad = transpose_padding("SAME", out_h, 3, 2)
    orders = {"tflm": lambda terms: terms, "reversed": lambda terms: terms[::-1],
              "channel-major": lambda terms: sorted(terms, key=lambda t: (t[2], t[0], t[1]))}
    results = {}
    for name, order in orders.items():
        out = np.zeros(expected.shape, np.float32)
        for oy in range(out_h):
            for ox in range(out_w):
                terms = [(iy, ix, c) for iy in range(x.shape[1]) for ix in range(x.shape[2])
                         for c in range(x.shape[3])
                         if 0 <= oy + pad - 2 * iy < 3 and 0 <= ox + pad - 2 * ix < 3]
                acc = np.zeros(w.shape[0], np.float32)
                for iy, ix, c in order(terms):
                    acc = acc + x[0, iy, ix, c] * w[:, oy + pad - 2 * iy, ox + pad - 2 * ix, c]
                out[0, oy, ox] = acc + bias
        results[name] = out.tobytes() == np.asarray(expected).tobytes()
    assert results == {"tflm": True, "reversed": False, "channel-major": False}


def keras_tconv_model(key: str, mode: str, layer, shape=(5, 6, 3)):
    """Cached Conv2DTranspose model: mode "int8", "float" or "16x8"."""

    def make() -> bytes:
        tf = quiet_tensorflow()
        tf.keras.utils.set_random_seed(1)
        x = tf.keras.Input(shape=shape, batch_size=1)
        model = tf.keras.Model(x, layer(tf.keras.layers, tf.keras.initializers)(x))
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode != "float":
            samples = representative_samples(shape, low=-1.5, high=1.5)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([s] for s in samples)
            if mode == "int8":
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                io_type = tf.int8
            else:
                converter.target_spec.supported_ops = [
                    tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
                io_type = tf.int16
            converter.inference_input_type = converter.inference_output_type = io_type
        return converter.convert()

    return cached_model(f"tconv-{VERSION}-keras-{key}-{mode}-{shape}", make)


def conv2d_transpose(strides: int, padding: str, use_bias: bool, activation=None):
    def layer(L, init):
        return L.Conv2DTranspose(6, 3, strides=strides, padding=padding, use_bias=use_bias,
                                 activation=activation,
                                 bias_initializer=init.RandomUniform(-0.5, 0.5))
    return layer


KERAS = {  # name: (strides, padding, bias, relu)
    "s1-same-bias": (1, "same", True, False),
    "s2-same-nobias": (2, "same", False, False),
    "s1-valid-nobias": (1, "valid", False, False),
    "s2-valid-bias": (2, "valid", True, False),
    "s2-same-bias-relu": (2, "same", True, True),
}
KERAS_GRID = [(name, mode) for name in KERAS for mode in ("int8", "float", "16x8")]


@pytest.mark.slow
@pytest.mark.parametrize("name,mode", KERAS_GRID, ids=[f"{n}-{m}" for n, m in KERAS_GRID])
def test_keras_conv2d_transpose_matches_tflm(name, mode):
    strides, padding, use_bias, relu = KERAS[name]
    path = keras_tconv_model(name, mode, conv2d_transpose(strides, padding, use_bias,
                                                          "relu" if relu else None))
    graph = read_model(path)
    kinds = [op.kind for op in graph.ops]
    assert kinds == ["TRANSPOSE_CONV"], kinds
    op = graph.ops[0]
    # with a bias the converter fuses the relu into the op (without, it stays a RELU op)
    assert op.options["fused_activation_function"] == ("RELU" if relu else "NONE")
    assert (len(op.inputs) > 3 and op.inputs[3] >= 0) == use_bias
    assert op.options["stride_h"] == strides and op.options["padding"] == padding.upper()
    expected = {"int8": "int8", "float": "float32", "16x8": "int16"}[mode]
    assert graph.tensor(op.inputs[2]).dtype == expected
    assert_bit_exact(path, SAMPLES)


# --- rejections ---


def unsupported_message(data: bytes, tmp_path) -> str:
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    with pytest.raises(UnsupportedError) as info:
        compile_model(path)
    return str(info.value)


REJECTED = {  # name: (kind, tconv_model overrides, expected in the message)
    "int32-bias-16x8": ("16x8", {"bias": "int32"}, "int32 bias with int16 activations"),
    "tanh": ("int8", {"activation": "TANH"}, "fused_activation_function=TANH"),
    "weight-zero-point": ("int8", {"weight_zero_point": 2}, "non-zero zero point"),
    "output-shape": ("float32", {"output_shape": (1, 9, 9, 4)}, "output_shape [1, 9, 9, 4]"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_unsupported_is_named(name, tmp_path):
    kind, overrides, expected = REJECTED[name]
    options = {"bias": BIAS[kind], "activation": "NONE", **overrides}
    data = tconv_model(kind, (1, 4, 4, 3), (4, 3, 3), (2, 2), "SAME", **options)
    message = unsupported_message(data, tmp_path)
    assert "op 0 (TRANSPOSE_CONV)" in message and expected in message, message


# --- on an emulated Cortex-M4 (the per-value sums are out of line there) ---
# Integer kernels only: arm-none-eabi-g++ contracts float multiply-adds into fused ones unless
# built with -ffp-contract=off (m4bench does not pass it), for TFLM's scatter order as for this.


@needs_m4
@pytest.mark.parametrize("name", ["int8-deep", "int8-s1x2-valid-3x4-batch2",
                                  "16x8-odd-output-size"])
def test_matches_tflm_on_m4(name, tmp_path):
    kind, case = name.split("-", 1)
    assert_bit_exact_on_m4(grid_path(kind, case), tmp_path)


@needs_m4
def test_seanet_matches_tflm_on_m4(tmp_path):
    """Two inputs (output_shape, then the activations): m4bench reads them one after the other
    from one file."""
    path = shared_model("wider/seanet_transpose_conv4_i16.tflite")
    compile_to_folder(path, tmp_path / "gen", name="model")
    sample = np.random.default_rng(9).integers(-32768, 32768, (1, 2, 80, 16)).astype(np.int16)
    shape = np.array([1, 4, 162, 8], np.int32)
    (tmp_path / "input.bin").write_bytes(shape.tobytes() + sample.tobytes())
    result = subprocess.run([str(M4BENCH), str(tmp_path / "gen"), "model", "--input",
                             str(tmp_path / "input.bin")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (expected,) = tflm_runner(path, 1)([shape, sample])
    assert json.loads(result.stdout)["output_hex"][0][0] == np.asarray(expected).tobytes().hex()


# --- the generated code under firmware warnings ---

CXX_FLAGS = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
             "-Werror"]  # as tests/test_generated_code.py
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_with_werror(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    flags = CXX_FLAGS + (ARM_FLAGS if compiler.startswith("arm") else ["-O2"])
    models = [grid_path(kind, "s2-same-3x3") for kind in TYPES]
    models.append(shared_model("wider/seanet_transpose_conv4_i16.tflite"))
    for i, model in enumerate(models):
        folder = tmp_path / f"m{i}"
        compile_to_folder(model, folder, name="model")
        for source in folder.rglob("*.cpp"):
            result = subprocess.run([compiler, *flags, "-I", str(folder), "-c", str(source),
                                     "-o", str(tmp_path / "m.o")], capture_output=True,
                                    text=True)
            assert result.returncode == 0, result.stderr
