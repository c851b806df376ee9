"""A bench-only hook: compile with every data-movement op as a plain copy (issue 9's baseline).

tinyc normally removes data movement where it can: TRANSPOSE -> [element-wise op or PAD] ->
inverse TRANSPOSE chains are rewritten away (tinyc.simplify.remove_layout_round_trips), a
CONCATENATION along its outermost axis becomes aliases whose producers write straight into
their slots (tinyc.in_place.concatenations_in_place), and a copy whose bytes do not move or
that is one contiguous run of its input (a TRANSPOSE of unit dimensions, a SPLIT along the
outermost axis, a SLICE of whole rows) becomes an alias (tinyc.ops.strided_copy.view_of,
CopyNest.is_identity). To measure what that saves, `every_copy()` turns all of it off for the
compiles inside the block, by patching those functions in the modules that call them:

    with every_copy():
        compiled = compile_model(path)

This is not a compiler option and changes no compiler file: the patches are undone when the
block ends. RESHAPE-like aliases (same bytes, new shape) and a SPLIT into one output stay
aliases: they move nothing in TFLM either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

# The ops whose aliases and removals the report counts (bench.py --data-movement).
DATA_MOVEMENT = ("TRANSPOSE", "SPLIT", "SPLIT_V", "CONCATENATION", "PACK", "UNPACK", "SLICE",
                 "STRIDED_SLICE")


@contextlib.contextmanager
def every_copy() -> Iterator[None]:
    import tinyc.lower
    import tinyc.ops.split_pack
    import tinyc.ops.strided_copy
    import tinyc.pipeline

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(tinyc.lower, "remove_layout_round_trips",
                                              lambda graph: graph))
        stack.enter_context(mock.patch.object(tinyc.pipeline, "concatenations_in_place",
                                              lambda model, arena_of: model))
        for module in (tinyc.ops.strided_copy, tinyc.ops.split_pack):
            stack.enter_context(mock.patch.object(module, "view_of", lambda x, offset: None))
        stack.enter_context(mock.patch.object(tinyc.ops.strided_copy.CopyNest, "is_identity",
                                              lambda self: False))
        yield


def movement_counts(original_graph, compiled) -> dict[str, dict[str, int]]:
    """Per data-movement op kind present in the model: {"model": ops in the .tflite, "removed":
    gone before lowering (layout round trips, constant folding), "aliases": ops that became
    aliases only (views, in-place concatenations), "copies": ops with a kernel call}."""
    from tinyc.ops import Alias, KernelCall

    counts: dict[str, dict[str, int]] = {}
    for op in original_graph.ops:
        if op.kind in DATA_MOVEMENT:
            counts.setdefault(op.kind, {"model": 0, "removed": 0, "aliases": 0, "copies": 0})
            counts[op.kind]["model"] += 1
    steps: dict[int, list] = {}
    for step in compiled.model.steps:
        if isinstance(step, (Alias, KernelCall)):
            steps.setdefault(step.op.index, []).append(step)
    lowered = compiled.model.graph
    for op in lowered.ops:
        if op.kind not in counts:
            continue
        kinds = steps.get(op.index, [])
        if any(isinstance(s, KernelCall) for s in kinds):
            counts[op.kind]["copies"] += 1
        else:
            counts[op.kind]["aliases"] += 1
    for kind, c in counts.items():
        c["removed"] = c["model"] - sum(op.kind == kind for op in lowered.ops)
    return counts
