"""report: what a compiled model costs on a microcontroller, layer by layer, and whether it fits.

From the compiler's own results (the lowered model and its memory plan) it computes, per step of
invoke(): the op, its activation tensors (shape, type, arena offset), multiply-accumulates, the
weight and constant bytes it brings to flash, its scratch buffer and the bytes live in the arena
at that step. Totals: flash (weights and constants, plus code measured by compiling the generated
sources for Cortex-M4 with arm-none-eabi-g++ -Os when that compiler is installed, an estimate
otherwise: each figure says which), RAM (the arena, the state region, a stack estimate) and a fits
check against a named target (`targets.py`) or a budget. Renders as text, JSON, a self-contained
HTML page (inline SVG) and, with matplotlib installed, a PNG of the arena over time.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import TinycError
from .ir import Graph, Tensor
from .lower import LoweredModel
from .ops import Alias, Control, KernelCall, TensorArg
from .pipeline import CompiledModel, compile_model
from .plan_memory import MEMORY_MODES, alias_groups, live_buffers
from .targets import TARGETS, Target
from .validate import DEFAULT_MAX_ARENA

CODE_SIZE_MODES = ("auto", "measure", "estimate")
CROSS_CXX = "arm-none-eabi-g++"
CROSS_SIZE = "arm-none-eabi-size"
# The README's reference target: Cortex-M4, default (soft-float) ABI, optimized for size.
CROSS_FLAGS = ["-std=c++11", "-Os", "-mcpu=cortex-m4", "-mthumb", "-fno-exceptions", "-fno-rtti",
               "-ffunction-sections", "-fdata-sections", "-fcallgraph-info=su"]
# Stack the C library's leaf routines (memset, memcpy, roundf) may add below a kernel's frame.
LIBC_STACK_ALLOWANCE = 32
# Without a cross compiler: code bytes once (invoke and the accessors), per runtime header the
# model includes and per kernel call (its params struct and the call). Fitted to the Cortex-M4
# -Os sizes of the models in ../shared/models (each within about 20 percent of its measurement);
# the stack guess covers their deepest path (248 to 416 bytes).
ESTIMATE_CODE_BASE = 400
ESTIMATE_CODE_PER_HEADER = {"conv.h": 1_750, "depthwise_conv.h": 1_030, "fully_connected.h": 260,
                            "softmax.h": 400, "pooling.h": 350, "add.h": 1_500}
ESTIMATE_CODE_OTHER_HEADER = 800
ESTIMATE_CODE_PER_CALL = {"conv.h": 120, "depthwise_conv.h": 120, "fully_connected.h": 135}
ESTIMATE_CODE_OTHER_CALL = 60
ESTIMATE_STACK = 512

CTYPE_SIZES = {"int8_t": 1, "uint8_t": 1, "bool": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4,
               "uint32_t": 4, "int": 4, "float": 4, "int64_t": 8, "double": 8}


@dataclass(frozen=True)
class TensorUse:
    tensor: int
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    region: str  # "arena", "state" or "const"
    offset: int | None  # within its region (None for constants)

    @property
    def label(self) -> str:
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class Layer:
    step: int  # index among invoke()'s steps
    op: int  # the op's index in the model
    kind: str
    code: bool  # False for aliases (RESHAPE and friends): no code, no copy
    function: str | None
    inputs: tuple[TensorUse, ...]  # activations and state it reads
    outputs: tuple[TensorUse, ...]
    macs: int
    const_bytes: int  # weights and constants first brought to flash by this layer
    scratch_offset: int | None
    scratch_bytes: int
    live_bytes: int  # arena bytes in use during this step, scratch included


@dataclass(frozen=True)
class Span:
    """One arena buffer over time: an activation (with its aliases) or a call's scratch."""

    kind: str  # "tensor" or "scratch"
    tensors: tuple[int, ...]  # the tensors sharing the bytes (empty for scratch)
    label: str
    offset: int
    size: int
    first: int  # first and last step at which it is live
    last: int


@dataclass(frozen=True)
class CodeSize:
    code_bytes: int  # code, params structs and pointer tables
    measured: bool
    method: str
    stack_bytes: int
    stack_method: str
    constants_measured: int | None = None  # the constant arrays as the compiler sized them


