"""Benchmark tinyc's generated code against TFLite Micro, measured side by side in one run.

    python bench/bench.py MODEL.tflite [MODEL2 ...] [--m4] [--samples N] [--callgrind]

For each model: the arena (tinyc's plan vs TFLM's `print_allocations()` total and head, and the
liveness bound), the size of the generated code (source bytes, host and Cortex-M4 object sizes),
the host time per inference (the cffi-built generated code vs TFLM's Python interpreter, same
inputs, interleaved batches, median), optionally callgrind instruction counts of one invoke of
each on the host, and with --m4 the instruction count, flash and RAM on an emulated Cortex-M4
(../shared/tools/m4bench) beside the published TFLM figures. Ratios are tinyc/TFLM (below 1 means
tinyc is smaller or faster). A benchmark, not a test: nothing here passes or fails on a number.

A model tinyc cannot compile (yet) is skipped with a one-line reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyc.errors import TinycError
from tinyc.verify.tflm_memory import capture_fd2, parse_allocations

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:  # layers.py, plain_copies.py, models.py beside this file
    sys.path.insert(0, str(BENCH_DIR))
REPO = BENCH_DIR.parent
SHARED = REPO.parent / "shared"
DEFAULT_M4BENCH = SHARED / "tools" / "m4bench" / "m4bench"

# TFLM at commit 90b983c on QEMU mps2-an386 (Cortex-M4F), arm-none-eabi-gcc 12.2, newlib-nano,
# copied from ../shared/models/README.md ("TFLM on an emulated Cortex-M4: the figures to beat").
# arena: smallest arena that works on the 32-bit target. code: TFLM's own flash (interpreter,
# planner, kernels) without the model array and the C library; the README gives "23.0 KB" and
# "40.7 KB" with KB = 1000 bytes (../shared/tools/m4bench/README.md: 23,013 bytes = 23.0 KB, which
# is the exact figure used for hello_world). Instructions per Invoke(): reference kernels all -Os;
# reference kernels with TFLM's default flags (kernels -O2); CMSIS-NN kernels, default flags.
TFLM_M4 = {
    "hello_world_int8": dict(arena=1_068, code=23_013, ref_os=7_731, ref_o2=5_322, cmsis=3_619),
    "kws_ref_model": dict(
        arena=22_772, code=40_700, ref_os=133_968_760, ref_o2=43_040_552, cmsis=7_697_713
    ),
    "vww_96_int8": dict(
        arena=100_660, code=40_700, ref_os=370_040_906, ref_o2=100_252_531, cmsis=24_102_776
    ),
}
TFLM_M4_STATICS = 290  # "about 290" bytes of interpreter/resolver statics in .bss besides the arena

M4_FLAGS = [
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
    "-ffunction-sections",
    "-fdata-sections",
]
CXX_ONLY = ["-std=c++11", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics"]


class Skip(Exception):
    """This model (or one measurement of it) cannot be benchmarked; the message says why."""


# --------------------------------------------------------------------------------------------
# TFLM side
# --------------------------------------------------------------------------------------------


def tflm_interpreter(model: bytes | Path, arena_size: int = 1 << 24):
    from tflite_micro.python.tflite_micro import runtime

    data = model.read_bytes() if isinstance(model, Path) else model
    holder = []
    log = capture_fd2(
        lambda: holder.append(runtime.Interpreter.from_bytes(data, arena_size=arena_size))
    )
    if not holder:
        raise Skip(f"TFLM could not load the model: {log.strip()[:200]}")
    return holder[0]


def tflm_set_inputs(interpreter, inputs: list[np.ndarray]) -> None:
    for i, array in enumerate(inputs):
        interpreter.set_input(array, i)


def tflm_outputs(interpreter, count: int) -> list[bytes]:
    return [np.ascontiguousarray(interpreter.get_output(i)).tobytes() for i in range(count)]


def empty_tflite(elements: int = 1) -> bytes:
    """A valid .tflite with one int8 tensor that is both input and output and no operators.

    TFLM's invoke() of it costs the Python -> pybind11 call plus the interpreter's per-invoke
    bookkeeping: the floor below which no TFLM invoke() from Python can go.
    Written with the flatbuffers builder; field slots follow tensorflow/lite/schema/schema.fbs.
    """
    import flatbuffers

    b = flatbuffers.Builder(256)

    def int_vector(values: list[int]) -> int:
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependInt32(v)
        return b.EndVector()

    def table_vector(offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    b.StartObject(1)  # Buffer { data }: buffer 0, empty by convention
    buffer0 = b.EndObject()
    name = b.CreateString("x")
    shape = int_vector([1, elements])
    b.StartObject(5)  # Tensor { shape, type, buffer, name, quantization }
    b.PrependUOffsetTRelativeSlot(0, shape, 0)
    b.PrependInt8Slot(1, 9, 0)  # TensorType INT8
    b.PrependUOffsetTRelativeSlot(3, name, 0)
    tensor = b.EndObject()
    tensors, inputs, outputs, ops = (
        table_vector([tensor]),
        int_vector([0]),
        int_vector([0]),
        table_vector([]),
    )
    b.StartObject(5)  # SubGraph { tensors, inputs, outputs, operators, name }
    b.PrependUOffsetTRelativeSlot(0, tensors, 0)
    b.PrependUOffsetTRelativeSlot(1, inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, outputs, 0)
    b.PrependUOffsetTRelativeSlot(3, ops, 0)
    subgraph = b.EndObject()
    subgraphs, buffers, codes = table_vector([subgraph]), table_vector([buffer0]), table_vector([])
    b.StartObject(5)  # Model { version, operator_codes, subgraphs, description, buffers }
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, codes, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    return bytes(b.Output())


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def _batch(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in itertools.repeat(None, n):
        fn()
    return time.perf_counter() - start


def time_per_call(
    fns: dict[str, Callable[[], object]], repeats: int, min_batch: float = 0.02
) -> dict[str, float]:
    """Median seconds per call of each function.

    Each function is called in batches long enough (>= min_batch seconds) for the clock to be
    irrelevant; the batches of all functions are interleaved, so a slow patch of the machine
    (two cores shared with other work) hits every function alike.
    """
    sizes = {}
    for key, fn in fns.items():
        fn()  # warm caches and lazy binding
        n = 1
        while True:
            elapsed = _batch(fn, n)
            if elapsed >= min_batch or n >= 1 << 22:
                break
            n = min(1 << 22, max(2 * n, int(n * 1.3 * min_batch / max(elapsed, 1e-9))))
        sizes[key] = n
    samples: dict[str, list[float]] = {k: [] for k in fns}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for key, fn in fns.items():
                samples[key].append(_batch(fn, sizes[key]) / sizes[key])
    finally:
        if was_enabled:
            gc.enable()
    return {k: statistics.median(v) for k, v in samples.items()}


# --------------------------------------------------------------------------------------------
# Code size
# --------------------------------------------------------------------------------------------


def source_bytes(files: dict[str, str]) -> tuple[int, int]:
    """(model-specific files, runtime headers) in bytes as written to the folder."""
    from tinyc.write_files import RUNTIME_DIR

    runtime = sum(len(t.encode()) for p, t in files.items() if p.startswith(RUNTIME_DIR + "/"))
    total = sum(len(t.encode()) for t in files.values())
    return total - runtime, runtime


def object_size(folder: Path, cc: str, cxx: str, size_tool: str, flags: list[str]) -> dict:
    """Sum of `size` (Berkeley: text includes .rodata, so the weights) over the objects built
    from every source in the folder, compiled separately with `-c`."""
    if not shutil.which(cxx) or not shutil.which(size_tool):
        raise Skip(f"{cxx} or {size_tool} not found")
    totals = {"text": 0, "data": 0, "bss": 0}
    sources = sorted(p for p in folder.rglob("*") if p.suffix in (".c", ".cc", ".cpp"))
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-obj-") as tmp:
        for i, src in enumerate(sources):
            obj = Path(tmp) / f"{i}.o"
            compiler, lang = (cc, ["-std=gnu11"]) if src.suffix == ".c" else (cxx, CXX_ONLY)
            run([compiler, *lang, *flags, "-I", str(folder), "-c", str(src), "-o", str(obj)])
            out = run([size_tool, "-B", str(obj)]).splitlines()[-1].split()
            for key, value in zip(("text", "data", "bss"), out[:3], strict=True):
                totals[key] += int(value)
    return totals


def run(command: list[str], **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        lines = (result.stderr.strip() or result.stdout.strip() or "?").splitlines()
        errors = [line for line in lines if "error" in line.lower()]  # a compiler's first error
        raise Skip(f"{Path(command[0]).name} failed: {(errors or lines[-1:])[0].strip()[:240]}")
    return result.stdout


# --------------------------------------------------------------------------------------------
# Callgrind: executed x86-64 instructions of one invoke, deterministic
# --------------------------------------------------------------------------------------------

HOST_HARNESS = """#include <stdio.h>
#include <string.h>
#include "{name}.h"
/* Copy the input bytes in, then invoke: twice, so callgrind's last dump is a warm invoke. */
int main(int argc, char **argv) {{
  static unsigned char bytes[1 << 20];
  FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
  size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
  if (f) fclose(f);
  for (int k = 0; k < 2; ++k) {{
    size_t at = 0;
    for (int i = 0; i < {name}_input_count(); ++i) {{
      size_t b = {name}_input_bytes(i);
      if (at + b <= n) memcpy({name}_input(i), bytes + at, b);
      at += b;
    }}
    if ({name}_invoke() != 0) return 1;
  }}
  return 0;
}}
"""

TFLM_CALLGRIND_SCRIPT = """
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
it = runtime.Interpreter.from_file(sys.argv[1], arena_size=1 << 24)
data = open(sys.argv[2], 'rb').read()
for _ in range(2):  # twice, as the host harness: callgrind's last dump is a warm invoke
    at = 0
    for i in range(int(sys.argv[3])):
        d = it.get_input_details(i)
        n = int(np.prod(d['shape'])) * np.dtype(d['dtype']).itemsize
        it.set_input(np.frombuffer(data[at:at + n], d['dtype']).reshape(d['shape']), i)
        at += n
    it.invoke()
