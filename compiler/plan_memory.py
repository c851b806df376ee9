"""plan: LoweredModel -> MemoryPlan, one static arena for every activation and scratch buffer.

Activations first, greedy first-fit (as TFLM's GreedyMemoryPlanner): buffers are placed one by one,
each at the lowest aligned offset that overlaps no already-placed buffer whose lifetime meets its
own. TFLM places the largest first; that order is one of a few tried here, and the smallest arena
wins (ties: the first). Aliases (RESHAPE and friends) share their source's buffer and extend its
lifetime.

State (tensors the model marks variable: LSTM and SVDF state) is not in the arena: the arena's
bytes are free between invokes, the state's are not. It gets a region of its own, `state_bytes`
long, each tensor at `state_offsets[t]`, for the program's whole life.

Scratch buffers (im2col columns) come next, one per call that asks for one, each live
for its call only. The policy decides what a scratch buffer may cost:
  "auto"   (default) only where it fits in a hole of the activation plan, so the arena never grows
           for scratch; calls left without one run their scratch-free fallback kernel;
  "always" every call gets its scratch, growing the arena where needed (fastest kernels);
  "never"  no scratch at all: every call that has a fallback runs it.

In place (see "Overlaps" below): an input that dies at a call may share bytes with the call's
output where the kernel's order of reads and writes allows it. Some calls have variants that
run in another order to allow more (compiler/variants.py); the memory mode decides which count:
  "fast"   (default) the calls as lowered, and variants marked free (no measurable cost);
  "small"  every variant, whatever it costs.
Overlaps are taken one call at a time (greedy, largest live bytes first), each kept only if the
arena gets smaller, then each call goes back to its cheapest option that keeps the arena.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from .lower import LoweredModel
from .ops import Alias, Control, KernelCall
from .variants import run_in_place, variants_of

ALIGNMENT = 4  # enough for float32 and int32 buffers; int8 kernels read bytes
SCRATCH_POLICIES = ("auto", "always", "never")
MEMORY_MODES = ("fast", "small")


@dataclass(frozen=True)
class Buffer:
    key: str  # "t<tensor>" or "s<step>" for a scratch buffer
    size: int
    first: int  # first step index at which it is live
    last: int  # last step index at which it is live


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    offsets: dict[int, int]  # tensor index -> arena offset (aliases included)
    scratch_offsets: dict[int, int]  # step index -> offset of its scratch (steps that got one)
    alignment: int
    liveness_bound: int  # largest sum of simultaneously live activations: no plan can go lower
    state_offsets: dict[int, int] = field(default_factory=dict)  # variable tensor -> offset
    state_bytes: int = 0  # the state region's size (0: the model keeps nothing across invokes)
    # The liveness bound with every overlap the memory mode allows: at each step, an input
    # merged with its output counts the bytes of the two together (their unit's extent).
    in_place_bound: int = 0
    calls: dict[int, KernelCall] = field(default_factory=dict)  # step -> the variant it runs
    memory: str = "fast"


def plan_memory(model: LoweredModel, alignment: int = ALIGNMENT,
                scratch: str = "auto", memory: str = "fast") -> MemoryPlan:
    if scratch not in SCRATCH_POLICIES:
        raise ValueError(f"scratch policy {scratch!r} is not one of {SCRATCH_POLICIES}")
    if memory not in MEMORY_MODES:
        raise ValueError(f"memory mode {memory!r} is not one of {MEMORY_MODES}")
    root, delta = alias_groups(model)
    activations = live_buffers(model, root, delta)
    chooser = _Chooser(model, root, delta, activations, alignment, scratch, memory)
    best = chooser.choose()
    offsets, scratch_offsets, arena = chooser.evaluate(best)
    tensor_offsets = {t: offsets[f"t{r}"] + delta[t] for t, r in root.items()
                      if f"t{r}" in offsets}
    state_offsets, state_bytes = _place_state(model, alignment)
    calls = {i: option.call for i, option in best.items() if option.call is not model.steps[i]}
    for i, step in enumerate(model.steps):
        call = calls.get(i, step)
        if isinstance(call, KernelCall) and _runs_in_place(call, tensor_offsets, model.graph):
            calls[i] = run_in_place(call)
    return MemoryPlan(_round_up(arena, alignment), tensor_offsets, scratch_offsets, alignment,
                      _liveness_bound(activations, len(model.steps)), state_offsets, state_bytes,
                      chooser.in_place_bound, calls, memory)


@dataclass(frozen=True)
class _Option:
    """What a step runs, and whether its overlaps are taken (merged in the plan)."""

    call: KernelCall
    cost: float
    merge: bool


class _Chooser:
    """Per call: run it as lowered, or in place (its own overlaps or a variant's)."""

    def __init__(self, model, root, delta, activations, alignment, scratch, memory):
        self.model, self.root, self.delta = model, root, delta
        self.activations, self.alignment, self.scratch = activations, alignment, scratch
        self.options: dict[int, list[_Option]] = {}
        for i, step in enumerate(model.steps):
            if not isinstance(step, KernelCall):
                continue
            merges = [_Option(step, 0.0, True)] if step.overlaps else []
            merges += [_Option(v.call, v.cost, True) for v in variants_of(model.graph, step)
                       if v.call.overlaps and (v.free or memory == "small")]
            if merges:
                self.options[i] = [_Option(step, 0.0, False)] + sorted(
                    merges, key=lambda o: o.cost)
        self._cache: dict[tuple, tuple] = {}

    def _model(self, choice: dict[int, _Option]) -> LoweredModel:
        if all(o.call is self.model.steps[i] for i, o in choice.items()):
            return self.model
        steps = list(self.model.steps)
        for i, o in choice.items():
            steps[i] = o.call
        return LoweredModel(self.model.graph, tuple(steps))

    def units(self, choice: dict[int, _Option]) -> list[Unit]:
        merged = {i for i, o in choice.items() if o.merge}
        if not merged:
            return [Unit(b.key, ((b, 0),)) for b in self.activations]
        return overlap_units(self._model(choice), self.root, self.delta, self.activations,
                             merged)

    def evaluate(self, choice: dict[int, _Option]):
        """(buffer offsets, scratch offsets, arena end) of the best placement."""
        return self._evaluate(choice)[:3]

    def _evaluate(self, choice: dict[int, _Option]):
        key = tuple(sorted((i, id(o.call), o.merge) for i, o in choice.items()))
        if key not in self._cache:
            units = self.units(choice)
            live = _unit_live_bytes(units, len(self.model.steps))
            placements = [_place(units, self.alignment, order) for order in PLACEMENT_ORDERS]
            if len(units) < len(self.activations):  # merged units: chains want both sides
                placements.append(_place_below(units, self.alignment,
                                               _round_up(max(live, default=0),
                                                         self.alignment)))
            offsets = min(placements, key=lambda placed: _arena_end(self.activations, placed))
            model = self._model(choice)
            scratch_offsets = _place_scratch(model, self.activations, offsets, self.alignment,
                                             self.scratch)
            arena = max([_arena_end(self.activations, offsets)] + [
                offset + model.steps[step].scratch_bytes
                for step, offset in scratch_offsets.items()])
            profile = tuple(sorted(live, reverse=True))
            self._cache[key] = (offsets, scratch_offsets, arena, profile)
        return self._cache[key]

    def _key(self, choice) -> tuple:
        """What the greedy minimizes: the arena, then the bytes live per step (largest first,
        each merged unit counted by its extent), which placement does not blur."""
        result = self._evaluate(choice)
        return result[2], result[3]

    def smallest(self) -> dict[int, _Option]:
        """Every step at its option of the smallest footprint: the input closest to the output
        (forwards or backwards), of those the most expensive."""
        def footprint(k_option):
            k, option = k_option
            return (max((abs(g) for _, g in option.call.overlaps), default=0)
                    if option.merge else float("inf"), -k)

        return {i: min(enumerate(opts), key=footprint)[1] for i, opts in self.options.items()}

    @functools.cached_property
    def in_place_bound(self) -> int:
        """The bytes live at the worst step with every step at its smallest footprint (asked by
        the greedy and by the plan: computed once)."""
        return max(_unit_live_bytes(self.units(self.smallest()), len(self.model.steps)),
                   default=sum(b.size for b in self.activations))

    def choose(self) -> dict[int, _Option]:
        none = {i: opts[0] for i, opts in self.options.items()}
        if not self.options:
            return none
        # Greedy: the steps where the most bytes are live first; at each, the option that
        # shrinks the plan most. A few rounds: a merge that fragments the arena at first may
        # pay once others are taken.
        live = {i: sum(b.size for b in self.activations if b.first <= i <= b.last)
                for i in self.options}
        floor = self.in_place_bound
        choice = dict(none)
        current = self._key(choice)
        for _ in range(3):
            changed = False
            for i in sorted(self.options, key=lambda i: (-live[i], i)):
                if current[0] <= floor:
                    break  # at the bound: nothing left to gain
                if live[i] <= floor:
                    continue  # merging here cannot take the arena below the bound
                for option in self.options[i]:
                    key = self._key({**choice, i: option})
                    if key < current:
                        choice[i], current, changed = option, key, True
            if not changed:
                break
        smallest = self.smallest()
        if self._key(smallest) < current:
            choice, current = smallest, self._key(smallest)
        # Then each step back to its cheapest option (not merging first) that keeps the arena.
        for i in sorted(self.options, key=lambda i: (-choice[i].cost, i)):
            for option in self.options[i]:
                if option is choice[i]:
                    break
                key = self._key({**choice, i: option})
                if key[0] <= current[0]:
                    choice[i], current = option, key
                    break
        # Steps reverted one at a time can hold each other in place (kws: a depthwise and the
        # 1x1 after it): when nothing in place at all gives the same arena, run nothing in
        # place (no blocked variants, no twins without restrict: less code, no slower).
        if self._key(none)[0] <= current[0]:
            return none
        return choice


def _runs_in_place(call: KernelCall, offsets: dict[int, int], graph) -> bool:
    """Whether the plan puts one of the inputs `call` may overlap on bytes of its output."""
    if not call.overlaps or not call.op.outputs:  # e.g. ASSIGN_VARIABLE: writes no output
        return False
    out = call.op.outputs[0]
    if out not in offsets:
        return False
    start, end = offsets[out], offsets[out] + graph.tensor(out).nbytes
    return any(t in offsets and offsets[t] < end and start < offsets[t] + graph.tensor(t).nbytes
               for t, _ in call.overlaps)


def _unit_live_bytes(units: list[Unit], steps: int) -> list[int]:
    """Per step, the bytes of the units live there, a unit counted from its lowest live part's
    start to its highest live part's end."""
    live = [0] * steps
    for unit in units:
        if len(unit.parts) == 1:
            b = unit.parts[0][0]
            for s in range(b.first, min(b.last, steps - 1) + 1):
                live[s] += b.size
            continue
        for s in range(unit.first, min(unit.last, steps - 1) + 1):
            parts = [(b, o) for b, o in unit.parts if b.first <= s <= b.last]
            if parts:
                live[s] += max(o + b.size for b, o in parts) - min(o for _, o in parts)
    return live


def _place_state(model: LoweredModel, alignment: int) -> tuple[dict[int, int], int]:
    """Variable tensors the calls use, one after the other, in index order."""
    graph = model.graph
    used = sorted({t for step in model.steps if isinstance(step, KernelCall)
                   for t in step.tensors_read() + step.tensors_written()
                   if graph.tensor(t).is_variable})
    offsets, end = {}, 0
    for t in used:
        offsets[t] = end
        end = _round_up(end + graph.tensor(t).nbytes, alignment)
    return offsets, end


def apply_scratch_plan(model: LoweredModel, plan: MemoryPlan) -> LoweredModel:
    """Calls run the variant the plan chose (plan.calls); calls the plan gave no scratch run
    their fallback kernel."""
    if plan.calls:
        model = LoweredModel(model.graph, tuple(plan.calls.get(i, s)
                                                for i, s in enumerate(model.steps)))
    steps = tuple(
        step.fallback
        if isinstance(step, KernelCall) and step.scratch_bytes and i not in plan.scratch_offsets
        else step
        for i, step in enumerate(model.steps)
    )
    return LoweredModel(model.graph, steps)


def _place_scratch(model: LoweredModel, activations: list[Buffer], offsets: dict[str, int],
                   alignment: int, policy: str) -> dict[int, int]:
    arena = _arena_end(activations, offsets)
    placed = [(b, offsets[b.key]) for b in activations]
    wanted = [Buffer(f"s{i}", s.scratch_bytes, i, i) for i, s in enumerate(model.steps)
              if isinstance(s, KernelCall) and s.scratch_bytes > 0]
    result: dict[int, int] = {}
    for buf in sorted(wanted, key=lambda b: (-b.size, b.first)):
        step = model.steps[buf.first]
        optional = step.fallback is not None
        if policy == "never" and optional:
            continue
        offset = _first_fit(buf, placed, alignment)
        if policy == "auto" and optional and offset + buf.size > arena:
            continue  # no hole big enough: the fallback kernel runs instead
        placed.append((buf, offset))
        result[buf.first] = offset
    return result


def alias_groups(model: LoweredModel) -> tuple[dict[int, int], dict[int, int]]:
    """Every activation tensor -> the tensor whose buffer it uses, and its byte offset there.

    Each Alias says target = source's bytes from `offset` on. The groups they form are resolved
    with offsets (union-find): a slice view sits inside its source, the inputs of a
    CONCATENATION placed in place (in_place.py) sit inside its output. A root's buffer spans
    every member (`_group_bytes`)."""
    graph = model.graph
    parent: dict[int, tuple[int, int]] = {}  # tensor -> (parent, offset of tensor in parent)

    def find(t: int) -> tuple[int, int]:
        parent.setdefault(t, (t, 0))
        up, offset = parent[t]
        if up == t:
            return t, 0
        root, above = find(up)
        parent[t] = (root, offset + above)
        return parent[t]

    def activation(t: int) -> bool:
        return not graph.tensor(t).is_const and not graph.tensor(t).is_variable

    for t in graph.inputs:
        find(t)
    for step in model.steps:
        if isinstance(step, Alias):
            (source_root, source_at), (target_root, target_at) = (find(step.source),
                                                                  find(step.target))
            target_should = source_at + step.offset  # where the target sits in source's root
            if source_root == target_root:
                if target_at != target_should:
                    raise RuntimeError(f"op {step.op.index}: conflicting views of tensor "
                                       f"{step.target}")
            elif target_should >= target_at:
                parent[target_root] = (source_root, target_should - target_at)
            else:
                parent[source_root] = (target_root, target_at - target_should)
            continue
        for t in step.tensors_read() + step.tensors_written():
            if activation(t):
                find(t)
    resolved = {t: find(t) for t in list(parent)}
    return {t: r for t, (r, _) in resolved.items()}, {t: d for t, (_, d) in resolved.items()}


def _group_bytes(graph, root: dict[int, int], delta: dict[int, int]) -> dict[int, int]:
    """The bytes each alias group's buffer needs: up to the end of its furthest member."""
    size: dict[int, int] = {}
    for t, r in root.items():
        size[r] = max(size.get(r, 0), delta[t] + graph.tensor(t).nbytes)
    return size


def live_buffers(model: LoweredModel, root: dict[int, int],
             delta: dict[int, int] | None = None) -> list[Buffer]:
    """Activation buffers (one per alias group) with the steps they are live in."""
    graph = model.graph
    sizes = _group_bytes(graph, root, delta or dict.fromkeys(root, 0))
    last_step = max(len(model.steps) - 1, 0)
    first: dict[int, int] = {root[t]: 0 for t in graph.inputs}
    last: dict[int, int] = {}
    for i, step in enumerate(model.steps):
        reads = (step.source,) if isinstance(step, Alias) else step.tensors_read()
        writes = (step.target,) if isinstance(step, Alias) else step.tensors_written()
        for t in reads:
            if t in root:
                last[root[t]] = max(last.get(root[t], i), i)
        for t in writes:
            if t in root:
                first[root[t]] = min(first.get(root[t], i), i)
                last[root[t]] = max(last.get(root[t], i), i)
    for t in graph.outputs:
        if t in root:
            last[root[t]] = last_step
    for start, end in loop_regions(model.steps):
        # A buffer live into a loop is needed again at the next iteration: to the loop's end.
        for t in first:
            if first[t] < start <= last.get(t, first[t]):
                last[t] = max(last[t], end)
    return [Buffer(f"t{t}", sizes[t], first[t], last.get(t, first[t])) for t in sorted(first)]


def loop_regions(steps) -> list[tuple[int, int]]:
    """(first, last) step index of every "loop" ... "end" region, inner ones first."""
    regions, open_ = [], []
    for i, step in enumerate(steps):
        if isinstance(step, Control) and step.kind in ("loop", "if"):
            open_.append((step.kind, i))
        elif isinstance(step, Control) and step.kind == "end":
            kind, start = open_.pop()
            if kind == "loop":
                regions.append((start, i))
    return regions


PLACEMENT_ORDERS = (
    lambda b: (-b.size, b.first, b.key),  # largest first: TFLM's order
    lambda b: (b.first, -b.size, b.key),  # in order of first use
    lambda b: (-(b.last - b.first), -b.size, b.key),  # longest-lived first
    lambda b: (-b.size * (b.last - b.first + 1), b.key),  # largest area in the size x time chart
)


def _arena_end(buffers: list[Buffer], offsets: dict[str, int]) -> int:
    return max((offsets[b.key] + b.size for b in buffers), default=0)


# --- Overlaps ---
#
# A kernel may declare (KernelCall.overlaps) that an input can share bytes with its output at a
# fixed offset, because of the order in which it reads and writes: an element-wise kernel reads
# element i before it writes element i. When that input dies at that call (nothing reads it
# later) and the output is born there, the two buffers become one placement unit: each keeps its
# own lifetime, at a fixed offset from the other, so the arena holds them overlapped where the
# kernel's order allows and apart everywhere else. Units are placed like buffers, every part
# clear of every other live part.


@dataclass(frozen=True)
class Unit:
    """Buffers placed together: (buffer, its offset from the unit's start)."""

    key: str
    parts: tuple[tuple[Buffer, int], ...]

    @property
    def size(self) -> int:
        return max(o + b.size for b, o in self.parts)

    @property
    def first(self) -> int:
        return min(b.first for b, _ in self.parts)

    @property
    def last(self) -> int:
        return max(b.last for b, _ in self.parts)


def overlap_units(model: LoweredModel, root: dict[int, int], delta: dict[int, int],
                  buffers: list[Buffer], steps: set[int] | None = None) -> list[Unit]:
    """The buffers, grouped by the overlaps the kernels allow (see above); only those of
    `steps` when given."""
    by_root = {int(b.key[1:]): b for b in buffers}
    unit_of = {r: r for r in by_root}  # buffer root -> its unit's first root
    offset_in: dict[int, int] = dict.fromkeys(by_root, 0)  # buffer root -> offset in its unit
    members = {r: [r] for r in by_root}
    outputs = set(model.graph.outputs)
    # A model output (or a model input that is also one) seen through a view (RESHAPE, SQUEEZE,
    # a MIRROR_PAD of zero padding: an Alias) shares its group's buffer with the view: the view
    # dying at the last step does not free the output's bytes.
    kept = {root[t] for t in outputs if t in root}
    for i, step in enumerate(model.steps):
        if not isinstance(step, KernelCall) or not step.overlaps:
            continue
        if steps is not None and i not in steps:
            continue
        if step.fallback is not None and step.fallback.overlaps != step.overlaps:
            continue  # the planner may swap in a kernel of another order
        out = step.op.outputs[0]
        for t, gap in step.overlaps:
            if (t not in root or out not in root or delta[t] or delta[out] or t in outputs
                    or root[t] in kept):
                continue  # views, constants, state, model outputs (or their views): left alone
            a, b = by_root.get(root[out]), by_root.get(root[t])
            if a is None or b is None or a.first != i or b.last != i:
                continue  # the input lives on, or the output was written before
            ua, ub = unit_of[root[out]], unit_of[root[t]]
            if ua == ub or gap % ALIGNMENT:
                continue
            # place b's unit so that buffer t sits at `gap` from buffer out
            shift = offset_in[root[out]] + gap - offset_in[root[t]]
            allowed = {root[out], root[t]}
            if any(_clash(by_root[p], offset_in[p], by_root[q], offset_in[q] + shift)
                   for p in members[ua] for q in members[ub] if {p, q} != allowed):
                continue  # the merge would overlap two other buffers live together
            moved = members.pop(ub)
            for r in moved:
                unit_of[r], offset_in[r] = ua, offset_in[r] + shift
            members[ua] += moved
    units = []
    for first, roots in members.items():
        low = min(offset_in[r] for r in roots)
        parts = tuple((by_root[r], offset_in[r] - low) for r in sorted(roots))
        units.append(Unit(by_root[first].key, parts))
    return units


def _clash(a: Buffer, a_at: int, b: Buffer, b_at: int) -> bool:
    """Live at the same step and sharing a byte."""
    return (a.first <= b.last and b.first <= a.last
            and a_at < b_at + b.size and b_at < a_at + a.size)


def _place(units: list[Unit], alignment: int, order=PLACEMENT_ORDERS[0]) -> dict[str, int]:
    placed: list[tuple[Buffer, int]] = []
    offsets: dict[str, int] = {}
    for unit in sorted(units, key=order):
        base = _first_fit_unit(unit, placed, alignment)
        for buf, offset in unit.parts:
            offsets[buf.key] = base + offset
            placed.append((buf, base + offset))
    return offsets


def _place_below(units: list[Unit], alignment: int, ceiling: int) -> dict[str, int]:
    """Units in order of first use, each at its lowest place or at its highest below
    `ceiling`, whichever leaves the larger free run of bytes for the step after its birth: a
    chain of layers whose inputs sit inside their outputs then goes from one end of the arena
    to the other and back, where first fit would leave each output a hole too small for the
    next."""
    placed: list[tuple[Buffer, int]] = []
    offsets: dict[str, int] = {}
    for unit in sorted(units, key=lambda u: (u.first, -u.size, u.key)):
        base = _first_fit_unit(unit, placed, alignment)
        if base + unit.size <= ceiling:
            high = _highest_fit_unit(unit, placed, alignment, ceiling)
            if high is not None and high > base and (
                    _free_run(unit, high, placed, ceiling) > _free_run(unit, base, placed,
                                                                        ceiling)):
                base = high
        for buf, offset in unit.parts:
            offsets[buf.key] = base + offset
            placed.append((buf, base + offset))
    return offsets


def _fits(unit: Unit, base: int, placed: list[tuple[Buffer, int]]) -> bool:
    return all(not _clash(buf, base + o, other, off) for buf, o in unit.parts
               for other, off in placed)


def _highest_fit_unit(unit: Unit, placed: list[tuple[Buffer, int]], alignment: int,
                      ceiling: int) -> int | None:
    """Highest aligned base at or below ceiling - size where `unit` clashes with nothing."""
    top = (ceiling - unit.size) // alignment * alignment
    bases = {top} | {(off - o - buf.size) // alignment * alignment for buf, o in unit.parts
                     for other, off in placed
                     if other.first <= buf.last and buf.first <= other.last}
    for base in sorted((b for b in bases if 0 <= b <= top), reverse=True):
        if _fits(unit, base, placed):
            return base
    return None


def _free_run(unit: Unit, base: int, placed: list[tuple[Buffer, int]], ceiling: int) -> int:
    """The longest run of bytes below `ceiling` free at the step after the unit's birth."""
    step = unit.first + 1
    busy = sorted([(off, off + b.size) for b, off in placed if b.first <= step <= b.last]
                  + [(base + o, base + o + b.size) for b, o in unit.parts
                     if b.first <= step <= b.last])
    run, at = 0, 0
    for start, end in busy:
        run = max(run, start - at)
        at = max(at, end)
    return max(run, ceiling - at)


def _first_fit_unit(unit: Unit, placed: list[tuple[Buffer, int]], alignment: int) -> int:
    """Lowest aligned base at which no part of `unit` overlaps a placed buffer live with it."""
    if len(unit.parts) == 1:
        buf, offset = unit.parts[0]
        return _first_fit(buf, placed, alignment) - offset
    clashes = [(other, off, buf, o) for buf, o in unit.parts for other, off in placed
               if other.first <= buf.last and buf.first <= other.last]
    bases = sorted({0} | {_round_up(max(off + other.size - o, 0), alignment)
                          for other, off, _, o in clashes})
    for base in bases:
        if all(base + o + buf.size <= off or off + other.size <= base + o
               for other, off, buf, o in clashes):
            return base
    raise AssertionError("unreachable: the last base clears every placed buffer")


def _first_fit(buf: Buffer, placed: list[tuple[Buffer, int]], alignment: int) -> int:
    """Lowest aligned offset where `buf` overlaps no placed buffer live at the same time."""
    conflicts = sorted(
        (off, off + other.size) for other, off in placed
        if other.first <= buf.last and buf.first <= other.last
    )
    offset = 0
    for start, end in conflicts:
        if offset + buf.size <= start:
            break
        offset = max(offset, _round_up(end, alignment))
    return offset


def _liveness_bound(buffers: list[Buffer], steps: int) -> int:
    return max((sum(b.size for b in buffers if b.first <= i <= b.last) for i in range(steps)),
               default=sum(b.size for b in buffers))


def _round_up(x: int, alignment: int) -> int:
    return (x + alignment - 1) // alignment * alignment
