"""tinyc in the firmware build: tinyc.cmake's tinyc_add_model() in a real CMake project, and the
PlatformIO pre-build script against a stand-in for PlatformIO's construction environment.

The CMake project is built with Ninja (Unix Makefiles where Ninja is missing): a first build
generates and builds, an unchanged rebuild runs nothing, touching the .tflite or changing the
options or tinyc's version regenerates, and a model tinyc refuses fails the build with tinyc's
one-line message.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_tinyc, shared_model

HELLO = shared_model("hello_world_int8.tflite")
KWS = shared_model("kws_ref_model.tflite")
TINYC = [sys.executable, "-m", "tinyc"]

PROJECT = """\
cmake_minimum_required(VERSION 3.14)
project(app C CXX)
include("${TINYC_CMAKE_DIR}/tinyc.cmake")
add_executable(app main.c)
tinyc_add_model(app "${CMAKE_CURRENT_SOURCE_DIR}/model.tflite" NAME model OPTIONS ${MODEL_OPTIONS})
"""

MAIN = """\
#include "model.h"
int main(void) {
  model_input0_data()[0] = model_input0_quantize(1.0f);
  return model_invoke();
}
"""


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (CI installs it)")
    return path


def cmake_dir() -> str:
    result = run_tinyc("--cmake-dir")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class Project:
    """A CMake project using tinyc_add_model, configured and built in `root/build`."""

    def __init__(self, root: Path, model: Path, tinyc: list[str] | None = None):
        self.cmake = tool("cmake")
        tool("g++")
        self.ninja = shutil.which("ninja") is not None
        self.source, self.build_dir = root / "src", root / "build"
        self.source.mkdir(parents=True)
        (self.source / "CMakeLists.txt").write_text(PROJECT)
        (self.source / "main.c").write_text(MAIN)
        shutil.copyfile(model, self.model)
        self.tinyc = tinyc or TINYC

    @property
    def model(self) -> Path:
        return self.source / "model.tflite"

    @property
    def generated(self) -> Path:
        return self.build_dir / "tinyc-generated" / "model" / "model.cpp"

    def configure(self, options: str = "") -> subprocess.CompletedProcess:
        return self._run([self.cmake, "-S", str(self.source), "-B", str(self.build_dir), "-G",
                          "Ninja" if self.ninja else "Unix Makefiles",
                          f"-DTINYC_CMAKE_DIR={cmake_dir()}",
                          f"-DTINYC_EXECUTABLE={';'.join(self.tinyc)}",
                          f"-DMODEL_OPTIONS={options}"])

    def build(self) -> subprocess.CompletedProcess:
        return self._run([self.cmake, "--build", str(self.build_dir)])

    @staticmethod
    def _run(command: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def touch(path: Path, newer_than: Path) -> None:
    """Touch `path` (now), making sure it ends up newer than `newer_than` even on a file system
    with a coarse clock."""
    while True:
        os.utime(path, None)
        if path.stat().st_mtime_ns > newer_than.stat().st_mtime_ns:
            return
        time.sleep(0.05)


def test_tinyc_add_model_generates_builds_and_rebuilds_only_when_needed(tmp_path):
    project = Project(tmp_path, HELLO)
    ok(project.configure())
    first = ok(project.build())
    assert "tinyc: compiling" in first
    assert project.generated.is_file()
    ok(subprocess.run([str(project.build_dir / "app")], capture_output=True))

    stamp = project.generated.stat().st_mtime_ns
    again = ok(project.build())
    assert "tinyc: compiling" not in again
    if project.ninja:
        assert "no work to do" in again
    assert project.generated.stat().st_mtime_ns == stamp

    touch(project.model, project.generated)  # the model changed: regenerate, rebuild
    touched = ok(project.build())
    assert "tinyc: compiling" in touched
    assert project.generated.stat().st_mtime_ns != stamp
    assert "tinyc: compiling" not in ok(project.build())

    ok(project.configure("--scratch;never"))  # the options changed
    assert "tinyc: compiling" in ok(project.build())
    ok(project.configure("--scratch;never"))  # configured again, nothing changed
    assert "tinyc: compiling" not in ok(project.build())


def test_tinyc_add_model_regenerates_for_another_tinyc_version(tmp_path):
    """The version `tinyc --version` reports is part of what the output depends on; and tinyc's
    package (whose __init__.py an upgrade rewrites) is a dependency of the generated files."""
    version_file = tmp_path / "version.txt"
    version_file.write_text("tinyc 0.1.0")
    wrapper = tmp_path / "fake-tinyc"
    wrapper.write_text(f"""#!{sys.executable}
