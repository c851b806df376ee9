"""ADD, SUB, MUL, CONCATENATION, PAD and PADV2 against the TFLM interpreter: int8, int16,
int32, int64, float32 and bool, as far as each TFLM kernel takes them.

- test_model_is_bit_exact_with_tflm: int8 models built with Keras and converted by the TF
  converter (cached on disk). A guard checks the converted graph really contains the op in the
  form the case is about (the converter folds, reorders and reshapes operands), then
  `assert_bit_exact` compares every output byte with TFLM on random inputs.
  test_wide_keras_model_is_bit_exact_with_tflm: the same for Keras models converted in 16x8 mode
  (int16 activations) and unquantized float32.
- test_all_input_pairs_match_tflm: int8 ADD/SUB/MUL models written directly as flatbuffers with
  chosen scales, whose inputs broadcast [1,256,1] against [1,1,256] so one run covers all 65536
  int8 pairs. Some ADD/SUB scales are ones where computing the multipliers in float instead of
  double (as sub_common.cc's source reads, unlike the oracle wheel) changes a few outputs, which
  random inputs almost never reach. test_int16_pairs_match_tflm: the same for int16 on 512 x 512
  values (the extremes, around zero, a sweep of the range and random values), at scales from the
  shared seanet model, power-of-two scales with pot_scale_int16 (TFLM's micro kernels ignore it),
  zero points other than 0, extreme multipliers and fused activations.
- Flatbuffer grids (test_*_grid): every type x broadcasting shapes x scales (extreme ones too) x
  fused activations for ADD/SUB/MUL; every type, axis, input count and rank for CONCATENATION;
  every type and padding pattern for PAD/PADV2, with random inputs. Chosen inputs where random
  ones would not reach a case: float infinities, NaN and signed zeros, int32 overflow, a PADV2
  pad value computed at run time.
- Rejections: the lowering refuses what TFLM refuses (a model TFLM refuses is refused by tinyc
  too, checked against the interpreter) and names the op and the option.
- Python-level tests: the broadcast and padding walks against numpy.
- The generated code of every new kernel builds with -Werror under g++, clang++,
  arm-none-eabi-g++, and its headers as C99.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.ir import DTYPES, Graph, Op, QuantParams, Tensor
from tinyc.lower import lower
from tinyc.ops import load_all
from tinyc.ops.elementwise import broadcast_loops
from tinyc.ops.pad import pad_loops
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4, shared_model
from flatbuffer_models import OperatorSpec, TensorSpec, single_op_tflite, tflite_model
from tflite_builders import cached_model, quiet_tensorflow

VERSION = "v2"  # bump to rebuild this file's cached models


def keras_int8_model(key: str, shapes: list[tuple[int, ...]], build, ranges=None, seed: int = 0,
                     mode: str = "int8"):
    """Cached model with one input per shape; input i is calibrated on ranges[i].

    mode "int8": full int8; "16x8": int16 activations, int8 weights, int16 input and output;
    "float": unquantized float32. Distinct ranges give the inputs distinct scales, which is what
    the rescaling paths need.
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
        if mode == "float":
            return converter.convert()
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: iter(samples)
        if mode == "16x8":
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
            converter.inference_input_type = tf.int16
            converter.inference_output_type = tf.int16
        else:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter.convert()

    tag = "" if mode == "int8" else f"-{mode}"  # int8 keys as before: the cached models stay
    return cached_model(f"elementwise-{VERSION}{tag}-{key}-{shapes}-{ranges}-{seed}", make)


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


# --- Keras models in 16x8 mode (int16 activations) and float32 ---


def _combined(tf, x):
    padded = layers(tf).ZeroPadding2D(1)(x)
    joined = layers(tf).Concatenate()([padded, padded * 0.5])
    scaled = joined * np.linspace(-1.0, 1.0, 6, dtype=np.float32)
    return layers(tf).Subtract()([scaled + 0.5, joined])


# name: (input shapes, build, calibration ranges, modes, op kinds the converted model must have)
WIDE_KERAS = {
    "add_two_scales": (
        [(4, 4, 3), (4, 4, 3)], lambda tf, a, b: layers(tf).Add()([a, b]), WIDE,
        ("16x8", "float"), {"ADD"},
    ),
    "add_fused_relu": (
        [(4, 4, 3), (4, 4, 3)], lambda tf, a, b: layers(tf).ReLU()(layers(tf).Add()([a, b])),
        WIDE, ("16x8", "float"), {"ADD"},
    ),
    "add_constant_channels": (
        [(4, 4, 3)], lambda tf, a: a + np.array([0.5, -1.0, 2.0], np.float32), None,
        ("16x8", "float"), {"ADD"},
    ),
    "sub_broadcast": (
        [(4, 4, 3), (1, 1, 3)], lambda tf, a, b: layers(tf).Subtract()([a, b]), WIDE,
        ("16x8", "float"), {"SUB"},
    ),
    "sub_fused_relu6": (
        [(4, 4, 3), (4, 4, 3)],
        lambda tf, a, b: layers(tf).ReLU(max_value=6.0)(layers(tf).Subtract()([a, b])),
        [(-4.0, 7.0), (-2.0, 5.0)], ("16x8", "float"), {"SUB"},
    ),
    "mul_two_scales": (
        [(4, 4, 3), (4, 4, 3)], lambda tf, a, b: layers(tf).Multiply()([a, b]), WIDE,
        ("16x8", "float"), {"MUL"},
    ),
    "mul_constant_channels": (
        [(4, 4, 3)], lambda tf, a: a * np.array([0.5, -1.5, 3.0], np.float32), None,
        ("16x8", "float"), {"MUL"},
    ),
    "concat_channels": (
        [(4, 4, 3), (4, 4, 2)], lambda tf, a, b: layers(tf).Concatenate()([a, b]), WIDE,
        ("16x8", "float"), {"CONCATENATION"},
    ),
    "concat_height_three": (
        [(2, 4, 3), (1, 4, 3), (3, 4, 3)],
        lambda tf, a, b, c: layers(tf).Concatenate(axis=1)([a, b, c]), None,
        ("16x8", "float"), {"CONCATENATION"},
    ),
    "zero_padding_2d": (
        [(4, 4, 3)], lambda tf, x: layers(tf).ZeroPadding2D(((1, 2), (3, 0)))(x), None,
        ("16x8", "float"), {"PAD"},
    ),
    "pad_rank3": (
        [(6, 5)], lambda tf, x: tf.keras.ops.pad(x, [[0, 0], [1, 2], [1, 0]]), [(0.5, 3.0)],
        ("16x8", "float"), {"PAD"},
    ),
    "padv2_constant": (  # 16x8: see test_the_16x8_converters_padv2_is_refused_by_both
        [(4, 4, 3)],
        lambda tf, x: tf.keras.ops.pad(x, [[0, 0], [1, 1], [2, 0], [0, 1]], constant_values=0.5),
        None, ("float",), {"PADV2"},
    ),
    "combined": (
        [(4, 4, 3)], _combined, None, ("16x8", "float"),
        {"PAD", "CONCATENATION", "MUL", "ADD", "SUB"},
    ),
    "dense_branches": (
        [(10,)],
        lambda tf, x: layers(tf).Concatenate()(
            [layers(tf).Add()([layers(tf).Dense(6)(x), layers(tf).Dense(6, activation="relu")(x)]),
             layers(tf).Multiply()([layers(tf).Dense(4)(x), layers(tf).Dense(4)(x)])]
        ),
        None, ("float",), {"ADD", "MUL", "CONCATENATION"},
    ),
}
WIDE_KERAS_CASES = [(name, mode) for name, case in sorted(WIDE_KERAS.items()) for mode in case[3]]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mode"), WIDE_KERAS_CASES,
                         ids=[f"{n}-{m}" for n, m in WIDE_KERAS_CASES])
