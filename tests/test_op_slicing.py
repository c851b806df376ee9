"""STRIDED_SLICE and SLICE against the TFLM interpreter.

Grids of single-op flatbuffer cases (ranks 1 to 4 / 5, negative indices and strides, every mask,
clamped ends, the masks and `offset` TFLM ignores, every type TFLM takes), batched into one model
per type; refusals that name the value; and Keras layers users write (Cropping2D, x[:, 1:5],
x[:, ::2], tf.slice), converted to int8 and float32.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.ops import Alias
from tinyc.read_tflite import read_model

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec
from test_op_transpose import Case, assert_unsupported, lowered_steps, q, run_cases
from tflite_builders import single_layer_model

TYPES = ("int8", "int16", "float32", "int32", "bool")


def strided_slice_case(shape, begin, end, strides, out_shape, dtype="int8", index_type=np.int32,
                       **masks) -> Case:
    rank = len(begin)
    tensors = [TensorSpec(shape, dtype, q(dtype)),
               TensorSpec([rank], index_type, data=begin),
               TensorSpec([rank], index_type, data=end),
               TensorSpec([rank], index_type, data=strides),
               TensorSpec(out_shape, dtype, q(dtype))]
    fields = {"beginMask": 0, "endMask": 0, "shrinkAxisMask": 0, "ellipsisMask": 0,
              "newAxisMask": 0, "offset": False}
    fields.update(masks)
    name = f"ss{list(shape)}b{begin}e{end}s{strides}{masks}-{dtype}"
    return Case(name, "STRIDED_SLICE", tensors, [4], "StridedSliceOptions", fields)


# (shape, begin, end, strides, output shape, masks)
STRIDED = [
    ((8,), [1], [6], [1], (5,), {}),
    ((8,), [0], [8], [3], (3,), {}),
    ((8,), [-1], [0], [-1], (7,), {}),
    ((8,), [0], [0], [-1], (8,), {"beginMask": 1, "endMask": 1}),  # x[::-1]
    ((8,), [-3], [100], [1], (3,), {}),  # end clamped
    ((8,), [-100], [3], [1], (3,), {}),  # begin clamped
    ((8,), [6], [-100], [-2], (4,), {}),  # negative stride, end clamped to -1
    ((4, 6), [1, 0], [3, 6], [1, 2], (2, 3), {}),
    ((4, 6), [0, 1], [0, 5], [1, 1], (4, 4), {"beginMask": 1, "endMask": 1}),  # x[:, 1:5]
    ((4, 6), [0, 0], [0, 0], [1, 2], (4, 3), {"beginMask": 3, "endMask": 3}),  # x[:, ::2]
    ((4, 6), [3, 5], [0, 0], [-1, -2], (3, 3), {}),
    ((4, 6), [2, 0], [3, 6], [1, 1], (6,), {"shrinkAxisMask": 1}),  # x[2]
    ((4, 6), [0, -1], [4, 0], [1, 1], (4,), {"shrinkAxisMask": 2}),  # x[:, -1]
    ((4, 6), [-2, 3], [0, 0], [1, 1], (), {"shrinkAxisMask": 3}),  # x[-2, 3]
    ((2, 3, 4), [0, 1, 0], [2, 3, 4], [1, 1, 2], (2, 2, 2), {}),
    ((2, 3, 4), [1, 0, 3], [0, 3, 0], [1, 1, -1], (1, 3, 3), {"endMask": 1}),
    ((2, 3, 4), [0, 2, 1], [2, 0, 3], [1, -1, 1], (2, 3, 2), {"endMask": 2}),
    ((1, 8, 8, 3), [0, 1, 2, 0], [1, 6, 7, 3], [1, 1, 1, 1], (1, 5, 5, 3), {}),  # Cropping2D
    ((1, 8, 8, 3), [0, 0, 0, 1], [1, 8, 8, 3], [1, 2, 3, 1], (1, 4, 3, 2), {}),
    ((2, 4, 5, 3), [1, 3, 4, 2], [0, 0, 0, 0], [-1, -2, -2, -1], (2, 2, 3, 3),
     {"endMask": 15}),
    ((2, 4, 5, 3), [0, 0, 0, 0], [2, 4, 5, 3], [1, 1, 1, 1], (2, 4, 5, 3), {}),  # everything
    # masks TFLM ignores: the result is the one without them
    ((4, 6), [0, 1], [4, 3], [1, 1], (4, 2), {"ellipsisMask": 1}),
    ((4, 6), [0, 1], [4, 3], [1, 1], (4, 2), {"newAxisMask": 2}),
    ((8,), [2], [3], [1], (1,), {"offset": True}),
]


@pytest.mark.parametrize("dtype", TYPES)
def test_strided_slice_grid_matches_tflm(dtype, tmp_path):
    cases = [strided_slice_case(s, b, e, st, o, dtype, **m) for s, b, e, st, o, m in STRIDED]
    run_cases(cases, tmp_path)


def test_strided_slice_of_one_contiguous_run_is_an_alias(tmp_path):
    """The whole input, or one aligned run of it, is seen in place; a run that starts off the
    arena's alignment, or a walk with gaps, is copied."""
    full = strided_slice_case((2, 4, 5, 3), [0] * 4, [2, 4, 5, 3], [1] * 4, (2, 4, 5, 3))
    row = strided_slice_case((4, 6), [2, 0], [3, 6], [1, 1], (1, 6))  # bytes 12..17
    odd_row = strided_slice_case((4, 6), [1, 0], [2, 6], [1, 1], (1, 6))  # bytes 6..11
    column = strided_slice_case((4, 6), [0, 2], [4, 3], [1, 1], (4, 1))
    steps = lowered_steps([full, row, odd_row, column], tmp_path)
    assert isinstance(steps[0], Alias) and steps[0].offset == 0
    assert isinstance(steps[1], Alias) and steps[1].offset == 12
    assert not isinstance(steps[2], Alias) and not isinstance(steps[3], Alias)
    run_cases([row, odd_row, column], tmp_path)  # and the views read the right bytes


