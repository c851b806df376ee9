"""LOG_SOFTMAX, L2_NORMALIZATION and CUMSUM (int8 and float32, as TFLM), against TFLM.

- LOG_SOFTMAX grids: ranks 1 to 4, depths 1 to 4095 (the int8 limit), input scales from 1e-5
  to 100 (at 32 and above TFLM caps the scaled multiplier at 2^31 - 1 and only the row maximum
  survives), zero points over the range; rows [127, v] for every int8 v at several scales; floats
  with +-0, +-inf, NaN and huge values.
- L2_NORMALIZATION grids: depths 1 to 2000, zero points at both ends, rows equal to the zero
  point (sum 0), one element off by one (sum 1, TFLM's special case), sums that cross every
  normalization step of the inverse square root; floats with zero rows (epsilon) and specials.
- CUMSUM grids: ranks 1 to 5, every axis, exclusive and reverse, input/output scale ratios from
  2^-18 to 1e3, long chains whose int32 accumulator wraps around as TFLM's does.
- What TFLM refuses tinyc refuses (log-softmax output quantization, rank-5 l2 norm, fused
  activation, int16 types, ...).
- Keras: a LeNet-like classifier ending in tf.nn.log_softmax (int8 and float32), and the shared
  te_ptq_mnist_lenet_300_100 model (FULLY_CONNECTED x3, QUANTIZE, RESHAPE, DEQUANTIZE,
  LOG_SOFTMAX), bit-exact with TFLM.
- The generated code of all these kernels builds with -Werror under g++, clang++ and
  arm-none-eabi-g++, and the headers are valid C99.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ir import DTYPES
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact, shared_model
from op_cases import Case, multi_op_model, run_cases, tflm_refuses
from test_op_reduce import (
    COMPILERS,
    RNG,
    assert_builds_clean,
    enum,
    reseed,
    spec,
    values,
)
from tflite_builders import single_layer_model

LOG_SOFTMAX_OUT = (16 / 256, 127)

# --- LOG_SOFTMAX ------------------------------------------------------------------------------

LOG_SOFTMAX_SHAPES = [[1, 10], [3, 37], [2, 3, 5], [1, 1], [4, 300], [1, 2, 2, 64], [16],
                      [2, 4095], [5, 2]]
LOG_SOFTMAX_SCALES = [0.1, 0.004, 0.5, 1 / 16, 0.02, 1e-5, 2.0, 32.0, 100.0, 0.25, 1e-3, 8.0]


def log_softmax_cases(dtype: str) -> list[Case]:
    reseed(70 + (dtype == "float32"))
    cases = []
    if dtype == "float32":
        for n, shape in enumerate(LOG_SOFTMAX_SHAPES):
            cases.append(Case("LOG_SOFTMAX", [spec(shape, dtype)], spec(shape, dtype),
                              [values(dtype, shape, special=n % 2 == 1) * (1 + 10 * (n % 3))],
                              label=f"LOG_SOFTMAX float32 {shape}"))
        return cases
    grid = [(shape, LOG_SOFTMAX_SCALES[i % len(LOG_SOFTMAX_SCALES)])
            for i, shape in enumerate(LOG_SOFTMAX_SHAPES)]
    grid += [([6, 23], scale) for scale in LOG_SOFTMAX_SCALES]
    for shape, scale in grid:
        zero_point = int(RNG.integers(-128, 128))
        cases.append(Case("LOG_SOFTMAX", [spec(shape, dtype, (scale, zero_point))],
                          spec(shape, dtype, LOG_SOFTMAX_OUT), [values(dtype, shape)],
                          label=f"LOG_SOFTMAX int8 {shape} scale {scale} zp {zero_point}"))
    return cases


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_log_softmax_grid(dtype, tmp_path):
    cases = log_softmax_cases(dtype)
    assert len(cases) >= 9
    run_cases(tmp_path, f"log_softmax_{dtype}", cases)


def test_log_softmax_int8_every_difference(tmp_path):
    """Rows [127, v] for every int8 v (every difference from 0 to -255 once), and rows of
    equal values (all differences 0), at scales from tiny to capped."""
    v = np.arange(-128, 128, dtype=np.int8)
    pairs = np.stack([np.full_like(v, 127), v], axis=1)
    equal = np.repeat(np.arange(-128, 128, 8, dtype=np.int8)[:, None], 40, axis=1)
    cases = [
        Case("LOG_SOFTMAX", [spec(x.shape, "int8", (scale, 0))],
             spec(x.shape, "int8", LOG_SOFTMAX_OUT), [x],
             label=f"LOG_SOFTMAX every difference {x.shape} scale {scale}")
        for scale in (1e-4, 0.004, 0.05, 0.3, 1.0, 40.0)
        for x in (pairs, equal)
    ]
    run_cases(tmp_path, "log_softmax_every_diff", cases)


# --- L2_NORMALIZATION -------------------------------------------------------------------------

L2_SHAPES = [[1, 10], [3, 37], [2, 3, 5], [1, 1], [4, 300], [1, 2, 2, 64], [16], [2, 2000],
             [5, 2], [8, 3]]
L2_ZERO_POINTS = [0, -128, 127, 5, -3, 64, -100, 0, 1, -1]


def l2_values(shape, zero_point: int, n: int) -> np.ndarray:
    x = values("int8", shape)
    rows = x.reshape(-1, shape[-1])
    if rows.shape[0] >= 3:
        rows[0] = zero_point  # sum of squares 0
        rows[1] = zero_point
        rows[1, 0] = zero_point + (1 if zero_point < 127 else -1)  # sum 1
        # small differences: sums through the inverse square root's normalization steps
        rows[2] = np.clip(zero_point + RNG.integers(-n % 4 - 1, n % 4 + 2, shape[-1]), -128, 127)
    return x


def l2_cases(dtype: str) -> list[Case]:
    reseed(80 + (dtype == "float32"))
    cases = []
    for n, shape in enumerate(L2_SHAPES):
        if dtype == "float32":
            x = values(dtype, shape, special=n % 3 == 1)
            rows = x.reshape(-1, shape[-1])
            rows[0] = 0.0  # norm 0: divided by epsilon
            if rows.shape[0] > 1:
                rows[1] = 1e-8
            cases.append(Case("L2_NORMALIZATION", [spec(shape, dtype)], spec(shape, dtype), [x],
                              "L2NormOptions", {}, f"L2 float32 {shape}"))
            continue
        zero_point = L2_ZERO_POINTS[n % len(L2_ZERO_POINTS)]
        out_quant = (1 / 128, 0) if n % 2 == 0 else (0.05, 3)  # TFLM ignores it
        cases.append(Case("L2_NORMALIZATION", [spec(shape, dtype, (0.02, zero_point))],
                          spec(shape, dtype, out_quant), [l2_values(shape, zero_point, n)],
                          "L2NormOptions", {}, f"L2 int8 {shape} zp {zero_point}"))
    return cases


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_l2_norm_grid(dtype, tmp_path):
    run_cases(tmp_path, f"l2_norm_{dtype}", l2_cases(dtype))


def test_l2_norm_int8_every_sum_of_two(tmp_path):
    """Rows [d, e] for d, e from 0 to 255 away from the zero point -128: every sum of two
    squares up to 2 * 255^2, through every branch of the inverse square root."""
    d = np.arange(0, 256, 3)
    a, b = np.meshgrid(d, d)
    x = (np.stack([a.ravel(), b.ravel()], axis=1) - 128).astype(np.int8)
    cases = [Case("L2_NORMALIZATION", [spec(x.shape, "int8", (0.1, -128))],
                  spec(x.shape, "int8", (1 / 128, 0)), [x], "L2NormOptions", {}, "L2 pairs")]
    run_cases(tmp_path, "l2_pairs", cases)


# --- CUMSUM -----------------------------------------------------------------------------------

# (shape, axis)
CUMSUM_SHAPES = [([10], 0), ([3, 7], 1), ([3, 7], 0), ([3, 7], -1), ([2, 3, 4], 1),
                 ([2, 3, 4], -3), ([1, 5, 5, 8], 2), ([2, 2, 3, 2, 4], 3), ([1, 1], 0),
                 ([4, 50], 1)]
# (input scale, zero point, output scale, zero point)
CUMSUM_QUANT = [(0.05, 3, 0.5, 3), (0.1, -10, 0.1, -10), (0.01, 0, 0.3, -100),
                (0.02, -128, 1.0, 0), (0.5, 127, 1e-3, 0), (0.02, 100, 0.05, -128),
                (1.0, 0, 2 ** -18, 0), (1e-3, -7, 1.0, 127)]


def cumsum_cases(dtype: str) -> list[Case]:
    reseed(90 + (dtype == "float32"))
    cases = []
    n = 0
    for shape, axis in CUMSUM_SHAPES:
        for exclusive in (False, True):
            for reverse in (False, True):
                quant = CUMSUM_QUANT[n % len(CUMSUM_QUANT)]
                q_in, q_out = (quant[:2], quant[2:]) if dtype == "int8" else (None, None)
                cases.append(Case(
                    "CUMSUM",
                    [spec(shape, dtype, q_in), spec([1], "int32", data=np.array([axis], np.int32))],
                    spec(shape, dtype, q_out), [values(dtype, shape, special=n % 5 == 1)],
                    "CumsumOptions", {"exclusive": exclusive, "reverse": reverse},
                    f"CUMSUM {dtype} {shape} axis {axis} exclusive {exclusive} reverse {reverse} "
                    f"{q_in} {q_out}"))
                n += 1
    return cases


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_cumsum_grid(dtype, tmp_path):
    run_cases(tmp_path, f"cumsum_{dtype}", cumsum_cases(dtype))


def test_cumsum_int8_accumulator_wraps_like_tflm(tmp_path):
    """Chains of 127s from zero point -128: each adds 255 * 2^19, so the int32 accumulator
    passes 2^31 after 17 elements and wraps around, in TFLM (on its targets) and in tinyc."""
    x = np.full([3, 40], 127, np.int8)
    x[1, ::3] = -128
    cases = [Case("CUMSUM", [spec(x.shape, "int8", (0.01, -128)),
                             spec([1], "int32", data=np.array([1], np.int32))],
                  spec(x.shape, "int8", (scale, 0)), [x], "CumsumOptions",
                  {"exclusive": exclusive, "reverse": False}, f"CUMSUM wrap {scale} {exclusive}")
             for scale in (0.05, 10.0) for exclusive in (False, True)]
    run_cases(tmp_path, "cumsum_wrap", cases)


# --- what TFLM refuses ------------------------------------------------------------------------


def one_op(kind: str, dtype: str, q_in, q_out, shape=(2, 5), options=None, fields=None,
           axis=None, axis_dtype="int32", out_dtype=None) -> bytes:
    inputs = [spec(shape, dtype, q_in)]
    if axis is not None:
        inputs.append(spec([len(axis)], axis_dtype, data=np.array(axis, axis_dtype)))
    case = Case(kind, inputs, spec(shape, out_dtype or dtype, q_out), [], options, fields or {})
    return multi_op_model([case])


REFUSED = {
    "log_softmax output scale": (
        one_op("LOG_SOFTMAX", "int8", (0.1, 0), (1 / 256, 127)),
        r"op 0 \(LOG_SOFTMAX\): output scale 0.00390625 and zero point 127 are not supported",
    ),
    "log_softmax output zero point": (
        one_op("LOG_SOFTMAX", "int8", (0.1, 0), (16 / 256, 0)),
        r"op 0 \(LOG_SOFTMAX\): output scale 0.0625 and zero point 0 are not supported",
    ),
    "log_softmax int16": (
        one_op("LOG_SOFTMAX", "int16", (0.1, 0), (16 / 256, 0)),
        r"op 0 \(LOG_SOFTMAX\): tensor 0 \('t0'\) has type int16",
    ),
    "log_softmax tiny input scale": (
        one_op("LOG_SOFTMAX", "int8", (1e-8, 0), LOG_SOFTMAX_OUT),
        r"op 0 \(LOG_SOFTMAX\): input scale 1e-08 is too small",
    ),
    "l2 rank 5": (
        one_op("L2_NORMALIZATION", "float32", None, None, shape=(1, 2, 1, 2, 3),
               options="L2NormOptions"),
        r"op 0 \(L2_NORMALIZATION\): input of rank 5 is not supported",
    ),
    "l2 relu": (
        one_op("L2_NORMALIZATION", "float32", None, None, options="L2NormOptions",
               fields={"fusedActivationFunction": enum("ActivationFunctionType", "RELU")}),
        r"op 0 \(L2_NORMALIZATION\): fused_activation_function=RELU is not supported",
    ),
    "l2 int16": (
        one_op("L2_NORMALIZATION", "int16", (0.1, 0), (1 / 128, 0), options="L2NormOptions"),
        r"op 0 \(L2_NORMALIZATION\): tensor 0 \('t0'\) has type int16",
    ),
    "cumsum int16": (
        one_op("CUMSUM", "int16", (0.1, 0), (0.1, 0), options="CumsumOptions", axis=[1]),
        r"op 0 \(CUMSUM\): tensor 0 \('t0'\) has type int16",
    ),
    "cumsum two axes": (
        one_op("CUMSUM", "float32", None, None, options="CumsumOptions", axis=[0, 1]),
        r"op 0 \(CUMSUM\): the axis input tensor 1 \('t1'\) has type int32 and 2 element",
    ),
    "cumsum axis out of range": (
        one_op("CUMSUM", "float32", None, None, options="CumsumOptions", axis=[2]),
        r"op 0 \(CUMSUM\): axis 2 is out of range for an input of rank 2",
    ),
    "cumsum output scale far too small": (
        one_op("CUMSUM", "int8", (1.0, 0), (2 ** -19, 0), options="CumsumOptions", axis=[1]),
        r"op 0 \(CUMSUM\): the output factor 1 is not in \(0, 1\)",
    ),
}


# TFLM's Prepare fails a TFLITE_CHECK on these and aborts the process.
ABORTS = {"log_softmax tiny input scale", "cumsum output scale far too small"}


def tflm_aborts(path, shape, dtype: str) -> bool:
    """Whether the TFLM interpreter dies on the model (run in a child process)."""
    code = (f"import numpy as np\nfrom tinyc.verify.compare import tflm_runner\n"
            f"tflm_runner({str(path)!r}, 1)([np.zeros({tuple(shape)!r}, {dtype!r})])\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode != 0


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_tflm_refuses_tinyc_refuses(name, tmp_path):
    model, message = REFUSED[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    x = read_model(path).tensor(0)
    if name in ABORTS:
        assert tflm_aborts(path, x.shape, x.dtype), f"{name}: TFLM runs this model"
    else:
        assert tflm_refuses(path, [np.zeros(x.shape, DTYPES[x.dtype][0])]), \
            f"{name}: TFLM runs this model"
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "m")


def test_log_softmax_int8_depth_limit(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(one_op("LOG_SOFTMAX", "int8", (0.1, 0), LOG_SOFTMAX_OUT, shape=(1, 4096)))
    with pytest.raises(UnsupportedError, match=r"op 0 \(LOG_SOFTMAX\): a last dimension of 4096"):
        compile_model(path, "m")


def test_l2_norm_int8_depth_limit(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(one_op("L2_NORMALIZATION", "int8", (0.1, -128), (1 / 128, 0),
                            shape=(1, 40000), options="L2NormOptions"))
    with pytest.raises(UnsupportedError, match=r"a last dimension of 40000 with input zero"):
        compile_model(path, "m")


# --- Keras and the shared model ---------------------------------------------------------------


def lenet_log_softmax(mode: str):
    def build(tf, x):
        y = tf.keras.layers.Conv2D(4, 3, activation="relu")(x)
        y = tf.keras.layers.MaxPooling2D()(y)
        y = tf.keras.layers.Conv2D(8, 3, activation="relu")(y)
        y = tf.keras.layers.MaxPooling2D()(y)
        y = tf.keras.layers.Flatten()(y)
        y = tf.keras.layers.Dense(24, activation="relu")(y)
        y = tf.keras.layers.Dense(10)(y)
        return tf.keras.layers.Lambda(lambda t: tf.nn.log_softmax(t))(y)

    return single_layer_model("lenet-log-softmax", (16, 16, 1), build, mode=mode, low=0.0)


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_lenet_log_softmax_is_bit_exact(mode):
    path = lenet_log_softmax(mode)
    kinds = [op.kind for op in read_model(path).ops]
    assert kinds[-1] == "LOG_SOFTMAX", kinds
    assert_bit_exact(path, samples=30)


def test_shared_mnist_lenet_300_100_is_bit_exact():
    path = shared_model("wider/te_ptq_mnist_lenet_300_100.tflite")
    kinds = {op.kind for op in read_model(path).ops}
    assert kinds == {"FULLY_CONNECTED", "QUANTIZE", "RESHAPE", "DEQUANTIZE", "LOG_SOFTMAX"}
    assert_bit_exact(path, samples=50)


# --- the generated code builds clean ------------------------------------------------------------


@pytest.mark.parametrize("compiler", COMPILERS)
def test_generated_code_builds_clean(compiler, tmp_path):
    cases = []
    for dtype in ("int8", "float32"):
        cases += log_softmax_cases(dtype)[:2] + l2_cases(dtype)[:2] + cumsum_cases(dtype)[:2]
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(cases))
    assert assert_builds_clean(compiler, path, tmp_path, "log_softmax_ops") == {
        f"tinyc_{k}_{t}" for k in ("log_softmax", "l2_norm", "cumsum") for t in ("s8", "f32")}