def test_wide_keras_model_is_bit_exact_with_tflm(name, mode):
    shapes, build, ranges, _, kinds = WIDE_KERAS[name]
    path = keras_int8_model(name, shapes, build, ranges, mode=mode)
    graph = read_model(path)
    dtype = "int16" if mode == "16x8" else "float32"
    found = {op.kind for op in graph.ops if graph.tensor(op.outputs[0]).dtype == dtype}
    assert kinds <= found, f"{name}: converted ops {[op.kind for op in graph.ops]}"
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


# --- int16 pairs: 512 x 512 values through one op, at chosen scales ---


def int16_probe_values() -> np.ndarray:
    """512 int16 values: both ends of the range, around zero, a sweep, and random fill."""
    values = set(range(-32768, -32768 + 48)) | set(range(32767 - 47, 32768)) | set(range(-48, 48))
    values |= set(np.linspace(-32768, 32767, 160).round().astype(int).tolist())
    rng = np.random.default_rng(16)
    while len(values) < 512:
        values.add(int(rng.integers(-32768, 32768)))
    return np.array(sorted(values), np.int16)


def wide_binary_tflite(kind: str, dtype, shape1, q1, shape2, q2, out_shape, qo,
                       activation: str = "NONE", constant2=None, pot: bool | None = None) -> bytes:
    """One ADD/SUB/MUL of `dtype`; q*: (scale, zero point) or None; `constant2`: input 2's data."""
    from ai_edge_litert import schema_py_generated as s

    tensors = [
        TensorSpec(shape1, dtype, q1, name="x1"),
        TensorSpec(shape2, dtype, q2, data=constant2, name="x2"),
        TensorSpec(out_shape, dtype, qo, name="y"),
    ]
    fields = {"fusedActivationFunction": getattr(s.ActivationFunctionType, activation)}
    if pot is not None:
        fields["potScaleInt16"] = pot
    inputs = [0] if constant2 is not None else [0, 1]
    return single_op_tflite(kind, tensors, inputs, [2], kind.capitalize() + "Options", **fields)


SEANET = ((0.0005852500908076763, 0), (0.0008069296018220484, 0), (0.0010244421428069472, 0))
POT = ((2.0**-10, 0), (2.0**-12, 0), (2.0**-9, 0))
ZERO_POINTS = ((0.001, 100), (0.002, -3000), (0.003, 12345))
EXTREME_ZERO_POINTS = ((0.001, -32768), (0.0015, 32767), (0.004, -1))

# (kind, (q1, q2, q_out), activation, pot_scale_int16)
INT16_PAIR_CASES = [
    ("ADD", SEANET, "NONE", False),
    ("ADD", POT, "NONE", True),  # micro add.cc ignores pot_scale_int16: the general path
    ("ADD", ZERO_POINTS, "RELU", False),
    ("ADD", ((0.0001, 0), (0.5, 0), (0.0004, 0)), "RELU6", False),
    ("SUB", (SEANET[1], SEANET[0], SEANET[2]), "NONE", False),
    ("SUB", POT, "RELU_N1_TO_1", True),
    ("SUB", EXTREME_ZERO_POINTS, "NONE", False),
    ("MUL", ((0.001, 0), (0.002, 0), (0.003, 0)), "NONE", None),
    ("MUL", ((2.0**-15, 0), (2.0**-15, 0), (2.0**-15, 0)), "NONE", None),
    ("MUL", ((0.5, 0), (0.25, 0), (0.01, 0)), "RELU_N1_TO_1", None),  # multiplier 12.5
    ("MUL", ((3e-5, 0), (4e-5, 0), (1e-4, 0)), "RELU", None),
]


def int16_case_id(case) -> str:
    kind, (q1, q2, qo), act, pot = case
    return f"{kind}-{act}-pot{pot}-{q1[0]:.3g}/{q1[1]},{q2[0]:.3g}/{q2[1]},{qo[0]:.3g}/{qo[1]}"


