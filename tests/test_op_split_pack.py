"""SPLIT, SPLIT_V, UNPACK and PACK against the TFLM interpreter.

Grids of single-op flatbuffer cases over ranks 1 to 6, every axis (negative ones too), 1 to 64
parts and every type TFLM takes, batched into one model per type; refusals that name the value;
and Keras models: tf.split, and unrolled SimpleRNN / GRU / LSTM layers, whose converted graphs
UNPACK the time steps and SPLIT the gates.
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

SPLIT_TYPES = ("int8", "int16", "float32", "int32")
PACK_TYPES = ("int8", "int16", "float32", "int32", "int64")


def split_case(shape, axis, num, dtype="int8") -> Case:
    rank_axis = axis % len(shape)
    out = tuple(d // num if i == rank_axis else d for i, d in enumerate(shape))
    tensors = ([TensorSpec([1], np.int32, data=[axis]), TensorSpec(shape, dtype, q(dtype))]
               + [TensorSpec(out, dtype, q(dtype)) for _ in range(num)])
    return Case(f"split{list(shape)}a{axis}n{num}-{dtype}", "SPLIT", tensors,
                list(range(2, 2 + num)), "SplitOptions", {"numSplits": num})


def split_v_case(shape, axis, sizes, dtype="int8", size_splits=None) -> Case:
    rank_axis = axis % len(shape)
    outs = [tuple(s if i == rank_axis else d for i, d in enumerate(shape)) for s in sizes]
    splits = size_splits if size_splits is not None else sizes
    tensors = ([TensorSpec(shape, dtype, q(dtype)),
                TensorSpec([len(splits)], np.int32, data=splits),
                TensorSpec([], np.int32, data=axis)]
               + [TensorSpec(o, dtype, q(dtype)) for o in outs])
    return Case(f"splitv{list(shape)}a{axis}{sizes}-{dtype}", "SPLIT_V", tensors,
                list(range(3, 3 + len(sizes))), "SplitVOptions", {"numSplits": len(sizes)})


def unpack_case(shape, axis, dtype="int8") -> Case:
    rank_axis = axis % len(shape)
    num = shape[rank_axis]
    out = shape[:rank_axis] + shape[rank_axis + 1:]
    tensors = [TensorSpec(shape, dtype, q(dtype))] + [TensorSpec(out, dtype, q(dtype))
                                                      for _ in range(num)]
    return Case(f"unpack{list(shape)}a{axis}-{dtype}", "UNPACK", tensors,
                list(range(1, 1 + num)), "UnpackOptions", {"num": num, "axis": axis})


def pack_case(shape, axis, count, dtype="int8") -> Case:
    rank_axis = axis % (len(shape) + 1)
    out = shape[:rank_axis] + (count,) + shape[rank_axis:]
    tensors = [TensorSpec(shape, dtype, q(dtype)) for _ in range(count)] + [
        TensorSpec(out, dtype, q(dtype))]
    return Case(f"pack{list(shape)}a{axis}n{count}-{dtype}", "PACK", tensors, [count],
                "PackOptions", {"valuesCount": count, "axis": axis})


SPLITS = [((12,), 0, 3), ((4, 6), 1, 2), ((4, 6), -1, 3), ((4, 6), 0, 4), ((4, 6), -2, 2),
          ((2, 6, 3), 1, 3), ((2, 3, 4, 6), 3, 2), ((2, 3, 4, 6), 2, 4), ((2, 3, 4, 6), 0, 2),
          ((2, 2, 3, 2, 4), 4, 4), ((2, 1, 2, 3, 2, 4), -3, 3), ((1, 8), 1, 8), ((3, 5), 1, 1)]
SPLIT_VS = [((10,), 0, [3, 7]), ((4, 6), 1, [1, 2, 3]), ((4, 6), -2, [3, 1]),
            ((2, 6, 3), 1, [4, 1, 1]), ((2, 3, 4, 5), 3, [2, 3]), ((2, 3, 4, 5), 0, [1, 1]),
            ((2, 2, 3, 2, 5), -1, [1, 1, 3]), ((1, 2, 1, 3, 2, 6), 5, [2, 4])]
UNPACKS = [((5,), 0), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1), ((2, 3, 4), -3),
           ((2, 3, 2, 2), 2), ((2, 1, 3, 2, 2), 2), ((1, 2, 1, 2, 3, 2), 4)]
PACKS = [((4,), 0, 3), ((4,), 1, 2), ((4,), -1, 2), ((3, 4), 0, 2), ((3, 4), 1, 3),
         ((3, 4), 2, 2), ((3, 4), -2, 4), ((2, 3, 4), 1, 2), ((2, 1, 3, 2), 4, 3),
         ((2, 1, 3, 2, 2), 2, 2), ((), 0, 3)]


@pytest.mark.parametrize("dtype", SPLIT_TYPES)
def test_split_unpack_grid_matches_tflm(dtype, tmp_path):
    cases = ([split_case(s, a, n, dtype) for s, a, n in SPLITS]
             + [split_v_case(s, a, z, dtype) for s, a, z in SPLIT_VS]
             + [unpack_case(s, a, dtype) for s, a in UNPACKS])
    run_cases(cases, tmp_path)


@pytest.mark.parametrize("dtype", PACK_TYPES)
def test_pack_grid_matches_tflm(dtype, tmp_path):
    run_cases([pack_case(s, a, n, dtype) for s, a, n in PACKS], tmp_path)


def test_split_v_reads_the_output_shapes_not_size_splits(tmp_path):
    """TFLM ignores size_splits (a -1 in it included): the outputs' shapes give the parts."""
    run_cases([split_v_case((4, 6), 1, [2, 4], size_splits=[2, -1]),
               split_v_case((4, 6), 0, [1, 3], "float32", size_splits=[-1, 3])], tmp_path)