"""
TFLM_INVOKE_SYMBOL = "tflite::micro::MicroInterpreter::Invoke()"


def callgrind_last_invoke(command: list[str], symbol: str, workdir: Path) -> int:
    """Instructions executed inside `symbol` during its last call (callgrind dumps after each)."""
    if not shutil.which("valgrind"):
        raise Skip("valgrind not found")
    out = workdir / "cg.out"
    run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--toggle-collect={symbol}",
            f"--dump-after={symbol}",
            f"--callgrind-out-file={out}",
            *command,
        ],
        cwd=workdir,
    )
    dumps = sorted(workdir.glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
    if not dumps:
        raise Skip(f"callgrind saw no call of {symbol}")
    match = re.search(r"^(?:totals|summary): (\d+)", dumps[-1].read_text(), re.M)
    if not match:
        raise Skip("no totals in callgrind output")
    return int(match.group(1))


def callgrind_tinyc(folder: Path, name: str, input_file: Path, cxx: str = "g++") -> int:
    from tinyc.verify.build import CXX_FLAGS

    flags = [f for f in CXX_FLAGS if f not in ("-fPIC", "-shared")]
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-cg-") as tmp:
        work = Path(tmp)
        (work / "harness.cpp").write_text(HOST_HARNESS.format(name=name))
        sources = sorted(str(p) for p in folder.rglob("*") if p.suffix in (".c", ".cc", ".cpp"))
        run(
            [
                cxx,
                *flags,
                "-g",
                "-I",
                str(folder),
                str(work / "harness.cpp"),
                *sources,
                "-o",
                str(work / "harness"),
            ]
        )
        return callgrind_last_invoke(
            [str(work / "harness"), str(input_file)], f"{name}_invoke", work
        )


def callgrind_tflm(model: Path, input_file: Path, input_count: int) -> int:
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-cg-") as tmp:
        work = Path(tmp)
        (work / "run.py").write_text(TFLM_CALLGRIND_SCRIPT)
        return callgrind_last_invoke(
            [
                sys.executable,
                str(work / "run.py"),
                str(model.resolve()),
                str(input_file.resolve()),
                str(input_count),
            ],
            TFLM_INVOKE_SYMBOL,
            work,
        )


# --------------------------------------------------------------------------------------------
# m4bench
# --------------------------------------------------------------------------------------------


def m4bench_missing(m4bench: Path) -> str | None:
    if not m4bench.exists():
        return f"{m4bench} not found"
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc"):
        if not shutil.which(tool):
            return f"{tool} not found (see ../shared/tools/m4bench/README.md)"
    return None


def run_m4bench(m4bench: Path, folder: Path, name: str, input_file: Path, opt: str) -> dict:
    out = run(
        [sys.executable, str(m4bench), str(folder), name, "--input", str(input_file), "--opt", opt]
    )
    return json.loads(out)


# --------------------------------------------------------------------------------------------
# One model
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    tinyc: object = None
    tflm: object = None
    ratio: float | None = None
    note: str = ""


@dataclass
class Result:
    model: Path
    name: str
    rows: list[Row] = field(default_factory=list)
    header: str = ""
    summary: dict = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)  # lines printed after the rows (tables)

    def add(self, label, tinyc=None, tflm=None, note="", ratio=True):
        r = None
        if ratio and isinstance(tinyc, (int, float)) and isinstance(tflm, (int, float)) and tflm:
            r = tinyc / tflm
        self.rows.append(Row(label, tinyc, tflm, r, note))


def bench_model(path: Path, args: argparse.Namespace) -> Result:
    from tinyc.pipeline import compile_model
    from tinyc.verify import build_host_model
    from tinyc.verify.compare import random_inputs
    from tinyc.write_files import write_folder

    try:
        compiled = compile_model(path)
    except TinycError as exc:
        raise Skip(f"does not compile: {exc}") from None
    except Exception as exc:  # a compiler bug: still skip this model, keep benchmarking others
        raise Skip(f"does not compile: internal error {type(exc).__name__}: {exc}") from None
    name, graph, plan = compiled.name, compiled.model.graph, compiled.plan
    result = Result(path, name)
    interp = tflm_interpreter(path)
    n_out = len(graph.outputs)
    rng = np.random.default_rng(args.seed)
    samples = [random_inputs(graph, rng) for _ in range(args.samples)]
    expected = []
    for inputs in samples:
        tflm_set_inputs(interp, inputs)
        interp.invoke()
        expected.append(tflm_outputs(interp, n_out))

    # Correctness first: a fast wrong answer is not a result. A failed host build still leaves
    # the arena and the Cortex-M4 figures worth printing.
    try:
        host = build_host_model(compiled.files, compiled.name)
    except TinycError as exc:
        host, verdict = None, f"host build failed ({' '.join(str(exc).split())})"
        result.summary["exact"] = "no build"
    else:
        if plan.state_bytes:
            host.reset()  # TFLM's sequence starts from the initial state: so does this one
        exact = sum(host.run(inputs) == theirs for inputs, theirs in zip(samples, expected))
        verdict = f"outputs bit-exact with TFLM on {exact}/{len(samples)} random inputs"
        if exact < len(samples):
            verdict += " -- NOT BIT-EXACT: the figures below are of wrong code"
        result.summary["exact"] = f"{exact}/{len(samples)}"
    ops: dict[str, int] = {}
    for op in graph.ops:
        ops[op.kind] = ops.get(op.kind, 0) + 1
    result.header = (
        f"{path.name}: {len(graph.ops)} ops after folding "
        f"({', '.join(f'{k} x{v}' for k, v in sorted(ops.items()))}), "
        f"{len(compiled.model.calls)} kernel calls; {verdict}"
    )

    # Arena: TFLM's recording allocator after an invoke (as ../shared/models/README.md does it).
    try:
        log = capture_fd2(interp.print_allocations)
        alloc = parse_allocations(log)
    except TinycError as exc:
        raise Skip(str(exc)) from None
    variables = tflm_variable_bytes(log)
    result.add("arena, bytes: vs TFLM head (activation plan)", plan.arena_bytes, alloc["head"])
    result.add("arena, bytes: vs TFLM total (x86-64 host)", plan.arena_bytes, alloc["total"],
               note=f"TFLM head {alloc['head']:,} + tail {alloc.get('tail', 0):,}")
    if plan.state_bytes or variables:
        # Variable tensors (LSTM/SVDF state, resource variables): tinyc keeps them in their own
        # region; TFLM in its tail ("TfLiteTensor variable buffer data").
        result.add("state, bytes: vs TFLM variable buffers (in its tail)", plan.state_bytes,
                   variables)
        result.add("arena + state, bytes: vs TFLM head + variable buffers",
                   plan.arena_bytes + plan.state_bytes, alloc["head"] + variables)
    over_bound = plan.arena_bytes / max(plan.liveness_bound, 1)
    result.add(
        "liveness bound, bytes",
        plan.liveness_bound,
        None,
        note=f"tinyc arena/bound {over_bound:.3f}",
    )
    # The memory modes (plan_memory.MEMORY_MODES): "fast" is the build benchmarked above;
    # "small" takes every overlap that shrinks the arena, at some cost in time (its own build,
    # bit-exactness and Cortex-M4 rows below).
    small = compile_model(path, memory="small")
    result.add("in-place bound, bytes: memory fast / small", plan.in_place_bound,
               small.plan.in_place_bound, ratio=False,
               note="the liveness bound with every overlap each mode allows")
    result.add("arena, bytes: memory small vs TFLM head", small.plan.arena_bytes, alloc["head"],
               note=f"fast {plan.arena_bytes:,}, liveness bound {plan.liveness_bound:,}")
    small_exact = None
    if host is not None:
        small_host = build_host_model(small.files, small.name)
        if small.plan.state_bytes:
            # The same sequence from the initial state (an identical build is the same cached
            # module as the fast one, whose state the runs above have advanced).
            small_host.reset()
        small_exact = sum(small_host.run(inputs) == theirs
                          for inputs, theirs in zip(samples, expected))
        result.add("memory small: outputs bit-exact with TFLM",
                   f"{small_exact}/{len(samples)}", None, ratio=False)
    result.summary.update(
        in_place_fast=plan.in_place_bound,
        in_place_small=small.plan.in_place_bound,
        arena_small=small.plan.arena_bytes,
        exact_small=None if small_exact is None else f"{small_exact}/{len(samples)}",
    )
    result.summary.update(
        arena=plan.arena_bytes,
        head=alloc["head"],
        total=alloc["total"],
        tail=alloc.get("tail"),
        bound=plan.liveness_bound,
        state=plan.state_bytes,
        tflm_state=variables,
    )

    # Code size.
    model_src, runtime_src = source_bytes(compiled.files)
    result.add(
        "sources, bytes: model files + runtime headers", f"{model_src:,} + {runtime_src:,}", None
    )
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        folder = write_folder(compiled.files, Path(tmp) / name)
        input_file = Path(tmp) / "input.bin"
        input_file.write_bytes(b"".join(np.ascontiguousarray(a).tobytes() for a in samples[0]))
        _sizes(result, folder, args)
        if host is None:
            result.add("host time and instructions: skipped (no host build)")
        else:
            _host_time(result, host, interp, samples[0], args)
            if args.callgrind:
                _callgrind(result, folder, name, path, input_file, len(graph.inputs))
        if args.m4:
            _m4(result, folder, name, path, input_file, expected[0], args)
            _m4_small(result, write_folder(small.files, Path(tmp) / "small" / name), name,
                      input_file, expected[0], args)
        if args.data_movement:
            _data_movement(result, compiled, path, samples, expected, input_file, args)
        if args.layers:
            _layers(result, compiled, input_file, args)
    return result


def tflm_variable_bytes(log: str) -> int:
    """TFLM's 'TfLiteTensor variable buffer data' from print_allocations (0 when absent)."""
    match = re.search(r"'TfLiteTensor variable buffer data' used (\d+) bytes", log)
    return int(match.group(1)) if match else 0


