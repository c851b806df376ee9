"""IF, WHILE and resource variables (CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE),
converted from tf.function models, against TFLM over sequences of invokes.

verify_model runs its samples as one sequence on both sides (state carried over), then checks
that NAME_reset() brings back the first step's outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc import compile_model
from tinyc.errors import TinycError
from tinyc.ops import Control

from conftest import assert_bit_exact
from model_mutations import edited
from test_plan_memory import assert_no_live_overlap
from tflite_builders import cached_model, quiet_tensorflow


def _convert(functions, trackable=None, resource_variables=False) -> bytes:
    tf = quiet_tensorflow()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(functions, trackable)
    converter.experimental_enable_resource_variables = resource_variables
    return converter.convert()


def _accumulator():
    """A state y <- 0.5 y + x kept in a tf.Variable starting at [1, 2, 3, 4]."""
    tf = quiet_tensorflow()

    class Accumulate(tf.Module):
        def __init__(self):
            self.v = tf.Variable([[1.0, 2.0, 3.0, 4.0]])

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):
            self.v.assign(self.v * 0.5 + x)
            return self.v * 2.0

    module = Accumulate()
    return _convert([module.__call__.get_concrete_function()], module, True)


def _while_loop():
    tf = quiet_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def grow(x):
        def cond(i, y):
            return tf.logical_and(tf.reduce_sum(tf.abs(y)) < 100.0, i < 20)

        def body(i, y):
            return i + 1, y * 1.5 + 1.0

        i, y = tf.while_loop(cond, body, [tf.constant(0), x])
        return y, i

    return _convert([grow.get_concrete_function()])


def _if_else():
    tf = quiet_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def branch(x):
        return tf.cond(tf.reduce_sum(x) > 0.0, lambda: x * 2.0, lambda: tf.nn.relu(x) - 1.0)

    return _convert([branch.get_concrete_function()])


def _state_and_loop():
    """A resource variable updated by the result of a WHILE loop: state and control flow."""
    tf = quiet_tensorflow()

    class Smooth(tf.Module):
        def __init__(self):
            self.v = tf.Variable(tf.fill([1, 4], 0.25))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):
            def cond(y):
                return tf.reduce_max(tf.abs(y)) > 1.0

            def body(y):
                return (y * 0.5,)

            (y,) = tf.while_loop(cond, body, [x + self.v])
            self.v.assign(y)
            return y

    module = Smooth()
    return _convert([module.__call__.get_concrete_function()], module, True)


MODELS = {"accumulator": _accumulator, "while": _while_loop, "if": _if_else,
          "state and loop": _state_and_loop}


def _path(name):
    return cached_model(f"control-flow-{name.replace(' ', '-')}-v1", MODELS[name])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_matches_tflm_over_a_sequence_and_after_reset(name):
    report = assert_bit_exact(_path(name), samples=30)
    compiled = compile_model(_path(name))
    assert_no_live_overlap(compiled)  # loop variables and values live into a loop kept apart
    if name in ("accumulator", "state and loop"):
        assert report.reset_exact is True and compiled.plan.state_bytes == 16
    else:
        assert report.reset_exact is None and compiled.plan.state_bytes == 0


def test_the_loop_and_the_branch_are_c_control_flow():
    loop = compile_model(_path("while"), name="m")
    kinds = [s.kind for s in loop.model.steps if isinstance(s, Control)]
    assert kinds == ["loop", "break_unless", "end"]
    text = loop.files["m.cpp"]
    assert "for (;;) {" in text and ") break;" in text
    branch = compile_model(_path("if"), name="m")
    assert [s.kind for s in branch.model.steps if isinstance(s, Control)] == ["if", "else", "end"]
    assert "} else {" in branch.files["m.cpp"]


def test_state_starts_with_what_call_once_assigns():
    compiled = compile_model(_path("accumulator"), name="m")
    (t,) = compiled.plan.state_offsets
    assert compiled.model.graph.tensor(t).initial.tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert "0, 0, 128, 63, 0, 0, 0, 64" in compiled.files["m.cpp"]  # 1.0f, 2.0f as bytes
    assert "memcpy(m_state + 0, m_state_initial + 0, 16);" in compiled.files["m.cpp"]


@pytest.mark.parametrize("option,value,words", [
    ("thenSubgraphIndex", 7, ["runs subgraph 7, which does not exist"]),
    ("thenSubgraphIndex", 0, ["runs subgraph 0, which does not exist"]),
])
def test_bad_subgraph_references_are_refused(tmp_path, option, value, words):
    def edit(model):
        for op in model.subgraphs[0].operators:
            if op.builtinOptions is not None and hasattr(op.builtinOptions, option):
                setattr(op.builtinOptions, option, value)

    path = tmp_path / "bad.tflite"
    path.write_bytes(edited(_path("if"), edit))
    with pytest.raises(TinycError) as info:
        compile_model(path)
    for word in words:
        assert word in str(info.value)


def test_an_if_inside_its_own_branch_is_refused(tmp_path):
    def edit(model):  # subgraph 2 (the then-branch) gets an IF that runs subgraph 2 again
        import copy

        outer_if = next(op for op in model.subgraphs[0].operators
                        if op.builtinOptions is not None
                        and hasattr(op.builtinOptions, "thenSubgraphIndex"))
        then = model.subgraphs[outer_if.builtinOptions.thenSubgraphIndex]
        inner = copy.deepcopy(outer_if)
        inner.inputs = np.array([0, 0], np.int32)
        inner.outputs = then.outputs
        then.operators = [inner]

    path = tmp_path / "recursive.tflite"
    path.write_bytes(edited(_path("if"), edit))
    with pytest.raises(TinycError, match="within itself"):
        compile_model(path)
