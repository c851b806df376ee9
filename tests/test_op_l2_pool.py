"""L2_POOL_2D (float32): bit-exact with TFLM's reference kernel.

TFLM has only a float32 L2 pool (test_types_are_the_ones_tflm_takes checks that TFLM refuses
int8 and int16, as tinyc does). The converter has no Keras layer that becomes L2_POOL_2D, so the
models are flatbuffers: a grid over shapes, filters, strides, SAME/VALID padding (windows
clipped at the borders, so counts vary) and the fused activations, each compared with TFLM on
random inputs in [-4, 4].
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.pipeline import compile_model
from tinyc.verify.compare import tflm_runner

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec, single_op_tflite
from tflite_builders import cached_model

SAMPLES = 12
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}
PADDINGS = {"SAME": 0, "VALID": 1}


def out_size(padding: str, size: int, filter_size: int, stride: int) -> int:
    return (size + stride - 1) // stride if padding == "SAME" else (
        size + stride - filter_size) // stride


def l2_model(in_shape, filter_hw, strides, padding: str, activation: str = "NONE",
             dtype="float32", out_shape=None) -> bytes:
    batches, height, width, depth = in_shape
    if out_shape is None:
        out_shape = (batches, out_size(padding, height, filter_hw[0], strides[0]),
                     out_size(padding, width, filter_hw[1], strides[1]), depth)
    q = None if dtype == "float32" else (0.05, 0)
    tensors = [TensorSpec(in_shape, dtype, q, name="x"), TensorSpec(out_shape, dtype, q, name="y")]
    return single_op_tflite(
        "L2_POOL_2D", tensors, [0], [1], "Pool2DOptions", padding=PADDINGS[padding],
        strideH=strides[0], strideW=strides[1], filterHeight=filter_hw[0],
        filterWidth=filter_hw[1], fusedActivationFunction=ACTIVATIONS[activation])


def model_file(name: str, data: bytes):
    return cached_model(f"{name}-{hashlib.sha256(data).hexdigest()[:16]}", lambda: data)


GRID = {  # name: (input NHWC, filter, strides, padding, activation)
    "2x2-s2-valid": ((1, 8, 8, 3), (2, 2), (2, 2), "VALID", "NONE"),
    "3x3-s2-same-odd": ((1, 9, 7, 2), (3, 3), (2, 2), "SAME", "RELU6"),
    "3x3-s1-same": ((2, 5, 6, 4), (3, 3), (1, 1), "SAME", "NONE"),
    "2x3-s1x2-valid": ((1, 6, 7, 5), (2, 3), (1, 2), "VALID", "RELU_N1_TO_1"),
    "5x5-s1-same-big-filter": ((1, 4, 4, 3), (5, 5), (1, 1), "SAME", "RELU"),
    "4x4-s3-same": ((1, 10, 11, 2), (4, 4), (3, 3), "SAME", "NONE"),
    "global": ((1, 5, 7, 6), (5, 7), (1, 1), "VALID", "NONE"),
}


@pytest.mark.parametrize("name", sorted(GRID))
def test_grid_matches_tflm(name):
    in_shape, filter_hw, strides, padding, activation = GRID[name]
    path = model_file(f"l2pool-{name}", l2_model(in_shape, filter_hw, strides, padding,
                                                 activation))
    assert_bit_exact(path, SAMPLES)


def test_clipped_windows_average_over_their_cells(tmp_path):
    """SAME padding: border windows hold fewer cells, and TFLM divides by that count."""
    path = tmp_path / "l2.tflite"
    path.write_bytes(l2_model((1, 3, 3, 1), (3, 3), (1, 1), "SAME"))
    x = np.ones((1, 3, 3, 1), np.float32)
    (out,) = tflm_runner(path, 1)([x])
    assert np.all(np.asarray(out) == 1.0)  # sqrt(count / count) everywhere
    assert_bit_exact(path, 4)


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
def test_types_are_the_ones_tflm_takes(dtype, tmp_path):
    path = tmp_path / f"{dtype}.tflite"
    path.write_bytes(l2_model((1, 4, 4, 1), (2, 2), (2, 2), "VALID", dtype=dtype))
    try:
        tflm_runner(path, 1)([np.zeros((1, 4, 4, 1), dtype)])
        tflm_runs = True
    except Exception:
        tflm_runs = False
    try:
        compile_model(path)
        tinyc_compiles = True
    except UnsupportedError:
        tinyc_compiles = False
    assert tflm_runs == tinyc_compiles == (dtype == "float32")


@pytest.mark.parametrize("change,expected", [
    ({"activation": "TANH"}, "fused_activation_function=TANH"),
    ({"out_shape": (1, 3, 3, 1)}, "output shape [1, 3, 3, 1]"),
])
def test_unsupported_is_named(change, expected, tmp_path):
    path = tmp_path / "l2.tflite"
    path.write_bytes(l2_model((1, 4, 4, 1), (2, 2), (2, 2), "VALID", **change))
    with pytest.raises(UnsupportedError) as info:
        compile_model(path)
    assert "op 0 (L2_POOL_2D)" in str(info.value) and expected in str(info.value)


CXX_FLAGS = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
             "-Werror"]  # as tests/test_generated_code.py
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_with_werror(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    flags = CXX_FLAGS + (ARM_FLAGS if compiler.startswith("arm") else ["-O2"])
    path = tmp_path / "l2.tflite"
    path.write_bytes(l2_model((1, 9, 7, 2), (3, 3), (2, 2), "SAME", "RELU6"))
    compile_to_folder(path, tmp_path / "gen", name="model")
    for source in (tmp_path / "gen").rglob("*.cpp"):
        result = subprocess.run([compiler, *flags, "-I", str(tmp_path / "gen"), "-c",
                                 str(source), "-o", str(tmp_path / "m.o")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