def _layers(result: Result, compiled, input_file: Path, args: argparse.Namespace) -> None:
    """The per-layer profile on the emulated Cortex-M4 (bench/layers.py)."""
    import layers

    missing = m4bench_missing(args.m4bench)
    if missing:
        result.extra.append(f"  per-layer profile: skipped ({missing})")
        return
    classes = os.environ.get("M4BENCH_CLASSES") == "1"
    try:
        profile = layers.profile(compiled, args.m4bench, input_file, args.layers_opt, classes)
    except (layers.ProfileError, Skip) as exc:
        result.extra.append(f"  per-layer profile: skipped ({exc})")
        return
    whole = result.summary.get(f"m4_{args.layers_opt}")
    check = ("= the whole-invoke figure above" if whole == profile.total.insns
             else f"whole invoke measured {whole} above" if whole is not None else "")
    result.extra.append(
        f"  Per-layer profile, Cortex-M4 -{args.layers_opt} (m4bench, builds stopped after each "
        f"call, see bench/README.md); total {profile.total.insns:,} instructions {check}")
    result.extra += layers.format_profile(profile, classes)
    result.summary["layers"] = profile


def _data_movement(result: Result, compiled, path: Path, samples, expected, input_file: Path,
                   args: argparse.Namespace) -> None:
    """What tinyc's removal of data movement saves: op counts (removed, aliases, copies) and the
    same model compiled with every data-movement op a plain copy (bench/plain_copies.py)."""
    import plain_copies

    from tinyc.pipeline import compile_model
    from tinyc.read_tflite import read_model
    from tinyc.verify import build_host_model
    from tinyc.write_files import write_folder

    counts = plain_copies.movement_counts(read_model(path), compiled)
    if not counts:
        result.add("data movement: no TRANSPOSE/SPLIT/CONCATENATION/... in the model")
        return
    for kind, c in sorted(counts.items()):
        result.add(
            f"data movement: {kind} x{c['model']}: removed / aliases / copies",
            f"{c['removed']} / {c['aliases']} / {c['copies']}",
            None,
            note="removed: layout round trips and folding; aliases: views, in place",
        )
    result.summary["movement"] = counts
    try:
        with plain_copies.every_copy():
            copies = compile_model(path)
    except TinycError as exc:
        result.add(f"every data-movement op a copy: skipped (does not compile: {exc})")
        return
    # The same kernels as the build it is compared with, even if a runtime header changed on
    # disk since (someone editing runtime/ while the bench runs): only the model's structure
    # differs between the two.
    files = dict(copies.files)
    files.update({k: v for k, v in compiled.files.items() if k.startswith("tinyc_runtime/")
                  and k in files})
    copies = dataclasses.replace(copies, files=files)
    try:
        host = build_host_model(copies.files, copies.name)
        exact = sum(host.run(x) == y for x, y in zip(samples, expected))
        verdict = f"bit-exact {exact}/{len(samples)}"
    except TinycError as exc:
        verdict = f"host build failed ({' '.join(str(exc).split())[:80]})"
    ours = len(compiled.model.calls)
    result.add("kernel calls: vs every data-movement op a copy", ours, len(copies.model.calls),
               note=f"TFLM column: tinyc with copies, {verdict}")
    result.add("arena, bytes: vs every data-movement op a copy", compiled.plan.arena_bytes,
               copies.plan.arena_bytes)
    result.summary["copies_arena"] = copies.plan.arena_bytes
    if not args.m4 or m4bench_missing(args.m4bench):
        return
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-copies-") as tmp:
        folder = write_folder(copies.files, Path(tmp) / copies.name)
        for opt in args.m4_opt:
            try:
                m4 = run_m4bench(args.m4bench, folder, copies.name, input_file, opt)
            except Skip as exc:
                result.add(f"M4 -{opt}, every data-movement op a copy: skipped ({exc})")
                continue
            theirs = m4["insns_per_invoke"][0]
            result.summary[f"copies_m4_{opt}"] = theirs
            result.add(
                f"M4 -{opt}: instr/invoke vs every data-movement op a copy",
                result.summary.get(f"m4_{opt}"),
                theirs,
                note="outputs equal" if m4["output_hex"][0] == [b.hex() for b in expected[0]]
                else "copies build: OUTPUT DIFFERS",
            )


