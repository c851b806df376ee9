"""In-place execution: an input that dies at a kernel declaring the overlap safe shares bytes
with its output (plan_memory.overlap_units). Every overlapped plan must compute the same bytes as
the plan with no overlap, and as TFLM; no two live tensors may share a byte beyond what the
kernels declare.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyc import compile_model, plan_memory
from tinyc.pipeline import compile_graph
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import random_inputs

from conftest import assert_bit_exact
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from test_plan_memory import assert_no_live_overlap

N = 96  # elements of every tensor
UNARY = {"RELU": None, "LOGISTIC": None, "TANH": None,
         "LEAKY_RELU": ("LeakyReluOptions", {"alpha": 0.3})}
BINARY = {"ADD": ("AddOptions", {}), "SUB": ("SubOptions", {}), "MUL": ("MulOptions", {})}


@st.composite
def elementwise_graphs(draw):
    """Random int8 DAGs of element-wise ops on [1, N] tensors; some intermediates are outputs."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    tensors = [TensorSpec([1, N], np.int8, (float(rng.uniform(0.01, 0.1)), 0))]
    ops = []
    for _ in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        pick = [draw(st.integers(0, len(tensors) - 1))
                for _ in range(2 if kind in BINARY else 1)]
        if kind == "LOGISTIC":
            quant = (1 / 256, -128)
        elif kind == "TANH":
            quant = (1 / 128, 0)
        else:
            quant = (float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20)))
        tensors.append(TensorSpec([1, N], np.int8, quant))
        options = BINARY.get(kind) or UNARY.get(kind) or (None, {})
        ops.append(OperatorSpec(kind, pick, [len(tensors) - 1], options[0], options[1]))
    outputs = sorted({len(tensors) - 1} | {i for i in range(1, len(tensors))
                                           if draw(st.booleans()) and rng.random() < 0.3})
    return tflite_model(tensors, ops, [0], outputs)


def _without_overlaps(monkeypatch):
    monkeypatch.setattr(plan_memory, "overlap_units",
                        lambda model, root, delta, buffers, steps=None: [
                            plan_memory.Unit(b.key, ((b, 0),)) for b in buffers])


@pytest.mark.parametrize("memory", plan_memory.MEMORY_MODES)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=elementwise_graphs())
def test_overlapped_plans_compute_what_separate_buffers_compute(tmp_path, monkeypatch, memory,
                                                                data):
    path = tmp_path / "g.tflite"
    path.write_bytes(data)
    graph = read_model(path)
    overlapped = compile_graph(graph, "g", memory=memory)
    assert_no_live_overlap(overlapped)
    with monkeypatch.context() as m:
        _without_overlaps(m)
        separate = compile_graph(graph, "g", memory=memory)
    assert overlapped.plan.arena_bytes <= separate.plan.arena_bytes
    a = build_host_model(overlapped.files, "g")
    inputs = [random_inputs(graph, np.random.default_rng(seed)) for seed in range(4)]
    results_a = [a.run(x) for x in inputs]
    b = build_host_model(separate.files, "g")
    assert results_a == [b.run(x) for x in inputs]


def _chain(tmp_path, kinds):
    tensors = [TensorSpec([1, 1000], np.int8, (0.05, 0))]
    ops = []
    for kind in kinds:
        quant = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}.get(kind, (0.05, 0))
        tensors.append(TensorSpec([1, 1000], np.int8, quant))
        opts = UNARY.get(kind) or (None, {})
        ops.append(OperatorSpec(kind, [len(tensors) - 2], [len(tensors) - 1], opts[0], opts[1]))
    path = tmp_path / "chain.tflite"
    path.write_bytes(tflite_model(tensors, ops, [0], [len(tensors) - 1]))
    return path


def test_a_chain_of_activations_runs_in_one_buffer(tmp_path):
    path = _chain(tmp_path, ["RELU", "LOGISTIC", "LEAKY_RELU", "TANH", "RELU"])
    compiled = compile_model(path)
    assert compiled.plan.arena_bytes == 1000  # was 2000: every step in place
    assert_no_live_overlap(compiled)
    assert_bit_exact(path, samples=20)


def test_an_input_read_later_is_not_overwritten(tmp_path):
    """x -> RELU -> a; ADD(a, x): x is read again after RELU, so RELU may not write over it."""
    q = (0.05, 0)
    tensors = [TensorSpec([1, 64], np.int8, q), TensorSpec([1, 64], np.int8, q),
               TensorSpec([1, 64], np.int8, q)]
    ops = [OperatorSpec("RELU", [0], [1]), OperatorSpec("ADD", [1, 0], [2], "AddOptions")]
    path = tmp_path / "reuse.tflite"
    path.write_bytes(tflite_model(tensors, ops, [0], [2]))
    compiled = compile_model(path)
    offsets = compiled.plan.offsets
    assert offsets[0] != offsets[1]  # RELU's input lives on
    assert offsets[2] in (offsets[0], offsets[1])  # ADD writes over one of its dying inputs
    assert_bit_exact(path, samples=20)


@pytest.mark.parametrize("model", ["wider/seanet_add0_i16.tflite",
                                   "wider/seanet_leaky_relu0_i16.tflite"])
def test_element_wise_models_halve_their_arena(model):
    from conftest import SHARED_MODELS

    compiled = compile_model(SHARED_MODELS / model)
    assert compiled.plan.arena_bytes * 3 <= compiled.plan.liveness_bound * 2
    assert_no_live_overlap(compiled)
    assert_bit_exact(SHARED_MODELS / model, samples=20)
