"""The arena planner: live buffers never overlap, offsets are aligned, the bound holds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyc.plan_memory import PLACEMENT_ORDERS, Buffer, Unit, _liveness_bound, _place

from conftest import SHARED_MODELS


def _alone(buffers):
    """Each buffer a placement unit of its own (no overlaps)."""
    return [Unit(b.key, ((b, 0),)) for b in buffers]


@st.composite
def buffer_sets(draw):
    steps = draw(st.integers(1, 12))
    count = draw(st.integers(1, 14))
    buffers = []
    for i in range(count):
        first = draw(st.integers(0, steps - 1))
        last = draw(st.integers(first, steps - 1))
        buffers.append(Buffer(f"t{i}", draw(st.integers(1, 300)), first, last))
    return steps, buffers


@settings(max_examples=500, deadline=None)
@given(buffer_sets(), st.sampled_from([1, 4, 16]), st.sampled_from(PLACEMENT_ORDERS))
def test_plan_never_overlaps_live_buffers(case, alignment, order):
    steps, buffers = case
    offsets = _place(_alone(buffers), alignment, order)
    for a in buffers:
        assert offsets[a.key] % alignment == 0
        for b in buffers:
            if a.key < b.key and a.first <= b.last and b.first <= a.last:
                disjoint = (
                    offsets[a.key] + a.size <= offsets[b.key]
                    or offsets[b.key] + b.size <= offsets[a.key]
                )
                assert disjoint, (a, b, offsets)
    arena = max(offsets[b.key] + b.size for b in buffers)
    assert arena >= _liveness_bound(buffers, steps)


def test_chain_of_layers_reuses_memory():
    # A -> B -> C -> D: only neighbours are live together, so two slots suffice.
    buffers = [
        Buffer("a", 100, 0, 0),
        Buffer("b", 100, 0, 1),
        Buffer("c", 100, 1, 2),
        Buffer("d", 100, 2, 2),
    ]
    offsets = _place(_alone(buffers), 4)
    assert max(offsets[b.key] + b.size for b in buffers) == 200
    assert _liveness_bound(buffers, 3) == 200



def _live_ranges(compiled, step_index):
    """(start, end) arena ranges of the activations live at a step."""
    from tinyc.plan_memory import alias_groups, live_buffers

    model, plan = compiled.model, compiled.plan
    root, _ = alias_groups(model)
    for buf in live_buffers(model, root):
        if buf.first <= step_index <= buf.last:
            start = plan.offsets[int(buf.key[1:])]
            yield start, start + buf.size


@pytest.mark.parametrize("policy", ["auto", "always", "never"])
@pytest.mark.parametrize("model", ["kws_ref_model.tflite", "pretrainedResnet_quant.tflite",
                                   "micro_speech_quantized.tflite"])
def test_scratch_buffers_sit_in_free_space(model, policy):
    from tinyc import compile_model

    from conftest import SHARED_MODELS

    compiled = compile_model(SHARED_MODELS / model, scratch=policy)
    baseline = compile_model(SHARED_MODELS / model, scratch="never").plan.arena_bytes
    for step, offset in compiled.plan.scratch_offsets.items():
        size = compiled.model.steps[step].scratch_bytes
        assert size > 0 and offset + size <= compiled.plan.arena_bytes
        for start, end in _live_ranges(compiled, step):
            assert offset + size <= start or end <= offset, (step, offset, start, end)
    wants_scratch = [s for s in compile_model(SHARED_MODELS / model, scratch="always").model.calls
                     if s.scratch_bytes]
    if policy == "auto":
        assert compiled.plan.arena_bytes == baseline  # scratch never grows the arena
    if policy == "always":
        assert len(compiled.plan.scratch_offsets) == len(wants_scratch)
    if policy == "never":
        assert not compiled.plan.scratch_offsets
        assert all(s.scratch_bytes == 0 for s in compiled.model.calls)


def assert_no_live_overlap(compiled) -> None:
    """No two tensors live at the same step share a byte unless one is a view of the other (an
    Alias: the same bytes by construction), or the step's kernel declares that overlap safe
    (an input dying there placed at the declared offset from the output born there). A tensor
    is live from the step that writes it (the first step for model inputs) to the last step
    that reads it (the last step for outputs)."""
    from tinyc.ops import Alias, KernelCall
    from tinyc.plan_memory import alias_groups, loop_regions

    model, plan = compiled.model, compiled.plan
    graph = model.graph
    root, _ = alias_groups(model)
    last_step = len(model.steps) - 1
    first = {t: 0 for t in graph.inputs}
    last = {t: last_step for t in graph.outputs}
    for i, step in enumerate(model.steps):
        reads = (step.source,) if isinstance(step, Alias) else step.tensors_read()
        writes = (step.target,) if isinstance(step, Alias) else step.tensors_written()
        for t in reads:
            last[t] = max(last.get(t, i), i)
        for t in writes:
            first.setdefault(t, i)
            last.setdefault(t, i)
    for start, end in loop_regions(model.steps):  # a value live into a loop is needed again
        for t in first:
            if first[t] < start <= last[t]:
                last[t] = max(last[t], end)
    declared = {(i, frozenset((t, s.op.outputs[0])))
                for i, s in enumerate(model.steps) if isinstance(s, KernelCall)
                for t, gap in s.overlaps
                if t in plan.offsets and s.op.outputs[0] in plan.offsets
                and plan.offsets[t] - plan.offsets[s.op.outputs[0]] == gap
                and last.get(t) == i and first.get(s.op.outputs[0]) == i}
    live = [t for t in first if t in plan.offsets]
    for i in range(len(model.steps)):
        now = [t for t in live if first[t] <= i <= last[t]]
        for a in now:
            for b in now:
                if a >= b or root[a] == root[b] or (i, frozenset((a, b))) in declared:
                    continue
                ra = (plan.offsets[a], plan.offsets[a] + graph.tensor(a).nbytes)
                rb = (plan.offsets[b], plan.offsets[b] + graph.tensor(b).nbytes)
                assert ra[1] <= rb[0] or rb[1] <= ra[0], (i, a, ra, b, rb)


@pytest.mark.parametrize("model", sorted(p.name for p in SHARED_MODELS.glob("*.tflite"))
                         + ["wider/tflm_retinaface.tflite", "wider/tflm_id_model.tflite",
                            "wider/te_vww.tflite"])
def test_no_two_live_tensors_share_a_byte(model):
    from tinyc import compile_model

    assert_no_live_overlap(compile_model(SHARED_MODELS / model))


def test_the_overlap_check_catches_a_bad_plan():
    import dataclasses

    from tinyc import compile_model

    compiled = compile_model(SHARED_MODELS / "kws_ref_model.tflite")
    squashed = dataclasses.replace(compiled.plan, offsets=dict.fromkeys(compiled.plan.offsets, 0))
    with pytest.raises(AssertionError):
        assert_no_live_overlap(dataclasses.replace(compiled, plan=squashed))


def test_nothing_runs_in_place_where_it_saves_no_arena():
    """kws in the default mode: its arena is the liveness bound with or without in-place
    kernels, so every call runs as lowered (no blocked variants, no restrict-free twins: their
    code would cost flash and time for nothing)."""
    from tinyc.pipeline import compile_model

    compiled = compile_model(SHARED_MODELS / "kws_ref_model.tflite")
    assert compiled.plan.arena_bytes == compiled.plan.liveness_bound == 16000
    assert compiled.plan.calls == {}
    source = compiled.files["kws_ref_model.cpp"]
    assert "in_place" not in source and "/* row_block */" in source
    assert all(line.strip() == "0, /* row_block */" for line in source.splitlines()
               if "/* row_block */" in line)
