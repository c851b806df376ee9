"""C literal formatting, used as Jinja filters. Every function returns text the template places.

>>> c_int(-2147483648)
'(-2147483647 - 1)'
>>> c_float(1.0)
'1.0f'
>>> c_float(0.1)
'0.100000001f'
>>> c_identifier("2-layer model.v1")
'_2_layer_model_v1'
>>> c_array_lines([1, -2, 3], "int8_t", per_line=2)
['1, -2,', '3']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

INT32_MIN = -(1 << 31)


def c_int(value: int) -> str:
    value = int(value)
    return "(-2147483647 - 1)" if value == INT32_MIN else str(value)


def c_float(value: float) -> str:
    """A float32 literal that reads back to exactly the same float."""
    value = float(np.float32(value))
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"cannot write {value} as a C float literal")
    text = f"{value:.9g}"
    if not re.search(r"[.e]", text):
        text += ".0"
    return text + "f"


def c_value(value: int | float, ctype: str) -> str:
    if ctype in ("float", "double") or isinstance(value, float):
        return c_float(value)
    if ctype == "bool" or isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    return c_int(value)


def c_array_lines(values: Iterable, ctype: str, per_line: int = 16) -> list[str]:
    """Comma-separated initializer values, `per_line` a line; the last line has no comma."""
    items = [c_value(v, ctype) for v in np.asarray(values).ravel().tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return [line + "," for line in lines[:-1]] + lines[-1:]


def c_identifier(text: str) -> str:
    ident = re.sub(r"\W", "_", text, flags=re.ASCII)
    return "_" + ident if not ident or ident[0].isdigit() else ident
