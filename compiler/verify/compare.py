"""Run the same random inputs through tinyc's host build, TFLM and LiteRT; count exact outputs.

TFLM (the tflite-micro interpreter, reference kernels) is the oracle. LiteRT is reported twice:
with its default kernels (which round once and may differ by one LSB) and with its reference op
resolver; neither decides success. A model compiled with rounding="single" is judged against
LiteRT's default kernels instead (the ai-edge-litert wheel's builtin kernels requantize with one
rounding, as tinyc's single mode does; see tests/test_rounding.py), TFLM being reported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TinycError
from ..ir import DTYPES, INT_RANGES, Graph
from ..pipeline import CompiledModel, compile_model
from ..validate import DEFAULT_MAX_ARENA
from .build import build_host_model
from .tflm_memory import redirect_fd2

Runner = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass
class Agreement:
    exact: int = 0
    max_abs_diff: float = 0.0


@dataclass
class OutputReport:
    index: int
    dtype: str
    shape: tuple[int, ...]
    against: dict[str, Agreement] = field(default_factory=dict)  # oracle name -> agreement


@dataclass
class Report:
    model: str
    samples: int
    outputs: list[OutputReport]
    oracles: list[str]
    # Models with state: whether NAME_reset() brought back the first step's outputs (None: the
    # model has no state, its samples are independent).
    reset_exact: bool | None = None
    oracle: str = "tflm"  # the one that decides: "litert" for a single-rounding build

    @property
    def bit_exact(self) -> bool:
        return (all(o.against[self.oracle].exact == self.samples for o in self.outputs)
                and self.reset_exact is not False)

    def lines(self) -> list[str]:
        if self.reset_exact is None:
            out = [f"{self.model}: {self.samples} random samples"]
        else:
            out = [f"{self.model}: a sequence of {self.samples} invokes with random inputs, "
                   f"state carried from one to the next as in TFLM"]
        for o in self.outputs:
            out.append(f"  output {o.index} ({o.dtype} {list(o.shape)}):")
            for oracle in self.oracles:
                a = o.against[oracle]
                out.append(
                    f"    vs {ORACLE_LABELS[oracle]:<28} {a.exact}/{self.samples} bit-exact, "
                    f"max abs diff {a.max_abs_diff:g}"
                )
        if self.reset_exact is not None:
            out.append(f"  after reset(): first step's outputs "
                       f"{'again, bit-exact' if self.reset_exact else 'NOT reproduced'}")
        who = "TFLM" if self.oracle == "tflm" else ORACLE_LABELS[self.oracle]
        out.append(f"PASS: bit-exact with {who}" if self.bit_exact else f"FAIL: differs from {who}")
        return out


ORACLE_LABELS = {
    "tflm": "TFLM (reference kernels)",
    "litert": "LiteRT (default, XNNPACK)",
    "litert_ref": "LiteRT (reference kernels)",
}


def verify_model(
    model_path: str | Path,
    samples: int = 100,
    seed: int = 0,
    compiled: CompiledModel | None = None,
    litert: bool = True,
    scratch: str = "auto",
    max_arena: int = DEFAULT_MAX_ARENA,
    progress: Callable[[int, int], None] | None = None,
    memory: str = "fast",
    rounding: str = "double",
) -> Report:
    """Compare the generated code with the oracles; `scratch`, `max_arena` and `memory` as for
    compile (ignored when `compiled` is given); `progress(done, samples)` after each sample.
    `rounding` as for compile ("single": LiteRT's default kernels decide, not TFLM; taken from
    `compiled` when given)."""
    compiled = compiled or compile_model(model_path, scratch=scratch, max_arena=max_arena,
                                         memory=memory, rounding=rounding)
    judge = "litert" if compiled.rounding == "single" else "tflm"
    host = build_host_model(compiled.files, compiled.name)
    if compiled.plan.state_bytes:
        host.reset()  # one library per sources and process: an earlier run left its state
    graph = compiled.model.graph
    runners: dict[str, Runner] = {"tflm": tflm_runner(model_path, len(graph.outputs))}
    if litert or judge == "litert":
        runners["litert"] = litert_runner(model_path, reference=False)
        runners["litert_ref"] = litert_runner(model_path, reference=True)
    outputs = [
        OutputReport(
            i, graph.tensor(t).dtype, graph.tensor(t).shape, {k: Agreement() for k in runners}
        )
        for i, t in enumerate(graph.outputs)
    ]
    rng = np.random.default_rng(seed)
    first: tuple[list[np.ndarray], list[bytes]] | None = None
    for done in range(1, samples + 1):  # one sequence: neither side resets between invokes
        inputs = random_inputs(graph, rng)
        raw = host.run(inputs)
        first = first or (inputs, raw)
        ours = [np.frombuffer(b, DTYPES[o.dtype][0]).reshape(o.shape) for b, o in zip(raw, outputs)]
        for oracle, run in runners.items():
            for report, mine, theirs in zip(outputs, ours, run(inputs)):
                _tally(report.against[oracle], mine, np.asarray(theirs).reshape(mine.shape))
        if progress is not None:
            progress(done, samples)
    reset_exact = None
    if compiled.plan.state_bytes and first is not None:
        host.reset()
        reset_exact = host.run(first[0]) == first[1]
    return Report(str(model_path), samples, outputs, list(runners), reset_exact, judge)


def _tally(agreement: Agreement, mine: np.ndarray, theirs: np.ndarray) -> None:
    if mine.tobytes() == np.ascontiguousarray(theirs, mine.dtype).tobytes():
        agreement.exact += 1
    diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
    agreement.max_abs_diff = max(agreement.max_abs_diff, float(np.max(diff, initial=0.0)))


def random_inputs(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    """Uniform over an int input's range; floats over the range the model quantizes them to."""
    arrays = []
    for t in graph.inputs:
        tensor = graph.tensor(t)
        if tensor.dtype == "float32":
            low, high = _float_input_range(graph, t)
            arrays.append(rng.uniform(low, high, tensor.shape).astype(np.float32))
        elif tensor.dtype == "bool":
            arrays.append(rng.integers(0, 2, tensor.shape).astype(np.bool_))
        else:
            info = np.iinfo(DTYPES[tensor.dtype][0])
            arrays.append(
                rng.integers(
                    info.min, info.max, tensor.shape, endpoint=True, dtype=DTYPES[tensor.dtype][0]
                )
            )
    return arrays


