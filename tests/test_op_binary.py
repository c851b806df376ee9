"""MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, DIV, FLOOR_DIV, FLOOR_MOD, PRELU, ADD_N against TFLM.

- Grids: many single ops in one flatbuffer model (one host build each), over types, broadcast
  shapes (rank 0 to 6, both operands broadcast, size-1 dims, constant operands), fused
  activations and quantization parameters including extreme scales. Float inputs include
  +-0, +-inf, NaN, halves and huge values besides uniform ones.
- All pairs: int8 SQUARED_DIFFERENCE, DIV and PRELU with inputs broadcast [1,256,1] x [1,1,256],
  so one run covers all 65536 int8 pairs. Some DIV scales are ones where TFLM's shift goes past 31
  (undefined in C, x86 semantics in the oracle) and where the multiplier computed in float
  instead of double (as div.cc's source reads) changes outputs.
- Keras layers converted by TensorFlow (int8 full-integer and float32): Maximum, Minimum, PReLU,
  tf.math.squared_difference.
- The generated code builds with -Werror under g++, clang++ and arm-none-eabi-g++; unsupported
  types and options are refused naming the op and the reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.ops.binary import get_reciprocal
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from op_cases import Case, multi_op_model, run_cases
from tflite_builders import cached_model, quiet_tensorflow, single_layer_model

# --- many independent ops in one model --------------------------------------------------------


RNG = np.random.default_rng(0)


def reseed(seed: int) -> None:
    """Each case builder starts from its own seed, whatever ran before it in this process."""
    RNG.bit_generator.state = np.random.default_rng(seed).bit_generator.state


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -0.5, 2.5, -1.5, 1e30, -1e30,
                    1e-40, 3.0, -7.0], np.float32)


def floats(shape, nonzero: bool = False) -> np.ndarray:
    x = RNG.uniform(-4, 4, shape).astype(np.float32)
    flat = x.reshape(-1)
    k = min(flat.size // 3, SPECIAL.size)
    flat[RNG.choice(flat.size, k, replace=False)] = SPECIAL[RNG.permutation(SPECIAL.size)[:k]]
    if nonzero:
        flat[flat == 0] = 1.25
    return x


def ints(dtype, shape, low=None, high=None) -> np.ndarray:
    info = np.iinfo(dtype)
    return RNG.integers(info.min if low is None else low, info.max if high is None else high,
                        shape, endpoint=True).astype(dtype)


def broadcast(s1, s2) -> list[int]:
    return list(np.broadcast_shapes(tuple(s1), tuple(s2)))


# (input1 shape, input2 shape): equal, trailing vector, size-1 dims, both ways, scalars, rank 6
SHAPES = [
    ([2, 3, 4], [2, 3, 4]),
    ([2, 3, 4], [4]),
    ([2, 3, 4], [3, 1]),
    ([4, 1, 3], [1, 5, 3]),
    ([3], []),
    ([], [2, 2]),
    ([1, 6, 1], [7, 1, 1]),
    ([2, 1, 2, 1, 3, 1], [1, 3, 1, 2, 1, 2]),
]
SHAPES4 = [s for s in SHAPES if max(len(s[0]), len(s[1])) <= 4]

# --- float32 ----------------------------------------------------------------------------------


def float_cases() -> list[Case]:
    reseed(1)
    cases = []
    f = "float32"
    for s1, s2 in SHAPES:
        out = broadcast(s1, s2)
        for kind in ("MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "FLOOR_MOD"):
            cases.append(Case(kind, [TensorSpec(s1, f), TensorSpec(s2, f)], TensorSpec(out, f),
                              [floats(s1), floats(s2)], label=f"{kind} {s1} {s2}"))
        cases.append(Case("FLOOR_DIV", [TensorSpec(s1, f), TensorSpec(s2, f)],
                          TensorSpec(out, f), [floats(s1), floats(s2, nonzero=True)],
                          label=f"FLOOR_DIV {s1} {s2}"))
        for act in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            cases.append(Case("DIV", [TensorSpec(s1, f), TensorSpec(s2, f)], TensorSpec(out, f),
                              [floats(s1), floats(s2)], "DivOptions",
                              {"fusedActivationFunction": _act(act)}, f"DIV {act} {s1} {s2}"))
    for s1, s2 in SHAPES4:
        cases.append(Case("PRELU", [TensorSpec(s1, f), TensorSpec(s2, f)],
                          TensorSpec(broadcast(s1, s2), f), [floats(s1), floats(s2)],
                          label=f"PRELU {s1} {s2}"))
    # constant operands, as converted models have them
    alpha = RNG.uniform(-1, 1, (1, 1, 3)).astype(np.float32)
    cases.append(Case("PRELU", [TensorSpec([1, 4, 4, 3], f), TensorSpec([1, 1, 3], f, data=alpha)],
                      TensorSpec([1, 4, 4, 3], f), [floats([1, 4, 4, 3])], label="PRELU const"))
    divisor = np.array([0.5, -3.0, 7.0], np.float32)
    cases.append(Case("DIV", [TensorSpec([5, 3], f), TensorSpec([3], f, data=divisor)],
                      TensorSpec([5, 3], f), [floats([5, 3])], "DivOptions", label="DIV const"))
    return cases


def _act(name: str) -> int:
    from ai_edge_litert import schema_py_generated as s

    return getattr(s.ActivationFunctionType, name)


def test_float32_grid(tmp_path):
    run_cases(tmp_path, "binary_f32", float_cases())


# --- integers ---------------------------------------------------------------------------------

Q8 = [((0.05, 3), (0.02, -10), (0.1, 7)), ((1e-3, -128), (0.7, 127), (2e-3, 0)),
      ((0.4, 0), (0.4, 0), (0.4, 0))]
Q16 = [((0.01, 0), (0.02, 0), (0.03, 0)), ((3e-5, 0), (1e-2, 0), (1e-4, 0))]


def int_cases() -> list[Case]:
    reseed(2)
    cases = []
    for dtype in ("int8", "int16", "int32", "int64"):
        quant = Q8 if dtype == "int8" else Q16 if dtype == "int16" else [(None, None, None)]
        for s1, s2 in SHAPES:
            out = broadcast(s1, s2)
            for q1, q2, qo in quant:
                for kind in ("MAXIMUM", "MINIMUM"):
                    cases.append(Case(kind, [TensorSpec(s1, dtype, q1), TensorSpec(s2, dtype, q2)],
                                      TensorSpec(out, dtype, qo),
                                      [ints(dtype, s1), ints(dtype, s2)],
                                      label=f"{kind} {dtype} {s1} {s2} {q1}"))
                if dtype != "int64":
                    cases.append(Case("SQUARED_DIFFERENCE",
                                      [TensorSpec(s1, dtype, q1), TensorSpec(s2, dtype, q2)],
                                      TensorSpec(out, dtype, qo),
                                      [ints(dtype, s1), ints(dtype, s2)],
                                      label=f"SQUARED_DIFFERENCE {dtype} {s1} {s2} {q1}"))
            if dtype == "int32":
                for act in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
                    divisor = ints("int32", s2, -1000, 1000)
                    divisor[divisor == 0] = 7
                    cases.append(Case("DIV", [TensorSpec(s1, dtype), TensorSpec(s2, dtype)],
                                      TensorSpec(out, dtype),
                                      [ints("int32", s1, -(1 << 30), 1 << 30), divisor],
                                      "DivOptions", {"fusedActivationFunction": _act(act)},
                                      f"DIV int32 {act} {s1} {s2}"))
            if dtype == "int8":
                for (q1, q2, qo), act in zip(Q8, ("NONE", "RELU", "RELU_N1_TO_1"), strict=True):
                    cases.append(Case("DIV", [TensorSpec(s1, dtype, q1), TensorSpec(s2, dtype, q2)],
                                      TensorSpec(out, dtype, qo),
                                      [ints(dtype, s1), ints(dtype, s2)], "DivOptions",
                                      {"fusedActivationFunction": _act(act)},
                                      f"DIV int8 {act} {s1} {s2} {q1}"))
            if dtype in ("int8", "int16"):
                for q1, _, qo in quant:
                    cases.append(Case("PRELU", [TensorSpec(s1, dtype, q1),
                                                TensorSpec(s2, "int8", (0.01, -3))],
                                      TensorSpec(out, dtype, qo),
                                      [ints(dtype, s1), ints("int8", s2)],
                                      label=f"PRELU {dtype} {s1} {s2} {q1}"))
    # int32 wrap-around in SQUARED_DIFFERENCE; constant alpha as the converter writes it
    big = np.array([2**31 - 1, -2**31, 123456789, -5], np.int32)
    cases.append(Case("SQUARED_DIFFERENCE", [TensorSpec([4], "int32"), TensorSpec([4], "int32")],
                      TensorSpec([4], "int32"), [big, big[::-1].copy()], label="sqdiff wrap"))
    alpha = ints("int8", [1, 1, 3])
    cases.append(Case("PRELU", [TensorSpec([1, 4, 4, 3], "int8", (0.03, -5)),
                                TensorSpec([1, 1, 3], "int8", (0.004, 0), data=alpha)],
                      TensorSpec([1, 4, 4, 3], "int8", (0.02, -20)),
                      [ints("int8", [1, 4, 4, 3])], label="PRELU int8 const alpha"))
    return cases


def test_integer_grid(tmp_path):
    run_cases(tmp_path, "binary_int", int_cases())


# --- all 65536 int8 pairs ---------------------------------------------------------------------

COLUMN = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1)
ROW = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)

# (kind, input1 q, input2 q, output q, fused activation)
ALL_PAIRS = [
    ("DIV", (0.05, 3), (0.05, -2), (0.05, 1), "NONE"),  # multiplier 20: shifts past 31
    ("DIV", (0.02, 0), (0.1, 10), (0.3, -5), "NONE"),
    ("DIV", (0.05, 3), (0.02, -10), (0.1, 7), "NONE"),  # float and double multipliers differ
    ("DIV", (0.5, -128), (0.001, 127), (1.0, 0), "RELU"),
    ("DIV", (0.01, 5), (0.02, 0), (0.004, 0), "RELU6"),
    ("DIV", (1e-3, 0), (0.9, 0), (1e-4, -100), "NONE"),  # multiplier below 1/64
    ("SQUARED_DIFFERENCE", (0.05, 3), (0.02, -10), (0.1, -128), None),
    ("SQUARED_DIFFERENCE", (1e-3, -128), (0.5, 127), (1e-4, 0), None),
    ("SQUARED_DIFFERENCE", (0.3, 0), (0.3, 0), (10.0, -128), None),
    ("SQUARED_DIFFERENCE", (0.5, 5), (0.5, -5), (1e-5, -128), None),  # output multiplier > 1
    ("SQUARED_DIFFERENCE", (1e-4, 0), (2e-2, 0), (300.0, 0), None),  # tiny output multiplier
    ("PRELU", (0.05, 10), (0.004, -3), (0.03, -20), None),
    ("PRELU", (0.5, -128), (0.02, 127), (0.01, 0), None),
    ("PRELU", (1e-3, 0), (0.1, 0), (0.7, 5), None),
    ("PRELU", (1.0, 0), (0.5, 0), (1e-3, 0), None),  # multipliers above 1 (left shifts)
]


def test_all_int8_pairs(tmp_path):
    cases = []
    for kind, q1, q2, qo, act in ALL_PAIRS:
        options = ("DivOptions", {"fusedActivationFunction": _act(act)}) if kind == "DIV" \
            else (None, {})
        cases.append(Case(kind, [TensorSpec([1, 256, 1], np.int8, q1),
                                 TensorSpec([1, 1, 256], np.int8, q2)],
                          TensorSpec([1, 256, 256], np.int8, qo), [COLUMN, ROW], *options,
                          label=f"{kind} {q1} {q2} {qo} {act}"))
    run_cases(tmp_path, "binary_pairs", cases)


def test_reciprocal_table_matches_its_definition():
    """GetReciprocal(x) ~ 2^31 / x scaled into [2^30, 2^31): the table the DIV kernel reads."""
    for x in range(1, 256):
        reciprocal, bits = get_reciprocal(x)
        assert abs(reciprocal / 2**31 - 2**bits / x) < 1e-8, x


# --- ADD_N ------------------------------------------------------------------------------------


def test_add_n(tmp_path):
    reseed(3)
    cases = []
    for n in range(2, 9):
        q, qo = ((0.05, 4), (0.13, -3)) if n % 2 else ((1e-3, -128), (0.5, 127))
        cases.append(Case("ADD_N", [TensorSpec([5, 3], np.int8, q)] * n,
                          TensorSpec([5, 3], np.int8, qo),
                          [ints("int8", [5, 3]) for _ in range(n)], "AddNOptions",
                          label=f"ADD_N int8 x{n}"))
        cases.append(Case("ADD_N", [TensorSpec([2, 7], np.float32)] * n,
                          TensorSpec([2, 7], np.float32), [floats([2, 7]) for _ in range(n)],
                          "AddNOptions", label=f"ADD_N float x{n}"))
    run_cases(tmp_path, "add_n", cases)


# --- refused ------------------------------------------------------------------------------------


def _single(kind, inputs, output, options=None, **fields) -> bytes:
    return multi_op_model([Case(kind, inputs, output, [], options, fields)])


REFUSED = {
    "floor_div int32": (
        _single("FLOOR_DIV", [TensorSpec([3], np.int32)] * 2, TensorSpec([3], np.int32)),
        r"op 0 \(FLOOR_DIV\).*int32"),
    "div int16": (
        _single("DIV", [TensorSpec([3], np.int16, (0.1, 0))] * 2,
                TensorSpec([3], np.int16, (0.1, 0)), "DivOptions"),
        r"op 0 \(DIV\).*int16"),
    "div tanh": (
        _single("DIV", [TensorSpec([3], np.float32)] * 2, TensorSpec([3], np.float32),
                "DivOptions", fusedActivationFunction=4),
        r"op 0 \(DIV\).*fused_activation_function=TANH"),
    "div int8 unquantized": (
        _single("DIV", [TensorSpec([3], np.int8)] * 2, TensorSpec([3], np.int8), "DivOptions"),
        r"op 0 \(DIV\).*not quantized"),
    "sqdiff int16 zero point": (
        _single("SQUARED_DIFFERENCE", [TensorSpec([3], np.int16, (0.1, 2))] * 2,
                TensorSpec([3], np.int16, (0.1, 0))),
        r"op 0 \(SQUARED_DIFFERENCE\).*zero point 2"),
    "prelu rank 5 float": (
        _single("PRELU", [TensorSpec([1, 2, 2, 2, 2], np.float32), TensorSpec([2], np.float32)],
                TensorSpec([1, 2, 2, 2, 2], np.float32)),
        r"op 0 \(PRELU\).*rank 5"),
    "prelu int16 alpha": (
        _single("PRELU", [TensorSpec([4], np.int16, (0.1, 0))] * 2,
                TensorSpec([4], np.int16, (0.1, 0))),
        r"op 0 \(PRELU\).*alpha.*int16"),
    "maximum mixed types": (
        _single("MAXIMUM", [TensorSpec([3], np.int32), TensorSpec([3], np.int64)],
                TensorSpec([3], np.int32)),
        r"op 0 \(MAXIMUM\).*differ"),
    "maximum no broadcast": (
        _single("MAXIMUM", [TensorSpec([3], np.float32), TensorSpec([4], np.float32)],
                TensorSpec([4], np.float32)),
        r"op 0 \(MAXIMUM\).*do not broadcast"),
    "add_n mixed quantization": (
        _single("ADD_N", [TensorSpec([3], np.int8, (0.1, 0)), TensorSpec([3], np.int8, (0.2, 0))],
                TensorSpec([3], np.int8, (0.1, 0)), "AddNOptions"),
        r"op 0 \(ADD_N\).*same quantization"),
    "add_n broadcast": (
        _single("ADD_N", [TensorSpec([3], np.float32), TensorSpec([1], np.float32)],
                TensorSpec([3], np.float32), "AddNOptions"),
        r"op 0 \(ADD_N\).*does not broadcast"),
    "div int8 huge multiplier": (
        _single("DIV", [TensorSpec([3], np.int8, (1.0, 0)), TensorSpec([3], np.int8, (1e-4, 0)),
                        ], TensorSpec([3], np.int8, (1e-4, 0)), "DivOptions"),
        r"op 0 \(DIV\)"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name, tmp_path):
    model, message = REFUSED[name]
    path = tmp_path / "refused.tflite"
    path.write_bytes(model)
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "refused")


# --- generated code builds clean ----------------------------------------------------------------

CXX = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror"]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_clean(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(float_cases()[::7] + int_cases()[::5]
                                    + [Case("ADD_N", [TensorSpec([4], np.int8, (0.1, 0))] * 3,
                                            TensorSpec([4], np.int8, (0.2, 0)), [],
                                            "AddNOptions")]))
    folder = tmp_path / "gen"
    compile_to_folder(path, folder, name="binary_ops")
    flags = CXX + (ARM if compiler.startswith("arm") else ["-O2"])
    for source in folder.rglob("*.cpp"):
        result = subprocess.run([compiler, *flags, "-I", str(folder), "-c", str(source), "-o",
                                 str(tmp_path / "out.o")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def int8_chain_model() -> bytes:
    """One int8 input through DIV, SQUARED_DIFFERENCE, PRELU, MAXIMUM, MINIMUM, GREATER and
    SELECT_V2 (constant divisors and alphas broadcast along rows), so one output depends on every
    integer kernel of binary.h and comparison.h."""
    rng = np.random.default_rng(8)
    t = [
        TensorSpec([16, 16], np.int8, (0.05, 3)),  # 0: x
        TensorSpec([16], np.int8, (0.02, -10), data=rng.integers(-128, 128, 16)),  # 1: divisor
        TensorSpec([16, 16], np.int8, (0.1, 7)),  # 2: x / divisor
        TensorSpec([16, 16], np.int8, (0.2, -128)),  # 3: (2 - x)^2
        TensorSpec([1, 16], np.int8, (0.01, 5), data=rng.integers(-128, 128, (1, 16))),  # 4
        TensorSpec([16, 16], np.int8, (0.03, -20)),  # 5: prelu(x, 4)
        TensorSpec([16, 16], np.int8, (0.03, -20)),  # 6: max(5, 3)
        TensorSpec([16, 16], np.int8, (0.03, -20)),  # 7: min(6, 2)
        TensorSpec([16, 16], np.bool_),  # 8: 7 > x
        TensorSpec([16, 16], np.int8, (0.03, -20)),  # 9: select(8, 7, x)
    ]
    ops = [
        OperatorSpec("DIV", [0, 1], [2], "DivOptions"),
        OperatorSpec("SQUARED_DIFFERENCE", [2, 0], [3]),
        OperatorSpec("PRELU", [0, 4], [5]),
        OperatorSpec("MAXIMUM", [5, 3], [6]),
        OperatorSpec("MINIMUM", [6, 2], [7]),
        OperatorSpec("GREATER", [7, 0], [8]),
        OperatorSpec("SELECT_V2", [8, 7, 0], [9], "SelectV2Options"),
    ]
    return tflite_model(t, ops, [0], [9])


@needs_m4
def test_int8_kernels_on_cortex_m4(tmp_path):
    """The int8 kernels (DIV's x86 shift semantics included) give TFLM's bytes on an emulated
    Cortex-M4 too: nothing in them depends on the host CPU."""
    path = tmp_path / "chain.tflite"
    path.write_bytes(int8_chain_model())
    assert_bit_exact(path, samples=20)
    assert_bit_exact_on_m4(path, tmp_path)


# --- Keras layers through the TensorFlow converter --------------------------------------------


def two_input_model(key: str, build, mode: str, shape=(4, 4, 3)) -> Path:
    """A cached model of `build(tf, a, b)` on two inputs of `shape`, int8 (full integer) or
    float32; the inputs are calibrated to different ranges."""

    def make() -> bytes:
        tf = quiet_tensorflow()
        tf.keras.utils.set_random_seed(0)
        a = tf.keras.Input(shape=shape, batch_size=1, name="a")
        b = tf.keras.Input(shape=shape, batch_size=1, name="b")
        model = tf.keras.Model([a, b], build(tf, a, b))
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode == "int8":
            rng = np.random.default_rng(0)
            samples = [{"a": rng.uniform(-1, 1, (1, *shape)).astype(np.float32),
                        "b": rng.uniform(-3, 2, (1, *shape)).astype(np.float32)}
                       for _ in range(32)]
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: iter(samples)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter.convert()

    return cached_model(f"binary-keras-{key}-{mode}-{shape}", make)


KERAS_TWO_INPUTS = {
    "maximum": (lambda tf, a, b: tf.keras.layers.Maximum()([a, b]), "MAXIMUM"),
    "minimum": (lambda tf, a, b: tf.keras.layers.Minimum()([a, b]), "MINIMUM"),
    "squared_difference": (
        lambda tf, a, b: tf.keras.layers.Lambda(
            lambda ab: tf.math.squared_difference(ab[0], ab[1]))([a, b]),
        "SQUARED_DIFFERENCE"),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name", sorted(KERAS_TWO_INPUTS))
def test_keras_two_inputs(name, mode):
    build, kind = KERAS_TWO_INPUTS[name]
    path = two_input_model(name, build, mode)
    assert kind in [op.kind for op in read_model(path).ops]
    assert_bit_exact(path, samples=10)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_prelu(mode):
    def build(tf, x):
        layer = tf.keras.layers.PReLU(shared_axes=[1, 2],
                                      alpha_initializer=tf.keras.initializers.RandomUniform(
                                          -0.5, 0.8))
        return layer(x)

    path = single_layer_model("binary-prelu", (4, 4, 3), build, mode=mode, low=-3, high=3)
    graph = read_model(path)
    (prelu,) = [op for op in graph.ops if op.kind == "PRELU"]
    assert graph.tensor(prelu.inputs[1]).is_const
    assert_bit_exact(path, samples=10)


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_relu_with_max_value_is_minimum_and_relu(mode):
    """ReLU(max_value=3) converts to MINIMUM then RELU; bit-exact in both types."""
    path = single_layer_model(
        "relu-max3", (4, 4, 3),
        lambda tf, x: tf.keras.layers.ReLU(max_value=3.0)(tf.keras.layers.Conv2D(4, 3)(x)),
        mode=mode, low=-4, high=4)
    assert "MINIMUM" in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=30)
