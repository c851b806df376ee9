"""The portable depthwise word loops (runtime/depthwise_conv.h, TINYC_DW_WORDS): bit-exact.

These loops are what the Xtensa build (ESP8266/ESP32, no sign-extending byte load, MUL16S) takes
for the four channels of depth multiplier 1: 32-bit loads of 4 input bytes and 4 weights, x - zp
from X ^ 0x80808080, weights 0 and 1 scaled by 256 into the 16-bit multiply. The host normally
runs the byte loops instead; here the generated code is built on the host with TINYC_DW_WORDS
defined, so the same C runs, and every output byte is compared with TFLM on random inputs: zero
point -128 (the constant k = 0 copy) and others, 3x3 windows inside the input and clipped at each
border (rows of 3, 2 and 1 taps), stride 2, dilation, 5x5 and 1-wide filters (the generic loop),
extreme weights (the largest sums), channel counts and depths that are not a multiple of 4 (the
byte loops: steps not 4-byte aligned), and more than 256 taps (the byte loops).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conv_models import Conv, write_model
from conv_models import assert_varied as assert_conv_varied

I8 = "int8"
CASES = [
    Conv("depthwise", I8, (1, 25, 5, 64), channels=1, zero_points=(-128, -128)),  # kws's layers
    Conv("depthwise", I8, (1, 7, 6, 8), channels=1, zero_points=(-128, 5), activation="RELU6"),
    Conv("depthwise", I8, (1, 6, 7, 8), channels=1, zero_points=(17, -3)),
    Conv("depthwise", I8, (1, 5, 5, 4), channels=1, zero_points=(127, 0)),
    Conv("depthwise", I8, (1, 5, 6, 4), channels=1, zero_points=(-127, 0)),
    Conv("depthwise", I8, (1, 9, 9, 16), channels=1, stride=(2, 2), zero_points=(-128, 0)),
    Conv("depthwise", I8, (1, 9, 8, 8), channels=1, stride=(2, 2), padding="VALID",
         zero_points=(-20, 4)),
    Conv("depthwise", I8, (1, 2, 2, 4), channels=1, zero_points=(-128, 0)),  # every window clipped
    Conv("depthwise", I8, (1, 1, 6, 8), channels=1, zero_points=(-5, 0)),  # one row high
    Conv("depthwise", I8, (1, 6, 1, 8), channels=1, zero_points=(-128, 0)),  # one column wide
    Conv("depthwise", I8, (2, 5, 6, 4), channels=1, zero_points=(0, 0)),  # two batches
    Conv("depthwise", I8, (1, 9, 9, 4), channels=1, dilation=(2, 2), zero_points=(5, -7)),
    Conv("depthwise", I8, (1, 7, 7, 8), filter_hw=(5, 5), channels=1, zero_points=(-128, 0)),
    Conv("depthwise", I8, (1, 8, 7, 4), filter_hw=(2, 3), channels=1, stride=(1, 2),
         zero_points=(9, 1)),
    Conv("depthwise", I8, (1, 12, 1, 8), filter_hw=(3, 1), channels=1, padding="VALID",
         zero_points=(-128, 0)),
    Conv("depthwise", I8, (1, 6, 8, 4), filter_hw=(1, 3), channels=1, zero_points=(-40, 0)),
    Conv("depthwise", I8, (1, 6, 6, 8), channels=1, zero_points=(-128, 0), extreme_weights=True),
    Conv("depthwise", I8, (1, 6, 6, 8), channels=1, zero_points=(127, 0), extreme_weights=True,
         seed=1),
    Conv("depthwise", I8, (1, 20, 20, 4), filter_hw=(17, 16), channels=1, padding="VALID",
         zero_points=(-30, 0), weight_range=12),  # 272 taps: more than the word loops take
    Conv("depthwise", I8, (1, 5, 5, 6), channels=1, zero_points=(-128, 0)),  # depth 6: bytes
    Conv("depthwise", I8, (1, 5, 5, 12), channels=1, per_channel=False, zero_points=(3, 3)),
]


def build_words(compiled):
    """The compiled model built on the host with TINYC_DW_WORDS defined (the Xtensa loops)."""
    files = {name: ("#define TINYC_DW_WORDS 1\n" + text if name.endswith(".cpp") else text)
             for name, text in compiled.files.items()}
    assert any(name.endswith(".cpp") for name in files)
    return build_host_model(files, compiled.name)


def assert_random_samples_match_tflm(path, model, samples=6):
    """`samples` random int8 inputs (seed 5): every output byte equal to TFLM's. Returns the
    input tensor and the TFLM runner, for further samples."""
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    tflm = tflm_runner(path, 1)
    rng = np.random.default_rng(5)
    for _ in range(samples):
        sample = rng.integers(-128, 127, x.shape, endpoint=True, dtype=np.int8)
        (want,) = tflm([sample])
        (got,) = model.run([sample])
        assert got == np.asarray(want).tobytes()
    return x, tflm


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_depthwise_words_bit_exact(c, tmp_path):
    path = write_model(c, tmp_path)
    assert_conv_varied(path)
    model = build_words(compile_model(path))
    x, tflm = assert_random_samples_match_tflm(path, model)
    # the extremes of the input range, where x - zp reaches +-255
    for value in (-128, 127):
        sample = np.full(x.shape, value, np.int8)
        (want,) = tflm([sample])
        (got,) = model.run([sample])
        assert got == np.asarray(want).tobytes()


def test_depthwise_words_backwards_in_kws_small():
    """kws in the small memory mode runs depthwise layers backwards (a negative row_block, the
    input below the output: the portable kernel's pixels from the last one): the word loops in
    that order, bit-exact."""
    from conftest import SHARED_MODELS

    path = SHARED_MODELS / "kws_ref_model.tflite"
    compiled = compile_model(path, memory="small")
    assert any(dict(c.params).get("row_block", 0) < 0 for c in compiled.model.calls)
    assert_random_samples_match_tflm(path, build_words(compiled))
