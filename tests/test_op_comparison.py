"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, LOGICAL_AND, LOGICAL_OR, SELECT_V2
against the TFLM interpreter.

- Grids: many ops in one flatbuffer model, over types (bool, int8 quantized, int32, int64,
  float32 with +-0, +-inf and NaN), broadcast shapes up to rank 6 and constant operands. Integer
  inputs come from a narrow range so that equal values meet often.
- All pairs: int8 comparisons with inputs broadcast [1,256,1] x [1,1,256] (every int8 pair) at
  scales that differ, are equal, near 1, tiny (multiplier flushed to 0) and with extreme zero
  points: the rescaling with left shift 8 is reproduced exactly.
- Bool inputs take chosen values; SELECT_V2 broadcasts condition, x and y three ways, with the
  "mixed scalars" case select.cc special-cases, and `broadcast_loops3` is checked against numpy.
- Keras ReLU(threshold=0.5), which the converter turns into GREATER + SELECT_V2 (int8, float32).
- The generated code builds with -Werror; unsupported types are refused naming op and reason.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.ir import Op
from tinyc.ops.comparison import broadcast_loops3
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from op_cases import Case, multi_op_model, run_cases
from test_op_binary import ARM, CXX, RNG, SHAPES, broadcast, floats, ints, reseed
from tflite_builders import single_layer_model

COMPARISONS = ["EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL"]
Q8 = [((0.05, 3), (0.02, -10)), ((0.1, 0), (0.1, 0)), ((1e-3, -128), (0.9, 127))]


def values(dtype, shape) -> np.ndarray:
    if dtype == "bool":
        return RNG.integers(0, 2, shape).astype(bool)
    if dtype == "float32":
        x = floats(shape)
        return np.where(RNG.random(shape) < 0.5, np.round(x), x).astype(np.float32)
    if dtype == "int8":
        return ints(dtype, shape)
    return ints(dtype, shape, -3, 3)


def comparison_cases() -> list[Case]:
    reseed(4)
    cases = []
    for kind in COMPARISONS:
        types = ["int8", "int32", "int64", "float32"] + (["bool"] if kind in ("EQUAL",
                                                                             "NOT_EQUAL") else [])
        for dtype in types:
            quant = Q8 if dtype == "int8" else [(None, None)]
            for s1, s2 in SHAPES:
                for q1, q2 in quant:
                    cases.append(Case(kind, [TensorSpec(s1, dtype, q1), TensorSpec(s2, dtype, q2)],
                                      TensorSpec(broadcast(s1, s2), np.bool_),
                                      [values(dtype, s1), values(dtype, s2)],
                                      label=f"{kind} {dtype} {s1} {s2} {q1} {q2}"))
        # a constant operand, as the converter writes thresholds
        cases.append(Case(kind, [TensorSpec([2, 8], np.int8, (0.03, -4)),
                                 TensorSpec([], np.int8, (0.01, 5), data=np.array(40, np.int8))],
                          TensorSpec([2, 8], np.bool_), [values("int8", [2, 8])],
                          label=f"{kind} int8 constant"))
    for kind in ("LOGICAL_AND", "LOGICAL_OR"):
        for s1, s2 in SHAPES:
            cases.append(Case(kind, [TensorSpec(s1, np.bool_), TensorSpec(s2, np.bool_)],
                              TensorSpec(broadcast(s1, s2), np.bool_),
                              [values("bool", s1), values("bool", s2)], label=f"{kind} {s1} {s2}"))
    return cases


def test_comparison_grid(tmp_path):
    run_cases(tmp_path, "comparison", comparison_cases())


COLUMN = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1)
ROW = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
PAIR_QUANT = [
    ((0.05, 3), (0.02, -10)),
    ((0.1, 0), (0.1, 0)),
    ((1e-3, -128), (0.99, 127)),  # near 1: the largest multiplier TFLM accepts
    ((0.0235, 17), (0.0234, 17)),  # nearly equal scales: ties decided by the rounding
    ((1e-10, 0), (0.5, -1)),  # the tiny scale's multiplier is flushed to 0
    ((0.25, -7), (0.125, 9)),  # powers of two
]


