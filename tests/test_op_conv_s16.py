"""CONV_2D and DEPTHWISE_CONV_2D in 16x8 (int16 activations, int8 weights): bit-exact with TFLM.

A grid of single-op flatbuffer models (tests/conv_models.py) covers shapes, strides, dilations,
paddings, per-channel and per-tensor weights, the bias types TFLM takes (int64, and int32 or none
with quantized_bias_type for CONV_2D, which select TFLM's int32 accumulator), fused activations,
groups, non-zero zero points (which TFLM ignores, except in the activation range) and depth
multipliers, each compared with the TFLM interpreter on random int16 inputs over the whole range.
Keras models converted by the TF converter in 16x8 mode, and the seanet conv layer from TFLM's
integration tests, too.

The hosts take the portable loops; the Arm DSP loops (SMLAD on int16 pairs for CONV_2D,
SMLABB/SMLATB... for DEPTHWISE_CONV_2D) run on an emulated Cortex-M4 (needs_m4).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.lower import lower
from tinyc.ops.conv import pair_weight_chunks
from tinyc.read_tflite import read_model

from conftest import M4BENCH, assert_bit_exact, assert_bit_exact_on_m4, needs_m4, shared_model
from conv_models import Conv, assert_varied, conv_model, tflm_output, write_model
from tflite_builders import cached_model, keras_model, representative_samples

SAMPLES = 12


def c16(kind: str, shape, **fields) -> Conv:
    return Conv(kind, "int16", shape, **fields)


CONVS = [
    c16("conv", (1, 7, 8, 5)),  # depth % 4 != 0: one run per tap
    c16("conv", (1, 9, 9, 8), channels=6, stride=(2, 2), activation="RELU"),  # row runs
    c16("conv", (1, 8, 7, 16), filter_hw=(1, 1), channels=8),  # pointwise
    c16("conv", (1, 10, 6, 4), filter_hw=(3, 1), channels=5, dilation=(2, 1), padding="VALID"),
    c16("conv", (1, 6, 12, 12), filter_hw=(1, 5), channels=3, stride=(1, 2), dilation=(1, 2)),
    c16("conv", (2, 5, 5, 8), channels=4, per_channel=False),  # batch 2, per-tensor
    c16("conv", (1, 8, 8, 8), channels=7, bias="int32"),  # TFLM's int32 accumulator
    c16("conv", (1, 8, 8, 8), channels=4, bias=None),  # int64 without a bias
    c16("conv", (1, 8, 8, 8), channels=4, bias=None, quantized_bias_type=2),  # int32, no bias
    c16("conv", (1, 8, 8, 8), channels=4, bias=None, quantized_bias_type=4),  # INT64: int64
    c16("conv", (1, 7, 7, 8), channels=5, activation="RELU6"),
    c16("conv", (1, 7, 7, 8), channels=5, activation="RELU_N1_TO_1"),
    c16("conv", (1, 7, 7, 8), channels=5, activation="RELU", zero_points=(100, -37)),
    c16("conv", (1, 7, 7, 8), channels=5, zero_points=(-5000, 3000), bias="int32"),
    c16("conv", (1, 8, 9, 8), channels=6, groups=2),
    c16("conv", (1, 8, 9, 8), channels=8, groups=4, stride=(2, 1), padding="VALID"),
    c16("conv", (1, 8, 8, 9), channels=9, groups=3, dilation=(2, 2)),  # 3 channels per group
    c16("conv", (1, 8, 8, 16), channels=4, groups=2, bias="int32", activation="RELU"),
    c16("conv", (1, 25, 10, 1), filter_hw=(10, 4), channels=8, stride=(2, 2)),  # kws-like
    c16("conv", (1, 9, 7, 3), filter_hw=(5, 5), channels=4, stride=(2, 2)),
    c16("conv", (1, 3, 3, 4), filter_hw=(5, 5), channels=3),  # every window clipped
    c16("conv", (1, 4, 4, 64), channels=5, seed=1),  # deep rows of 192 values
    # sums that may leave int32: the kernel sums blocks of at most 516 products (rows of 768)
    c16("conv", (1, 4, 4, 256), channels=4, extreme_weights=True, weight_range=100),
]

DEPTHWISE = [
    c16("depthwise", (1, 9, 9, 8), channels=1),  # four channels at a time
    c16("depthwise", (1, 9, 9, 6), channels=1, stride=(2, 2)),  # 4 + 2 single channels
    c16("depthwise", (1, 8, 8, 3), channels=1, padding="VALID", per_channel=False),
    c16("depthwise", (1, 7, 7, 3), channels=2, activation="RELU"),  # single channels only
    c16("depthwise", (1, 9, 9, 2), channels=4, stride=(2, 2)),  # one input, four outputs
    c16("depthwise", (1, 9, 9, 1), channels=8, dilation=(2, 2)),
    c16("depthwise", (1, 20, 1, 8), filter_hw=(3, 1), channels=1, padding="VALID"),  # width 1
    c16("depthwise", (1, 12, 5, 6), filter_hw=(5, 1), channels=1, dilation=(2, 1)),
    c16("depthwise", (1, 5, 12, 4), filter_hw=(1, 3), channels=1, stride=(1, 2)),
    c16("depthwise", (2, 8, 8, 12), filter_hw=(5, 5), channels=1, bias=None,
        activation="RELU6"),
    c16("depthwise", (1, 7, 7, 4), channels=1, zero_points=(-300, 45), activation="RELU"),
    c16("depthwise", (1, 3, 3, 16), channels=1, activation="RELU_N1_TO_1"),
    # 529 taps of +-127: sums may leave int32, so the DSP loops give way to the int64 ones
    c16("depthwise", (1, 24, 24, 4), filter_hw=(23, 23), channels=1, extreme_weights=True),
]


@pytest.mark.parametrize("c", CONVS + DEPTHWISE, ids=lambda c: c.id)
def test_grid(c, tmp_path):
    path = write_model(c, tmp_path)
    assert_varied(path)
    assert_bit_exact(path, SAMPLES)


def test_grid_exercises_what_it_claims(tmp_path):
    """The lowering takes each path the grid claims: both accumulators, row runs and per-tap
    runs, segmented int32 sums, depthwise DSP loops on and off, groups."""
    seen = set()
    for c in CONVS + DEPTHWISE:
        (call,) = lower(read_model(write_model(c, tmp_path))).calls
        p = dict(call.params)
        seen.add(call.function)
        if call.function == "tinyc_conv_s16":
            seen.add(("int32_accumulator", p["int32_accumulator"]))
            seen.add(("segmented", p["block_depth"] < (1 << 31) - 1))
            seen.add(("groups", p["output_depth"] // p["group_channels"] > 1))
            seen.add(("rows", p["filter_depth"] % 4 == 0 and p["dilation_width"] == 1))
        else:
            seen.add(("fits", p["sums_fit_int32"]))
            seen.add(("multiplier", p["depth_multiplier"]))
    assert {"tinyc_conv_s16", "tinyc_depthwise_conv_s16", ("int32_accumulator", 0),
            ("int32_accumulator", 1), ("segmented", True), ("segmented", False),
            ("groups", True), ("rows", True), ("rows", False), ("fits", 0), ("fits", 1),
            ("multiplier", 1), ("multiplier", 2), ("multiplier", 4),
            ("multiplier", 8)} <= seen


def test_int32_bias_takes_tflm_int32_arithmetic(tmp_path):
    """TFLM's int32 and int64 requantizations round differently: the same layer with an int32
    and an int64 bias gives different outputs, and tinyc matches both."""
    base = c16("conv", (1, 8, 8, 8), channels=7, bias="int32")
    outputs = []
    for bias in ("int32", "int64"):
        path = write_model(dataclasses.replace(base, bias=bias), tmp_path)
        assert_bit_exact(path, SAMPLES)
        outputs.append(tflm_output(path))
    assert not np.array_equal(*outputs)


def test_seanet_conv10_is_bit_exact():
    """A real 16x8 layer (TFLM's seanet integration test: [1,3,12,64] input, 3x4 filter, stride
    (1, 2), int64 bias, weights down to -128)."""
    assert_bit_exact(shared_model("wider/seanet_conv10_i16.tflite"), 100)


# --- Keras models converted in 16x8 mode ---


def convert_16x8(keras, shape) -> bytes:
    from tflite_builders import quiet_tensorflow

    tf = quiet_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(keras)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    samples = representative_samples(shape, low=-1.0, high=1.0)

    def dataset():
        for s in samples:
            yield [s]

    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return converter.convert()


def conv_net(tf, x):
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = tf.keras.layers.Conv2D(8, 3, padding="same", groups=2)(y)
    y = tf.keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(y)
    y = tf.keras.layers.SeparableConv2D(6, 3, padding="valid", depth_multiplier=2)(y)
    return tf.keras.layers.Conv2D(4, 1, use_bias=False)(y)


def test_keras_16x8_conv_net():
    shape = (12, 12, 4)
    path = cached_model("conv-net-16x8-v1",
                        lambda: convert_16x8(keras_model(shape, conv_net), shape))
    graph = read_model(path)
    kinds = [op.kind for op in graph.ops]
    assert kinds.count("CONV_2D") == 4 and kinds.count("DEPTHWISE_CONV_2D") == 2, kinds
    assert graph.tensor(graph.inputs[0]).dtype == "int16"
    grouped = [op for op in graph.ops if op.kind == "CONV_2D"
               and graph.tensor(op.inputs[1]).shape[3] < graph.tensor(op.inputs[0]).shape[3]]
    assert grouped, "the converter kept no grouped CONV_2D"
    assert_bit_exact(path, 30)


# --- the Arm DSP path, on an emulated Cortex-M4 ---

M4_CASES = [CONVS[0], CONVS[1], CONVS[4], CONVS[6], CONVS[14], CONVS[16], CONVS[-1],
            DEPTHWISE[0], DEPTHWISE[1], DEPTHWISE[4], DEPTHWISE[6], DEPTHWISE[-1]]


@needs_m4
@pytest.mark.parametrize("c", M4_CASES, ids=lambda c: c.id)
def test_cortex_m4_dsp_path_is_bit_exact(c, tmp_path):
    assert_bit_exact_on_m4(write_model(c, tmp_path), tmp_path)


@needs_m4
def test_cortex_m4_seanet_conv10(tmp_path):
    assert_bit_exact_on_m4(shared_model("wider/seanet_conv10_i16.tflite"), tmp_path)


def m4_instructions(gen: Path) -> int:
    result = subprocess.run([str(M4BENCH), str(gen), "model"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["insns_per_invoke"][0]


@needs_m4
def test_cortex_m4_dsp_path_is_faster(tmp_path):
    """The DSP loops run fewer instructions than the portable ones (-DTINYC_NO_DSP)."""
    path = write_model(CONVS[1], tmp_path)
    counts = []
    for define in ("", "#define TINYC_NO_DSP 1\n"):
        gen = tmp_path / f"gen{len(counts)}"
        compile_to_folder(path, gen, name="model")
        cpp = gen / "model.cpp"
        cpp.write_text(define + cpp.read_text())
        counts.append(m4_instructions(gen))
    assert counts[0] < 0.7 * counts[1], counts


# --- layouts ---


def test_pair_weight_chunks_layout():
    weights = np.arange(2 * 3 * 6, dtype=np.int8).reshape(2, 1, 3, 6)  # taps of 6 values
    out = pair_weight_chunks(weights).reshape(2, 1, 3, 6)
    for tap in out.reshape(-1, 6):
        base = tap[0]
        assert (tap - base).tolist() == [0, 2, 1, 3, 4, 5]


# --- generated code: -Werror under g++, clang++ and arm-none-eabi-g++, and valid C ---

WARNINGS = ["-Wall", "-Wextra", "-Werror"]
COMPILERS = {
    "g++": ["g++", "-std=c++11", "-pedantic", "-O2", *WARNINGS],
    "clang++": ["clang++", "-std=c++11", "-pedantic", "-O2", *WARNINGS],
    "arm-Os": ["arm-none-eabi-g++", "-std=c++11", "-pedantic", "-mcpu=cortex-m4", "-mthumb",
               "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", *WARNINGS],
    "arm-O2": ["arm-none-eabi-g++", "-std=c++11", "-pedantic", "-mcpu=cortex-m4", "-mthumb",
               "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2", *WARNINGS],
    "arm-O0": ["arm-none-eabi-g++", "-std=c++11", "-pedantic", "-mcpu=cortex-m4", "-mthumb",
               "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O0", *WARNINGS],
    "arm-clang": ["clang++", "--target=arm-none-eabi", "-mcpu=cortex-m4", "-mthumb",
                  "-mfloat-abi=hard", "-std=c++11", "-pedantic", "-Os", "-ffreestanding",
                  *WARNINGS],
}
BUILD_MODELS = [CONVS[0], CONVS[6], CONVS[14], CONVS[-1], DEPTHWISE[0], DEPTHWISE[3],
                DEPTHWISE[-1],
                Conv("conv", "float32", (1, 6, 6, 4), channels=4, groups=2),
                Conv("depthwise", "float32", (1, 6, 6, 3), channels=2),
                Conv("conv", "int8", (1, 6, 6, 6), channels=6, groups=3)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("werror")
    folders = []
    for i, c in enumerate(BUILD_MODELS):
        path = root / f"m{i}.tflite"
        path.write_bytes(conv_model(c))
        compile_to_folder(path, root / f"gen{i}", name=f"m{i}")
        folders.append(root / f"gen{i}")
    return folders


def newlib_includes() -> list[str]:
    """The C library headers arm-none-eabi-gcc uses (newlib's), for clang targeting Arm."""
    result = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-xc", "-E", "-v", "-"],
                            input="", capture_output=True, text=True)
    lines = result.stderr.splitlines()
    start = lines.index("#include <...> search starts here:") + 1
    folders = [os.path.realpath(line.strip()) for line in lines[start:]
               if line.startswith(" ")]
    return [f for f in folders if "/gcc/" not in f]


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
def test_generated_code_builds_with_werror(compiler, generated, tmp_path):
    command = COMPILERS[compiler]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed (.ci/run installs it)")
    if compiler == "arm-clang" and shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed (.ci/run installs it)")
    extra = [f"-isystem{d}" for d in newlib_includes()] if compiler == "arm-clang" else []
    for gen in generated:
        (cpp,) = gen.glob("*.cpp")
        result = subprocess.run([*command, *extra, "-I", str(gen), "-c", str(cpp), "-o",
                                 str(tmp_path / "out.o")], capture_output=True, text=True)
        assert result.returncode == 0, f"{cpp}\n{result.stderr}"


