"""The int8 CONV_2D / DEPTHWISE_CONV_2D fast paths (issue 13): bit-exact with TFLM.

What is new and tested here, on the host (portable C) and on an emulated Cortex-M4 (the Arm
DSP assembly, which the host never runs):
- tinyc_rq_apply (runtime/tinyc_dsp.h), TFLM's double-rounding requantization in a few
  instructions for layers the compiler proves it for (compiler/ops/conv.py fast_requantization):
  against the Python port of MultiplyByQuantizedMultiplier, in its portable 64-bit form, its
  16-bit-halves form (TINYC_MUL64_SLOW, the ESP8266 build) and its DSP form (SMMULR) emulated;
- the compiler's rewrite of channels whose weights are all zero (biases near 2^30 in trained
  models) and of shifts below -30, and the layers it keeps on the generic path (left shifts,
  accumulators that can reach 2^29);
- the 1x1 / im2col assembly (channel pairs x pixel pairs, requantization in the loop): k a
  multiple of 16, of 4 with a k & 12 rest, k % 4 != 0 (the portable loop), odd pixel and channel
  counts, im2col columns padded to a multiple of 4;
- the depthwise four-channel paths: 3x3 windows inside the input (straight-line code entered at
  the first row inside), clipped at every border (rows of 1 or 2 taps), stride 2, VALID and
  SAME, tiny maps (1 to 3 wide), other filter sizes and dilations through the general
  four-channel body, channel counts not a multiple of 4 (the general kernel);
- activation ranges narrower than int8 (the clamp variants) and the generic requantization.
"""

from __future__ import annotations

import importlib.util
import tempfile
from functools import cache
from pathlib import Path

import cffi
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyc.lower import lower
from tinyc.ops.conv import FAST_REQUANT_REACH, fast_requantization
from tinyc.quantize import multiply_by_quantized_multiplier
from tinyc.read_tflite import read_model
from tinyc.write_files import runtime_sources

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from conv_models import Conv, write_model
from conv_models import assert_varied as assert_conv_varied
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model

SAMPLES = 10


# --- the requantization itself ---


