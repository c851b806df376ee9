"""The one place the stages are chained: read -> validate -> lower -> plan -> render -> write."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from .c_literals import c_identifier
from .errors import TinycError, quote
from .in_place import concatenations_in_place
from .ir import Graph
from .library import library_files
from .lower import LoweredModel, lower
from .plan_memory import MemoryPlan, apply_scratch_plan, plan_memory
from .quantize import rounding_mode
from .read_tflite import read_model
from .render_c import render, runtime_headers
from .validate import DEFAULT_MAX_ARENA, check_arena, validate_graph
from .write_files import runtime_id, runtime_sources, write_folder


@dataclass(frozen=True)
class CompiledModel:
    name: str
    model: LoweredModel
    plan: MemoryPlan
    files: dict[str, str]  # path inside the output folder -> text
    rounding: str = "double"  # requantization: "double" (TFLM) or "single" (quantize.py)


def default_name(model_path: str | Path) -> str:
    return c_identifier(Path(model_path).stem)


def compile_model(model_path: str | Path, name: str | None = None, scratch: str = "auto",
                  max_arena: int = DEFAULT_MAX_ARENA, *, memory: str = "fast",
                  rounding: str = "double") -> CompiledModel:
    """Compile a .tflite file into generated sources, in memory.

    `scratch`: how kernels that can use a scratch buffer get one (see plan_memory.py);
    `max_arena`: the largest arena, in bytes, the model may need; `memory`: "fast" (default)
    runs kernels in place only where that costs no time, "small" wherever it makes the arena
    smaller (see plan_memory.py); `rounding`: "double" (default, TFLM's reference kernels) or
    "single" (TFLite's TFLITE_SINGLE_ROUNDING requantization, see quantize.rounding_mode).
    """
    name = name or default_name(model_path)
    if c_identifier(name) != name:
        raise TinycError(f"--name {quote(name)} is not a C identifier")
    return compile_graph(read_model(model_path), name, scratch, max_arena, memory=memory,
                         rounding=rounding)


def compile_graph(graph: Graph, name: str, scratch: str = "auto",
                  max_arena: int = DEFAULT_MAX_ARENA, *, memory: str = "fast",
                  rounding: str = "double") -> CompiledModel:
    if rounding not in ("double", "single"):
        raise TinycError(f"--rounding {quote(rounding)}: expected double or single")
    with rounding_mode(rounding):  # constant folding and lowering compute in this mode
        graph = validate_graph(graph)
        model = lower(graph)
        model = concatenations_in_place(
            model, lambda m: plan_memory(m, scratch=scratch, memory=memory).arena_bytes)
        plan = plan_memory(model, scratch=scratch, memory=memory)
    check_arena(plan.arena_bytes, max_arena)
    model = apply_scratch_plan(model, plan)
    files = render(model, plan, name, rounding=rounding)
    files.update(runtime_sources(runtime_headers(model)))
    return CompiledModel(name, model, plan, files, rounding)


def compile_to_folder(model_path: str | Path, out_dir: str | Path, name: str | None = None,
                      scratch: str = "auto", max_arena: int = DEFAULT_MAX_ARENA, *,
                      library: bool = False, shared_runtime: bool = False,
                      memory: str = "fast", rounding: str = "double") -> CompiledModel:
    """Compile and write the output folder atomically: the plain layout (NAME.h, NAME.cpp,
    tinyc_runtime/), or with `library` one folder that is at once an ESP-IDF component, a CMake
    library, an Arduino library and a PlatformIO library (see library.py); `shared_runtime`:
    without tinyc_runtime/, built against the folder `tinyc runtime` writes. The returned
    CompiledModel's `files` are what was written."""
    compiled = compile_model(model_path, name, scratch, max_arena, memory=memory,
                             rounding=rounding)
    if shared_runtime:
        compiled = for_shared_runtime(compiled)
    if library:
        compiled = as_library(compiled, hashlib.sha256(Path(model_path).read_bytes()).hexdigest())
    write_folder(compiled.files, out_dir)
    return compiled


def as_library(compiled: CompiledModel, model_sha256: str) -> CompiledModel:
    """The same model with its files in the --library layout."""
    files = library_files(compiled.files, compiled.name, model_sha256, compiled.plan.arena_bytes)
    return replace(compiled, files=files)


def for_shared_runtime(compiled: CompiledModel) -> CompiledModel:
    """The same model built against a shared runtime folder: no kernels of its own."""
    files = render(compiled.model, compiled.plan, compiled.name, shared_runtime=runtime_id(),
                   rounding=compiled.rounding)
    return replace(compiled, files=files)
