"""Shared test fixtures: real models from ../shared/models, oracle comparison helpers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_MODELS = REPO.parent / "shared" / "models"


def shared_model(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: tests expect ../shared/models beside the checkout")
    return path


def assert_bit_exact(model_path: Path, samples: int = 100, seed: int = 0, scratch: str = "auto"):
    """Compile, build on the host, and require every output byte to equal TFLM's.

    `scratch` picks the kernel variants: "always" the scratch-using ones, "never" their fallbacks.
    """
    from tinyc.verify import verify_model

    report = verify_model(model_path, samples=samples, seed=seed, litert=False, scratch=scratch)
    assert report.bit_exact, "\n".join(report.lines())
    return report


M4BENCH = SHARED_MODELS.parent / "tools" / "m4bench" / "m4bench"
M4_TOOLS = ("arm-none-eabi-gcc", "qemu-system-arm")
needs_m4 = pytest.mark.skipif(
    not (M4BENCH.exists() and all(shutil.which(tool) for tool in M4_TOOLS)),
    reason="m4bench, arm-none-eabi-gcc or qemu-system-arm missing",
)


def assert_bit_exact_on_m4(model_path: Path, tmp_path: Path, opt: str = "Os",
                           scratch: str = "auto") -> None:
    """Compile for an emulated Cortex-M4 (m4bench: the Arm DSP paths the host never runs) and
    require its output bytes to equal TFLM's for one random input."""
    from tinyc import compile_to_folder
    from tinyc.read_tflite import read_model
    from tinyc.verify.compare import tflm_runner

    compile_to_folder(model_path, tmp_path / "gen", name="model", scratch=scratch)
    from tinyc.ir import DTYPES

    graph = read_model(model_path)
    x = graph.tensor(graph.inputs[0])
    dtype = DTYPES[x.dtype][0]
    if np.issubdtype(dtype, np.floating):
        sample = np.random.default_rng(9).uniform(-4, 4, x.shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        sample = np.random.default_rng(9).integers(info.min, info.max, x.shape, endpoint=True,
                                                   dtype=dtype)
    (tmp_path / "input.bin").write_bytes(sample.tobytes())
    result = subprocess.run([str(M4BENCH), str(tmp_path / "gen"), "model", "--opt", opt,
                             "--input", str(tmp_path / "input.bin")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (out,) = tflm_runner(model_path, 1)([sample])
    assert json.loads(result.stdout)["output_hex"][0][0] == np.asarray(out).tobytes().hex()


@pytest.fixture(scope="session")
def sine_models() -> dict[str, Path]:
    """The hello-world sine model trained with TensorFlow, in the three forms users convert."""
    from tflite_builders import sine_model

    return {mode: sine_model(mode) for mode in ("int8", "int8_float_io", "float")}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a test skipped for a missing tool fails: .ci/run installs every tool, so
    such a skip would hide a broken install step rather than a missing optional dependency."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and call.excinfo is not None:
        reason = str(call.excinfo.value)
        if any(word in reason for word in ("install", "missing", "not found")):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI for a missing tool: {reason}"


# --- the command line as a user meets it ---


def run_tinyc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyc", *args], capture_output=True, text=True, cwd=cwd
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tinyc: error: "), lines[0]
    assert len(lines[0]) <= 240, f"{len(lines[0])} characters: {lines[0]}"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def existing_output(tmp_path: Path) -> Path:
    """An output folder from an earlier build that a failed compile must leave alone."""
    out = tmp_path / "gen"
    out.mkdir()
    (out / "keep.txt").write_text("earlier build")
    return out


def assert_untouched(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "earlier build"
    # no staging folders left beside it
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []
