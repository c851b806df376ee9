"""Many independent ops in one model: one flatbuffer, one host build, one TFLM run per grid.

A grid test lists `Case`s (one op each, its input specs, output spec and input values);
`run_cases` writes them as one model whose inputs and outputs are all the cases', builds it once,
and requires every output's bytes to equal TFLM's, naming the cases that differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.pipeline import compile_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model


@dataclass
class Case:
    """One op: its input specs (a spec with data is a constant) and its output spec."""

    kind: str
    inputs: list[TensorSpec]
    output: TensorSpec
    values: list[np.ndarray]  # one array per variable input, in order
    options: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def multi_op_model(cases: list[Case]) -> bytes:
    tensors: list[TensorSpec] = []
    operators, inputs, outputs = [], [], []
    for case in cases:
        indices = []
        for spec in case.inputs:
            indices.append(len(tensors))
            tensors.append(spec)
            if spec.data is None:
                inputs.append(indices[-1])
        outputs.append(len(tensors))
        tensors.append(case.output)
        operators.append(OperatorSpec(case.kind, indices, [outputs[-1]], case.options,
                                      case.fields))
    return tflite_model(tensors, operators, inputs, outputs)


def describe(label: str, mine: np.ndarray, theirs: np.ndarray) -> str:
    a, b = mine.reshape(-1), theirs.reshape(-1)
    bits = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize]
    bad = np.flatnonzero(a.view(bits) != b.view(bits))
    return (f"{label}: {bad.size} of {a.size} differ, e.g. "
            + ", ".join(f"[{i}] tinyc {a[i]} TFLM {b[i]}" for i in bad[:4]))


def run_cases(tmp_path: Path, name: str, cases: list[Case]) -> Path:
    """Compile the cases' model, run it on the host and in TFLM, require identical bytes."""
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(multi_op_model(cases))
    compiled = compile_model(path, name)
    host = build_host_model(compiled.files, compiled.name)
    inputs = [v for case in cases for v in case.values]
    ours = host.run(inputs)
    theirs = tflm_runner(path, len(cases))(inputs)
    bad = []
    for case, mine, ref in zip(cases, ours, theirs, strict=True):
        ref = np.ascontiguousarray(ref)
        if mine != ref.tobytes():
            bad.append(describe(case.label or case.kind, np.frombuffer(mine, ref.dtype), ref))
    assert not bad, "\n".join(bad)
    return path


def tflm_refuses(path: Path, inputs: list[np.ndarray], outputs: int = 1) -> bool:
    """The TFLM interpreter will not run the model on these inputs (it raises)."""
    try:
        tflm_runner(path, outputs)(inputs)
    except Exception:  # the interpreter raises RuntimeError, or others
        return True
    return False
