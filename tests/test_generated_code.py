"""The generated folder as a firmware engineer meets it: warnings, C ABI, linking, flash."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.verify.compare import tflm_runner

from conftest import shared_model

WARNINGS = ["-Wall", "-Wextra", "-Werror"]
CXX = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", *WARNINGS]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


def sh(*command: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    return result.stdout


def need(tool: str) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    return tool


@pytest.fixture(scope="module")
def folders(tmp_path_factory, sine_models) -> dict[str, Path]:
    """Generated folders: the TFLM hello world, and the sine model in all three forms."""
    root = tmp_path_factory.mktemp("gen")
    models = {
        "hello": shared_model("hello_world_int8.tflite"),
        "sine": sine_models["int8"],
        "sine_float_io": sine_models["int8_float_io"],
        "sine_float": sine_models["float"],
    }
    for name, path in models.items():
        compile_to_folder(path, root / name, name=name)
    return {name: root / name for name in models}


def sources(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*.cpp"))


@pytest.mark.parametrize("compiler", ["g++", "clang++"])
@pytest.mark.parametrize("model", ["hello", "sine_float_io", "sine_float"])
def test_compiles_clean_on_host_compilers(folders, compiler, model, tmp_path):
    need(compiler)
    for source in sources(folders[model]):
        sh(
            compiler,
            *CXX,
            "-O2",
            "-I",
            str(folders[model]),
            "-c",
            source,
            "-o",
            str(tmp_path / "m.o"),
        )


@pytest.mark.parametrize("model", ["hello", "sine_float_io", "sine_float"])
def test_compiles_clean_for_cortex_m4(folders, model, tmp_path):
    need("arm-none-eabi-g++")
    for source in sources(folders[model]):
        sh(
            "arm-none-eabi-g++",
            *CXX,
            *ARM,
            "-I",
            str(folders[model]),
            "-c",
            source,
            "-o",
            str(tmp_path / "m.o"),
        )


HARNESS = r"""
/* Two tinyc models in one C99 program: reads input bytes as hex, prints output bytes as hex. */
#include <stdio.h>
#include <string.h>
#include "hello.h"
#include "sine.h"

static void run(const char *hex, void *in, size_t in_bytes, int (*invoke)(void),
                const unsigned char *out, size_t out_bytes) {
  size_t i;
  for (i = 0; i < in_bytes; ++i) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    ((unsigned char *)in)[i] = (unsigned char)v;
  }
  if (invoke() != 0) printf("invoke failed\n");
  for (i = 0; i < out_bytes; ++i) printf("%02x", out[i]);
  printf("\n");
}