@dataclass(frozen=True)
class Fit:
    target: str
    part: str
    ram_needed: int
    ram_limit: int | None
    flash_needed: int
    flash_limit: int | None
    note: str = ""

    @property
    def ram_over(self) -> int:
        return 0 if self.ram_limit is None else max(0, self.ram_needed - self.ram_limit)

    @property
    def flash_over(self) -> int:
        return 0 if self.flash_limit is None else max(0, self.flash_needed - self.flash_limit)

    @property
    def fits(self) -> bool:
        return self.ram_over == 0 and self.flash_over == 0

    def failure(self, model: str) -> str:
        """One line naming what overflows and by how much."""
        parts = []
        if self.ram_over:
            parts.append(f"RAM needs {self.ram_needed:,} B of {self.ram_limit:,} B usable "
                         f"({self.ram_over:,} B over)")
        if self.flash_over:
            parts.append(f"flash needs {self.flash_needed:,} B of {self.flash_limit:,} B usable "
                         f"({self.flash_over:,} B over)")
        return f"{model} does not fit {self.target}: " + "; ".join(parts)


@dataclass
class ModelReport:
    model: str  # the .tflite path as given
    name: str
    layers: list[Layer]
    spans: list[Span]
    live: list[int]  # arena bytes in use at each step, scratch included
    arena_bytes: int
    state_bytes: int
    liveness_bound: int  # the planner's: activations only, no plan can be smaller
    alignment: int
    const_bytes: int  # every weight and constant array, once
    code: CodeSize
    version: str = __version__
    fit: Fit | None = None  # the check asked for, if any
    memory: str = "fast"  # the memory mode of this plan (plan_memory.MEMORY_MODES)
    in_place_bound: int = 0  # the liveness bound with every overlap the mode allows
    arena_by_mode: dict[str, int] = field(default_factory=dict)  # each memory mode's arena

    # --- totals ---

    @property
    def flash_bytes(self) -> int:
        return self.const_bytes + self.code.code_bytes

    @property
    def ram_bytes(self) -> int:
        return self.arena_bytes + self.state_bytes + self.code.stack_bytes

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def peak_step(self) -> int:
        return int(np.argmax(self.live)) if self.live else 0

    def check(self, target: Target | None = None, ram: int | None = None,
              flash: int | None = None) -> Fit:
        """The fits check against a named target, or against a RAM and/or flash budget."""
        const_ram = target is not None and target.const_in_ram
        ram_needed = self.ram_bytes + (self.const_bytes if const_ram else 0)
        if target is not None:
            note = target.note + ("; weights and constants counted in RAM" if const_ram else "")
            return Fit(target.name, target.part, ram_needed, target.ram_bytes, self.flash_bytes,
                       target.flash_bytes, note)
        return Fit("the budget", "--ram/--flash", ram_needed, ram, self.flash_bytes, flash)

    def all_fits(self) -> list[Fit]:
        return [self.check(t) for t in TARGETS]

    # --- renderings ---

    def to_json(self) -> dict[str, Any]:
        def fit_json(fit: Fit) -> dict[str, Any]:
            return {**asdict(fit), "fits": fit.fits, "ram_over": fit.ram_over,
                    "flash_over": fit.flash_over}

        return {
            "model": self.model,
            "name": self.name,
            "tinyc_version": self.version,
            "layers": [
                {**{k: v for k, v in asdict(layer).items() if k not in ("inputs", "outputs")},
                 "inputs": [asdict(t) for t in layer.inputs],
                 "outputs": [asdict(t) for t in layer.outputs]}
                for layer in self.layers
            ],
            "totals": {
                "macs": self.macs,
                "flash_bytes": self.flash_bytes,
                "const_bytes": self.const_bytes,
                "code_bytes": self.code.code_bytes,
                "code_measured": self.code.measured,
                "code_method": self.code.method,
                "ram_bytes": self.ram_bytes,
                "arena_bytes": self.arena_bytes,
                "state_bytes": self.state_bytes,
                "stack_bytes": self.code.stack_bytes,
                "stack_method": self.code.stack_method,
                "liveness_bound": self.liveness_bound,
                "memory": self.memory,
                "in_place_bound": self.in_place_bound,
                "arena_by_memory_mode": self.arena_by_mode,
                "peak_live_bytes": max(self.live, default=0),
                "peak_step": self.peak_step,
                "alignment": self.alignment,
            },
            "arena_timeline": {"live": self.live, "spans": [asdict(s) for s in self.spans]},
            "fit": fit_json(self.fit) if self.fit else None,
            "targets": [fit_json(f) for f in self.all_fits()],
        }

    def text_lines(self) -> list[str]:
        calls = sum(1 for layer in self.layers if layer.code)
        aliases = len(self.layers) - calls
        out = [f"{self.model}: {self.name}, {len(self.layers)} steps ({calls} kernel calls, "
               f"{aliases} alias{'es' if aliases != 1 else ''}), {_count(self.macs)} MACs, "
               f"tinyc {self.version}", ""]
        rows = [["step", "op", "kind", "inputs -> outputs", "MACs", "const B",
                 "arena offsets in -> out", "scratch", "live B"]]
        for layer in self.layers:
            rows.append([
                str(layer.step), str(layer.op), layer.kind + ("" if layer.code else " (alias)"),
                " + ".join(t.label for t in layer.inputs) + " -> "
                + " + ".join(t.label for t in layer.outputs),
                _count(layer.macs) if layer.macs else "-",
                _count(layer.const_bytes) if layer.const_bytes else "-",
                _offsets(layer.inputs) + " -> " + _offsets(layer.outputs),
                f"{layer.scratch_bytes:,}@{layer.scratch_offset:,}" if layer.scratch_bytes
                else "-",
                _count(layer.live_bytes),
            ])
        out += _table(rows, right={0, 1, 4, 5, 8})
        peak = self.layers[self.peak_step] if self.layers else None
        out += [
            "",
            f"flash  {self.flash_bytes:>10,} B = weights and constants {self.const_bytes:,} B"
            f" + code {self.code.code_bytes:,} B ({self.code.method})",
            f"RAM    {self.ram_bytes:>10,} B = arena {self.arena_bytes:,} B + state "
            f"{self.state_bytes:,} B + stack {self.code.stack_bytes:,} B "
            f"({self.code.stack_method})",
            f"arena  {self.arena_bytes:>10,} B: liveness bound {self.liveness_bound:,} B; peak "
            f"{max(self.live, default=0):,} B in use at step {self.peak_step}"
            + (f" (op {peak.op} {peak.kind})" if peak else ""),
            f"memory {self.memory}: in-place bound {self.in_place_bound:,} B; arena "
            + ", ".join(f"{mode} {arena:,} B" for mode, arena in self.arena_by_mode.items()),
            "",
        ]
        rows = [["target", "RAM usable", "flash usable", "RAM use", "flash use", "fits"]]
        for fit in self.all_fits():
            rows.append([fit.target, _count(fit.ram_limit or 0), _count(fit.flash_limit or 0),
                         _percent(fit.ram_needed, fit.ram_limit),
                         _percent(fit.flash_needed, fit.flash_limit),
                         "yes" if fit.fits else "NO"])
        out += _table(rows, right={1, 2, 3, 4})
        if self.fit is not None:
            out.append("")
            out.append(self.fit_line())
        return out

    def fit_line(self) -> str:
        fit = self.fit
        assert fit is not None
        if not fit.fits:
            return "DOES NOT FIT: " + fit.failure(self.name)
        parts = []
        if fit.ram_limit is not None:
            parts.append(f"RAM {fit.ram_needed:,} of {fit.ram_limit:,} B "
                         f"({_percent(fit.ram_needed, fit.ram_limit)})")
        if fit.flash_limit is not None:
            parts.append(f"flash {fit.flash_needed:,} of {fit.flash_limit:,} B "
                         f"({_percent(fit.flash_needed, fit.flash_limit)})")
        return f"fits {fit.target}: " + ", ".join(parts)

    def html(self) -> str:
        return _html_page(self)

    def write_png(self, path: str | Path) -> Path:
        return _write_png(self, Path(path))


