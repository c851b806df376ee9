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
from .read_tflite import read_model
from .render_c import render, runtime_headers
from .validate import DEFAULT_MAX_ARENA, check_arena, validate_graph
from .write_files import runtime_sources, write_folder


@dataclass(frozen=True)
class CompiledModel:
    name: str
    model: LoweredModel
    plan: MemoryPlan
    files: dict[str, str]  # path inside the output folder -> text


def default_name(model_path: str | Path) -> str:
    return c_identifier(Path(model_path).stem)


def compile_model(model_path: str | Path, name: str | None = None, scratch: str = "auto",
                  max_arena: int = DEFAULT_MAX_ARENA) -> CompiledModel:
    """Compile a .tflite file into generated sources, in memory.

    `scratch`: how kernels that can use a scratch buffer get one (see plan_memory.py);
    `max_arena`: the largest arena, in bytes, the model may need.
    """
    name = name or default_name(model_path)
    if c_identifier(name) != name:
        raise TinycError(f"--name {quote(name)} is not a C identifier")
    return compile_graph(read_model(model_path), name, scratch, max_arena)


def compile_graph(graph: Graph, name: str, scratch: str = "auto",
                  max_arena: int = DEFAULT_MAX_ARENA) -> CompiledModel:
    graph = validate_graph(graph)
    model = lower(graph)
    model = concatenations_in_place(model, lambda m: plan_memory(m, scratch=scratch).arena_bytes)
    plan = plan_memory(model, scratch=scratch)
    check_arena(plan.arena_bytes, max_arena)
    model = apply_scratch_plan(model, plan)
    files = render(model, plan, name)
    files.update(runtime_sources(runtime_headers(model)))
    return CompiledModel(name, model, plan, files)


def compile_to_folder(model_path: str | Path, out_dir: str | Path, name: str | None = None,
                      scratch: str = "auto", max_arena: int = DEFAULT_MAX_ARENA, *,
                      library: bool = False) -> CompiledModel:
    """Compile and write the output folder atomically: the plain layout (NAME.h, NAME.cpp,
    tinyc_runtime/), or with `library` one folder that is at once an ESP-IDF component, a CMake
    library, an Arduino library and a PlatformIO library (see library.py). The returned
    CompiledModel's `files` are what was written."""
    compiled = compile_model(model_path, name, scratch, max_arena)
    if library:
        compiled = as_library(compiled, hashlib.sha256(Path(model_path).read_bytes()).hexdigest())
    write_folder(compiled.files, out_dir)
    return compiled


def as_library(compiled: CompiledModel, model_sha256: str) -> CompiledModel:
    """The same model with its files in the --library layout."""
    files = library_files(compiled.files, compiled.name, model_sha256, compiled.plan.arena_bytes)
    return replace(compiled, files=files)
