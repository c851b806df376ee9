"""int16 and float32 SOFTMAX, pooling and MEAN: the compile-time tables, the limits, and what is
refused.

- The int16 softmax tables (TFLM's exp and 1 / (1 + x) LUTs, which tinyc computes in Python):
  the same with the C library's expf as with the double exp tinyc uses, and the shape TFLM's
  Prepare gives them. Bit-exactness with TFLM is tested through the kernels in
  test_op_pool_softmax_grid.py (every exp interval is looked up there).
- Boundaries tinyc takes, bit-exact with TFLM on extreme chosen inputs: an int16 average-pool
  window of 65535 values, output scales at TFLM's tolerance.
- Refusals name the op and the reason; where TFLM refuses the same model, the test shows it does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ops import softmax
from tinyc.pipeline import compile_model
from tinyc.verify.compare import tflm_runner

from flatbuffer_models import TensorSpec
from op_cases import Case, multi_op_model, run_cases
from test_op_pool_softmax_grid import enum, spec

# --- the tables -------------------------------------------------------------------------------


def c_expf():
    name = ctypes.util.find_library("m") or "libm.so.6"
    libm = ctypes.CDLL(name)
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    return lambda v: np.float32(libm.expf(float(v)))


def test_exp_table_is_the_same_with_the_c_librarys_expf():
    """TFLM calls std::exp(float). glibc's expf is not correctly rounded at one of the points the
    table samples; tinyc's double exp rounded to float32 is. The table must not depend on it."""
    expf = c_expf()
    points = softmax.lut_sample_points(*softmax.EXP_LUT_PARAMS[:2])
    assert len(points) == 1026 and points[0] == np.float32(-10.0) and points[-1] == 0.0
    exp_lut, _ = softmax.softmax_luts_s16()
    with_c = softmax.lut_populate_s16(*softmax.EXP_LUT_PARAMS, expf)
    assert np.array_equal(exp_lut, with_c)
    with_numpy = softmax.lut_populate_s16(*softmax.EXP_LUT_PARAMS, np.exp)
    assert np.array_equal(exp_lut, with_numpy)


def test_tables_cover_their_ranges():
    """exp on [-10, 0] and 1 / (1 + x) on [0, 1], both Q0.15 (32768 saturated to 32767)."""
    exp_lut, reciprocal_lut = softmax.softmax_luts_s16()
    assert exp_lut.dtype == reciprocal_lut.dtype == np.int16
    assert exp_lut.shape == reciprocal_lut.shape == (513,)
    assert exp_lut[-1] == 32767 and abs(int(exp_lut[0]) - np.exp(-10) * 32768) < 2
    assert np.all(np.diff(exp_lut.astype(int)) >= 0)
    assert reciprocal_lut[0] == 32767 and reciprocal_lut[-1] == 16384
    assert np.all(np.diff(reciprocal_lut.astype(int)) <= 0)
    x = np.arange(513) / 512
    assert np.max(np.abs(reciprocal_lut - 32768 / (1 + x))) < 2
    assert np.max(np.abs(exp_lut - 32768 * np.exp(-10 + 10 * x))) < 2


def test_two_softmax_ops_share_one_copy_of_the_tables(tmp_path):
    cases = [
        Case("SOFTMAX", [spec([2, 8], "int16", (scale, 0))], spec([2, 8], "int16", (1 / 32768, 0)),
             [np.zeros([2, 8], np.int16)], "SoftmaxOptions", {"beta": 1.0})
        for scale in (1e-3, 2e-3)
    ]
    path = tmp_path / "two.tflite"
    path.write_bytes(multi_op_model(cases))
    source = compile_model(path, "two").files["two.cpp"]
    assert source.count("[513]") == 2, source  # one exp table, one reciprocal table


# --- boundaries tinyc takes -----------------------------------------------------------------------