def _sizes(result: Result, folder: Path, args: argparse.Namespace) -> None:
    configs = [
        ("host .o, g++ -O2", "gcc", "g++", "size", ["-O2"]),
        (
            "M4 .o, arm-none-eabi-g++ -Os",
            "arm-none-eabi-gcc",
            "arm-none-eabi-g++",
            "arm-none-eabi-size",
            ["-Os", *M4_FLAGS],
        ),
    ]
    for label, cc, cxx, size_tool, flags in configs:
        try:
            s = object_size(folder, cc, cxx, size_tool, flags)
        except Skip as exc:
            result.add(f"{label}: skipped ({exc})")
            continue
        result.add(f"{label}: text/data/bss", f"{s['text']:,}/{s['data']:,}/{s['bss']:,}", None)
        if "M4" in label:
            result.summary["m4_obj_text"] = s["text"]


def _host_time(
    result: Result, host, interp, inputs: list[np.ndarray], args: argparse.Namespace
) -> None:
    """Invoke through the rawest binding of each, inputs written once before timing; then the
    same with the inputs written before every invoke, as a caller from Python would.

    tinyc's planner may reuse an input's bytes for later tensors, so invokes after the first may
    run on overwritten input bytes; int8 kernels cost the same whatever the data (the M4 and
    callgrind counts rewrite the input every time), and the second pair of rows shows it.
    """
    host.run(inputs)
    tflm_set_inputs(interp, inputs)
    empty = tflm_interpreter(empty_tflite())
    empty.set_input(np.zeros((1, 1), np.int8), 0)
    lib, ffi = host.lib, host.ffi
    invoke = getattr(lib, f"{host.name}_invoke")
    copies = [
        (getattr(lib, f"{host.name}_input")(i), np.ascontiguousarray(a).tobytes())
        for i, a in enumerate(inputs)
    ]
    tflm_invoke = interp._interpreter.Invoke  # runtime.Interpreter.invoke minus a Python frame

    def tinyc_with_inputs():
        for pointer, data in copies:
            ffi.memmove(pointer, data, len(data))
        invoke()

    def tflm_with_inputs():
        for i, array in enumerate(inputs):
            interp.set_input(array, i)
        tflm_invoke()

    fns = {
        "tinyc": invoke,
        "tflm": tflm_invoke,
        "tinyc_floor": getattr(lib, f"{host.name}_input_count"),  # same cffi path, trivial body
        "tflm_floor": empty._interpreter.Invoke,  # invoke() of a model with no operators
        "tinyc_inputs": tinyc_with_inputs,
        "tflm_inputs": tflm_with_inputs,
    }
    t = time_per_call(fns, args.repeats, args.min_batch)
    result.add(
        "host time/invoke (median, with the Python call)",
        _duration(t["tinyc"]),
        _duration(t["tflm"]),
        ratio=False,
        note=f"ratio {t['tinyc'] / t['tflm']:.3f}",
    )
    result.add(
        "host call floor (trivial cffi call / TFLM 0-op model)",
        _duration(t["tinyc_floor"]),
        _duration(t["tflm_floor"]),
        ratio=False,
    )
    net_ours = max(t["tinyc"] - t["tinyc_floor"], 0.0)
    net_theirs = max(t["tflm"] - t["tflm_floor"], 0.0)
    result.add(
        "host time/invoke minus call floor",
        _duration(net_ours),
        _duration(net_theirs),
        ratio=False,
        note=f"ratio {net_ours / net_theirs:.3f}"
        if net_theirs
        else "ratio n/a: below the floor (timing noise; rerun with more --repeats)",
    )
    result.add(
        "host time/invoke, inputs written each time",
        _duration(t["tinyc_inputs"]),
        _duration(t["tflm_inputs"]),
        ratio=False,
        note=f"ratio {t['tinyc_inputs'] / t['tflm_inputs']:.3f} (memmove / set_input)",
    )
    result.summary.update(
        host_tinyc=t["tinyc"],
        host_tflm=t["tflm"],
        host_net_tinyc=net_ours,
        host_net_tflm=net_theirs,
    )


