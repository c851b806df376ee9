"""render: (LoweredModel, MemoryPlan, name) -> {filename: text}. Pure: no disk, no clock.

Python computes every value; the templates in `templates/` only place them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import numpy as np

from . import __version__
from .c_literals import LiteralRangeError, c_array_lines, c_comment, c_float, c_int, c_value
from .errors import TinycError
from .ir import INT_RANGES, Graph, Tensor
from .lower import LoweredModel
from .ops import Alias, ArrayArg, Control, KernelCall, ScratchArg, TensorArg
from .plan_memory import MemoryPlan


@dataclass(frozen=True)
class CArray:
    name: str
    ctype: str
    count: int
    lines: list[str]
    comment: str


@dataclass(frozen=True)
class CCall:
    comment: str
    function: str
    params_type: str
    params_name: str
    params: list[tuple[str, str]]  # (field, C literal)
    args: list[str]
    returns_status: bool


@dataclass(frozen=True)
class CTensor:
    """A model input or output as the header exposes it."""

    offset: int
    nbytes: int
    elements: int
    ctype: str
    shape: list[int]
    scale: str | None
    zero_point: int | None
    qmin: int | None  # the storage type's range, for the header's quantize helper
    qmax: int | None


def render(model: LoweredModel, plan: MemoryPlan, name: str,
           shared_runtime: str | None = None, rounding: str = "double") -> dict[str, str]:
    """`shared_runtime`: the id of the shared runtime folder the model is built against
    (`tinyc compile --shared-runtime`), else None: its own copies of the kernels; `rounding`:
    "single" defines TINYC_SINGLE_ROUNDING for the runtime (see quantize.rounding_mode)."""
    context = _context(model, plan, name)
    context["shared_runtime"] = shared_runtime
    context["single_rounding"] = rounding == "single"
    env = _environment()
    return {
        f"{name}.h": env.get_template("model.h.jinja").render(context),
        f"{name}.cpp": env.get_template("model.cpp.jinja").render(context),
    }


def runtime_headers(model: LoweredModel) -> list[str]:
    """Runtime files the generated code includes, common header first."""
    return ["tinyc_common.h"] + sorted({c.header for c in model.calls})


def _context(model: LoweredModel, plan: MemoryPlan, name: str) -> dict[str, Any]:
    graph = model.graph
    arrays, symbols = _constant_arrays(model, name)
    calls, seen = [], {}
    for i, step in enumerate(model.steps):
        if isinstance(step, KernelCall):
            # One params struct per call: an op with several calls (an IF's copies) numbers them.
            k = seen[step.op.index] = seen.get(step.op.index, -1) + 1
            calls.append(_call(step, i, graph, plan, symbols, name, k))
    return {
        "name": name,
        "NAME": name.upper(),
        "version": __version__,
        "arena_bytes": plan.arena_bytes,
        "headers": runtime_headers(model),
        "arrays": arrays,
        "calls": calls,
        "statements": _statements(model.steps, calls, lambda t: "*" + tensor_pointer(
            graph.tensor(t), plan, symbols, name)),
        "checks_status": any(c.returns_status for c in model.calls),
        # Only models with float arithmetic: integer kernels never contract.
        "fp_contract_off": any(t.dtype == "float32" and not t.is_const
                               for t in graph.tensors),
        "aliases": [
            c_comment(f"op {s.op.index} {s.op.kind}: tensor {s.target} is tensor {s.source}'s "
                      f"bytes" + (f" from byte {s.offset}" if s.offset else ""), limit=90)
            for s in model.steps
            if isinstance(s, Alias)
        ],
        "state_bytes": plan.state_bytes,
        "state": _state(graph, plan),
        "inputs": [_io_tensor(graph.tensor(t), plan) for t in graph.inputs],
        "outputs": [_io_tensor(graph.tensor(t), plan) for t in graph.outputs],
    }


def _constant_arrays(model: LoweredModel, name: str) -> tuple[list[CArray], dict[str, str]]:
    """Every constant the calls use, once: identical contents share one array."""
    arrays: list[CArray] = []
    symbols: dict[str, str] = {}  # "t<tensor>" or "op<i>_<suffix>" -> C array name
    by_content: dict[tuple[str, bytes], str] = {}

    def add(key: str, array_name: str, ctype: str, values: np.ndarray, comment: str) -> None:
        content = (ctype, np.ascontiguousarray(values).tobytes())
        if content not in by_content:
            by_content[content] = array_name
            try:
                lines = c_array_lines(values, ctype) if values.size else ["0"]
            except LiteralRangeError as exc:
                raise TinycError(f"constant {comment}: {exc}") from None
            arrays.append(CArray(array_name, ctype, max(values.size, 1), lines, comment))
        symbols[key] = by_content[content]

    for call in model.calls:
        for arg in call.args:
            tensor = model.graph.tensor(arg.tensor) if isinstance(arg, TensorArg) else None
            if tensor is not None and tensor.is_const and f"t{tensor.index}" not in symbols:
                add(
                    f"t{tensor.index}",
                    f"{name}_tensor{tensor.index}",
                    tensor.ctype,
                    tensor.data,
                    f"{c_comment(tensor.name)} {list(tensor.shape)}",
                )
        for const in call.arrays:
            key = f"op{call.op.index}_{const.suffix}"
            add(
                key,
                f"{name}_{key}",
                const.ctype,
                const.values,
                f"op {call.op.index} {const.suffix}",
            )
    return arrays, symbols


def _call(
    call: KernelCall,
    step_index: int,
    graph: Graph,
    plan: MemoryPlan,
    symbols: dict[str, str],
    name: str,
    repeat: int = 0,
) -> CCall:
    def arg(a: TensorArg | ArrayArg | ScratchArg) -> str:
        if isinstance(a, ArrayArg):
            return symbols[f"op{call.op.index}_{a.suffix}"]
        if isinstance(a, ScratchArg):
            return f"{name}_arena + {plan.scratch_offsets[step_index]}"
        return tensor_pointer(graph.tensor(a.tensor), plan, symbols, name)

    return CCall(
        comment=c_comment(f"op {call.op.index}: {call.op.kind}"),
        function=call.function,
        params_type=call.params_type,
        params_name=f"{name}_op{call.op.index}{f'_{repeat}' if repeat else ''}_params",
        params=_params(call),
        args=[arg(a) for a in call.args],
        returns_status=call.returns_status,
    )


def tensor_pointer(tensor: Tensor, plan: MemoryPlan, symbols: dict[str, str], name: str) -> str:
    """A C expression for a pointer to the tensor's bytes: flash, state or arena."""
    if tensor.is_const:
        return symbols[f"t{tensor.index}"]
    if tensor.is_variable:
        return f"({tensor.ctype} *)({name}_state + {plan.state_offsets[tensor.index]})"
    return f"({tensor.ctype} *)({name}_arena + {plan.offsets[tensor.index]})"


