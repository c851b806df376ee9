"""State across invokes: variable tensors live in a static region of their own, start as TFLM
starts them, survive between invokes, and NAME_reset() restores them; a model without state has
neither the region nor the function.

The op-level tests (LSTM, SVDF) are in their own files; here a model reads a variable tensor that
no op writes, which pins the initial values and the plumbing.
"""

from __future__ import annotations

import numpy as np

from tinyc.pipeline import compile_model

from conftest import assert_bit_exact, shared_model
from flatbuffer_models import TensorSpec, single_op_tflite


def _add_state_model(tmp_path, zero_point: int):
    """ADD(x, s) with s an int8 variable tensor of zero point `zero_point` (TFLM fills it with
    that byte, so s reads as real 0 and the output is x rescaled)."""
    tensors = [TensorSpec([1, 24], np.int8, (0.1, 3)),
               TensorSpec([1, 24], np.int8, (0.05, zero_point), variable=True),
               TensorSpec([1, 24], np.int8, (0.2, -2))]
    path = tmp_path / f"state{abs(zero_point)}.tflite"
    path.write_bytes(single_op_tflite("ADD", tensors, [0], [2], "AddOptions"))
    return path


def test_state_is_initialised_as_tflm_does_and_reset_restores_it(tmp_path):
    for zero_point in (0, -7):
        path = _add_state_model(tmp_path, zero_point)
        report = assert_bit_exact(path, samples=10)
        assert report.reset_exact is True
        compiled = compile_model(path)
        name = compiled.name
        assert compiled.plan.state_bytes == 24
        header, source = compiled.files[f"{name}.h"], compiled.files[f"{name}.cpp"]
        assert f"#define {name.upper()}_STATE_BYTES 24" in header
        assert f"int {name}_reset(void);" in header and f"{name}_state + 0" in source
        # The state is not in the arena: the arena holds the input and the output only, and
        # the element-wise ADD writes its output over its input (24 bytes for both).
        assert compiled.plan.liveness_bound == 48
        assert compiled.plan.arena_bytes == 24
        if zero_point == 0:  # all-zero initial state: no initializer, the array is in .bss
            assert f"{name}_state[STATE0_STATE_BYTES] STATE0_STATE_ATTRIBUTES;" in source
        else:
            assert "249, 249, 249" in source  # -7 as a byte


def test_a_model_without_state_has_neither_region_nor_reset():
    compiled = compile_model(shared_model("hello_world_int8.tflite"))
    assert compiled.plan.state_bytes == 0
    for text in compiled.files.values():
        assert "_reset" not in text and "STATE_BYTES" not in text
