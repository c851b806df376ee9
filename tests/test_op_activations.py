"""LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH (int8, int16, float32) against the TFLM
interpreter. Every quantized test is exhaustive: the model's input holds every int8 (256) or
every int16 (65,536) value.

int8 (tinyc lowers these to a 256-entry table computed by a Python port of TFLM's arithmetic):
  - test_table_matches_tflm: single-op models written directly as flatbuffers, over a grid of
    scales, zero points and alphas chosen to reach every branch of the ports (saturation radius 0,
    left and right shifts, negative alpha, ...), plus scales where the wheel's double division of
    the scales differs from the float division the source reads; the table tinyc lowers to must
    equal TFLM's output.
  - test_compiled_model_matches_tflm: the same, through the whole pipeline (generated C built on
    the host) for one case per op.
  - test_converted_model: models made by the TensorFlow converter (its own quantization), compiled
    and compared with assert_bit_exact and on all 256 inputs.
int16 (C kernels in runtime/activations.h), each model many ops on all 65,536 inputs, through the
generated C:
  - LOGISTIC and TANH at power-of-two scales (TFLM's special case, and scales CheckedLog2 takes as
    one), the converter's scales (max |x| / 32767), the extremes (input shift 31; multipliers
    above 32767), output scales within CheckedLog2's tolerance of 2^-15;
  - LEAKY_RELU at several scales, zero points and alphas (negative, > 1, 0), RELU and RELU6,
    including scales where the wheel's double division matters;
  - the seanet LEAKY_RELU model from the shared models, on every int16 value;
  - what TFLM's Prepare refuses (zero points, output scales, HARD_SWISH int16), tinyc refuses
    naming the op, and the oracle refuses too.
float32: every op on a grid plus the cut-offs, +-0, +-inf, NaN, denormals, huge values.
Keras models converted by TensorFlow in int8, 16x8 and float32 modes. The generated code of every
kernel builds with -Werror under g++, clang++ and arm-none-eabi-g++, and the header as C99; the
int16 kernels also run on an emulated Cortex-M4.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4, shared_model
from flatbuffer_models import OperatorSpec, TensorSpec, single_op_tflite, tflite_model
from tflite_builders import (
    cached_model,
    keras_model,
    quiet_tensorflow,
    representative_samples,
    single_layer_model,
)

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
    # The wheel divides these scales in double; dividing in float (as the source reads) changes
    # one table entry of each.
    + [("RELU", (0.005187508184462786, -52), (0.08245045691728592, 104), None),
       ("LEAKY_RELU", (0.003884369507431984, 6), (0.001744719804264605, 99), 0.9668850898742676),
       ("HARD_SWISH", (0.19862692058086395, -108), (0.3224716782569885, -66), None),
       ("HARD_SWISH", (0.012589963153004646, -46), (0.0034016715362668037, -119), None)]
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


# --- int16 and float32: C kernels, many ops per model, every int16 input ---

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
LEAKY = {"options": "LeakyReluOptions"}


@dataclass(frozen=True)
class ActOp:
    """One op of a multi-op test model: its own input and output tensor."""

    kind: str
    input: TensorSpec
    output: TensorSpec
    alpha: float | None = None

    @property
    def label(self) -> str:
        def q(t: TensorSpec) -> str:
            return "" if t.quant is None else f"{t.quant[0]:.6g},{t.quant[1]}"

        alpha = "" if self.alpha is None else f" alpha {self.alpha:g}"
        return (f"{self.kind} {np.dtype(self.input.dtype).name} in {q(self.input)} "
                f"out {q(self.output)}{alpha}")


def int16_op(kind: str, input_q: tuple[float, int], output_q: tuple[float, int],
             alpha: float | None = None, size: int = ALL_INT16.size) -> ActOp:
    return ActOp(kind, TensorSpec([size], np.int16, input_q),
                 TensorSpec([size], np.int16, output_q), alpha)


def model_of(ops: list[ActOp]) -> bytes:
    tensors, operators = [], []
    for op in ops:
        tensors += [op.input, op.output]
        options = {} if op.alpha is None else {"options": "LeakyReluOptions",
                                               "fields": {"alpha": op.alpha}}
        operators.append(OperatorSpec(op.kind, [len(tensors) - 2], [len(tensors) - 1],
                                      **options))
    indices = range(0, len(tensors), 2)
    return tflite_model(tensors, operators, list(indices), [i + 1 for i in indices])


def assert_ops_match_tflm(tmp_path: Path, name: str, ops: list[ActOp],
                          values: list[np.ndarray]) -> None:
    """Compile the ops' model, run it on the host and in TFLM, require identical bytes."""
    from tinyc.pipeline import compile_model
    from tinyc.verify.build import build_host_model
    from tinyc.verify.compare import tflm_runner

    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model_of(ops))
    compiled = compile_model(path, name)
    ours = build_host_model(compiled.files, compiled.name).run(values)
    theirs = tflm_runner(path, len(ops), arena_size=1 << 25)(values)
    bad = []
    for op, x, mine, ref in zip(ops, values, ours, theirs, strict=True):
        ref = np.ascontiguousarray(ref).reshape(-1)
        got = np.frombuffer(mine, ref.dtype)
        differ = np.flatnonzero(got.view(f"u{ref.itemsize}") != ref.view(f"u{ref.itemsize}"))
        if differ.size:
            bad.append(f"{op.label}: {differ.size} of {ref.size} differ, e.g. " + ", ".join(
                f"x={x[i]}: tinyc {got[i]} TFLM {ref[i]}" for i in differ[:4]))
    assert not bad, "\n".join(bad)


