"""Compile-time folding of shape arithmetic (compiler/fold_ops.py, fold_constants).

Unit tests run each folder on a one-op graph and compare with TensorFlow's own op (the
semantics the converter assumed) or numpy. End-to-end tests convert Keras models with a dynamic
batch size, whose RESHAPE targets are computed by SHAPE -> STRIDED_SLICE -> PACK/CONCATENATION
chains, and require that none of those ops reaches the lowered steps and that the compiled model
is bit-exact with TFLM.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.fold import fold_constants
from tinyc.ir import Graph, Op, QuantParams, Tensor

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec, single_op_tflite
from tflite_builders import cached_model, convert, quiet_tensorflow, representative_samples

NP_TO_NAME = {np.dtype(np.float32): "float32", np.dtype(np.int8): "int8",
              np.dtype(np.int32): "int32", np.dtype(np.int64): "int64",
              np.dtype(np.bool_): "bool", np.dtype(np.int16): "int16",
              np.dtype(np.uint8): "uint8"}


def fold_one(kind: str, inputs: list, outputs: list[tuple[tuple[int, ...], str]],
             options: dict | None = None, quant: list | None = None) -> list[np.ndarray] | None:
    """Fold a graph of one op; its folded outputs, or None when the op was kept.

    `inputs` holds constant arrays, or (shape, dtype) for a non-constant activation.
    `quant` optionally gives QuantParams per tensor (inputs, then outputs).
    """
    tensors = []
    for i, value in enumerate(inputs):
        if isinstance(value, tuple):
            shape, dtype = value
            tensors.append(Tensor(i, f"in{i}", shape, dtype))
        else:
            array = np.asarray(value)
            tensors.append(Tensor(i, f"in{i}", array.shape, NP_TO_NAME[array.dtype], data=array))
    for shape, dtype in outputs:
        tensors.append(Tensor(len(tensors), f"out{len(tensors)}", tuple(shape), dtype))
    if quant:
        tensors = [t.replace(quant=q) for t, q in zip(tensors, quant)]
    first_out = len(inputs)
    op = Op(0, kind, tuple(range(first_out)), tuple(range(first_out, len(tensors))),
            options or {})
    graph = Graph(tuple(tensors), (op,), tuple(t.index for t in tensors if not t.is_const), ())
    folded = fold_constants(graph)
    if folded.ops:
        return None
    return [folded.tensor(t).data for t in op.outputs]


def fold_like(kind: str, inputs: list, expected: np.ndarray, options: dict | None = None):
    """Fold with the output shape and type of `expected`; the single folded output."""
    expected = np.asarray(expected)
    result = fold_one(kind, inputs, [(expected.shape, NP_TO_NAME[expected.dtype])], options)
    assert result is not None, f"{kind} was not folded"
    return result[0]


def assert_same(got: np.ndarray, expected) -> None:
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got, expected)
    assert np.array_equal(got, expected), (got, expected)


@pytest.fixture(scope="module")
def tf():
    return quiet_tensorflow()


# --- shape-only ---


def test_shape_of_an_activation():
    (value,) = fold_one("SHAPE", [((1, 4, 4, 2), "int8")], [((4,), "int32")], {"out_type": 2})
    assert_same(value, np.array([1, 4, 4, 2], np.int32))
    (value,) = fold_one("SHAPE", [((3, 5), "float32")], [((2,), "int64")], {"out_type": 4})
    assert_same(value, np.array([3, 5], np.int64))


def test_rank_of_an_activation():
    (value,) = fold_one("RANK", [((1, 4, 4, 2), "int8")], [((), "int32")])
    assert_same(value, np.array(4, np.int32))


def test_activation_inputs_do_not_fold_other_ops():
    assert fold_one("PACK", [((), "int32"), np.array(3, np.int32)], [((2,), "int32")],
                    {"axis": 0, "values_count": 2}) is None


def test_graph_outputs_are_not_folded():
    x = Tensor(0, "x", (2, 3), "int8")
    y = Tensor(1, "y", (2,), "int32")
    graph = Graph((x, y), (Op(0, "SHAPE", (0,), (1,), {}),), (0,), (1,))
    assert fold_constants(graph).ops == graph.ops


# --- STRIDED_SLICE against tf.strided_slice ---


def strided_slice_cases(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(d) for d in rng.integers(1, 6, rank))
        begin = [int(v) for v in rng.integers(-7, 8, rank)]
        end = [int(v) for v in rng.integers(-7, 8, rank)]
        strides = [int(v) for v in rng.choice([-3, -2, -1, 1, 1, 2, 3], rank)]
        masks = {name: int(rng.integers(0, 1 << rank)) & int(rng.integers(0, 1 << rank))
                 for name in ("begin_mask", "end_mask", "shrink_axis_mask")}
        yield shape, begin, end, strides, masks


def test_strided_slice_matches_tensorflow(tf):
    """Where TensorFlow accepts the slice and TFLM agrees with it (see the next test)."""
    checked = 0
    for shape, begin, end, strides, masks in strided_slice_cases(400):
        if masks["begin_mask"] & masks["shrink_axis_mask"]:
            continue
        x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
        try:
            expected = tf.strided_slice(x, begin, end, strides, **masks).numpy()
        except Exception:  # TensorFlow rejects it (e.g. shrinking an out-of-range index)
            continue
        got = fold_like("STRIDED_SLICE", [x, np.array(begin, np.int32), np.array(end, np.int32),
                                          np.array(strides, np.int32)], expected,
                        {**masks, "ellipsis_mask": 0, "new_axis_mask": 0, "offset": False})
        assert_same(got, expected)
        checked += 1
    assert checked > 200


def test_strided_slice_matches_tflm():
    """The folder against TFLM's kernel, begin_mask on shrunk axes included.

    There TFLM and TensorFlow disagree: TFLM applies begin_mask (the slice starts at 0),
    TensorFlow ignores it for a shrunk axis. tinyc folds to what TFLM computes.
    """
    from tflite_micro.python.tflite_micro import runtime

    from tinyc.fold_ops import fold_strided_slice

    checked = overlapping = 0
    for shape, begin, end, strides, masks in strided_slice_cases(300, seed=3):
        x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape) * 3 - 7
        indices = [np.array(v, np.int32) for v in (begin, end, strides)]
        op = Op(0, "STRIDED_SLICE", (0, 1, 2, 3), (4,), masks)
        (full,) = fold_strided_slice(None, op, [x, *indices])
        out_shape = tuple(d for axis, d in enumerate(full.shape)
                          if not masks["shrink_axis_mask"] & (1 << axis))
        if full.size == 0:
            continue
        rank = x.ndim
        model = single_op_tflite(
            "STRIDED_SLICE",
            [TensorSpec(x.shape, np.int32), TensorSpec((rank,), np.int32, data=begin),
             TensorSpec((rank,), np.int32, data=end), TensorSpec((rank,), np.int32, data=strides),
             TensorSpec(out_shape, np.int32)],
            inputs=[0], outputs=[4], options="StridedSliceOptions",
            beginMask=masks["begin_mask"], endMask=masks["end_mask"],
            shrinkAxisMask=masks["shrink_axis_mask"])
        interpreter = runtime.Interpreter.from_bytes(model, arena_size=1 << 16)
        interpreter.set_input(x, 0)
        interpreter.invoke()
        expected = interpreter.get_output(0)
        got = fold_like("STRIDED_SLICE", [x, *indices], expected, masks)
        assert_same(got, expected)
        checked += 1
        overlapping += bool(masks["begin_mask"] & masks["shrink_axis_mask"])
    assert checked > 60 and overlapping > 5, (checked, overlapping)


def test_strided_slice_the_converter_form():
    """SHAPE(x)[0] with shrink_axis_mask, as Flatten with a dynamic batch emits it."""
    shape = np.array([1, 4, 4, 2], np.int32)
    one = np.array([1], np.int32)
    got = fold_like("STRIDED_SLICE", [shape, np.array([0], np.int32), one, one],
                    np.array(1, np.int32), {"shrink_axis_mask": 1})
    assert_same(got, np.array(1, np.int32))


def test_strided_slice_declines_masks_tflm_ignores():
    x = np.arange(4, dtype=np.int32)
    one = np.array([1], np.int32)
    for option in ({"ellipsis_mask": 1}, {"new_axis_mask": 1}, {"offset": True}):
        assert fold_one("STRIDED_SLICE", [x, np.array([0], np.int32), one, one],
                        [((1,), "int32")], option) is None


def test_slice(tf):
    x = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    for begin, size in [([0, 1, 2], [3, 2, -1]), ([2, 0, 0], [1, -1, 5]), ([1, 3, 4], [0, 1, 1])]:
        expected = tf.slice(x, begin, size).numpy()
        got = fold_like("SLICE", [x, np.array(begin, np.int32), np.array(size, np.int32)],
                        expected)
        assert_same(got, expected)


# --- GATHER against tf.gather ---


@pytest.mark.parametrize("shape, axis, batch_dims, indices_shape", [
    ((4,), 0, 0, (2,)),
    ((4,), 0, 0, ()),
    ((3, 5), 1, 0, (2, 2)),
    ((3, 5, 2), -2, 0, (4,)),
    ((2, 5, 3), 1, 1, (2, 4)),
    ((2, 3, 5, 2), 2, 1, (2, 3)),
    ((2, 3, 5, 2), 2, 2, (2, 3, 2)),
])
def test_gather_matches_tensorflow(tf, shape, axis, batch_dims, indices_shape):
    rng = np.random.default_rng(1)
    x = rng.integers(-100, 100, shape).astype(np.int8)
    indices = rng.integers(0, shape[axis], indices_shape).astype(np.int32)
    expected = tf.gather(x, indices, axis=axis, batch_dims=batch_dims).numpy()
    got = fold_like("GATHER", [x, indices], expected, {"axis": axis, "batch_dims": batch_dims})
    assert_same(got, expected)


def test_gather_declines_out_of_range_indices():
    assert fold_one("GATHER", [np.arange(4, dtype=np.int32), np.array([4], np.int32)],
                    [((1,), "int32")], {"axis": 0}) is None


# --- PACK / UNPACK / CONCATENATION ---


def test_pack(tf):
    a, b = np.array([1, 2], np.int32), np.array([3, 4], np.int32)
    for axis in (0, 1, -1):
        expected = tf.stack([a, b], axis=axis).numpy()
        assert_same(fold_like("PACK", [a, b], expected, {"axis": axis, "values_count": 2}),
                    expected)
    scalars = [np.array(1, np.int32), np.array(32, np.int32)]
    assert_same(fold_like("PACK", scalars, np.array([1, 32], np.int32), {"axis": 0}),
                np.array([1, 32], np.int32))


def test_unpack(tf):
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    for axis in (0, 1, -1):
        expected = [v.numpy() for v in tf.unstack(x, axis=axis)]
        got = fold_one("UNPACK", [x], [(e.shape, "int32") for e in expected],
                       {"axis": axis, "num": len(expected)})
        assert got is not None
        for g, e in zip(got, expected):
            assert_same(g, e)


def test_concatenation(tf):
    a, b = np.array([[1, 2]], np.int32), np.array([[3, 4], [5, 6]], np.int32)
    expected = tf.concat([a, b], axis=0).numpy()
    assert_same(fold_like("CONCATENATION", [a, b], expected,
                          {"axis": 0, "fused_activation_function": "NONE"}), expected)
    expected = tf.concat([b, b], axis=-1).numpy()
    assert_same(fold_like("CONCATENATION", [b, b], expected,
                          {"axis": -1, "fused_activation_function": "NONE"}), expected)


def test_concatenation_declines_what_needs_requantizing_or_activation():
    a = np.array([1, -2], np.int8)
    q1, q2 = QuantParams((0.5,), (0,)), QuantParams((0.25,), (0,))
    options = {"axis": 0, "fused_activation_function": "NONE"}
    assert fold_one("CONCATENATION", [a, a], [((4,), "int8")], options,
                    quant=[q1, q2, q1]) is None
    got = fold_one("CONCATENATION", [a, a], [((4,), "int8")], options, quant=[q1, q1, q1])
    assert got is not None
    assert_same(got[0], np.array([1, -2, 1, -2], np.int8))
    assert fold_one("CONCATENATION", [a.astype(np.int32)] * 2, [((4,), "int32")],
                    {"axis": 0, "fused_activation_function": "RELU"}) is None


# --- CAST / FILL / RANGE / REDUCE_PROD / int32 arithmetic ---


@pytest.mark.parametrize("values, to", [
    (np.array([1, -2, 300, -129], np.int32), np.int8),
    (np.array([1, -2, 70000], np.int32), np.int16),
    (np.array([1.9, -1.9, 0.5, -0.5, 100.0], np.float32), np.int32),
    (np.array([16777217, -3, 2**31 - 1], np.int32), np.float32),
    (np.array([0, 3, -1], np.int32), np.bool_),
    (np.array([True, False]), np.int32),
    (np.array([5, -7], np.int32), np.int64),
])
def test_cast_matches_tensorflow(tf, values, to):
    expected = tf.cast(values, tf.as_dtype(to)).numpy()
    assert_same(fold_like("CAST", [values], expected), expected)


def test_cast_declines_float_overflow():
    assert fold_one("CAST", [np.array([3e9], np.float32)], [((1,), "int32")]) is None
    assert fold_one("CAST", [np.array([np.nan], np.float32)], [((1,), "int32")]) is None


def test_fill(tf):
    dims = np.array([2, 3], np.int32)
    for value in (np.array(7, np.int32), np.array(-1.5, np.float32), np.array(-3, np.int8)):
        expected = tf.fill(dims, value).numpy()
        assert_same(fold_like("FILL", [dims, value], expected), expected)
    assert fold_one("FILL", [dims, np.array(1, np.int32)], [((3, 2), "int32")]) is None


@pytest.mark.parametrize("start, limit, delta", [
    (0, 5, 1), (2, 11, 3), (10, 1, -2), (-3, 3, 2), (0.0, 1.0, 0.1), (1.5, -2.0, -0.7),
])
def test_range_matches_litert(start, limit, delta):
    """TFLM has no RANGE; LiteRT's kernel accumulates (out[i+1] = out[i] + delta, in float32),
    which for floats differs from tf.range's start + i * delta (0.70000005 vs 0.7 above)."""
    from ai_edge_litert.interpreter import Interpreter

    dtype = np.float32 if isinstance(start, float) else np.int32
    args = [np.array(v, dtype) for v in (start, limit, delta)]
    size = len(np.arange(start, limit, delta))
    model = single_op_tflite("RANGE", [TensorSpec((), dtype)] * 3 + [TensorSpec((size,), dtype)],
                             inputs=[0, 1, 2], outputs=[3])
    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), args):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert_same(fold_like("RANGE", args, expected), expected)


