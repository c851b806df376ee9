"""C literal formatting: the doctests, and float literals that read back to the same float32."""

from __future__ import annotations

import doctest

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinyc import c_literals
from tinyc.c_literals import c_array_lines, c_float, c_int


def test_doctests():
    assert doctest.testmod(c_literals).failed == 0


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float_literal_round_trips(value):
    text = c_float(value)
    assert text.endswith("f")
    assert np.float32(text[:-1]) == np.float32(value)
    assert np.signbit(np.float32(text[:-1])) == np.signbit(np.float32(value))


def test_int32_min_is_written_without_overflow():
    assert c_int(-(1 << 31)) == "(-2147483647 - 1)"
    assert c_int((1 << 31) - 1) == "2147483647"


def test_array_lines_cover_every_value_once():
    values = np.arange(-40, 40, dtype=np.int8)
    lines = c_array_lines(values, "int8_t", per_line=16)
    assert len(lines) == 5
    assert [int(v) for v in " ".join(lines).replace(",", " ").split()] == values.tolist()