def run_both(path, inputs: list[np.ndarray], n_outputs: int = 1, name: str = "m"):
    """(tinyc's outputs as bytes, TFLM's outputs as bytes) for the same inputs."""
    expected = tflm_runner(path, n_outputs)(inputs)
    compiled = compile_model(path, name)
    got = build_host_model(compiled.files, compiled.name).run(inputs)
    return got, [np.ascontiguousarray(e).tobytes() for e in expected]


def assert_same_bytes(got: bytes, expected: bytes, dtype) -> None:
    mine, theirs = np.frombuffer(got, dtype), np.frombuffer(expected, dtype)
    bad = np.flatnonzero(mine.view(f"u{mine.itemsize}") != theirs.view(f"u{theirs.itemsize}"))
    assert bad.size == 0, f"{bad.size} of {mine.size} outputs differ, e.g. " + ", ".join(
        f"#{i}: tinyc {mine[i]} TFLM {theirs[i]}" for i in bad[:6]
    )


@pytest.mark.parametrize("case", INT16_PAIR_CASES, ids=int16_case_id)
def test_int16_pairs_match_tflm(case):
    kind, (q1, q2, qo), activation, pot = case
    values = int16_probe_values()
    n = values.size
    path = cached_model(
        f"elementwise-int16-pairs-{VERSION}-{case}",
        lambda: wide_binary_tflite(kind, np.int16, [1, n, 1], q1, [1, 1, n], q2, [1, n, n], qo,
                                   activation, pot=pot),
    )
    inputs = [values.reshape(1, n, 1), values.reshape(1, 1, n)]
    (got,), (expected,) = run_both(path, inputs)
    assert_same_bytes(got, expected, np.int16)
    if kind != "MUL" or activation == "NONE":  # not a constant: the case tests something
        assert len(np.unique(np.frombuffer(expected, np.int16))) > 1000


def test_shared_seanet_int16_add_is_bit_exact():
    """../shared/models/wider/seanet_add0_i16.tflite: one int16 ADD from a converted model."""
    path = shared_model("wider/seanet_add0_i16.tflite")
    graph, op = the_op(path, "ADD")
    assert graph.tensor(op.outputs[0]).dtype == "int16"
    assert_bit_exact(path, samples=100)


# --- ADD/SUB/MUL grids: every type, broadcasting shapes, scales, fused activations ---

GRID_SHAPES = [  # (input 1, input 2); the output is their broadcast
    ([1, 4, 4, 3], [1, 4, 4, 3]),
    ([1, 4, 4, 3], [3]),
    ([1, 1, 1, 3], [1, 4, 4, 3]),
    ([4, 1, 3], [1, 5, 3]),
    ([2, 1, 3, 1, 2, 2], [1, 4, 1, 5, 1, 2]),  # rank 6, alternating: nothing fuses
    ([], [2, 3]),
    ([2, 3, 4, 5, 6], [1, 3, 1, 1, 6]),
]
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]

ADD_SUB_INT16_QUANTS = {
    "seanet": SEANET,
    "pot": POT,
    "inputs-5000x-apart": ((1e-4, 0), (0.5, 0), (0.3, 0)),
    "inputs-1e8-apart": ((1e-8, 0), (1.0, 0), (0.7, 0)),
    "output-multiplier-near-1": ((0.01, 0), (0.01, 0), (0.01 / 16000, 0)),
    "output-multiplier-flushed": ((0.01, 0), (0.02, 0), (1e5, 0)),  # 2^-37: TFLM's 0
    "zero-points": ZERO_POINTS,
    "extreme-zero-points": EXTREME_ZERO_POINTS,
}
MUL_INT16_QUANTS = {
    "plain": ((0.001, 0), (0.002, 0), (0.003, 0)),
    "left-shift": ((0.5, 0), (0.25, 0), (0.01, 0)),
    "huge-multiplier": ((0.5, 0), (0.5, 0), (1e-6, 0)),  # 2^18: the int32 shift wraps
    "flushed": ((1e-5, 0), (1e-5, 0), (1.0, 0)),  # 1e-10: TFLM's multiplier 0
    "pot": ((2.0**-15, 0), (2.0**-15, 0), (2.0**-15, 0)),
}
ACTIVATION_QUANTS = ((0.001, 0), (0.002, 0), (0.0003, 0))  # RELU6 and RELU_N1_TO_1 in range


def grid_cases():
    """(id, kind, dtype, shape1, shape2, (q1, q2, q_out) or None, activation, constant2)."""
    cases = []
    for kind in ("ADD", "SUB", "MUL"):
        quants = MUL_INT16_QUANTS if kind == "MUL" else ADD_SUB_INT16_QUANTS
        for i, (name, qs) in enumerate(quants.items()):
            shape1, shape2 = GRID_SHAPES[i % len(GRID_SHAPES)]
            cases.append((f"{kind}-int16-{name}", kind, "int16", shape1, shape2, qs, "NONE", False))
        for i, (shape1, shape2) in enumerate(GRID_SHAPES):
            cases.append((f"{kind}-int16-shape{i}", kind, "int16", shape1, shape2,
                          quants[next(iter(quants))], "NONE", False))
        for act in ACTIVATIONS[1:]:
            cases.append((f"{kind}-int16-{act}", kind, "int16", [2, 5, 7], [7], ACTIVATION_QUANTS,
                          act, False))
        cases.append((f"{kind}-int16-constant", kind, "int16", [1, 4, 4, 3], [3],
                      ACTIVATION_QUANTS, "NONE", True))
        for dtype in ("float32", "int32"):
            for i, (shape1, shape2) in enumerate(GRID_SHAPES):
                act = ACTIVATIONS[i % len(ACTIVATIONS)]
                cases.append((f"{kind}-{dtype}-shape{i}-{act}", kind, dtype, shape1, shape2, None,
                              act, False))
            cases.append((f"{kind}-{dtype}-constant", kind, dtype, [1, 4, 4, 3], [3], None,
                          "RELU", True))
    return cases