def test_range_declines_a_wrong_direction():
    args = [np.array(v, np.int32) for v in (0, 5, -1)]
    assert fold_one("RANGE", args, [((0,), "int32")]) is None


def test_reduce_prod(tf):
    x = np.array([[2, 3, 4], [5, 6, 7]], np.int32)
    for axes, keep in [([0], False), ([1], True), ([0, 1], False), ([-1], False)]:
        expected = tf.reduce_prod(x, axis=axes, keepdims=keep).numpy()
        got = fold_like("REDUCE_PROD", [x, np.array(axes, np.int32)], expected,
                        {"keep_dims": keep})
        assert_same(got, expected)
    # quantized data is not shape arithmetic: left to lowering
    assert fold_one("REDUCE_PROD", [x.astype(np.int8), np.array([0], np.int32)],
                    [((3,), "int8")], quant=[QuantParams((0.1,), (0,)), None,
                                             QuantParams((0.1,), (0,))]) is None


@pytest.mark.parametrize("kind, fn", [
    ("ADD", "add"), ("SUB", "subtract"), ("MUL", "multiply"), ("MAXIMUM", "maximum"),
    ("MINIMUM", "minimum"), ("FLOOR_DIV", "floordiv"),
])
def test_int32_arithmetic_matches_tensorflow(tf, kind, fn):
    a = np.array([[7, -7, 12], [0, 5, -9]], np.int32)
    b = np.array([2, -3, 5], np.int32)  # broadcast along the rows
    expected = getattr(tf.math, fn)(a, b).numpy()
    got = fold_like(kind, [a, b], expected, {"fused_activation_function": "NONE"})
    assert_same(got, expected)


