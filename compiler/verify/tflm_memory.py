"""TFLM's own arena figures for a model, from the tflite-micro interpreter's print_allocations()."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from ..errors import TinycError


def tflm_arena(model_path: str | Path, arena_size: int = 1 << 24) -> dict[str, int]:
    """{'total', 'head', 'tail'} bytes: head is TFLM's activation plan, total adds its bookkeeping.

    print_allocations() writes from C++ to fd 2, so fd 2 is redirected to a file around the call.
    """
    from tflite_micro.python.tflite_micro import runtime

    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            interpreter = runtime.Interpreter.from_file(str(model_path), arena_size=arena_size)
            for i, detail in enumerate(_input_details(interpreter)):
                interpreter.set_input(np.zeros(detail["shape"], detail["dtype"]), i)
            interpreter.invoke()
            interpreter.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", "replace")
    found = dict(re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text))
    if "total" not in found or "head" not in found:
        raise TinycError(f"could not read TFLM's allocations from: {text[:200]!r}")
    return {key: int(value) for key, value in found.items()}


def _input_details(interpreter) -> list[dict]:
    details = []
    while True:
        try:
            details.append(interpreter.get_input_details(len(details)))
        except Exception:  # the binding raises once the index passes the last input
            return details
