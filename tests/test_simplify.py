"""Layout round trips (TRANSPOSE, layout-free ops, the inverse TRANSPOSE) removed before lowering,
bit-exact with TFLM running the original graph."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc import compile_model
from tinyc.ops import KernelCall

from conftest import SHARED_MODELS, assert_bit_exact
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model

NHWC_TO_NCHW, NCHW_TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


def _round_trip(tmp_path, name, dtype, middle, second_perm=NCHW_TO_NHWC, also_output=False):
    """x [1,4,5,3] NHWC -> TRANSPOSE to NCHW -> middle ops -> TRANSPOSE(second_perm) -> RELU."""
    q = (0.05, 3) if dtype == "int8" else None
    q2 = (0.07, -4) if dtype == "int8" else None
    t = [TensorSpec([1, 4, 5, 3], dtype, q), TensorSpec([4], np.int32, data=NHWC_TO_NCHW),
         TensorSpec([1, 3, 4, 5], dtype, q)]
    ops = [OperatorSpec("TRANSPOSE", [0, 1], [2])]
    shape = [1, 3, 4, 5]
    for kind in middle:
        if kind == "PAD":  # pad H by (1, 2) and W by (0, 1) in NCHW terms
            t.append(TensorSpec([4, 2], np.int32, data=[[0, 0], [0, 0], [1, 2], [0, 1]]))
            shape = [shape[0], shape[1], shape[2] + 3, shape[3] + 1]
            t.append(TensorSpec(shape, dtype, q))
            ops.append(OperatorSpec("PAD", [len(t) - 3, len(t) - 2], [len(t) - 1]))
        else:
            t.append(TensorSpec(shape, dtype, q2))
            ops.append(OperatorSpec(kind, [len(t) - 2], [len(t) - 1], "LeakyReluOptions",
                                    {"alpha": 0.2}) if kind == "LEAKY_RELU" else
                       OperatorSpec(kind, [len(t) - 2], [len(t) - 1]))
    last = len(t) - 1
    t.append(TensorSpec([4], np.int32, data=second_perm))
    out_shape = [shape[p] for p in second_perm]
    t.append(TensorSpec(out_shape, dtype, q2))
    ops.append(OperatorSpec("TRANSPOSE", [last, len(t) - 2], [len(t) - 1]))
    t.append(TensorSpec(out_shape, dtype, q2))
    ops.append(OperatorSpec("RELU", [len(t) - 2], [len(t) - 1]))
    outputs = [len(t) - 1] + ([last] if also_output else [])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(tflite_model(t, ops, [0], outputs))
    return path


def _transposes(path) -> int:
    return sum(isinstance(s, KernelCall) and s.op.kind == "TRANSPOSE"
               for s in compile_model(path).model.steps)


CASES = {
    "back to back": ([], 0),
    "leaky relu": (["LEAKY_RELU"], 0),
    "leaky relu then pad": (["LEAKY_RELU", "PAD"], 0),
    "pad, relu, pad": (["PAD", "RELU", "PAD"], 0),
}


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trips_vanish_and_stay_bit_exact(tmp_path, case, dtype):
    middle, transposes = CASES[case]
    path = _round_trip(tmp_path, case.replace(" ", "_").replace(",", ""), dtype, middle)
    assert _transposes(path) == transposes
    assert_bit_exact(path, samples=20)


def test_what_cannot_be_rewritten_is_left_alone(tmp_path):
    # The intermediate is also a model output: its NCHW bytes must exist.
    shared = _round_trip(tmp_path, "shared", "int8", ["LEAKY_RELU"], also_output=True)
    assert _transposes(shared) == 2
    assert_bit_exact(shared, samples=10)
    # The second TRANSPOSE does not undo the first.
    other = _round_trip(tmp_path, "other", "int8", ["LEAKY_RELU"], second_perm=[0, 1, 3, 2])
    assert _transposes(other) == 2
    assert_bit_exact(other, samples=10)


def test_retinaface_loses_most_of_its_transposes():
    path = SHARED_MODELS / "wider" / "tflm_retinaface.tflite"
    assert _transposes(path) <= 31  # of 95 in the model