def test_int32_arithmetic_wraps_like_c():
    big = np.array([2**31 - 1], np.int32)
    got = fold_like("ADD", [big, np.array([1], np.int32)], np.array([0], np.int32))
    assert_same(got, np.array([-(2**31)], np.int32))


def test_quantized_arithmetic_is_not_folded():
    q = QuantParams((0.5,), (3,))
    a = np.array([1, 2], np.int8)
    assert fold_one("ADD", [a, a], [((2,), "int8")], {"fused_activation_function": "NONE"},
                    quant=[q, q, q]) is None
    assert fold_one("FLOOR_DIV", [np.array([1], np.int32), np.array([0], np.int32)],
                    [((1,), "int32")]) is None


def test_a_chain_folds_through():
    """SHAPE -> STRIDED_SLICE -> PACK: the converter's Flatten, as a graph of activations."""
    x = Tensor(0, "x", (1, 4, 4, 2), "int8")
    consts = [np.array([0], np.int32), np.array([1], np.int32), np.array(-1, np.int32)]
    tensors = [x, Tensor(1, "shape", (4,), "int32"),
               Tensor(2, "begin", (1,), "int32", data=consts[0]),
               Tensor(3, "one", (1,), "int32", data=consts[1]),
               Tensor(4, "batch", (), "int32"),
               Tensor(5, "minus1", (), "int32", data=consts[2]),
               Tensor(6, "target", (2,), "int32"),
               Tensor(7, "y", (1, 32), "int8")]
    ops = (Op(0, "SHAPE", (0,), (1,), {"out_type": 2}),
           Op(1, "STRIDED_SLICE", (1, 2, 3, 3), (4,), {"shrink_axis_mask": 1}),
           Op(2, "PACK", (4, 5), (6,), {"axis": 0, "values_count": 2}),
           Op(3, "RESHAPE", (0, 6), (7,), {}))
    folded = fold_constants(Graph(tuple(tensors), ops, (0,), (7,)))
    assert [op.kind for op in folded.ops] == ["RESHAPE"]
    assert_same(folded.tensor(6).data, np.array([1, -1], np.int32))