int main(int argc, char **argv) {
  int k;
  if (hello_input(1) != NULL || sine_output(-1) != NULL || hello_input_bytes(7) != 0) return 2;
  if (hello_input_count() != HELLO_INPUT_COUNT || sine_output_count() != 1) return 3;
  if (HELLO_ARENA_BYTES <= 0 || SINE_INPUT0_SCALE <= 0.0f) return 4;
  for (k = 1; k + 1 < argc; k += 2) {
    run(argv[k], hello_input(0), hello_input_bytes(0), hello_invoke,
        (const unsigned char *)hello_output(0), hello_output_bytes(0));
    run(argv[k + 1], sine_input(0), sine_input_bytes(0), sine_invoke,
        (const unsigned char *)sine_output(0), sine_output_bytes(0));
  }
  return 0;
}
"""


def test_two_models_link_into_one_c_program_and_match_tflm(folders, sine_models, tmp_path):
    (tmp_path / "main.c").write_text(HARNESS)
    objects = [str(tmp_path / "main.o")]
    sh(
        "gcc",
        "-std=c99",
        "-pedantic",
        *WARNINGS,
        "-I",
        str(folders["hello"]),
        "-I",
        str(folders["sine"]),
        "-c",
        str(tmp_path / "main.c"),
        "-o",
        objects[0],
    )
    for name in ("hello", "sine"):
        for i, source in enumerate(sources(folders[name])):
            obj = str(tmp_path / f"{name}{i}.o")
            sh("g++", *CXX, "-O2", "-I", str(folders[name]), "-c", source, "-o", obj)
            objects.append(obj)
    # linked with gcc, not g++: the generated code needs no C++ runtime library
    sh("gcc", *objects, "-lm", "-o", str(tmp_path / "two_models"))

    rng = np.random.default_rng(7)
    inputs = [rng.integers(-128, 128, (1, 1), dtype=np.int8) for _ in range(40)]
    argv = [a.tobytes().hex() for x in inputs for a in (x, x)]
    lines = sh(str(tmp_path / "two_models"), *argv).split()
    hello_tflm = tflm_runner(shared_model("hello_world_int8.tflite"), 1)
    sine_tflm = tflm_runner(sine_models["int8"], 1)
    expected = [r([x])[0].tobytes().hex() for x in inputs for r in (hello_tflm, sine_tflm)]
    assert lines == expected


def test_no_heap_no_exceptions_no_tflm(folders, tmp_path):
    """The only external symbols the generated code needs are the C library's math/memory."""
    for name in ("hello", "sine_float_io"):
        obj = tmp_path / f"{name}.o"
        sh(
            "g++",
            *CXX,
            "-O2",
            "-I",
            str(folders[name]),
            "-c",
            *sources(folders[name]),
            "-o",
            str(obj),
        )
        undefined = set(sh("nm", "-u", str(obj)).split()) - {"U", "w"}
        assert undefined <= {"roundf", "memcpy", "memset"}, undefined
        text = "\n".join(p.read_text() for p in folders[name].rglob("*.*"))
        code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        assert not re.search(
            r"\b(malloc|calloc|free|new|delete|throw|try|typeid|dynamic_cast)\b", code
        )
        includes = set(re.findall(r'#include [<"]([^>"]+)[>"]', code))
        runtime = {p.name for p in (folders[name] / "tinyc_runtime").glob("*.h")}
        own = {f"{name}.h"} | runtime | {f"tinyc_runtime/{h}" for h in runtime}
        # arm_acle.h: the compiler's Arm intrinsics (inline), only under __ARM_FEATURE_DSP
        # tinyc_runtime_id.h: only with TINYC_SHARED_RUNTIME, from the shared runtime folder
        allowed = {"stdint.h", "stddef.h", "stdbool.h", "string.h", "math.h", "arm_acle.h",
                   "tinyc_runtime_id.h"}
        assert includes - own <= allowed, includes


def test_weights_and_constants_are_read_only(folders, tmp_path):
    obj = tmp_path / "hello.o"
    sh(
        "g++",
        *CXX,
        "-O2",
        "-I",
        str(folders["hello"]),
        "-c",
        *sources(folders["hello"]),
        "-o",
        str(obj),
    )
    symbols = sh("objdump", "-t", str(obj))
    for line in symbols.splitlines():
        if re.search(r"hello_(tensor\d+|op\d+_)", line):
            assert ".rodata" in line, line
    assert re.search(r"\.bss\s+0+20\s+\S*hello_arena", symbols), symbols  # the 32-byte arena


def test_arena_alignment_and_section_can_be_overridden(folders, tmp_path):
    obj = tmp_path / "hello.o"
    sh(
        "g++",
        *CXX,
        "-O2",
        "-DHELLO_ARENA_ALIGN=64",
        '-DHELLO_ARENA_ATTRIBUTES=__attribute__((section(".model_arena")))',
        "-I",
        str(folders["hello"]),
        "-c",
        *sources(folders["hello"]),
        "-o",
        str(obj),
    )
    headers = sh("objdump", "-h", str(obj))
    match = re.search(r"\.model_arena\s+0+20\s+\S+\s+\S+\s+\S+\s+2\*\*(\d+)", headers)
    assert match and int(match.group(1)) == 6, headers


def test_weights_section_can_be_chosen(folders, tmp_path):
    obj = tmp_path / "hello.o"
    sh("g++", *CXX, "-O2", '-DHELLO_WEIGHTS_ATTRIBUTES=__attribute__((section(".model_weights")))',
       "-I", str(folders["hello"]), "-c", *sources(folders["hello"]), "-o", str(obj))
    symbols = sh("objdump", "-t", str(obj))
    weights = [line for line in symbols.splitlines() if re.search(r"hello_op\d+_filter", line)]
    assert weights and all(".model_weights" in line for line in weights), symbols


def test_output_is_deterministic_and_independent_of_paths(tmp_path):
    model = shared_model("hello_world_int8.tflite")
    copy = tmp_path / "elsewhere" / "hello_world_int8.tflite"
    copy.parent.mkdir()
    copy.write_bytes(model.read_bytes())
    a = compile_to_folder(model, tmp_path / "a").files
    b = compile_to_folder(copy, tmp_path / "b").files
    assert a == b
    for relative, text in a.items():
        assert (tmp_path / "a" / relative).read_bytes() == text.encode()
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()
    assert not re.search(r"20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d|/tmp|/work", "".join(a.values()))
