"""`tinyc compile --library`: one folder that is an ESP-IDF component, a CMake library, an Arduino
library and a PlatformIO library.

Real CMake builds it on the host (add_subdirectory into a project whose C harness must give
TFLM's outputs bit for bit) and for Cortex-M4 (arm-none-eabi-gcc through the toolchain file
tinyc ships). ESP-IDF, the Arduino cores and PlatformIO cannot be installed here (no network
beyond the package registries), so their files are checked against the documented formats and
built through stand-ins that do what those tools do with them: ESP-IDF's two CMake passes over a
component (the early requirements pass in script mode, then the real one), Arduino's include
path and recursive src/ compilation, PlatformIO's srcDir/includeDir.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_one_line_error, assert_untouched, run_tinyc, shared_model

HELLO = shared_model("hello_world_int8.tflite")
KWS = shared_model("kws_ref_model.tflite")
LIBRARY_FILES = {"CMakeLists.txt", "idf_component.yml", "library.properties", "library.json",
                 "README.md"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (CI installs it)")
    return path


def run_checked(command: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    shown = " ".join(map(str, command))
    assert result.returncode == 0, f"{shown}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def hello_library(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lib") / "hello_world_int8"
    result = run_tinyc("compile", str(HELLO), "-o", str(out), "--library")
    assert result.returncode == 0, result.stderr
    return out


# --- the layout ---


def test_library_holds_the_plain_folder_under_src(hello_library, tmp_path):
    plain = tmp_path / "plain"
    assert run_tinyc("compile", str(HELLO), "-o", str(plain)).returncode == 0
    library = folder_bytes(hello_library)
    assert set(library) - {f"src/{p}" for p in folder_bytes(plain)} == LIBRARY_FILES
    for path, data in folder_bytes(plain).items():
        assert library[f"src/{path}"] == data


def test_library_is_deterministic_and_replaced_atomically(hello_library, tmp_path,
                                                         existing_output):
    again = tmp_path / "again" / "hello_world_int8"
    assert run_tinyc("compile", str(HELLO), "-o", str(again), "--library").returncode == 0
    assert folder_bytes(again) == folder_bytes(hello_library)
    # a model tinyc refuses leaves an existing folder as it was (write_files.write_folder)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    result = run_tinyc("compile", str(bad), "-o", str(existing_output), "--library")
    assert_one_line_error(result, "bad.tflite")
    assert_untouched(existing_output)


def test_compile_summary_names_flash(tmp_path):
    result = run_tinyc("compile", str(HELLO), "-o", str(tmp_path / "g"))
    assert result.returncode == 0
    (line,) = result.stdout.splitlines()
    assert re.fullmatch(r".*: hello_world_int8 \(3 kernel calls, arena 32 bytes, flash ~[\d,]+ "
                        r"bytes: 435 of weights and constants, ~[\d,]+ of code\)", line), line


# --- the documented formats ---


def parse_properties(text: str) -> dict[str, str]:
    """Arduino's library.properties: UTF-8 key=value lines."""
    fields = {}
    for line in text.splitlines():
        if line.strip():
            key, sep, value = line.partition("=")
            assert sep, f"not key=value: {line!r}"
            fields[key] = value
    return fields


def test_arduino_library_properties(hello_library):
    """Every field arduino-lint's strict schema requires, in the form the library specification
    (1.5 format, rev. 2.2) gives: name characters, semver version, category from its list."""
    props = parse_properties((hello_library / "library.properties").read_text(encoding="utf-8"))
    for key in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category",
                "url", "architectures"):
        assert props.get(key), f"library.properties lacks {key}"
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,62}", props["name"])
    assert not props["name"].startswith("Arduino")
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["version"])
    assert props["category"] in ("Display", "Communication", "Signal Input/Output", "Sensors",
                                 "Device Control", "Timing", "Data Storage", "Data Processing",
                                 "Other")
    assert re.fullmatch(r"[a-z][a-z0-9+.-]*:.+", props["url"]), "url must be a URI"
    assert props["architectures"] == "*"
    assert (hello_library / "src" / props["includes"]).is_file()


def test_platformio_library_json(hello_library):
    manifest = json.loads((hello_library / "library.json").read_text())
    assert manifest["name"] == "hello_world_int8"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["frameworks"] == "*" and manifest["platforms"] == "*"
    build = manifest["build"]
    assert (hello_library / build["srcDir"] / "hello_world_int8.cpp").is_file()
    assert (hello_library / build["includeDir"] / manifest["headers"]).is_file()


