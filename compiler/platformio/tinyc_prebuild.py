"""PlatformIO pre-build step: compile TensorFlow Lite models with tinyc and build the result.

In platformio.ini:

    [env:myboard]
    extra_scripts = pre:tinyc_prebuild.py   ; a copy of this file, or the path that
                                            ; `tinyc --platformio-script` prints
    custom_tinyc_models =
        model.tflite                        ; one per line: path [name], relative to the project
        other.tflite   other_model
    custom_tinyc_options = --scratch auto   ; optional, passed to `tinyc compile`
    custom_tinyc = tinyc                    ; optional: the tinyc command (default: tinyc on PATH)

Each model is compiled into $BUILD_DIR/tinyc-generated/<name>, whose folder goes on the include path
(`#include <name.h>`) and whose sources are built with the project. The model is compiled again
only when the .tflite's bytes, tinyc's version, the name or the options change (a record of them
sits beside the output); otherwise this step runs nothing but `tinyc --version`. A model tinyc
refuses stops the build with tinyc's one-line message.

PlatformIO runs this file with its own Python, which need not have tinyc installed: tinyc runs as
a command. Everything below the `prebuild` function is plain Python, so it is testable without
PlatformIO (tests/test_cmake.py runs it against a stand-in for PlatformIO's construction
environment).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys

RECORD_SUFFIX = ".tinyc-inputs"


def c_identifier(text: str) -> str:
    """As tinyc's default --name: non-alphanumerics become '_', a leading digit gets one."""
    ident = re.sub(r"\W", "_", text, flags=re.ASCII)
    return "_" + ident if not ident or ident[0].isdigit() else ident


def parse_models(text: str, project_dir: str) -> list[tuple[str, str]]:
    """`custom_tinyc_models` lines -> [(absolute .tflite path, C name)]."""
    models = []
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if not line:
            continue
        fields = shlex.split(line)
        path = os.path.normpath(os.path.join(project_dir, fields[0]))
        stem = os.path.splitext(os.path.basename(path))[0]
        models.append((path, fields[1] if len(fields) > 1 else c_identifier(stem)))
    return models


def run_tinyc(command: list[str], args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([*command, *args], capture_output=True, text=True)
    except FileNotFoundError:
        return subprocess.CompletedProcess(command, 127, "", f"tinyc: error: {command[0]} not "
                                           "found (pip install tinyc, or set custom_tinyc)\n")


def compile_if_changed(command: list[str], version: str, model: str, name: str,
                       options: list[str], out: str) -> tuple[bool, str]:
    """(compiled now?, error line or ""). Compiles unless the record beside `out` says the
    same model bytes, tinyc version, name and options made the files already there."""
    try:
        with open(model, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    except OSError as exc:
        return False, f"tinyc: error: {model}: {exc.strerror}"
    record = f"{version}\nmodel sha256 {digest}\ncompile --name {name} {' '.join(options)}\n"
    record_path = out + RECORD_SUFFIX
    if os.path.exists(os.path.join(out, f"{name}.cpp")) and _read(record_path) == record:
        return False, ""
    result = run_tinyc(command, ["compile", model, "-o", out, "--name", name, *options])
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"tinyc exited with {result.returncode}"]
        return False, lines[-1]
    with open(record_path, "w", encoding="utf-8") as f:
        f.write(record)
    return True, ""


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def prebuild(env) -> list[str]:
    """Compile every configured model and add it to the build; returns the output folders."""
    project_dir = env.subst("$PROJECT_DIR")
    build_dir = env.subst("$BUILD_DIR")
    command = shlex.split(env.GetProjectOption("custom_tinyc", "tinyc")) or ["tinyc"]
    options = shlex.split(env.GetProjectOption("custom_tinyc_options", ""))
    models = parse_models(env.GetProjectOption("custom_tinyc_models", ""), project_dir)
    if not models:
        return []
    probe = run_tinyc(command, ["--version"])
    if probe.returncode != 0:
        _fail(env, (probe.stderr.strip().splitlines() or ["tinyc --version failed"])[-1])
        return []
    version = probe.stdout.strip()
    folders = []
    for model, name in models:
        out = os.path.join(build_dir, "tinyc-generated", name)
        compiled, error = compile_if_changed(command, version, model, name, options, out)
        if error:
            _fail(env, error)
            return folders
        print(f"tinyc: {'compiled' if compiled else 'up to date:'} {name} "
              f"({os.path.relpath(model, project_dir)})")
        env.Append(CPPPATH=[out])
        env.BuildSources(os.path.join("$BUILD_DIR", "tinyc_build", name), out)
        folders.append(out)
    return folders


def _fail(env, line: str) -> None:
    print(line, file=sys.stderr)
    env.Exit(1)


try:
    Import("env")  # type: ignore[name-defined]  # noqa: F821  (SCons, inside PlatformIO)
except NameError:  # imported or run as plain Python (tests)
    pass
else:
    prebuild(env)  # type: ignore[name-defined]  # noqa: F821