def test_all_int8_pairs(tmp_path):
    cases = [Case(kind, [TensorSpec([1, 256, 1], np.int8, q1),
                         TensorSpec([1, 1, 256], np.int8, q2)],
                  TensorSpec([1, 256, 256], np.bool_), [COLUMN, ROW], label=f"{kind} {q1} {q2}")
             for kind in COMPARISONS for q1, q2 in PAIR_QUANT]
    run_cases(tmp_path, "comparison_pairs", cases)


def test_logical_chosen_values(tmp_path):
    a = np.array([True, True, False, False]).reshape(2, 2)
    b = np.array([True, False, True, False]).reshape(2, 2)
    cases = [Case(kind, [TensorSpec([2, 2], np.bool_), TensorSpec(s, np.bool_)],
                  TensorSpec([2, 2], np.bool_), [a, v], label=f"{kind} {s}")
             for kind in ("LOGICAL_AND", "LOGICAL_OR", "EQUAL", "NOT_EQUAL")
             for s, v in (([2, 2], b), ([2, 1], b[:, :1].copy()), ([], np.array(False)))]
    run_cases(tmp_path, "logical", cases)


# --- SELECT_V2 --------------------------------------------------------------------------------

SELECT_SHAPES = [  # condition, x, y
    ([2, 3, 4], [2, 3, 4], [2, 3, 4]),
    ([3, 1], [2, 1, 4], [4]),
    ([2, 3, 4], [], [2, 3, 4]),
    ([2, 3, 4], [2, 3, 4], []),
    ([4], [2, 3, 4], [3, 1]),
    ([], [5], [5]),
    ([1, 2, 1, 2, 1, 2], [2, 1, 2, 1, 2, 1], [1, 1, 1, 1, 1, 2]),
    ([], [1], [1, 1]),
    ([1, 1, 1], [1], []),  # mixed scalars: one element each, the output shape [1] aside
]


def select_cases() -> list[Case]:
    reseed(5)
    cases = []
    for dtype, q in (("int8", (0.1, 3)), ("int16", (0.01, 0)), ("float32", None)):
        for sc, sx, sy in SELECT_SHAPES:
            out = list(np.broadcast_shapes(tuple(sc), tuple(sx), tuple(sy)))
            if sc == [1, 1, 1]:
                out = [1]
            cases.append(Case("SELECT_V2", [TensorSpec(sc, np.bool_), TensorSpec(sx, dtype, q),
                                            TensorSpec(sy, dtype, q)], TensorSpec(out, dtype, q),
                              [values("bool", sc), values(dtype, sx), values(dtype, sy)],
                              "SelectV2Options", label=f"SELECT_V2 {dtype} {sc} {sx} {sy}"))
        zero = np.zeros((), dtype=dtype)  # ReLU(threshold): a constant y
        cases.append(Case("SELECT_V2", [TensorSpec([3, 5], np.bool_), TensorSpec([3, 5], dtype, q),
                                        TensorSpec([], dtype, q, data=zero)],
                          TensorSpec([3, 5], dtype, q), [values("bool", [3, 5]),
                                                         values(dtype, [3, 5])],
                          "SelectV2Options", label=f"SELECT_V2 {dtype} constant y"))
    return cases


def test_select_v2(tmp_path):
    run_cases(tmp_path, "select", select_cases())


def _walk(loops) -> list[tuple[int, ...]]:
    """Each output element's input offsets, by running the six loops as the kernel does."""
    out = []
    dims = [loop[0] for loop in loops]
    for index in np.ndindex(*dims):
        out.append(tuple(sum(i * loop[k + 1] for i, loop in zip(index, loops))
                         for k in range(len(loops[0]) - 1)))
    return out


