"""Every real model in ../shared/models and ../shared/models/wider: compiled, bit-exact with TFLM
(over a sequence of invokes for the models with state, then after reset), arena within TFLM's
activation plan."""

from __future__ import annotations

import pytest

from tinyc import compile_model
from tinyc.ops import Alias
from tinyc.verify.tflm_memory import tflm_arena

from conftest import SHARED_MODELS, assert_bit_exact

MODELS = sorted(p.name for p in SHARED_MODELS.glob("*.tflite"))
WIDER = sorted(f"wider/{p.name}" for p in (SHARED_MODELS / "wider").glob("*.tflite"))


def test_the_shared_models_are_there():
    assert len(MODELS) >= 8, MODELS
    assert len(WIDER) >= 14, WIDER


@pytest.mark.parametrize("model", WIDER)
def test_wider_model_bit_exact_and_arena_within_tflm(model):
    report = assert_bit_exact(SHARED_MODELS / model, samples=100, seed=1)
    assert report.reset_exact is not False
    compiled = compile_model(SHARED_MODELS / model)
    tflm = tflm_arena(SHARED_MODELS / model, input_count=len(compiled.model.graph.inputs))
    # TFLM keeps state in its arena's persistent tail; tinyc in its own region, counted here.
    assert compiled.plan.arena_bytes <= tflm["head"], (compiled.plan, tflm)


@pytest.mark.parametrize("model", MODELS)
def test_bit_exact_with_tflm_on_100_random_inputs(model):
    report = assert_bit_exact(SHARED_MODELS / model, samples=100, seed=1)
    assert report.samples == 100


@pytest.mark.parametrize("model", MODELS)
def test_arena_within_tflm_activation_plan(model):
    compiled = compile_model(SHARED_MODELS / model)
    tflm = tflm_arena(SHARED_MODELS / model)
    plan = compiled.plan
    # In place, a plan may go below the liveness bound, never below the in-place bound.
    assert plan.in_place_bound <= plan.arena_bytes <= tflm["head"], (plan, tflm)


@pytest.mark.parametrize("model", MODELS)
def test_reshapes_are_aliases_not_copies(model):
    compiled = compile_model(SHARED_MODELS / model)
    for step in compiled.model.steps:
        if step.op.kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
            assert isinstance(step, Alias)
            assert compiled.plan.offsets[step.source] == compiled.plan.offsets[step.target]
