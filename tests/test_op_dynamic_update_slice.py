"""DYNAMIC_UPDATE_SLICE (run-time start indices, clamped as TFLM clamps them) and BROADCAST_ARGS
(folded at compile time), against TFLM."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc import compile_model
from tinyc.errors import UnsupportedError
from tinyc.ops import KernelCall
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from flatbuffer_models import OperatorSpec, TensorSpec, single_op_tflite, tflite_model

CASES = [  # operand shape, update shape
    ((10,), (3,)),
    ((4, 6), (2, 3)),
    ((2, 5, 7), (1, 2, 7)),
    ((3, 4, 5, 6), (2, 1, 3, 6)),
    ((2, 3), (2, 3)),  # the whole operand
]
STARTS = [  # per rank, start index vectors: inside, negative, past the end, huge
    lambda rank: [[0] * rank, [1] * rank, [-3] * rank, [100] * rank,
                  [2**31 - 1 if i % 2 else -(2**31) for i in range(rank)]],
]


def _model(tmp_path, dtype, operand_shape, update_shape, index_type):
    rank = len(operand_shape)
    q = (0.1, 2) if dtype in ("int8", "int16") else None
    tensors = [TensorSpec(operand_shape, dtype, q), TensorSpec(update_shape, dtype, q),
               TensorSpec([rank], index_type), TensorSpec(operand_shape, dtype, q)]
    path = tmp_path / f"dus-{dtype}-{len(operand_shape)}-{np.dtype(index_type).name}.tflite"
    path.write_bytes(single_op_tflite("DYNAMIC_UPDATE_SLICE", tensors, [0, 1, 2], [3]))
    return path


@pytest.mark.parametrize("index_type", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shapes", CASES, ids=str)
def test_matches_tflm_with_clamped_run_time_starts(tmp_path, dtype, shapes, index_type):
    operand_shape, update_shape = shapes
    path = _model(tmp_path, dtype, operand_shape, update_shape, index_type)
    compiled = compile_model(path)
    host = build_host_model(compiled.files, compiled.name)
    tflm = tflm_runner(path, 1)
    rng = np.random.default_rng(0)
    for start in STARTS[0](len(operand_shape)):
        operand = rng.integers(-100, 100, operand_shape).astype(dtype)
        update = rng.integers(-100, 100, update_shape).astype(dtype)
        starts = np.array(start, index_type)
        (ours,) = host.run([operand, update, starts])
        (theirs,) = tflm([operand, update, starts])
        assert ours == np.asarray(theirs).tobytes(), start


def test_refusals_name_the_op(tmp_path):
    tensors = [TensorSpec([4], np.int8), TensorSpec([6], np.int8), TensorSpec([1], np.int32),
               TensorSpec([4], np.int8)]
    path = tmp_path / "big.tflite"
    path.write_bytes(single_op_tflite("DYNAMIC_UPDATE_SLICE", tensors, [0, 1, 2], [3]))
    with pytest.raises(UnsupportedError, match=r"op 0 \(DYNAMIC_UPDATE_SLICE\): update \[6\]"):
        compile_model(path)


def test_broadcast_args_is_folded(tmp_path):
    """BROADCAST_ARGS of two constant shapes feeds BROADCAST_TO: no code for it. (TFLM itself
    cannot run this graph: its BROADCAST_TO wants its shape at Prepare, so numpy is the
    reference.)"""
    tensors = [TensorSpec([3, 1], np.float32), TensorSpec([2], np.int32, data=[3, 1]),
               TensorSpec([3], np.int32, data=[2, 1, 4]), TensorSpec([3], np.int32),
               TensorSpec([2, 3, 4], np.float32)]
    ops = [OperatorSpec("BROADCAST_ARGS", [1, 2], [3]), OperatorSpec("BROADCAST_TO", [0, 3], [4])]
    path = tmp_path / "bargs.tflite"
    path.write_bytes(tflite_model(tensors, ops, [0], [4]))
    compiled = compile_model(path)
    assert [s.op.kind for s in compiled.model.steps if isinstance(s, KernelCall)] == [
        "BROADCAST_TO"]
    x = np.arange(3, dtype=np.float32).reshape(3, 1)
    (ours,) = build_host_model(compiled.files, compiled.name).run([x])
    assert ours == np.broadcast_to(x, (2, 3, 4)).tobytes()
