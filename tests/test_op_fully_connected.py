"""FULLY_CONNECTED: bit-exact with TFLM's reference kernels.

A grid of single-layer Keras Dense models converted by the TF converter covers the kernel's
row groups (4, 2 and 1 filter rows) and chunk tails (accum depth 1, 3, 5, 17, 640; output depth
1, 3, 7, 128), several batch rows (Dense on [1, rows, depth]: keep_num_dims), fused
activations, bias or none, per-channel weights (TF 2.21's default for Dense) and per-tensor
weights, int8 and float input/output, and float32 models. Inputs are calibrated on an
asymmetric range, so the input zero point is not 0 and the kernel's folding of it into the bias
is exercised. Each model is compared with the TFLM interpreter on random inputs over the whole
int8 range (float inputs: over the range the model quantizes them to).

The hosts running these tests take the portable C path of the kernel; on cores with the Arm DSP
extension it uses SXTB16/SMLAD instead, which `test_cortex_m4_dsp_path_is_bit_exact` checks on
an emulated Cortex-M4 (skipped when the Arm toolchain or QEMU is missing).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tinyc.errors import UnsupportedError
from tinyc.lower import lower
from tinyc.ops.fully_connected import group_rows
from tinyc.read_tflite import read_model
from tinyc.verify.compare import tflm_runner

from conftest import SHARED_MODELS, assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from tflite_builders import single_layer_model

SAMPLES = 20
LOW, HIGH = -0.4, 1.2  # calibration range: input zero point about -64


def dense(tf, units, activation=None, use_bias=True):
    return tf.keras.layers.Dense(
        units, activation=activation, use_bias=use_bias,
        bias_initializer=tf.keras.initializers.RandomUniform(-0.5, 0.5))


def clip_n1_to_1(tf, layer):
    """A Dense layer followed by a clip to [-1, 1]: the converter fuses it as RELU_N1_TO_1."""
    return lambda x: tf.keras.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(layer(x))


# name -> (input shape without batch, layer factory, converter mode, per-tensor weights).
# Names say what each model adds to the grid: k = accum depth, n = output depth.
MODELS = {
    "k640-n128-relu": ((640,), lambda tf: dense(tf, 128, "relu"), "int8", False),
    "k1-n16-relu": ((1,), lambda tf: dense(tf, 16, "relu"), "int8", False),
    "k3-n7": ((3,), lambda tf: dense(tf, 7), "int8", False),
    "k5-n3": ((5,), lambda tf: dense(tf, 3), "int8", False),
    "k5-n8-relu6": ((5,), lambda tf: dense(tf, 8, "relu6"), "int8", False),
    "k17-n1": ((17,), lambda tf: dense(tf, 1), "int8", False),
    "k17-n128-nobias": ((17,), lambda tf: dense(tf, 128, use_bias=False), "int8", False),
    "k64-n12-relu-n1-to-1": ((64,), lambda tf: clip_n1_to_1(tf, dense(tf, 12)), "int8", False),
    "k256-n2": ((256,), lambda tf: dense(tf, 2), "int8", False),
    "k9-n9-relu": ((9,), lambda tf: dense(tf, 9, "relu"), "int8", False),
    "batch4-k6-n5": ((4, 6), lambda tf: dense(tf, 5), "int8", False),
    "batch3-k10-n7-relu": ((3, 10), lambda tf: dense(tf, 7, "relu"), "int8", False),
    "batch5-k17-n4-nobias": ((5, 17), lambda tf: dense(tf, 4, use_bias=False), "int8", False),
    "per-tensor-k640-n128-relu": ((640,), lambda tf: dense(tf, 128, "relu"), "int8", True),
    "per-tensor-k3-n7": ((3,), lambda tf: dense(tf, 7), "int8", True),
    "per-tensor-k5-n1-relu6": ((5,), lambda tf: dense(tf, 1, "relu6"), "int8", True),
    "per-tensor-k33-n6-relu-n1-to-1": ((33,), lambda tf: clip_n1_to_1(tf, dense(tf, 6)), "int8",
                                       True),
    "per-tensor-batch3-k10-n7": ((3, 10), lambda tf: dense(tf, 7), "int8", True),
    "per-tensor-k24-n10-nobias": ((24,), lambda tf: dense(tf, 10, use_bias=False), "int8", True),
    "float-io-k10-n6-relu": ((10,), lambda tf: dense(tf, 6, "relu"), "int8_float_io", False),
    "float-io-batch3-k7-n5": ((3, 7), lambda tf: dense(tf, 5), "int8_float_io", False),
    "float32-k10-n6-relu6": ((10,), lambda tf: dense(tf, 6, "relu6"), "float", False),
    "float32-batch3-k9-n5": ((3, 9), lambda tf: dense(tf, 5), "float", False),
}


def per_tensor_model(key: str, shape: tuple[int, ...], make) -> Path:
    """Like single_layer_model, with per-channel quantization of Dense layers turned off."""
    flag = "_experimental_disable_per_channel_quantization_for_dense_layers"
    return single_layer_model(f"fc-{key}-per-tensor", shape, lambda tf, x: make(tf)(x), low=LOW,
                              high=HIGH, flags={flag: True})


def grid_model(name: str) -> Path:
    shape, make, mode, per_tensor = MODELS[name]
    if per_tensor:
        return per_tensor_model(name, shape, make)
    return single_layer_model(f"fc-{name}", shape, lambda tf, x: make(tf)(x), mode=mode,
                              low=LOW, high=HIGH)


def fc_op(graph):
    (op,) = [op for op in graph.ops if op.kind == "FULLY_CONNECTED"]
    return op


def assert_varied_outputs(path: Path, runs: int = 4) -> None:
    """Guard against a vacuous comparison: TFLM's outputs must not be (nearly) constant."""
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    rng = np.random.default_rng(3)
    if x.dtype == "int8":
        samples = [rng.integers(-128, 127, x.shape, endpoint=True, dtype=np.int8)
                   for _ in range(runs)]
    else:
        samples = [rng.uniform(LOW, HIGH, x.shape).astype(np.float32) for _ in range(runs)]
    run = tflm_runner(path, 1)
    values = np.concatenate([np.asarray(run([s])[0]).reshape(-1) for s in samples])
    assert len(np.unique(values)) >= min(8, values.size // 2), f"{path.name}: too few values"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fully_connected(name):
    path = grid_model(name)
    assert_bit_exact(path, SAMPLES)
    assert_varied_outputs(path)


def test_grid_exercises_what_it_claims():
    """The converter keeps what the grid varies: weights, bias, shapes, activations, types."""
    seen = {"per_channel": set(), "bias": set(), "activation": set(), "batches": set(),
            "accum": set(), "output": set(), "kinds": set(), "zero_points": set()}
    for name, (_, _, mode, per_tensor) in MODELS.items():
        graph = read_model(grid_model(name))
        op = fc_op(graph)
        w = graph.tensor(op.inputs[1])
        x = graph.tensor(op.inputs[0])
        params = dict(next(c for c in lower(graph).calls if c.op.index == op.index).params)
        seen["kinds"].add(tuple(o.kind for o in graph.ops))
        seen["batches"].add(params["batches"])
        seen["accum"].add(params["accum_depth"])
        seen["output"].add(params["output_depth"])
        seen["activation"].add(op.options["fused_activation_function"])
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        seen["bias"].add(has_bias)
        if "nobias" in name:
            assert not has_bias or not graph.tensor(op.inputs[2]).data.any(), name
        if mode != "float":  # one output channel: one scale either way
            assert w.quant.per_channel == (not per_tensor and w.shape[0] > 1), name
            seen["per_channel"].add(w.quant.per_channel)
            seen["zero_points"].add(x.zero_point)
    assert seen["per_channel"] == {True, False}
    assert seen["activation"] == {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}
    assert {1, 3, 4, 5} <= seen["batches"]
    assert {1, 3, 5, 17, 640} <= seen["accum"]
    assert {1, 3, 7, 128} <= seen["output"]
    assert 0 not in seen["zero_points"]
    assert {("FULLY_CONNECTED",), ("QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE")} <= seen["kinds"]


def test_batch_input_keeps_its_rows():
    """Dense on a [1, rows, depth] input is one FULLY_CONNECTED over the rows (keep_num_dims)."""
    graph = read_model(grid_model("batch3-k10-n7-relu"))
    op = fc_op(graph)
    assert graph.tensor(op.inputs[0]).shape == (1, 3, 10)
    assert graph.tensor(op.outputs[0]).shape == (1, 3, 7)
    assert op.options["keep_num_dims"]


def test_group_rows_layout():
    matrix = np.arange(7 * 6, dtype=np.int8).reshape(7, 6)  # rows 0..6, k = 6
    r = matrix
    quad = np.concatenate([r[0, :4], r[1, :4], r[2, :4], r[3, :4],
                           r[0, 4:], r[1, 4:], r[2, 4:], r[3, 4:]])
    pair = np.concatenate([r[4, :4], r[5, :4], r[4, 4:], r[5, 4:]])
    expected = np.concatenate([quad, pair, r[6]])
    assert group_rows(matrix).tolist() == expected.tolist()
    eight = np.arange(8 * 8, dtype=np.int8).reshape(8, 8)  # two groups of 4, no tails
    assert group_rows(eight)[:16].tolist() == [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19,
                                               24, 25, 26, 27]
    assert group_rows(eight)[32:48].tolist() == (eight[4:, :4].reshape(-1)).tolist()


# --- unsupported options: clear errors naming the op and the option ---


def changed(graph, op, tensor: int | None = None, **changes):
    """The graph with op's options or one of its tensors changed."""
    if tensor is None:
        return graph.replace(ops=(op.replace(options={**op.options, **changes}),))
    tensors = list(graph.tensors)
    tensors[tensor] = tensors[tensor].replace(**changes)
    return graph.replace(tensors=tuple(tensors))


UNSUPPORTED = {
    "activation": (lambda g, op: changed(g, op, fused_activation_function="TANH"),
                   "fused_activation_function=TANH"),
    "shuffled-weights": (lambda g, op: changed(g, op, weights_format=1), "weights_format"),
    "non-constant-weights": (lambda g, op: changed(g, op, op.inputs[1], data=None),
                             "weights must be constant"),
    "weight-zero-point": (lambda g, op: changed(g, op, op.inputs[1], quant=dataclasses.replace(
        g.tensor(op.inputs[1]).quant, zero_point=(1,) * 7)), "non-zero zero point"),
    "int16-activations": (lambda g, op: changed(changed(g, op, op.inputs[0], dtype="int16"), op,
                                                op.outputs[0], dtype="int16"), "int16"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_option_is_named(case):
    change, expected = UNSUPPORTED[case]
    graph = read_model(grid_model("k3-n7"))
    with pytest.raises(UnsupportedError) as info:
        lower(change(graph, graph.ops[0]))
    message = str(info.value)
    assert "op 0 (FULLY_CONNECTED)" in message and expected in message, message


# --- the Arm DSP path (SXTB16/SMLAD), on an emulated Cortex-M4 ---

DSP_MODELS = ["k640-n128-relu", "k3-n7", "k17-n128-nobias", "k9-n9-relu", "batch3-k10-n7-relu",
              "batch5-k17-n4-nobias", "per-tensor-k640-n128-relu", "per-tensor-batch3-k10-n7",
              "k256-n2"]
@needs_m4
@pytest.mark.parametrize("name", DSP_MODELS)
def test_cortex_m4_dsp_path_is_bit_exact(name, tmp_path):
    assert_bit_exact_on_m4(grid_model(name), tmp_path)


@needs_m4
@pytest.mark.parametrize("opt", ["Os", "O2"])
def test_cortex_m4_dsp_path_on_a_real_model(opt, tmp_path):
    """ad01: ten FULLY_CONNECTED layers, accum depth 8 to 640, output depth 8 to 640."""
    assert_bit_exact_on_m4(SHARED_MODELS / "ad01_int8.tflite", tmp_path, opt)