GRID = grid_cases()


@pytest.mark.parametrize("case", GRID, ids=[c[0] for c in GRID])
def test_add_sub_mul_grid(case):
    name, kind, dtype, shape1, shape2, quants, activation, constant = case
    q1, q2, qo = quants or (None, None, None)
    out_shape = list(np.broadcast_shapes(tuple(shape1), tuple(shape2)))
    data = None
    if constant:
        data = {"int16": [-32768, 1234, 32767], "float32": [0.5, -1.5, 3.25],
                "int32": [-(1 << 31), 7, (1 << 31) - 1]}[dtype]
    path = cached_model(
        f"elementwise-grid-{VERSION}-{case}",
        lambda: wide_binary_tflite(kind, np.dtype(dtype), shape1, q1, shape2, q2, out_shape, qo,
                                   activation, data),
    )
    graph, op = the_op(path, kind)
    assert graph.tensor(op.outputs[0]).dtype == dtype
    assert_bit_exact(path, samples=10)


FLOAT_SPECIALS = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 6.0, 6.5, -1.5, 3.0e38, -3.0e38, 1e-45, -1e-45, 1e-38,
     np.inf, -np.inf, np.nan, 7.25],
    np.float32,
)
INT32_SPECIALS = np.array(
    [0, 1, -1, 2, -2, 5, 6, 7, -7, 46341, -46341, 65536, 1 << 30, (1 << 31) - 1, -(1 << 31),
     -(1 << 31) + 1],
    np.int32,
)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_special_values_match_tflm(dtype, kind, activation):
    """Every pair of infinities, NaN, signed zeros, denormals and huge floats; of int32 values
    whose sum, difference or product overflows; through each fused activation (TFLM's int32 ADD
    ignores it)."""
    values = FLOAT_SPECIALS if dtype == "float32" else INT32_SPECIALS
    n = values.size
    path = cached_model(
        f"elementwise-specials-{VERSION}-{dtype}-{kind}-{activation}",
        lambda: wide_binary_tflite(kind, np.dtype(dtype), [n, 1], None, [1, n], None, [n, n], None,
                                   activation),
    )
    (got,), (expected,) = run_both(path, [values.reshape(n, 1), values.reshape(1, n)])
    assert_same_bytes(got, expected, values.dtype)


M4_CASES = {  # one-input models: ADD/SUB/MUL with a constant operand, PAD, CONCATENATION
    "mul-int16": lambda: wide_binary_tflite("MUL", np.int16, [1, 4, 4, 3], (0.5, 0), [3],
                                            (0.25, 0), [1, 4, 4, 3], (0.01, 0), "RELU",
                                            [-32768, 1234, 32767]),
    "add-int16": lambda: wide_binary_tflite("ADD", np.int16, [1, 4, 4, 3], SEANET[0], [3],
                                            SEANET[1], [1, 4, 4, 3], SEANET[2], "NONE",
                                            [-32768, 1234, 32767]),
    "sub-float32": lambda: wide_binary_tflite("SUB", np.float32, [1, 4, 4, 3], None, [3], None,
                                              [1, 4, 4, 3], None, "RELU6", [0.5, -1.5, 3.25]),
    "mul-float32": lambda: wide_binary_tflite("MUL", np.float32, [1, 4, 4, 3], None, [3], None,
                                              [1, 4, 4, 3], None, "NONE", [0.5, -1.5, 3.25]),
    "add-int32": lambda: wide_binary_tflite("ADD", np.int32, [1, 4, 4, 3], None, [3], None,
                                            [1, 4, 4, 3], None, "RELU", [-(1 << 31), 7, 99]),
    "pad-int16": lambda: pad_tflite("PAD", np.int16, (0.001, 0), [2, 3, 4],
                                    [[1, 0], [0, 0], [2, 2]]),
    "padv2-float32": lambda: pad_tflite("PADV2", np.float32, None, [1, 4, 4, 3],
                                        [[0, 0], [1, 2], [3, 0], [0, 1]], -2.5),
    "concat-int64": lambda: concat_tflite(np.int64, lambda i: None, [[3, 2]], 0),
}


@needs_m4
@pytest.mark.parametrize("name", sorted(M4_CASES))
def test_cortex_m4_build_is_bit_exact_with_tflm(name, tmp_path):
    """The same kernels on an emulated Cortex-M4F (hardware float, gcc -Os), one random input."""
    path = cached_model(f"elementwise-m4-{VERSION}-{name}", M4_CASES[name])
    assert_bit_exact_on_m4(path, tmp_path)


# --- CONCATENATION grid: every type, axis, input count and rank ---

CONCAT_LAYOUTS = [  # (input shapes, axis)
    ([[1, 4, 4, 3], [1, 4, 4, 2]], -1),
    ([[2, 4, 3], [1, 4, 3], [3, 4, 3]], 0),
    ([[2, 1, 3, 2, 1, 2], [2, 1, 3, 1, 1, 2], [2, 1, 3, 3, 1, 2]], 3),  # rank 6
    ([[5]], 0),  # one input
    ([[1, 2]] * 10, 0),  # TFLM's most inputs
    ([[3, 2], [3, 5], [3, 1], [3, 4]], -1),
    ([[2, 1, 2], [2, 3, 2]], -2),
]
CONCAT_TYPES = {  # name: (dtype, quantization of input i)
    "int8": (np.int8, lambda i: (0.05, 3)),
    "int16": (np.int16, lambda i: (0.001 * (i + 1), 0)),  # TFLM does not compare int16 scales
    "int16-unquantized": (np.int16, lambda i: None),
    "float32": (np.float32, lambda i: None),
    "int32": (np.int32, lambda i: None),
    "int64": (np.int64, lambda i: None),
    "bool": (np.bool_, lambda i: None),
}


