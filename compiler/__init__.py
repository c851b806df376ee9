"""tinyc: compile int8 .tflite models into interpreter-free C++ for microcontrollers."""

__version__ = "0.1.0"

from .errors import TinycError, UnsupportedError  # noqa: E402
from .pipeline import CompiledModel, compile_model, compile_to_folder  # noqa: E402

__all__ = ["CompiledModel", "TinycError", "UnsupportedError", "compile_model", "compile_to_folder"]
