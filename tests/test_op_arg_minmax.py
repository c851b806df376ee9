"""ARG_MAX and ARG_MIN (int8 and float32 input, int32 output, as TFLM), against TFLM.

- Grids per op and input type: ranks 1 to 6, every axis (negative ones too), and inputs drawn
  from a handful of values so that most rows hold ties (TFLM takes the first index); float rows
  with NaN first, later and throughout, +-0.0, +-inf.
- What TFLM refuses (int64 output, int16 input, int64 axis) tinyc refuses.
- Keras models converted with TensorFlow (int8 and float32) ending in tf.argmax with an int32
  output, bit-exact with TFLM.
- The generated code builds with -Werror under g++, clang++ and arm-none-eabi-g++, and the
  header is valid C99.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ir import DTYPES
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from op_cases import Case, multi_op_model, run_cases, tflm_refuses
from test_op_reduce import COMPILERS, RNG, assert_builds_clean, reseed, spec
from tflite_builders import single_layer_model

# (input shape, axis)
SHAPES = [
    ([10], 0),
    ([10], -1),
    ([3, 7], 1),
    ([3, 7], 0),
    ([3, 7], -2),
    ([2, 3, 4], 1),
    ([2, 3, 4], -1),
    ([2, 3, 4], 0),
    ([1, 5, 5, 8], 3),
    ([1, 5, 5, 8], 1),
    ([2, 2, 3, 2, 4], 2),
    ([2, 2, 3, 2, 2, 3], -3),
    ([1, 1], 1),  # one element along the axis: index 0
    ([4, 1, 3], 1),
    ([1, 300], 1),
]

FLOAT_POOL = np.array([0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf, np.nan, 1e30], np.float32)


def tie_values(dtype: str, shape, n: int) -> np.ndarray:
    """Values from a small pool (ties everywhere); every third case over the whole range."""
    if dtype == "float32":
        if n % 3 == 2:
            return RNG.uniform(-4, 4, shape).astype(np.float32)
        pool = FLOAT_POOL if n % 3 == 0 else FLOAT_POOL[[0, 2, 3, 4]]
        return pool[RNG.integers(0, pool.size, shape)]
    if n % 3 == 2:
        return RNG.integers(-128, 128, shape).astype(np.int8)
    low, high = [(-3, 3), (124, 127)][n % 3]
    return RNG.integers(low, high, shape, endpoint=True).astype(np.int8)


def arg_cases(kind: str, dtype: str) -> list[Case]:
    reseed({"ARG_MAX": 50, "ARG_MIN": 60}[kind] + (dtype == "float32"))
    options = {"ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions"}[kind]
    cases = []
    for n, (shape, axis) in enumerate(SHAPES):
        out = [d for i, d in enumerate(shape) if i != axis % len(shape)]
        quant = [(0.05, 3), None, (1 / 255, -128)][n % 3] if dtype == "int8" else None
        cases.append(Case(
            kind,
            [spec(shape, dtype, quant), spec([1], "int32", data=np.array([axis], np.int32))],
            spec(out, "int32"),
            [tie_values(dtype, shape, n)],
            options,
            {"outputType": DTYPE_ENUM["int32"]},
            f"{kind} {dtype} {shape} axis {axis}",
        ))
    return cases


DTYPE_ENUM = {"int32": 2, "int64": 4}  # TensorType


@pytest.mark.parametrize("kind", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_arg_minmax_grid(kind, dtype, tmp_path):
    run_cases(tmp_path, f"{kind.lower()}_{dtype}", arg_cases(kind, dtype))


def test_float_rows_tflm_decides(tmp_path):
    """Rows whose answer depends on TFLM's comparison: NaN first (index 0 stays), NaN later
    (skipped), all NaN, +0.0 against -0.0 (equal: the first), -inf only, +inf twice."""
    nan, inf = np.nan, np.inf
    rows = np.array([
        [nan, 1.0, 2.0, 3.0], [1.0, nan, 3.0, nan], [nan, nan, nan, nan], [0.0, -0.0, -1.0, -2.0],
        [-0.0, 0.0, -1.0, -2.0], [-inf, -inf, -inf, -inf], [1.0, inf, 2.0, inf],
        [-1.0, -inf, nan, -inf], [2.0, 2.0, 2.0, 2.0],
    ], np.float32)
    axis = spec([1], "int32", data=np.array([1], np.int32))
    cases = [Case(kind, [spec(rows.shape, "float32"), axis], spec([rows.shape[0]], "int32"),
                  [rows], options, {"outputType": 2}, f"{kind} special rows")
             for kind, options in (("ARG_MAX", "ArgMaxOptions"), ("ARG_MIN", "ArgMinOptions"))]
    run_cases(tmp_path, "arg_special", cases)


# --- refused ----------------------------------------------------------------------------------


def one_arg(kind: str = "ARG_MAX", dtype: str = "int8", out: str = "int32",
            axis_dtype: str = "int32", axis=1) -> bytes:
    options = {"ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions"}[kind]
    case = Case(kind, [spec([2, 5], dtype, (0.1, 0) if dtype in ("int8", "int16") else None),
                       spec([1], axis_dtype, data=np.array([axis], axis_dtype))],
                spec([2], out), [], options, {"outputType": DTYPE_ENUM.get(out, 2)})
    return multi_op_model([case])


REFUSED = {
    "int64 output": (one_arg(out="int64"),
                     r"op 0 \(ARG_MAX\): output tensor 2 \('t2'\) has type int64"),
    "int16 input": (one_arg("ARG_MIN", dtype="int16"),
                    r"op 0 \(ARG_MIN\): tensor 0 \('t0'\) has type int16"),
    "int64 axis": (one_arg(axis_dtype="int64"),
                   r"op 0 \(ARG_MAX\): the axis input tensor 1 \('t1'\) has type int64"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_tflm_refuses_tinyc_refuses(name, tmp_path):
    model, message = REFUSED[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    x = read_model(path).tensor(0)
    assert tflm_refuses(path, [np.zeros(x.shape, DTYPES[x.dtype][0])]), f"{name}: TFLM runs it"
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "m")


def test_axis_out_of_range_is_refused(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(one_arg(axis=-3))
    with pytest.raises(UnsupportedError, match=r"op 0 \(ARG_MAX\): axis -3 is out of range"):
        compile_model(path, "m")


def test_computed_axis_is_refused(tmp_path):
    case = Case("ARG_MAX", [spec([2, 5], "float32"), spec([1], "int32")], spec([2], "int32"), [],
                "ArgMaxOptions", {"outputType": 2})
    path = tmp_path / "m.tflite"
    path.write_bytes(multi_op_model([case]))
    with pytest.raises(UnsupportedError, match=r"op 0 \(ARG_MAX\): the axis input .* constant"):
        compile_model(path, "m")


# --- Keras ------------------------------------------------------------------------------------


def argmax_model(mode: str):
    def build(tf, x):
        y = tf.keras.layers.Conv2D(6, 3, activation="relu")(x)
        y = tf.keras.layers.Dense(5)(y)
        return tf.keras.layers.Lambda(lambda t: tf.argmax(t, axis=-1, output_type=tf.int32))(y)

    return single_layer_model("argmax-conv-dense", (7, 7, 2), build, mode=mode)


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_argmax_is_bit_exact(mode):
    path = argmax_model(mode)
    graph = read_model(path)
    (op,) = [op for op in graph.ops if op.kind == "ARG_MAX"]
    assert graph.tensor(op.outputs[0]).dtype == "int32"
    assert_bit_exact(path, samples=30)


# --- the generated code builds clean ------------------------------------------------------------


@pytest.mark.parametrize("compiler", COMPILERS)
def test_generated_code_builds_clean(compiler, tmp_path):
    cases = [c for kind in ("ARG_MAX", "ARG_MIN") for dtype in ("int8", "float32")
             for c in arg_cases(kind, dtype)[:2]]
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(cases))
    assert assert_builds_clean(compiler, path, tmp_path, "arg_ops") == {
        f"tinyc_arg_{k}_{t}" for k in ("max", "min") for t in ("s8", "f32")}