def concat_tflite(dtype, quant, shapes, axis: int, out_quant="first") -> bytes:
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    tensors = [TensorSpec(s, dtype, quant(i)) for i, s in enumerate(shapes)]
    tensors.append(TensorSpec(out_shape, dtype, quant(0) if out_quant == "first" else out_quant))
    n = len(shapes)
    return single_op_tflite("CONCATENATION", tensors, list(range(n)), [n],
                            "ConcatenationOptions", axis=axis)


@pytest.mark.parametrize("layout", range(len(CONCAT_LAYOUTS)))
@pytest.mark.parametrize("type_name", sorted(CONCAT_TYPES))
def test_concatenation_grid(type_name, layout):
    dtype, quant = CONCAT_TYPES[type_name]
    shapes, axis = CONCAT_LAYOUTS[layout]
    path = cached_model(
        f"elementwise-concat-{VERSION}-{type_name}-{shapes}-{axis}",
        lambda: concat_tflite(dtype, quant, shapes, axis),
    )
    graph, op = the_op(path, "CONCATENATION")
    call = [c for c in lower(graph).calls if c.op.kind == "CONCATENATION"][0]
    assert call.function.endswith(f"_x{8 * np.dtype(dtype).itemsize}")
    assert_bit_exact(path, samples=5)


# --- PAD / PADV2 grid: every type and padding pattern ---

PAD_TYPES = {  # name: (dtype, quantization)
    "int8": (np.int8, (0.05, -17)),  # pads with the zero point
    "int16": (np.int16, (0.001, 0)),
    "int16-zero-point": (np.int16, (0.001, 7)),  # TFLM pads int16 with 0, not the zero point
    "int32": (np.int32, None),
    "float32": (np.float32, None),
}
PADV2_VALUES = {"int8": -100, "int16": -12345, "int16-zero-point": 32767, "int32": -(1 << 31),
                "float32": -2.5}


def pad_tflite(kind: str, dtype, quant, shape, pairs, value=None, value_quant=None,
               value_input: bool = False) -> bytes:
    out_shape = [d + a + b for d, (a, b) in zip(shape, pairs, strict=True)]
    tensors = [TensorSpec(shape, dtype, quant), TensorSpec([len(pairs), 2], np.int32, data=pairs)]
    inputs = [0]
    if kind == "PADV2":
        tensors.append(TensorSpec([], dtype, value_quant, data=None if value_input else value))
        if value_input:
            inputs.append(2)
    tensors.append(TensorSpec(out_shape, dtype, quant))
    options = "PadOptions" if kind == "PAD" else "PadV2Options"
    return single_op_tflite(kind, tensors, inputs, [len(tensors) - 1], options)


def pad_grid():
    cases = []
    for type_name in PAD_TYPES:
        for i, (shape, pairs) in enumerate(PAD_CASES):
            cases.append((f"PAD-{type_name}-{i}", "PAD", type_name, shape, pairs))
        for i in (0, 2, 4):
            shape, pairs = PAD_CASES[i]
            cases.append((f"PADV2-{type_name}-{i}", "PADV2", type_name, shape, pairs))
    return cases


PAD_GRID = pad_grid()


@pytest.mark.parametrize("case", PAD_GRID, ids=[c[0] for c in PAD_GRID])
def test_pad_grid(case):
    _, kind, type_name, shape, pairs = case
    dtype, quant = PAD_TYPES[type_name]
    # int16 PADV2: TFLM does not look at constant_values' quantization; give it another one
    value_quant = quant if type_name == "int8" else (0.5, 3) if quant else None
    path = cached_model(
        f"elementwise-pad-{VERSION}-{case}",
        lambda: pad_tflite(kind, dtype, quant, list(shape), [list(p) for p in pairs],
                           PADV2_VALUES[type_name], value_quant),
    )
    assert_bit_exact(path, samples=5)


@pytest.mark.parametrize("type_name", ["int8", "int16", "int32", "float32"])
def test_padv2_computed_value_matches_tflm(type_name):
    """constant_values a graph input: the kernel reads the value at run time, as TFLM does."""
    dtype, quant = PAD_TYPES[type_name]
    shape, pairs = PAD_CASES[0]
    path = cached_model(
        f"elementwise-padv2-input-{VERSION}-{type_name}",
        lambda: pad_tflite("PADV2", dtype, quant, list(shape), [list(p) for p in pairs],
                           value_quant=quant, value_input=True),
    )
    x = (np.arange(int(np.prod(shape))) % 100 - 50).astype(dtype).reshape(shape)
    for value in (PADV2_VALUES[type_name], 0, 1):
        (got,), (expected,) = run_both(path, [x, np.array(value, dtype)])
        assert_same_bytes(got, expected, dtype)
        assert np.frombuffer(expected, dtype)[0] == value


# --- what TFLM refuses, tinyc refuses: the interpreter is asked too ---


def _tflm_refuses(path, inputs: list[np.ndarray]) -> bool:
    try:
        tflm_runner(path, 1)(inputs)
    except Exception:  # noqa: BLE001 -- the interpreter raises RuntimeError, or others
        return True
    return False