def report_model(model_path: str | Path, name: str | None = None, scratch: str = "auto",
                 max_arena: int = DEFAULT_MAX_ARENA, code_size: str = "auto",
                 compiled: CompiledModel | None = None, memory: str = "fast") -> ModelReport:
    """Compile `model_path` (or take `compiled`) and report what it costs on a microcontroller.

    `code_size`: "measure" compiles the generated code for Cortex-M4 with arm-none-eabi-g++ -Os
    (a TinycError if that compiler is missing), "estimate" never compiles, "auto" (default)
    measures when the compiler is installed. Results of a measurement are cached by content.
    """
    if code_size not in CODE_SIZE_MODES:
        raise ValueError(f"code_size {code_size!r} is not one of {CODE_SIZE_MODES}")
    compiled = compiled or compile_model(model_path, name, scratch, max_arena, memory=memory)
    model, plan = compiled.model, compiled.plan
    spans, live = _timeline(model, plan)
    layers = _layers(model, plan, live)
    const_total = sum(layer.const_bytes for layer in layers)
    code = _code_size(compiled, code_size)
    arenas = {}
    for mode in MEMORY_MODES:  # the other mode compiled too: `tinyc report` shows both
        arenas[mode] = plan.arena_bytes if mode == plan.memory else compile_model(
            model_path, name, scratch, max_arena, memory=mode,
            rounding=compiled.rounding).plan.arena_bytes
    return ModelReport(str(model_path), compiled.name, layers, spans, live, plan.arena_bytes,
                       plan.state_bytes, plan.liveness_bound, plan.alignment, const_total, code,
                       memory=plan.memory, in_place_bound=plan.in_place_bound,
                       arena_by_mode=arenas)