def _callgrind(
    result: Result, folder: Path, name: str, model: Path, input_file: Path, input_count: int
) -> None:
    try:
        ours = callgrind_tinyc(folder, name, input_file)
        theirs = callgrind_tflm(model, input_file, input_count)
    except Skip as exc:
        result.add(f"host instr/invoke (callgrind): skipped ({exc})")
        return
    result.add("host x86-64 instr/invoke (callgrind)", ours, theirs)
    result.summary["cg_ratio"] = ours / theirs if theirs else None


def _m4_small(result: Result, folder: Path, name: str, input_file: Path,
              tflm_out: list[bytes], args: argparse.Namespace) -> None:
    """The "small" memory mode's build on m4bench -Os: instructions and estimated cycles per
    invoke beside the default ("fast") build's."""
    if m4bench_missing(args.m4bench) or "m4_Os" not in result.summary:
        return
    try:
        m4 = run_m4bench(args.m4bench, folder, name, input_file, "Os")
    except Skip as exc:
        result.add(f"M4 -Os memory small: skipped ({exc})")
        return
    insns, cycles = m4["insns_per_invoke"][0], m4["cycles_est_per_invoke"][0]
    same = m4["output_hex"][0] == [b.hex() for b in tflm_out]
    result.summary.update(m4_Os_small=insns, m4_Os_small_cycles=cycles, m4_Os_small_exact=same)
    result.add("M4 -Os: instr/invoke, memory small vs fast", insns, result.summary["m4_Os"],
               note="output bytes equal TFLM's" if same else "output bytes DIFFERENT")
    result.add("M4 -Os: est. cycles/invoke, memory small vs fast", cycles,
               result.summary.get("m4_Os_cycles"))