# --- end to end: Keras models with a dynamic batch size ---

SHAPE_KINDS = {"SHAPE", "RANK", "STRIDED_SLICE", "SLICE", "GATHER", "PACK", "UNPACK", "CAST",
               "FILL", "RANGE", "REDUCE_PROD"}


def dynamic_batch_model(key: str, build) -> object:
    """A Keras model whose input has batch size None, converted to int8, cached."""
    def make() -> bytes:
        tf = quiet_tensorflow()
        tf.keras.utils.set_random_seed(0)
        x = tf.keras.Input(shape=(4, 4, 2))  # batch_size None: SHAPE arithmetic appears
        model = tf.keras.Model(x, build(tf, x))
        return convert(model, representative_samples((4, 4, 2)), "int8")

    return cached_model(f"fold-{key}", make)


def _two_flattens(tf, x):
    y = tf.keras.layers.Conv2D(2, 3, padding="same")(x)
    y = tf.keras.layers.Reshape((8, 4))(tf.keras.layers.Flatten()(y))
    return tf.keras.layers.Dense(3)(tf.keras.layers.Flatten()(y))


def _concat_shape(tf, x):
    class BatchReshape(tf.keras.layers.Layer):  # tf.reshape(v, [tf.shape(v)[:1], 32])
        def call(self, v):
            return tf.reshape(v, tf.concat([tf.shape(v)[:1], [32]], 0))

        def compute_output_shape(self, shape):
            return (shape[0], 32)

    y = tf.keras.layers.Conv2D(2, 3, padding="same")(x)
    return tf.keras.layers.Dense(3)(BatchReshape()(y))