import sys
if sys.argv[1:] == ["--version"]:
    print(open({str(version_file)!r}).read())
    raise SystemExit(0)
from tinyc.cli import main
raise SystemExit(main(sys.argv[1:]))
""")
    wrapper.chmod(0o755)
    project = Project(tmp_path / "p", HELLO, tinyc=[str(wrapper)])
    ok(project.configure())
    assert "tinyc: compiling" in ok(project.build())
    version_file.write_text("tinyc 0.2.0")
    ok(project.configure())
    assert "tinyc: compiling" in ok(project.build())
    assert "tinyc: compiling" not in ok(project.build())
    if project.ninja:
        package_init = (Path(cmake_dir()).parent / "__init__.py").resolve()
        assert str(package_init) in (project.build_dir / "build.ninja").read_text()


def test_tinyc_add_model_bad_model_fails_the_build_with_one_line(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(HELLO.read_bytes()[:700])  # truncated
    project = Project(tmp_path / "p", bad)
    ok(project.configure())  # the model is read at build time, not at configure time
    result = project.build()
    assert result.returncode != 0
    lines = [ln for ln in (result.stdout + result.stderr).splitlines()
             if ln.startswith("tinyc: error:")]
    assert len(lines) == 1, result.stdout + result.stderr
    assert "corrupt or truncated" in lines[0] and len(lines[0]) <= 240
    assert "Traceback" not in result.stdout + result.stderr
    assert not project.generated.exists()


def test_tinyc_add_model_is_harmless_in_esp_idf_early_expansion(tmp_path):
    """ESP-IDF includes components' CMakeLists.txt in script mode first; tinyc.cmake can be
    included there and tinyc_add_model does nothing."""
    cmake = tool("cmake")
    script = tmp_path / "early.cmake"
    script.write_text(f'set(CMAKE_BUILD_EARLY_EXPANSION 1)\ninclude("{cmake_dir()}/tinyc.cmake")\n'
                      'tinyc_add_model(__idf_main model.tflite NAME model)\n'
                      'file(WRITE "${OUT}" "ok")\n')
    result = subprocess.run([cmake, f"-DOUT={tmp_path / 'out'}", "-P", str(script)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_text() == "ok"


def test_find_package_config(tmp_path):
    """tinycConfig.cmake beside tinyc.cmake: find_package(tinyc CONFIG) with tinyc_DIR."""
    cmake = tool("cmake")
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.14)\nproject(p NONE)\nfind_package(tinyc CONFIG "
        "REQUIRED)\nif(NOT COMMAND tinyc_add_model)\n  message(FATAL_ERROR missing)\nendif()\n")
    ok(subprocess.run([cmake, "-S", str(tmp_path), "-B", str(tmp_path / "b"),
                       f"-Dtinyc_DIR={cmake_dir()}"], capture_output=True, text=True))


# --- PlatformIO: the pre-build script, against a stand-in construction environment ---


class FakePlatformIOEnv:
    """What the script uses of PlatformIO's SCons environment, recorded."""

    def __init__(self, project_dir: Path, options: dict[str, str],
                 build_dir: Path | None = None):
        self.project_dir = project_dir
        self.build_dir = build_dir or project_dir / ".pio" / "build" / "env"
        self.options = options
        self.appended: dict[str, list[str]] = {}
        self.sources: list[tuple[str, str]] = []

    def subst(self, text: str) -> str:
        return text.replace("$PROJECT_DIR", str(self.project_dir)).replace(
            "$BUILD_DIR", str(self.build_dir))

    def GetProjectOption(self, name: str, default=None):  # noqa: N802 (PlatformIO's name)
        return self.options.get(name, default)

    def Append(self, **values):  # noqa: N802
        for key, items in values.items():
            self.appended.setdefault(key, []).extend(items)

    def BuildSources(self, variant_dir: str, src_dir: str, src_filter=None):  # noqa: N802
        self.sources.append((self.subst(variant_dir), src_dir))

    def Exit(self, code: int = 0):  # noqa: N802
        raise SystemExit(code)

    def SConscript(self, path: str, exports=None):  # noqa: N802
        run_platformio_script(Path(path), self)


