"""CONCATENATIONs done in place: their inputs' producers write straight into the output's buffer
(compiler/in_place.py); bit-exact with TFLM, no live bytes shared, and only where it is safe."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc import compile_model
from tinyc.ops import Alias, KernelCall

from conftest import SHARED_MODELS, assert_bit_exact
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from test_plan_memory import assert_no_live_overlap

Q = (0.1, 2)


def _concat_of_relus(tmp_path, name, shapes, axis, reuse=False, concat_input=False):
    """RELU of each of the model's inputs, then CONCATENATION of the RELU outputs along `axis`
    (`reuse`: the first RELU output twice; `concat_input`: a model input itself concatenated)."""
    n = len(shapes)
    tensors = [TensorSpec(s, np.int8, Q) for s in shapes] + [TensorSpec(s, np.int8, Q)
                                                             for s in shapes]
    ops = [OperatorSpec("RELU", [i], [n + i]) for i in range(n)]
    parts = [n + i for i in range(n)]
    if reuse:
        parts[1] = parts[0]
    if concat_input:
        parts[0] = 0
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    tensors.append(TensorSpec(out_shape, np.int8, Q))
    ops.append(OperatorSpec("CONCATENATION", parts, [2 * n], "ConcatenationOptions",
                            {"axis": axis}))
    tensors.append(TensorSpec(out_shape, np.int8, Q))
    ops.append(OperatorSpec("RELU", [2 * n], [2 * n + 1]))
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(tflite_model(tensors, ops, list(range(n)), [2 * n + 1]))
    return path


def _concat_steps(path):
    return [s for s in compile_model(path).model.steps if s.op.kind == "CONCATENATION"]


CASES = {
    # name: (shapes, axis, reuse, concat_input, done in place)
    "outer axis": ([(1, 8, 6), (1, 4, 6), (1, 2, 6)], 1, False, False, True),
    "first axis": ([(2, 6), (6, 6)], 0, False, False, True),
    "channel axis": ([(1, 4, 8), (1, 4, 4)], 2, False, False, False),  # interleaved slots
    "unaligned slot": ([(1, 3), (1, 5)], 1, False, False, False),  # the second starts at byte 3
    "one tensor twice": ([(1, 8), (1, 8)], 1, True, False, False),
    "a model input": ([(1, 8), (1, 8)], 1, False, True, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_concatenation_in_place_only_where_safe_and_bit_exact(tmp_path, case):
    shapes, axis, reuse, concat_input, in_place = CASES[case]
    path = _concat_of_relus(tmp_path, case.replace(" ", "_"), shapes, axis, reuse, concat_input)
    steps = _concat_steps(path)
    if in_place:
        assert steps and all(isinstance(s, Alias) for s in steps)
    else:
        assert len(steps) == 1 and isinstance(steps[0], KernelCall)
    assert_bit_exact(path, samples=20)
    assert_no_live_overlap(compile_model(path))


def test_retinaface_concatenations_cost_nothing():
    path = SHARED_MODELS / "wider" / "tflm_retinaface.tflite"
    compiled = compile_model(path)
    steps = [s for s in compiled.model.steps if s.op.kind == "CONCATENATION"]
    assert steps and all(isinstance(s, Alias) for s in steps)
    assert_no_live_overlap(compiled)
