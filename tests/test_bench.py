"""Smoke test of bench/bench.py on hello_world_int8: the fields are printed and the arena figures
are the compiler's and TFLM's own. No timing assertions: the bench measures, it does not judge."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import M4_TOOLS, M4BENCH, REPO, needs_m4, shared_model

BENCH = REPO / "bench" / "bench.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("tinyc_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _load_bench_module(name: str):
    """bench/NAME.py as a module (bench/ on sys.path, as bench.py puts it)."""
    if str(BENCH.parent) not in sys.path:
        sys.path.insert(0, str(BENCH.parent))
    return importlib.import_module(name)


def _m4_available() -> bool:
    return M4BENCH.exists() and all(shutil.which(t) for t in (*M4_TOOLS, "gcc"))


def _tflm_allocations(model) -> dict[str, int]:
    """TFLM's print_allocations, read from a separate process's stderr (not the bench's code)."""
    script = (
        "import sys, numpy as np\n"
        "from tflite_micro.python.tflite_micro import runtime as r\n"
        "i = r.Interpreter.from_file(sys.argv[1], arena_size=1 << 22)\n"
        "d = i.get_input_details(0)\n"
        "i.set_input(np.zeros(d['shape'], d['dtype']), 0)\n"
        "i.invoke()\n"
        "i.print_allocations()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(model)], capture_output=True, text=True, check=True
    )
    return {
        k: int(v)
        for k, v in re.findall(r"Arena allocation (total|head) (\d+) bytes", result.stderr)
    }


def _row(output: str, label: str) -> list[str]:
    """The cells after `label` on its row of the per-model table."""
    for line in output.splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label) :].split()
    pytest.fail(f"no row {label!r} in the bench output:\n{output}")


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.fixture(scope="module")
def hello_run():
    model = shared_model("hello_world_int8.tflite")
    command = [
        sys.executable,
        str(BENCH),
        str(model),
        "--samples",
        "3",
        "--repeats",
        "3",
        "--min-batch",
        "0.002",
    ]
    if _m4_available():
        command += ["--m4", "--m4-opt", "Os", "--layers"]
    env = dict(os.environ, M4BENCH_TIMEOUT="120")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    return model, result.stdout


def test_arena_figures_are_the_compilers_and_tflms(hello_run):
    from tinyc.pipeline import compile_model

    model, out = hello_run
    plan = compile_model(model).plan
    tflm = _tflm_allocations(model)
    head = _row(out, "arena, bytes: vs TFLM head (activation plan)")
    total = _row(out, "arena, bytes: vs TFLM total (x86-64 host)")
    bound = _row(out, "liveness bound, bytes")
    assert (_int(head[0]), _int(head[1])) == (plan.arena_bytes, tflm["head"])
    assert float(head[2]) == pytest.approx(plan.arena_bytes / tflm["head"], abs=1e-3)
    assert (_int(total[0]), _int(total[1])) == (plan.arena_bytes, tflm["total"])
    assert _int(bound[0]) == plan.liveness_bound
    summary = next(
        line.split() for line in out.splitlines() if line.startswith("hello_world_int8 ")
    )
    assert [_int(c) for c in summary[2:6]] == [
        plan.arena_bytes,
        tflm["head"],
        tflm["total"],
        plan.liveness_bound,
    ]


def test_prints_every_field(hello_run):
    _, out = hello_run
    assert "bit-exact with TFLM on 3/3 random inputs" in out
    sources = _row(out, "sources, bytes: model files + runtime headers")
    assert _int(sources[0]) > 0 and sources[1] == "+"
    text, data, bss = (_int(v) for v in _row(out, "host .o, g++ -O2: text/data/bss")[0].split("/"))
    assert text > 0 and bss >= 0 and data >= 0
    for label in (
        "host time/invoke (median, with the Python call)",
        "host call floor (trivial cffi call / TFLM 0-op model)",
        "host time/invoke minus call floor",
        "host time/invoke, inputs written each time",
    ):
        cells = _row(out, label)
        assert cells[1] in ("ns", "us", "ms") and cells[3] in ("ns", "us", "ms"), cells
    assert re.search(r"host time/invoke minus call floor .* ratio", out)  # a number, or n/a
    assert "Summary: arena" in out


@needs_m4
def test_m4_rows(hello_run):
    _, out = hello_run
    assert _row(out, "M4 -Os: output bytes vs TFLM Python, same input")[-1] == "equal"
    insns = _row(out, "M4 -Os: instr/invoke vs TFLM reference, all -Os")
    assert _int(insns[0]) > 0 and _int(insns[1]) == 7_731  # the README's published figure
    flash = _row(out, "M4 -Os: flash_model_code vs TFLM code + .tflite")
    assert _int(flash[1]) == 23_013 + 2_704
    assert "Summary: Cortex-M4" in out