ONE_OVER_2_15 = (2.0 ** -15, 0)
# Input scales for int16 LOGISTIC and TANH, each reaching a branch of TFLM's Prepare/Eval.
LOGISTIC_TANH_INT16_SCALES = [
    2.0 ** -12,  # power of two: multiplier 3, no shift (both ops)
    2.0 ** -11,  # power of two: TANH's second special case; LOGISTIC's general path
    2.0 ** -12 * 2 ** 0.0009,  # within CheckedLog2's 1e-3 of 2^-12: taken as 2^-12
    2.0 ** -12 * 2 ** 0.0011,  # just outside: the general path
    2.0 ** -10,  # power of two, not special
    1 / 32767, 3 / 32767, 4 / 32767, 6 / 32767, 8 / 32767, 10 / 32767,  # the converter's
    float(np.float32(5.2731e-4)),
    1e-6,
    1e-9,  # left shift 31 (rounding 2^30)
    3.9e-14,  # shift 31, multiplier 1: everything but x = 0 rounds to +-0
    0.05, 1.0,
    2.0,  # the loop never runs: shift 0
    2.0 ** 1.5,  # multiplier 34755, above TFLM's (debug-only) 32767
    5.33,  # multiplier 65495: the largest tinyc takes (the int32 product cannot wrap)
]


@pytest.mark.parametrize("kind", ["LOGISTIC", "TANH"])
def test_int16_logistic_tanh_on_all_inputs(kind, tmp_path):
    ops = [int16_op(kind, (scale, 0), ONE_OVER_2_15) for scale in LOGISTIC_TANH_INT16_SCALES]
    # output scales that CheckedLog2 takes as 2^-15
    ops += [int16_op(kind, (3 / 32767, 0), (2.0 ** -15 * 2 ** s, 0)) for s in (0.0009, -0.0009)]
    assert_ops_match_tflm(tmp_path, kind.lower(), ops, [ALL_INT16] * len(ops))


