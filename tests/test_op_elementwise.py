"""ADD, SUB, MUL, CONCATENATION, PAD and PADV2 on int8, against the TFLM interpreter.

- test_model_is_bit_exact_with_tflm: models built with Keras and converted by the TF converter
  (cached on disk). A guard checks the converted graph really contains the op in the form the
  case is about (the converter folds, reorders and reshapes operands), then `assert_bit_exact`
  compares every output byte with TFLM on random inputs.
- test_all_input_pairs_match_tflm: ADD/SUB/MUL models written directly as flatbuffers with
  chosen scales, whose inputs broadcast [1,256,1] against [1,1,256] so one run covers all 65536
  int8 pairs. Some ADD/SUB scales are ones where computing the multipliers in float instead of
  double (as sub_common.cc's source reads, unlike the oracle wheel) changes a few outputs, which
  random inputs almost never reach.
- Python-level tests: the broadcast and padding walks against numpy, and the rejections.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ir import Graph, Op, QuantParams, Tensor
from tinyc.lower import lower
from tinyc.ops import load_all
from tinyc.ops.elementwise import broadcast_loops
from tinyc.ops.pad import pad_loops
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conftest import assert_bit_exact
from flatbuffer_models import TensorSpec, single_op_tflite
from tflite_builders import cached_model, quiet_tensorflow

VERSION = "v2"  # bump to rebuild this file's cached models


def keras_int8_model(key: str, shapes: list[tuple[int, ...]], build, ranges=None, seed: int = 0):
    """Cached full-int8 model with one input per shape; input i is calibrated on ranges[i].

    Distinct ranges give the inputs distinct scales, which is what the rescaling paths need.
    """
    ranges = ranges or [(-1.0, 1.0)] * len(shapes)

    def make() -> bytes:
        tf = quiet_tensorflow()
        tf.keras.utils.set_random_seed(seed)
        inputs = [
            tf.keras.Input(shape=s, batch_size=1, name=f"in{i}") for i, s in enumerate(shapes)
        ]
        model = tf.keras.Model(inputs, build(tf, *inputs))
        rng = np.random.default_rng(seed)
        # Keyed by input name: the converter may order a model's inputs differently from Keras.
        samples = [
            {
                f"in{i}": rng.uniform(lo, hi, (1, *s)).astype(np.float32)
                for i, (s, (lo, hi)) in enumerate(zip(shapes, ranges, strict=True))
            }
            for _ in range(32)
        ]
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: iter(samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        return converter.convert()

    return cached_model(f"elementwise-{VERSION}-{key}-{shapes}-{ranges}-{seed}", make)


def op_kinds(path) -> list[str]:
    return [op.kind for op in read_model(path).ops]


def the_op(path, kind: str):
    """The graph and its single op of `kind`."""
    graph = read_model(path)
    ops = [op for op in graph.ops if op.kind == kind]
    assert len(ops) == 1, f"expected one {kind}, got {[op.kind for op in graph.ops]}"
    return graph, ops[0]


def shapes_of(graph, op) -> list[tuple[int, ...]]:
    return [graph.tensor(t).shape for t in op.inputs if t >= 0]


def scales_of(graph, op) -> list[float]:
    return [
        graph.tensor(t).scale
        for t in op.inputs + op.outputs
        if t >= 0 and graph.tensor(t).quant is not None
    ]


def layers(tf):
    return tf.keras.layers


WIDE = [(-1.0, 1.0), (-3.0, 2.0)]  # two inputs calibrated to different scales

# name: (input shapes, build, calibration ranges, op kind, check(graph, op) on the converted op)
CASES = {
    # --- ADD ---
    "add_two_scales": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).Add()([a, b]),
        WIDE,
        "ADD",
        lambda g, op: len(set(scales_of(g, op))) == 3,
    ),
    "add_fused_relu": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).ReLU()(layers(tf).Add()([a, b])),
        WIDE,
        "ADD",
        lambda g, op: op.options["fused_activation_function"] == "RELU",
    ),
    "add_fused_relu6": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).ReLU(max_value=6.0)(layers(tf).Add()([a, b])),
        [(-4.0, 7.0), (-2.0, 5.0)],
        "ADD",
        lambda g, op: op.options["fused_activation_function"] == "RELU6",
    ),
    "add_constant_channels": (
        [(4, 4, 3)],
        lambda tf, a: a + np.array([0.5, -1.0, 2.0], np.float32),
        None,
        "ADD",
        lambda g, op: g.tensor(op.inputs[1]).is_const and shapes_of(g, op)[1] == (3,),
    ),
    "add_constant_column": (
        [(5, 3)],
        lambda tf, a: tf.keras.ops.add(
            np.array([[0.25], [-0.5], [1.0], [0.0], [2.0]], np.float32), a
        ),
        None,
        "ADD",
        lambda g, op: any(g.tensor(t).is_const and g.tensor(t).shape[-1] == 1 for t in op.inputs),
    ),
    "add_broadcast_11c": (
        [(4, 4, 3), (1, 1, 3)],
        lambda tf, a, b: layers(tf).Add()([a, b]),
        WIDE,
        "ADD",
        lambda g, op: sorted(int(np.prod(s)) for s in shapes_of(g, op)) == [3, 48],
    ),
    "add_broadcast_both_ways": (
        [(4, 1, 3), (1, 5, 3)],
        lambda tf, a, b: a + b,
        WIDE,
        "ADD",
        lambda g, op: sorted(shapes_of(g, op)) == [(1, 1, 5, 3), (1, 4, 1, 3)],
    ),
    "add_lower_rank": (
        [(4, 4, 3), (3,)],
        lambda tf, a, b: a + b,
        WIDE,
        "ADD",
        lambda g, op: min(map(len, shapes_of(g, op))) < 4,
    ),
    "add_rank5_broadcast": (
        [(2, 3, 4, 5), (1, 3, 1, 5)],
        lambda tf, a, b: a + b,
        WIDE,
        "ADD",
        lambda g, op: sorted(shapes_of(g, op)) == [(1, 1, 3, 1, 5), (1, 2, 3, 4, 5)],
    ),
    "add_residual_conv": (
        [(6, 6, 4)],
        lambda tf, x: layers(tf).ReLU()(
            layers(tf).Add()(
                [layers(tf).Conv2D(8, 3, padding="same")(x), layers(tf).Conv2D(8, 1)(x)]
            )
        ),
        None,
        "ADD",
        lambda g, op: g.ops[0].kind == "CONV_2D",
    ),
    "add_dense_branches": (
        [(10,)],
        lambda tf, x: layers(tf).Add()(
            [layers(tf).Dense(6)(x), layers(tf).Dense(6, activation="relu")(x)]
        ),
        None,
        "ADD",
        lambda g, op: len(set(scales_of(g, op))) == 3,
    ),
    # --- SUB ---
    "sub_two_scales": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).Subtract()([a, b]),
        WIDE,
        "SUB",
        lambda g, op: len(set(scales_of(g, op))) == 3,
    ),
    "sub_broadcast_first": (
        [(1, 1, 3), (4, 4, 3)],
        lambda tf, a, b: a - b,
        WIDE,
        "SUB",
        lambda g, op: shapes_of(g, op) == [(1, 1, 1, 3), (1, 4, 4, 3)],
    ),
    "sub_broadcast_second": (
        [(4, 4, 3), (1, 1, 3)],
        lambda tf, a, b: layers(tf).Subtract()([a, b]),
        WIDE,
        "SUB",
        lambda g, op: shapes_of(g, op) == [(1, 4, 4, 3), (1, 1, 1, 3)],
    ),
    "sub_fused_relu": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).ReLU()(a - b),
        WIDE,
        "SUB",
        lambda g, op: op.options["fused_activation_function"] == "RELU",
    ),
    "sub_from_constant": (
        [(4, 3)],
        lambda tf, a: tf.keras.ops.subtract(np.array([1.5, -0.5, 0.25], np.float32), a),
        None,
        "SUB",
        lambda g, op: g.tensor(op.inputs[0]).is_const,
    ),
    # --- MUL ---
    "mul_two_scales": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).Multiply()([a, b]),
        WIDE,
        "MUL",
        lambda g, op: len(set(scales_of(g, op))) == 3,
    ),
    "mul_constant_channels": (
        [(4, 4, 3)],
        lambda tf, a: a * np.array([0.5, -1.5, 3.0], np.float32),
        None,
        "MUL",
        lambda g, op: any(g.tensor(t).is_const for t in op.inputs),
    ),
    "mul_squeeze_excite": (
        [(4, 4, 8)],
        lambda tf, x: layers(tf).Multiply()(
            [
                x,
                layers(tf).Dense(8, activation="sigmoid")(
                    layers(tf).GlobalAveragePooling2D(keepdims=True)(x)
                ),
            ]
        ),
        None,
        "MUL",
        lambda g, op: (1, 1, 1, 8) in shapes_of(g, op),
    ),
    "mul_square": (
        [(4, 5)],
        lambda tf, a: a * a,
        [(-2.0, 1.0)],
        "MUL",
        lambda g, op: op.inputs[0] == op.inputs[1],
    ),
    "mul_fused_relu": (
        [(4, 4, 3), (1, 1, 3)],
        lambda tf, a, b: layers(tf).ReLU()(a * b),
        WIDE,
        "MUL",
        lambda g, op: op.options["fused_activation_function"] == "RELU",
    ),
    # --- CONCATENATION ---
    "concat_channels": (
        [(4, 4, 3), (4, 4, 2)],
        lambda tf, a, b: layers(tf).Concatenate(axis=-1)([a, b]),
        WIDE,
        "CONCATENATION",
        lambda g, op: op.options["axis"] in (-1, 3),
    ),
    "concat_height_three": (
        [(2, 4, 3), (1, 4, 3), (3, 4, 3)],
        lambda tf, a, b, c: layers(tf).Concatenate(axis=1)([a, b, c]),
        None,
        "CONCATENATION",
        lambda g, op: len(op.inputs) == 3 and op.options["axis"] == 1,
    ),
    "concat_width": (
        [(3, 2, 4), (3, 5, 4)],
        lambda tf, a, b: layers(tf).Concatenate(axis=2)([a, b]),
        WIDE,
        "CONCATENATION",
        lambda g, op: op.options["axis"] == 2,
    ),
    "concat_dense_branches": (
        [(10,)],
        lambda tf, x: layers(tf).Concatenate()(
            [layers(tf).Dense(4)(x), layers(tf).Dense(6, activation="relu")(x)]
        ),
        None,
        "CONCATENATION",
        lambda g, op: len(op.inputs) == 2,
    ),
    # --- PAD / PADV2 ---
    "pad_zero_padding_2d": (
        [(4, 4, 3)],
        lambda tf, x: layers(tf).ZeroPadding2D(((1, 2), (3, 0)))(x),
        None,
        "PAD",
        lambda g, op: g.tensor(op.outputs[0]).shape == (1, 7, 7, 3),
    ),
    "pad_channels_only": (
        [(3, 3, 4)],
        lambda tf, x: tf.keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [2, 3]]),
        [(0.0, 2.0)],
        "PAD",
        lambda g, op: g.tensor(op.outputs[0]).shape == (1, 3, 3, 9),
    ),
    "pad_rank3": (
        [(6, 5)],
        lambda tf, x: tf.keras.ops.pad(x, [[0, 0], [1, 2], [1, 0]]),
        [(0.5, 3.0)],
        "PAD",
        lambda g, op: g.tensor(op.outputs[0]).shape == (1, 9, 6),
    ),
    "padv2_constant": (
        [(4, 4, 3)],
        lambda tf, x: tf.keras.ops.pad(x, [[0, 0], [1, 1], [2, 0], [0, 1]], constant_values=0.5),
        None,
        "PADV2",
        lambda g, op: g.tensor(op.outputs[0]).shape == (1, 6, 6, 4),
    ),
    "padv2_negative_constant": (
        [(7,)],
        lambda tf, x: tf.keras.ops.pad(x, [[1, 0], [3, 2]], constant_values=-0.75),
        None,
        "PADV2",
        lambda g, op: g.tensor(op.outputs[0]).shape == (2, 12),
    ),
}


def case_model(name: str):
    shapes, build, ranges, _, _ = CASES[name]
    return keras_int8_model(name, shapes, build, ranges)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_model_is_bit_exact_with_tflm(name):
    _, _, _, kind, check = CASES[name]
    path = case_model(name)
    # Guard: the converter must have produced the op in the form this case is about.
    graph, op = the_op(path, kind)
    assert check(graph, op), f"{name}: converted op does not have the expected form: {op}"
    assert kind in [c.op.kind for c in lower(graph).calls]
    assert_bit_exact(path, samples=20)


# --- exhaustive: every int8 pair through one op, on flatbuffers with exact scales ---


def binary_op_tflite(
    kind: str,
    shape1: list[int],
    q1: tuple[float, int],
    shape2: list[int],
    q2: tuple[float, int],
    out_shape: list[int],
    qo: tuple[float, int],
    activation: str = "NONE",
) -> bytes:
    """A model of one int8 ADD/SUB/MUL with the given shapes and (scale, zero point)s."""
    from ai_edge_litert import schema_py_generated as s

    tensors = [
        TensorSpec(shape1, np.int8, q1, name="x1"),
        TensorSpec(shape2, np.int8, q2, name="x2"),
        TensorSpec(out_shape, np.int8, qo, name="y"),
    ]
    activation_code = getattr(s.ActivationFunctionType, activation)
    return single_op_tflite(
        kind, tensors, [0, 1], [2], kind.capitalize() + "Options",
        fusedActivationFunction=activation_code,
    )


ALL_INT8 = np.arange(-128, 128, dtype=np.int8)
ROWS, COLS = [1, 256, 1], [1, 1, 256]
FLAT = [1, 256 * 256]

# (kind, q1, q2, q_out, activation, layout). Layout "rows-cols": input 1 runs down [1,256,1],
# input 2 across [1,1,256] (broadcast); "cols-rows" the other way round; "flat": both [1,65536]
# holding the same pairs (no broadcasting).
PAIR_CASES = [
    # scales where float instead of double multiplier arithmetic changes one or two outputs
    (
        "ADD",
        (0.0189744271337986, -16),
        (0.0075636962428689, 14),
        (0.008478181436657906, 9),
        "NONE",
        "rows-cols",
    ),
    (
        "ADD",
        (0.04787807911634445, 12),
        (0.03075546585023403, -14),
        (0.019015397876501083, 13),
        "NONE",
        "flat",
    ),
    (
        "SUB",
        (0.025077642872929573, 10),
        (0.007772242184728384, -9),
        (0.007879698649048805, 5),
        "NONE",
        "rows-cols",
    ),
    (
        "SUB",
        (0.011599678546190262, -1),
        (0.027204496785998344, -13),
        (0.017688432708382607, -19),
        "NONE",
        "cols-rows",
    ),
    ("ADD", (0.05, 0), (0.02, -128), (0.03, -128), "RELU", "cols-rows"),
    ("ADD", (0.1, 3), (0.1, 3), (0.05, -2), "RELU6", "rows-cols"),
    ("SUB", (0.02, 5), (0.04, -7), (0.01, 0), "RELU_N1_TO_1", "flat"),
    ("MUL", (0.0235, -3), (0.0117, 20), (0.011, -5), "NONE", "rows-cols"),
    ("MUL", (0.5, 0), (0.25, 10), (0.01, 0), "NONE", "cols-rows"),  # multiplier > 1: left shift
    ("MUL", (0.003, -128), (0.001, 127), (0.4, 0), "RELU", "flat"),  # tiny multiplier
    ("MUL", (0.05, 7), (0.05, 7), (0.03, -100), "RELU6", "rows-cols"),
]


def pair_case_id(case) -> str:
    kind, q1, q2, qo, act, layout = case
    return f"{kind}-{act}-{layout}-{q1[0]:.3g},{q2[0]:.3g},{qo[0]:.3g}"


@pytest.mark.parametrize("case", PAIR_CASES, ids=pair_case_id)
def test_all_input_pairs_match_tflm(case):
    kind, q1, q2, qo, activation, layout = case
    shapes = {"rows-cols": (ROWS, COLS), "cols-rows": (COLS, ROWS), "flat": (FLAT, FLAT)}[layout]
    out_shape = [1, 256 * 256] if layout == "flat" else [1, 256, 256]
    path = cached_model(
        f"elementwise-pairs-{VERSION}-{case}",
        lambda: binary_op_tflite(kind, shapes[0], q1, shapes[1], q2, out_shape, qo, activation),
    )
    if layout == "flat":
        inputs = [np.repeat(ALL_INT8, 256).reshape(FLAT), np.tile(ALL_INT8, 256).reshape(FLAT)]
    else:
        inputs = [ALL_INT8.reshape(shape) for shape in shapes]
    (expected,) = tflm_runner(path, 1)(inputs)
    compiled = compile_model(path, "pairs")
    (got,) = build_host_model(compiled.files, compiled.name).run(inputs)
    expected = np.asarray(expected, np.int8).reshape(-1)
    got = np.frombuffer(got, np.int8)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, f"{bad.size} of 65536 outputs differ, e.g. " + ", ".join(
        f"#{i}: tinyc {got[i]} TFLM {expected[i]}" for i in bad[:6]
    )


# --- the walks the kernels take, against numpy ---


def walk_broadcast(loops, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Input element indices the kernel pairs, output element by output element."""
    idx1, idx2 = [], []
    (d0, a0, b0), (d1, a1, b1), (d2, a2, b2), (d3, a3, b3), (d4, a4, b4), (d5, a5, b5) = loops
    for i0 in range(d0):
        for i1 in range(d1):
            for i2 in range(d2):
                for i3 in range(d3):
                    for i4 in range(d4):
                        base1 = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3 + i4 * a4
                        base2 = i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3 + i4 * b4
                        idx1 += [base1 + i5 * a5 for i5 in range(d5)]
                        idx2 += [base2 + i5 * b5 for i5 in range(d5)]
    assert len(idx1) == size_out
    return np.array(idx1), np.array(idx2)


