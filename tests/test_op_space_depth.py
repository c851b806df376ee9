"""DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND and SPACE_TO_BATCH_ND against TFLM.

Grids of single-op flatbuffer cases (block sizes 1 to 4, rank 3 and 4 batch/space ops, aligned
and unaligned crops and paddings, int8 and float32) batched into one model per type. TFLM pads
SPACE_TO_BATCH_ND with an uninitialised value, so padded cases compare the copied pixels with
TFLM and the padded ones with the output zero point (TensorFlow's result, and tinyc's). Plus
refusals and tf.nn.depth_to_space / space_to_depth from Keras.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from test_op_transpose import Case, assert_unsupported, q, random_array, run_cases, write_batch
from tflite_builders import single_layer_model

TYPES = ("int8", "float32")


def d2s_case(shape, block, dtype) -> Case:
    b, h, w, c = shape
    out = (b, h * block, w * block, c // (block * block))
    tensors = [TensorSpec(shape, dtype, q(dtype)), TensorSpec(out, dtype, q(dtype))]
    return Case(f"d2s{list(shape)}b{block}-{dtype}", "DEPTH_TO_SPACE", tensors, [1],
                "DepthToSpaceOptions", {"blockSize": block})


def s2d_case(shape, block, dtype) -> Case:
    b, h, w, c = shape
    out = (b, h // block, w // block, c * block * block)
    tensors = [TensorSpec(shape, dtype, q(dtype)), TensorSpec(out, dtype, q(dtype))]
    return Case(f"s2d{list(shape)}b{block}-{dtype}", "SPACE_TO_DEPTH", tensors, [1],
                "SpaceToDepthOptions", {"blockSize": block})


def b2s_case(shape, block, crops, dtype) -> Case:
    spatial = len(block)
    out = [shape[0] // int(np.prod(block))]
    for i in range(spatial):
        out.append(shape[1 + i] * block[i] - crops[i][0] - crops[i][1])
    out += list(shape[1 + spatial:])
    tensors = [TensorSpec(shape, dtype, q(dtype)),
               TensorSpec([spatial], np.int32, data=block),
               TensorSpec([spatial, 2], np.int32, data=crops),
               TensorSpec(out, dtype, q(dtype))]
    return Case(f"b2s{list(shape)}b{block}c{crops}-{dtype}", "BATCH_TO_SPACE_ND", tensors, [3],
                "BatchToSpaceNDOptions")


def s2b_case(shape, block, pads, dtype, zero_point=-3) -> Case:
    spatial = len(block)
    out = [shape[0] * int(np.prod(block))]
    for i in range(spatial):
        out.append((shape[1 + i] + pads[i][0] + pads[i][1]) // block[i])
    out += list(shape[1 + spatial:])
    quant = (0.05, zero_point) if dtype == "int8" else None
    tensors = [TensorSpec(shape, dtype, quant),
               TensorSpec([spatial], np.int32, data=block),
               TensorSpec([spatial, 2], np.int32, data=pads),
               TensorSpec(out, dtype, quant)]
    return Case(f"s2b{list(shape)}b{block}p{pads}-{dtype}", "SPACE_TO_BATCH_ND", tensors, [3],
                "SpaceToBatchNDOptions")


D2S = [((1, 2, 3, 8), 2), ((2, 3, 2, 9), 3), ((1, 2, 2, 4), 2), ((1, 1, 3, 32), 4),
       ((1, 3, 3, 5), 1), ((1, 2, 2, 12), 2)]
S2D = [((1, 4, 6, 3), 2), ((2, 6, 3, 2), 3), ((1, 4, 4, 1), 2), ((1, 8, 4, 2), 4),
       ((1, 3, 3, 2), 1)]
B2S = [((4, 2, 3, 2), [2, 2], [[0, 0], [0, 0]]),
       ((4, 2, 3, 2), [2, 2], [[1, 0], [0, 1]]),
       ((6, 3, 2, 1), [3, 2], [[2, 1], [1, 0]]),
       ((8, 2, 2, 3), [2, 2], [[1, 1], [1, 1]]),
       ((3, 4, 2), [3], [[2, 3]]),  # rank 3 (NHC)
       ((2, 3, 5), [2], [[0, 0]]),
       ((4, 3, 3, 2), [1, 4], [[0, 1], [3, 2]]),
       ((2, 2, 2, 1), [2, 1], [[1, 0], [0, 0]])]
S2B_UNPADDED = [((1, 4, 6, 2), [2, 2]), ((2, 6, 2, 3), [3, 2]), ((1, 4, 3), [2]),
                ((2, 3, 4, 1), [1, 4])]
S2B_PADDED = [((1, 3, 5, 2), [2, 2], [[1, 0], [0, 1]]),
              ((2, 3, 3, 1), [2, 3], [[0, 1], [2, 1]]),
              ((1, 5, 2), [3], [[2, 2]]),
              ((1, 2, 2, 3), [2, 2], [[1, 1], [1, 1]]),
              ((1, 1, 1, 2), [3, 3], [[1, 1], [1, 1]])]


@pytest.mark.parametrize("dtype", TYPES)
def test_space_depth_grid_matches_tflm(dtype, tmp_path):
    cases = ([d2s_case(s, b, dtype) for s, b in D2S] + [s2d_case(s, b, dtype) for s, b in S2D]
             + [b2s_case(s, b, c, dtype) for s, b, c in B2S]
             + [s2b_case(s, b, [[0, 0]] * len(b), dtype) for s, b in S2B_UNPADDED])
    run_cases(cases, tmp_path)


def space_to_batch_reference(x: np.ndarray, block, pads, value) -> np.ndarray:
    """TensorFlow's SpaceToBatchND with `value` in the padding, in numpy."""
    if x.ndim == 3:
        x, block, pads = x[:, :, None, :], list(block) + [1], list(pads) + [[0, 0]]
    padded = np.pad(x, [(0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)], constant_values=value)
    b, h, w, d = padded.shape
    bh, bw = block
    y = padded.reshape(b, h // bh, bh, w // bw, bw, d).transpose(2, 4, 0, 1, 3, 5)
    return y.reshape(bh * bw * b, h // bh, w // bw, d)


@pytest.mark.parametrize("dtype", TYPES)
def test_padded_space_to_batch_matches_tflm_outside_the_padding(dtype, tmp_path):
    cases = [s2b_case(s, b, p, dtype) for s, b, p in S2B_PADDED]
    path, feeds, names = write_batch(cases, tmp_path, "s2b")
    compiled = compile_model(path, "s2b")
    host = build_host_model(compiled.files, compiled.name)
    tflm = tflm_runner(path, len(names))
    rng = np.random.default_rng(1)
    for _ in range(3):
        inputs = [random_array(case.tensors[i], rng) for case, i in feeds]
        for case, x, mine, theirs in zip(cases, inputs, host.run(inputs), tflm(inputs),
                                         strict=True):
            block, pads = case.tensors[1].data, case.tensors[2].data
            pad = -3 if dtype == "int8" else 0
            expected = space_to_batch_reference(x, block, pads, pad)
            copied = space_to_batch_reference(np.ones_like(x, bool), block, pads, False)
            mine = np.frombuffer(mine, x.dtype).reshape(expected.shape)
            theirs = np.asarray(theirs).reshape(expected.shape)
            assert np.array_equal(mine, expected), case.name
            assert np.array_equal(mine[copied], theirs[copied]), case.name


@pytest.mark.parametrize("what,case,words", [
    ("d2s int16", d2s_case((1, 2, 2, 4), 2, "int16"), ["int16"]),
    ("d2s channels", Case("ch", "DEPTH_TO_SPACE", [
        TensorSpec((1, 2, 2, 6), "int8"), TensorSpec((1, 4, 4, 1), "int8")], [1],
        "DepthToSpaceOptions", {"blockSize": 2}), ["6 input channels"]),
    ("d2s block 0", d2s_case((1, 2, 2, 4), 2, "int8"), ["block_size=0"]),
    ("s2d height", Case("h", "SPACE_TO_DEPTH", [
        TensorSpec((1, 3, 4, 1), "int8"), TensorSpec((1, 1, 2, 4), "int8")], [1],
        "SpaceToDepthOptions", {"blockSize": 2}), ["height 3"]),
    ("d2s rank 3", Case("r3", "DEPTH_TO_SPACE", [
        TensorSpec((2, 2, 4), "int8"), TensorSpec((4, 4, 1), "int8")], [1],
        "DepthToSpaceOptions", {"blockSize": 2}), ["rank 3"]),
    ("b2s batch", b2s_case((6, 2, 2, 1), [2, 2], [[0, 0], [0, 0]], "int8"),
     ["input batch 6"]),
    ("b2s negative crop", b2s_case((4, 2, 2, 1), [2, 2], [[-1, 0], [0, 0]], "int8"),
     ["non-negative"]),
    ("s2b indivisible", s2b_case((1, 3, 4, 1), [2, 2], [[0, 0], [0, 0]], "int8"),
     ["multiple of the block shape"]),
    ("s2b rank 5", Case("r5", "SPACE_TO_BATCH_ND", [
        TensorSpec((1, 2, 2, 2, 1), "int8"), TensorSpec([3], np.int32, data=[1, 1, 1]),
        TensorSpec([3, 2], np.int32, data=np.zeros((3, 2))),
        TensorSpec((1, 2, 2, 2, 1), "int8")], [3], "SpaceToBatchNDOptions"), ["rank 5"]),
])
def test_space_depth_refusals_name_the_value(what, case, words, tmp_path):
    if what == "d2s block 0":
        case.fields["blockSize"] = 0
    assert_unsupported(case, tmp_path, *words)


# --- converted from Keras ---

KERAS = {
    "depth-to-space": ((4, 4, 8), lambda tf, x: tf.keras.layers.Lambda(
        lambda t: tf.nn.depth_to_space(t, 2))(x), "DEPTH_TO_SPACE"),
    "space-to-depth": ((4, 6, 3), lambda tf, x: tf.keras.layers.Lambda(
        lambda t: tf.nn.space_to_depth(t, 2))(x), "SPACE_TO_DEPTH"),
}


@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_space_depth_matches_tflm(name, mode):
    shape, build, kind = KERAS[name]
    path = single_layer_model(f"space-depth-{name}", shape, build, mode=mode)
    assert kind in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=5)