def _m4(
    result: Result,
    folder: Path,
    name: str,
    model: Path,
    input_file: Path,
    tflm_out: list[bytes],
    args: argparse.Namespace,
) -> None:
    missing = m4bench_missing(args.m4bench)
    if missing:
        result.add(f"M4 (m4bench): skipped ({missing})")
        return
    published = TFLM_M4.get(model.stem)
    expected = [b.hex() for b in tflm_out]
    tflite = model.stat().st_size
    for opt in args.m4_opt:
        try:
            m4 = run_m4bench(args.m4bench, folder, name, input_file, opt)
        except Skip as exc:
            result.add(f"M4 -{opt}: skipped ({exc})")
            continue
        insns = m4["insns_per_invoke"][0]
        same = m4["output_hex"][0] == expected
        result.summary.update(
            {
                f"m4_{opt}": insns,
                f"m4_{opt}_cycles": m4["cycles_est_per_invoke"][0],
                f"m4_{opt}_exact": same,
                f"m4_{opt}_flash": m4["flash_model_code"],
                "m4_ram": m4["ram_model"],
            }
        )
        result.add(
            f"M4 -{opt}: output bytes vs TFLM Python, same input",
            _hex(m4["output_hex"][0]),
            _hex(expected),
            ratio=False,
            note="equal" if same else "DIFFERENT",
        )
        if opt == "Os":
            result.add(
                "M4 -Os: instr/invoke vs TFLM reference, all -Os",
                insns,
                published and published["ref_os"],
            )
        else:
            result.add(
                f"M4 -{opt}: instr/invoke vs TFLM reference, default",
                insns,
                published and published["ref_o2"],
                note="TFLM kernels -O2",
            )
            result.add(
                f"M4 -{opt}: instr/invoke vs TFLM CMSIS-NN, default",
                insns,
                published and published["cmsis"],
            )
        result.add(
            f"M4 -{opt}: flash_model_code vs TFLM code + .tflite",
            m4["flash_model_code"],
            published and published["code"] + tflite,
            note=published and f"TFLM {published['code']:,} + {tflite:,}",
        )
    if "m4_ram" in result.summary:
        result.add(
            "M4: ram_model vs TFLM smallest 32-bit arena",
            result.summary["m4_ram"],
            published and published["arena"],
            note=published and f"TFLM has ~{TFLM_M4_STATICS} B of statics besides",
        )
    if not published:
        result.add(f"M4: no published TFLM figures for {model.stem}")


