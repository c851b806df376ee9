"""C literal formatting, used as Jinja filters. Every function returns text the template places.

Nothing from a model reaches generated text unchecked: numbers are range-checked against the C
type they become (`LiteralRangeError`), and names go into comments only through `c_comment`.

>>> c_int(-2147483648)
'(-2147483647 - 1)'
>>> c_float(1.0)
'1.0f'
>>> c_float(0.1)
'0.100000001f'
>>> c_float(float("-inf"))
'(-INFINITY)'
>>> c_identifier("2-layer model.v1")
'_2_layer_model_v1'
>>> c_array_lines([1, -2, 3], "int8_t", per_line=2)
['1, -2,', '3']
>>> c_comment("conv/w */ int x; /* \\n#define")
'conv/w _/ int x; /_ _#define'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

INT32_MIN = -(1 << 31)
INT64_MIN = -(1 << 63)
INT_LIMITS = {
    "int8_t": (-(1 << 7), (1 << 7) - 1),
    "uint8_t": (0, (1 << 8) - 1),
    "int16_t": (-(1 << 15), (1 << 15) - 1),
    "uint16_t": (0, (1 << 16) - 1),
    "int32_t": (INT32_MIN, (1 << 31) - 1),
    "int": (INT32_MIN, (1 << 31) - 1),  # 32 bits on every target tinyc serves
    "uint32_t": (0, (1 << 32) - 1),
    "int64_t": (-(1 << 63), (1 << 63) - 1),
    "bool": (0, 1),
}
FLOAT_TYPES = ("float", "double")
COMMENT_LIMIT = 60  # characters of model-supplied text in a comment
# Characters a comment may carry: no '*' (no "*/" or "/*"), no '\\' or '?' (line splices,
# trigraphs), nothing outside printable ASCII.
_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9 _\-.,:;=+()\[\]#<>@!~^|&%$'\"`{}/]")


class LiteralRangeError(ValueError):
    """A value that does not fit the C type it would be written as."""


def c_int(value: int) -> str:
    """An integer literal; the two minimums are written as expressions (a literal is positive)."""
    value = int(value)
    if value == INT32_MIN:
        return "(-2147483647 - 1)"
    if value == INT64_MIN:
        return "(-9223372036854775807LL - 1)"
    return str(value)


def c_float(value: float) -> str:
    """A float32 literal that reads back to exactly the same float (<math.h> macros for
    infinities and NaN, which a model's float constants may hold)."""
    value = float(np.float32(value))
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    text = f"{value:.9g}"
    if not re.search(r"[.e]", text):
        text += ".0"
    return text + "f"


def c_value(value: int | float, ctype: str) -> str:
    """`value` as a literal of `ctype`; LiteralRangeError if it does not fit."""
    if ctype in FLOAT_TYPES:
        return c_float(value)
    if ctype in INT_LIMITS:
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise LiteralRangeError(f"{value} is not an integer ({ctype})")
        low, high = INT_LIMITS[ctype]
        if not low <= int(value) <= high:
            raise LiteralRangeError(f"{int(value)} does not fit {ctype} [{low}, {high}]")
        return ("1" if value else "0") if ctype == "bool" else c_int(value)
    raise LiteralRangeError(f"no literal form for C type {ctype!r}")


def c_array_lines(values: Iterable, ctype: str, per_line: int = 16) -> list[str]:
    """Comma-separated initializer values, `per_line` a line; the last line has no comma."""
    array = np.asarray(values).ravel()
    if ctype in INT_LIMITS and array.size:
        low, high = INT_LIMITS[ctype]
        if array.dtype.kind not in "biu" or int(array.min()) < low or int(array.max()) > high:
            raise LiteralRangeError(f"array values do not fit {ctype} [{low}, {high}]")
        ints = array.astype(np.int64).tolist() if array.dtype.kind != "u" else array.tolist()
        items = [c_int(v) for v in ints]
        if ctype == "int64_t":  # C++11 types a big literal itself; the suffix says it is meant
            items = [v if v.startswith("(") else v + "LL" for v in items]
    else:
        items = [c_value(v, ctype) for v in array.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return [line + "," for line in lines[:-1]] + lines[-1:]


def c_identifier(text: str) -> str:
    ident = re.sub(r"\W", "_", text, flags=re.ASCII)
    return "_" + ident if not ident or ident[0].isdigit() else ident


def c_comment(text: str, limit: int = COMMENT_LIMIT) -> str:
    """Text safe inside a one-line /* */ comment: unsafe characters become '_', at most `limit`
    characters (the end elided with '...' as three '.')."""
    safe = _COMMENT_UNSAFE.sub("_", text)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."