# --- the arena over time ---


def _timeline(model: LoweredModel, plan) -> tuple[list[Span], list[int]]:
    """Every activation buffer (one per alias group, as the planner sees them:
    plan_memory.live_buffers) and scratch buffer with the steps it is live in, and the bytes
    live at each step."""
    graph = model.graph
    root, delta = alias_groups(model)
    members: dict[int, list[int]] = {}
    for t, r in root.items():
        members.setdefault(r, []).append(t)
    spans = []
    for buffer in live_buffers(model, root, delta):
        r = int(buffer.key[1:])
        spans.append(Span("tensor", tuple(sorted(members[r])), _tensor_label(graph.tensor(r)),
                          plan.offsets[r] - delta[r], buffer.size, buffer.first, buffer.last))
    for step, offset in sorted(plan.scratch_offsets.items()):
        call = model.steps[step]
        spans.append(Span("scratch", (), f"scratch of op {call.op.index} ({call.op.kind})",
                          offset, call.scratch_bytes, step, step))
    live = [_union_bytes([(s.offset, s.offset + s.size) for s in spans if s.first <= i <= s.last])
            for i in range(len(model.steps))]
    return spans, live


def _union_bytes(ranges: list[tuple[int, int]]) -> int:
    """Bytes covered by the ranges: a call run in place counts the bytes its input and output
    share once."""
    total, end = 0, None
    for lo, hi in sorted(ranges):
        if end is None or lo >= end:
            total, end = total + hi - lo, hi
        elif hi > end:
            total, end = total + hi - end, hi
    return total


def _tensor_label(tensor: Tensor) -> str:
    name = tensor.name if len(tensor.name) <= 60 else tensor.name[:57] + "..."
    shape = ",".join(map(str, tensor.shape))
    return f"tensor {tensor.index} {name!r} {tensor.dtype}[{shape}]"


# --- layers ---


def _layers(model: LoweredModel, plan, live: list[int]) -> list[Layer]:
    graph = model.graph
    seen: set[tuple[str, bytes]] = set()  # constant contents already counted (render shares them)
    layers = []
    for i, step in enumerate(model.steps):
        if isinstance(step, Control):  # if/else/loop lines: no layer of their own
            continue
        if isinstance(step, Alias):
            layers.append(Layer(i, step.op.index, step.op.kind, False, None,
                                (_use(graph, plan, step.source),),
                                (_use(graph, plan, step.target),), 0, 0, None, 0, live[i]))
            continue
        const = _call_constants(seen, graph, step)
        reads = [t for t in step.tensors_read()
                 if not graph.tensor(t).is_const and t not in step.op.outputs]
        scratch = plan.scratch_offsets.get(i)
        layers.append(Layer(
            i, step.op.index, step.op.kind, True, step.function,
            tuple(_use(graph, plan, t) for t in dict.fromkeys(reads)),
            tuple(_use(graph, plan, t) for t in step.op.outputs),
            macs(graph, step.op.kind, step.op.inputs, step.op.outputs), const,
            scratch, step.scratch_bytes if scratch is not None else 0, live[i]))
    return layers


def constant_bytes(model: LoweredModel) -> int:
    """Bytes of every weight and constant array the generated code keeps in flash (identical
    contents once, as render shares them)."""
    seen: set[tuple[str, bytes]] = set()
    return sum(_call_constants(seen, model.graph, call) for call in model.calls)


def _call_constants(seen: set[tuple[str, bytes]], graph: Graph, call: KernelCall) -> int:
    """Constant bytes `call` adds to flash beyond those already `seen`."""
    total = 0
    for arg in call.args:
        if isinstance(arg, TensorArg) and graph.tensor(arg.tensor).is_const:
            tensor = graph.tensor(arg.tensor)
            total += _count_once(seen, tensor.ctype, tensor.data)
    for array in call.arrays:
        total += _count_once(seen, array.ctype, array.values)
    return total


def _count_once(seen: set[tuple[str, bytes]], ctype: str, values: np.ndarray) -> int:
    key = (ctype, np.ascontiguousarray(values).tobytes())
    if key in seen:
        return 0
    seen.add(key)
    return max(int(np.asarray(values).size), 1) * CTYPE_SIZES.get(ctype, 4)


