"""BROADCAST_TO, FILL and ZEROS_LIKE against the TFLM interpreter, in their run-time forms.

Grids of single-op flatbuffer cases: BROADCAST_TO of an activation over ranks 1 to 5 (lower-rank
inputs, broadcast inner and outer dimensions, int32 and int64 shapes, every type), FILL of a
run-time scalar (and of a constant one that folding declines), ZEROS_LIKE of activations of
every type TFLM takes (zero bytes, not the zero point, as TFLM writes). Plus refusals and
tf.broadcast_to from Keras.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinyc.ops import Alias
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from test_op_transpose import Case, assert_unsupported, lowered_steps, q, run_cases
from tflite_builders import single_layer_model

BROADCAST_TYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")


def broadcast_case(shape, target, dtype, shape_type=np.int32) -> Case:
    tensors = [TensorSpec(shape, dtype, q(dtype)),
               TensorSpec([len(target)], shape_type, data=target),
               TensorSpec(target, dtype, q(dtype))]
    return Case(f"broadcast{list(shape)}to{list(target)}-{dtype}-{np.dtype(shape_type)}",
                "BROADCAST_TO", tensors, [2])


BROADCASTS = [((1,), (6,)), ((3, 1), (3, 4)), ((1, 4), (3, 4)), ((4,), (2, 3, 4)),
              ((3, 1), (2, 3, 5)), ((1, 3, 1, 2), (2, 3, 4, 2)), ((2, 1, 1, 3, 1), (2, 3, 2, 3, 4)),
              ((5,), (1, 1, 1, 1, 5)), ((2, 3), (2, 3))]


@pytest.mark.parametrize("dtype", BROADCAST_TYPES)
def test_broadcast_to_grid_matches_tflm(dtype, tmp_path):
    cases = [broadcast_case(s, t, dtype, st) for s, t in BROADCASTS
             for st in (np.int32, np.int64)]
    run_cases(cases, tmp_path)


def test_broadcast_to_of_a_constant_runs_from_flash(tmp_path):
    """No folder evaluates BROADCAST_TO: a constant input is copied at run time from flash."""
    case = broadcast_case((3, 1), (3, 4), "int8")
    case.tensors[0] = TensorSpec((3, 1), "int8", q("int8"), data=[[1], [-2], [3]])
    other = broadcast_case((1, 4), (3, 4), "float32")
    run_cases([case, other], tmp_path)


def test_broadcast_to_its_own_shape_is_an_alias(tmp_path):
    steps = lowered_steps([broadcast_case((2, 3), (1, 2, 3), "int8"),
                           broadcast_case((2, 1), (2, 3), "int8")], tmp_path)
    assert isinstance(steps[0], Alias) and not isinstance(steps[1], Alias)


def fill_case(target, dtype, dims_type=np.int32, value=None, quant=None) -> Case:
    quant = quant or q(dtype)
    tensors = [TensorSpec([len(target)], dims_type, data=target),
               TensorSpec([], dtype, quant, data=value),
               TensorSpec(target, dtype, q(dtype))]
    return Case(f"fill{list(target)}-{dtype}-{np.dtype(dims_type)}-{value}", "FILL", tensors,
                [2])


def zeros_like_case(shape, dtype) -> Case:
    quant = (0.1, 7) if dtype == "int8" else None
    tensors = [TensorSpec(shape, dtype, quant), TensorSpec(shape, dtype, quant)]
    return Case(f"zeros_like{list(shape)}-{dtype}", "ZEROS_LIKE", tensors, [1])


def test_fill_and_zeros_like_match_tflm(tmp_path):
    cases = [fill_case(t, d, dt) for t in [(5,), (2, 3), (2, 1, 3, 2)]
             for d in ("int8", "int32", "float32") for dt in (np.int32, np.int64)]
    # a constant value that folding declines (its quantization differs from the output's)
    cases.append(fill_case((2, 3), "int8", value=-7, quant=(0.5, 1)))
    cases += [zeros_like_case(s, d) for s in [(4,), (2, 3, 2)]
              for d in ("int8", "int32", "int64", "float32")]
    run_cases(cases, tmp_path)


@pytest.mark.parametrize("what,case,words", [
    ("broadcast rank 6", broadcast_case((1,), (1, 1, 2, 1, 1, 2), "int8"), ["rank 1 to shape"]),
    ("broadcast mismatch", Case("bad", "BROADCAST_TO", [
        TensorSpec((3, 2), "int8"), TensorSpec([2], np.int32, data=[3, 4]),
        TensorSpec((3, 4), "int8")], [2]), ["[3, 2]", "[3, 4]"]),
    ("broadcast run-time shape", Case("rt", "BROADCAST_TO", [
        TensorSpec((3, 1), "int8"), TensorSpec([2], np.int32),
        TensorSpec((3, 4), "int8")], [2]), ["shape must be a constant"]),
    ("fill int16", fill_case((2, 3), "int16"), ["int16"]),
    ("fill dims", Case("dims", "FILL", [
        TensorSpec([2], np.int32, data=[2, 4]), TensorSpec([], "float32"),
        TensorSpec((2, 3), "float32")], [2]), ["dims [2, 4]", "[2, 3]"]),
    ("fill vector value", Case("vec", "FILL", [
        TensorSpec([1], np.int32, data=[3]), TensorSpec([1], "float32"),
        TensorSpec((3,), "float32")], [2]), ["scalar"]),
    ("zeros_like bool", zeros_like_case((3,), "bool"), ["bool"]),
])
def test_fill_refusals_name_the_value(what, case, words, tmp_path):
    assert_unsupported(case, tmp_path, *words)


# --- converted from Keras ---


def broadcast(tf, x):
    return tf.keras.layers.Lambda(lambda t: tf.broadcast_to(t, [1, 3, 4, 5]))(x)


@pytest.mark.parametrize("mode", ["int8", "float"])
def test_keras_broadcast_to_matches_tflm(mode):
    path = single_layer_model("fill-broadcast-to", (3, 1, 5), broadcast, mode=mode)
    assert "BROADCAST_TO" in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=5)


# --- the generated code of the data-movement ops, under the firmware compilers ---

WARNINGS = ["-Wall", "-Wextra", "-Werror"]
CXX = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", *WARNINGS]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]
HEADERS = ["copy_nd.h", "split_pack.h", "gather.h", "space_depth.h", "mirror_pad.h", "fill.h"]


def data_movement_cases() -> list[Case]:
    """One or more cases of every op in the family, every kernel width among them."""
    from test_op_gather import embedding_case, gather_case, gather_nd_case
    from test_op_mirror_pad import REFLECT, mirror_case, reverse_case
    from test_op_slicing import slice_case, strided_slice_case
    from test_op_space_depth import b2s_case, d2s_case, s2b_case, s2d_case
    from test_op_split_pack import pack_case, split_case, split_v_case, unpack_case
    from test_op_transpose import transpose_case

    return [
        transpose_case((2, 3, 4), (2, 0, 1), "int8"),
        transpose_case((1, 4, 5, 3), (0, 3, 1, 2), "float32"),
        transpose_case((3, 5), (1, 0), "int16"),
        strided_slice_case((4, 6), [3, 5], [0, 0], [-1, -2], (3, 3), "int32"),
        strided_slice_case((1, 8, 8, 3), [0, 1, 2, 0], [1, 6, 7, 3], [1, 1, 1, 1],
                           (1, 5, 5, 3), "bool"),
        slice_case((3, 4, 5), [1, 0, 2], [2, 4, 3], (2, 4, 3), "int8", np.int64),
        split_case((4, 6), -1, 3, "float32"),
        split_v_case((2, 6, 3), 1, [4, 1, 1], "int16"),
        unpack_case((2, 5, 3), 1, "int8"),
        pack_case((3, 4), 1, 3, "int64"),
        gather_case((3, 4, 5), 2, (3, 4), 1, "int8", runtime=True),
        gather_nd_case((4, 6), (3, 2), "float32", runtime=True),
        embedding_case((5, 3), 4, "int8", "float32", runtime=True),
        d2s_case((1, 2, 3, 8), 2, "int8"),
        s2d_case((1, 4, 6, 3), 2, "float32"),
        b2s_case((4, 2, 3, 2), [2, 2], [[1, 0], [0, 1]], "int8"),
        s2b_case((2, 6, 2, 3), [3, 2], [[0, 0], [0, 0]], "float32"),
        mirror_case((1, 4, 4, 3), [[0, 0], [1, 1], [1, 1], [0, 0]], REFLECT, "int8"),
        reverse_case((2, 3, 4), [2, 1], "int64"),
        broadcast_case((3, 1), (2, 3, 5), "uint8"),
        fill_case((2, 3), "float32"),
        zeros_like_case((2, 3, 2), "int64"),
    ]


def test_data_movement_model_matches_tflm(tmp_path):
    run_cases(data_movement_cases(), tmp_path, "kitchen-sink")


def test_int8_outputs_with_another_quantization_get_the_same_bytes(tmp_path):
    """TFLM's data-movement kernels copy int8 bytes whatever the output's scale and zero point
    (none of them checks): every int8 case above, its output requantized, still matches."""
    cases = []
    for case in data_movement_cases():
        if any(case.tensors[i].dtype != "int8" for i in case.outputs):
            continue
        tensors = list(case.tensors)
        for i in case.outputs:
            tensors[i] = replace(tensors[i], quant=(0.37, 9))
        cases.append(replace(case, tensors=tensors))
    assert len(cases) >= 7
    run_cases(cases, tmp_path, "requantized")


@pytest.fixture(scope="module")
def data_movement_folder(tmp_path_factory):
    from tinyc import compile_to_folder

    from test_op_transpose import write_batch

    root = tmp_path_factory.mktemp("data-movement")
    path, _, _ = write_batch(data_movement_cases(), root, "kitchen_sink")
    compile_to_folder(path, root / "gen", name="moves")
    return root / "gen"


def build(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("compiler,flags", [("g++", ["-O2"]), ("clang++", ["-O2"]),
                                            ("g++", ["-Os"]), ("arm-none-eabi-g++", ARM)])
def test_generated_code_builds_clean(data_movement_folder, compiler, flags, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    headers = {p.name for p in (data_movement_folder / "tinyc_runtime").glob("*.h")}
    assert set(HEADERS) <= headers
    for source in sorted(data_movement_folder.glob("*.cpp")):
        build([compiler, *CXX, *flags, "-I", str(data_movement_folder), "-c", str(source), "-o",
               str(tmp_path / "m.o")])


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_runtime_headers_are_c99(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    runtime = Path(__file__).resolve().parent.parent / "runtime"
    source = tmp_path / "all.c"
    source.write_text("".join(f'#include "{h}"\n' for h in HEADERS)
                      + "int main(void) { return 0; }\n")
    build([compiler, "-std=c99", "-pedantic", *WARNINGS, "-O2", "-I", str(runtime), "-c",
           str(source), "-o", str(tmp_path / "all.o")])
