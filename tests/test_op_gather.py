"""GATHER, GATHER_ND and EMBEDDING_LOOKUP against the TFLM interpreter.

Grids of single-op flatbuffer cases (every axis, negative ones too, batch_dims, scalar to rank 2
indices, index tuples of 0 to 5 values, constant and run-time indices, both types TFLM takes,
the hybrid int8 -> float32 lookup), batched into one model per type. Run-time indices are fed
chosen in-range values (TFLM fails on others). Out-of-range run-time indices: the generated code
writes zeros for those slices and never reads outside the input (checked under AddressSanitizer),
and the kernels return -1. Plus refusals that name the value, and tf.gather from Keras.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyc.errors import TinycError
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from test_op_transpose import Case, assert_unsupported, q, run_cases, write_batch
from tflite_builders import single_layer_model

TYPES = ("int8", "float32")
RUNTIME = "runtime"  # indices fed at run time rather than stored


def index_values(shape, high, seed) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int32)


def gather_case(shape, axis, index_shape, batch_dims=0, dtype="int8", runtime=False,
                seed=0) -> Case:
    """`index_shape`: the indices' whole shape (its first batch_dims dimensions are shape's)."""
    a = axis % len(shape)
    b = batch_dims + len(index_shape) if batch_dims < 0 else batch_dims
    values = index_values(index_shape, shape[a], seed)
    out = tuple(shape[:a]) + tuple(index_shape[b:]) + tuple(shape[a + 1:])
    indices = (TensorSpec(index_shape, np.int32) if runtime
               else TensorSpec(index_shape, np.int32, data=values))
    tensors = [TensorSpec(shape, dtype, q(dtype)), indices, TensorSpec(out, dtype, q(dtype))]
    name = (f"gather{list(shape)}a{axis}i{list(index_shape)}b{batch_dims}-{dtype}"
            f"{'-rt' if runtime else ''}")
    return Case(name, "GATHER", tensors, [2], "GatherOptions",
                {"axis": axis, "batchDims": batch_dims}, feeds={1: values} if runtime else {})


GATHERS = [  # (input shape, axis, index shape, batch_dims)
    ((7,), 0, (3,), 0),
    ((7,), 0, (), 0),  # scalar index
    ((4, 6), 0, (2,), 0),
    ((4, 6), 1, (5,), 0),
    ((4, 6), -1, (2, 3), 0),
    ((3, 4, 5), 1, (2,), 0),
    ((3, 4, 5), -2, (), 0),
    ((3, 4, 5), 2, (3, 4), 1),
    ((3, 4, 5), 1, (3, 2, 2), 1),
    ((2, 3, 4, 5), 2, (2, 3, 3), 2),
    ((2, 3, 4, 5), 3, (2, 3, 2), -1),  # batch_dims -1 + rank 3 = 2
    ((2, 3, 2, 4, 3), 3, (2, 5), 1),
]


@pytest.mark.parametrize("dtype", TYPES)
def test_gather_grid_matches_tflm(dtype, tmp_path):
    cases = [gather_case(shape, axis, index_shape, batch_dims, dtype, runtime, i)
             for i, (shape, axis, index_shape, batch_dims) in enumerate(GATHERS)
             for runtime in (False, True)]
    run_cases(cases, tmp_path)


def gather_nd_case(shape, index_shape, dtype="int8", runtime=False, seed=0,
                   values=None) -> Case:
    nd = index_shape[-1]
    if values is None:
        rng = np.random.default_rng(seed)
        values = np.stack([rng.integers(0, shape[j], index_shape[:-1]) for j in range(nd)],
                          axis=-1).astype(np.int32).reshape(index_shape)
    out = tuple(index_shape[:-1]) + tuple(shape[nd:])
    indices = (TensorSpec(index_shape, np.int32) if runtime
               else TensorSpec(index_shape, np.int32, data=values))
    tensors = [TensorSpec(shape, dtype, q(dtype)), indices, TensorSpec(out, dtype, q(dtype))]
    return Case(f"gather_nd{list(shape)}i{list(index_shape)}-{dtype}{'-rt' if runtime else ''}",
                "GATHER_ND", tensors, [2], "GatherNdOptions",
                feeds={1: values} if runtime else {})


GATHER_NDS = [((7,), (3, 1)), ((4, 6), (5, 2)), ((4, 6), (3, 1)), ((4, 6), (2, 2, 2)),
              ((3, 4, 5), (2, 3)), ((3, 4, 5), (4, 2)), ((2, 3, 4, 5), (3, 4)),
              ((2, 3, 2, 4, 3), (2, 5)), ((2, 3, 2, 2, 2, 3), (3, 5))]


@pytest.mark.parametrize("dtype", TYPES)
def test_gather_nd_grid_matches_tflm(dtype, tmp_path):
    cases = [gather_nd_case(s, i, dtype, runtime, seed)
             for seed, (s, i) in enumerate(GATHER_NDS) for runtime in (False, True)]
    # TFLM checks the flat position only: [1, 7] in a [4, 6] input reads element (2, 1).
    cases.append(gather_nd_case((4, 6), (1, 2), dtype, True,
                                values=np.array([[1, 7]], np.int32)))
    run_cases(cases, tmp_path)


def embedding_case(rows_shape, lookups, dtype="int8", out_dtype=None, runtime=False,
                   seed=0) -> Case:
    out_dtype = out_dtype or dtype
    values = index_values((lookups,), rows_shape[0], seed)
    lookup = (TensorSpec((lookups,), np.int32) if runtime
              else TensorSpec((lookups,), np.int32, data=values))
    table_q = (0.037, 0) if dtype == "int8" else None
    table = TensorSpec(rows_shape, dtype, table_q,
                       data=np.random.default_rng(seed).integers(-128, 127, rows_shape)
                       if out_dtype != dtype else None)
    out_q = table_q if out_dtype == "int8" else None
    tensors = [lookup, table, TensorSpec((lookups,) + tuple(rows_shape[1:]), out_dtype, out_q)]
    return Case(f"embedding{list(rows_shape)}n{lookups}-{dtype}-{out_dtype}"
                f"{'-rt' if runtime else ''}", "EMBEDDING_LOOKUP", tensors, [2],
                feeds={0: values} if runtime else {})


def test_embedding_lookup_grid_matches_tflm(tmp_path):
    cases = [embedding_case(s, n, dtype, out, runtime, seed)
             for seed, (s, n) in enumerate([((5, 3), 4), ((8, 2, 3), 3), ((3, 2, 2, 2), 5)])
             for dtype, out in (("int8", "int8"), ("float32", "float32"), ("int8", "float32"))
             for runtime in (False, True)]
    run_cases(cases, tmp_path)


# --- out-of-range run-time indices ---


def test_out_of_range_runtime_indices_give_zeros(tmp_path):
    """TFLM returns an error, and so does invoke(); tinyc writes zeros for the bad slices and
    the rest as TFLM would."""
    x = np.arange(24, dtype=np.int8).reshape(4, 6) + 1
    cases = [gather_case((4, 6), 1, (4,), runtime=True), gather_nd_case((4, 6), (3, 2), "int8",
                                                                        True),
             embedding_case((4, 6), 3, "float32", runtime=True)]
    path, feeds, _ = write_batch(cases, tmp_path, "oob")
    compiled = compile_model(path, "oob")
    host = build_host_model(compiled.files, compiled.name)
    table = np.arange(24, dtype=np.float32).reshape(4, 6) + 1
    coords = np.array([5, 6, -1, 0], np.int32)
    tuples = np.array([[3, 5], [4, 0], [-1, 2]], np.int32)
    lookups = np.array([3, 4, -7], np.int32)
    inputs = {(0, 0): x, (0, 1): coords, (1, 0): x, (1, 1): tuples, (2, 0): lookups,
              (2, 1): table}
    ordered = [inputs[(cases.index(case), i)] for case, i in feeds]
    with pytest.raises(TinycError, match="oob_invoke returned -1"):  # invoke() fails, as TFLM's
        host.run(ordered)
    gathered, nd, looked_up = (bytes(host.ffi.buffer(host.lib.oob_output(i),
                                                     host.lib.oob_output_bytes(i)))
                               for i in range(3))
    assert np.array_equal(np.frombuffer(gathered, np.int8).reshape(4, 4),
                          np.stack([x[:, 5], np.zeros(4), np.zeros(4), x[:, 0]], 1))
    assert list(np.frombuffer(nd, np.int8)) == [x[3, 5], 0, 0]
    assert np.array_equal(np.frombuffer(looked_up, np.float32).reshape(3, 6),
                          np.stack([table[3], np.zeros(6), np.zeros(6)]))


KERNEL_CHECK = r"""
#include <stdio.h>
#include "gather.h"
int main(void) {
  static const int8_t table[2 * 3] = {1, 2, 3, 4, 5, 6};
  static const int32_t coords[4] = {1, 2, -1, 2147483647};
  static const tinyc_gather_params p = {1, 2, 3, 4, 1};
  int8_t out[8];
  static const tinyc_gather_nd_params pn = {2, 2, 1, 6};
  static const int32_t strides[2] = {3, 1};
  static const int32_t tuples[4] = {1, 2, 2147483647, 2147483647};
  int8_t out_nd[2];
  static const int32_t ok[2] = {0, 2};
  static const tinyc_gather_params p2 = {1, 2, 3, 2, 1};
  int a = tinyc_gather_x8(&p, table, coords, out);
  printf("%d %d %d %d %d %d %d %d %d\n", a, out[0], out[1], out[2], out[3], out[4], out[5],
         out[6], out[7]);
  int b = tinyc_gather_nd_x8(&pn, strides, table, tuples, out_nd);
  int c = tinyc_gather_x8(&p2, table, ok, out);
  printf("%d %d %d %d %d %d %d %d\n", b, c, out_nd[0], out_nd[1], out[0], out[1], out[2],
         out[3]);
  return 0;
}
"""


def test_gather_kernels_return_an_error_and_stay_in_bounds(tmp_path):
    """The kernel contract behind the test above, under AddressSanitizer: -1 for any index out
    of range (2^31 - 1 included: the GATHER_ND sum is 64-bit), 0 otherwise."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    runtime = Path(__file__).resolve().parent.parent / "runtime"
    (tmp_path / "check.cpp").write_text(KERNEL_CHECK)
    subprocess.run([compiler, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-g",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I",
                    str(runtime), str(tmp_path / "check.cpp"), "-o", str(tmp_path / "check")],
                   check=True)
    result = subprocess.run([str(tmp_path / "check")], capture_output=True, text=True,
                            check=True)
    # gather coords {1, 2, -1, 2^31 - 1} along axis 1 of a [2, 3] table: row 0 -> 2, 3, 0, 0;
    # row 1 -> 5, 6, 0, 0. gather_nd of (1, 2) -> 6 and (big, big) -> 0; then the in-range
    # coords {0, 2} -> 1, 3, 4, 6 and status 0.
    assert result.stdout.split() == "-1 2 3 0 0 5 6 0 0 -1 0 6 0 1 3 4 6".split()


