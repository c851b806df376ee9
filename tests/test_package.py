"""`pip install .` into a fresh virtual environment gives a working `tinyc` from any directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import REPO, shared_model


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv (no system site-packages) with tinyc installed from a wheel built from this
    checkout, its dependencies from the package index (pip's cache, where it has them).

    So the wheel's declared dependencies are checked, not what happens to be installed here; and
    tinyc itself must come from the wheel (checked below), templates and runtime included.
    """
    root = tmp_path_factory.mktemp("pkg")
    env = root / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env)
    wheels = root / "wheels"
    source = _tracked_copy(root / "src")  # no stale build/ or caches from the working tree
    _pip("wheel", "--no-deps", "-q", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("tinyc-*.whl")
    python = env / "bin" / "python"
    _pip("--python", str(python), "install", "-q", str(wheel))
    return env


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def _tracked_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def test_wheel_ships_templates_and_runtime(installed):
    import zipfile

    (wheel,) = (installed.parent / "wheels").glob("tinyc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tinyc/templates/model.cpp.jinja" in names
    assert "tinyc/runtime/fully_connected.h" in names
    assert "tinyc/ops/fully_connected.py" in names
    assert "tinyc/cmake/tinyc.cmake" in names and "tinyc/platformio/tinyc_prebuild.py" in names
    assert not any(n.startswith(("tests/", "compiler/")) for n in names)


def test_console_script_compiles_from_another_directory(installed, tmp_path):
    model = shared_model("hello_world_int8.tflite")
    result = subprocess.run([str(installed / "bin" / "tinyc"), "compile", str(model), "-o", "gen"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gen" / "hello_world_int8.cpp").exists()
    assert (tmp_path / "gen" / "tinyc_runtime" / "fully_connected.h").exists()


def test_python_dash_m_runs_the_installed_copy(installed, tmp_path):
    python = str(installed / "bin" / "python")
    where = subprocess.run([python, "-c", "import tinyc; print(tinyc.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert str(installed) in where, where  # not the checkout
    result = subprocess.run([python, "-m", "tinyc", "--version"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("tinyc ")