def _use(graph: Graph, plan, t: int) -> TensorUse:
    tensor = graph.tensor(t)
    if tensor.is_const:
        region, offset = "const", None
    elif tensor.is_variable:
        region, offset = "state", plan.state_offsets.get(t)
    else:
        region, offset = "arena", plan.offsets.get(t)
    return TensorUse(t, tensor.dtype, tuple(tensor.shape), tensor.nbytes, region, offset)


def macs(graph: Graph, kind: str, inputs: tuple[int, ...], outputs: tuple[int, ...]) -> int:
    """Multiply-accumulates of one op (0 for ops that do none)."""
    try:
        out = graph.tensor(outputs[0])
        if kind == "CONV_2D":  # filter [out_c, kh, kw, in_c / groups]
            w = graph.tensor(inputs[1]).shape
            return out.size * w[1] * w[2] * w[3]
        if kind == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out_c]
            w = graph.tensor(inputs[1]).shape
            return out.size * w[1] * w[2]
        if kind == "FULLY_CONNECTED":  # weights [units, depth]
            return out.size * graph.tensor(inputs[1]).shape[-1]
        if kind == "TRANSPOSE_CONV":  # weights [out_c, kh, kw, in_c], input [n, h, w, in_c]
            w = graph.tensor(inputs[1]).shape
            return graph.tensor(inputs[2]).size * w[0] * w[1] * w[2]
        if kind == "BATCH_MATMUL":
            return out.size * graph.tensor(inputs[0]).shape[-1]
    except (IndexError, ValueError):
        return 0
    return 0


# --- code size and stack ---


def _code_size(compiled: CompiledModel, mode: str) -> CodeSize:
    have = shutil.which(CROSS_CXX) is not None and shutil.which(CROSS_SIZE) is not None
    if mode == "measure" and not have:
        raise TinycError(f"{CROSS_CXX} not found: install it (Debian: gcc-arm-none-eabi) or use "
                         f"--code-size estimate")
    if mode == "estimate" or not have:
        return estimate_code_size(compiled)
    return measure_code_size(compiled)


def estimate_code_size(compiled: CompiledModel) -> CodeSize:
    headers = sorted({call.header for call in compiled.model.calls})
    code = (ESTIMATE_CODE_BASE
            + sum(ESTIMATE_CODE_PER_HEADER.get(h, ESTIMATE_CODE_OTHER_HEADER) for h in headers)
            + sum(ESTIMATE_CODE_PER_CALL.get(c.header, ESTIMATE_CODE_OTHER_CALL)
                  for c in compiled.model.calls))
    return CodeSize(code, False, f"estimate: {CROSS_CXX} not used", ESTIMATE_STACK,
                    "rough estimate")


def measure_code_size(compiled: CompiledModel) -> CodeSize:
    """Compile NAME.cpp for Cortex-M4 (-Os, one section per function and array) and split the
    object's flash sections into the constant arrays and the rest; the stack is the deepest call
    path from NAME_invoke in gcc's call graph (-fcallgraph-info=su)."""
    name = compiled.name
    compiler = subprocess.run([CROSS_CXX, "--version"], capture_output=True, text=True).stdout
    digest = hashlib.sha256(" ".join(CROSS_FLAGS).encode() + compiler.encode())
    for path in sorted(compiled.files):
        digest.update(path.encode() + b"\0" + compiled.files[path].encode() + b"\0")
    cache = _cache_dir() / f"{name}-{digest.hexdigest()[:24]}.json"
    if cache.exists():
        try:
            return CodeSize(**json.loads(cache.read_text()))
        except (ValueError, TypeError):
            pass
    with tempfile.TemporaryDirectory(prefix="tinyc-size-") as tmp:
        folder = Path(tmp)
        for path, text in compiled.files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text, encoding="utf-8")
        result = subprocess.run([CROSS_CXX, *CROSS_FLAGS, "-I", ".", "-c", f"{name}.cpp", "-o",
                                 "model.o"], capture_output=True, text=True, cwd=folder)
        if result.returncode != 0:
            first = next((ln for ln in result.stderr.splitlines() if "error" in ln), "?")
            raise TinycError(f"{CROSS_CXX} could not build the generated code: {first}")
        sections = subprocess.run([CROSS_SIZE, "-A", "model.o"], capture_output=True, text=True,
                                  cwd=folder, check=True).stdout
        graph_text = _read_callgraph(folder)
    flash, constants = _split_sections(sections, _array_names(compiled))
    stack = _deepest_path(graph_text, f"{name}_invoke")
    size = CodeSize(flash - constants, True, f"measured: {CROSS_CXX} -Os, Cortex-M4",
                    stack + LIBC_STACK_ALLOWANCE,
                    f"deepest call path from {name}_invoke, gcc -fcallgraph-info, "
                    f"+{LIBC_STACK_ALLOWANCE} B for C library calls", constants)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp_path.write_text(json.dumps(asdict(size)))
        tmp_path.replace(cache)
    except OSError:
        pass
    return size


