"""The arena planner: live buffers never overlap, offsets are aligned, the bound holds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tinyc.plan_memory import PLACEMENT_ORDERS, Buffer, _liveness_bound, _place


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
    offsets = _place(buffers, alignment, order)
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
    offsets = _place(buffers, 4)
    assert max(offsets[b.key] + b.size for b in buffers) == 200
    assert _liveness_bound(buffers, 3) == 200

