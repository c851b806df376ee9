"""REDUCE_MAX, REDUCE_MIN, SUM and REDUCE_ALL in every type TFLM's kernels take, against TFLM.

- Grids: many independent single ops in one flatbuffer model (one host build per grid), per op
  and type: shapes of rank 0 to 6, axes sets (negative, repeated, all), keep_dims, and for
  SUM int8/int16 scale ratios from 1e-4 to 3e3 with zero points at both ends of the range. Random
  inputs over each integer type's whole range; floats uniform in [-4, 4] with +-0, +-inf, NaN and
  huge values mixed in (the float max/min keep the first of equal values and never take NaN; a
  row of -inf gives -FLT_MAX, TFLM's start value).
- Chosen inputs: int16 SUM over 70000 elements whose int32 sum wraps around as TFLM's does.
- What TFLM refuses (int8 max/min with rescaling, int16 max/min, int32 sums, an int64 axis, a
  computed REDUCE_PROD: TFLM has no kernel) tinyc refuses; rescale factors beyond the runtime.
- Keras models converted with TensorFlow (int8 and float32, one 16x8): GlobalMaxPooling2D,
  tf.reduce_max, tf.reduce_min, tf.reduce_sum, and a LayerNormalization (MEAN and element-wise
  ops), bit-exact with TFLM; the 16x8 converter's int16 REDUCE_MAX is refused by both.
- The generated code of every kernel in reduce.h builds with -Werror under g++, clang++ and
  arm-none-eabi-g++ (Cortex-M4, -Os), and the header is valid C99.

The helpers here (Case, run_cases, values, spec, assert_builds_clean, keras_model_in_mode) are
shared by test_op_arg_minmax.py, test_op_log_softmax.py and test_op_batch_matmul.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.ir import DTYPES
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from op_cases import Case, multi_op_model, run_cases, tflm_refuses
from tflite_builders import (
    cached_model,
    keras_model,
    quiet_tensorflow,
    representative_samples,
    single_layer_model,
)

# --- many independent ops in one model --------------------------------------------------------


RNG = np.random.default_rng(0)


def reseed(seed: int) -> None:
    """Each case builder starts from its own seed, whatever ran before it in this process."""
    RNG.bit_generator.state = np.random.default_rng(seed).bit_generator.state


SPECIAL = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -0.5, 1e30, -1e30, 1e-40, 3.0, -7.0], np.float32
)


def values(dtype: str, shape, special: bool = False) -> np.ndarray:
    """Integers uniform over the type's range; floats uniform in [-4, 4], some special."""
    if dtype == "float32":
        x = RNG.uniform(-4, 4, shape).astype(np.float32)
        if special:
            flat = x.reshape(-1)
            k = min(flat.size // 3, SPECIAL.size)
            chosen = RNG.choice(flat.size, k, replace=False)
            flat[chosen] = SPECIAL[RNG.permutation(SPECIAL.size)[:k]]
        return x
    if dtype == "bool":
        return RNG.random(shape) < 0.85
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def spec(shape, dtype: str, quant=None, data=None) -> TensorSpec:
    """A tensor (`data`: a constant); `quant` (scale, zero point) or None (unquantized)."""
    return TensorSpec(list(shape), np.dtype(dtype), quant, data)


def enum(table: str, name: str) -> int:
    from ai_edge_litert import schema_py_generated as s

    return getattr(getattr(s, table), name)


# --- the grids ----------------------------------------------------------------------------------

# (input shape, axes, keep_dims)
SHAPES = [
    ([1, 5, 6, 8], [1, 2], False),  # GlobalMaxPooling2D
    ([1, 5, 6, 8], [1, 2], True),
    ([2, 3, 4, 5], [2, 1], True),
    ([2, 3, 4, 5], [0], False),
    ([2, 3, 4, 5], [3], True),
    ([2, 3, 4, 5], [-1], False),
    ([2, 3, 4, 5], [1, 3], False),
    ([2, 3, 4, 5], [0, 2], True),
    ([2, 3, 4, 5], [0, 1, 2, 3], False),
    ([2, 3, 4, 5], [-4, 3, 0], True),
    ([2, 3, 4, 5], [1, 1, -3], True),  # a repeated axis counts once
    ([7], [0], False),
    ([7], [-1], True),
    ([4, 6], [-2], True),
    ([3, 4, 5], [0, 2], False),
    ([1, 16, 16, 3], [1, 2], False),  # 256 per output
    ([1, 1, 7, 1], [2], False),  # size-1 dimensions around the reduced one
    ([2, 1, 3, 1, 4], [1, 3], True),  # reduced size-1 dimensions: a copy
    ([2, 3, 2, 3, 2], [0, 2, 4], False),  # rank 5, three runs reduced
    ([3, 2, 3, 2, 3, 2], [1, 3, 5], True),  # rank 6, three runs of each
    ([2, 3, 2, 3, 2, 2], [0, 2, 4], False),
    ([], [0], False),  # a scalar reduces to itself
    ([1, 64, 64, 2], [1, 2], True),  # 4096 per output
]
# (input scale, zero point, output scale, zero point) for SUM: the output scale is usually the
# input's times the count or so; some ratios above 1; zero points at both ends.
SUM_QUANT = {
    "int8": [
        (0.05, 3, 0.5, 3),
        (0.1, -10, 2.0, 5),
        (0.01, 0, 0.3, -100),
        (1e-4, -128, 1.0, 0),
        (0.5, 127, 1e-3, 0),  # ratio 500: every sum saturates
        (0.02, -128, 0.02, -128),
        (0.03, 100, 3.0, -128),
        (3e-3, -5, 1e-2, 127),
    ],
    "int16": [
        (1e-3, 0, 1e-2, 0),
        (3e-4, 0, 1e-3, 0),
        (1e-4, 7, 5e-3, -9),
        (0.5, 0, 1e-4, 0),  # ratio 5000
        (1e-6, 0, 1.0, 0),
        (0.02, -32768, 3.0, 32767),
    ],
}


def reduce_cases(kind: str, dtype: str) -> list[Case]:
    reseed({"REDUCE_MAX": 1, "REDUCE_MIN": 2, "SUM": 3, "REDUCE_ALL": 4}[kind] * 10
           + {"int8": 0, "int16": 1, "float32": 2, "bool": 3}[dtype])
    cases = []
    for n, (shape, axes, keep) in enumerate(SHAPES):
        rank = len(shape)
        resolved = {a % rank for a in axes} if rank else set()
        out = [1 if i in resolved else d for i, d in enumerate(shape) if keep or i not in resolved]
        if dtype in ("float32", "bool"):
            q_in = q_out = None
        elif kind == "SUM":
            quant = SUM_QUANT[dtype][n % len(SUM_QUANT[dtype])]
            q_in, q_out = quant[:2], quant[2:]
        else:
            q_in = q_out = [(0.05, 3), (0.1, -128), (1 / 255, 127)][n % 3]
        cases.append(
            Case(
                kind,
                [spec(shape, dtype, q_in),
                 spec([len(axes)], "int32", data=np.array(axes, np.int32))],
                spec(out, dtype, q_out),
                [values(dtype, shape, special=n % 3 == 0)],
                "ReducerOptions",
                {"keepDims": keep},
                f"{kind} {dtype} {shape} axes {axes} keep {keep} {q_in} {q_out}",
            )
        )
    return cases


GRIDS = [("REDUCE_MAX", "int8"), ("REDUCE_MAX", "float32"), ("REDUCE_MIN", "int8"),
         ("REDUCE_MIN", "float32"), ("SUM", "int8"), ("SUM", "int16"), ("SUM", "float32"),
         ("REDUCE_ALL", "bool")]


@pytest.mark.parametrize("kind,dtype", GRIDS)
def test_reduce_grid(kind, dtype, tmp_path):
    cases = reduce_cases(kind, dtype)
    assert len(cases) >= 20
    run_cases(tmp_path, f"{kind.lower()}_{dtype}", cases)


def test_float_max_min_of_special_rows(tmp_path):
    """Rows TFLM's start values and strict comparisons decide: all -inf (max gives -FLT_MAX),
    all +inf (min gives FLT_MAX), NaN first or later (never taken), +0.0 and -0.0 in both orders
    (the first stays), all NaN."""
    inf, nan = np.inf, np.nan
    rows = np.array(
        [[-inf, -inf, -inf], [inf, inf, inf], [nan, 1.0, 2.0], [1.0, nan, -2.0],
         [0.0, -0.0, -1.0], [-0.0, 0.0, -1.0], [nan, nan, nan], [-0.0, 0.0, 1.0],
         [0.0, -0.0, 1.0], [3.0, 3.0, nan]], np.float32)
    axes = spec([1], "int32", data=np.array([1], np.int32))
    cases = [Case(kind, [spec(rows.shape, "float32"), axes], spec([rows.shape[0]], "float32"),
                  [rows], "ReducerOptions", {"keepDims": False}, f"{kind} special rows")
             for kind in ("REDUCE_MAX", "REDUCE_MIN", "SUM")]
    run_cases(tmp_path, "special_rows", cases)


def test_int16_sum_wraps_like_tflm(tmp_path):
    """70000 elements of 32767 sum past 2^31: TFLM's int32 sum wraps around, and so does
    tinyc's."""
    shape = [1, 280, 250, 1]
    axes = spec([2], "int32", data=np.array([1, 2], np.int32))
    reseed(99)
    mixed = values("int16", shape)
    mixed[0, :200] = 32767
    cases = [
        Case("SUM", [spec(shape, "int16", (1e-3, 0)), axes], spec([1, 1], "int16", (100.0, 0)),
             [x], "ReducerOptions", {"keepDims": False}, f"SUM wrap {i}")
        for i, x in enumerate((np.full(shape, 32767, np.int16), mixed))
    ]
    run_cases(tmp_path, "sum_wrap", cases)


# --- what TFLM refuses --------------------------------------------------------------------------


def one_reduce(kind: str, dtype: str, q_in, q_out, axes=(1,), shape=(2, 3), axis_dtype="int32",
               out_dtype: str | None = None) -> bytes:
    out = [d for i, d in enumerate(shape) if i not in axes]
    case = Case(kind, [spec(shape, dtype, q_in),
                       spec([len(axes)], axis_dtype, data=np.array(axes, axis_dtype))],
                spec(out, out_dtype or dtype, q_out), [], "ReducerOptions", {"keepDims": False})
    return multi_op_model([case])


REFUSED = {
    "max int8 rescaling": (
        one_reduce("REDUCE_MAX", "int8", (0.1, 0), (0.2, 0)),
        r"op 0 \(REDUCE_MAX\): output scale 0.2 and zero point 0 differ from the input's",
    ),
    "min int8 other zero point": (
        one_reduce("REDUCE_MIN", "int8", (0.1, 0), (0.1, 1)),
        r"op 0 \(REDUCE_MIN\): output scale 0.1 and zero point 1 differ",
    ),
    "max int16": (
        one_reduce("REDUCE_MAX", "int16", (0.1, 0), (0.1, 0)),
        r"op 0 \(REDUCE_MAX\): tensor 0 \('t0'\) has type int16",
    ),
    "min int32": (
        one_reduce("REDUCE_MIN", "int32", None, None),
        r"op 0 \(REDUCE_MIN\): tensor 0 \('t0'\) has type int32",
    ),
    "sum int32": (
        one_reduce("SUM", "int32", None, None),
        r"op 0 \(SUM\): tensor 0 \('t0'\) has type int32",
    ),
    "sum axis int64": (
        one_reduce("SUM", "float32", None, None, axis_dtype="int64"),
        r"op 0 \(SUM\): the axis input tensor 1 \('t1'\) has type int64",
    ),
    "all float": (
        one_reduce("REDUCE_ALL", "float32", None, None),
        r"op 0 \(REDUCE_ALL\): tensor 0 \('t0'\) has type float32",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_tflm_refuses_tinyc_refuses(name, tmp_path):
    model, message = REFUSED[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    assert tflm_refuses(path, [np.zeros(x.shape, DTYPES[x.dtype][0])]), \
        f"{name}: TFLM runs this model"
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "m")


REJECTED = {
    "axis out of range": (
        one_reduce("SUM", "float32", None, None, axes=(-3,), shape=(2, 3)),
        r"op 0 \(SUM\): axis -3 is out of range for an input of rank 2",
    ),
    "axis computed": (None, r"op 0 \(REDUCE_MAX\): the axis input tensor 1 \('t1'\) must be "
                            r"constant"),
    "wrong output size": (None, r"op 0 \(SUM\): output shape \[5\] does not match reducing"),
    "too many runs": (None, r"op 0 \(REDUCE_MIN\): reducing \[2, 2, 2, 2, 2, 2, 2\] over axes "
                            r"\[0, 2, 4, 6\] alternates"),
}


def _rejected_model(name: str) -> bytes:
    if name == "axis computed":
        case = Case("REDUCE_MAX", [spec([2, 3], "float32"), spec([1], "int32")],
                    spec([2], "float32"), [], "ReducerOptions", {"keepDims": False})
        return multi_op_model([case])
    if name == "wrong output size":
        case = Case("SUM", [spec([2, 3], "float32"), spec([1], "int32", data=np.array([1]))],
                    spec([5], "float32"), [], "ReducerOptions", {"keepDims": False})
        return multi_op_model([case])
    if name == "too many runs":
        case = Case("REDUCE_MIN", [spec([2] * 7, "float32"),
                                   spec([4], "int32", data=np.array([0, 2, 4, 6]))],
                    spec([2] * 3, "float32"), [], "ReducerOptions", {"keepDims": False})
        return multi_op_model([case])
    return REJECTED[name][0]


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_with_the_op_named(name, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(_rejected_model(name))
    with pytest.raises(UnsupportedError, match=REJECTED[name][1]):
        compile_model(path, "m")


def test_sum_factor_beyond_the_runtime_is_refused(tmp_path):
    """input_scale / output_scale = 2^31: QuantizeMultiplier's left shift would pass 30."""
    path = tmp_path / "m.tflite"
    path.write_bytes(one_reduce("SUM", "int8", (1.0, 0), (2.0 ** -31, 0)))
    with pytest.raises(UnsupportedError, match=r"op 0 \(SUM\)"):
        compile_model(path, "m")


def test_reduce_prod_is_refused_as_tflm_has_no_kernel(tmp_path):
    """TFLM registers no REDUCE_PROD: a computed one is refused, naming the op (a constant one
    is folded at compile time, fold_ops.py)."""
    case = Case("REDUCE_PROD", [spec([2, 3], "float32"),
                                spec([1], "int32", data=np.array([1], np.int32))],
                spec([2], "float32"), [], "ReducerOptions", {"keepDims": False})
    path = tmp_path / "m.tflite"
    path.write_bytes(multi_op_model([case]))
    assert tflm_refuses(path, [np.zeros([2, 3], np.float32)])
    with pytest.raises(UnsupportedError, match=r"op 0 \(REDUCE_PROD\)"):
        compile_model(path, "m")


# --- Keras models -------------------------------------------------------------------------------


def lam(function):
    """A Keras layer applying a TensorFlow function (Keras 3 takes no tf.* on its tensors)."""
    return lambda tf, x: tf.keras.layers.Lambda(lambda t: function(tf, t))(x)


KERAS = {
    "global_max_pool": ((6, 7, 5), lambda tf, x: tf.keras.layers.GlobalMaxPooling2D()(x)),
    "reduce_max": ((4, 6, 3), lam(lambda tf, t: tf.reduce_max(t, axis=[1, 3], keepdims=True))),
    "reduce_sum": ((5, 8), lam(lambda tf, t: tf.reduce_sum(t, axis=-1))),
    "reduce_sum_all": ((3, 4, 2), lam(lambda tf, t: tf.reduce_sum(t, axis=[1, 2, 3]))),
    "reduce_min": ((4, 6), lam(lambda tf, t: tf.reduce_min(t, axis=1))),
}


def convert_16x8(keras, shape: tuple[int, ...]) -> bytes:
    """int16 activations, int8 weights, int16 input and output (the 16x8 converter mode)."""
    tf = quiet_tensorflow()
    samples = representative_samples(shape)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    ]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return converter.convert()


def keras_model_in_mode(key: str, shape: tuple[int, ...], build, mode: str) -> Path:
    """A cached Keras model converted in mode "int8", "float" or "16x8"."""
    if mode != "16x8":
        return single_layer_model(key, shape, build, mode=mode)
    return cached_model(f"{key}-16x8-v1", lambda: convert_16x8(keras_model(shape, build), shape))


def keras_reduce_model(name: str, mode: str) -> Path:
    shape, build = KERAS[name]
    return keras_model_in_mode(f"reduce-{name}", shape, build, mode)


KERAS_GRID = [(name, mode) for name in sorted(KERAS) for mode in ("int8", "float")] + [
    ("reduce_sum", "16x8")]


@pytest.mark.parametrize("name,mode", KERAS_GRID)
def test_keras_reductions_are_bit_exact(name, mode):
    path = keras_reduce_model(name, mode)
    kinds = {op.kind for op in read_model(path).ops}
    wanted = {"global_max_pool": "REDUCE_MAX", "reduce_max": "REDUCE_MAX", "reduce_sum": "SUM",
              "reduce_sum_all": "SUM", "reduce_min": "REDUCE_MIN"}[name]
    assert wanted in kinds, kinds
    assert_bit_exact(path, samples=20)


def test_keras_16x8_reduce_max_is_refused_by_both():
    """The 16x8 converter writes an int16 REDUCE_MAX, which TFLM's kernel refuses ("Only
    float32 and int8 types are supported"): so does tinyc."""
    path = keras_reduce_model("reduce_max", "16x8")
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    assert x.dtype == "int16"
    assert tflm_refuses(path, [np.zeros(x.shape, np.int16)])
    with pytest.raises(UnsupportedError, match=r"\(REDUCE_MAX\): .* has type int16"):
        compile_model(path, "m")


def layer_norm(tf, x):
    return tf.keras.layers.LayerNormalization()(tf.keras.layers.Dense(8)(x))


# What the converter makes of LayerNormalization (MEAN, not a reduction of this family, and
# element-wise ops; every one of them compiles).
LAYER_NORM_OPS = {
    "int8": {"FULLY_CONNECTED", "MEAN", "DEQUANTIZE", "NEG", "QUANTIZE", "SQUARED_DIFFERENCE",
             "ADD", "RSQRT", "MUL"},
    "float": {"FULLY_CONNECTED", "MEAN", "NEG", "SQUARED_DIFFERENCE", "ADD", "RSQRT", "MUL"},
}


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_layer_normalization_is_bit_exact(mode):
    path = keras_model_in_mode("layer-norm", (5, 6), layer_norm, mode)
    assert {op.kind for op in read_model(path).ops} == LAYER_NORM_OPS[mode]
    assert_bit_exact(path, samples=30)


# --- the generated code builds clean --------------------------------------------------------------

CXX = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror"]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]
COMPILERS = ["g++", "clang++", "arm-none-eabi-g++", "gcc -std=c99"]


def assert_builds_clean(compiler: str, model: Path, tmp_path: Path, name: str) -> set[str]:
    """Compile `model` into a folder and build every source with `compiler` and -Werror (the
    Cortex-M4 flags for arm-none-eabi-g++); "gcc -std=c99" checks the model's runtime headers
    as C. Returns the runtime functions the model calls."""
    tool = compiler.split()[0]
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    folder = tmp_path / "gen"
    compile_to_folder(model, folder, name=name)
    calls = compile_model(model).model.calls
    if compiler == "gcc -std=c99":
        command = ["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-x", "c",
                   "-fsyntax-only"]
        sources = [folder / "tinyc_runtime" / h for h in sorted({c.header for c in calls})]
    else:
        command = [compiler, *CXX, *(ARM if compiler.startswith("arm") else ["-O2"]), "-I",
                   str(folder), "-c", "-o", str(tmp_path / "o.o")]
        sources = sorted(folder.rglob("*.cpp"))
    assert sources
    for source in sources:
        result = subprocess.run([*command, str(source)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    return {c.function for c in calls}


def all_kernel_cases() -> list[Case]:
    cases = []
    for kind, dtype in GRIDS:
        cases += reduce_cases(kind, dtype)[:3]
    return cases


@pytest.mark.parametrize("compiler", COMPILERS)
def test_generated_code_builds_clean(compiler, tmp_path):
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(all_kernel_cases()))
    functions = assert_builds_clean(compiler, path, tmp_path, "reduce_ops")
    assert functions == {"tinyc_reduce_max_s8", "tinyc_reduce_max_f32", "tinyc_reduce_min_s8",
                         "tinyc_reduce_min_f32", "tinyc_reduce_sum_s8", "tinyc_reduce_sum_s16",
                         "tinyc_reduce_sum_f32", "tinyc_reduce_all_b"}
