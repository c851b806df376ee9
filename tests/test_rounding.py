"""`--rounding single`: requantization with one rounding, as TFLite built with
TFLITE_SINGLE_ROUNDING (tensorflow/lite/kernels/internal/common.cc) and the ai-edge-litert wheel's
builtin kernels compute it.

- The C helpers (tinyc_requantize, the fast path tinyc_rq_apply on the portable and the 16-bit
  halves paths) against the Python port of TFLite's formula, over edge cases and random values.
- Single-op models and zoo models compiled in single mode, bit for bit against LiteRT's default
  kernels where those round once; the same models in double mode against TFLM (unchanged).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyc import quantize as q
from tinyc.ir import DTYPES
from tinyc.pipeline import compile_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import litert_runner, random_inputs, tflm_runner, verify_model

from conftest import REPO, shared_model
from flatbuffer_models import TensorSpec, single_op_tflite

RUNTIME = REPO / "runtime"

# ----------------------------------------------------------------- the C helpers, one by one

PROGRAM = r"""
#include <stdio.h>
#include "tinyc_dsp.h"
int main(void) {
  long long x, m, s;
  while (scanf("%lld %lld %lld", &x, &m, &s) == 3) {
    long long fast = 0;
    if (s <= 0 && s >= -30 && m >= (1LL << 30) && x > -(1LL << 29) && x < (1LL << 29))
      fast = tinyc_rq_apply((int32_t)x, tinyc_rq_make((int32_t)m, (int32_t)s));
    printf("%ld %lld\n", (long)tinyc_requantize((int32_t)x, (int32_t)m, (int)s), fast);
  }
  return 0;
}
"""


def run_c(tmp_path: Path, triples: list[tuple[int, int, int]], *defines: str) -> list[tuple]:
    src = tmp_path / "rq.c"
    exe = tmp_path / ("rq" + "".join(d.replace("=", "_") for d in defines))
    src.write_text(PROGRAM)
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(RUNTIME),
                    *[f"-D{d}" for d in defines], str(src), "-o", str(exe)], check=True)
    text = "".join(f"{x} {m} {s}\n" for x, m, s in triples)
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True)
    return [tuple(int(v) for v in line.split()) for line in out.stdout.splitlines()]


def requantize_cases(seed: int = 0, count: int = 20000) -> list[tuple[int, int, int]]:
    """Edge cases (extreme x, multipliers and every shift TFLite allows, ties of the rounding)
    and random values; the multiplier >= 0 and -31 <= shift <= 30, TFLite's contract."""
    rng = np.random.default_rng(seed)
    xs = [0, 1, -1, 2, -2, 3, -3, (1 << 29) - 1, -(1 << 29) + 1, (1 << 31) - 1, -(1 << 31),
          (1 << 30), -(1 << 30), 12345, -12345]
    ms = [0, 1, 1 << 30, (1 << 30) + 1, (1 << 31) - 1, 1518500250, 1 << 29]
    cases = [(x, m, s) for x in xs for m in ms for s in range(-31, 31)]
    for _ in range(count):
        s = int(rng.integers(-31, 31))
        m = int(rng.integers(1 << 30, 1 << 31))
        x = int(rng.integers(-(1 << 31), 1 << 31)) if rng.random() < 0.3 else \
            int(rng.integers(-(1 << 29) + 1, 1 << 29))
        cases.append((x, m, s))
    # exact ties: x * m + 2^(30-s) a multiple of 2^(31-s), where double rounding differs
    for s in range(-30, 1):
        for k in range(-40, 40):
            m = 1 << 30
            x = (k * (1 << (31 - s)) + (1 << (30 - s))) // m if (1 << (30 - s)) % m == 0 else k
            cases.append((int(np.clip(x, -(1 << 31), (1 << 31) - 1)), m, s))
    return cases


@pytest.mark.parametrize("defines", [(), ("TINYC_MUL64_SLOW",)], ids=["portable", "halves"])
def test_single_rounding_c_helpers_match_tflite_formula(tmp_path, defines):
    cases = requantize_cases()
    got = run_c(tmp_path, cases, "TINYC_SINGLE_ROUNDING", *defines)
    assert len(got) == len(cases)
    differs_from_double = 0
    for (x, m, s), (slow, fast) in zip(cases, got):
        want = q.multiply_by_quantized_multiplier_single(x, m, s)
        assert slow == want, (x, m, s)
        if s <= 0 and s >= -30 and m >= 1 << 30 and abs(x) < 1 << 29:
            assert fast == want, ("fast", x, m, s)
        differs_from_double += want != q.multiply_by_quantized_multiplier_double(x, m, s)
    assert differs_from_double > 100  # the cases do tell the two roundings apart