def _hex(outputs: list[str], limit: int = 16) -> str:
    text = " ".join(outputs)
    return text if len(text) <= limit else text[: limit - 2] + ".."


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.0f} ns"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def print_result(result: Result) -> None:
    print(result.header)
    width = max(len(r.label) for r in result.rows if r.tinyc is not None or r.tflm is not None)
    print(f"  {'':<{width}}  {'tinyc':>16}  {'TFLM':>16}  {'tinyc/TFLM':>10}")
    for r in result.rows:
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else ""
        if r.tinyc is None and r.tflm is None and not r.note:
            print(f"  {r.label}")
            continue
        print(
            f"  {r.label:<{width}}  {_cell(r.tinyc):>16}  {_cell(r.tflm):>16}  {ratio:>10}"
            + (f"  {r.note}" if r.note else "")
        )
    for line in result.extra:
        print(line)
    print()


def print_summary(results: list[Result], skipped: list[tuple[Path, str]], m4: bool) -> None:
    print(
        "Summary: arena (bytes) and host time per invoke, net of each call floor; "
        "ratios are tinyc/TFLM"
    )
    cols = [
        "model",
        "exact",
        "arena",
        "TFLM head",
        "TFLM total",
        "bound",
        "arena/head",
        "state",
        "TFLM state",
        "host tinyc",
        "host TFLM",
        "host ratio",
    ]
    rows = []
    for r in results:
        s = r.summary
        rows.append(
            [
                r.model.stem,
                s.get("exact"),
                s.get("arena"),
                s.get("head"),
                s.get("total"),
                s.get("bound"),
                _ratio(s.get("arena"), s.get("head")),
                s.get("state") or "",
                s.get("tflm_state") or "",
                _duration(s["host_net_tinyc"]) if "host_net_tinyc" in s else "",
                _duration(s["host_net_tflm"]) if "host_net_tflm" in s else "",
                _ratio(s.get("host_net_tinyc"), s.get("host_net_tflm")),
            ]
        )
    _table(cols, rows)
    if m4:
        print()
        print(
            "Summary: Cortex-M4 (m4bench) instructions per invoke and flash_model_code "
            "(bytes) vs published TFLM"
        )
        cols = [
            "model",
            "output ok",
            "Os instr",
            "/TFLM ref Os",
            "O2 instr",
            "/TFLM ref O2",
            "/TFLM CMSIS-NN",
            "Os flash",
            "/TFLM flash",
            "ram",
        ]
        rows = []
        for r in results:
            s, pub = r.summary, TFLM_M4.get(r.model.stem, {})
            flash = pub and pub["code"] + r.model.stat().st_size
            ok = [s[k] for k in s if k.endswith("_exact")]
            rows.append(
                [
                    r.model.stem,
                    ("yes" if all(ok) else "NO") if ok else "",
                    s.get("m4_Os"),
                    _ratio(s.get("m4_Os"), pub.get("ref_os")),
                    s.get("m4_O2"),
                    _ratio(s.get("m4_O2"), pub.get("ref_o2")),
                    _ratio(s.get("m4_O2"), pub.get("cmsis")),
                    s.get("m4_Os_flash"),
                    _ratio(s.get("m4_Os_flash"), flash),
                    s.get("m4_ram"),
                ]
            )
        _table(cols, rows)
    print()
    print("Summary: memory modes: arena, liveness bound and in-place bound (bytes), and "
          "Cortex-M4 -Os instructions / estimated cycles per invoke in each mode")
    cols = ["model", "bound", "in-place fast", "in-place small", "arena fast", "arena small",
            "small exact", "Os instr fast", "Os instr small", "Os cyc fast", "Os cyc small"]
    rows = [[r.model.stem, r.summary.get("bound"), r.summary.get("in_place_fast"),
             r.summary.get("in_place_small"), r.summary.get("arena"),
             r.summary.get("arena_small"), r.summary.get("exact_small"),
             r.summary.get("m4_Os"), r.summary.get("m4_Os_small"),
             r.summary.get("m4_Os_cycles"), r.summary.get("m4_Os_small_cycles")]
            for r in results]
    _table(cols, rows)
    stateful = [r for r in results if r.summary.get("state") or r.summary.get("tflm_state")]
    if stateful:
        print()
        print("Summary: models with state (variable tensors): bytes, and Cortex-M4 instructions")
        cols = ["model", "arena", "state", "arena+state", "TFLM total", "TFLM head",
                "TFLM tail", "TFLM state", "head+state", "ratio", "M4 Os instr", "M4 O2 instr"]
        rows = []
        for r in stateful:
            s = r.summary
            ours, theirs = s["arena"] + s["state"], s["head"] + s["tflm_state"]
            rows.append([r.model.stem, s["arena"], s["state"], ours, s["total"], s["head"],
                         s.get("tail"), s["tflm_state"], theirs, _ratio(ours, theirs),
                         s.get("m4_Os"), s.get("m4_O2")])
        _table(cols, rows)
    moving = [r for r in results if r.summary.get("movement")]
    if moving:
        print()
        print("Summary: data movement: ops in the model -> removed / aliases (views, in place) / "
              "copies; the same model with every one a copy")
        cols = ["model", "ops", "arena", "copies arena", "M4 Os", "copies M4 Os", "ratio",
                "M4 O2", "copies M4 O2", "ratio"]
        rows = []
        for r in moving:
            s = r.summary
            ops = ", ".join(f"{k} {c['model']}->{c['removed']}/{c['aliases']}/{c['copies']}"
                            for k, c in sorted(s["movement"].items()))
            rows.append([r.model.stem, ops, s.get("arena"), s.get("copies_arena"),
                         s.get("m4_Os"), s.get("copies_m4_Os"),
                         _ratio(s.get("m4_Os"), s.get("copies_m4_Os")), s.get("m4_O2"),
                         s.get("copies_m4_O2"), _ratio(s.get("m4_O2"), s.get("copies_m4_O2"))])
        _table(cols, rows)
    profiled = [r for r in results if r.summary.get("layers")]
    if profiled:
        print()
        print("Summary: per-layer profile (Cortex-M4, estimated cycles): share by op kind")
        cols = ["model", "instr", "est. cycles", "MACs", "cyc/MAC", "by kind (% of cycles)"]
        rows = []
        for r in profiled:
            prof = r.summary["layers"]
            share: dict[str, int] = {}
            for row in prof.rows:
                share[row.kind] = share.get(row.kind, 0) + row.count.cycles
            macs = sum(row.macs for row in prof.rows)
            kinds = " ".join(f"{k} {100 * v / prof.total.cycles:.1f}"
                             for k, v in sorted(share.items(), key=lambda kv: -kv[1])
                             if v * 1000 >= prof.total.cycles)
            rows.append([r.model.stem, prof.total.insns, prof.total.cycles, macs,
                         _ratio(prof.total.cycles, macs), kinds])
        _table(cols, rows)
    for path, reason in skipped:
        print(f"skipped {path.name}: {reason}")


