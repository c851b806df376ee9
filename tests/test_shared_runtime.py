"""Several models, one runtime: `tinyc runtime -o DIR` and `tinyc compile --shared-runtime`.

By default each model folder carries its own copy of the kernels it uses, with static linkage, so
any number of models link together without clashing but each keeps its own copies. With
--shared-runtime the models are built against one runtime folder: the kernels have C++ inline
linkage in a namespace named after the runtime's content, so the linker keeps one copy of each.
Tested here: two zoo models (kws and vww, which share the conv, depthwise, pooling and softmax
kernels) in one program give TFLM's bytes, build -Werror clean with g++ and clang++, take less
flash for Cortex-M4 than with their own runtimes, refuse a runtime folder of another content, and
work through tinyc_add_model(... OPTIONS --shared-runtime) in CMake.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_one_line_error, run_tinyc, shared_model

MODELS = {"kws_ref_model": shared_model("kws_ref_model.tflite"),
          "vww_96_int8": shared_model("vww_96_int8.tflite")}
WARNINGS = ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
CORTEX_M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os",
             "-ffunction-sections", "-fdata-sections", "-fno-exceptions", "-fno-rtti",
             "--specs=nosys.specs", "-Wl,--gc-sections"]

# Reads each model's input from stdin, runs both, writes both outputs to stdout.
MAIN = "#include <stdio.h>\n" + "".join(f'#include "{n}.h"\n' for n in MODELS) + """\
int main(void) {
""" + "".join(f"""\
  if (fread({n}_input(0), 1, {n}_input_bytes(0), stdin) != {n}_input_bytes(0)) return 2;
""" for n in MODELS) + "".join(f"""\
  if ({n}_invoke() != 0) return 1;
""" for n in MODELS) + "".join(f"""\
  fwrite({n}_output(0), 1, {n}_output_bytes(0), stdout);
""" for n in MODELS) + """\
  return 0;
}
"""


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (CI installs it)")
    return path


def checked(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, **kwargs)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return result


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    """Both models compiled twice (shared runtime, own runtimes), the runtime folder, main."""
    root = tmp_path_factory.mktemp("shared_runtime")
    result = run_tinyc("runtime", "-o", str(root / "runtime"))
    assert result.returncode == 0, result.stderr
    for name, model in MODELS.items():
        for layout, flags in (("shared", ["--shared-runtime"]), ("own", [])):
            result = run_tinyc("compile", str(model), "-o", str(root / layout / name), *flags)
            assert result.returncode == 0, result.stderr
    (root / "main.cpp").write_text(MAIN)
    return root


def sources(root: Path, layout: str) -> list[str]:
    flags = [f"-I{root / layout / n}" for n in MODELS]
    if layout == "shared":
        flags.append(f"-I{root / 'runtime'}")
    return flags + [str(root / "main.cpp")] + [str(root / layout / n / f"{n}.cpp") for n in MODELS]


def test_the_shared_folder_has_no_kernels_and_the_runtime_names_itself(program):
    for name in MODELS:
        assert not (program / "shared" / name / "tinyc_runtime").exists()
        assert (program / "own" / name / "tinyc_runtime").is_dir()
        source = (program / "shared" / name / f"{name}.cpp").read_text()
        assert "#define TINYC_SHARED_RUNTIME 1" in source
    id_header = (program / "runtime" / "tinyc_runtime" / "tinyc_runtime_id.h").read_text()
    ident = re.search(r"#define TINYC_RUNTIME_ID 0x([0-9a-f]{12})ULL", id_header).group(1)
    assert f"tinyc_rt_{ident}" in id_header
    assert f"TINYC_RUNTIME_ID != 0x{ident}ULL" in source
    # Every kernel header the models' own copies have is in the runtime folder, identical.
    for name in MODELS:
        for header in (program / "own" / name / "tinyc_runtime").iterdir():
            shared = program / "runtime" / "tinyc_runtime" / header.name
            assert shared.read_bytes() == header.read_bytes(), header.name
    assert "add_library(tinyc_runtime INTERFACE)" in (program / "runtime" / "CMakeLists.txt"
                                                      ).read_text()


@pytest.mark.parametrize("compiler", ["g++", "clang++"])
def test_two_models_on_one_runtime_give_tflm_bytes(program, compiler, tmp_path):
    from tinyc.verify.compare import tflm_runner

    exe = tmp_path / "app"
    checked([tool(compiler), *WARNINGS, "-O2", *sources(program, "shared"), "-o", str(exe)])
    rng = np.random.default_rng(7)
    for _ in range(3):
        inputs, expected = [], b""
        for model in MODELS.values():
            run = tflm_runner(model, 1)
            shape = _input_shape(model)
            x = rng.integers(-128, 128, size=shape, dtype=np.int8)
            inputs.append(x.tobytes())
            expected += run([x])[0].tobytes()
        out = checked([str(exe)], input=b"".join(inputs)).stdout
        assert out == expected


def test_one_runtime_takes_less_flash_than_a_copy_per_model(program, tmp_path):
    gxx = tool("arm-none-eabi-g++")
    size = tool("arm-none-eabi-size")
    text = {}
    for layout in ("shared", "own"):
        elf = tmp_path / f"{layout}.elf"
        checked([gxx, *WARNINGS, *CORTEX_M4, *sources(program, layout), "-o", str(elf)])
        text[layout] = int(checked([size, str(elf)]).stdout.split()[6])  # .text of the ELF
    # kws and vww share the conv, depthwise, pooling and softmax kernels that are not inlined
    # into their calls: one copy saves about 1.4 KB here (measured: 280,128 vs 281,536 bytes).
    assert text["shared"] < text["own"] - 1024, text


def test_a_runtime_of_other_content_is_refused_at_compile_time(program, tmp_path):
    other = tmp_path / "runtime"
    shutil.copytree(program / "runtime", other)
    id_header = other / "tinyc_runtime" / "tinyc_runtime_id.h"
    id_header.write_text(re.sub(r"0x[0-9a-f]{12}ULL", "0x000000000000ULL", id_header.read_text()))
    name = next(iter(MODELS))
    result = subprocess.run(
        [tool("g++"), *WARNINGS, "-c", f"-I{other}", f"-I{program / 'shared' / name}",
         str(program / "shared" / name / f"{name}.cpp"), "-o", str(tmp_path / "m.o")],
        capture_output=True, text=True)
    assert result.returncode != 0
    assert "compiled for another tinyc runtime" in result.stderr


def test_runtime_folder_is_deterministic_and_bad_output_is_one_line(tmp_path):
    for out in ("a", "b"):
        assert run_tinyc("runtime", "-o", str(tmp_path / out)).returncode == 0
    a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert a == b and all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes()
                          for p in a)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert_one_line_error(run_tinyc("runtime", "-o", str(blocker / "rt")), str(blocker))


CMAKE_PROJECT = """\
cmake_minimum_required(VERSION 3.14)
project(app C CXX)
include("${TINYC_CMAKE_DIR}/tinyc.cmake")
add_executable(app main.cpp)
""" + "".join(f"""\
tinyc_add_model(app "{model}" NAME {name} OPTIONS --shared-runtime)
""" for name, model in MODELS.items())


def test_tinyc_add_model_with_a_shared_runtime(program, tmp_path):
    cmake = tool("cmake")
    source, build = tmp_path / "src", tmp_path / "build"
    source.mkdir()
    (source / "CMakeLists.txt").write_text(CMAKE_PROJECT)
    shutil.copyfile(program / "main.cpp", source / "main.cpp")
    cmake_dir = run_tinyc("--cmake-dir").stdout.strip()
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    checked([cmake, "-S", str(source), "-B", str(build), *generator,
             f"-DTINYC_CMAKE_DIR={cmake_dir}", f"-DTINYC_EXECUTABLE={sys.executable};-m;tinyc",
             "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror"])
    checked([cmake, "--build", str(build)])
    runtime = build / "tinyc-generated" / "_runtime" / "tinyc_runtime"
    assert (runtime / "tinyc_runtime_id.h").is_file() and (runtime / "conv.h").is_file()
    for name in MODELS:
        assert not (build / "tinyc-generated" / name / "tinyc_runtime").exists()
    rebuilt = checked([cmake, "--build", str(build)]).stdout.decode()
    assert "tinyc:" not in rebuilt  # nothing regenerated
    exe = build / "app"
    zeros = b"".join(bytes(int(np.prod(_input_shape(m)))) for m in MODELS.values())
    assert checked([str(exe)], input=zeros).stdout == checked(
        [str(_host_program(program, tmp_path))], input=zeros).stdout


def _host_program(program: Path, tmp_path: Path) -> Path:
    exe = tmp_path / "own_app"
    checked([tool("g++"), *WARNINGS, "-O2", *sources(program, "own"), "-o", str(exe)])
    return exe


def _input_shape(model: Path) -> tuple[int, ...]:
    from tinyc.read_tflite import read_model

    graph = read_model(model)
    return graph.tensor(graph.inputs[0]).shape


LIBRARY_PROJECT = """\
cmake_minimum_required(VERSION 3.13)
project(app CXX)
add_subdirectory(tinyc_runtime)
""" + "".join(f"add_subdirectory({n})\n" for n in MODELS) + """\
add_executable(app main.cpp)
target_link_libraries(app PRIVATE """ + " ".join(MODELS) + ")\n"


def test_library_layout_depends_on_the_runtime_library(program, tmp_path):
    """`tinyc runtime --library` and `tinyc compile --library --shared-runtime`: the models'
    CMake targets link the header-only tinyc_runtime target; the manifests name it."""
    cmake = tool("cmake")
    source = tmp_path / "src"
    assert run_tinyc("runtime", "--library", "-o", str(source / "tinyc_runtime")).returncode == 0
    for name, model in MODELS.items():
        result = run_tinyc("compile", str(model), "-o", str(source / name), "--library",
                           "--shared-runtime")
        assert result.returncode == 0, result.stderr
        assert not (source / name / "src" / "tinyc_runtime").exists()
        assert "depends=tinyc_runtime" in (source / name / "library.properties").read_text()
        assert '"tinyc_runtime": "*"' in (source / name / "library.json").read_text()
        assert "REQUIRES tinyc_runtime" in (source / name / "CMakeLists.txt").read_text()
    assert (source / "tinyc_runtime" / "src" / "tinyc_runtime" / "tinyc_runtime_id.h").is_file()
    assert "name=tinyc_runtime" in (source / "tinyc_runtime" / "library.properties").read_text()
    (source / "CMakeLists.txt").write_text(LIBRARY_PROJECT)
    shutil.copyfile(program / "main.cpp", source / "main.cpp")
    build = tmp_path / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    checked([cmake, "-S", str(source), "-B", str(build), *generator,
             "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror"])
    checked([cmake, "--build", str(build)])
    rng = np.random.default_rng(3)
    inputs = b"".join(rng.integers(-128, 128, int(np.prod(_input_shape(m))), dtype=np.int8)
                      .tobytes() for m in MODELS.values())
    assert checked([str(build / "app")], input=inputs).stdout == checked(
        [str(_host_program(program, tmp_path))], input=inputs).stdout
    # Without the runtime library first, configuring stops with one clear message.
    (source / "CMakeLists.txt").write_text(LIBRARY_PROJECT.replace(
        "add_subdirectory(tinyc_runtime)\n", ""))
    result = subprocess.run([cmake, "-S", str(source), "-B", str(tmp_path / "build2"),
                             *generator], capture_output=True, text=True)
    assert result.returncode != 0 and "compiled with --shared-runtime" in result.stderr


def test_models_of_both_roundings_share_one_runtime_folder(program, tmp_path):
    """kws with --rounding single and vww with the default double rounding, one runtime folder,
    one program: the inline kernels of the two roundings sit in two namespaces (no ODR clash, no
    model running the other's arithmetic): kws gives LiteRT's bytes, vww TFLM's."""
    from tinyc.verify.compare import litert_runner, tflm_runner

    kws, vww = MODELS["kws_ref_model"], MODELS["vww_96_int8"]
    mixed = tmp_path / "mixed"
    for name, model, rounding in (("kws_ref_model", kws, "single"),
                                  ("vww_96_int8", vww, "double")):
        result = run_tinyc("compile", str(model), "-o", str(mixed / name), "--shared-runtime",
                           "--rounding", rounding)
        assert result.returncode == 0, result.stderr
    exe = tmp_path / "app"
    checked([tool("g++"), *WARNINGS, "-O2", f"-I{program / 'runtime'}",
             *[f"-I{mixed / n}" for n in MODELS], str(program / "main.cpp"),
             *[str(mixed / n / f"{n}.cpp") for n in MODELS], "-o", str(exe)])
    rng = np.random.default_rng(11)
    single, double = litert_runner(kws, reference=False), tflm_runner(vww, 1)
    tflm_kws = tflm_runner(kws, 1)
    differs = 0
    for sample in range(40):  # until a sample on which the two roundings differ (1 in 5)
        x = rng.integers(-128, 128, size=_input_shape(kws), dtype=np.int8)
        y = rng.integers(-128, 128, size=_input_shape(vww), dtype=np.int8)
        out = checked([str(exe)], input=x.tobytes() + y.tobytes()).stdout
        want_kws = np.asarray(single([x])[0], np.int8).tobytes()
        assert out == want_kws + double([y])[0].tobytes(), sample
        differs += want_kws != tflm_kws([x])[0].tobytes()
        if differs >= 2 and sample >= 4:
            break
    assert differs >= 2  # samples on which kws's roundings differ: the test tells them apart