@dataclass(frozen=True)
class CStatement:
    """One statement of invoke(): a kernel call, or a line of control flow."""

    indent: str
    call: CCall | None = None
    line: str = ""


def _statements(steps, calls: list[CCall], condition) -> list[CStatement]:
    """invoke()'s body: the calls in step order, inside the if/else/loop blocks of Control
    steps; `condition(tensor index)` is the C test of a bool tensor's first element."""
    pending = iter(calls)
    depth, out = 1, []
    for step in steps:
        if isinstance(step, KernelCall):
            out.append(CStatement("  " * depth, next(pending)))
        elif isinstance(step, Control):
            if step.kind in ("else", "end"):
                depth -= 1
            text = {"if": "if ({cond}) {{", "else": "}} else {{", "loop": "for (;;) {{",
                    "break_unless": "if (!({cond})) break;", "end": "}}"}[step.kind]
            cond = condition(step.cond) if step.cond >= 0 else ""
            out.append(CStatement("  " * depth, line=text.format(cond=cond)))
            if step.kind in ("if", "else", "loop"):
                depth += 1
    return out


def _params(call: KernelCall) -> list[tuple[str, str]]:
    """The params struct's initializers, each checked against its field's C type."""
    fields = kernel_structs().get(call.params_type)
    if fields is None:
        raise RuntimeError(f"{call.params_type} is not declared in runtime/{call.header}")
    names = [field for field, _ in call.params]
    if names != [field for field, _ in fields]:
        raise RuntimeError(f"{call.function}: params {names} do not match the fields of "
                           f"{call.params_type} {[field for field, _ in fields]}")
    literals = []
    for (field, value), (_, ctype) in zip(call.params, fields):
        try:
            literals.append((field, c_value(value, ctype)))
        except LiteralRangeError as exc:
            raise TinycError(f"op {call.op.index} ({call.op.kind}): {field} = {exc}") from None
    return literals