BROADCAST_SHAPES = [
    ((1, 4, 4, 3), (1, 4, 4, 3)),
    ((1, 4, 4, 3), (3,)),
    ((1, 1, 1, 3), (1, 4, 4, 3)),
    ((1, 4, 1, 3), (1, 1, 5, 3)),
    ((5, 1), (1, 5, 3)),
    ((2, 3, 4, 5, 6), (1, 3, 1, 1, 6)),
    ((2, 1, 3, 1, 2, 2), (1, 4, 1, 5, 1, 2)),  # rank 6, alternating: no dimension fuses
    ((7,), (1,)),
    ((), (2, 3)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize(("shape1", "shape2"), BROADCAST_SHAPES)
def test_broadcast_walk_pairs_elements_like_numpy(shape1, shape2):
    out_shape = np.broadcast_shapes(shape1, shape2)
    loops = broadcast_loops(Op(0, "ADD", (0, 1), (2,)), shape1, shape2, out_shape)
    assert len(loops) == 6
    size_out = int(np.prod(out_shape))
    got1, got2 = walk_broadcast(loops, size_out)
    want1, want2 = np.broadcast_arrays(
        np.arange(int(np.prod(shape1))).reshape(shape1),
        np.arange(int(np.prod(shape2))).reshape(shape2),
    )
    assert np.array_equal(got1, want1.reshape(-1)) and np.array_equal(got2, want2.reshape(-1))


def test_same_shape_walk_is_one_flat_loop():
    loops = broadcast_loops(Op(0, "ADD", (0, 1), (2,)), (1, 4, 4, 3), (1, 4, 4, 3), (1, 4, 4, 3))
    assert loops == [(1, 0, 0)] * 5 + [(48, 1, 1)]


def walk_pad(loops, x: np.ndarray, value: int) -> np.ndarray:
    """runtime/pad.h's loop in Python."""
    out, flat, pos = [], x.reshape(-1), 0
    (d0, l0, r0), (d1, l1, r1), (d2, l2, r2), (d3, l3, r3), (d4, l4, r4) = loops
    for i0 in range(d0):
        for i1 in range(d1):
            for i2 in range(d2):
                for i3 in range(d3):
                    if not all(
                        lo <= i < d - hi
                        for i, d, lo, hi in [
                            (i0, d0, l0, r0),
                            (i1, d1, l1, r1),
                            (i2, d2, l2, r2),
                            (i3, d3, l3, r3),
                        ]
                    ):
                        out += [value] * d4
                        continue
                    copy = d4 - l4 - r4
                    out += [value] * l4 + list(flat[pos : pos + copy]) + [value] * r4
                    pos += copy
    assert pos == flat.size
    return np.array(out)


PAD_CASES = [
    ((1, 4, 4, 3), [(0, 0), (1, 2), (3, 0), (0, 0)]),
    ((1, 3, 3, 4), [(0, 0), (0, 0), (0, 0), (2, 3)]),
    ((2, 3, 4), [(1, 0), (0, 0), (2, 2)]),
    ((1, 7), [(1, 0), (3, 2)]),
    ((2, 2, 2, 2, 2), [(1, 1), (0, 2), (1, 0), (0, 0), (2, 1)]),
    ((3,), [(0, 0)]),
    ((1, 2, 1, 2), [(0, 0), (0, 0), (1, 1), (0, 0)]),
]


@pytest.mark.parametrize(("shape", "pairs"), PAD_CASES)
def test_pad_walk_matches_numpy_pad(shape, pairs):
    x = np.arange(int(np.prod(shape))).reshape(shape) + 1
    got = walk_pad(pad_loops(shape, pairs), x, -7)
    assert np.array_equal(got, np.pad(x, pairs, constant_values=-7).reshape(-1))


def test_zero_padding_2d_merges_width_and_channels():
    # rows of (W + pads) * C bytes: the copy in the innermost loop is a whole row
    assert pad_loops((1, 4, 4, 3), [(0, 0), (1, 2), (3, 0), (0, 0)]) == [
        (1, 0, 0),
        (1, 0, 0),
        (1, 0, 0),
        (7, 1, 2),
        (21, 9, 0),
    ]


# --- rejections, with the op named ---


def q(scale: float = 0.05, zero_point: int = 0) -> QuantParams:
    return QuantParams((scale,), (zero_point,))


def one_op_graph(kind: str, inputs: list[Tensor], output: Tensor, **options) -> Graph:
    """Graph of one op on `inputs` (indices 0..n-1, in order) writing `output`."""
    tensors = [t.replace(index=i) for i, t in enumerate([*inputs, output])]
    op = Op(0, kind, tuple(range(len(inputs))), (len(inputs),), options)
    graph_inputs = tuple(t.index for t in tensors[:-1] if not t.is_const)
    return Graph(tuple(tensors), (op,), graph_inputs, (len(inputs),))


def act(shape, quant=None, dtype="int8") -> Tensor:
    return Tensor(0, "t", tuple(shape), dtype, quant if quant is not None else q())


def const(values, dtype="int32", quant=None) -> Tensor:
    data = np.asarray(values, dtype=dtype)
    return Tensor(0, "c", data.shape, dtype, quant, data)


def lower_one(graph: Graph):
    return load_all()[graph.ops[0].kind].lower(graph, graph.ops[0])


NONE = {"fused_activation_function": "NONE"}

REJECTED = {
    "add shapes that do not broadcast": (
        one_op_graph("ADD", [act((1, 4, 3)), act((1, 5, 3))], act((1, 5, 3)), **NONE),
        r"op 0 \(ADD\): input shapes \[1, 4, 3\] and \[1, 5, 3\] do not broadcast",
    ),
    "add output not the broadcast shape": (
        one_op_graph("ADD", [act((1, 4, 3)), act((3,))], act((1, 4, 4)), **NONE),
        r"output shape \[1, 4, 4\] is not the broadcast",
    ),
    "add rank 7": (
        one_op_graph("ADD", [act((1,) * 7), act((1,))], act((1,) * 7), **NONE),
        r"rank 7 tensors are not supported \(at most 6\)",
    ),
    "add fused tanh": (
        one_op_graph("ADD", [act((4,)), act((4,))], act((4,)), fused_activation_function="TANH"),
        r"fused_activation_function=TANH is not supported",
    ),
    "add int16": (
        one_op_graph(
            "ADD",
            [act((4,), dtype="int16"), act((4,), dtype="int16")],
            act((4,), dtype="int16"),
            **NONE,
        ),
        r"tensor types int16/int16/int16 are not supported",
    ),
    "add float32": (
        one_op_graph(
            "ADD",
            [act((4,), dtype="float32"), act((4,), dtype="float32")],
            act((4,), dtype="float32"),
            **NONE,
        ),
        r"tensor types float32/float32/float32 are not supported",
    ),
    "add output scale too small (TFLM aborts)": (
        one_op_graph("ADD", [act((4,), q(1.0)), act((4,), q(1.0))], act((4,), q(1e-7)), **NONE),
        r"output rescale factor .* is outside \(0, 1\)",
    ),
    "sub per-channel": (
        one_op_graph(
            "SUB",
            [act((1, 2), QuantParams((0.1, 0.2), (0, 0), 1)), act((1, 2))],
            act((1, 2)),
            **NONE,
        ),
        r"op 0 \(SUB\): tensor 0 \('t'\) has per-channel quantization",
    ),
    "mul unquantized": (
        one_op_graph("MUL", [Tensor(0, "raw", (4,), "int8"), act((4,))], act((4,)), **NONE),
        r"op 0 \(MUL\): tensor [0-9]+ \('raw'\) is not quantized",
    ),
    "concat different scale": (
        one_op_graph(
            "CONCATENATION",
            [act((1, 2), q(0.05)), act((1, 3), q(0.06))],
            act((1, 5), q(0.05)),
            axis=1,
            **NONE,
        ),
        r"op 0 \(CONCATENATION\): input tensor 1 \('t'\) has scale 0.06 .*TFLM requires "
        r"identical int8 quantization",
    ),
    "concat different zero point": (
        one_op_graph(
            "CONCATENATION",
            [act((1, 2), q(0.05, 3)), act((1, 3), q(0.05, 4))],
            act((1, 5), q(0.05, 3)),
            axis=1,
            **NONE,
        ),
        r"zero point 4",
    ),
    "concat float32": (
        one_op_graph(
            "CONCATENATION",
            [act((1, 2), dtype="float32"), act((1, 3), dtype="float32")],
            act((1, 5), dtype="float32"),
            axis=1,
            **NONE,
        ),
        r"has type float32 \(only int8 is supported\)",
    ),
    "concat int32 activations": (
        one_op_graph(
            "CONCATENATION",
            [act((2,), dtype="int32"), act((3,), dtype="int32")],
            act((5,), dtype="int32"),
            axis=0,
            **NONE,
        ),
        r"has type int32",
    ),
    "concat 11 inputs": (
        one_op_graph("CONCATENATION", [act((1, 1))] * 11, act((1, 11)), axis=1, **NONE),
        r"11 inputs \(TFLM supports at most 10\)",
    ),
    "concat fused relu": (
        one_op_graph(
            "CONCATENATION",
            [act((1, 2)), act((1, 3))],
            act((1, 5)),
            axis=1,
            fused_activation_function="RELU",
        ),
        r"fused_activation_function=RELU is not supported",
    ),
    "concat mismatched shapes": (
        one_op_graph(
            "CONCATENATION", [act((1, 2, 2)), act((1, 3, 3))], act((1, 2, 5)), axis=2, **NONE
        ),
        r"input shape \[1, 3, 3\] does not match output shape",
    ),
    "pad non-constant paddings": (
        one_op_graph("PAD", [act((1, 4)), act((2, 2), dtype="int32")], act((1, 6))),
        r"op 0 \(PAD\): paddings must be constant",
    ),
    "pad negative paddings": (
        one_op_graph("PAD", [act((1, 4)), const([[0, 0], [-1, 0]])], act((1, 3))),
        r"negative paddings",
    ),
    "pad int64 paddings": (
        one_op_graph("PAD", [act((1, 4)), const([[0, 0], [1, 1]], "int64")], act((1, 6))),
        r"paddings of type int64",
    ),
    "pad rank 6": (
        one_op_graph("PAD", [act((1,) * 6), const([[0, 0]] * 6)], act((1,) * 6)),
        r"rank 6 input \(TFLM pads at most 5 dims\)",
    ),
    "pad float32": (
        one_op_graph(
            "PAD",
            [act((1, 4), dtype="float32"), const([[0, 0], [1, 1]])],
            act((1, 6), dtype="float32"),
        ),
        r"tensor types float32/float32 are not supported",
    ),
    "padv2 constant with another scale": (
        one_op_graph(
            "PADV2", [act((1, 4)), const([[0, 0], [1, 1]]), const(3, "int8", q(0.1))], act((1, 6))
        ),
        r"op 0 \(PADV2\): constant_values must have the output's quantization",
    ),
    "padv2 non-constant value": (
        one_op_graph("PADV2", [act((1, 4)), const([[0, 0], [1, 1]]), act(())], act((1, 6))),
        r"constant_values must be a constant",
    ),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_with_a_clear_message(name):
    graph, message = REJECTED[name]
    with pytest.raises(UnsupportedError, match=message):
        lower_one(graph)


def test_rejection_reaches_the_user_through_lower():
    graph, _ = REJECTED["concat different scale"]
    with pytest.raises(UnsupportedError, match=r"op 0 \(CONCATENATION\)"):
        lower(graph)


def test_padv2_value_and_pad_zero_point_reach_the_params():
    graph = one_op_graph(
        "PADV2",
        [act((1, 4), q(0.05, 9)), const([[0, 0], [1, 1]]), const(-3, "int8", q(0.05, 9))],
        act((1, 6), q(0.05, 9)),
    )
    assert dict(lower_one(graph).params)["pad_value"] == -3
    graph = one_op_graph(
        "PAD", [act((1, 4), q(0.05, 9)), const([[0, 0], [1, 1]])], act((1, 6), q(0.05, -17))
    )
    assert dict(lower_one(graph).params)["pad_value"] == -17


# --- all the ops of this file in one model: bit-exact, and clean C on every toolchain ---


def combined_model():
    def build(tf, x):
        padded = layers(tf).ZeroPadding2D(1)(x)
        joined = layers(tf).Concatenate()([padded, layers(tf).Dense(2)(padded)])
        scaled = joined * np.linspace(-1.0, 1.0, 5, dtype=np.float32)
        return layers(tf).Subtract()([scaled + 0.5, joined])

    return keras_int8_model("combined", [(4, 4, 3)], build)


WARNINGS = ["-Wall", "-Wextra", "-Werror"]
TOOLCHAINS = {
    "g++": ["g++", "-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", *WARNINGS],
    "clang++": ["clang++", "-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", *WARNINGS],
    "arm-none-eabi-g++": [
        "arm-none-eabi-g++",
        "-std=c++11",
        "-pedantic",
        "-fno-exceptions",
        "-fno-rtti",
        *WARNINGS,
        "-mcpu=cortex-m4",
        "-mthumb",
        "-Os",
    ],
    "gcc -std=c99 (headers)": ["gcc", "-std=c99", "-pedantic", *WARNINGS],
}


@pytest.mark.slow
def test_combined_model_is_bit_exact_with_tflm():
    path = combined_model()
    kinds = set(op_kinds(path))
    assert {"PAD", "CONCATENATION", "MUL", "ADD", "SUB"} <= kinds, kinds
    assert_bit_exact(path, samples=20)


@pytest.mark.slow
@pytest.mark.parametrize("toolchain", sorted(TOOLCHAINS))
def test_generated_code_compiles_clean(toolchain, tmp_path):
    import shutil
    import subprocess

    from tinyc import compile_to_folder

    command = TOOLCHAINS[toolchain]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    folder = tmp_path / "gen"
    compile_to_folder(combined_model(), folder, name="combined")
    if "c99" in toolchain:
        headers = ["add.h", "mul.h", "concatenation.h", "pad.h"]
        sources = [str(folder / "tinyc_runtime" / h) for h in headers]
        command = [*command, "-x", "c", "-fsyntax-only"]
    else:
        sources = [str(p) for p in sorted(folder.rglob("*.cpp"))]
        command = [*command, "-I", str(folder), "-c", "-o", str(tmp_path / "m.o")]
    for source in sources:
        result = subprocess.run([*command, source], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
