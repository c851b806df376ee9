"""Smoke test of bench/bench.py on hello_world_int8: the fields are printed and the arena figures
are the compiler's and TFLM's own. No timing assertions: the bench measures, it does not judge."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import M4_TOOLS, M4BENCH, REPO, needs_m4, shared_model

BENCH = REPO / "bench" / "bench.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("tinyc_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


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
        command += ["--m4", "--m4-opt", "Os"]
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
    import numpy as np

    bench = _load_bench()
    interpreter = bench.tflm_interpreter(bench.empty_tflite())
    interpreter.set_input(np.array([[7]], np.int8), 0)
    interpreter.invoke()
    assert interpreter.get_output(0).tobytes() == bytes([7])