@cache
def rq_apply(mul64_slow: bool = False):
    """tinyc_rq_make + tinyc_rq_apply, portable build, through cffi; `mul64_slow`: with
    TINYC_MUL64_SLOW, the 16-bit-halves product the ESP8266 build takes."""
    ffi = cffi.FFI()
    ffi.cdef("int32_t rq(int32_t x, int32_t multiplier, int32_t shift);")
    folder = Path(tempfile.mkdtemp(prefix="tinyc-rq-"))
    for name, text in runtime_sources(["tinyc_dsp.h"]).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    module_name = f"_tinyc_rq_apply{int(mul64_slow)}"
    ffi.set_source(module_name, """
        #include "tinyc_runtime/tinyc_dsp.h"
        int32_t rq(int32_t x, int32_t multiplier, int32_t shift) {
          return tinyc_rq_apply(x, tinyc_rq_make(multiplier, shift));
        }""", include_dirs=[str(folder)],
        define_macros=[("TINYC_MUL64_SLOW", "1")] if mul64_slow else [])
    module_path = ffi.compile(tmpdir=str(folder))
    spec = importlib.util.spec_from_file_location(module_name, module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lib.rq


def rq_dsp_model(x: int, multiplier: int, shift: int) -> int:
    """The DSP path's arithmetic in Python: SMMULR(x, 2m - 2^32) + x, then
    (2y + 2^e + (y >> 31)) >> (e + 1), in int32."""
    m2 = (multiplier << 1) - (1 << 32)
    y = ((x * m2 + (1 << 31)) >> 32) + x
    e = -shift
    z = 2 * y + (1 << e) + (-1 if y < 0 else 0)
    assert -(1 << 31) <= z < (1 << 31)
    return z >> (e + 1)


ACCUMULATOR = st.integers(-FAST_REQUANT_REACH + 1, FAST_REQUANT_REACH - 1)
Q31_MULTIPLIER = st.integers(1 << 30, (1 << 31) - 1)


@settings(max_examples=4000, deadline=None)
@given(ACCUMULATOR, Q31_MULTIPLIER, st.integers(-30, 0))
def test_rq_apply_matches_tflm(x, multiplier, shift):
    expected = multiply_by_quantized_multiplier(x, multiplier, shift)
    assert rq_apply()(x, multiplier, shift) == expected
    assert rq_apply(True)(x, multiplier, shift) == expected
    assert rq_dsp_model(x, multiplier, shift) == expected


@pytest.mark.parametrize("x", [-(1 << 29) + 1, -(1 << 28), -3, -2, -1, 0, 1, 2, (1 << 29) - 1])
@pytest.mark.parametrize("multiplier", [1 << 30, (1 << 30) + 1, 1518500250, (1 << 31) - 1])
@pytest.mark.parametrize("shift", [-30, -29, -17, -2, -1, 0])
def test_rq_apply_edges(x, multiplier, shift):
    expected = multiply_by_quantized_multiplier(x, multiplier, shift)
    assert rq_apply()(x, multiplier, shift) == expected
    assert rq_apply(True)(x, multiplier, shift) == expected
    assert rq_dsp_model(x, multiplier, shift) == expected


@pytest.mark.parametrize("x", [-(1 << 29) + 1, -5, 0, 7, (1 << 29) - 1])
def test_replaced_multipliers_give_tflms_zero(x):
    """What fast_requantization substitutes: multiplier 0, or a shift below -30, give 0 in TFLM
    for |x| < 2^29, and so does (2^30, -30)."""
    for m, s in ((0, 0), ((1 << 31) - 1, -31), (1 << 30, -31)):
        assert multiply_by_quantized_multiplier(x, m, s) == 0
    assert rq_apply()(x, 1 << 30, -30) == 0 == rq_dsp_model(x, 1 << 30, -30)


def test_dead_channels_are_rewritten_exactly():
    """Channels with all-zero weights compute their bias: they get bias 2v, multiplier 2^30,
    shift 0, with v TFLM's requantized bias bounded to [-256, 256]."""
    weights = np.zeros((3, 1, 1, 4), np.int8)
    weights[0] = 5
    bias = np.array([100, 1 << 30, -(1 << 30) - 7], np.int32)
    multipliers, shifts = [1 << 30, 1518500250, 1 << 30], [-3, -29, 0]
    fast, kernel_bias, m, s = fast_requantization(bias, bias, weights, -128, (1, 2, 3),
                                                  multipliers, shifts)
    assert fast
    assert (m[0], s[0], kernel_bias[0]) == (1 << 30, -3, 100)  # a live channel: unchanged
    for c in (1, 2):
        v = multiply_by_quantized_multiplier(int(bias[c]), multipliers[c], shifts[c])
        v = min(max(v, -256), 256)
        assert (m[c], s[c], kernel_bias[c]) == (1 << 30, 0, 2 * v)
        assert multiply_by_quantized_multiplier(2 * v, 1 << 30, 0) == v


def test_fast_path_is_refused_where_it_would_not_be_exact():
    weights = np.ones((2, 1, 1, 8), np.int8)
    bias = np.array([0, 1 << 29], np.int32)  # a live channel whose sums can reach 2^29
    assert not fast_requantization(bias, bias, weights, 0, (1, 2, 3), [1 << 30] * 2,
                                   [-5, -5])[0]
    small = np.zeros(2, np.int32)
    assert not fast_requantization(small, small, weights, 0, (1, 2, 3), [1 << 30] * 2,
                                   [1, -5])[0]  # a left shift
    assert fast_requantization(small, small, weights, 0, (1, 2, 3), [1 << 30] * 2,
                               [0, -31])[0]


# --- whole layers: host and Cortex-M4 ---

I8 = "int8"
FAST_CONVS = [
    # 1x1: k a multiple of 16; 16 + 12; 4; odd pixels and channels; k % 4 != 0
    Conv("conv", I8, (1, 5, 5, 32), filter_hw=(1, 1), channels=6, zero_points=(-128, -128),
         activation="RELU"),
    Conv("conv", I8, (1, 3, 3, 28), filter_hw=(1, 1), channels=8, zero_points=(-30, 5)),
    Conv("conv", I8, (1, 2, 3, 4), filter_hw=(1, 1), channels=4, zero_points=(12, -3)),
    Conv("conv", I8, (1, 3, 5, 12), filter_hw=(1, 1), channels=7, zero_points=(-128, 0)),
    Conv("conv", I8, (2, 3, 3, 7), filter_hw=(1, 1), channels=6, zero_points=(3, 3)),
    # im2col: columns of 27 (padded to 28), 40, 9 (padded to 12); strides, VALID
    Conv("conv", I8, (1, 11, 9, 3), filter_hw=(3, 3), channels=8, stride=(2, 2),
         padding="VALID", zero_points=(-128, -128), activation="RELU"),
    Conv("conv", I8, (1, 13, 6, 1), filter_hw=(10, 4), channels=16, stride=(2, 2),
         zero_points=(83, 0)),
    Conv("conv", I8, (1, 6, 7, 1), filter_hw=(3, 3), channels=5, zero_points=(-1, 2)),
    # narrower activation ranges: the clamp variants
    Conv("conv", I8, (1, 4, 4, 16), filter_hw=(1, 1), channels=8, zero_points=(-128, -20),
         activation="RELU"),
    Conv("conv", I8, (1, 5, 5, 8), filter_hw=(3, 3), channels=4, zero_points=(0, 10),
         activation="RELU6"),
    Conv("conv", I8, (1, 7, 7, 6), filter_hw=(3, 3), channels=4, zero_points=(0, 0),
         activation="RELU_N1_TO_1"),
    # per-tensor weights
    Conv("conv", I8, (1, 4, 5, 16), filter_hw=(1, 1), channels=4, per_channel=False,
         zero_points=(-128, -128)),
]

FAST_DEPTHWISE = [
    # 3x3 dilation 1, depth multiplier 1, a multiple of 4 channels: the straight-line paths
    Conv("depthwise", I8, (1, 25, 5, 8), channels=1, zero_points=(-128, -128),
         activation="RELU"),  # kws-like
    Conv("depthwise", I8, (1, 9, 9, 16), channels=1, stride=(2, 2), padding="VALID",
         zero_points=(-128, -128)),  # vww-like stride 2, pad 0
    Conv("depthwise", I8, (1, 8, 7, 4), channels=1, stride=(2, 2), zero_points=(20, -5)),
    Conv("depthwise", I8, (1, 3, 3, 12), channels=1, zero_points=(-128, -128)),
    Conv("depthwise", I8, (1, 2, 2, 4), channels=1, zero_points=(7, 0)),  # every window clipped
    Conv("depthwise", I8, (1, 4, 1, 8), channels=1, zero_points=(-100, 3)),  # one column wide
    Conv("depthwise", I8, (1, 1, 6, 4), channels=1, zero_points=(-128, -128)),  # one row high
    Conv("depthwise", I8, (2, 5, 6, 4), channels=1, zero_points=(0, 0)),  # two batches
    Conv("depthwise", I8, (1, 6, 6, 8), channels=1, zero_points=(-128, 12),
         activation="RELU6"),  # clamp
    # the general four-channel body: other filters, dilation
    Conv("depthwise", I8, (1, 7, 7, 8), filter_hw=(5, 5), channels=1, zero_points=(-128, 0)),
    Conv("depthwise", I8, (1, 12, 1, 8), filter_hw=(3, 1), channels=1, padding="VALID",
         zero_points=(-128, -3)),
    Conv("depthwise", I8, (1, 15, 1, 4), filter_hw=(10, 1), channels=1, padding="VALID",
         zero_points=(-128, 11)),
    Conv("depthwise", I8, (1, 9, 9, 4), channels=1, dilation=(2, 2), zero_points=(5, -7)),
    Conv("depthwise", I8, (1, 6, 8, 4), filter_hw=(2, 3), channels=1, stride=(1, 2),
         zero_points=(-128, -128), activation="RELU"),
    Conv("depthwise", I8, (1, 6, 8, 4), filter_hw=(1, 3), channels=1, zero_points=(-40, 0),
         activation="RELU6"),
    # not four-channel: the general kernel
    Conv("depthwise", I8, (1, 6, 6, 6), channels=1, zero_points=(-128, 0)),
    Conv("depthwise", I8, (1, 6, 6, 2), channels=4, zero_points=(-128, 0)),
]

CASES = FAST_CONVS + FAST_DEPTHWISE


def test_cases_take_the_fast_paths():
    """The grid is not vacuous: its layers are proved for the fast requantization and reach
    the 3x3 depthwise and the clamp variants."""
    with tempfile.TemporaryDirectory() as folder:
        calls = [lower(read_model(write_model(c, folder))).calls[0] for c in CASES]
    fast = [dict(call.params)["requant_fast"] for call in calls]
    assert all(fast), [c.id for c, f in zip(CASES, fast) if not f]
    ranges = {(dict(call.params)["activation_min"], dict(call.params)["activation_max"])
              for call in calls}
    assert (-128, 127) in ranges and len(ranges) > 2
    assert {call.function for call in calls} == {"tinyc_conv_1x1_s8", "tinyc_conv_im2col_s8",
                                                 "tinyc_depthwise_conv_s8"}


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_fast_paths_bit_exact(c, tmp_path):
    path = write_model(c, tmp_path)
    assert_conv_varied(path)
    assert_bit_exact(path, SAMPLES)
    assert_bit_exact(path, SAMPLES, scratch="never")


@needs_m4
@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_fast_paths_bit_exact_on_m4(c, tmp_path):
    assert_bit_exact_on_m4(write_model(c, tmp_path), tmp_path)


@needs_m4
@pytest.mark.parametrize("opt", ["O2", "O3"])
@pytest.mark.parametrize("c", [FAST_CONVS[1], FAST_CONVS[5], FAST_DEPTHWISE[0],
                               FAST_DEPTHWISE[4], FAST_DEPTHWISE[10]], ids=lambda c: c.id)
def test_fast_paths_at_other_optimization_levels(c, opt, tmp_path):
    """The assembly's register needs fit at every optimization level that builds it."""
    assert_bit_exact_on_m4(write_model(c, tmp_path), tmp_path, opt=opt)


# --- layers the compiler rewrites, or keeps on the generic path ---


def layer_with_bias(kind: str, bias: np.ndarray, weights: np.ndarray, w_scales, x_quant,
                    y_quant, folder: Path, name: str) -> Path:
    """One layer with the given int8 weights (OHWI for conv, [1, H, W, C] for depthwise), an
    int32 bias, per-channel scales; 1x1 (conv) or 3x3 SAME (depthwise) on a 5x5 input."""
    if kind == "conv":
        channels, depth, axis = weights.shape[0], weights.shape[3], 0
        op_kind, options = "CONV_2D", "Conv2DOptions"
        fields = dict(padding=0, strideH=1, strideW=1, dilationHFactor=1, dilationWFactor=1)
    else:
        channels = depth = weights.shape[3]
        axis = 3
        op_kind, options = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions"
        fields = dict(padding=0, strideH=1, strideW=1, dilationHFactor=1, dilationWFactor=1,
                      depthMultiplier=1)
    tensors = [
        TensorSpec((1, 5, 5, depth), np.int8, x_quant),
        TensorSpec(weights.shape, np.int8, (list(w_scales), [0] * channels), weights,
                   quant_axis=axis),
        TensorSpec((channels,), np.int32,
                   ([x_quant[0] * s for s in w_scales], [0] * channels), bias),
        TensorSpec((1, 5, 5, channels), np.int8, y_quant),
    ]
    op = OperatorSpec(op_kind, [0, 1, 2], [3], options, fields)
    path = folder / f"{name}.tflite"
    path.write_bytes(tflite_model(tensors, [op], [0], [3]))
    return path


def dead_channel_layer(kind: str, folder: Path) -> Path:
    """Channels 1 and 6 have all-zero weights, a scale of 1e-9 and biases near +-2^30, as in
    vww_96_int8's pointwise layers."""
    rng = np.random.default_rng(4)
    channels = 8
    shape = (channels, 1, 1, 16) if kind == "conv" else (1, 3, 3, channels)
    weights = rng.integers(-127, 128, shape).astype(np.int8)
    scales = list(rng.uniform(0.5, 1.0, channels) * 0.002)
    bias = rng.integers(-3000, 3000, channels).astype(np.int32)
    for c, b in ((1, 1 << 30), (6, -(1 << 30) + 5)):
        if kind == "conv":
            weights[c] = 0
        else:
            weights[..., c] = 0
        scales[c] = 1e-9
        bias[c] = b
    return layer_with_bias(kind, bias, weights, scales, (0.02, -128), (0.05, -128), folder,
                           f"dead-{kind}")


@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_dead_channels(kind, tmp_path):
    path = dead_channel_layer(kind, tmp_path)
    (call,) = lower(read_model(path)).calls
    assert dict(call.params)["requant_fast"] == 1
    assert_bit_exact(path, SAMPLES)


@needs_m4
@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_dead_channels_on_m4(kind, tmp_path):
    assert_bit_exact_on_m4(dead_channel_layer(kind, tmp_path), tmp_path)


def generic_layer(kind: str, folder: Path, case: str) -> Path:
    """A layer the fast requantization cannot take: a live channel whose bias is near 2^30
    ("big-bias"), or an effective scale above 1 (a left shift, "left-shift")."""
    rng = np.random.default_rng(5)
    channels = 4
    shape = (channels, 1, 1, 8) if kind == "conv" else (1, 3, 3, channels)
    weights = rng.integers(-20, 21, shape).astype(np.int8)
    scales = list(rng.uniform(0.5, 1.0, channels) * 0.002)
    bias = rng.integers(-300, 300, channels).astype(np.int32)
    y_quant = (0.001, 0)
    if case == "big-bias":
        bias[2] = (1 << 30) - 12345
        y_quant = (0.02 * 0.002 * (1 << 22), 0)
    else:
        y_quant = (0.02 * 0.0004, 3)
    return layer_with_bias(kind, bias, weights, scales, (0.02, 0), y_quant, folder,
                           f"generic-{kind}-{case}")


@pytest.mark.parametrize("case", ["big-bias", "left-shift"])
@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_generic_requantization(kind, case, tmp_path):
    path = generic_layer(kind, tmp_path, case)
    (call,) = lower(read_model(path)).calls
    assert dict(call.params)["requant_fast"] == 0
    shifts = [a for a in call.arrays if a.suffix == "shift"][0].values
    assert (case == "left-shift") == bool((shifts > 0).any())
    assert_bit_exact(path, SAMPLES)


@needs_m4
@pytest.mark.parametrize("case", ["big-bias", "left-shift"])
@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_generic_requantization_on_m4(kind, case, tmp_path):
    assert_bit_exact_on_m4(generic_layer(kind, tmp_path, case), tmp_path)
