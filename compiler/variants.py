"""Kernel variants that run in place: another call computing the same bytes in an order that lets
an input share bytes with the output (KernelCall.overlaps), at some cost in time.

An op module registers a provider for the runtime functions whose calls have such variants
(`@variants_for("tinyc_conv_1x1_s8")`); the planner (plan_memory.py) asks for them with
`variants_of` and picks, per call, the call itself or one of its variants: the one that makes
the arena smallest, and of those the cheapest. In the default memory mode ("fast") it takes only
the variants marked free: an estimated cost within FAST_OVERHEAD of the call's own work (a
larger block of pixels or rows per pass than the smallest, which is what the arena needs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .ir import Graph
from .ops import KernelCall

# A variant is free when its estimated extra instructions are at most this part of the call's
# own (estimated) instructions.
FAST_OVERHEAD = 0.01


@dataclass(frozen=True)
class Variant:
    call: KernelCall  # what runs instead; declares its overlaps
    cost: float  # estimated extra Cortex-M4 instructions over the call it replaces
    free: bool  # taken in the default ("fast") memory mode


Provider = Callable[[Graph, KernelCall], "tuple[Variant, ...]"]
PROVIDERS: dict[str, Provider] = {}


def variants_for(*functions: str) -> Callable[[Provider], Provider]:
    def decorate(provider: Provider) -> Provider:
        for f in functions:
            PROVIDERS[f] = provider
        return provider

    return decorate


def with_param(call: KernelCall, field: str, value: int,
               overlaps: tuple[tuple[int, int], ...]) -> KernelCall:
    """`call` with one params field set to `value`, declaring `overlaps` (a variant's call)."""
    params = tuple((f, value if f == field else v) for f, v in call.params)
    return replace(call, params=params, overlaps=overlaps)


def variants_of(graph: Graph, call: KernelCall) -> tuple[Variant, ...]:
    provider = PROVIDERS.get(call.function)
    return provider(graph, call) if provider else ()


# Kernels whose default function takes its input and output `restrict` (faster: the C compiler
# may keep input values in registers across output stores) and that have a twin without, for
# the calls the plan actually runs in place (same params, same order of reads and writes).
IN_PLACE_FUNCTIONS: dict[str, str] = {}


def in_place_twin(function: str, twin: str) -> None:
    IN_PLACE_FUNCTIONS[function] = twin


def run_in_place(call: KernelCall) -> KernelCall:
    """`call` (and its fallback) with the function that allows its input inside its output."""
    fallback = call.fallback and run_in_place(call.fallback)
    return replace(call, function=IN_PLACE_FUNCTIONS.get(call.function, call.function),
                   fallback=fallback)
