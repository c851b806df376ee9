"""TRANSPOSE against the TFLM interpreter, and the strided-copy helpers every data-movement test
file shares (`Case`, `run_cases`, `assert_unsupported`, imported by test_op_slicing.py and the
other data-movement test files).

A grid of single-op cases is written as flatbuffers and batched into one model per group (each
op reads its own model input and writes its own model output), so one host build and one TFLM
interpreter cover dozens of cases; every output byte must equal TFLM's, and a mismatch names
its case. Also: the loop-merging helper against numpy, unit-dimension transposes becoming an
Alias, the refusals TFLM makes, and models converted from Keras (Permute, tf.transpose).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ir import DTYPES, Op
from tinyc.ops import Alias, KernelCall
from tinyc.ops.strided_copy import LOOPS, copy_nest, row_major_strides
from tinyc.pipeline import compile_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from tflite_builders import single_layer_model

INT_TYPES = ("int8", "uint8", "int16", "int32", "int64")


# --- shared helpers: many single-op cases in one model ---


@dataclass
class Case:
    """One op of a batch: its tensors (local indices), the op's inputs and outputs among them.

    `op_inputs` defaults to every tensor that is not an output, in order. Tensors with `data`
    are constants; the others among `op_inputs` become model inputs, fed random values or
    `feeds[local index]`.
    """

    name: str
    kind: str
    tensors: Sequence[TensorSpec]
    outputs: Sequence[int]
    options: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    op_inputs: Sequence[int] | None = None
    feeds: dict[int, np.ndarray] = field(default_factory=dict)

    def inputs(self) -> list[int]:
        if self.op_inputs is not None:
            return list(self.op_inputs)
        return [i for i in range(len(self.tensors)) if i not in self.outputs]


def batch_model(cases: Sequence[Case]) -> tuple[bytes, list[tuple[Case, int]], list[str]]:
    """One model running every case's op; (bytes, [(case, local input)] per model input,
    case name per model output)."""
    tensors: list[TensorSpec] = []
    operators, model_inputs, model_outputs = [], [], []
    feeds: list[tuple[Case, int]] = []
    names: list[str] = []
    for case in cases:
        base = len(tensors)
        tensors += list(case.tensors)
        op_inputs = case.inputs()
        operators.append(OperatorSpec(case.kind, [base + i for i in op_inputs],
                                      [base + i for i in case.outputs], case.options,
                                      case.fields))
        for i in op_inputs:
            if case.tensors[i].data is None and base + i not in model_inputs:
                model_inputs.append(base + i)
                feeds.append((case, i))
        model_outputs += [base + i for i in case.outputs]
        names += [f"{case.name} output {k}" for k in range(len(case.outputs))]
    return tflite_model(tensors, operators, model_inputs, model_outputs), feeds, names


def random_array(spec: TensorSpec, rng: np.random.Generator) -> np.ndarray:
    dtype = np.dtype(spec.dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, spec.shape).astype(bool)
    if dtype.kind == "f":
        return rng.uniform(-4, 4, spec.shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, spec.shape, endpoint=True, dtype=dtype)


def write_batch(cases: Sequence[Case], folder: Path, key: str):
    data, feeds, names = batch_model(cases)
    path = folder / f"{key}.tflite"
    path.write_bytes(data)
    return path, feeds, names


def run_cases(cases: Sequence[Case], tmp_path: Path, key: str = "batch", samples: int = 3,
              seed: int = 0) -> None:
    """Compile the batch, run it and TFLM on the same inputs, require identical output bytes."""
    path, feeds, names = write_batch(cases, tmp_path, key)
    compiled = compile_model(path, "batch")
    host = build_host_model(compiled.files, compiled.name)
    tflm = tflm_runner(path, len(names))
    rng = np.random.default_rng(seed)
    graph = compiled.model.graph
    mismatches = []
    for _ in range(samples):
        inputs = [case.feeds[i] if i in case.feeds else random_array(case.tensors[i], rng)
                  for case, i in feeds]
        ours = host.run(inputs)
        theirs = tflm(inputs)
        for name, index, mine, expected in zip(names, graph.outputs, ours, theirs, strict=True):
            expected = np.ascontiguousarray(expected).tobytes()
            if mine != expected:
                dtype = DTYPES[graph.tensor(index).dtype][0]
                mismatches.append(f"{name}: tinyc {np.frombuffer(mine, dtype)[:12]} "
                                  f"TFLM {np.frombuffer(expected, dtype)[:12]}")
    assert not mismatches, "\n".join(dict.fromkeys(mismatches))


def lowered_steps(cases: Sequence[Case], tmp_path: Path, key: str = "lowered"):
    path, _, _ = write_batch(cases, tmp_path, key)
    return compile_model(path, "batch").model.steps


def assert_unsupported(case: Case, tmp_path: Path, *words: str) -> None:
    """Compiling the case's op fails with a message naming op 0, its kind and `words`."""
    path, _, _ = write_batch([case], tmp_path, "refused")
    with pytest.raises(UnsupportedError) as info:
        compile_model(path, "refused")
    message = str(info.value)
    for word in (f"op 0 ({case.kind})", *words):
        assert word in message, f"{word!r} not in {message!r}"