def _float_input_range(graph: Graph, t: int) -> tuple[float, float]:
    """A float input feeding QUANTIZE: its quantized range, widened 10% to exercise
    saturation."""
    for op in graph.consumers(t):
        out = graph.tensor(op.outputs[0])
        if op.kind == "QUANTIZE" and out.quant is not None and out.dtype in INT_RANGES:
            qmin, qmax = INT_RANGES[out.dtype]
            low = out.scale * (qmin - out.zero_point)
            high = out.scale * (qmax - out.zero_point)
            pad = 0.1 * (high - low)
            return low - pad, high + pad
    return -4.0, 4.0


def tflm_runner(model_path: str | Path, output_count: int, arena_size: int = 1 << 24) -> Runner:
    runtime = _import_oracle("tflite_micro.python.tflite_micro.runtime", "tflite-micro")
    with _quiet_stderr():
        interpreter = runtime.Interpreter.from_file(str(model_path), arena_size=arena_size)

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        for i, array in enumerate(inputs):
            interpreter.set_input(array, i)
        interpreter.invoke()
        return [interpreter.get_output(i) for i in range(output_count)]

    return run


def litert_runner(model_path: str | Path, reference: bool) -> Runner:
    module = _import_oracle("ai_edge_litert.interpreter", "ai-edge-litert")
    kwargs = (
        {"experimental_op_resolver_type": module.OpResolverType.BUILTIN_REF} if reference else {}
    )
    with _quiet_stderr():
        interpreter = module.Interpreter(model_path=str(model_path), num_threads=1, **kwargs)
        interpreter.allocate_tensors()
    in_details = interpreter.get_input_details()
    out_details = interpreter.get_output_details()

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        for d, array in zip(in_details, inputs):
            interpreter.set_tensor(d["index"], array)
        interpreter.invoke()
        return [interpreter.get_tensor(d["index"]) for d in out_details]

    return run


def _import_oracle(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise TinycError(f"verification needs {package}: pip install 'tinyc[verify]'") from None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """The interpreters log to fd 2 from C++; keep the report readable."""
    with open(os.devnull, "wb") as null, redirect_fd2(null):
        yield
