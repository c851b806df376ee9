"""Requantization math: Python (compile time) and C (runtime) against exact rational definitions.

gemmlowp's SaturatingRoundingDoublingHighMul is floor(a*b / 2^31 + 1/2) (ties toward +inf, from its
nudge-then-truncate), saturated; RoundingDivideByPOT rounds ties away from zero. Writing them with
Fractions gives an oracle that shares no code with either implementation.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
from fractions import Fraction
from functools import cache

import cffi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyc import quantize as q
from tinyc.write_files import runtime_sources

INT32 = st.integers(-(1 << 31), (1 << 31) - 1)
MULTIPLIER = st.integers(1 << 30, (1 << 31) - 1)


def exact_srdhm(a: int, b: int) -> int:
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    return math.floor(Fraction(a * b, 1 << 31) + Fraction(1, 2))


def exact_rdbpot(x: int, exponent: int) -> int:
    value = Fraction(x, 1 << exponent)
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def exact_requantize(x: int, multiplier: int, shift: int) -> int:
    shifted = ((x << max(shift, 0)) + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap
    return exact_rdbpot(exact_srdhm(shifted, multiplier), max(-shift, 0))


@cache
def c_runtime():
    """tinyc_common.h's static inline helpers, built for the host through cffi (API mode)."""
    ffi = cffi.FFI()
    ffi.cdef("""
        int32_t tinyc_saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
        int32_t tinyc_rounding_divide_by_pot(int32_t x, int exponent);
        int32_t tinyc_requantize(int32_t x, int32_t multiplier, int shift);
    """)
    ffi.set_source(
        "_tinyc_common_test", runtime_sources(["tinyc_common.h"])["tinyc_runtime/tinyc_common.h"]
    )
    module_path = ffi.compile(tmpdir=tempfile.mkdtemp(prefix="tinyc-common-"))
    spec = importlib.util.spec_from_file_location("_tinyc_common_test", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lib


@settings(max_examples=2000, deadline=None)
@given(INT32, INT32)
def test_srdhm_python_and_c_match_exact_definition(a, b):
    expected = exact_srdhm(a, b)
    assert q.saturating_rounding_doubling_high_mul(a, b) == expected
    assert c_runtime().tinyc_saturating_rounding_doubling_high_mul(a, b) == expected


@settings(max_examples=2000, deadline=None)
@given(INT32, st.integers(0, 31))
def test_rounding_divide_by_pot_matches_exact_definition(x, exponent):
    expected = exact_rdbpot(x, exponent)
    assert q.rounding_divide_by_pot(x, exponent) == expected
    assert c_runtime().tinyc_rounding_divide_by_pot(x, exponent) == expected


@settings(max_examples=3000, deadline=None)
@given(st.integers(-(1 << 24), 1 << 24), MULTIPLIER, st.integers(-31, 7))
def test_requantize_matches_exact_definition(x, multiplier, shift):
    expected = exact_requantize(x, multiplier, shift)
    assert q.multiply_by_quantized_multiplier(x, multiplier, shift) == expected
    assert c_runtime().tinyc_requantize(x, multiplier, shift) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (-(1 << 31), -(1 << 31)),
        (-(1 << 31), 1 << 30),
        ((1 << 31) - 1, (1 << 31) - 1),
        (-1, 1 << 30),
        (1, 1 << 30),
    ],
)
def test_srdhm_edges(a, b):
    assert c_runtime().tinyc_saturating_rounding_doubling_high_mul(a, b) == exact_srdhm(a, b)


@settings(max_examples=3000, deadline=None)
@given(st.floats(min_value=2.0**-40, max_value=2.0**12, allow_nan=False))
def test_quantize_multiplier_is_nearest_q31_with_exponent(real):
    multiplier, shift = q.quantize_multiplier(real)
    if real < 2.0**-32:  # TFLM flushes multipliers that would shift everything out
        assert (multiplier, shift) in {(0, 0)} or multiplier >= 1 << 30
        return
    assert (1 << 30) <= multiplier < (1 << 31)
    mantissa = Fraction(real) / Fraction(2) ** shift  # in [0.5, 1)
    assert abs(Fraction(multiplier, 1 << 31) - mantissa) <= Fraction(1, 1 << 32)


def test_quantize_multiplier_special_values():
    assert q.quantize_multiplier(0.0) == (0, 0)
    assert q.quantize_multiplier(1.0) == (1 << 30, 1)
    assert q.quantize_multiplier(0.25) == (1 << 30, -1)
    # mantissa rounds up to 1.0: TFLM halves it and bumps the exponent
    assert q.quantize_multiplier(1 - 2.0**-40) == (1 << 30, 1)
    assert q.quantize_multiplier(2.0**-33) == (0, 0)


def test_activation_ranges_follow_tflm():
    # scale 0.05, zero point -10: RELU starts at the zero point, RELU6 ends at round(6/0.05)-10
    assert q.activation_range("NONE", 0.05, -10) == (-128, 127)
    assert q.activation_range("RELU", 0.05, -10) == (-10, 127)
    assert q.activation_range("RELU6", 0.05, -10) == (-10, 110)
    assert q.activation_range("RELU_N1_TO_1", 0.05, -10) == (-30, 10)
    assert q.activation_range("RELU6", 0.01, 0) == (0, 127)  # saturates at the int8 limit


def test_round_half_away_from_zero():
    assert [q.round_half_away(v) for v in (0.5, 1.5, -0.5, -1.5, 2.4999, -2.5)] == [
        1,
        2,
        -1,
        -2,
        2,
        -3,
    ]
