"""tinyc: compile TensorFlow Lite models into interpreter-free C++ for microcontrollers.

The Python API (each a typed function with its own docstring):

    compile_model(model, name=None, scratch="auto", max_arena=...) -> CompiledModel
        the generated files in memory (.files: {path: text}), the lowered model, the memory plan
    compile_to_folder(model, out_dir, name=None, ..., library=False) -> CompiledModel
        the same, written atomically; library=True writes the ESP-IDF/CMake/Arduino/PlatformIO
        library layout
    verify_model(model, samples=100, seed=0, ...) -> Report
        build on the host and compare with TFLM (and LiteRT); .bit_exact, .lines()
    report_model(model, name=None, ..., code_size="auto") -> ModelReport
        per-layer costs, flash and RAM totals; .check(target) -> Fit, .to_json(), .html(),
        .write_png(path)
    find_target(name) -> Target | None, TARGETS
        the microcontrollers `tinyc report --target` knows, with their usable RAM and flash

Errors in the input raise TinycError (UnsupportedError for ops and options tinyc does not
compile), whose message is one line. Submodules load on first use: `import tinyc` is cheap, so
build systems can ask `tinyc --version` on every configure.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import TinycError, UnsupportedError  # noqa: E402

if TYPE_CHECKING:
    from .pipeline import CompiledModel, compile_model, compile_to_folder
    from .report import Fit, ModelReport, report_model
    from .targets import TARGETS, Target, find_target
    from .verify.compare import Report, verify_model

_LAZY = {
    "CompiledModel": "pipeline",
    "compile_model": "pipeline",
    "compile_to_folder": "pipeline",
    "verify_model": "verify.compare",
    "Report": "verify.compare",
    "report_model": "report",
    "ModelReport": "report",
    "Fit": "report",
    "Target": "targets",
    "TARGETS": "targets",
    "find_target": "targets",
}

__all__ = [  # the names above and _LAZY's, spelled out for tools that read __all__
    "TinycError", "UnsupportedError", "CompiledModel", "compile_model", "compile_to_folder",
    "verify_model", "Report", "report_model", "ModelReport", "Fit", "Target", "TARGETS",
    "find_target",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