def _refused_models():
    i16, i32 = np.int16, np.int32
    pads = [[0, 0], [1, 1]]
    return {
        "mul int16 input zero point 3": (
            wide_binary_tflite("MUL", i16, [4], (0.01, 3), [4], (0.01, 0), [4], (0.01, 0)),
            r"op 0 \(MUL\): tensor 0 \('x1'\) has zero point 3",
        ),
        "mul int16 output zero point -1": (
            wide_binary_tflite("MUL", i16, [4], (0.01, 0), [4], (0.01, 0), [4], (0.01, -1)),
            r"op 0 \(MUL\): tensor 2 \('y'\) has zero point -1",
        ),
        "add int32 quantized input": (
            wide_binary_tflite("ADD", i32, [4], (1.0, 0), [4], None, [4], None),
            r"op 0 \(ADD\): tensor 0 \('x1'\) is a quantized int32 tensor",
        ),
        "sub int32 quantized output": (
            wide_binary_tflite("SUB", i32, [4], None, [4], None, [4], (1.0, 0)),
            r"op 0 \(SUB\): tensor 2 \('y'\) is a quantized int32 tensor",
        ),
        "add int64": (
            wide_binary_tflite("ADD", np.int64, [4], None, [4], None, [4], None),
            r"op 0 \(ADD\): tensor types int64/int64/int64 are not supported",
        ),
        "mul int64": (
            wide_binary_tflite("MUL", np.int64, [4], None, [4], None, [4], None),
            r"op 0 \(MUL\): tensor types int64",
        ),
        "sub uint8": (
            wide_binary_tflite("SUB", np.uint8, [4], (0.1, 128), [4], (0.1, 128), [4], (0.1, 128)),
            r"op 0 \(SUB\): tensor types uint8",
        ),
        "concat uint8": (
            concat_tflite(np.uint8, lambda i: (0.1, 128), [[1, 2], [1, 3]], 1),
            r"op 0 \(CONCATENATION\): tensor 0 \('t0'\) has type uint8",
        ),
        "concat int16 zero point": (
            concat_tflite(i16, lambda i: (0.1, i), [[1, 2], [1, 3]], 1),
            r"op 0 \(CONCATENATION\): tensor 1 \('t1'\) has zero point 1",
        ),
        "concat int8 two scales": (
            concat_tflite(np.int8, lambda i: (0.1 * (i + 1), 0), [[1, 2], [1, 3]], 1),
            r"op 0 \(CONCATENATION\): input tensor 1 \('t1'\) has scale 0.2",
        ),
        "pad int64": (
            pad_tflite("PAD", np.int64, None, [1, 4], pads),
            r"op 0 \(PAD\): tensor 0 \('t0'\) has type int64",
        ),
        "pad bool": (
            pad_tflite("PAD", np.bool_, None, [1, 4], pads),
            r"op 0 \(PAD\): tensor 0 \('t0'\) has type bool",
        ),
        "padv2 uint8": (
            pad_tflite("PADV2", np.uint8, (0.1, 3), [1, 4], pads, 3, (0.1, 3)),
            r"op 0 \(PADV2\): tensor 0 \('t0'\) has type uint8",
        ),
        "padv2 int8 value of another scale": (
            pad_tflite("PADV2", np.int8, (0.1, 3), [1, 4], pads, 3, (0.2, 3)),
            r"op 0 \(PADV2\): constant_values must have the output's quantization",
        ),
    }


