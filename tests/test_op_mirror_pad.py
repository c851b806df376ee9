"""MIRROR_PAD and REVERSE_V2 against the TFLM interpreter.

Grids of single-op flatbuffer cases: MIRROR_PAD in both modes over ranks 1 to 6, the largest
paddings each mode allows, unpadded dimensions inside and outside padded ones (they merge),
int32 and int64 paddings; REVERSE_V2 over ranks 1 to 6 and every contiguous axis set, negative
axes, every type TFLM takes. Plus the merged walk against numpy, refusals that name the value,
and tf.reverse / tf.pad(mode="REFLECT") from Keras.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.ops.mirror_pad import mirror_levels
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from test_op_transpose import Case, assert_unsupported, q, run_cases
from tflite_builders import single_layer_model

MIRROR_TYPES = ("int8", "float32")
REVERSE_TYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")
REFLECT, SYMMETRIC = 0, 1


def mirror_case(shape, pads, mode, dtype="int8", pad_type=np.int32) -> Case:
    out = tuple(d + a + b for d, (a, b) in zip(shape, pads))
    tensors = [TensorSpec(shape, dtype, q(dtype)),
               TensorSpec([len(shape), 2], pad_type, data=pads),
               TensorSpec(out, dtype, q(dtype))]
    return Case(f"mirror{list(shape)}p{pads}m{mode}-{dtype}-{np.dtype(pad_type)}", "MIRROR_PAD",
                tensors, [2], "MirrorPadOptions", {"mode": mode})


MIRRORS = [  # (shape, paddings, mode)
    ((5,), [[2, 3]], REFLECT),
    ((5,), [[4, 4]], REFLECT),  # the most REFLECT allows
    ((5,), [[5, 1]], SYMMETRIC),  # the most SYMMETRIC allows
    ((1,), [[1, 1]], SYMMETRIC),
    ((3, 4), [[1, 2], [2, 0]], REFLECT),
    ((3, 4), [[0, 0], [3, 3]], SYMMETRIC),
    ((3, 4), [[2, 1], [0, 0]], SYMMETRIC),  # unpadded inner dimension: 4-element blocks
    ((2, 3, 4), [[0, 0], [2, 2], [0, 0]], REFLECT),
    ((2, 3, 4), [[1, 1], [0, 0], [1, 3]], REFLECT),  # unpadded level between padded ones
    ((1, 4, 4, 3), [[0, 0], [1, 1], [1, 1], [0, 0]], REFLECT),  # the image case
    ((1, 4, 4, 3), [[0, 0], [2, 1], [1, 2], [0, 0]], SYMMETRIC),
    ((2, 2, 3, 2, 3), [[1, 0], [0, 0], [0, 2], [0, 0], [1, 1]], SYMMETRIC),
    ((2, 3, 2, 2, 3, 2), [[1, 1], [2, 0], [1, 1], [0, 1], [2, 2], [1, 0]], REFLECT),
    ((2, 1, 3, 1, 2, 2), [[0, 0], [0, 0], [1, 1], [0, 0], [0, 0], [1, 0]], REFLECT),
]


@pytest.mark.parametrize("dtype", MIRROR_TYPES)
def test_mirror_pad_grid_matches_tflm(dtype, tmp_path):
    cases = [mirror_case(s, p, m, dtype, pt) for s, p, m in MIRRORS
             for pt in (np.int32, np.int64)]
    run_cases(cases, tmp_path)


def walk_mirror(x: np.ndarray, pads, mode) -> np.ndarray:
    """runtime/mirror_pad.h's walk in numpy, from the levels mirror_levels computes."""
    levels, block = mirror_levels(x.shape, [tuple(p) for p in pads])
    offset = 1 if mode == REFLECT else 0
    flat = x.reshape(-1)
    out = []

    def index(i, n, left):
        if i < left:
            return left + offset - 1 - i
        if i < left + n:
            return i - left
        return 2 * n + left - 1 - offset - i

    def walk(level, base):
        if level == len(levels):
            out.extend(flat[base:base + block])
            return
        n, left, right, stride = levels[level]
        for i in range(left + n + right):
            walk(level + 1, base + index(i, n, left) * stride)

    walk(0, 0)
    return np.array(out, x.dtype)