def test_idf_component_manifest(hello_library):
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((hello_library / "idf_component.yml").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["description"]
    assert manifest["dependencies"]["idf"].startswith(">=")
    assert set(manifest) <= {"version", "description", "dependencies", "url", "license",
                             "targets", "tags", "maintainers", "files"}


def test_arduino_builds_it_as_a_library(hello_library, tmp_path):
    """What the Arduino builder does with a 1.5-format library: src/ on the include path,
    every source under src/ compiled (recursively), linked with the sketch."""
    cxx = tool("g++")
    sketch = tmp_path / "sketch.cpp"
    sketch.write_text("#include <hello_world_int8.h>\n"
                      "int main() {\n"
                      "  *hello_world_int8_input0_data() =\n"
                      "      hello_world_int8_input0_quantize(1.0f);\n"
                      "  return hello_world_int8_invoke();\n}\n")
    sources = sorted(str(p) for p in (hello_library / "src").rglob("*.cpp"))
    run_checked([cxx, "-std=gnu++11", "-Wall", "-Wextra", "-Werror", "-I",
                 str(hello_library / "src"), str(sketch), *sources, "-o", str(tmp_path / "a")])
    run_checked([str(tmp_path / "a")])


# --- ESP-IDF: the component's two CMake passes, through stand-ins ---

EARLY_EXPANSION = """\
# As ESP-IDF's tools/cmake/scripts/component_get_requirements.cmake: a macro that records the
# requirements and returns from the component's CMakeLists.txt, run in script mode.
macro(idf_component_register)
  cmake_parse_arguments(_ "" "" "SRCS;INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
  set(__component_registered 1)
  return()
endmacro()
set(CMAKE_BUILD_EARLY_EXPANSION 1)
function(get_requirements)
  include(${COMPONENT_DIR}/CMakeLists.txt)
  file(WRITE ${OUT} "registered=${__component_registered}")
endfunction()
get_requirements()
"""

IDF_PROJECT = """\
cmake_minimum_required(VERSION 3.16)
project(idf_standin C CXX)
# As ESP-IDF's idf_component_register: SRCS and INCLUDE_DIRS relative to the component folder,
# which must exist, a static library per component named after its folder.
function(idf_component_register)
  cmake_parse_arguments(_ "" "" "SRCS;INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
  get_filename_component(component "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
  foreach(path ${__SRCS} ${__INCLUDE_DIRS})
    if(NOT EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/${path}")
      message(FATAL_ERROR "${component}: ${path} does not exist")
    endif()
  endforeach()
  add_library(__idf_${component} STATIC ${__SRCS})
  target_include_directories(__idf_${component} PUBLIC ${__INCLUDE_DIRS})
  set(COMPONENT_LIB __idf_${component} PARENT_SCOPE)
endfunction()
set(ESP_PLATFORM 1)
add_subdirectory("@COMPONENT@" component)
unset(ESP_PLATFORM)
add_executable(app app.c)
target_link_libraries(app PRIVATE __idf_hello_world_int8)
"""


@pytest.mark.parametrize("esp_platform", [True, False], ids=["idf5", "idf-without-ESP_PLATFORM"])
def test_esp_idf_early_expansion_pass(hello_library, tmp_path, esp_platform):
    """ESP-IDF first includes every component's CMakeLists.txt in script mode, where
    add_library() is an error: the component must reach idf_component_register() there (with
    ESP_PLATFORM passed, as ESP-IDF 5 does, or with only CMAKE_BUILD_EARLY_EXPANSION set)."""
    cmake = tool("cmake")
    (tmp_path / "early.cmake").write_text(EARLY_EXPANSION)
    out = tmp_path / "requirements.txt"
    define = ["-DESP_PLATFORM=1"] if esp_platform else []
    run_checked([cmake, *define, f"-DCOMPONENT_DIR={hello_library}", f"-DOUT={out}", "-P",
                 str(tmp_path / "early.cmake")])
    assert out.read_text() == "registered=1"


def test_esp_idf_component_pass_builds(hello_library, tmp_path):
    cmake = tool("cmake")
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(IDF_PROJECT.replace("@COMPONENT@",
                                                                hello_library.as_posix()))
    (project / "app.c").write_text('#include "hello_world_int8.h"\n'
                                   "int main(void) { return hello_world_int8_invoke(); }\n")
    build = tmp_path / "build"
    run_checked([cmake, "-S", str(project), "-B", str(build), "-G", _generator()])
    run_checked([cmake, "--build", str(build)])
    run_checked([str(build / "app")])


# --- plain CMake: add_subdirectory on the host, bit-exact with TFLM ---

HARNESS = """\
#include <stdio.h>
#include <string.h>
#include "{name}.h"
/* argv[1]: samples of input 0 back to back; argv[2]: the outputs, back to back. */
int main(int argc, char **argv) {{
  static unsigned char in[1 << 16], out[1 << 16];
  if (argc != 3) return 2;
  FILE *f = fopen(argv[1], "rb"), *g = fopen(argv[2], "wb");
  if (!f || !g) return 2;
  const size_t n_in = {name}_input_bytes(0), n_out = {name}_output_bytes(0);
  while (fread(in, 1, n_in, f) == n_in) {{
    memcpy({name}_input(0), in, n_in);
    if ({name}_invoke() != 0) return 1;
    memcpy(out, {name}_output(0), n_out);
    fwrite(out, 1, n_out, g);
  }}
  fclose(f);
  return fclose(g) == 0 ? 0 : 3;
}}
"""

HOST_PROJECT = """\
cmake_minimum_required(VERSION 3.13)
project(host_harness C CXX)
add_subdirectory("{library}" model)
add_executable(harness harness.c)
target_link_libraries(harness PRIVATE tinyc::{name})
"""


def _generator() -> str:
    return "Ninja" if shutil.which("ninja") else "Unix Makefiles"


@pytest.mark.parametrize("model", [HELLO, KWS], ids=lambda p: p.stem)
def test_cmake_add_subdirectory_runs_bit_exact_with_tflm(model, tmp_path):
    cmake = tool("cmake")
    tool("g++")
    from tinyc.read_tflite import read_model
    from tinyc.verify.compare import random_inputs, tflm_runner

    name = model.stem
    library = tmp_path / name
    assert run_tinyc("compile", str(model), "-o", str(library), "--library").returncode == 0
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        HOST_PROJECT.format(library=library.as_posix(), name=name))
    (project / "harness.c").write_text(HARNESS.format(name=name))
    build = tmp_path / "build"
    run_checked([cmake, "-S", str(project), "-B", str(build), "-G", _generator(),
                 "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror",
                 "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror -fno-exceptions -fno-rtti"])
    run_checked([cmake, "--build", str(build)])

    graph = read_model(model)
    rng = np.random.default_rng(12)
    samples = [random_inputs(graph, rng)[0] for _ in range(20)]
    (tmp_path / "in.bin").write_bytes(b"".join(s.tobytes() for s in samples))
    run_checked([str(build / "harness"), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")])
    ours = (tmp_path / "out.bin").read_bytes()
    run = tflm_runner(model, 1)
    theirs = b"".join(np.asarray(run([s])[0]).tobytes() for s in samples)
    assert len(ours) == len(theirs) and ours == theirs, "outputs differ from TFLM"


# --- plain CMake: cross-built for Cortex-M4 with the toolchain file tinyc ships ---

M4_PROJECT = """\
cmake_minimum_required(VERSION 3.13)
project(m4_firmware C CXX)
add_subdirectory("{library}" model)
add_executable(firmware.elf main.c)
target_link_libraries(firmware.elf PRIVATE {name})
"""

M4_MAIN = """\
#include "{name}.h"
volatile int result;
int main(void) {{
  {name}_input0_data()[0] = {name}_input0_quantize(0.5f);
  result = {name}_invoke() == 0 ? (int)(1000.0f * {name}_output0_dequantize(
      {name}_output0_data()[0])) : -1;
  for (;;) {{}}
}}
"""


def test_cmake_cross_builds_for_cortex_m4(hello_library, tmp_path):
    cmake = tool("cmake")
    tool("arm-none-eabi-gcc")
    readelf, size = tool("arm-none-eabi-readelf"), tool("arm-none-eabi-size")
    cmake_dir = run_tinyc("--cmake-dir").stdout.strip()
    toolchain = Path(cmake_dir) / "arm-none-eabi-cortex-m4.cmake"
    assert toolchain.is_file()
    name = hello_library.name
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        M4_PROJECT.format(library=hello_library.as_posix(), name=name))
    (project / "main.c").write_text(M4_MAIN.format(name=name))
    build = tmp_path / "build"
    run_checked([cmake, "-S", str(project), "-B", str(build), "-G", _generator(),
                 f"-DCMAKE_TOOLCHAIN_FILE={toolchain}", "-DCMAKE_BUILD_TYPE=MinSizeRel",
                 "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror"])
    run_checked([cmake, "--build", str(build)])
    elf = build / "firmware.elf"
    header = run_checked([readelf, "-h", str(elf)])
    assert re.search(r"Machine:\s+ARM", header), header
    attributes = run_checked([readelf, "-A", str(elf)])
    assert "Cortex-M4" in attributes or "7E-M" in attributes, attributes
    table = run_checked([size, str(elf)])
    print(f"\nCortex-M4 firmware through CMake:\n{table}")
    text, data, bss = (int(v) for v in table.splitlines()[1].split()[:3])
    assert bss >= 32  # the arena
    assert text + data < 16 * 1024


def test_cmake_library_target_alone(hello_library, tmp_path):
    """The folder also configures on its own (cmake -S <folder>), as a project of its own."""
    cmake = tool("cmake")
    tool("g++")
    build = tmp_path / "build"
    run_checked([cmake, "-S", str(hello_library), "-B", str(build), "-G", _generator()])
    run_checked([cmake, "--build", str(build)])
    assert list(build.glob("*hello_world_int8*.a"))


def test_python_api_writes_the_library(tmp_path):
    import tinyc

    compiled = tinyc.compile_to_folder(HELLO, tmp_path / "lib", library=True)
    assert set(compiled.files) >= LIBRARY_FILES
    assert (tmp_path / "lib" / "src" / "hello_world_int8.h").is_file()
    assert sys.modules["tinyc"].__file__
