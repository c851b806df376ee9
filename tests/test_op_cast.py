"""CAST between int8, int16, int32, float32 and bool (all 25 pairs) against the TFLM interpreter.

Inputs are chosen values: every int8 and int16 value; int32 extremes and values that wrap when
narrowed or round when widened to float; float32 values at and around every integer type's
bounds, +-inf, NaN, -0, tiny and huge values (the interpreter saturates float-to-integer casts
and maps NaN to 0); both bools. A constant input (not folded: its CAST writes a graph output)
checks the same conversions on values stored in flash. The generated code builds with -Werror;
types TFLM's cast.cc does not take are refused.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.pipeline import compile_model

from flatbuffer_models import TensorSpec
from op_cases import Case, multi_op_model, run_cases
from test_op_binary import ARM, CXX

TYPES = ["int8", "int16", "int32", "float32", "bool"]
FLOATS = np.array([
    0.0, -0.0, 0.99, -0.99, 1.5, -1.5, 127.0, 127.5, 127.99, 128.0, -128.0, -128.5, -128.99,
    -129.0, 255.0, 256.0, 32767.0, 32767.5, 32768.0, -32768.0, -32768.5, -32769.0, 65536.0,
    2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0, 3e38, -3e38, 1e-45, -1e-45,
    np.inf, -np.inf, np.nan, -np.nan, 1e10, -1e10, 16777217.0, 0.5, -0.5,
], np.float32)
INT32S = np.array([
    0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536, 70000,
    -70000, 16777217, -16777217, 123456789, 2**31 - 1, -(2**31), 2**31 - 65, 300, -300,
], np.int32)
VALUES = {
    "int8": np.arange(-128, 128, dtype=np.int8),
    "int16": np.arange(-32768, 32768, dtype=np.int16),
    "int32": INT32S,
    "float32": np.concatenate([FLOATS, np.random.default_rng(2).uniform(-300, 300, 64)
                               .astype(np.float32)]),
    "bool": np.array([True, False, False, True]),
}


def test_every_pair(tmp_path):
    cases = [Case("CAST", [TensorSpec([VALUES[a].size], a)], TensorSpec([VALUES[a].size], b),
                  [VALUES[a]], "CastOptions", label=f"CAST {a} -> {b}")
             for a in TYPES for b in TYPES]
    run_cases(tmp_path, "cast", cases)


def test_constant_input(tmp_path):
    """A CAST of a constant that is a graph output is not folded: the kernel reads flash."""
    cases = [Case("CAST", [TensorSpec([FLOATS.size], np.float32, data=FLOATS)],
                  TensorSpec([FLOATS.size], b), [], "CastOptions", label=f"CAST const -> {b}")
             for b in ("int8", "int16", "int32", "bool")]
    # one variable input so the model has one
    cases.append(Case("CAST", [TensorSpec([4], np.int8)], TensorSpec([4], np.float32),
                      [np.array([1, -2, 3, -128], np.int8)], "CastOptions"))
    run_cases(tmp_path, "cast_const", cases)


REFUSED = {
    "int64 input": (TensorSpec([3], np.int64), TensorSpec([3], np.int32), r"op 0 \(CAST\).*int64"),
    "uint8 output": (TensorSpec([3], np.int8), TensorSpec([3], np.uint8), r"op 0 \(CAST\).*uint8"),
    "sizes": (TensorSpec([3], np.int8), TensorSpec([4], np.int32), r"op 0 \(CAST\).*size"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name, tmp_path):
    x, y, message = REFUSED[name]
    path = tmp_path / "refused.tflite"
    path.write_bytes(multi_op_model([Case("CAST", [x], y, [], "CastOptions")]))
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "refused")


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_clean(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model([Case("CAST", [TensorSpec([4], a)], TensorSpec([4], b), [],
                                          "CastOptions") for a in TYPES for b in TYPES]))
    folder = tmp_path / "gen"
    compile_to_folder(path, folder, name="cast_ops")
    flags = CXX + (ARM if compiler.startswith("arm") else ["-O2"])
    for source in folder.rglob("*.cpp"):
        result = subprocess.run([compiler, *flags, "-I", str(folder), "-c", str(source), "-o",
                                 str(tmp_path / "out.o")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
