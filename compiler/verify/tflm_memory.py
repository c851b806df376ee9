"""TFLM's own arena figures for a model, from the tflite-micro interpreter's print_allocations()."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import TinycError


@contextlib.contextmanager
def redirect_fd2(target: BinaryIO) -> Iterator[None]:
    """Point file descriptor 2 at `target` for the block: TFLM and LiteRT print from C++ (stdio
    on fd 2), which sys.stderr cannot catch."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target.fileno(), 2)
        yield
        _fflush_all()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def capture_fd2(action: Callable[[], object]) -> str:
    """Run `action` with fd 2 redirected to a temporary file; return what it wrote."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        with redirect_fd2(tmp):
            action()
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


def _fflush_all() -> None:
    """C stdio may still hold output meant for the redirected fd."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def parse_allocations(text: str) -> dict[str, int]:
    """'Arena allocation total/head/tail N bytes' lines of TFLM's RecordingMicroAllocator."""
    found = dict(re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text))
    if "total" not in found or "head" not in found:
        raise TinycError(f"could not read TFLM's allocations from: {text[:200]!r}")
    return {key: int(value) for key, value in found.items()}


def tflm_arena(model_path: str | Path, input_count: int = 1,
               arena_size: int = 1 << 24) -> dict[str, int]:
    """{'total', 'head', 'tail'} bytes after one invoke: head is TFLM's activation plan, total
    adds its bookkeeping (x86-64 build: 8-byte pointers)."""
    from tflite_micro.python.tflite_micro import runtime

    holder = []
    capture_fd2(lambda: holder.append(
        runtime.Interpreter.from_file(str(model_path), arena_size=arena_size)))
    interpreter = holder[0]
    for i in range(input_count):
        detail = interpreter.get_input_details(i)
        interpreter.set_input(np.zeros(detail["shape"], detail["dtype"]), i)
    interpreter.invoke()
    return parse_allocations(capture_fd2(interpreter.print_allocations))