def _table(cols: list[str], rows: list[list]) -> None:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    print(
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(cols, widths, strict=True))
        )
    )
    for row in cells:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def _ratio(a, b) -> str:
    return (
        f"{a / b:.3f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
    )


NOTES = """Notes:
- arena: tinyc's static arena (activations + scratch) vs TFLM's recording allocator on this
  x86-64 host: head = its activation plan, total = head + tail (interpreter bookkeeping with
  8-byte pointers; a 32-bit target needs less, see the M4 rows).
- host time: generated code built by tinyc.verify.build_host_model (g++ -O2, cffi ABI mode) vs
  the tflite-micro wheel's interpreter (reference kernels), both called from Python in this
  process, inputs written once before timing, interleaved batches, median. Each figure includes
  the Python call; the floor rows measure it (a trivial cffi function; TFLM invoke of a model
  with no operators, i.e. pybind11 call + interpreter bookkeeping) and the net row subtracts it.
- M4: ../shared/tools/m4bench instruction counts on QEMU (not cycles); TFLM figures are the
  published ones in ../shared/models/README.md (same emulator and counting), where present.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="*", type=Path, help=".tflite files")
    parser.add_argument(
        "--m4", action="store_true", help="also measure on an emulated Cortex-M4 with m4bench"
    )
    parser.add_argument(
        "--m4-opt", default="Os,O2", help="comma-separated m4bench --opt levels (default Os,O2)"
    )
    parser.add_argument(
        "--m4bench",
        type=Path,
        default=Path(os.environ.get("M4BENCH", DEFAULT_M4BENCH)),
        help=f"m4bench command (default {DEFAULT_M4BENCH})",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=10,
        help="random inputs checked against TFLM before timing (default 10)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=11,
        help="timed batches per function; the median is reported (default 11)",
    )
    parser.add_argument(
        "--min-batch",
        type=float,
        default=0.02,
        help="minimum seconds per timed batch (default 0.02)",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="also count host instructions of one invoke of each with callgrind",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="with --m4: per-layer profile on the emulated Cortex-M4 (bench/layers.py; "
        "M4BENCH_CLASSES=1 adds instructions by class)",
    )
    parser.add_argument("--layers-opt", default="Os", help="--opt of the per-layer profile")
    parser.add_argument(
        "--data-movement",
        action="store_true",
        help="count the TRANSPOSE/SPLIT/CONCATENATION/... ops tinyc removed or made aliases, and "
        "compare with the model compiled with every one a copy (bench/plain_copies.py)",
    )
    parser.add_argument(
        "--conv16x8",
        action="store_true",
        help="also bench a small 16x8 conv net converted by the TF converter (bench/models.py, "
        "cached)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.conv16x8:
        import models

        args.models.append(models.conv_net_16x8())
    args.m4_opt = [o.strip() for o in args.m4_opt.split(",") if o.strip()]
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    if not args.models:
        parser.error("no model given")

    results, skipped = [], []
    for path in args.models:
        try:
            if not path.is_file():
                raise Skip("no such file")
            result = bench_model(path, args)
        except Skip as exc:
            reason = str(exc)
        except Exception as exc:  # keep going: one broken model must not hide the others
            reason = f"bench failed: {type(exc).__name__}: {exc}"
        else:
            print_result(result)
            sys.stdout.flush()
            results.append(result)
            continue
        reason = " ".join(reason.split())  # one line
        print(f"skip {path.name}: {reason}\n", flush=True)
        skipped.append((path, reason))
    print_summary(results, skipped, args.m4)
    print()
    print(NOTES, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