def test_strided_slice_copies_bytes_whatever_the_quantization(tmp_path):
    tensors = [TensorSpec((4, 6), "int8", (0.1, 3)), TensorSpec([2], np.int32, data=[1, 0]),
               TensorSpec([2], np.int32, data=[3, 6]), TensorSpec([2], np.int32, data=[1, 2]),
               TensorSpec((2, 3), "int8", (0.3, -9))]
    run_cases([Case("ss-requant", "STRIDED_SLICE", tensors, [4], "StridedSliceOptions")],
              tmp_path)


def slice_case(shape, begin, size, out_shape, dtype="int8", index_type=np.int32) -> Case:
    tensors = [TensorSpec(shape, dtype, q(dtype)),
               TensorSpec([len(begin)], index_type, data=begin),
               TensorSpec([len(size)], index_type, data=size),
               TensorSpec(out_shape, dtype, q(dtype))]
    return Case(f"slice{list(shape)}b{begin}s{size}-{dtype}-{np.dtype(index_type)}", "SLICE",
                tensors, [3], "SliceOptions")


SLICES = [
    ((9,), [2], [5], (5,)),
    ((9,), [4], [-1], (5,)),
    ((4, 6), [1, 2], [2, -1], (2, 4)),
    ((4, 6), [0, 0], [4, 1], (4, 1)),
    ((3, 4, 5), [1, 0, 2], [2, 4, 3], (2, 4, 3)),
    ((2, 3, 4, 5), [0, 1, 1, 0], [-1, 1, 2, -1], (2, 1, 2, 5)),
    ((2, 3, 2, 4, 3), [1, 0, 1, 1, 0], [1, 3, 1, 2, 2], (1, 3, 1, 2, 2)),
]


@pytest.mark.parametrize("dtype", TYPES)
def test_slice_grid_matches_tflm(dtype, tmp_path):
    cases = [slice_case(s, b, z, o, dtype, it) for s, b, z, o in SLICES
             for it in (np.int32, np.int64)]
    run_cases(cases, tmp_path)


@pytest.mark.parametrize("what,case,words", [
    ("rank 5 strided", strided_slice_case((1, 2, 3, 4, 5), [0] * 5, [1, 2, 3, 4, 5], [1] * 5,
                                          (1, 2, 3, 4, 5)), ["rank 5"]),
    ("stride 0", strided_slice_case((4, 6), [0, 0], [4, 6], [1, 0], (4, 6)), ["stride of 0"]),
    ("int64 type", strided_slice_case((4, 6), [0, 0], [4, 6], [1, 1], (4, 6), "int64"),
     ["int64"]),
    ("int64 begin", strided_slice_case((4, 6), [0, 0], [4, 6], [1, 1], (4, 6),
                                       index_type=np.int64), ["begin", "int64"]),
    ("shrink past the end", strided_slice_case((4, 6), [4, 0], [5, 6], [1, 1], (6,),
                                               shrinkAxisMask=1), ["axis 0", "begin 4"]),
    ("shrink negative stride", strided_slice_case((4, 6), [1, 0], [0, 6], [-1, 1], (6,),
                                                  shrinkAxisMask=1), ["stride -1"]),
    ("output shape", strided_slice_case((4, 6), [1, 0], [3, 6], [1, 2], (2, 4)),
     ["[2, 4]", "[2, 3]"]),
    ("slice begin out of range", slice_case((4, 6), [3, 0], [2, 6], (2, 6)),
     ["axis 0", "begin 3", "size 2"]),
    ("slice negative begin", slice_case((4, 6), [-1, 0], [1, 6], (1, 6)), ["begin -1"]),
    ("slice rank 6", slice_case((1, 1, 2, 1, 2, 1), [0] * 6, [-1] * 6, (1, 1, 2, 1, 2, 1)),
     ["rank 6"]),
])
def test_slicing_refusals_name_the_value(what, case, words, tmp_path):
    assert_unsupported(case, tmp_path, *words)


def test_runtime_begin_is_refused(tmp_path):
    tensors = [TensorSpec((4, 6), "int8"), TensorSpec([2], np.int32),
               TensorSpec([2], np.int32, data=[2, 2]), TensorSpec((2, 2), "int8")]
    assert_unsupported(Case("dyn", "SLICE", tensors, [3], "SliceOptions"), tmp_path,
                       "begin must be a constant")


# --- converted from Keras ---

KERAS = {
    "cropping2d": ((8, 8, 3), lambda tf, x: tf.keras.layers.Cropping2D(((1, 2), (2, 1)))(x)),
    "colon-slice": ((6, 8), lambda tf, x: x[:, 1:5]),
    "step-slice": ((6, 8), lambda tf, x: x[:, ::2]),
    "reverse-step": ((6, 8), lambda tf, x: x[:, ::-3]),
    "index-last": ((6, 8), lambda tf, x: x[:, :, -1]),
    "tf-slice": ((6, 8), lambda tf, x: tf.keras.layers.Lambda(
        lambda t: tf.slice(t, [0, 1, 2], [1, 3, 4]))(x)),
}


@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_slicing_matches_tflm(name, mode):
    shape, build = KERAS[name]
    path = single_layer_model(f"slicing-{name}", shape, build, mode=mode)
    kinds = {op.kind for op in read_model(path).ops}
    assert kinds & {"STRIDED_SLICE", "SLICE"}, kinds
    assert_bit_exact(path, samples=5)