def test_sixty_four_parts(tmp_path):
    """The most parts a kernel takes: UNPACK of 64 steps, SPLIT into 64, PACK of 64."""
    run_cases([unpack_case((2, 64, 3), 1), split_case((64, 2), 0, 64, "int16"),
               pack_case((3,), 1, 64, "float32")], tmp_path, samples=2)


def test_one_part_is_an_alias(tmp_path):
    steps = lowered_steps([split_case((4, 6), 1, 1), unpack_case((1, 6), 0),
                           pack_case((2, 3), 0, 1), split_case((4, 6), 1, 2)], tmp_path)
    assert [isinstance(s, Alias) for s in steps] == [True, True, True, False]


def test_split_pack_copy_bytes_whatever_the_quantization(tmp_path):
    split = split_case((4, 6), 1, 2)
    split.tensors[2] = TensorSpec((4, 3), "int8", (0.7, 11))
    pack = pack_case((3,), 0, 2)
    pack.tensors[1] = TensorSpec((3,), "int8", (0.01, -100))
    run_cases([split, pack], tmp_path)


@pytest.mark.parametrize("what,case,words", [
    ("65 outputs", unpack_case((65, 2), 0), ["65 outputs", "1 to 64"]),
    ("65 inputs", pack_case((2,), 0, 65), ["65 inputs", "1 to 64"]),
    ("split bool", split_case((4, 6), 1, 2, "bool"), ["bool"]),
    ("pack bool", pack_case((3,), 0, 2, "bool"), ["bool"]),
    ("unpack int64", unpack_case((2, 3), 0, "int64"), ["int64"]),
    ("split axis out of range", split_case((4, 6), 1, 2), ["axis 2"]),
    ("unpack num", Case("num", "UNPACK", [TensorSpec((3, 4), "int8"), TensorSpec((4,), "int8"),
                                         TensorSpec((4,), "int8")], [1, 2], "UnpackOptions",
                        {"num": 2, "axis": 0}), ["num=2", "axis size 3"]),
    ("pack values_count", Case("count", "PACK", [TensorSpec((4,), "int8"),
                                                TensorSpec((4,), "int8"),
                                                TensorSpec((2, 4), "int8")], [2], "PackOptions",
                               {"valuesCount": 3, "axis": 0}), ["values_count=3"]),
    ("split_v sizes", split_v_case((4, 6), 1, [2, 3]), ["[2, 3]", "6"]),
])
def test_split_pack_refusals_name_the_value(what, case, words, tmp_path):
    if what == "split axis out of range":
        case.tensors[0] = TensorSpec([1], np.int32, data=[2])
    assert_unsupported(case, tmp_path, *words)


# --- converted from Keras ---


def tf_split(tf, x):
    return list(tf.keras.layers.Lambda(lambda t: tf.split(t, [3, 5], axis=-1))(x))


def tf_split_even(tf, x):
    return list(tf.keras.layers.Lambda(lambda t: tf.split(t, 2, axis=1))(x))


@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name,build,kind", [("split-sizes", tf_split, "SPLIT_V"),
                                             ("split-even", tf_split_even, "SPLIT")])
def test_keras_split_matches_tflm(name, build, kind, mode):
    path = single_layer_model(f"split-outputs-{name}", (6, 8), build, mode=mode)
    assert kind in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=5)


RNNS = {
    "simple-rnn": lambda tf, x: tf.keras.layers.SimpleRNN(6, unroll=True)(x),
    "gru": lambda tf, x: tf.keras.layers.GRU(6, unroll=True)(x),
    "lstm": lambda tf, x: tf.keras.layers.LSTM(6, unroll=True)(x),
}


@pytest.mark.parametrize("name", sorted(RNNS))
def test_unrolled_rnn_int8_matches_tflm(name):
    """The converter unrolls the time loop: UNPACK of the steps, SPLIT of the gates (GRU,
    LSTM), STRIDED_SLICE (GRU), and int8 FULLY_CONNECTED / LOGISTIC / TANH / MUL / ADD."""
    path = single_layer_model(f"rnn-{name}", (5, 4), RNNS[name])
    assert "UNPACK" in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=20)


@pytest.mark.parametrize("name", sorted(RNNS))
def test_unrolled_rnn_float_matches_tflm(name):
    path = single_layer_model(f"rnn-{name}", (5, 4), RNNS[name], mode="float")
    assert "UNPACK" in {op.kind for op in read_model(path).ops}
    assert_bit_exact(path, samples=20)
