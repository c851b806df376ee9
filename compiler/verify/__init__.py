"""build/verify: generated code built on the host with cffi, compared with TFLM and LiteRT."""

from .build import HostModel, build_host_model
from .compare import Report, verify_model

__all__ = ["HostModel", "Report", "build_host_model", "verify_model"]