def test_int16_lowering_follows_tflm_prepare():
    """The parameters the kernels get, for the cases the exhaustive test relies on reaching."""
    from tinyc.ops.activations import logistic_tanh_s16_params as params

    out = 2.0 ** -15
    assert params(2.0 ** -12, out, tanh=False) == (3, 0, 0)
    assert params(2.0 ** -11, out, tanh=True) == (6, 0, 0)
    assert params(2.0 ** -11, out, tanh=False) == (24576, 12, 1 << 11)
    assert params(2.0 ** -12 * 2 ** 0.0009, out, tanh=True) == (3, 0, 0)
    assert params(2.0 ** -12 * 2 ** 0.0011, out, tanh=True)[0] != 3
    assert params(1e-9, out, tanh=False)[1:] == (31, 1 << 30)
    assert params(3.9e-14, out, tanh=False) == (1, 31, 1 << 30)
    assert params(2.0, out, tanh=False) == (24576, 0, 0)
    assert params(5.33, out, tanh=True) == (65495, 0, 0)


# LEAKY_RELU int16: TFLM takes any zero points; (input, output, alpha)
LEAKY_INT16 = [
    ((0.0017488234443590045, 0), (0.0017488234443590045, 0), 0.3),  # seanet's
    ((1 / 32767, 0), (0.7 / 32767, 0), 0.2),
    ((0.001, 0), (0.001, 0), 0.01),
    ((0.0013, 5), (0.0007, -7), 0.3),  # identity shift > 0, nonzero zero points
    ((0.05, -300), (0.0004, 2000), 1.5),  # alpha > 1, outputs saturate
    ((0.0004, 0), (0.05, 0), -0.5),  # negative alpha, right shifts
    ((0.01, 32767), (0.01, -32768), 0.1),  # extreme zero points
    ((0.003, 0), (0.002, 0), 0.0),  # alpha 0: multiplier 0
    ((3e-5, 0), (2e-3, 0), 1e-4),  # shift below -31: flushed to 0
    ((0.5, 0), (1e-8, 0), 0.25),  # left shift 25: TFLM's x << shift wraps int32
    # the wheel divides in double: in float 12 and 9 outputs would differ
    ((0.002293473109602928, 0), (0.00025242078118026257, 0), -0.1937740296125412),
    ((0.0004077234771102667, 0), (0.0006122658378444612, 0), 0.5007293224334717),
]
RELU_INT16 = [  # RELU needs zero points 0
    ((1 / 32767, 0), (1 / 32767, 0)),
    ((8 / 32767, 0), (6 / 32767, 0)),
    ((0.0008619743748567998, 0), (0.0018619985785335302, 0)),  # double division: 3 differ in float
    ((0.030416397377848625, 0), (0.0016888746758922935, 0)),  # and 1 here
    ((0.5, 0), (1e-7, 0)),  # left shift 23, wraps
    ((1e-4, 0), (10.0, 0)),
]
RELU6_INT16 = [  # a clamp on the input scale; TFLM ignores the output quantization
    ((6 / 32767, 0), (6 / 32767, 0)),
    ((8 / 32767, 0), (3.0, 5)),
    ((0.001, 7), (0.5, 3)),
    ((1e-5, 0), (1e-5, 0)),  # six above 32767: clamped
    ((0.5, -32768), (0.5, -32768)),
    ((6 / 2.5, -100), (6 / 2.5, -100)),  # 6 / scale is 2.5 in float (and 2.4999999 in double)
]


def test_int16_leaky_relu_relu_relu6_on_all_inputs(tmp_path):
    ops = [int16_op("LEAKY_RELU", i, o, a) for i, o, a in LEAKY_INT16]
    ops += [int16_op("RELU", i, o) for i, o in RELU_INT16]
    ops += [int16_op("RELU6", i, o) for i, o in RELU6_INT16]
    assert_ops_match_tflm(tmp_path, "int16_relus", ops, [ALL_INT16] * len(ops))