E2E = {
    "two_flattens": (_two_flattens, {"SHAPE", "STRIDED_SLICE", "PACK"}),
    "concat_shape": (_concat_shape, {"SHAPE", "STRIDED_SLICE", "CONCATENATION"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(E2E))
def test_dynamic_batch_model(name):
    from tinyc.lower import lower
    from tinyc.ops import Alias
    from tinyc.read_tflite import read_model

    build, emitted = E2E[name]
    path = dynamic_batch_model(name, build)
    graph = read_model(path)
    kinds = {op.kind for op in graph.ops}
    assert emitted <= kinds, f"the converter no longer emits {emitted - kinds}"
    lowered = lower(graph)
    remaining = [s.op.kind for s in lowered.steps
                 if s.op.kind in SHAPE_KINDS or graph.tensor(s.op.outputs[0]).dtype == "int32"]
    assert not remaining, f"shape arithmetic reached codegen: {remaining}"
    assert all(isinstance(s, Alias) for s in lowered.steps if s.op.kind == "RESHAPE")
    assert_bit_exact(path, samples=20)


@pytest.mark.slow
def test_dense_on_rank3_with_dynamic_batch_folds_its_shape_subgraph():
    """Keras Dense on a rank-3 input emits SHAPE/GATHER/REDUCE_PROD/CONCATENATION/PACK.

    All of it folds. The converter also records a static shape [1, 1] for the RESHAPE it feeds
    (it only knew [-1, -1]); TFLM cannot run this model (it lacks REDUCE_PROD, and its RESHAPE
    checks those stored dims), and tinyc rejects that RESHAPE by name.
    """
    from tinyc.errors import UnsupportedError
    from tinyc.lower import lower
    from tinyc.read_tflite import read_model

    def build(tf, x):
        y = tf.keras.layers.Reshape((16, 2))(tf.keras.layers.Conv2D(2, 3, padding="same")(x))
        return tf.keras.layers.Flatten()(tf.keras.layers.Dense(3)(y))

    graph = read_model(dynamic_batch_model("dense_rank3", build))
    assert {"SHAPE", "GATHER", "REDUCE_PROD", "CONCATENATION", "PACK"} <= {op.kind
                                                                          for op in graph.ops}
    folded = fold_constants(graph)
    assert not {op.kind for op in folded.ops} & SHAPE_KINDS
    with pytest.raises(UnsupportedError, match="RESHAPE.*different numbers of elements"):
        lower(graph)
