"""Names from a model never steer the generated code.

The only place tensor names reach generated text is comments. A model whose names try to close
the comment, start a preprocessor line, splice lines or flood the file must compile to the same
code as the model with plain names, comments aside, and build clean under -Werror.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tinyc.pipeline import compile_model

from conftest import shared_model
from model_mutations import edited, rename_tensors

HOSTILE = [
    "w */ int injected = 42; /*",
    "a\n#define injected 1\nb",
    "x\\\nint injected;",
    "??/\nint injected;",
    "// injected",
    "\x00\x1b[31m\u202e injected",
    "*/\n#include <stdio.h>\n/*",
    "n" * 10_000 + " */ int injected; /*",
]


def _compile(tmp_path, name_for, model="kws_ref_model.tflite"):
    """kws with every tensor named by `name_for(index)`."""
    path = tmp_path / "model.tflite"
    path.write_bytes(edited(shared_model(model), rename_tensors(name_for)))
    # scratch "never": the conv kernels then read the filter tensors as they are, so the
    # tensors' own (named) arrays are in the output
    return compile_model(path, name="m", scratch="never").files


def _without_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/", "/**/", text, flags=re.S)


@pytest.mark.parametrize("hostile", range(len(HOSTILE)))
def test_hostile_names_change_nothing_but_comments(tmp_path, hostile):
    from tinyc.c_literals import c_comment

    name = HOSTILE[hostile]
    hostile_files = _compile(tmp_path, lambda i: name)
    plain = _compile(tmp_path, lambda i: f"t{i}")
    assert hostile_files.keys() == plain.keys()
    assert f"/* {c_comment(name)} [" in hostile_files["m.cpp"]  # the name is there, defused
    for file in plain:
        assert _without_comments(hostile_files[file]) == _without_comments(plain[file]), file
        assert "injected" not in _without_comments(hostile_files[file])
        for line in hostile_files[file].splitlines():
            assert len(line) < 200, line[:80]


def test_hostile_names_build_clean(tmp_path):
    files = _compile(tmp_path, lambda i: HOSTILE[0])
    for relative, text in files.items():
        (tmp_path / "gen" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "gen" / relative).write_text(text)
    result = subprocess.run(
        ["g++", "-std=c++11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-c",
         str(tmp_path / "gen" / "m.cpp"), "-I", str(tmp_path / "gen"), "-o",
         str(tmp_path / "m.o")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    symbols = subprocess.run(["nm", str(tmp_path / "m.o")], capture_output=True, text=True).stdout
    assert "injected" not in symbols
