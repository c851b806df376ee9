"""LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH (int8) against the TFLM interpreter.

tinyc lowers these ops to a 256-entry table computed by a Python port of TFLM's arithmetic, so
every test here is exhaustive: the model's input holds all 256 int8 values at once.
  - test_table_matches_tflm: single-op models written directly as flatbuffers, over a grid of
    scales, zero points and alphas chosen to reach every branch of the ports (saturation radius 0,
    left and right shifts, negative alpha, ...); the table tinyc lowers to must equal TFLM's output.
  - test_compiled_model_matches_tflm: the same, through the whole pipeline (generated C built on
    the host) for one case per op.
  - test_converted_model: models made by the TensorFlow converter (its own quantization), compiled
    and compared with assert_bit_exact and on all 256 inputs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec, single_op_tflite
from tflite_builders import cached_model, single_layer_model

ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)


# --- single-op flatbuffers with exact quantization parameters ---


def single_op_model(kind: str, input_q: tuple[float, int], output_q: tuple[float, int],
                    alpha: float | None = None) -> Path:
    """A model of one int8 op on a [1, 256] tensor, with the given (scale, zero point)s."""
    key = f"act-{kind}-{input_q}-{output_q}-{alpha}"
    tensors = [TensorSpec([1, 256], np.int8, input_q, name="input"),
               TensorSpec([1, 256], np.int8, output_q, name="output")]
    options = {} if alpha is None else {"options": "LeakyReluOptions", "alpha": alpha}
    return cached_model(key, lambda: single_op_tflite(kind, tensors, [0], [1], **options))


def tflm_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(path), arena_size=1 << 16)
    interpreter.set_input(x, 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0)).reshape(-1)


def lowered_table(path: Path) -> np.ndarray:
    from tinyc.lower import lower
    from tinyc.read_tflite import read_model

    (step,) = lower(read_model(path)).steps
    assert step.function == "tinyc_lut_s8"
    (array,) = step.arrays
    return array.values


def describe_mismatch(table: np.ndarray, expected: np.ndarray) -> str:
    bad = np.flatnonzero(table != expected)
    return (f"{bad.size} of 256 inputs differ, e.g. "
            + ", ".join(f"x={i - 128}: tinyc {table[i]} TFLM {expected[i]}" for i in bad[:6]))


# (kind, input (scale, zp), output (scale, zp), alpha). Scales cover the converter's usual ranges
# plus the extremes that change code paths.
LOGISTIC_TANH_INPUTS = [
    (1 / 128, 0),  # [-1, 1]
    (0.0235, -3),  # about [-3, 3]
    (0.0625, 5),  # power of two: exact shifts
    (0.1, -128),  # all inputs >= 0
    (0.37, 127),  # all inputs <= 0
    (1.0, 0),  # radius 7
    (4.5, 10),  # radius 1: only x == zp computes
    (9.0, 0),  # radius 0: everything saturates, x == zp to -128
    (1e-4, 0),  # tiny: all near the centre
    (0.05 + 1e-9, 20),
]
CASES = (
    [("LOGISTIC", q, (1 / 256, -128), None) for q in LOGISTIC_TANH_INPUTS]
    + [("LOGISTIC", (0.05, 0), (0.01, -128), None)]  # output scale is ignored by TFLM
    + [("TANH", q, (1 / 128, 0), None) for q in LOGISTIC_TANH_INPUTS]
    + [("TANH", (0.05, 0), (0.03, 9), None)]  # output quantization is ignored by TFLM
    + [("RELU", i, o, None) for i, o in [
        ((0.05, -20), (0.05, -128)), ((0.05, 3), (0.02, -128)), ((0.02, 0), (0.07, -100)),
        ((0.013, -128), (0.013, 17)), ((0.4, 50), (0.001, -128)), ((0.001, 0), (0.5, 0)),
    ]]
    + [("RELU6", i, o, None) for i, o in [
        ((0.05, -20), (0.05, -128)), ((0.0235, -128), (0.0235, -128)), ((0.03, 10), (0.1, 0)),
        ((0.0471, 100), (0.02, -128)), ((0.5, -3), (0.5, -3)), ((0.01, -50), (0.01, -50)),
    ]]
    + [("LEAKY_RELU", i, o, a) for i, o, a in [
        ((0.05, 10), (0.04, 30), 0.2), ((0.02, -5), (0.02, -5), 0.01), ((0.1, 0), (0.05, 0), 0.0),
        ((0.03, 0), (0.03, 60), -0.5), ((0.03, -40), (0.06, 0), 1.5), ((0.01, 0), (0.05, 0), 3.0),
        ((0.2, 7), (0.01, -9), 0.3),
    ]]
    + [("HARD_SWISH", i, o, None) for i, o in [
        ((0.05, 10), (0.03, -90)),  # reluish exponent > 0
        ((0.0235, -3), (0.0135, -100)),
        ((0.004, 0), (0.003, -120)),  # reluish exponent < 0
        ((0.0117, 0), (0.0117, 0)),  # reluish multiplier near 1
        ((0.25, -128), (0.2, -100)),
        ((0.5, 60), (0.004, -128)),  # output exponent 0
        ((0.01, 127), (0.5, 0)),  # output shift > 7
    ]]
)


def case_id(case) -> str:
    kind, i, o, alpha = case
    return f"{kind}-in{i[0]:.4g},{i[1]}-out{o[0]:.4g},{o[1]}" + (f"-a{alpha}" if alpha is not None
                                                                   else "")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_table_matches_tflm(case):
    path = single_op_model(*case)
    expected = tflm_outputs(path, ALL_INT8)
    table = lowered_table(path)
    assert np.array_equal(table, expected), describe_mismatch(table, expected)


@cache
def _host(path: Path):
    from tinyc.pipeline import compile_model
    from tinyc.verify.build import build_host_model

    compiled = compile_model(path, "act")
    return build_host_model(compiled.files, compiled.name)


def run_compiled(path: Path, x: np.ndarray) -> np.ndarray:
    (out,) = _host(path).run([x])
    return np.frombuffer(out, np.int8)


END_TO_END = [CASES[1], CASES[13], CASES[25], CASES[32], CASES[38], CASES[44]]


@pytest.mark.parametrize("case", END_TO_END, ids=case_id)
def test_compiled_model_matches_tflm(case):
    path = single_op_model(*case)
    expected = tflm_outputs(path, ALL_INT8)
    got = run_compiled(path, ALL_INT8)
    assert np.array_equal(got, expected), describe_mismatch(got, expected)


def test_end_to_end_covers_each_op():
    assert sorted({c[0] for c in END_TO_END}) == sorted({c[0] for c in CASES})


def test_rejected_like_tflm():
    """TFLM fails LOGISTIC's Prepare unless the output zero point is -128; so does tinyc."""
    from tinyc.errors import UnsupportedError
    from tinyc.lower import lower
    from tinyc.read_tflite import read_model

    path = single_op_model("LOGISTIC", (0.05, 0), (1 / 256, 0))
    with pytest.raises(UnsupportedError, match="LOGISTIC.*zero point 0"):
        lower(read_model(path))