def test_double_rounding_c_helpers_unchanged(tmp_path):
    cases = [c for c in requantize_cases(seed=1, count=5000) if c[1] >= 0]
    got = run_c(tmp_path, cases)
    for (x, m, s), (slow, fast) in zip(cases, got):
        want = q.multiply_by_quantized_multiplier_double(x, m, s)
        assert slow == want, (x, m, s)
        if s <= 0 and s >= -30 and m >= 1 << 30 and abs(x) < 1 << 29:
            assert fast == want, ("fast", x, m, s)


def test_single_rounding_formula_is_tflites():
    """The port against TFLite's arithmetic written out: round(x * m / 2^(31 - s)), half up."""
    from fractions import Fraction
    for x, m, s in requantize_cases(seed=2, count=2000):
        exact = Fraction(x * m, 1 << (31 - s)) + Fraction(1, 2)
        assert q.multiply_by_quantized_multiplier_single(x, m, s) == q.wrap_int32(
            exact.numerator // exact.denominator), (x, m, s)


def test_quantize_multiplier_saturates_large_shifts_under_single_rounding():
    with q.rounding_mode("single"):
        assert q.quantize_multiplier(2.0 ** 31, max_shift=31) == ((1 << 31) - 1, 30)
        assert q.quantize_multiplier(0.5) == (1 << 30, 0)
        assert q.rounding() == "single"
    assert q.rounding() == "double"
    assert q.quantize_multiplier(2.0 ** 30, max_shift=31) == (1 << 30, 31)
    with q.rounding_mode("single"):
        assert q.quantize_multiplier(2.0 ** 30, max_shift=31) == ((1 << 31) - 1, 30)
    with pytest.raises(ValueError):
        with q.rounding_mode("triple"):
            pass


# ------------------------------------------------------------------ single-op models vs LiteRT


def _conv_tensors(kind: str, rng) -> list[TensorSpec]:
    cin, cout = (8, 8) if kind == "DEPTHWISE_CONV_2D" else (5, 7)
    if kind == "DEPTHWISE_CONV_2D":
        w = rng.integers(-127, 128, (1, 3, 3, cout)).astype(np.int8)
        axis = 3
    else:
        w = rng.integers(-127, 128, (cout, 3, 3, cin)).astype(np.int8)
        axis = 0
    scales = list(0.002 + 0.01 * rng.random(cout))
    b = rng.integers(-3000, 3000, cout).astype(np.int32)
    return [TensorSpec((1, 9, 9, cin), np.int8, (0.05, 3)),
            TensorSpec(w.shape, np.int8, (scales, [0] * cout), w, quant_axis=axis),
            TensorSpec(b.shape, np.int32, ([0.05 * s for s in scales], [0] * cout), b),
            TensorSpec((1, 9, 9, cout), np.int8, (0.173, -5))]


def op_model(kind: str) -> bytes:
    """One op with scales whose multipliers shift right: roundings of both kinds show."""
    rng = np.random.default_rng(7)
    x = TensorSpec((1, 6, 6, 8), np.int8, (0.05, 3))
    if kind == "FULLY_CONNECTED":
        w = rng.integers(-127, 128, (13, 40)).astype(np.int8)
        b = rng.integers(-3000, 3000, 13).astype(np.int32)
        tensors = [TensorSpec((2, 40), np.int8, (0.05, 3)),
                   TensorSpec(w.shape, np.int8, (0.0071, 0), w),
                   TensorSpec(b.shape, np.int32, (0.05 * 0.0071, 0), b),
                   TensorSpec((2, 13), np.int8, (0.137, -2))]
        return single_op_tflite(kind, tensors, [0], [3], "FullyConnectedOptions")
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        fields = dict(padding=0, strideH=1, strideW=1, dilationHFactor=1, dilationWFactor=1)
        options = "Conv2DOptions"
        if kind == "DEPTHWISE_CONV_2D":
            fields["depthMultiplier"], options = 1, "DepthwiseConv2DOptions"
        return single_op_tflite(kind, _conv_tensors(kind, rng), [0], [3], options, **fields)
    if kind in ("ADD", "MUL"):
        tensors = [x, TensorSpec(x.shape, np.int8, (0.031, -7)),
                   TensorSpec(x.shape, np.int8, (0.0613 if kind == "ADD" else 0.0119, 4))]
        return single_op_tflite(kind, tensors, [0, 1], [2], f"{kind.title()}Options")
    if kind == "AVERAGE_POOL_2D":
        tensors = [x, TensorSpec((1, 2, 2, 8), np.int8, (0.05, 3))]
        return single_op_tflite(kind, tensors, [0], [1], "Pool2DOptions", padding=1, strideH=3,
                                strideW=3, filterHeight=3, filterWidth=3)
    if kind == "SOFTMAX":
        tensors = [TensorSpec((3, 10), np.int8, (0.0371, 5)),
                   TensorSpec((3, 10), np.int8, (1 / 256, -128))]
        return single_op_tflite(kind, tensors, [0], [1], "SoftmaxOptions", beta=1.0)
    if kind in ("LOGISTIC", "TANH"):
        out = (1 / 256, -128) if kind == "LOGISTIC" else (1 / 128, 0)
        tensors = [TensorSpec((4, 64), np.int8, (0.0473, 2)), TensorSpec((4, 64), np.int8, out)]
        return single_op_tflite(kind, tensors, [0], [1])
    raise ValueError(kind)


def litert_default(path: Path):
    return litert_runner(path, reference=False)


def agreement(path: Path, rounding: str, oracle, samples: int) -> int:
    compiled = compile_model(path, rounding=rounding)
    host = build_host_model(compiled.files, compiled.name)
    graph = compiled.model.graph
    rng = np.random.default_rng(0)
    exact = 0
    for _ in range(samples):
        inputs = random_inputs(graph, rng)
        ours = [np.frombuffer(b, DTYPES[graph.tensor(t).dtype][0])
                for b, t in zip(host.run(inputs), graph.outputs)]
        theirs = [np.asarray(a).ravel() for a in oracle(inputs)]
        exact += all(a.tobytes() == b.astype(a.dtype).tobytes() for a, b in zip(ours, theirs))
    return exact


# Ops whose LiteRT default kernels (AUTO = BUILTIN resolver) give tinyc's single-mode bytes. FC,
# CONV_2D and DEPTHWISE_CONV_2D differ from TFLM on these models; ADD, AVERAGE_POOL_2D, SOFTMAX,
# LOGISTIC and TANH gave the same bytes in both modes here. Not MUL: LiteRT's optimized int8 MUL
# matched tinyc single on 21 of 30 samples only (its reference MUL, BUILTIN_REF, rounds twice and
# equals TFLM), so no LiteRT kernel is a single-rounding oracle for it. LiteRT's BUILTIN_REF
# rounds once for FULLY_CONNECTED but twice for CONV_2D and DEPTHWISE_CONV_2D.
SINGLE_EXACT = ["FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D",
                "SOFTMAX", "LOGISTIC", "TANH"]
# Single rounding must give other bytes than double rounding (TFLM) for these models: else the
# tests above would pass with either mode.
ROUNDING_SENSITIVE = ["FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "MUL"]


@pytest.mark.parametrize("kind", SINGLE_EXACT)
def test_single_op_single_rounding_matches_litert(tmp_path, kind):
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(op_model(kind))
    assert agreement(path, "single", litert_default(path), 30) == 30
    assert agreement(path, "double", tflm_runner(path, 1), 30) == 30


@pytest.mark.parametrize("kind", ROUNDING_SENSITIVE)
def test_single_op_models_tell_the_roundings_apart(tmp_path, kind):
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(op_model(kind))
    assert agreement(path, "single", tflm_runner(path, 1), 30) < 30
    assert agreement(path, "double", litert_default(path), 30) < 30


# ---------------------------------------------------------------------------- zoo models


@pytest.mark.parametrize("name", ["hello_world_int8.tflite", "ad01_int8.tflite",
                                  "kws_ref_model.tflite", "vww_96_int8.tflite"])
def test_zoo_single_rounding_bit_exact_with_litert(name):
    report = verify_model(shared_model(name), samples=20, litert=False, rounding="single")
    assert report.oracle == "litert"
    assert report.bit_exact, "\n".join(report.lines())


def test_generated_code_defines_single_rounding():
    single = compile_model(shared_model("hello_world_int8.tflite"), rounding="single")
    double = compile_model(shared_model("hello_world_int8.tflite"))
    text = single.files[f"{single.name}.cpp"]
    assert text.index("#define TINYC_SINGLE_ROUNDING") < text.index('#include "tinyc_runtime/')
    assert "TINYC_SINGLE_ROUNDING" not in double.files[f"{double.name}.cpp"]