def _read_callgraph(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(folder.glob("*.ci")))


def _cache_dir() -> Path:
    return Path(os.environ.get("TINYC_CACHE", Path.home() / ".cache" / "tinyc")) / "code-size"


def _array_names(compiled: CompiledModel) -> set[str]:
    """The C names of the constant arrays, from the generated source itself."""
    source = compiled.files[f"{compiled.name}.cpp"]
    return set(re.findall(r"^static const \w+ (\w+)\[\d+\] ", source, flags=re.M))


def _split_sections(size_output: str, arrays: set[str]) -> tuple[int, int]:
    """(flash bytes, of which constant arrays) from `size -A` of an object built with
    -ffunction-sections -fdata-sections (mangled names end in <length><name>)."""
    flash = constants = 0
    suffixes = {f"{len(a)}{a}" for a in arrays}
    for line in size_output.splitlines():
        fields = line.split()
        if len(fields) < 2 or not fields[1].isdigit():
            continue
        section, nbytes = fields[0], int(fields[1])
        if not section.startswith((".text", ".rodata", ".data")):
            continue
        flash += nbytes
        if section.startswith(".rodata") and any(section.endswith(s) for s in suffixes):
            constants += nbytes
    return flash, constants


_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "(?:[^"\\]|\\.)*?\\n(\d+) bytes')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def _deepest_path(callgraph: str, root_symbol: str) -> int:
    """Largest sum of stack frames along a call path from `root_symbol` (a cycle counts once)."""
    frames = {title: int(size) for title, size in _NODE.findall(callgraph)}
    calls: dict[str, list[str]] = {}
    for source, target in _EDGE.findall(callgraph):
        calls.setdefault(source, []).append(target)
    roots = [t for t in frames if t.rsplit(":", 1)[-1] == root_symbol]
    if not roots:
        return ESTIMATE_STACK

    def depth(node: str, path: frozenset[str]) -> int:
        below = [depth(c, path | {c}) for c in calls.get(node, []) if c not in path]
        return frames.get(node, 0) + max(below, default=0)

    return max(depth(r, frozenset({r})) for r in roots)


# --- text helpers ---


def _count(n: int) -> str:
    return f"{n:,}"


def _percent(needed: int, limit: int | None) -> str:
    return "-" if not limit else f"{100.0 * needed / limit:.1f}%"


def _offsets(uses: tuple[TensorUse, ...]) -> str:
    parts = []
    for t in uses:
        if t.region == "arena":
            parts.append(f"@{t.offset:,}")
        elif t.region == "state":
            parts.append(f"state@{t.offset:,}")
    return ",".join(parts) or "-"


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if c in right else cell.ljust(w)
                 for c, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


# --- pictures: SVG for the HTML page, PNG through matplotlib ---

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#86bcb6")
SCRATCH_COLOR = "#bab0ac"


def _color(i: int, span: Span) -> str:
    return SCRATCH_COLOR if span.kind == "scratch" else PALETTE[i % len(PALETTE)]


