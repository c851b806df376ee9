"""QUANTIZE and DEQUANTIZE between float32, int8, uint8, int16 and int32, against TFLM.

Single-op models written as flatbuffers with chosen scales and zero points: every type pair TFLM's
micro kernels take, at scale ratios around 1 (the int8 <-> uint8 zero-point shift of 128, where
TFLM takes a fast path), far below and far above it. A type pair is accepted by tinyc exactly when
the TFLM interpreter runs it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ops.quantize import DEQUANTIZE_INPUTS, QUANTIZE_PAIRS
from tinyc.pipeline import compile_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec, single_op_tflite

TYPES = ("float32", "int8", "uint8", "int16", "int32")
ZERO_POINTS = {"int8": (-128, 127), "uint8": (0, 255), "int16": (0, 0), "int32": (0, 0)}

# (input scale, input zero point choice, output scale, output zero point choice): zero point
# choices index ZERO_POINTS' range (0 low end, 1 high end, 2 middle)
SCALES = {
    "same": (0.05, 2, 0.05, 2),
    "shift128": (0.05, 0, 0.05, 1),
    "narrower": (0.5, 1, 0.003, 0),
    "wider": (0.003, 0, 0.5, 2),
    "odd": (0.0173, 2, 0.0419, 1),
}


def _zero_point(dtype: str, choice: int) -> int:
    if dtype == "float32":
        return 0
    low, high = ZERO_POINTS[dtype]
    return (low, high, (low + high) // 2)[choice]


def _model(tmp_path, kind: str, source: str, target: str, scales: str):
    in_scale, in_zp, out_scale, out_zp = SCALES[scales]
    if (source, target) in (("int8", "uint8"), ("uint8", "int8")) and scales == "shift128":
        in_zp, out_zp = (0, 2) if source == "int8" else (2, 0)  # zero points 128 apart
    quant_in = None if source == "float32" else (in_scale, _zero_point(source, in_zp))
    quant_out = None if target == "float32" else (out_scale, _zero_point(target, out_zp))
    tensors = [TensorSpec([2, 3, 50], source, quant_in), TensorSpec([2, 3, 50], target, quant_out)]
    path = tmp_path / f"{kind}-{source}-{target}-{scales}.tflite"
    path.write_bytes(single_op_tflite(kind, tensors, [0], [1]))
    return path


@pytest.mark.parametrize("scales", sorted(SCALES))
@pytest.mark.parametrize("source,target", sorted(QUANTIZE_PAIRS))
def test_quantize_is_bit_exact(tmp_path, source, target, scales):
    assert_bit_exact(_model(tmp_path, "QUANTIZE", source, target, scales), samples=20)


@pytest.mark.parametrize("scales", ["same", "odd", "wider"])
@pytest.mark.parametrize("source", DEQUANTIZE_INPUTS)
def test_dequantize_is_bit_exact(tmp_path, source, scales):
    assert_bit_exact(_model(tmp_path, "DEQUANTIZE", source, "float32", scales), samples=20)


def test_float_inputs_saturate_like_tflm(tmp_path):
    """Values far outside the output range, exact halves, -0.0: chosen, not random."""
    path = _model(tmp_path, "QUANTIZE", "float32", "int16", "odd")
    values = np.array([1e6, -1e6, 0.5 * 0.0419, -0.5 * 0.0419, 1.5 * 0.0419, -0.0, 0.0, 3.0e4,
                       -3.0e4] * 34, np.float32)[:300].reshape(2, 3, 50)
    compiled = compile_model(path)
    ours = build_host_model(compiled.files, compiled.name).run([values])[0]
    (theirs,) = tflm_runner(path, 1)([values])
    assert ours == np.asarray(theirs).tobytes()


def _tflm_runs(path, source: str) -> bool:
    try:
        tflm_runner(path, 1)([np.zeros((2, 3, 50), source)])
    except Exception:  # any refusal of the interpreter counts
        return False
    return True


@pytest.mark.parametrize("kind", ["QUANTIZE", "DEQUANTIZE"])
def test_accepted_exactly_when_tflm_runs_the_pair(tmp_path, kind):
    for source, target in itertools.product(TYPES, TYPES):
        if source == target == "float32":
            continue
        path = _model(tmp_path, kind, source, target, "odd")
        try:
            compile_model(path)
            accepted = True
        except UnsupportedError as exc:
            assert f"op 0 ({kind})" in str(exc)
            accepted = False
        if accepted != _tflm_runs(path, source):
            pytest.fail(f"{kind} {source} -> {target}: tinyc {'accepts' if accepted else 'refuses'}"
                        f", TFLM {'does not' if accepted else 'does'}")