def test_seanet_leaky_relu_model_on_all_inputs():
    """The shared seanet LEAKY_RELU (int16, alpha 0.3): every int16 value, 26 samples of 2560."""
    from tinyc.verify.compare import tflm_runner

    path = shared_model("wider/seanet_leaky_relu0_i16.tflite")
    assert_bit_exact(path, samples=20)
    host = _host(path)
    oracle = tflm_runner(path, 1)
    values = np.resize(ALL_INT16, (26, 1, 2, 160, 8))
    for x in values:
        (out,) = host.run([x])
        (ref,) = oracle([x])
        got = np.frombuffer(out, np.int16)
        assert np.array_equal(got, np.asarray(ref).reshape(-1)), f"{(got != ref).sum()} differ"


# float32: a grid, the logistic cut-offs and their neighbours, and special values
FLOAT_VALUES = np.concatenate([
    np.linspace(-20, 20, 8001, dtype=np.float32),
    np.float32(10) ** np.linspace(-38, 38, 300, dtype=np.float32),
    -(np.float32(10) ** np.linspace(-38, 38, 300, dtype=np.float32)),
    np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-40, -1e-40,
              np.finfo(np.float32).max, -np.finfo(np.float32).max, -3.0, 3.0, 6.0, -6.0],
             np.float32),
    *[np.nextafter(np.float32([cutoff] * 3), np.float32([-np.inf, cutoff, np.inf]))
      for cutoff in (16.619047164916992188, -9.0)],
]).astype(np.float32)


def float_op(kind: str, alpha: float | None = None) -> ActOp:
    spec = TensorSpec([FLOAT_VALUES.size], np.float32)
    return ActOp(kind, spec, spec, alpha)


def test_float32_on_a_grid(tmp_path):
    ops = [float_op(kind) for kind in ("LOGISTIC", "TANH", "RELU", "RELU6", "HARD_SWISH")]
    ops += [float_op("LEAKY_RELU", a) for a in (0.2, 0.0, -0.5, 1.5, 0.30000001192092896)]
    assert_ops_match_tflm(tmp_path, "float_acts", ops, [FLOAT_VALUES] * len(ops))


# --- what TFLM refuses ---

REFUSED = {  # name: (op, message tinyc gives)
    "logistic-input-zero-point": (int16_op("LOGISTIC", (0.001, 3), ONE_OVER_2_15, size=8),
                                  r"op 0 \(LOGISTIC\): int16 tensor 0 .* zero point 3"),
    "logistic-output-zero-point": (int16_op("LOGISTIC", (0.001, 0), (2.0 ** -15, 1), size=8),
                                   r"op 0 \(LOGISTIC\): int16 tensor 1 .* zero point 1"),
    "logistic-output-scale": (int16_op("LOGISTIC", (0.001, 0), (2.0 ** -14, 0), size=8),
                              r"op 0 \(LOGISTIC\): output scale 6.10\d*e-05 .*2\^-15"),
    "tanh-output-scale-not-pot": (int16_op("TANH", (0.001, 0), (2.0 ** -15 * 1.01, 0), size=8),
                                  r"op 0 \(TANH\): output scale .*2\^-15"),
    "tanh-input-zero-point": (int16_op("TANH", (0.001, -1), ONE_OVER_2_15, size=8),
                              r"op 0 \(TANH\): int16 tensor 0 .* zero point -1"),
    "relu-zero-point": (int16_op("RELU", (0.001, 0), (0.001, 4), size=8),
                        r"op 0 \(RELU\): int16 tensor 1 .* zero point 4"),
    "hard-swish-int16": (int16_op("HARD_SWISH", (0.001, 0), (0.001, 0), size=8),
                         r"op 0 \(HARD_SWISH\): tensor types int16/int16 are not supported"),
}
# TFLM takes these; its arithmetic is undefined for them (see logistic_tanh_s16_params)
REFUSED_ONLY_BY_TINYC = {
    "logistic-scale-tiny": (int16_op("LOGISTIC", (1e-14, 0), ONE_OVER_2_15, size=8),
                            r"op 0 \(LOGISTIC\): input scale 1e-14 is too small"),
    "tanh-scale-large": (int16_op("TANH", (5.34, 0), ONE_OVER_2_15, size=8),
                         r"op 0 \(TANH\): input scale 5.34 is too large"),
    "leaky-alpha-multiplier-int32-min": (
        int16_op("LEAKY_RELU", (1 + 2 ** -23, 0), (1.0, 0), -(1 - 2 ** -23), size=8),
        r"op 0 \(LEAKY_RELU\): input scale \* alpha / output scale rounds to -2\^k"),
    "mixed-types": (ActOp("RELU", TensorSpec([8], np.int16, (0.1, 0)),
                       TensorSpec([8], np.int8, (0.1, 0))),
                    r"op 0 \(RELU\): tensor types int16/int8 are not supported"),
}