REFUSED = _refused_models()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_tflm_refuses_tinyc_refuses(name, tmp_path):
    model, message = REFUSED[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    graph = read_model(path)
    inputs = [np.zeros(graph.tensor(t).shape, DTYPES[graph.tensor(t).dtype][0])
              for t in graph.inputs]
    assert _tflm_refuses(path, inputs), f"{name}: TFLM runs this model"
    with pytest.raises(UnsupportedError, match=message):
        compile_model(path, "m")


@pytest.mark.slow
def test_the_16x8_converters_padv2_is_refused_by_both():
    """The 16x8 converter writes PADV2's constant_values as float32 next to int16 data, which
    TFLM's Prepare refuses (input and constant_values types differ): so does tinyc."""
    path = keras_int8_model(
        "padv2_constant",
        [(4, 4, 3)],
        lambda tf, x: tf.keras.ops.pad(x, [[0, 0], [1, 1], [2, 0], [0, 1]], constant_values=0.5),
        mode="16x8",
    )
    graph, op = the_op(path, "PADV2")
    assert graph.tensor(op.inputs[2]).dtype == "float32"
    assert _tflm_refuses(path, [np.zeros((1, 4, 4, 3), np.int16)])
    with pytest.raises(UnsupportedError, match=r"constant_values .* has type float32"):
        compile_model(path, "m")


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


def plain(shape, dtype: str) -> Tensor:
    """An unquantized activation."""
    return Tensor(0, "t", tuple(shape), dtype)


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
    "add int16 to int8": (
        one_op_graph(
            "ADD",
            [act((4,), dtype="int16"), act((4,), dtype="int16")],
            act((4,), dtype="int8"),
            **NONE,
        ),
        r"op 0 \(ADD\): tensor types int16/int16/int8 are not supported",
    ),
    "mul float32 times int32": (
        one_op_graph(
            "MUL",
            [plain((4,), "float32"), plain((4,), "int32")],
            plain((4,), "float32"),
            **NONE,
        ),
        r"tensor types float32/int32/float32 are not supported",
    ),
    "sub int64": (
        one_op_graph(
            "SUB",
            [plain((4,), "int64"), plain((4,), "int64")],
            plain((4,), "int64"),
            **NONE,
        ),
        r"tensor types int64/int64/int64 are not supported \(one of int8, int16, int32, float32",
    ),
    "mul int16 nonzero zero point": (
        one_op_graph(
            "MUL",
            [act((4,), q(0.01, 0), "int16"), act((4,), q(0.01, 3), "int16")],
            act((4,), q(0.01, 0), "int16"),
            **NONE,
        ),
        r"op 0 \(MUL\): tensor 1 \('t'\) has zero point 3: TFLM requires int16 zero points of 0",
    ),
    "add int16 output scale too small": (
        one_op_graph(
            "ADD",
            [act((4,), q(0.01), "int16"), act((4,), q(0.01), "int16")],
            act((4,), q(0.01 / 20000), "int16"),
            **NONE,
        ),
        r"output rescale factor .* is outside \(0, 1\)",
    ),
    "add int32 quantized input": (
        one_op_graph(
            "ADD", [act((4,), q(1.0), "int32"), plain((4,), "int32")], plain((4,), "int32"),
            **NONE,
        ),
        r"op 0 \(ADD\): tensor 0 \('t'\) is a quantized int32 tensor",
    ),
    "sub int32 quantized output": (
        one_op_graph(
            "SUB", [plain((4,), "int32"), plain((4,), "int32")], act((4,), q(1.0), "int32"),
            **NONE,
        ),
        r"op 0 \(SUB\): tensor 2 \('t'\) is a quantized int32 tensor",
    ),
    "add float32 fused tanh": (
        one_op_graph(
            "ADD",
            [plain((4,), "float32"), plain((4,), "float32")],
            plain((4,), "float32"),
            fused_activation_function="TANH",
        ),
        r"fused_activation_function=TANH is not supported",
    ),
    "add int16 per-channel": (
        one_op_graph(
            "ADD",
            [act((1, 2), QuantParams((0.1, 0.2), (0, 0), 1), "int16"), act((1, 2), q(), "int16")],
            act((1, 2), q(), "int16"),
            **NONE,
        ),
        r"has per-channel quantization",
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
    "concat uint8": (
        one_op_graph(
            "CONCATENATION",
            [act((1, 2), q(0.1, 128), "uint8"), act((1, 3), q(0.1, 128), "uint8")],
            act((1, 5), q(0.1, 128), "uint8"),
            axis=1,
            **NONE,
        ),
        r"op 0 \(CONCATENATION\): tensor 0 \('t'\) has type uint8 \(TFLM concatenates bool, "
        r"float32, int16, int32, int64, int8\)",
    ),
    "concat mixed types": (
        one_op_graph(
            "CONCATENATION",
            [plain((2,), "int32"), plain((3,), "float32")],
            plain((5,), "int32"),
            axis=0,
            **NONE,
        ),
        r"tensor 1 \('t'\) has type float32, the first input int32 \(TFLM requires one type\)",
    ),
    "concat int16 nonzero zero point": (
        one_op_graph(
            "CONCATENATION",
            [act((1, 2), q(0.1, 0), "int16"), act((1, 3), q(0.1, 0), "int16")],
            act((1, 5), q(0.1, 5), "int16"),
            axis=1,
            **NONE,
        ),
        r"tensor 2 \('t'\) has zero point 5: TFLM requires int16 zero points of 0",
    ),
    "concat float32 fused relu": (
        one_op_graph(
            "CONCATENATION",
            [plain((1, 2), "float32"), plain((1, 3), "float32")],
            plain((1, 5), "float32"),
            axis=1,
            fused_activation_function="RELU",
        ),
        r"fused_activation_function=RELU is not supported",
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
    "pad int64": (
        one_op_graph(
            "PAD", [plain((1, 4), "int64"), const([[0, 0], [1, 1]])], plain((1, 6), "int64")
        ),
        r"op 0 \(PAD\): tensor 0 \('t'\) has type int64 \(TFLM pads int8, int16, int32, "
        r"float32\)",
    ),
    "pad float32 to int32": (
        one_op_graph(
            "PAD",
            [plain((1, 4), "float32"), const([[0, 0], [1, 1]])],
            plain((1, 6), "int32"),
        ),
        r"tensor types float32/int32 differ",
    ),
    "padv2 int16 with a float32 value (the 16x8 converter's)": (
        one_op_graph(
            "PADV2",
            [act((1, 4), q(0.1), "int16"), const([[0, 0], [1, 1]]), const(0.5, "float32")],
            act((1, 6), q(0.1), "int16"),
        ),
        r"op 0 \(PADV2\): constant_values tensor 2 \('c'\) has type float32 and 1 element\(s\): "
        r"TFLM requires one int16 value",
    ),
    "padv2 float32 value of two elements": (
        one_op_graph(
            "PADV2",
            [plain((1, 4), "float32"), const([[0, 0], [1, 1]]), const([0.5, 1], "float32")],
            plain((1, 6), "float32"),
        ),
        r"has type float32 and 2 element\(s\)",
    ),
    "padv2 constant with another scale": (
        one_op_graph(
            "PADV2", [act((1, 4)), const([[0, 0], [1, 1]]), const(3, "int8", q(0.1))], act((1, 6))
        ),
        r"op 0 \(PADV2\): constant_values must have the output's quantization",
    ),
    "padv2 computed value with another zero point": (
        one_op_graph("PADV2", [act((1, 4)), const([[0, 0], [1, 1]]), act((), q(0.05, 1))],
                     act((1, 6))),
        r"constant_values must have the output's quantization",
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


def test_padv2_value_and_pad_zero_point_reach_the_kernel():
    from tinyc.ops import ArrayArg, TensorArg

    graph = one_op_graph(
        "PADV2",
        [act((1, 4), q(0.05, 9)), const([[0, 0], [1, 1]]), const(-3, "int8", q(0.05, 9))],
        act((1, 6), q(0.05, 9)),
    )
    call = lower_one(graph)
    assert call.args[1] == TensorArg(2) and not call.arrays  # the constant_values tensor itself
    graph = one_op_graph(
        "PAD", [act((1, 4), q(0.05, 9)), const([[0, 0], [1, 1]])], act((1, 6), q(0.05, -17))
    )
    call = lower_one(graph)
    assert call.args[1] == ArrayArg("pad_value")
    assert call.arrays[0].ctype == "int8_t" and call.arrays[0].values.tolist() == [-17]
    # int16 pads with 0, not the output zero point (pad.cc)
    graph = one_op_graph(
        "PAD", [act((1, 4), q(0.05, 9), "int16"), const([[0, 0], [1, 1]])],
        act((1, 6), q(0.05, 9), "int16"),
    )
    assert lower_one(graph).arrays[0].values.tolist() == [0]


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
        "-mfloat-abi=hard",
        "-mfpu=fpv4-sp-d16",
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


def all_kernels_model() -> bytes:
    """One model calling every kernel of add.h, mul.h, concatenation.h and pad.h but the int8
    ones: int16, float32 and int32 ADD/SUB/MUL (broadcast), CONCATENATION of every width, PAD
    and PADV2 of every width."""
    from ai_edge_litert import schema_py_generated as s

    def fused(kind, activation="NONE"):
        return {"fusedActivationFunction": getattr(s.ActivationFunctionType, activation)}

    pads4 = TensorSpec([4, 2], np.int32, data=[[0, 0], [1, 0], [0, 2], [1, 1]])
    pads2 = TensorSpec([2, 2], np.int32, data=[[1, 2], [0, 1]])
    tensors = [
        # int16: 0 a, 1 b, 2 a+b, 3 a-b, 4 a*b, 5 concat, 6 pad (output)
        TensorSpec([1, 4, 4, 3], np.int16, (0.001, 0)),
        TensorSpec([1, 1, 1, 3], np.int16, (0.002, 0)),
        TensorSpec([1, 4, 4, 3], np.int16, (0.003, 0)),
        TensorSpec([1, 4, 4, 3], np.int16, (0.003, 0)),
        TensorSpec([1, 4, 4, 3], np.int16, (0.0005, 0)),
        TensorSpec([1, 4, 4, 9], np.int16, (0.003, 0)),
        TensorSpec([1, 5, 6, 11], np.int16, (0.003, 0)),
        # float32: 7 a, 8 b, 9 a+b, 10 a-b, 11 a*b, 12 concat, 13 padv2 value, 14 padv2 (output)
        TensorSpec([1, 4, 4, 3], np.float32),
        TensorSpec([3], np.float32, data=[0.5, -1.25, 2.0]),
        TensorSpec([1, 4, 4, 3], np.float32),
        TensorSpec([1, 4, 4, 3], np.float32),
        TensorSpec([1, 4, 4, 3], np.float32),
        TensorSpec([1, 12, 4, 3], np.float32),
        TensorSpec([], np.float32, data=-1.5),
        TensorSpec([1, 13, 6, 5], np.float32),
        # int32: 15 a, 16 b, 17 a+b, 18 a-b, 19 a*b, 20 concat, 21 pad (output)
        TensorSpec([2, 3], np.int32),
        TensorSpec([2, 1], np.int32),
        TensorSpec([2, 3], np.int32),
        TensorSpec([2, 3], np.int32),
        TensorSpec([2, 3], np.int32),
        TensorSpec([6, 3], np.int32),
        TensorSpec([9, 4], np.int32),
        # int64: 22, 23 -> 24; bool: 25, 26 -> 27 (outputs)
        TensorSpec([2, 3], np.int64),
        TensorSpec([2, 1], np.int64),
        TensorSpec([2, 4], np.int64),
        TensorSpec([3, 2], np.bool_),
        TensorSpec([3, 1], np.bool_),
        TensorSpec([3, 3], np.bool_),
        # paddings: 28 rank 4, 29 rank 2
        pads4,
        pads2,
    ]
    concat = {"axis": -1, **fused("CONCATENATION")}
    operators = [
        OperatorSpec("ADD", [0, 1], [2], "AddOptions", fused("ADD", "RELU")),
        OperatorSpec("SUB", [0, 1], [3], "SubOptions", fused("SUB")),
        OperatorSpec("MUL", [0, 1], [4], "MulOptions", fused("MUL", "RELU_N1_TO_1")),
        OperatorSpec("CONCATENATION", [2, 3, 4], [5], "ConcatenationOptions", concat),
        OperatorSpec("PAD", [5, 28], [6], "PadOptions"),
        OperatorSpec("ADD", [7, 8], [9], "AddOptions", fused("ADD", "RELU6")),
        OperatorSpec("SUB", [7, 8], [10], "SubOptions", fused("SUB")),
        OperatorSpec("MUL", [7, 8], [11], "MulOptions", fused("MUL", "RELU")),
        OperatorSpec("CONCATENATION", [9, 10, 11], [12], "ConcatenationOptions",
                     {**concat, "axis": 1}),
        OperatorSpec("PADV2", [12, 28, 13], [14], "PadV2Options"),
        OperatorSpec("ADD", [15, 16], [17], "AddOptions", fused("ADD")),
        OperatorSpec("SUB", [15, 16], [18], "SubOptions", fused("SUB", "RELU")),
        OperatorSpec("MUL", [15, 16], [19], "MulOptions", fused("MUL")),
        OperatorSpec("CONCATENATION", [17, 18, 19], [20], "ConcatenationOptions",
                     {**concat, "axis": 0}),
        OperatorSpec("PAD", [20, 29], [21], "PadOptions"),
        OperatorSpec("CONCATENATION", [22, 23], [24], "ConcatenationOptions", concat),
        OperatorSpec("CONCATENATION", [25, 26], [27], "ConcatenationOptions", concat),
    ]
    return tflite_model(tensors, operators, [0, 1, 7, 15, 16, 22, 23, 25, 26], [6, 14, 21, 24, 27])


def all_kernels_path():
    return cached_model(f"elementwise-all-kernels-{VERSION}", all_kernels_model)


def test_all_kernels_model_is_bit_exact_with_tflm():
    kinds = {op.kind + ":" + graph_dtype for op, graph_dtype in (
        (op, read_model(all_kernels_path()).tensor(op.outputs[0]).dtype)
        for op in read_model(all_kernels_path()).ops)}
    assert {"ADD:int16", "MUL:float32", "PAD:int32", "CONCATENATION:bool"} <= kinds, kinds
    assert_bit_exact(all_kernels_path(), samples=20)


BUILD_MODELS = {
    "int8-keras": pytest.param(lambda: combined_model(), marks=pytest.mark.slow, id="int8-keras"),
    "all-kernels": pytest.param(lambda: all_kernels_path(), id="all-kernels"),
}


@pytest.mark.parametrize("model", list(BUILD_MODELS.values()))
@pytest.mark.parametrize("toolchain", sorted(TOOLCHAINS))
def test_generated_code_compiles_clean(toolchain, model, tmp_path):
    import shutil
    import subprocess

    from tinyc import compile_to_folder

    command = TOOLCHAINS[toolchain]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    folder = tmp_path / "gen"
    compile_to_folder(model(), folder, name="combined")
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