def test_int16_average_pool_of_65535_values(tmp_path):
    """The largest window whose int32 sum (and rounding) cannot overflow, at both extremes."""
    shape = [1, 255, 257, 1]
    cases = [
        Case("AVERAGE_POOL_2D", [spec(shape, "int16", (1e-3, 0))], spec([1, 1, 1, 1], "int16",
             (1e-3, 0)), [np.full(shape, v, np.int16)], "Pool2DOptions",
             {"padding": enum("Padding", "VALID"), "strideH": 1, "strideW": 1,
              "filterHeight": 255, "filterWidth": 257}, f"average of {v}")
        for v in (-32768, 32767, -32767)
    ]
    run_cases(tmp_path, "pool_65535", cases)


def test_output_scales_within_tflms_tolerance(tmp_path):
    """TFLM takes softmax output scales within 0.1% of 1/32768 (int16) or 1/65536 (int8 ->
    int16), computed in float; so does tinyc."""
    rng = np.random.default_rng(5)
    cases = [
        Case("SOFTMAX", [spec([3, 9], "int16", (1e-3, 0))],
             spec([3, 9], "int16", (1.0009 / 32768, 0)),
             [rng.integers(-32768, 32768, [3, 9]).astype(np.int16)], "SoftmaxOptions",
             {"beta": 1.0}, "int16 scale"),
        Case("SOFTMAX", [spec([3, 9], "int8", (0.05, 2))],
             spec([3, 9], "int16", (0.9991 / 65536, -32768)),
             [rng.integers(-128, 128, [3, 9]).astype(np.int8)], "SoftmaxOptions",
             {"beta": 1.0}, "int8 -> int16 scale"),
    ]
    run_cases(tmp_path, "softmax_scales", cases)


# --- refusals -----------------------------------------------------------------------------------

Q16 = (1e-3, 0)
SOFTMAX_OUT16 = (1 / 32768, 0)
POOL = {"padding": enum("Padding", "VALID"), "strideH": 1, "strideW": 1, "filterHeight": 2,
        "filterWidth": 2}
AXES = TensorSpec([2], np.int32, None, np.array([1, 2], np.int32))