def test_kernel_headers_are_c99(generated, tmp_path):
    """The headers are valid C99 (the generated model itself is C++)."""
    source = tmp_path / "use.c"
    source.write_text('#include "tinyc_runtime/conv_s16.h"\n#include "tinyc_runtime/conv_f32.h"\n'
                      '#include "tinyc_runtime/conv.h"\nint tinyc_unused;\n')
    folder = tmp_path / "headers"
    folder.mkdir()
    from tinyc.write_files import runtime_sources

    for name, text in runtime_sources(["conv_s16.h", "conv_f32.h", "conv.h"]).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for cc in ("gcc", "clang"):
        if shutil.which(cc) is None:
            continue
        result = subprocess.run([cc, "-std=c99", "-pedantic", "-O2", *WARNINGS, "-I",
                                 str(folder), "-c", str(source), "-o", str(tmp_path / "use.o")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


# --- unsupported combinations: UnsupportedError naming the op, the option and the types ---


def graph_of(c: Conv, tmp_path: Path, change=None):
    graph = read_model(write_model(c, tmp_path))
    return change(graph, graph.ops[0]) if change else graph


def retype(graph, index, **changes):
    tensors = list(graph.tensors)
    tensors[index] = tensors[index].replace(**changes)
    return graph.replace(tensors=tuple(tensors))


def with_bias(graph, op, dtype):
    bias = graph.tensor(op.inputs[2])
    return retype(graph, op.inputs[2], dtype=dtype, data=bias.data.astype(dtype))


UNSUPPORTED = {
    "depthwise-int32-bias": (
        DEPTHWISE[0], lambda g, op: with_bias(g, op, "int32"),
        "DEPTHWISE_CONV_2D", "int32 bias with int16 activations"),
    "conv-int16-bias": (
        CONVS[0], lambda g, op: with_bias(g, op, "int16"), "CONV_2D",
        "int16 bias with int16 activations"),
    "int16-weights": (
        CONVS[0], lambda g, op: retype(g, op.inputs[1], dtype="int16",
                                       data=g.tensor(op.inputs[1]).data.astype(np.int16)),
        "CONV_2D", "int16 weights with int16 activations"),
    "int16-in-int8-out": (
        CONVS[0], lambda g, op: retype(g, op.outputs[0], dtype="int8"), "CONV_2D",
        "int16 input activations with int8 weights and int8 output"),
    "huge-int64-bias": (
        CONVS[0], lambda g, op: retype(g, op.inputs[2], data=np.full(
            g.tensor(op.inputs[2]).shape, 1 << 47, np.int64)), "CONV_2D", "2^47"),
    "huge-depthwise-bias": (
        DEPTHWISE[0], lambda g, op: retype(g, op.inputs[2], data=np.full(
            g.tensor(op.inputs[2]).shape, -(1 << 47), np.int64)), "DEPTHWISE_CONV_2D", "2^47"),
    "int32-accumulator-overflow": (
        CONVS[6], lambda g, op: retype(g, op.inputs[2], data=np.full(
            g.tensor(op.inputs[2]).shape, (1 << 31) - 1, np.int32)), "CONV_2D", "overflows"),
    "shift-out-of-range": (
        CONVS[0], lambda g, op: retype(g, op.outputs[0], quant=dataclasses.replace(
            g.tensor(op.outputs[0]).quant, scale=(1e-12,))), "CONV_2D", "shift"),
    "groups-not-dividing": (
        dataclasses.replace(CONVS[14], channels=5), None, "CONV_2D",
        "5 output channels do not split into 2 groups"),
    "filter-depth-not-dividing": (
        CONVS[0], lambda g, op: retype(g, op.inputs[1], shape=(4, 3, 3, 2),
                                       data=g.tensor(op.inputs[1]).data[..., :2]),
        "CONV_2D", "filter depth 2"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_is_named(case, tmp_path):
    c, change, kind, expected = UNSUPPORTED[case]
    graph = graph_of(c, tmp_path, change)
    with pytest.raises(UnsupportedError) as info:
        lower(graph)
    message = str(info.value)
    assert f"op 0 ({kind})" in message and expected in message, message