@pytest.mark.parametrize("name", sorted(REFUSED) + sorted(REFUSED_ONLY_BY_TINYC))
def test_refused(name, tmp_path):
    from tinyc.errors import UnsupportedError
    from tinyc.pipeline import compile_model
    from tinyc.verify.compare import tflm_runner

    op, message = {**REFUSED, **REFUSED_ONLY_BY_TINYC}[name]
    path = tmp_path / "refused.tflite"
    path.write_bytes(model_of([op]))
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "refused")
    if name in REFUSED:  # the oracle refuses them too (in Prepare, or HARD_SWISH in Eval)
        with pytest.raises(RuntimeError):
            tflm_runner(path, 1)([np.zeros(8, np.int16)])


# --- the generated code builds clean; the int16 kernels on a Cortex-M4 ---


def every_kernel_model() -> bytes:
    ops = [int16_op(kind, (0.001, 0), ONE_OVER_2_15, size=8) for kind in ("LOGISTIC", "TANH")]
    ops += [int16_op("RELU", (0.001, 0), (0.002, 0), size=8),
            int16_op("RELU6", (0.001, 0), (0.001, 0), size=8),
            int16_op("LEAKY_RELU", (0.001, 2), (0.002, -1), 0.2, size=8)]
    spec = TensorSpec([8], np.float32)
    ops += [ActOp(kind, spec, spec) for kind in ("LOGISTIC", "TANH", "RELU", "RELU6", "HARD_SWISH")]
    ops += [ActOp("LEAKY_RELU", spec, spec, 0.1)]
    int8 = (TensorSpec([8], np.int8, (0.05, 3)), TensorSpec([8], np.int8, (1 / 256, -128)))
    ops += [ActOp(kind, *int8) for kind in ("LOGISTIC", "TANH", "RELU", "RELU6", "HARD_SWISH")]
    ops += [ActOp("LEAKY_RELU", *int8, 0.1)]
    return model_of(ops)