def test_broadcast_loops3_matches_numpy():
    rng = np.random.default_rng(5)
    op = Op(0, "SELECT_V2", (0, 1, 2), (3,))
    for _ in range(300):
        rank = int(rng.integers(0, 7))
        out = [int(d) for d in rng.integers(1, 4, rank)]
        shapes = []
        for _ in range(3):
            r = int(rng.integers(0, rank + 1))
            shapes.append(tuple(d if rng.random() < 0.6 else 1 for d in out[rank - r:]))
        out = list(np.broadcast_shapes(*shapes))
        loops = broadcast_loops3(op, tuple(shapes), tuple(out))
        expected = [tuple(int(np.ravel_multi_index(tuple(0 if d == 1 else i for i, d in
                                                         zip(idx[len(out) - len(s):], s)), s))
                          if s else 0 for s in shapes)
                    for idx in np.ndindex(*out)]
        assert _walk(loops) == expected, (shapes, out, loops)


# --- refused ------------------------------------------------------------------------------------


def _case(kind, inputs, output, options=None) -> Case:
    return Case(kind, inputs, output, [], options)


REFUSED = {
    "greater int16": (_case("GREATER", [TensorSpec([3], np.int16, (0.1, 0))] * 2,
                            TensorSpec([3], np.bool_)), r"op 0 \(GREATER\).*int16"),
    "less bool": (_case("LESS", [TensorSpec([3], np.bool_)] * 2, TensorSpec([3], np.bool_)),
                  r"op 0 \(LESS\).*bool"),
    "equal scale 1": (_case("EQUAL", [TensorSpec([3], np.int8, (1.0, 0))] * 2,
                            TensorSpec([3], np.bool_)), r"op 0 \(EQUAL\).*outside \(0, 1\)"),
    "equal int8 unquantized": (_case("EQUAL", [TensorSpec([3], np.int8)] * 2,
                                     TensorSpec([3], np.bool_)), r"op 0 \(EQUAL\).*not quantized"),
    "greater int8 output": (_case("GREATER", [TensorSpec([3], np.float32)] * 2,
                                  TensorSpec([3], np.int8)), r"op 0 \(GREATER\).*expected bool"),
    "logical_and int8": (_case("LOGICAL_AND", [TensorSpec([3], np.int8)] * 2,
                               TensorSpec([3], np.int8)), r"op 0 \(LOGICAL_AND\).*int8"),
    "select int32": (_case("SELECT_V2", [TensorSpec([3], np.bool_), TensorSpec([3], np.int32),
                                         TensorSpec([3], np.int32)], TensorSpec([3], np.int32),
                           "SelectV2Options"), r"op 0 \(SELECT_V2\).*int32"),
    "select condition": (_case("SELECT_V2", [TensorSpec([3], np.int8), TensorSpec([3], np.int8),
                                             TensorSpec([3], np.int8)], TensorSpec([3], np.int8),
                               "SelectV2Options"), r"op 0 \(SELECT_V2\).*condition"),
    "select shapes": (_case("SELECT_V2", [TensorSpec([2], np.bool_), TensorSpec([3], np.int8),
                                          TensorSpec([3], np.int8)], TensorSpec([3], np.int8),
                            "SelectV2Options"), r"op 0 \(SELECT_V2\).*broadcast"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name, tmp_path):
    case, message = REFUSED[name]
    path = tmp_path / "refused.tflite"
    path.write_bytes(multi_op_model([case]))
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "refused")


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_clean(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(comparison_cases()[::4] + select_cases()[::3]))
    folder = tmp_path / "gen"
    compile_to_folder(path, folder, name="comparison_ops")
    flags = CXX + (ARM if compiler.startswith("arm") else ["-O2"])
    for source in folder.rglob("*.cpp"):
        result = subprocess.run([compiler, *flags, "-I", str(folder), "-c", str(source), "-o",
                                 str(tmp_path / "out.o")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


# --- Keras: ReLU(threshold=0.5) becomes GREATER + SELECT_V2 --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_relu_threshold(mode):
    path = single_layer_model("comparison-relu-threshold", (4, 8),
                              lambda tf, x: tf.keras.layers.ReLU(threshold=0.5)(x), mode=mode,
                              low=-2.0, high=3.0)
    kinds = [op.kind for op in read_model(path).ops]
    assert "GREATER" in kinds and "SELECT_V2" in kinds, kinds
    assert_bit_exact(path, samples=20)