def q(dtype: str) -> tuple[float, int] | None:
    """A quantization for int8/int16 activations (TFLM copies the bytes whatever it is)."""
    return {"int8": (0.05, -3), "int16": (0.001, 0)}.get(dtype)


# --- the loop nest (compiler/ops/strided_copy.py) against numpy ---


def walk(nest, x: np.ndarray) -> np.ndarray:
    """tinyc_copy_nd's walk in numpy: output element (i0..i5) reads offset + sum(i_k * s_k)."""
    index = np.full([e for e, _ in nest.loops], nest.offset, np.int64)
    for axis, (extent, stride) in enumerate(nest.loops):
        shape = [1] * len(nest.loops)
        shape[axis] = extent
        index = index + (np.arange(extent) * stride).reshape(shape)
    return x.reshape(-1)[index.reshape(-1)]


def test_copy_nest_walks_like_numpy():
    """Random transposes, reversals, strided slices and broadcasts of random shapes: the merged
    six-loop walk reads exactly the elements numpy's view holds, in order."""
    rng = np.random.default_rng(3)
    op = Op(0, "TEST", (), ())
    for _ in range(300):
        rank = int(rng.integers(1, 6))
        shape = tuple(int(d) for d in rng.integers(1, 5, rank))
        x = np.arange(int(np.prod(shape)))
        view, offset = [], 0
        strides = row_major_strides(shape)
        expected = x.reshape(shape)
        perm = rng.permutation(rank)
        for axis in range(rank):
            n, s = shape[axis], strides[axis]
            step = int(rng.choice([1, 1, 2, -1, -2, 0]))
            if step == 0:  # broadcast a unit dimension to 3
                if n == 1:
                    view.append((3, 0))
                    expected = np.repeat(expected, 3, axis=axis)
                    continue
                step = 1
            start = 0 if step > 0 else n - 1
            count = len(range(start, n if step > 0 else -1, step))
            view.append((count, step * s))
            offset += start * s
            stop = start + count * step
            index = [slice(None)] * rank
            index[axis] = slice(start, None if stop < 0 else stop, step)
            expected = expected[tuple(index)]
        view = [view[p] for p in perm]
        expected = np.transpose(expected, perm)
        nest = copy_nest(op, view, offset, x.size)
        assert len(nest.loops) == LOOPS
        assert np.array_equal(walk(nest, x), expected.reshape(-1)), (shape, view, offset)


def test_copy_nest_refuses_reads_outside_the_input():
    op = Op(3, "TEST", (), ())
    with pytest.raises(UnsupportedError, match="op 3 .*elements 0..12 of an input of 12"):
        copy_nest(op, [(13, 1)], 0, 12)
    with pytest.raises(UnsupportedError, match="elements -1..2"):
        copy_nest(op, [(4, -1)], 2, 12)


# --- TRANSPOSE ---

TRANSPOSE_TYPES = ("int8", "int16", "float32")
PERMS = [
    ((7,), (0,)),
    ((3, 5), (1, 0)),
    ((2, 3, 4), (0, 2, 1)),
    ((2, 3, 4), (2, 0, 1)),
    ((1, 4, 5, 3), (0, 3, 1, 2)),  # NHWC -> NCHW
    ((1, 3, 4, 5), (0, 2, 3, 1)),  # NCHW -> NHWC
    ((2, 3, 1, 4), (2, 0, 3, 1)),
    ((2, 3, 4, 5, 2), (4, 3, 2, 1, 0)),  # rank 5, reversed
    ((2, 3, 2, 3, 2), (0, 2, 1, 4, 3)),
    ((3, 1, 4, 1, 2), (1, 0, 3, 2, 4)),  # only unit dims move, but 3 and 4 keep their order
]