CXX = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror"]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_clean(compiler, tmp_path):
    from tinyc import compile_to_folder

    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    path = tmp_path / "all.tflite"
    path.write_bytes(every_kernel_model())
    folder = tmp_path / "gen"
    compile_to_folder(path, folder, name="acts")
    assert "tinyc_logistic_s16" in (folder / "acts.cpp").read_text()
    flags = CXX + (ARM if compiler.startswith("arm") else ["-O2"])
    for source in folder.rglob("*.cpp"):
        result = subprocess.run([compiler, *flags, "-I", str(folder), "-c", str(source), "-o",
                                 str(tmp_path / "out.o")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


C99_PROGRAM = r"""
#include "activations.h"
#include "lut.h"
int main(void) {
  static const tinyc_logistic_s16_params logistic = {4, 3, 0, 0};
  static const tinyc_leaky_relu_s16_params leaky = {4, 0, 0, 1 << 30, 1, 1 << 30, -2, 1};
  static const tinyc_leaky_relu_f32_params leaky_f = {4, 0.5f};
  static const tinyc_activation_f32_params f = {4};
  int16_t x[4] = {-30000, -1, 0, 20000};
  float y[4] = {-1.0f, 0.0f, 2.0f, 20.0f};
  tinyc_logistic_s16(&logistic, x, x);
  tinyc_tanh_s16(&logistic, x, x);
  tinyc_leaky_relu_s16(&leaky, x, x);
  tinyc_logistic_f32(&f, y, y);
  tinyc_hard_swish_f32(&f, y, y);
  tinyc_leaky_relu_f32(&leaky_f, y, y);
  return x[0] == 12345 && y[0] == 1.0f;
}
"""


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_header_is_c99(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    runtime = Path(__file__).resolve().parent.parent / "runtime"
    source = tmp_path / "c99.c"
    source.write_text(C99_PROGRAM)
    result = subprocess.run([compiler, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
                             "-O2", "-I", str(runtime), str(source), "-o", str(tmp_path / "c99"),
                             "-lm"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@needs_m4
@pytest.mark.parametrize("kind", ["LOGISTIC", "TANH", "LEAKY_RELU", "RELU"])
def test_int16_on_cortex_m4(kind, tmp_path):
    output = ONE_OVER_2_15 if kind in ("LOGISTIC", "TANH") else (0.0009, 0)
    op = int16_op(kind, (3 / 32767, 0), output, 0.3 if kind == "LEAKY_RELU" else None,
                  size=4096)
    path = tmp_path / "m4.tflite"
    path.write_bytes(model_of([op]))
    assert_bit_exact_on_m4(path, tmp_path)


# --- Keras models in 16x8 and float32 ---

KERAS_LAYERS = {  # Keras layer, calibration range, the op the converter must emit
    "sigmoid": (lambda tf: tf.keras.layers.Activation("sigmoid"), -6.0, 6.0, "LOGISTIC"),
    "tanh": (lambda tf: tf.keras.layers.Activation("tanh"), -3.0, 3.0, "TANH"),
    "relu": (lambda tf: tf.keras.layers.ReLU(), -2.0, 5.0, "RELU"),
    "relu6": (lambda tf: tf.keras.layers.ReLU(max_value=6.0), -4.0, 8.0, "RELU6"),
    "leaky_relu": (lambda tf: tf.keras.layers.LeakyReLU(negative_slope=0.1), -3.0, 3.0,
                   "LEAKY_RELU"),
    "hard_swish": (lambda tf: tf.keras.layers.Activation("hard_swish"), -5.0, 5.0,
                   "HARD_SWISH"),
}


def chain(tf, x):
    """Activations one after another: each op's input quantization is the previous output's."""
    x = tf.keras.layers.LeakyReLU(negative_slope=0.2)(x)
    x = tf.keras.layers.Activation("tanh")(x)
    x = tf.keras.layers.ReLU()(x)
    x = tf.keras.layers.Activation("sigmoid")(x)
    return tf.keras.layers.ReLU(max_value=6.0)(x)


def dense_chain(tf, x):
    """Activations between Dense layers (HARD_SWISH: float only)."""
    x = tf.keras.layers.Dense(32)(x)
    x = tf.keras.layers.LeakyReLU(negative_slope=0.3)(x)
    x = tf.keras.layers.Dense(32)(x)
    x = tf.keras.layers.Activation("hard_swish")(x)
    x = tf.keras.layers.Dense(16)(x)
    x = tf.keras.layers.Activation("tanh")(x)
    x = tf.keras.layers.Dense(8)(x)
    return tf.keras.layers.Activation("sigmoid")(x)


def one_layer(layer):
    def build(tf, x):
        return layer(tf)(x)

    return build


def dense_chain_16x8(tf, x):
    x = tf.keras.layers.Dense(32)(x)
    x = tf.keras.layers.LeakyReLU(negative_slope=0.3)(x)
    x = tf.keras.layers.Dense(32)(x)
    x = tf.keras.layers.Activation("tanh")(x)
    x = tf.keras.layers.Dense(8)(x)
    return tf.keras.layers.Activation("sigmoid")(x)


KERAS_MODELS = {  # name: (build, calibration range, the ops the converter must emit)
    **{name: (one_layer(layer), low, high, [kind])
       for name, (layer, low, high, kind) in KERAS_LAYERS.items()},
    "chain": (chain, -4.0, 4.0, ["LEAKY_RELU", "TANH", "RELU", "LOGISTIC", "RELU6"]),
    "dense-chain": (dense_chain, -2.0, 2.0, ["FULLY_CONNECTED", "LEAKY_RELU", "FULLY_CONNECTED",
                                             "HARD_SWISH", "FULLY_CONNECTED", "TANH",
                                             "FULLY_CONNECTED", "LOGISTIC"]),
    "dense-chain-16x8": (dense_chain_16x8, -2.0, 2.0, ["FULLY_CONNECTED", "LEAKY_RELU",
                                                       "FULLY_CONNECTED", "TANH",
                                                       "FULLY_CONNECTED", "LOGISTIC"]),
}


KERAS_VERSION = 1  # part of the cache key: bump it when a model's build changes


def keras_activation_model(name: str, mode: str) -> Path:
    """A Keras model of KERAS_MODELS on (256,), converted in mode "16x8" or "float"."""
    build, low, high, _ = KERAS_MODELS[name]

    def make() -> bytes:
        tf = quiet_tensorflow()
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model((256,), build))
        if mode == "16x8":
            samples = representative_samples((256,), low=low, high=high)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([s] for s in samples)
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int16
        return converter.convert()

    return cached_model(f"act-keras-{KERAS_VERSION}-{name}-{mode}-{low}-{high}", make)


# The converter has no 16x8 HARD_SWISH ("not yet supported"), nor does TFLM: test_refused.
KERAS_GRID = [(name, mode) for name in KERAS_MODELS for mode in ("16x8", "float")
              if not (mode == "16x8" and name in ("hard_swish", "dense-chain"))
              and not (mode == "float" and name == "dense-chain-16x8")]


@pytest.mark.slow
@pytest.mark.parametrize("name,mode", KERAS_GRID, ids=[f"{n}-{m}" for n, m in KERAS_GRID])
def test_keras_16x8_and_float(name, mode):
    from tinyc.read_tflite import read_model
    from tinyc.verify.compare import tflm_runner

    path = keras_activation_model(name, mode)
    graph = read_model(path)
    kinds = [op.kind for op in graph.ops]
    assert kinds == KERAS_MODELS[name][3], f"the converter produced {kinds}"
    expected = {"16x8": "int16", "float": "float32"}[mode]
    assert {graph.tensor(op.outputs[0]).dtype for op in graph.ops} == {expected}
    assert_bit_exact(path, samples=20)
    if mode == "16x8":  # and every int16 input
        host, oracle = _host(path), tflm_runner(path, 1)
        for x in ALL_INT16.reshape(-1, 1, 256):
            (out,) = host.run([x])
            assert out == np.ascontiguousarray(oracle([x])[0]).tobytes(), f"input {x[0, :4]}..."


def test_relu_n1_to_1_is_not_a_tflm_kernel(tmp_path):
    """TFLM registers no RELU_N1_TO_1 op (only the fused activation), so tinyc has none either."""
    from tinyc.errors import UnsupportedError
    from tinyc.pipeline import compile_model
    from tinyc.verify.compare import tflm_runner

    spec = TensorSpec([8], np.float32)
    path = tmp_path / "relu1.tflite"
    path.write_bytes(model_of([ActOp("RELU_N1_TO_1", spec, spec)]))
    with pytest.raises(RuntimeError):
        tflm_runner(path, 1)([np.zeros(8, np.float32)])
    with pytest.raises(UnsupportedError, match=r"RELU_N1_TO_1 \(op 0\)"):
        compile_model(path, "relu1")