# --- the gemmlowp port at full int32 precision, against fixedpoint.h itself ---

GEMMLOWP_PROGRAM = r"""
#include <cstdio>
#include "fixedpoint/fixedpoint.h"
int main() {
  long v;
  while (std::scanf("%ld", &v) == 1) {
    typedef gemmlowp::FixedPoint<int32_t, 4> F4;
    const F4 a = F4::FromRaw(static_cast<int32_t>(v));
    std::printf("%d %d\n", gemmlowp::logistic(a).raw(), gemmlowp::tanh(a).raw());
  }
  return 0;
}
"""


def test_gemmlowp_port_matches_fixedpoint_h(tmp_path):
    """gemmlowp_logistic/tanh on Q4.27 raw values, compared with gemmlowp's own header.

    The int8 tables only see the top 8 bits of these results; this checks all 32.
    """
    import shutil
    import subprocess

    import tensorflow  # its headers lie beside the package, wherever it is installed

    from tinyc.ops.activations import gemmlowp_logistic, gemmlowp_tanh

    include = Path(tensorflow.__file__).parent / "include/external/gemmlowp"
    if not (include / "fixedpoint/fixedpoint.h").exists() or not shutil.which("g++"):
        pytest.skip("needs g++ and gemmlowp's fixedpoint.h (installed with tensorflow)")
    source = tmp_path / "gemmlowp.cc"
    source.write_text(GEMMLOWP_PROGRAM)
    subprocess.run(["g++", "-O1", "-std=c++14", "-I", str(include), str(source), "-o",
                    str(tmp_path / "gemmlowp")], check=True)
    rng = np.random.default_rng(0)
    limit = 15 << 27  # the kernels never pass |x| >= 15 in Q4.27 (the input radius)
    values = np.concatenate([
        np.linspace(-limit, limit, 4001).astype(np.int64),
        rng.integers(-limit, limit, 4000),
        rng.integers(-(1 << 20), 1 << 20, 1000),  # near zero
        np.arange(-50, 51),
    ])
    run = subprocess.run([str(tmp_path / "gemmlowp")], input=" ".join(map(str, values)),
                         capture_output=True, text=True, check=True)
    expected = [tuple(map(int, line.split())) for line in run.stdout.splitlines()]
    got = [(gemmlowp_logistic(int(v), 4), gemmlowp_tanh(int(v), 4)) for v in values]
    bad = [(int(v), g, e) for v, g, e in zip(values, got, expected) if g != e]
    assert len(expected) == len(values) and not bad, f"{len(bad)} differ, e.g. {bad[:5]}"


# --- models from the TensorFlow converter ---

CONVERTED = {  # Keras layer, calibration range
    "sigmoid": (lambda tf: tf.keras.layers.Activation("sigmoid"), -6.0, 6.0),
    "tanh": (lambda tf: tf.keras.layers.Activation("tanh"), -3.0, 3.0),
    "relu": (lambda tf: tf.keras.layers.ReLU(), -2.0, 5.0),
    "relu6": (lambda tf: tf.keras.layers.ReLU(max_value=6.0), -4.0, 8.0),
    "leaky_relu": (lambda tf: tf.keras.layers.LeakyReLU(negative_slope=0.1), -3.0, 3.0),
    "hard_swish": (lambda tf: tf.keras.layers.Activation("hard_swish"), -5.0, 5.0),
}
EXPECTED_KIND = {"sigmoid": "LOGISTIC", "tanh": "TANH", "relu": "RELU", "relu6": "RELU6",
                 "leaky_relu": "LEAKY_RELU", "hard_swish": "HARD_SWISH"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_converted_model(name):
    from tinyc.read_tflite import read_model

    layer, low, high = CONVERTED[name]
    path = single_layer_model(f"act-{name}", (256,), lambda tf, x: layer(tf)(x), low=low,
                              high=high)
    kinds = [op.kind for op in read_model(path).ops]
    assert kinds == [EXPECTED_KIND[name]], f"the converter produced {kinds}"
    expected = tflm_outputs(path, ALL_INT8)
    got = run_compiled(path, ALL_INT8)
    assert np.array_equal(got, expected), describe_mismatch(got, expected)
    assert_bit_exact(path, samples=5)
