"""Per-layer profile on the emulated Cortex-M4: what each kernel call of invoke() costs.

m4bench counts the whole of NAME_invoke() and takes no compiler flags, so the profile is built
from variants of the generated NAME.cpp. Variant k (k = 0 .. N for N kernel calls) has one line
inserted after the k-th call statement of invoke() (k = 0: before the first):

    if (tinyc_bench_stop) return 0;

with `static volatile int tinyc_bench_stop = 1;` at file scope. The compiler cannot know the
flag's value, so it keeps every call after the guard and compiles invoke() as it compiles the
original, with the one test added; at run time the variant returns after k calls. So

    layer k = count(variant k) - count(variant k - 1)        (k = 1 .. N)

is the k-th call's own cost, and the rest of invoke() (m4bench's 5-instruction bracket, the
prologue and epilogue, `return`) is

    overhead = count(variant 0) - guard,   guard = count(variant N) - count(unmodified)

so the layers and the overhead add up to the unmodified build's count exactly, instructions and
estimated cycles alike. (The other obvious variant, `return 0;` in place of the guard, lets the
compiler drop the calls after k and re-decide what to inline, so a layer's figure would depend
on which layers follow it: `method="return"` builds that one, for comparison.)

With M4BENCH_CLASSES=1 m4bench also gives instructions and static cycles per instruction class;
they are differenced the same way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

GUARD_DECL = "static volatile int tinyc_bench_stop = 1; /* bench/layers.py: stop here */\n"
GUARD = "if (tinyc_bench_stop) return 0; /* bench/layers.py */"
CLASSES = ("alu", "mul", "div", "load", "store", "ldst_multi", "branch", "fpu", "fpu_ldst")


class ProfileError(Exception):
    """The per-layer profile cannot be built for this model; the message says why."""


@dataclass
class Count:
    insns: int
    cycles: int
    taken: int
    classes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __sub__(self, other: Count) -> Count:
        return Count(
            self.insns - other.insns,
            self.cycles - other.cycles,
            self.taken - other.taken,
            {k: (v[0] - other.classes.get(k, (0, 0))[0], v[1] - other.classes.get(k, (0, 0))[1])
             for k, v in self.classes.items()},
        )


@dataclass
class LayerRow:
    step: int | None  # index in the model's steps (None: the invoke overhead row)
    op: int | None
    kind: str
    function: str
    shapes: str
    macs: int
    count: Count


@dataclass
class Profile:
    opt: str
    rows: list[LayerRow]  # the kernel calls in order, then the overhead row
    total: Count  # the unmodified build's count
    aliases: int  # steps that are aliases (no code)


def call_statements(source: str, name: str) -> list[tuple[int, int, str]]:
    """(first line, last line, function) of each kernel call statement of NAME_invoke()."""
    lines = source.splitlines()
    try:
        begin = next(i for i, line in enumerate(lines)
                     if line.startswith(f"int {name}_invoke(void)"))
    except StopIteration:
        raise ProfileError(f"no {name}_invoke() in the generated source") from None
    statements, i = [], begin + 1
    while i < len(lines) and lines[i] != "}":
        comment = lines[i].strip()
        if comment.startswith("/* op ") and not comment.endswith("(no code) */"):
            first = i + 1
            if not lines[first].startswith("  ") or lines[first].startswith("   "):
                raise ProfileError("a call inside a block (control flow): not profiled")
            match = re.match(r"\s+(?:status \|= )?(\w+)\(", lines[first])
            if not match:
                raise ProfileError(f"unexpected statement {lines[first].strip()[:60]!r}")
            last = first
            while not lines[last].rstrip().endswith(");"):
                last += 1
            statements.append((first, last, match.group(1)))
            i = last
        elif lines[i].strip().startswith(("if ", "for ", "} else", "}")):
            raise ProfileError("invoke() has control flow (IF/WHILE): not profiled")
        i += 1
    return statements


def variant(source: str, name: str, stop_after: int, method: str = "guard") -> str:
    """The source with invoke() stopping after `stop_after` kernel calls (see the docstring)."""
    statements = call_statements(source, name)
    lines = source.splitlines(keepends=True)
    if stop_after == 0:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"int {name}_invoke(void)"))
        if lines[at + 1].strip().startswith("int status"):
            at += 1
    else:
        at = statements[stop_after - 1][1]
    line = ("  " + GUARD + "\n") if method == "guard" else "  return 0; /* bench/layers.py */\n"
    lines.insert(at + 1, line)
    text = "".join(lines)
    if method == "guard":
        marker = f"int {name}_invoke(void)"
        opening = 'extern "C" {\n\n' + marker
        text = text.replace(opening, GUARD_DECL + "\n" + opening, 1)
        if GUARD_DECL not in text:
            raise ProfileError("could not place the guard's flag before invoke()")
    return text


def _count(m4bench: Path, folder: Path, name: str, input_file: Path, opt: str,
           classes: bool) -> Count:
    env = dict(os.environ)
    if classes:
        env["M4BENCH_CLASSES"] = "1"
    result = subprocess.run(
        [sys.executable, str(m4bench), str(folder), name, "--input", str(input_file), "--opt", opt],
        capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ProfileError(f"m4bench failed: {result.stderr.strip()[:240]}")
    out = json.loads(result.stdout)
    return Count(out["insns_per_invoke"][0], out["cycles_est_per_invoke"][0],
                 out["taken_branches_per_invoke"][0],
                 {k: tuple(v) for k, v in out.get("insns_cycles_by_class", {}).items()})


def shapes_of(graph, step) -> str:
    def label(t: int) -> str:
        tensor = graph.tensor(t)
        return f"{tensor.dtype}[{','.join(map(str, tensor.shape))}]"

    reads = [t for t in dict.fromkeys(step.tensors_read())
             if not graph.tensor(t).is_const and t not in step.op.outputs]
    return f"{' '.join(label(t) for t in reads)} -> {' '.join(label(t) for t in step.op.outputs)}"


def profile(compiled, m4bench: Path, input_file: Path, opt: str = "Os", classes: bool = False,
            method: str = "guard", progress=None) -> Profile:
    """The per-layer profile of a compiled model (tinyc.pipeline.CompiledModel)."""
    from tinyc.ops import Alias, Control, KernelCall
    from tinyc.report import macs
    from tinyc.write_files import write_folder

    name, model = compiled.name, compiled.model
    graph = model.graph
    if any(isinstance(s, Control) for s in model.steps):
        raise ProfileError("invoke() has control flow (IF/WHILE): not profiled")
    calls = [(i, s) for i, s in enumerate(model.steps) if isinstance(s, KernelCall)]
    source_key = f"{name}.cpp"
    source = compiled.files[source_key]
    statements = call_statements(source, name)
    if [f for _, _, f in statements] != [c.function for _, c in calls]:
        raise ProfileError("the call statements of invoke() do not match the model's calls")
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-layers-") as tmp:
        folder = write_folder(compiled.files, Path(tmp) / name)
        cpp = folder / source_key
        total = _count(m4bench, folder, name, input_file, opt, classes)
        counts = []
        for k in range(len(calls) + 1):
            cpp.write_text(variant(source, name, k, method))
            counts.append(_count(m4bench, folder, name, input_file, opt, classes))
            if progress:
                progress(k, len(calls))
    rows = []
    for k, (i, call) in enumerate(calls, start=1):
        rows.append(LayerRow(i, call.op.index, call.op.kind, call.function,
                             shapes_of(graph, call),
                             macs(graph, call.op.kind, call.op.inputs, call.op.outputs),
                             counts[k] - counts[k - 1]))
    guard = counts[-1] - total  # what the guard itself costs (0 for method="return")
    rows.append(LayerRow(None, None, "(invoke overhead)", "", "call, prologue, epilogue, "
                         "m4bench bracket", 0, counts[0] - guard))
    aliases = sum(isinstance(s, Alias) for s in model.steps)
    return Profile(opt, rows, total, aliases)


def _cell(value: int) -> str:
    return f"{value:,}"


def _per(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else ""


def format_profile(p: Profile, classes: bool = False) -> list[str]:
    """The profile as text lines: one table of the layers, and with `classes` one of the
    instructions by class."""
    total = p.total
    head = ["step", "op", "kind", "shapes (activations read -> written)", "MACs", "instr",
            "est. cycles", "cyc/MAC", "instr/MAC", "% cycles"]
    body = []
    for r in p.rows:
        c = r.count
        body.append([
            "" if r.step is None else str(r.step), "" if r.op is None else str(r.op), r.kind,
            r.shapes, _cell(r.macs) if r.macs else "", _cell(c.insns), _cell(c.cycles),
            _per(c.cycles, r.macs), _per(c.insns, r.macs),
            f"{100 * c.cycles / total.cycles:.1f}" if total.cycles else ""])
    all_macs = sum(r.macs for r in p.rows)
    sums = [sum(r.count.insns for r in p.rows), sum(r.count.cycles for r in p.rows)]
    body.append(["total", "", "", f"{len(p.rows) - 1} kernel calls, {p.aliases} aliases",
                 _cell(all_macs), _cell(sums[0]), _cell(sums[1]), _per(sums[1], all_macs),
                 _per(sums[0], all_macs), "100.0"])
    lines = _table(head, body, left={2, 3})
    if sums != [total.insns, total.cycles]:  # cannot happen: the differences telescope
        lines.append(f"  WARNING: the layers add up to {sums}, the whole invoke is "
                     f"{[total.insns, total.cycles]}")
    if classes and total.classes:
        lines.append("")
        lines.append(f"  Instructions by class per layer (M4BENCH_CLASSES=1), -{p.opt}; "
                     "taken: taken branches")
        head = ["step", "op", "kind", *CLASSES, "taken"]
        body = [["" if r.step is None else str(r.step), "" if r.op is None else str(r.op),
                 r.kind, *(_cell(r.count.classes.get(k, (0, 0))[0]) for k in CLASSES),
                 _cell(r.count.taken)] for r in p.rows]
        body.append(["total", "", "", *(_cell(total.classes.get(k, (0, 0))[0]) for k in CLASSES),
                     _cell(total.taken)])
        lines += _table(head, body, left={2})
    return lines


def _table(head: list[str], body: list[list[str]], left: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    return ["  " + "  ".join(c.ljust(w) if i in left else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in [head, *body]]
