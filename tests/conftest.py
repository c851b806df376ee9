"""Shared test fixtures: real models from ../shared/models, oracle comparison helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_MODELS = REPO.parent / "shared" / "models"


def shared_model(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: tests expect ../shared/models beside the checkout")
    return path


def assert_bit_exact(model_path: Path, samples: int = 100, seed: int = 0):
    """Compile, build on the host, and require every output byte to equal TFLM's."""
    from tinyc.verify import verify_model

    report = verify_model(model_path, samples=samples, seed=seed, litert=False)
    assert report.bit_exact, "\n".join(report.lines())
    return report


@pytest.fixture(scope="session")
def sine_models() -> dict[str, Path]:
    """The hello-world sine model trained with TensorFlow, in the three forms users convert."""
    from tflite_builders import sine_model

    return {mode: sine_model(mode) for mode in ("int8", "int8_float_io", "float")}