def arena_svg(report: ModelReport, width: int = 960) -> str:
    """The arena over time: the bytes in use per step (top) and one bar per buffer from its first
    to its last step at its offset (bottom), the peak marked. Self-contained SVG."""
    steps = max(len(report.live), 1)
    left, right, top = 80, 20, 34
    curve_h, gap, bars_h, bottom = 150, 40, 340, 40
    plot_w = width - left - right
    height = top + curve_h + gap + bars_h + bottom
    arena = max(report.arena_bytes, 1)
    peak_value = max(max(report.live, default=0), 1)
    scale_top = max(arena, peak_value) * 1.3  # room above the peak for its label
    col = plot_w / steps

    def x(step: float) -> float:
        return left + step * col

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" '
           f'role="img" aria-label="arena of {html.escape(report.name)} over time">']
    # liveness curve
    y0 = top + curve_h

    def yc(v: float) -> float:
        return y0 - v / scale_top * curve_h

    points = []
    for i, v in enumerate(report.live):
        points += [f"{x(i):.1f},{yc(v):.1f}", f"{x(i + 1):.1f},{yc(v):.1f}"]
    out.append(f'<text x="{left}" y="{top - 14}" font-weight="bold">bytes in use per step '
               f'(arena {report.arena_bytes:,} B, liveness bound {report.liveness_bound:,} B)'
               '</text>')
    out.append(f'<line x1="{left}" y1="{y0}" x2="{left + plot_w}" y2="{y0}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{yc(arena):.1f}" x2="{left + plot_w}" '
               f'y2="{yc(arena):.1f}" stroke="#999" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{left - 4}" y="{yc(arena) + 4:.1f}" text-anchor="end">'
               f'{report.arena_bytes:,}</text>')
    out.append(f'<text x="{left - 4}" y="{y0 + 4}" text-anchor="end">0</text>')
    if points:
        out.append(f'<polyline fill="none" stroke="#e15759" stroke-width="2" '
                   f'points="{" ".join(points)}"/>')
        p = report.peak_step
        px, py = x(p + 0.5), yc(report.live[p])
        layer = report.layers[p]
        out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#e15759"><title>peak: '
                   f'{report.live[p]:,} B at step {p}</title></circle>')
        anchor = "end" if p > steps / 2 else "start"
        dx = -8 if anchor == "end" else 8
        out.append(f'<text x="{px + dx:.1f}" y="{py - 6:.1f}" text-anchor="{anchor}">peak '
                   f'{report.live[p]:,} B, step {p} (op {layer.op} '
                   f'{html.escape(layer.kind)})</text>')
    # buffers
    b0 = top + curve_h + gap
    out.append(f'<text x="{left}" y="{b0 - 6}" font-weight="bold">arena offset (bytes) of each '
               f'buffer from its first to its last step</text>')
    out.append(f'<rect x="{left}" y="{b0}" width="{plot_w}" height="{bars_h}" fill="#fafafa" '
               f'stroke="#333"/>')

    def yb(offset: float) -> float:
        return b0 + bars_h - offset / arena * bars_h

    for i, span in enumerate(report.spans):
        y_top, y_bottom = yb(span.offset + span.size), yb(span.offset)
        h = max(y_bottom - y_top, 1.0)
        tip = (f"{span.label}: {span.size:,} B at offset {span.offset:,}, steps {span.first}"
               f"-{span.last}")
        if len(span.tensors) > 1:
            tip += f" (shared by tensors {', '.join(map(str, span.tensors))})"
        out.append(f'<rect x="{x(span.first):.1f}" y="{y_top:.1f}" '
                   f'width="{max((span.last - span.first + 1) * col - 1, 1):.1f}" '
                   f'height="{h:.1f}" fill="{_color(i, span)}" fill-opacity="0.85" '
                   f'stroke="#fff" stroke-width="0.5"><title>{html.escape(tip)}</title></rect>')
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        value = round(arena * frac)
        out.append(f'<text x="{left - 4}" y="{yb(value) + 4:.1f}" text-anchor="end">'
                   f'{value:,}</text>')
    tick_every = max(1, steps // 20)
    for i in range(0, steps, tick_every):
        out.append(f'<text x="{x(i + 0.5):.1f}" y="{b0 + bars_h + 14}" text-anchor="middle">'
                   f'{i}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{b0 + bars_h + 32}" text-anchor="middle">'
               f'step of invoke()</text>')
    out.append("</svg>")
    return "\n".join(out)


def _html_page(report: ModelReport) -> str:
    e = html.escape
    rows = []
    for layer in report.layers:
        cells = [
                (str(layer.step), True), (str(layer.op), True),
                (layer.kind + ("" if layer.code else " (alias)"), False),
                (" + ".join(t.label for t in layer.inputs), False),
                (" + ".join(t.label for t in layer.outputs), False),
                (_count(layer.macs) if layer.macs else "-", True),
                (_count(layer.const_bytes) if layer.const_bytes else "-", True),
                (_offsets(layer.inputs) + " \u2192 " + _offsets(layer.outputs), False),
                (f"{layer.scratch_bytes:,} @ {layer.scratch_offset:,}"
                 if layer.scratch_bytes else "-", True),
                (_count(layer.live_bytes), True)]
        rows.append("<tr>" + "".join(f"<td{' class=n' if numeric else ''}>{e(cell)}</td>"
                                     for cell, numeric in cells) + "</tr>")
    fits = []
    for fit in report.all_fits():
        cls = "ok" if fit.fits else "bad"
        fits.append(f"<tr class={cls}><td>{e(fit.target)}</td><td>{e(fit.part)}</td>"
                    f"<td class=n>{_count(fit.ram_limit or 0)}</td>"
                    f"<td class=n>{_percent(fit.ram_needed, fit.ram_limit)}</td>"
                    f"<td class=n>{_count(fit.flash_limit or 0)}</td>"
                    f"<td class=n>{_percent(fit.flash_needed, fit.flash_limit)}</td>"
                    f"<td>{'fits' if fit.fits else 'does not fit'}</td>"
                    f"<td>{e(fit.note)}</td></tr>")
    verdict = ""
    if report.fit is not None:
        cls = "ok" if report.fit.fits else "bad"
        verdict = f"<p class='verdict {cls}'>{e(report.fit_line())}</p>"
    head = ["step", "op", "kind", "inputs", "outputs", "MACs", "const B", "arena offsets",
            "scratch", "live B"]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tinyc report: {e(report.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.bad td {{ color: #b00; }}
p.verdict {{ font-weight: bold; padding: 6px 10px; display: inline-block; }}
p.verdict.ok {{ background: #e6f4ea; }}
p.verdict.bad {{ background: #fce8e6; color: #b00; }}
dl.totals {{ display: grid; grid-template-columns: max-content auto; gap: 2px 14px; }}
dt {{ font-weight: bold; }}
</style>
</head>
<body>
<h1>{e(report.name)}</h1>
<p>{e(report.model)}: {len(report.layers)} steps, {_count(report.macs)} multiply-accumulates per
invoke; tinyc {e(report.version)}.</p>
{verdict}
<h2>Totals</h2>
<dl class="totals">
<dt>flash</dt><dd>{report.flash_bytes:,} B = weights and constants {report.const_bytes:,} B +
code {report.code.code_bytes:,} B ({e(report.code.method)})</dd>
<dt>RAM</dt><dd>{report.ram_bytes:,} B = arena {report.arena_bytes:,} B + state
{report.state_bytes:,} B + stack {report.code.stack_bytes:,} B ({e(report.code.stack_method)})</dd>
<dt>arena</dt><dd>{report.arena_bytes:,} B; liveness bound {report.liveness_bound:,} B; peak
{max(report.live, default=0):,} B in use at step {report.peak_step}</dd>
</dl>
<h2>The arena over time</h2>
{arena_svg(report)}
<h2>Layers</h2>
<table>
<tr>{"".join(f"<th>{h}</th>" for h in head)}</tr>
{chr(10).join(rows)}
</table>
<h2>Targets</h2>
<table>
<tr><th>target</th><th>part</th><th>RAM usable (B)</th><th>RAM use</th><th>flash usable (B)</th>
<th>flash use</th><th></th><th>note</th></tr>
{chr(10).join(fits)}
</table>
<p>RAM counts the arena, the state region and the stack estimate; flash counts weights,
constants and code. The usable figures are ceilings for the whole firmware (see
tinyc/targets.py for their sources).</p>
</body>
</html>
"""


def _write_png(report: ModelReport, path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import StrMethodFormatter
    except ImportError:
        raise TinycError("--png needs matplotlib: pip install matplotlib") from None
    steps = max(len(report.live), 1)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7),
                                      gridspec_kw={"height_ratios": [1, 2.2]})
    xs = np.arange(steps + 1)
    top.step(xs, list(report.live) + report.live[-1:], where="post", color="#e15759", lw=2)
    top.axhline(report.arena_bytes, color="#999", ls="--", lw=1,
                label=f"arena {report.arena_bytes:,} B")
    p = report.peak_step
    if report.live:
        top.plot([p + 0.5], [report.live[p]], "o", color="#e15759")
        layer = report.layers[p]
        top.annotate(f"peak {report.live[p]:,} B, step {p} (op {layer.op} {layer.kind})",
                     (p + 0.5, report.live[p]), textcoords="offset points", xytext=(6, 6),
                     ha="right" if p > steps / 2 else "left")
    top.set_ylabel("bytes in use")
    top.set_ylim(0, max(report.arena_bytes, max(report.live, default=0)) * 1.25 + 1)
    top.legend(loc="upper right")
    top.set_title(f"{report.name}: the arena over time")
    for i, span in enumerate(report.spans):
        bottom.add_patch(Rectangle((span.first, span.offset), span.last - span.first + 1,
                                   span.size, facecolor=_color(i, span), edgecolor="white",
                                   linewidth=0.5, alpha=0.85))
    bottom.set_xlim(0, steps)
    bottom.set_ylim(0, max(report.arena_bytes, 1))
    bottom.set_xlabel("step of invoke()")
    bottom.set_ylabel("arena offset (bytes)")
    for axis in (top, bottom):
        axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
