"""Shared test fixtures: real models from ../shared/models, oracle comparison helpers."""

from __future__ import annotations

import os
from pathlib import Path

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
