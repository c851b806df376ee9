"""Build a generated folder into a host shared library and load it with cffi (ABI mode).

The library is compiled with the flags a firmware build would use (C++11, no exceptions, no RTTI,
-Wall -Wextra -Werror) and cached by a hash of the sources and flags, so repeated verifications
and test runs skip the compiler.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cffi
import numpy as np

from ..errors import TinycError

CXX_FLAGS = [
    "-std=c++11",
    "-O2",
    "-fPIC",
    "-shared",
    "-fno-exceptions",
    "-fno-rtti",
    "-ffp-contract=off",
    "-Wall",
    "-Wextra",
    "-Werror",
]

C_ABI = """
int {name}_invoke(void);
int {name}_input_count(void);
int {name}_output_count(void);
void *{name}_input(int index);
void *{name}_output(int index);
size_t {name}_input_bytes(int index);
size_t {name}_output_bytes(int index);
int {name}_reset(void);  /* only in models with state: looked up on first use */
"""


def cache_dir() -> Path:
    return Path(os.environ.get("TINYC_CACHE", Path.home() / ".cache" / "tinyc")) / "host-builds"


@dataclass
class HostModel:
    """A generated model loaded into this process."""

    name: str
    ffi: cffi.FFI
    lib: Any
    path: Path

    def _fn(self, suffix: str) -> Any:
        return getattr(self.lib, f"{self.name}_{suffix}")

    def run(self, inputs: list[np.ndarray]) -> list[bytes]:
        """Copy `inputs` in, invoke, return each output's bytes."""
        for i, array in enumerate(inputs):
            data = np.ascontiguousarray(array).tobytes()
            if len(data) != self._fn("input_bytes")(i):
                raise TinycError(
                    f"input {i}: {len(data)} bytes, model expects {self._fn('input_bytes')(i)}"
                )
            self.ffi.memmove(self._fn("input")(i), data, len(data))
        status = self._fn("invoke")()
        if status != 0:
            raise TinycError(f"{self.name}_invoke returned {status}")
        return [
            self.ffi.buffer(self._fn("output")(i), self._fn("output_bytes")(i))[:]
            for i in range(self._fn("output_count")())
        ]

    def reset(self) -> None:
        """The model's state back to its initial value (models with state only)."""
        status = self._fn("reset")()
        if status != 0:
            raise TinycError(f"{self.name}_reset returned {status}")


def build_host_model(files: dict[str, str], name: str, cxx: str = "g++") -> HostModel:
    sources = sorted(p for p in files if p.endswith((".cpp", ".cc", ".c")))
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    digest.update(" ".join([cxx] + CXX_FLAGS).encode())
    library = cache_dir() / f"{name}-{digest.hexdigest()[:24]}.so"
    if not library.exists():
        _compile(files, sources, library, cxx)
    ffi = cffi.FFI()
    ffi.cdef(C_ABI.format(name=name))
    return HostModel(name, ffi, ffi.dlopen(str(library)), library)


def _compile(files: dict[str, str], sources: list[str], library: Path, cxx: str) -> None:
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tinyc-build-") as tmp:
        for path, text in files.items():
            (Path(tmp) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / path).write_text(text, encoding="utf-8")
        target = Path(tmp) / library.name
        command = [
            cxx,
            *CXX_FLAGS,
            "-I",
            tmp,
            *(str(Path(tmp) / s) for s in sources),
            "-o",
            str(target),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except FileNotFoundError:
            raise TinycError(f"host C++ compiler {cxx!r} not found (install g++)") from None
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["?"]
            first = next((line for line in lines if "error" in line), lines[0])
            raise TinycError(f"generated code failed to build on the host: {first}")
        shutil.move(str(target), library)  # atomic within one filesystem: never a partial .so