def run_platformio_script(script: Path, env: FakePlatformIOEnv) -> None:
    """Run `script` as PlatformIO runs an extra script: Import("env") gives the environment."""

    def Import(name: str) -> None:  # noqa: N802 (SCons's name)
        sys._getframe(1).f_globals[name] = env

    runpy.run_path(str(script), init_globals={"Import": Import}, run_name="SCons")


def prebuild_script() -> Path:
    result = run_tinyc("--platformio-script")
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def test_platformio_prebuild_compiles_then_keeps(tmp_path, capsys):
    shutil.copyfile(HELLO, tmp_path / "model.tflite")
    options = {"custom_tinyc_models": "\nmodel.tflite  ; comment\n",
               "custom_tinyc": " ".join(TINYC)}
    env = FakePlatformIOEnv(tmp_path, options)
    run_platformio_script(prebuild_script(), env)
    out = env.build_dir / "tinyc-generated" / "model"
    assert env.appended["CPPPATH"] == [str(out)]
    assert env.sources == [(str(env.build_dir / "tinyc_build" / "model"), str(out))]
    fresh = tmp_path / "fresh"
    assert run_tinyc("compile", str(HELLO), "-o", str(fresh), "--name", "model").returncode == 0
    assert sorted(p.name for p in out.rglob("*")) == sorted(p.name for p in fresh.rglob("*"))
    assert (out / "model.cpp").read_bytes() == (fresh / "model.cpp").read_bytes()
    assert "tinyc: compiled model" in capsys.readouterr().out

    stamp = (out / "model.cpp").stat().st_mtime_ns
    run_platformio_script(prebuild_script(), FakePlatformIOEnv(tmp_path, options))
    assert "up to date" in capsys.readouterr().out
    assert (out / "model.cpp").stat().st_mtime_ns == stamp

    run_platformio_script(prebuild_script(), FakePlatformIOEnv(
        tmp_path, {**options, "custom_tinyc_options": "--scratch never"}))
    assert "tinyc: compiled model" in capsys.readouterr().out

    shutil.copyfile(KWS, tmp_path / "model.tflite")  # new bytes, same path
    run_platformio_script(prebuild_script(), FakePlatformIOEnv(tmp_path, options))
    assert "tinyc: compiled model" in capsys.readouterr().out
    assert "kws" in (out / "model.cpp").read_text() or "CONV_2D" in (out / "model.cpp").read_text()


def test_platformio_prebuild_bad_model_stops_the_build(tmp_path, capsys):
    (tmp_path / "bad.tflite").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    env = FakePlatformIOEnv(tmp_path, {"custom_tinyc_models": "bad.tflite",
                                       "custom_tinyc": " ".join(TINYC)})
    with pytest.raises(SystemExit) as stop:
        run_platformio_script(prebuild_script(), env)
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinyc: error:") and "not a .tflite" in err[0]


def test_platformio_prebuild_without_tinyc(tmp_path, capsys):
    shutil.copyfile(HELLO, tmp_path / "model.tflite")
    env = FakePlatformIOEnv(tmp_path, {"custom_tinyc_models": "model.tflite",
                                       "custom_tinyc": str(tmp_path / "no-such-tinyc")})
    with pytest.raises(SystemExit):
        run_platformio_script(prebuild_script(), env)
    assert "not found" in capsys.readouterr().err