def _layer_columns(out: str, *columns: str) -> tuple[list[list[str]], list[str]]:
    """Cells of the given right-aligned columns of the per-layer profile: for each row (the
    layers and the overhead row), and for the total row. A cell ends where its header ends."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  Per-layer profile"))
    header = lines[start + 1]
    spans = []
    for name in columns:
        label = header.index(f"  {name}") + 2
        spans.append((len(header[:label].rstrip()), label + len(name)))
    rows = []
    for line in lines[start + 2:]:
        cells = [line[b:e].strip() for b, e in spans]
        if line.strip().startswith("total"):
            return rows, cells
        rows.append(cells)
    pytest.fail(f"no total row in the per-layer profile:\n{out}")


@needs_m4
def test_layer_profile_adds_up_to_m4benchs_own_count(hello_run, tmp_path):
    """The per-layer rows: one per kernel call with the compiler's MACs, and instructions that
    add up to what m4bench itself counts for the unmodified generated code."""
    from tinyc.pipeline import compile_to_folder
    from tinyc.report import macs

    model, out = hello_run
    compiled = compile_to_folder(model, tmp_path / "gen", name="m")
    (tmp_path / "in.bin").write_bytes(bytes([0]))  # any input: int8 FC costs the same
    rows, total = _layer_columns(out, "op", "MACs", "instr", "est. cycles")
    calls = compiled.model.calls
    assert [r[0] for r in rows] == [str(c.op.index) for c in calls] + [""]  # + the overhead
    graph = compiled.model.graph
    assert [_int(r[1]) for r in rows[:-1]] == [
        macs(graph, c.op.kind, c.op.inputs, c.op.outputs) for c in calls]
    result = subprocess.run([str(M4BENCH), str(tmp_path / "gen"), "m", "--input",
                             str(tmp_path / "in.bin")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    whole = json.loads(result.stdout)
    instr = [_int(r[2]) for r in rows]  # layers and the overhead row
    cycles = [_int(r[3]) for r in rows]
    assert sum(instr) == whole["insns_per_invoke"][0] == _int(total[2])
    assert sum(cycles) == whole["cycles_est_per_invoke"][0] == _int(total[3])
    assert all(v > 0 for v in instr)


def test_layer_variants_stop_after_each_call():
    """bench/layers.py's variants of the generated source: the guard after the k-th call."""
    from tinyc.pipeline import compile_model

    layers = _load_bench_module("layers")
    compiled = compile_model(shared_model("hello_world_int8.tflite"))
    source = compiled.files[f"{compiled.name}.cpp"]
    statements = layers.call_statements(source, compiled.name)
    assert [f for _, _, f in statements] == [c.function for c in compiled.model.calls]
    for k in range(len(statements) + 1):
        text = layers.variant(source, compiled.name, k)
        body = text[text.index(f"int {compiled.name}_invoke(void)"):]
        before = body[: body.index(layers.GUARD)]
        assert before.count("tinyc_fully_connected_s8(") == k
        assert layers.GUARD_DECL in text and text.count(layers.GUARD) == 1


def test_every_copy_turns_views_into_copies_and_is_undone(tmp_path):
    """bench/plain_copies.py: inside the block a split along the outermost axis is a copy, not
    a view; after it tinyc compiles as before."""
    from tinyc.ops import Alias
    from tinyc.pipeline import compile_model
    from tinyc.read_tflite import read_model

    from flatbuffer_models import TensorSpec, single_op_tflite

    plain_copies = _load_bench_module("plain_copies")
    path = tmp_path / "split.tflite"
    path.write_bytes(single_op_tflite(
        "SPLIT", [TensorSpec((), np.int32, data=np.array(0, np.int32)),
                  TensorSpec((4, 16), np.int8, (0.1, 0)), TensorSpec((2, 16), np.int8, (0.1, 0)),
                  TensorSpec((2, 16), np.int8, (0.1, 0))],
        [1], [2, 3], "SplitOptions", numSplits=2))
    normal = compile_model(path)
    assert not normal.model.calls and any(isinstance(s, Alias) for s in normal.model.steps)
    assert plain_copies.movement_counts(read_model(path), normal) == {
        "SPLIT": {"model": 1, "removed": 0, "aliases": 1, "copies": 0}}
    with plain_copies.every_copy():
        copies = compile_model(path)
    assert [c.op.kind for c in copies.model.calls] == ["SPLIT"]
    assert plain_copies.movement_counts(read_model(path), copies)["SPLIT"]["copies"] == 1
    assert compile_model(path).files == normal.files


def test_tflm_variable_bytes():
    bench = _load_bench()
    log = ("[RecordingMicroAllocator] 'TfLiteTensor variable buffer data' used 240 bytes with "
           "alignment overhead (requested 240 bytes for 2 allocations)\n")
    assert bench.tflm_variable_bytes(log) == 240
    assert bench.tflm_variable_bytes("[RecordingMicroAllocator] Arena allocation head 8 bytes") == 0


def test_skips_a_model_it_cannot_compile(tmp_path):
    bad = tmp_path / "garbage.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    result = subprocess.run(
        [sys.executable, str(BENCH), str(bad)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    skip = [line for line in result.stdout.splitlines() if line.startswith("skip garbage")]
    assert len(skip) == 1 and "does not compile" in skip[0], result.stdout


def test_capture_fd2_and_parse_allocations():
    from tinyc.verify.tflm_memory import capture_fd2, parse_allocations

    text = capture_fd2(
        lambda: os.write(
            2, b"[R] Arena allocation total 1504 bytes\n[R] Arena allocation head 32 bytes\n"
        )
    )
    assert parse_allocations(text) == {"total": 1504, "head": 32}


def test_empty_model_runs_in_tflm():
    bench = _load_bench()
    interpreter = bench.tflm_interpreter(bench.empty_tflite())
    interpreter.set_input(np.array([[7]], np.int8), 0)
    interpreter.invoke()
    assert interpreter.get_output(0).tobytes() == bytes([7])
