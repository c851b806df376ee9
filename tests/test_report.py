"""`tinyc report`: per-layer costs, flash and RAM totals, the arena over time, the fits check.

The numbers are held against the compiler's own memory plan (offsets, arena, liveness bound),
against the Cortex-M4 object the generated code compiles to, and against the arena TFLM
reports for the same model. Every model in ../shared/models goes through the command line,
writing the table, an HTML page and a PNG.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import struct
from functools import cache
from pathlib import Path

import pytest

from conftest import SHARED_MODELS, assert_one_line_error, run_tinyc, shared_model
from test_plan_memory import assert_no_live_overlap

MODELS = sorted(p.name for p in SHARED_MODELS.glob("*.tflite"))
KWS = shared_model("kws_ref_model.tflite")
VWW = shared_model("vww_96_int8.tflite")


@cache
def compiled(model: str):
    from tinyc.pipeline import compile_model

    return compile_model(SHARED_MODELS / model)


@cache
def estimated(model: str):
    from tinyc.report import report_model

    return report_model(SHARED_MODELS / model, compiled=compiled(model), code_size="estimate")


@pytest.mark.parametrize("model", MODELS)
def test_arena_timeline_matches_the_plan(model):
    """Every buffer at the planner's offset, no two live at once overlapping except where a
    kernel runs in place, the sum of live activations peaking at the planner's liveness bound,
    everything inside the arena."""
    report, plan = estimated(model), compiled(model).plan
    steps = len(compiled(model).model.steps)
    assert len(report.layers) == len(report.live) == steps
    for span in report.spans:
        assert span.offset + span.size <= plan.arena_bytes
        assert span.offset % plan.alignment == 0
        for t in span.tensors:
            assert plan.offsets[t] == span.offset
        if span.kind == "scratch":
            assert plan.scratch_offsets[span.first] == span.offset
    assert {t for s in report.spans for t in s.tensors} == set(plan.offsets)
    assert_no_live_overlap(compiled(model))
    activations = [sum(s.size for s in report.spans
                       if s.kind == "tensor" and s.first <= i <= s.last) for i in range(steps)]
    assert max(activations) == plan.liveness_bound == report.liveness_bound
    assert max(report.live) <= plan.arena_bytes == report.arena_bytes
    assert [layer.live_bytes for layer in report.layers] == report.live
    assert report.state_bytes == plan.state_bytes


@pytest.mark.parametrize("model", MODELS)
def test_arena_against_tflm(model):
    """tinyc's arena is no larger than TFLM's activation plan (its head), and no plan of
    either can go below the in-place bound (the liveness bound with the overlaps the kernels
    allow)."""
    pytest.importorskip("tflite_micro")
    from tinyc.verify.tflm_memory import tflm_arena

    report = estimated(model)
    tflm = tflm_arena(SHARED_MODELS / model)
    assert report.in_place_bound <= report.arena_bytes <= tflm["head"]
    assert report.in_place_bound <= report.liveness_bound
    assert report.ram_bytes < tflm["total"] + report.code.stack_bytes


def test_layer_figures_for_kws():
    report = estimated("kws_ref_model.tflite")
    pointwise = [layer for layer in report.layers if layer.kind == "CONV_2D" and layer.step > 0]
    # a 1x1 convolution 64 -> 64 channels over 25x5 pixels: 25 * 5 * 64 * 64 multiply-adds
    assert pointwise and all(layer.macs == 25 * 5 * 64 * 64 for layer in pointwise)
    first = report.layers[0]  # 10x4 filter, 1 -> 64 channels, stride 2: output 25x5x64
    assert (first.kind, first.macs) == ("CONV_2D", 25 * 5 * 64 * 10 * 4)
    assert first.inputs[0].shape == (1, 49, 10, 1) and first.outputs[0].shape == (1, 25, 5, 64)
    assert all(layer.macs == 0 for layer in report.layers if layer.kind == "SOFTMAX")
    aliases = [layer for layer in report.layers if not layer.code]
    assert aliases and all(a.inputs[0].offset == a.outputs[0].offset for a in aliases)
    assert report.macs == sum(layer.macs for layer in report.layers)


@pytest.mark.parametrize("model", ["hello_world_int8.tflite", "kws_ref_model.tflite",
                                   "vww_96_int8.tflite"])
def test_measured_code_size_and_stack(model):
    """Compiled for Cortex-M4 (-Os): the constant arrays are the bytes the report counted (less
    the few that gcc folds into an inlined kernel's code: a small FULLY_CONNECTED layer's bias,
    multiplier and shift arrays), the rest is code; the stack is a call path's frames; the
    estimate used without the cross compiler stays near the measurement."""
    if not shutil.which("arm-none-eabi-g++"):
        pytest.skip("arm-none-eabi-g++ not installed (CI installs it)")
    from tinyc.report import estimate_code_size, report_model

    report = report_model(SHARED_MODELS / model, compiled=compiled(model), code_size="measure")
    assert report.code.measured and "arm-none-eabi-g++" in report.code.method
    folded = report.const_bytes - report.code.constants_measured
    layers = sum(1 for layer in report.layers if layer.kind == "FULLY_CONNECTED")
    assert 0 <= folded <= 16 * layers, (report.code.constants_measured, report.const_bytes)
    assert 500 < report.code.code_bytes < 64 * 1024
    assert 64 <= report.code.stack_bytes <= 4096
    assert report.flash_bytes == report.const_bytes + report.code.code_bytes
    guess = estimate_code_size(compiled(model)).code_bytes
    assert 0.7 < guess / report.code.code_bytes < 1.3


# --- the command line on every model ---


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "</html>" in page
    assert not re.search(r"<(script|link|img|iframe|object)\b", page, re.I)
    assert not re.search(r"(src|href)\s*=", page, re.I)
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # an XML namespace, never fetched


@pytest.mark.parametrize("model", MODELS)
def test_report_command_writes_table_html_and_png(model, tmp_path):
    pytest.importorskip("matplotlib")
    html, png = tmp_path / "report.html", tmp_path / "arena.png"
    result = run_tinyc("report", str(SHARED_MODELS / model), "--html", str(html),
                       "--png", str(png))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert re.search(r"^step\s+op\s+kind\s+inputs -> outputs\s+MACs", out, re.M)
    assert re.search(r"^flash\s+[\d,]+ B = weights and constants [\d,]+ B \+ code [\d,]+ B", out,
                     re.M)
    assert re.search(r"^RAM\s+[\d,]+ B = arena [\d,]+ B \+ state [\d,]+ B \+ stack", out, re.M)
    assert re.search(r"^esp32\s", out, re.M) and re.search(r"^samd21\s", out, re.M)
    width, height = png_size(png)
    assert width > 600 and height > 400
    page = html.read_text(encoding="utf-8")
    assert_self_contained(page)
    report = estimated(model)
    assert f"{report.arena_bytes:,} B" in page
    assert page.count("<rect") >= len(report.spans)


@pytest.mark.parametrize("model", MODELS)
def test_report_json(model):
    from tinyc.report import report_model

    data = report_model(SHARED_MODELS / model, compiled=compiled(model),
                        code_size="estimate").to_json()
    data = json.loads(json.dumps(data))  # serializable as it is
    totals = data["totals"]
    assert totals["flash_bytes"] == totals["const_bytes"] + totals["code_bytes"]
    assert totals["ram_bytes"] == (totals["arena_bytes"] + totals["state_bytes"]
                                   + totals["stack_bytes"])
    assert totals["arena_bytes"] == compiled(model).plan.arena_bytes
    assert len(data["layers"]) == len(data["arena_timeline"]["live"])
    assert {t["target"] for t in data["targets"]} >= {"esp32", "esp32-s3", "esp32-c3", "esp8266",
                                                       "nrf52840", "stm32f411", "rp2040"}


def test_json_on_the_command_line_and_the_fits_check_passing():
    result = run_tinyc("report", str(KWS), "--target", "ESP32", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["fit"]["target"] == "esp32" and data["fit"]["fits"] is True
    assert data["fit"]["ram_needed"] == data["totals"]["ram_bytes"]
    text = run_tinyc("report", str(KWS), "--target", "esp32")
    assert text.returncode == 0
    assert re.search(r"^fits esp32: RAM [\d,]+ of 163,840 B", text.stdout, re.M)


def test_fits_check_fails_with_one_line_on_a_32k_part():
    result = run_tinyc("report", str(VWW), "--target", "samd21", "--json")
    assert result.returncode == 4
    line = assert_one_line_error(result, "vww_96_int8 does not fit samd21", "RAM needs")
    data = json.loads(result.stdout)
    over = data["totals"]["ram_bytes"] - 32 * 1024
    assert over > 0 and f"({over:,} B over)" in line
    assert data["fit"]["fits"] is False and data["fit"]["ram_over"] == over
    budget = run_tinyc("report", str(VWW), "--ram", "32K")
    assert budget.returncode == 4
    assert_one_line_error(budget, "does not fit the budget",
                          f"of 32,768 B usable ({over:,} B over)")
    assert "DOES NOT FIT" in budget.stdout


def test_fits_check_names_flash_too():
    result = run_tinyc("report", str(VWW), "--ram", "1M", "--flash", "64K")
    assert result.returncode == 4
    line = assert_one_line_error(result, "flash needs")
    assert "RAM needs" not in line


def test_const_data_counts_as_ram_on_the_esp8266():
    report = estimated("kws_ref_model.tflite")
    from tinyc.targets import find_target

    fit = report.check(find_target("esp8266"))
    assert fit.ram_needed == report.ram_bytes + report.const_bytes
    assert report.check(find_target("esp32")).ram_needed == report.ram_bytes


def test_bad_usage_and_bad_input():
    result = run_tinyc("report", str(KWS), "--target", "pdp11")
    assert result.returncode == 2 and "unknown target 'pdp11'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    missing = run_tinyc("report", "nope.tflite")
    assert_one_line_error(missing, "nope.tflite")


# --- the Python API and verify's progress ---


def test_python_api():
    import tinyc

    for name in ("compile_model", "compile_to_folder", "verify_model", "report_model"):
        function = getattr(tinyc, name)
        assert callable(function) and function.__doc__, name
        assert name in tinyc.__all__ and name in dir(tinyc)
        signature = inspect.signature(function)
        assert signature.return_annotation is not inspect.Signature.empty, name
    report = tinyc.report_model(KWS, code_size="estimate")
    assert isinstance(report, tinyc.ModelReport)
    assert report.check(tinyc.find_target("esp32")).fits


def test_verify_shows_progress_on_stderr_only(tmp_path):
    pytest.importorskip("tflite_micro")
    model = str(shared_model("hello_world_int8.tflite"))
    plain = run_tinyc("verify", model, "--samples", "30", "--no-litert")
    env = {**os.environ, "TINYC_PROGRESS_DELAY": "0.01"}
    import subprocess
    import sys

    slow = subprocess.run([sys.executable, "-m", "tinyc", "verify", model, "--samples", "30",
                           "--no-litert"], capture_output=True, text=True, env=env)
    assert plain.returncode == slow.returncode == 0
    assert slow.stdout == plain.stdout  # the report itself is untouched
    lines = slow.stderr.strip().splitlines()
    assert lines and all(re.fullmatch(r"tinyc verify: .*: running, (\d+/30 samples, )?\d+ s", ln)
                         for ln in lines), slow.stderr