@cache
def kernel_structs() -> dict[str, list[tuple[str, str]]]:
    """Every params struct the runtime headers declare: name -> [(field, C type)], in order.

    Parsed from the headers themselves, so the Python side can never disagree with the C side
    about a field's order or width."""
    structs: dict[str, list[tuple[str, str]]] = {}
    aliases: list[tuple[str, str]] = []
    for header in resources.files("tinyc.runtime").iterdir():
        if not header.name.endswith(".h"):
            continue
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", header.read_text(encoding="utf-8"), flags=re.S)
        for body, struct_name in re.findall(r"typedef\s+struct\s*\w*\s*\{(.*?)\}\s*(\w+)\s*;",
                                            text, flags=re.S):
            structs[struct_name] = _struct_fields(body)
        aliases += re.findall(r"typedef\s+(\w+_params)\s+(\w+)\s*;", text)
    for source, alias in aliases:
        if source in structs:
            structs[alias] = structs[source]
    return structs


def _struct_fields(body: str) -> list[tuple[str, str]]:
    fields = []
    for declaration in body.split(";"):
        words = declaration.replace(",", " , ").split()
        if not words:
            continue
        ctype = words[0] if words[0] != "const" else words[1]
        names = [w for w in " ".join(words[1:]).split(",")]
        for n in names:
            n = n.replace("const", "").strip()
            if n and "*" not in n and "[" not in n:
                fields.append((n, ctype))
            elif n:
                fields.append((n.strip("* "), "pointer"))
    return fields


@dataclass(frozen=True)
class CState:
    """The state region: its initial bytes (None: all zero, so it starts in .bss), and the spans
    reset() fills, one per variable tensor."""

    initial: list[str] | None
    # (offset, bytes, fill byte or None: copied from the initial image, comment)
    spans: list[tuple[int, int, int | None, str]]

    @property
    def copies(self) -> bool:
        """reset() copies some spans from a const image of the initial values."""
        return any(fill is None for _, _, fill, _ in self.spans)


def _state(graph: Graph, plan: MemoryPlan) -> CState | None:
    """Variable tensors start as TFLM's ResetVariableTensors leaves them: every byte the zero
    point for int8, zero otherwise."""
    if not plan.state_bytes:
        return None
    image = np.zeros(plan.state_bytes, np.uint8)
    spans = []
    for t, offset in sorted(plan.state_offsets.items(), key=lambda item: item[1]):
        tensor = graph.tensor(t)
        fill = tensor.zero_point & 0xFF if tensor.dtype == "int8" and tensor.quant else 0
        if tensor.initial is not None:  # what the model's initialisation assigns
            initial = np.ascontiguousarray(tensor.initial).view(np.uint8).reshape(-1)
            image[offset:offset + tensor.nbytes] = initial
            spans.append((offset, tensor.nbytes, None, c_comment(f"{tensor.label}")))
        else:
            image[offset:offset + tensor.nbytes] = fill
            spans.append((offset, tensor.nbytes, fill, c_comment(f"{tensor.label}")))
    initial_lines = c_array_lines(image, "uint8_t") if image.any() else None
    return CState(initial_lines, spans)


def _io_tensor(tensor: Tensor, plan: MemoryPlan) -> CTensor:
    quantized = tensor.quant is not None and tensor.dtype in INT_RANGES
    # A quantize helper only for the narrow types: an int32 range does not round-trip via float.
    helper = quantized and tensor.dtype in ("int8", "uint8", "int16")
    qmin, qmax = INT_RANGES[tensor.dtype] if helper else (None, None)
    return CTensor(
        offset=plan.offsets[tensor.index],
        nbytes=tensor.nbytes,
        elements=tensor.size,
        ctype=tensor.ctype,
        shape=list(tensor.shape),
        scale=c_float(tensor.scale) if quantized else None,
        zero_point=tensor.zero_point if quantized else None,
        qmin=qmin,
        qmax=qmax,
    )


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["c_int"] = c_int
    return env


def _load_template(template_name: str) -> str:
    return resources.files("tinyc.templates").joinpath(template_name).read_text(encoding="utf-8")