# name: (case, message pattern, whether TFLM refuses the model too). TFLM's pooling runs a fused
# activation whose bound does not quantize into int32 with clamp bounds it never set (its
# Prepare ignores the failure): tinyc refuses those.
REFUSED = {
    "softmax int16 input zero point": (
        Case("SOFTMAX", [spec([1, 8], "int16", (1e-3, 3))], spec([1, 8], "int16", SOFTMAX_OUT16),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*input zero point 3", True),
    "softmax int16 output zero point": (
        Case("SOFTMAX", [spec([1, 8], "int16", Q16)], spec([1, 8], "int16", (1 / 32768, -32768)),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*zero point -32768.*1/32768", True),
    "softmax int16 output scale": (
        Case("SOFTMAX", [spec([1, 8], "int16", Q16)], spec([1, 8], "int16", (1 / 65536, 0)),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*output scale 1\.52588e-05", True),
    "softmax int16 output scale just outside": (
        Case("SOFTMAX", [spec([1, 8], "int16", Q16)], spec([1, 8], "int16", (1.0012 / 32768, 0)),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*output scale", True),
    "softmax int8 -> int16 output scale": (
        Case("SOFTMAX", [spec([1, 8], "int8", (0.1, 0))],
             spec([1, 8], "int16", (1.002 / 65536, -32768)), [], "SoftmaxOptions",
             {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*1/65536", True),
    "softmax int16 -> int8": (
        Case("SOFTMAX", [spec([1, 8], "int16", Q16)], spec([1, 8], "int8", (1 / 256, -128)),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*int16/int8", True),
    "softmax int8 -> int32": (
        Case("SOFTMAX", [spec([1, 8], "int8", (0.1, 0))], spec([1, 8], "int32", (1 / 256, 0)),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*int8/int32", True),
    "softmax float -> int8": (
        Case("SOFTMAX", [spec([1, 8], "float32")], spec([1, 8], "int8", (1 / 256, -128)),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*float32/int8", True),
    "softmax int16 depth": (
        Case("SOFTMAX", [spec([1, 70000], "int16", Q16)], spec([1, 70000], "int16", SOFTMAX_OUT16),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*last dimension of 70000", False),
    "softmax int16 huge input scale": (
        Case("SOFTMAX", [spec([1, 8], "int16", (1e6, 0))], spec([1, 8], "int16", SOFTMAX_OUT16),
             [], "SoftmaxOptions", {"beta": 1.0}),
        r"op 0 \(SOFTMAX\).*too large", False),
    "avg pool int16 zero points differ": (
        Case("AVERAGE_POOL_2D", [spec([1, 4, 4, 2], "int16", (1e-3, 0))],
             spec([1, 3, 3, 2], "int16", (1e-3, 4)), [], "Pool2DOptions", POOL),
        r"op 0 \(AVERAGE_POOL_2D\).*zero point 4.*TFLM requires them equal", True),
    "max pool int16 scales differ": (
        Case("MAX_POOL_2D", [spec([1, 4, 4, 2], "int16", (1e-3, 0))],
             spec([1, 3, 3, 2], "int16", (2e-3, 0)), [], "Pool2DOptions", POOL),
        r"op 0 \(MAX_POOL_2D\).*TFLM requires them equal", True),
    "max pool int16 -> int8": (
        Case("MAX_POOL_2D", [spec([1, 4, 4, 2], "int16", (1e-3, 0))],
             spec([1, 3, 3, 2], "int8", (1e-3, 0)), [], "Pool2DOptions", POOL),
        r"op 0 \(MAX_POOL_2D\).*int16/int8", False),
    "max pool int16 relu6 tiny scale": (
        Case("MAX_POOL_2D", [spec([1, 4, 4, 2], "int16", (1e-12, 0))],
             spec([1, 3, 3, 2], "int16", (1e-12, 0)), [], "Pool2DOptions",
             {**POOL, "fusedActivationFunction": enum("ActivationFunctionType", "RELU6")}),
        r"op 0 \(MAX_POOL_2D\).*RELU6 with output scale 1e-12", False),
    "avg pool int8 relu_n1_to_1 tiny scale": (
        Case("AVERAGE_POOL_2D", [spec([1, 4, 4, 2], "int8", (1e-12, 0))],
             spec([1, 3, 3, 2], "int8", (1e-12, 0)), [], "Pool2DOptions",
             {**POOL, "fusedActivationFunction": enum("ActivationFunctionType", "RELU_N1_TO_1")}),
        r"op 0 \(AVERAGE_POOL_2D\).*RELU_N1_TO_1", False),
    "avg pool int16 window of 65536": (
        Case("AVERAGE_POOL_2D", [spec([1, 256, 256, 1], "int16", Q16)],
             spec([1, 1, 1, 1], "int16", Q16), [], "Pool2DOptions",
             {**POOL, "filterHeight": 256, "filterWidth": 256}),
        r"op 0 \(AVERAGE_POOL_2D\).*256x256 int16 values", False),
    "mean int32": (
        Case("MEAN", [spec([1, 4, 4, 2], "int32"), AXES], spec([1, 2], "int32"), [],
             "ReducerOptions", {"keepDims": False}),
        r"op 0 \(MEAN\).*int32/int32/int32", True),
    "mean int8 -> int16": (
        Case("MEAN", [spec([1, 4, 4, 2], "int8", (0.1, 0)), AXES], spec([1, 2], "int16", Q16), [],
             "ReducerOptions", {"keepDims": False}),
        r"op 0 \(MEAN\).*int8/int32/int16", False),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name, tmp_path):
    case, pattern, tflm_refuses = REFUSED[name]
    path = tmp_path / "refused.tflite"
    path.write_bytes(multi_op_model([case]))
    with pytest.raises(UnsupportedError, match=pattern):
        compile_model(path)
    if tflm_refuses:
        _assert_tflm_refuses(path, case)


def _assert_tflm_refuses(path: Path, case: Case) -> None:
    x = case.inputs[0]
    sample = np.zeros(x.shape, x.dtype)
    with pytest.raises(RuntimeError):
        tflm_runner(path, 1)([sample])