@pytest.mark.parametrize("shape,pads,mode", MIRRORS)
def test_mirror_walk_matches_numpy(shape, pads, mode):
    x = np.arange(np.prod(shape)).reshape(shape)
    expected = np.pad(x, pads, mode="reflect" if mode == REFLECT else "symmetric")
    assert np.array_equal(walk_mirror(x, pads, mode), expected.reshape(-1))


def test_mirror_levels_merge_unpadded_dimensions():
    levels, block = mirror_levels((2, 3, 4, 5, 6), [(0, 0), (0, 0), (1, 1), (0, 0), (0, 0)])
    assert block == 30 and levels == [(6, 0, 0, 120), (4, 1, 1, 30)]


def reverse_case(shape, axes, dtype) -> Case:
    tensors = [TensorSpec(shape, dtype, q(dtype)), TensorSpec([len(axes)], np.int32, data=axes),
               TensorSpec(shape, dtype, q(dtype))]
    return Case(f"reverse{list(shape)}a{axes}-{dtype}", "REVERSE_V2", tensors, [2])


REVERSES = [((7,), [0]), ((7,), [-1]), ((3, 4), [0]), ((3, 4), [1]), ((3, 4), [0, 1]),
            ((2, 3, 4), [1]), ((2, 3, 4), [2, 1]), ((2, 3, 4), [0, 1]), ((2, 3, 4), [-3]),
            ((1, 4, 5, 3), [2]), ((1, 4, 5, 3), [1, 2]), ((2, 2, 3, 2, 2), [1, 2, 3]),
            ((2, 1, 3, 2, 2, 3), [3]), ((2, 1, 3, 2, 2, 3), [0, 1, 2, 3, 4, 5]),
            ((3, 1, 4), [1])]  # reversing a unit dimension moves nothing


@pytest.mark.parametrize("dtype", REVERSE_TYPES)
def test_reverse_grid_matches_tflm(dtype, tmp_path):
    run_cases([reverse_case(s, a, dtype) for s, a in REVERSES], tmp_path)


@pytest.mark.parametrize("what,case,words", [
    ("reflect too wide", mirror_case((3, 4), [[0, 0], [4, 0]], REFLECT), ["[4, 0]", "[0, 3]"]),
    ("symmetric too wide", mirror_case((3, 4), [[0, 4], [0, 0]], SYMMETRIC), ["[0, 4]"]),
    ("negative", mirror_case((3, 4), [[1, 0], [-1, 0]], REFLECT), ["[-1, 0]"]),
    ("mirror int16", mirror_case((3, 4), [[1, 0], [0, 0]], REFLECT, "int16"), ["int16"]),
    ("mode 2", mirror_case((3, 4), [[1, 0], [0, 0]], 2), ["mode=2"]),
    ("run-time paddings", Case("rt", "MIRROR_PAD", [
        TensorSpec((3, 4), "int8"), TensorSpec([2, 2], np.int32),
        TensorSpec((4, 4), "int8")], [2], "MirrorPadOptions", {"mode": 0}),
     ["paddings must be a constant"]),
    ("reverse gap", reverse_case((2, 3, 4), [0, 2], "int8"), ["[0, 2]", "contiguous"]),
    ("reverse twice", reverse_case((2, 3, 4), [1, 1], "int8"), ["[1, 1]"]),
    ("reverse axis", reverse_case((2, 3, 4), [3], "int8"), ["axis 3"]),
])
def test_mirror_reverse_refusals_name_the_value(what, case, words, tmp_path):
    assert_unsupported(case, tmp_path, *words)


# --- converted from Keras ---

KERAS = {
    "tf-reverse": ((4, 6), lambda tf, x: tf.keras.layers.Lambda(
        lambda t: tf.reverse(t, [1]))(x), "REVERSE_V2"),
    "tf-reverse-2": ((4, 6, 2), lambda tf, x: tf.keras.layers.Lambda(
        lambda t: tf.reverse(t, [2, 3]))(x), "REVERSE_V2"),
    "reflect-pad": ((5, 6, 2), lambda tf, x: tf.keras.layers.Lambda(
        lambda t: tf.pad(t, [[0, 0], [2, 1], [1, 2], [0, 0]], mode="REFLECT"))(x),
        "MIRROR_PAD"),
}


@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_mirror_reverse_matches_tflm(name, mode):
    shape, build, kind = KERAS[name]
    path = single_layer_model(f"mirror-{name}", shape, build, mode=mode)
    assert kind in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=5)
