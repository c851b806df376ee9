"""BATCH_MATMUL (int8, int16, float32, as TFLM), against TFLM.

- Grids per type: ranks 2 to 5, batch dimensions broadcasting from either side and from a lower
  rank, adj_x and adj_y in every combination, a constant or computed RHS (and a constant LHS),
  depths 1 to 300; int8 zero points over the range, scales giving multipliers from 2^-20 to
  above 1; int16 with zero points 0 (TFLM's requirement). Inputs over each type's whole range;
  floats with +-0, +-inf, NaN and huge values.
- The requantization factor: a scale triple whose multiplier differs when the scale product is
  taken in float (TFLM's source) and in double, with sums that round differently.
- What TFLM refuses (hybrid, int32 output, int16 zero points, rank 6, batch dimensions that do
  not broadcast) tinyc refuses.
- Keras: a tiny MultiHeadAttention (int8, 16x8 and float32; BATCH_MATMUL with its layout ops),
  bit-exact with TFLM.
- The generated code of every kernel builds with -Werror under g++, clang++ and
  arm-none-eabi-g++, and the header is valid C99.
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
from test_op_reduce import (
    COMPILERS,
    assert_builds_clean,
    keras_model_in_mode,
    reseed,
    spec,
)
from test_op_reduce import values as random_values

# (lhs shape, rhs shape, adj_x, adj_y)
SHAPES = [
    ([2, 3], [3, 4], False, False),
    ([2, 3, 4], [2, 4, 5], False, False),
    ([3, 4], [2, 4, 5], False, False),  # LHS of lower rank
    ([2, 3, 4], [4, 5], False, False),  # RHS of lower rank
    ([2, 1, 3, 4], [1, 5, 4, 2], False, False),  # both broadcast
    ([1, 2, 3, 2, 4], [2, 1, 3, 4, 3], False, False),  # rank 5
    ([2, 4, 3], [2, 4, 5], True, False),
    ([2, 3, 4], [2, 5, 4], False, True),
    ([2, 4, 3], [1, 5, 4], True, True),
    ([1, 1], [1, 1], False, False),
    ([4, 1, 16], [16, 8], False, False),
    ([1, 2, 300], [1, 300, 3], False, False),
    ([1, 2, 8, 4], [1, 2, 8, 4], False, True),  # attention scores: Q K^T
    ([1, 2, 8, 8], [1, 2, 8, 4], False, False),  # attention times values
    ([3, 5, 1], [3, 1, 6], False, False),  # depth 1
    ([2, 2, 4, 3], [2, 1, 5, 4], True, True),
]
# (lhs scale, zp, rhs scale, zp, output scale, zp)
INT8_QUANT = [
    (0.05, 3, 0.02, 0, 0.1, -5),
    (0.1, -128, 0.01, 10, 0.3, 127),
    (0.02, 127, 0.05, -128, 0.05, 0),
    (1e-3, 0, 1e-3, 0, 1.0, 0),  # multiplier 2^-20
    (0.5, -10, 0.5, 3, 0.1, -100),  # multiplier above 1
    (0.01, 5, 0.02, -7, 0.02, 20),
    (1e-6, 0, 1e-6, 3, 1.0, 9),  # factor 1e-12: below 2^-31, the multiplier flushes to 0
    (1.0, -1, 1.0, 2, 1e-6, 0),  # factor 1e6: a left shift of 20, every sum saturates
]
INT16_QUANT = [
    (1e-3, 0, 2e-3, 0, 0.05, 0),
    (3e-4, 0, 1e-4, 0, 1e-3, 0),
    (0.01, 0, 0.01, 0, 50.0, 0),
    (0.1, 0, 0.5, 0, 1.0, 0),  # multiplier 0.05
    (1e-5, 0, 1e-5, 0, 1e-7, 0),  # multiplier 1
]


def matmul_cases(dtype: str) -> list[Case]:
    reseed({"int8": 100, "int16": 101, "float32": 102}[dtype])
    cases = []
    for n, (lhs_shape, rhs_shape, adj_x, adj_y) in enumerate(SHAPES):
        batch = np.broadcast_shapes(tuple(lhs_shape[:-2]), tuple(rhs_shape[:-2]))
        rows = lhs_shape[-1] if adj_x else lhs_shape[-2]
        cols = rhs_shape[-2] if adj_y else rhs_shape[-1]
        if dtype == "float32":
            q_l = q_r = q_o = None
        else:
            grid = INT8_QUANT if dtype == "int8" else INT16_QUANT
            quant = grid[n % len(grid)]
            q_l, q_r, q_o = quant[:2], quant[2:4], quant[4:]
        lhs_values = random_values(dtype, lhs_shape, special=n % 4 == 1)
        rhs_values = random_values(dtype, rhs_shape, special=n % 4 == 3)
        const_rhs, const_lhs = n % 2 == 0, n % 5 == 4
        inputs = [spec(lhs_shape, dtype, q_l, lhs_values if const_lhs else None),
                  spec(rhs_shape, dtype, q_r, rhs_values if const_rhs else None)]
        computed = ([] if const_lhs else [lhs_values]) + ([] if const_rhs else [rhs_values])
        cases.append(Case(
            "BATCH_MATMUL", inputs, spec([*batch, rows, cols], dtype, q_o), computed,
            "BatchMatMulOptions", {"adjX": adj_x, "adjY": adj_y},
            f"BATCH_MATMUL {dtype} {lhs_shape} x {rhs_shape} adj {adj_x} {adj_y} "
            f"const lhs {const_lhs} rhs {const_rhs} {q_l} {q_r} {q_o}"))
    return cases


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_batch_matmul_grid(dtype, tmp_path):
    cases = matmul_cases(dtype)
    assert len(cases) >= 15
    run_cases(tmp_path, f"batch_matmul_{dtype}", cases)


def test_multiplier_from_the_scales_as_tflm_computes_it(tmp_path):
    """Scales whose product rounds differently in float and double: the multipliers are
    1650881982 (double) and 1650882045 (float), and sums of +-6826 then give +-20 or +-21."""
    scales = (0.01644952967762947, 0.036936115473508835, 0.20232917368412018)
    targets = [6826, -6826, 6825, 100, -16000, 0]
    lhs = np.array([[t // 127, t - 127 * (t // 127)] for t in targets], np.int8)
    rhs = np.array([[127], [1]], np.int8)
    cases = [
        Case("BATCH_MATMUL",
             [spec(lhs.shape, "int8", (scales[0], 0)),
              spec(rhs.shape, "int8", (scales[1], 0), rhs if constant else None)],
             spec([len(targets), 1], "int8", (scales[2], 0)),
             [lhs] + ([] if constant else [rhs]), "BatchMatMulOptions",
             {"adjX": False, "adjY": False}, f"BATCH_MATMUL rounding, constant RHS {constant}")
        for constant in (False, True)
    ]
    run_cases(tmp_path, "batch_matmul_rounding", cases)


def test_same_tensor_on_both_sides(tmp_path):
    """x times x transposed: one computed tensor read as both operands."""
    reseed(7)
    x = random_values("int8", [2, 3, 5])
    tensors_case = Case("BATCH_MATMUL", [spec([2, 3, 5], "int8", (0.05, 2))],
                        spec([2, 3, 3], "int8", (0.2, -1)), [x], "BatchMatMulOptions",
                        {"adjX": False, "adjY": True}, "x x^T")
    from flatbuffer_models import OperatorSpec, tflite_model

    model = tflite_model(
        [tensors_case.inputs[0], tensors_case.output],
        [OperatorSpec("BATCH_MATMUL", [0, 0], [1], "BatchMatMulOptions",
                      {"adjX": False, "adjY": True})],
        [0], [1])
    path = tmp_path / "xxt.tflite"
    path.write_bytes(model)
    assert_bit_exact(path, samples=10)


# --- refused ----------------------------------------------------------------------------------


def one_matmul(dtype="int8", rhs_dtype=None, out_dtype=None, lhs_shape=(2, 3), rhs_shape=(3, 4),
               out_shape=(2, 4), zero_point=0, adj_x=False, adj_y=False) -> bytes:
    def q(d):
        return (0.05, zero_point) if d in ("int8", "int16") else None

    rhs_dtype, out_dtype = rhs_dtype or dtype, out_dtype or dtype
    case = Case("BATCH_MATMUL", [spec(lhs_shape, dtype, q(dtype)),
                                 spec(rhs_shape, rhs_dtype, q(rhs_dtype))],
                spec(out_shape, out_dtype, q(out_dtype)), [], "BatchMatMulOptions",
                {"adjX": adj_x, "adjY": adj_y})
    return multi_op_model([case])


REFUSED = {
    "hybrid": (one_matmul("float32", rhs_dtype="int8"),
               r"op 0 \(BATCH_MATMUL\): tensor types float32/int8/float32 differ"),
    "int32 output": (one_matmul("int8", out_dtype="int32"),
                     r"op 0 \(BATCH_MATMUL\): tensor types int8/int8/int32 differ"),
    "int16 zero point": (one_matmul("int16", zero_point=3),
                         r"op 0 \(BATCH_MATMUL\): tensor 0 \('t0'\) has zero point 3"),
    "rank 6": (one_matmul("float32", lhs_shape=(1, 1, 1, 1, 2, 3), rhs_shape=(3, 4),
                          out_shape=(1, 1, 1, 1, 2, 4)),
               r"op 0 \(BATCH_MATMUL\): tensor 0 \('t0'\) has rank 6"),
    "batch mismatch": (one_matmul("float32", lhs_shape=(2, 2, 3), rhs_shape=(3, 3, 4),
                                  out_shape=(3, 2, 4)),
                       r"op 0 \(BATCH_MATMUL\): batch dimensions of \[2, 2, 3\] and \[3, 3, 4\]"),
    "depth mismatch": (one_matmul("float32", lhs_shape=(2, 3), rhs_shape=(4, 4)),
                       r"op 0 \(BATCH_MATMUL\): the accumulation depths 3 .* and 4"),
    "int32": (one_matmul("int32"), r"op 0 \(BATCH_MATMUL\): tensor 0 \('t0'\) has type int32"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_tflm_refuses_tinyc_refuses(name, tmp_path):
    model, message = REFUSED[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    graph = read_model(path)
    inputs = [np.zeros(graph.tensor(t).shape, DTYPES[graph.tensor(t).dtype][0])
              for t in graph.inputs]
    assert tflm_refuses(path, inputs), f"{name}: TFLM runs this model"
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "m")


def test_wrong_output_shape_is_refused(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(one_matmul("float32", out_shape=(4, 2)))
    with pytest.raises(UnsupportedError, match=r"output shape \[4, 2\] is not the product's "
                                               r"\[2, 4\]"):
        compile_model(path, "m")


def test_int16_factor_of_128_is_refused(tmp_path):
    case = Case("BATCH_MATMUL", [spec([2, 3], "int16", (1.0, 0)), spec([3, 4], "int16", (1.0, 0))],
                spec([2, 4], "int16", (1 / 128, 0)), [], "BatchMatMulOptions", {})
    path = tmp_path / "m.tflite"
    path.write_bytes(multi_op_model([case]))
    with pytest.raises(UnsupportedError, match=r"op 0 \(BATCH_MATMUL\): the rescale factor 128"):
        compile_model(path, "m")


def test_int8_depth_that_could_overflow_is_refused(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(one_matmul("int8", lhs_shape=(1, 40000), rhs_shape=(40000, 1),
                                out_shape=(1, 1), zero_point=-128))
    with pytest.raises(UnsupportedError, match=r"an accumulation depth of 40000"):
        compile_model(path, "m")


# --- Keras: a tiny MultiHeadAttention ---------------------------------------------------------


def attention(tf, x):
    return tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)


# The converter's MultiHeadAttention: projections as FULLY_CONNECTED, heads split and merged by
# RESHAPE and TRANSPOSE, Q K^T and the weighted values as BATCH_MATMUL, MUL by 1/sqrt(key_dim),
# SOFTMAX. Every op compiles.
ATTENTION_OPS = {"FULLY_CONNECTED", "RESHAPE", "TRANSPOSE", "BATCH_MATMUL", "MUL", "SOFTMAX"}


@pytest.mark.parametrize("mode", ["int8", "float", "16x8"])
def test_keras_multi_head_attention_is_bit_exact(mode):
    path = keras_model_in_mode("tiny-mha", (6, 8), attention, mode)
    graph = read_model(path)
    kinds = [op.kind for op in graph.ops]
    assert set(kinds) == ATTENTION_OPS and kinds.count("BATCH_MATMUL") == 2, kinds
    matmuls = [op for op in graph.ops if op.kind == "BATCH_MATMUL"]
    expected = {"int8": "int8", "float": "float32", "16x8": "int16"}[mode]
    assert {graph.tensor(op.inputs[0]).dtype for op in matmuls} == {expected}
    assert_bit_exact(path, samples=20)


# --- the generated code builds clean ------------------------------------------------------------


@pytest.mark.parametrize("compiler", COMPILERS)
def test_generated_code_builds_clean(compiler, tmp_path):
    cases = [c for dtype in ("int8", "int16", "float32") for c in matmul_cases(dtype)[:3]]
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(cases))
    assert assert_builds_clean(compiler, path, tmp_path, "matmul_ops") == {
        f"tinyc_batch_matmul_{t}" for t in ("s8", "s16", "f32")}