# --- refusals ---


@pytest.mark.parametrize("what,case,words", [
    ("int16", gather_case((4, 6), 1, (2,), dtype="int16"), ["int16"]),
    ("constant index out of range", Case("oob", "GATHER", [
        TensorSpec((4, 6), "int8"), TensorSpec((2,), np.int32, data=[1, 6]),
        TensorSpec((4, 2), "int8")], [2], "GatherOptions", {"axis": 1}), ["index 6"]),
    ("int64 indices", Case("i64", "GATHER", [
        TensorSpec((4, 6), "int8"), TensorSpec((2,), np.int64, data=[1, 2]),
        TensorSpec((4, 2), "int8")], [2], "GatherOptions", {"axis": 1}), ["int64"]),
    ("batch_dims > axis", Case("bd", "GATHER", [
        TensorSpec((2, 3, 4), "int8"), TensorSpec((2, 3), np.int32, data=np.zeros((2, 3))),
        TensorSpec((2, 3, 4), "int8")], [2], "GatherOptions", {"axis": 0, "batchDims": 1}),
     ["batch_dims=1"]),
    ("gather_nd tuple too long", gather_nd_case((2, 2, 2, 2, 2, 2), (1, 6)), ["6 values"]),
    ("gather_nd constant outside", gather_nd_case((4, 6), (1, 2), values=np.array(
        [[3, 6]], np.int32)), ["[3, 6]"]),
    ("embedding zero point", Case("zp", "EMBEDDING_LOOKUP", [
        TensorSpec((2,), np.int32), TensorSpec((4, 3), "int8", (0.1, 3), data=np.ones((4, 3))),
        TensorSpec((2, 3), "float32")], [2]), ["zero point 3"]),
    ("embedding rank 1 table", Case("rank", "EMBEDDING_LOOKUP", [
        TensorSpec((2,), np.int32), TensorSpec((4,), "float32"),
        TensorSpec((2,), "float32")], [2]), ["rank 1"]),
])
def test_gather_refusals_name_the_value(what, case, words, tmp_path):
    assert_unsupported(case, tmp_path, *words)


# --- converted from Keras ---


def tf_gather(tf, x):
    return tf.keras.layers.Lambda(lambda t: tf.gather(t, [3, 0, 5, 5], axis=2))(x)


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_gather_matches_tflm(mode):
    path = single_layer_model("gather-tf-gather", (4, 6), tf_gather, mode=mode)
    assert "GATHER" in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=5)