def transpose_case(shape, perm, dtype) -> Case:
    out = tuple(shape[p] for p in perm)
    tensors = [TensorSpec(shape, dtype, q(dtype)),
               TensorSpec([len(perm)], np.int32, data=list(perm)),
               TensorSpec(out, dtype, q(dtype))]
    return Case(f"transpose{list(shape)}{list(perm)}-{dtype}", "TRANSPOSE", tensors, [2],
                "TransposeOptions")


@pytest.mark.parametrize("dtype", TRANSPOSE_TYPES)
def test_transpose_grid_matches_tflm(dtype, tmp_path):
    run_cases([transpose_case(s, p, dtype) for s, p in PERMS], tmp_path)


def test_transpose_copies_bytes_whatever_the_quantization(tmp_path):
    """TFLM does not requantize: input and output quantization may differ."""
    tensors = [TensorSpec((2, 5), "int8", (0.1, 4)), TensorSpec([2], np.int32, data=[1, 0]),
               TensorSpec((5, 2), "int8", (0.02, -7))]
    run_cases([Case("transpose-requant", "TRANSPOSE", tensors, [2], "TransposeOptions")],
              tmp_path)


def test_unit_dimension_transpose_is_an_alias(tmp_path):
    moving_ones = transpose_case((1, 5, 1, 3), (2, 1, 0, 3), "int8")
    real = transpose_case((2, 3), (1, 0), "int8")
    steps = lowered_steps([moving_ones, real], tmp_path)
    assert isinstance(steps[0], Alias)
    assert isinstance(steps[1], KernelCall) and steps[1].function == "tinyc_copy_nd_x8"
    run_cases([moving_ones, real], tmp_path)


def test_transpose_merges_dimensions_that_stay_together(tmp_path):
    """NHWC -> NWHC: C stays contiguous, (H) and (W) swap: three loops, innermost a C-run."""
    (step,) = lowered_steps([transpose_case((2, 4, 5, 3), (0, 2, 1, 3), "int8")], tmp_path)
    params = dict(step.params)
    extents = [params[f"dim{i}"] for i in range(6)]
    strides = [params[f"stride{i}"] for i in range(6)]
    assert extents == [1, 1, 2, 5, 4, 3] and strides[2:] == [60, 3, 15, 1]


@pytest.mark.parametrize("what,case,words", [
    ("rank 6", transpose_case((1, 2, 1, 2, 1, 2), (5, 4, 3, 2, 1, 0), "int8"), ["rank 6"]),
    ("int32", transpose_case((2, 3), (1, 0), "int32"), ["int32"]),
    ("not a permutation", Case("dup", "TRANSPOSE", [
        TensorSpec((2, 3), "int8"), TensorSpec([2], np.int32, data=[0, 0]),
        TensorSpec((2, 2), "int8")], [2], "TransposeOptions"), ["[0, 0]"]),
    ("run-time perm", Case("dyn", "TRANSPOSE", [
        TensorSpec((2, 3), "int8"), TensorSpec([2], np.int32),
        TensorSpec((3, 2), "int8")], [2], "TransposeOptions"), ["permutation", "constant"]),
    ("wrong output shape", Case("shape", "TRANSPOSE", [
        TensorSpec((2, 3), "int8"), TensorSpec([2], np.int32, data=[1, 0]),
        TensorSpec((2, 3), "int8")], [2], "TransposeOptions"), ["[2, 3]", "[3, 2]"]),
])
def test_transpose_refusals_name_the_value(what, case, words, tmp_path):
    assert_unsupported(case, tmp_path, *words)


def test_transpose_tflm_refuses_what_tinyc_refuses(tmp_path):
    """The refusals above are TFLM's own: its interpreter rejects rank 6 and int32 too."""
    for case in (transpose_case((1, 2, 1, 2, 1, 2), (5, 4, 3, 2, 1, 0), "int8"),
                 transpose_case((2, 3), (1, 0), "int32")):
        path, feeds, names = write_batch([case], tmp_path, "tflm-refuses")
        with pytest.raises(RuntimeError):
            tflm_runner(path, 1)([random_array(case.tensors[0], np.random.default_rng(0))])


# --- converted from Keras ---


def permute(tf, x):
    return tf.keras.layers.Permute((2, 1, 3))(x)


def transpose_nchw(tf, x):
    return tf.keras.layers.Lambda(lambda t: tf.transpose(t, [0, 3, 1, 2]))(x)


@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name,build", [("permute", permute), ("tf-transpose", transpose_nchw)])
def test_keras_transpose_matches_tflm(name, build, mode):
    from tinyc.read_tflite import read_model

    from conftest import assert_bit_exact

    path = single_layer_model(f"transpose-{name}", (4, 6, 3), build, mode=mode)
    assert "TRANSPOSE" in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=5)
