"""FULLY_CONNECTED: bit-exact with TFLM's reference kernels.

int8 and float32: a grid of single-layer Keras Dense models converted by the TF converter covers
the kernel's row groups (4, 2 and 1 filter rows) and chunk tails (accum depth 1, 3, 5, 17, 640;
output depth 1, 3, 7, 128), several batch rows (Dense on [1, rows, depth]: keep_num_dims), fused
activations, bias or none, per-channel weights (TF 2.21's default for Dense) and per-tensor
weights, int8 and float input/output, and float32 models. Inputs are calibrated on an
asymmetric range, so the input zero point is not 0 and the kernel's folding of it into the bias
is exercised. Each model is compared with the TFLM interpreter on random inputs over the whole
int8 range (float inputs: over the range the model quantizes them to). Flatbuffer models add
rank-3/4 inputs with and without keep_num_dims for float32, int8 and int16.

16x8 (int16 activations, int8 weights; runtime/fully_connected_s16.h): a grid of flatbuffer
models (`Fc16`, `S16_MODELS`) over accum depths with every k % 8, output depths using every row
group, batches, per-tensor and per-channel weights, int64, int32 and no bias (with either
quantized_bias_type), activations, non-zero int16 zero points, rank-3/4 inputs, keep_num_dims,
and the _wide kernel (accumulators that may leave int32) on random inputs; inputs chosen to
drive accumulators past int32 (and TFLM's int32 accumulator around); Keras dense nets converted
in 16x8 mode; refusals TFLM shares (uint8, bias scale, int16 bias, rescale and 2^47 limits).

The hosts running these tests take the portable C path of the kernels; on cores with the Arm
DSP extension they use SXTB16/SMLAD instead, which the `test_cortex_m4_*` tests check on an
emulated Cortex-M4 (skipped when the Arm toolchain or QEMU is missing).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_model, compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.lower import lower
from tinyc.ops.fully_connected import group_rows, pair_order
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conftest import M4BENCH, SHARED_MODELS, assert_bit_exact, assert_bit_exact_on_m4, needs_m4
from flatbuffer_models import TensorSpec, pack, single_op_tflite
from tflite_builders import cached_model, single_layer_model

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
    "int16-weights": (lambda g, op: changed(changed(changed(g, op, op.inputs[0], dtype="int16"),
                                                    op, op.outputs[0], dtype="int16"),
                                            op, op.inputs[1], dtype="int16"),
                      "tensor types int16/int16/int32/int16"),
    "output-depth": (lambda g, op: changed(g, op, op.outputs[0], shape=(7, 1)),
                     "does not end in the weights' 7 rows"),
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


# --- 16x8: int16 activations, int8 weights (runtime/fully_connected_s16.h) ---

ACTIVATION_CODES = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
TENSOR_TYPE_INT32, TENSOR_TYPE_INT64 = 2, 4  # schema TensorType: FC's quantized_bias_type
INPUT_SCALE = 1 / 32768  # int16 inputs cover [-1, 1)
INT16 = np.iinfo(np.int16)


@dataclasses.dataclass(frozen=True)
class Fc16:
    """A single FULLY_CONNECTED flatbuffer model, 16x8 unless `dtype` says otherwise.

    The output scale puts the accumulators' spread (for inputs uniform over int16) at about
    `out_reach` output steps, so the outputs vary and some saturate; the bias is uniform within
    half that spread, plus `bias_offset` (large: an accumulator beyond int32)."""

    in_shape: tuple[int, ...]
    units: int
    per_channel: bool = True
    bias: str | None = "int64"  # its type; None: no bias tensor
    quantized_bias_type: int = 0  # FullyConnectedOptions field (TFLM reads it without a bias)
    activation: str = "NONE"
    keep_num_dims: bool = False
    zero_points: tuple[int, int] = (0, 0)  # input, output
    bias_offset: float = 0.0
    out_reach: float = 6000.0
    accum: int | None = None  # accum depth; default: the input's last dimension
    dtype: str = "int16"  # activations: "int16", "int8" or "float32"
    seed: int = 0

    @property
    def accum_depth(self) -> int:
        return self.accum or self.in_shape[-1]

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.keep_num_dims:
            return (*self.in_shape[:-1], self.units)
        return (int(np.prod(self.in_shape)) // self.accum_depth, self.units)

    def weights(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return rng.integers(-127, 127, (self.units, self.accum_depth), endpoint=True,
                            dtype=np.int8)

    def tflite(self) -> bytes:
        rng = np.random.default_rng(self.seed + 1000)
        w = self.weights()
        k = self.accum_depth
        act = np.dtype(self.dtype)
        if self.dtype == "float32":
            tensors = [TensorSpec(self.in_shape, act),
                       TensorSpec(w.shape, np.float32, data=w.astype(np.float32) / 127)]
            if self.bias:
                tensors.append(TensorSpec((self.units,), np.float32,
                                          data=rng.uniform(-2, 2, self.units)))
            tensors.append(TensorSpec(self.out_shape, act))
        else:
            reach = 32768 if self.dtype == "int16" else 128
            x_scale = 1 / reach
            w_scales = rng.uniform(0.5, 2.0, self.units) / 100 if self.per_channel else [0.01]
            spread = np.sqrt(k) * 73.3 * reach / np.sqrt(3)  # of the accumulator
            out_reach = self.out_reach if self.dtype == "int16" else 24
            y_scale = spread * x_scale * float(np.mean(w_scales)) / out_reach
            w_quant = ((list(w_scales), [0] * self.units) if self.per_channel
                       else (w_scales[0], 0))
            tensors = [TensorSpec(self.in_shape, act, (x_scale, self.zero_points[0])),
                       TensorSpec(w.shape, np.int8, w_quant, data=w)]
            if self.bias:
                values = rng.uniform(-0.5, 0.5, self.units) * spread + self.bias_offset
                b_scales = [x_scale * s for s in w_scales]
                tensors.append(TensorSpec(
                    (self.units,), np.dtype(self.bias), (b_scales, [0] * len(b_scales)),
                    data=np.round(values).astype(self.bias)))
            tensors.append(TensorSpec(self.out_shape, act, (y_scale, self.zero_points[1])))
        return single_op_tflite(
            "FULLY_CONNECTED", tensors, [0], [len(tensors) - 1], "FullyConnectedOptions",
            fusedActivationFunction=ACTIVATION_CODES[self.activation],
            keepNumDims=self.keep_num_dims, quantizedBiasType=self.quantized_bias_type)

    def path(self, root: Path) -> Path:
        path = root / f"fc-{hashlib.sha256(repr(self).encode()).hexdigest()[:16]}.tflite"
        path.write_bytes(self.tflite())
        return path


# name -> model. k: accum depth (tails k % 4 = 1, 2, 3 and none; chunks k % 8 = 4 or not),
# n: output depth (row groups of 4, 2 and 1).
S16_MODELS = {
    "k1-n1": Fc16((1, 1), 1),
    "k3-n7-relu": Fc16((1, 3), 7, activation="RELU"),
    "k5-n2": Fc16((1, 5), 2),
    "k6-n3-relu6": Fc16((1, 6), 3, activation="RELU6"),
    "k8-n4-relu-n1-to-1": Fc16((1, 8), 4, activation="RELU_N1_TO_1"),
    "k12-n5": Fc16((1, 12), 5),
    "k17-n9-nobias": Fc16((1, 17), 9, bias=None),
    "k64-n16-relu": Fc16((1, 64), 16, activation="RELU"),
    "k250-n13": Fc16((1, 250), 13),
    "k640-n32": Fc16((1, 640), 32),
    "per-tensor-k10-n6": Fc16((1, 10), 6, per_channel=False),
    "per-tensor-k33-n7-relu": Fc16((1, 33), 7, per_channel=False, activation="RELU"),
    "per-tensor-k9-n4-nobias": Fc16((1, 9), 4, per_channel=False, bias=None),
    "batch4-k7-n5": Fc16((4, 7), 5),
    "batch3-k20-n6-per-tensor": Fc16((3, 20), 6, per_channel=False),
    "int32-bias-k10-n6": Fc16((1, 10), 6, bias="int32"),
    "int32-bias-per-tensor-k19-n3": Fc16((2, 19), 3, bias="int32", per_channel=False),
    "int32-bias-k30-n5-relu": Fc16((1, 30), 5, bias="int32", activation="RELU"),
    "nobias-int32-type-k11-n6": Fc16((1, 11), 6, bias=None,
                                     quantized_bias_type=TENSOR_TYPE_INT32),
    "nobias-int64-type-k11-n6": Fc16((1, 11), 6, bias=None,
                                     quantized_bias_type=TENSOR_TYPE_INT64),
    "zero-points-k13-n6-relu": Fc16((2, 13), 6, zero_points=(1234, -2000), activation="RELU"),
    "zero-points-int32-bias-k13-n5": Fc16((1, 13), 5, bias="int32", zero_points=(-700, 300)),
    "rank3-keep-dims-k10-n7": Fc16((2, 3, 10), 7, keep_num_dims=True),
    "rank4-keep-dims-k6-n5-relu": Fc16((1, 2, 3, 6), 5, keep_num_dims=True, activation="RELU"),
    "rank3-flat-k12-n4": Fc16((2, 3, 4), 4, accum=12),
    "rank4-flat-k24-n3": Fc16((2, 2, 3, 4), 3, accum=24),
    "rank3-rows-k4-n6": Fc16((2, 3, 4), 6),
    # accumulators that may leave int32: int64 bias and block sums (the _wide kernel)
    "wide-k1100-n6": Fc16((1, 1100), 6),
    "wide-k1100-n7-int32-bias": Fc16((2, 1100), 7, bias="int32"),
    "wide-big-bias-k40-n5": Fc16((1, 40), 5, bias_offset=2.2e9, out_reach=100,
                                 zero_points=(0, -30000)),
    "wide-k1030-n3-per-tensor-nobias": Fc16((1, 1030), 3, bias=None, per_channel=False),
}
WIDE = {name for name in S16_MODELS if name.startswith("wide")}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fc16")


def s16_call(path: Path):
    graph = read_model(path)
    (call,) = [c for c in lower(graph).calls if c.op.kind == "FULLY_CONNECTED"]
    return graph, call


@pytest.mark.parametrize("name", sorted(S16_MODELS))
def test_16x8(name, model_dir):
    path = S16_MODELS[name].path(model_dir)
    assert_bit_exact(path, SAMPLES)
    assert_varied_outputs_s16(path)


def assert_varied_outputs_s16(path: Path) -> None:
    """Guard against a vacuous comparison: TFLM's outputs must take many values."""
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    runs = max(4, -(-32 // graph.tensor(graph.outputs[0]).size))
    rng = np.random.default_rng(3)
    run = tflm_runner(path, 1)
    values = np.concatenate([
        np.asarray(run([rng.integers(INT16.min, INT16.max, x.shape, endpoint=True,
                                     dtype=np.int16)])[0]).reshape(-1) for _ in range(runs)])
    assert len(np.unique(values)) >= min(8, values.size // 4), f"{path.name}: too few values"


def test_16x8_grid_exercises_what_it_claims(model_dir):
    seen = {key: set() for key in ("function", "acc32", "per_channel", "bias", "activation",
                                   "accum_tail", "rows", "rank", "keep", "batches", "zp")}
    for name, spec in S16_MODELS.items():
        graph, call = s16_call(spec.path(model_dir))
        params = dict(call.params)
        op = call.op
        seen["function"].add(call.function)
        seen["acc32"].add(params["int32_accumulator"])
        seen["per_channel"].add(params["per_channel"])
        seen["bias"].add(graph.tensor(op.inputs[2]).dtype if len(op.inputs) > 2
                         and op.inputs[2] >= 0 else None)
        seen["activation"].add(op.options["fused_activation_function"])
        seen["accum_tail"].add(params["accum_depth"] % 8)
        seen["rows"].update({4 if params["output_depth"] >= 4 else 0,
                             params["output_depth"] % 4})
        seen["rank"].add(len(graph.tensor(op.inputs[0]).shape))
        seen["keep"].add(op.options["keep_num_dims"])
        seen["batches"].add(params["batches"])
        seen["zp"].add(graph.tensor(op.inputs[0]).zero_point != 0)
        assert (call.function == "tinyc_fully_connected_s16_wide") == (name in WIDE), name
        assert params["int32_accumulator"] == ("int32" in name), name
    assert seen["function"] == {"tinyc_fully_connected_s16", "tinyc_fully_connected_s16_wide"}
    assert seen["acc32"] == seen["per_channel"] == {0, 1}
    assert seen["bias"] == {"int64", "int32", None}
    assert seen["activation"] == {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}
    assert seen["accum_tail"] == set(range(8))
    assert seen["rows"] == {0, 1, 2, 3, 4}
    assert seen["rank"] == {2, 3, 4} and seen["keep"] == {True, False}
    assert {1, 2, 4, 6} <= seen["batches"] and seen["zp"] == {True, False}


def test_16x8_accumulator_kind_follows_tflm(model_dir):
    """TFLM sums in int32 for an int32 bias or, without a bias, quantized_bias_type INT32."""
    for name, acc32 in [("int32-bias-k10-n6", 1), ("nobias-int32-type-k11-n6", 1),
                        ("nobias-int64-type-k11-n6", 0), ("k17-n9-nobias", 0), ("k12-n5", 0)]:
        assert dict(s16_call(S16_MODELS[name].path(model_dir))[1].params)[
            "int32_accumulator"] == acc32, name


def extreme_inputs(w: np.ndarray, rows: int, seed: int = 0) -> np.ndarray:
    """Inputs that take accumulators to their extremes: the signs of a channel's weights (or
    their opposites) at full scale, for each of the first channels in turn, and random ones."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(rows):
        c = r // 2 % w.shape[0]
        signs = np.where(w[c] >= 0, 1, -1) * (1 if r % 2 == 0 else -1)
        x = np.where(signs > 0, INT16.max, INT16.min).astype(np.int16)
        if r % 3 == 2:
            x = rng.integers(INT16.min, INT16.max, w.shape[1], endpoint=True, dtype=np.int16)
        out.append(x)
    return np.stack(out)


def int64_reference(spec: Fc16, graph, x: np.ndarray) -> np.ndarray:
    """Test guard only (the oracle is TFLM): the exact accumulator of every output."""
    op = graph.ops[0]
    w = graph.tensor(op.inputs[1]).data.astype(np.int64)
    acc = (x.reshape(-1, w.shape[1]).astype(np.int64) - spec.zero_points[0]) @ w.T
    if spec.bias:
        acc = acc + graph.tensor(op.inputs[2]).data.astype(np.int64)
    return acc


@pytest.mark.parametrize("name", ["wide-k1100-n6", "wide-k1100-n7-int32-bias",
                                  "wide-k1030-n3-per-tensor-nobias", "k640-n32",
                                  "zero-points-int32-bias-k13-n5"])
def test_16x8_extreme_accumulators(name, model_dir):
    """Inputs at full scale along the weights' signs: the int64 accumulator beyond int32 and
    TFLM's int32 one wrapping around (an int32 bias), bit-exact both."""
    spec = S16_MODELS[name]
    path = spec.path(model_dir)
    graph = read_model(path)
    x_shape = graph.tensor(graph.inputs[0]).shape
    w = graph.tensor(graph.ops[0].inputs[1]).data
    rows = int(np.prod(x_shape)) // w.shape[1]
    compiled = compile_model(path)
    host = build_host_model(compiled.files, compiled.name)
    tflm = tflm_runner(path, 1)
    beyond = 0
    for seed in range(4):
        x = extreme_inputs(w, max(rows, 1), seed).reshape(x_shape)
        if rows == 1:
            x = extreme_inputs(w, 6, seed)[seed % 6].reshape(x_shape)
        assert host.run([x])[0] == np.asarray(tflm([x])[0]).tobytes(), (name, seed)
        beyond += int((np.abs(int64_reference(spec, graph, x)) > (1 << 31) - 1).sum())
    if name.startswith("wide"):
        assert beyond, f"{name}: no accumulator left int32"


def test_16x8_int32_accumulator_wraps_like_tflm(model_dir):
    """Guard for the test above: with an int32 bias TFLM's accumulator really wraps around
    (its outputs differ from what an int64 one gives), and tinyc follows it."""
    spec = S16_MODELS["wide-k1100-n7-int32-bias"]
    path = spec.path(model_dir)
    graph = read_model(path)
    w = graph.tensor(graph.ops[0].inputs[1]).data
    x = extreme_inputs(w, 2).reshape(graph.tensor(graph.inputs[0]).shape)
    out = np.asarray(tflm_runner(path, 1)([x])[0]).reshape(2, -1)
    acc = int64_reference(spec, graph, x)
    # channel 0, row 0: the accumulator is far above int32; without wrapping it would saturate
    assert acc[0, 0] > 1 << 31 and out[0, 0] != INT16.max
    compiled = compile_model(path)
    assert build_host_model(compiled.files, compiled.name).run([x])[0] == out.tobytes()


def test_pair_order_layout():
    matrix = np.arange(2 * 10, dtype=np.int8).reshape(2, 10)
    assert pair_order(matrix).tolist() == [[0, 2, 1, 3, 4, 6, 5, 7, 8, 9],
                                           [10, 12, 11, 13, 14, 16, 15, 17, 18, 19]]
    graph, call = s16_call(S16_MODELS["k6-n3-relu6"].path(Path(tempfile.mkdtemp())))
    w = graph.tensor(call.op.inputs[1]).data
    (filt,) = [a for a in call.arrays if a.suffix == "filter"]
    assert filt.values.tolist() == group_rows(pair_order(w)).tolist()
    # group of 2 rows then 1: chunk of row 0, chunk of row 1 (each w0 w2 w1 w3), tails, row 2
    expected = [*w[0, [0, 2, 1, 3]], *w[1, [0, 2, 1, 3]], *w[0, 4:], *w[1, 4:],
                *w[2, [0, 2, 1, 3]], *w[2, 4:]]
    assert filt.values.tolist() == expected


def test_16x8_bias_is_folded_exactly(model_dir):
    """The input zero point goes into the bias: b - zp * sum(w), as int32 or int64."""
    spec = S16_MODELS["zero-points-k13-n6-relu"]
    graph, call = s16_call(spec.path(model_dir))
    w = graph.tensor(call.op.inputs[1]).data.astype(np.int64)
    b = graph.tensor(call.op.inputs[2]).data.astype(np.int64)
    (bias,) = [a for a in call.arrays if a.suffix == "bias"]
    assert bias.ctype == "int32_t"
    assert bias.values.tolist() == (b - 1234 * w.sum(axis=1)).tolist()
    _, wide = s16_call(S16_MODELS["wide-big-bias-k40-n5"].path(model_dir))
    assert [a.ctype for a in wide.arrays if a.suffix == "bias"] == ["int64_t"]
    assert dict(wide.params)["block_depth"] % 4 == 0


# --- 16x8 from the TF converter: a Keras dense net ---

INT16_OPS = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"


def keras_16x8(key: str, shape: tuple[int, ...], build, per_tensor: bool = False) -> Path:
    """A Keras model converted in 16x8 mode with int16 input and output (cached)."""
    def make() -> bytes:
        from tflite_builders import keras_model, quiet_tensorflow, representative_samples

        tf = quiet_tensorflow()
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model(shape, build))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        samples = representative_samples(shape, low=LOW, high=HIGH)
        converter.representative_dataset = lambda: ([s] for s in samples)
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, INT16_OPS)]
        converter.inference_input_type = converter.inference_output_type = tf.int16
        if per_tensor:
            converter._experimental_disable_per_channel_quantization_for_dense_layers = True
        return converter.convert()

    return cached_model(f"fc16-{key}-{'per-tensor' if per_tensor else 'per-channel'}-v1", make)


def dense_net(tf, x):
    h = dense(tf, 24, "relu")(x)
    h = dense(tf, 12, "relu")(h)
    return dense(tf, 5)(h)


KERAS_16X8 = {
    "dense-net": ((20,), dense_net, False),
    "dense-net-per-tensor": ((20,), dense_net, True),
    "dense-net-rows": ((3, 9), dense_net, False),  # keep_num_dims over 3 rows
    "dense-k300-relu6": ((300,), lambda tf, x: dense(tf, 10, "relu6")(x), False),
}


def keras_path(name: str) -> Path:
    shape, build, per_tensor = KERAS_16X8[name]
    return keras_16x8(name, shape, build, per_tensor)


@pytest.mark.parametrize("name", sorted(KERAS_16X8))
def test_keras_16x8(name):
    path = keras_path(name)
    graph = read_model(path)
    fcs = [op for op in graph.ops if op.kind == "FULLY_CONNECTED"]
    assert fcs and all(graph.tensor(op.inputs[0]).dtype == "int16" for op in fcs)
    assert all(graph.tensor(op.inputs[2]).dtype == "int64" for op in fcs)
    assert {graph.tensor(op.inputs[1]).quant.per_channel for op in fcs} == {
        "per-tensor" not in name}
    assert_bit_exact(path, 50)
    assert_varied_outputs_s16(path)


def test_keras_16x8_forms():
    """The converted nets are what the tests above claim: three Dense layers, activations fused,
    keep_num_dims over rows."""
    graph = read_model(keras_path("dense-net-rows"))
    assert [op.kind for op in graph.ops] == ["FULLY_CONNECTED"] * 3
    assert [op.options["fused_activation_function"] for op in graph.ops] == ["RELU", "RELU",
                                                                             "NONE"]
    assert all(op.options["keep_num_dims"] for op in graph.ops)
    assert graph.tensor(graph.outputs[0]).shape == (1, 3, 5)


# --- float32 and int8 shapes TFLM takes: rank-3/4 inputs, keep_num_dims ---

SHAPE_MODELS = {
    f"{dtype}-{name}": dataclasses.replace(spec, dtype=dtype)
    for dtype in ("float32", "int8", "int16")
    for name, spec in {
        "rank3-keep-dims": Fc16((2, 3, 10), 7, keep_num_dims=True, activation="RELU"),
        "rank4-keep-dims": Fc16((1, 2, 3, 6), 5, keep_num_dims=True),
        "rank4-keep-dims-nobias": Fc16((2, 1, 2, 9), 4, keep_num_dims=True, bias=None,
                                       activation="RELU6"),
        "rank3-flat": Fc16((2, 3, 4), 4, accum=12),
        "rank4-flat-rows": Fc16((2, 2, 3, 4), 3, accum=6, activation="RELU_N1_TO_1"),
    }.items()
}


@pytest.mark.parametrize("name", sorted(SHAPE_MODELS))
def test_shapes_keep_num_dims_and_rank(name, model_dir):
    spec = SHAPE_MODELS[name]
    if spec.dtype == "int8":
        spec = dataclasses.replace(spec, bias="int32" if spec.bias else None)
    path = spec.path(model_dir)
    graph, call = s16_call(path)
    assert dict(call.params)["batches"] == int(np.prod(spec.out_shape[:-1]))
    assert_bit_exact(path, SAMPLES)


# --- what TFLM refuses or cannot run, refused with the op and the reason ---


def lower_error(tflite: bytes, root: Path) -> str:
    path = root / "refused.tflite"
    path.write_bytes(tflite)
    with pytest.raises(UnsupportedError) as info:
        lower(read_model(path))
    message = str(info.value)
    assert "op 0 (FULLY_CONNECTED)" in message, message
    return message


def test_uint8_is_refused_like_tflm(tmp_path):
    """TFLM micro has no uint8 FULLY_CONNECTED: its interpreter fails to invoke such a model."""
    tensors = [TensorSpec((1, 4), np.uint8, (0.02, 128)),
               TensorSpec((3, 4), np.uint8, (0.01, 128), data=np.full((3, 4), 130)),
               TensorSpec((3,), np.int32, (0.0002, 0), data=[1, 2, 3]),
               TensorSpec((1, 3), np.uint8, (0.05, 128))]
    tflite = single_op_tflite("FULLY_CONNECTED", tensors, [0], [3], "FullyConnectedOptions")
    message = lower_error(tflite, tmp_path)
    assert "uint8" in message and "TFLM" in message, message
    path = tmp_path / "uint8.tflite"
    path.write_bytes(tflite)
    with pytest.raises(RuntimeError):
        tflm_runner(path, 1)([np.zeros((1, 4), np.uint8)])


def with_tensor(spec: Fc16, index: int, **changes) -> bytes:
    """spec's model with tensor `index` changed (object API of the flatbuffer schema)."""
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromObj(s.Model.GetRootAs(spec.tflite(), 0))
    tensor = model.subgraphs[0].tensors[index]
    for name, value in changes.items():
        if name == "data":
            model.buffers[tensor.buffer].data = list(np.asarray(value).tobytes())
        elif name in ("scale", "zeroPoint"):
            setattr(tensor.quantization, name, value)
        else:
            setattr(tensor, name, value)
    return pack(model)


def test_16x8_int16_bias_is_refused(tmp_path):
    """TFLM would read an int16 bias as int64 (GetOptionalTensorData<int64_t>): refused."""
    from ai_edge_litert import schema_py_generated as s

    spec = Fc16((1, 5), 3)
    tflite = with_tensor(spec, 2, type=s.TensorType.INT16, data=np.ones(3, np.int16))
    assert "int16/int8/int16/int16" in lower_error(tflite, tmp_path)


def test_16x8_bias_scale_mismatch_is_refused_like_tflm(tmp_path):
    """Per-tensor weights: TFLM's Prepare requires bias scale ~ input scale * weight scale."""
    spec = Fc16((1, 5), 3, per_channel=False)
    tflite = with_tensor(spec, 2, scale=[INPUT_SCALE * 0.01 * 100])
    message = lower_error(tflite, tmp_path)
    assert "bias" in message and "scale" in message, message
    path = tmp_path / "scale.tflite"
    path.write_bytes(tflite)
    with pytest.raises(RuntimeError):
        tflm_runner(path, 1)([np.zeros((1, 5), np.int16)])


def test_16x8_huge_rescale_is_refused(tmp_path):
    """TFLM's int64 MultiplyByQuantizedMultiplier takes shifts below 8 (a factor below 2^7)."""
    spec = Fc16((1, 5), 3, per_channel=False)
    y_scale = INPUT_SCALE * 0.01 / 1000.0
    message = lower_error(with_tensor(spec, 3, scale=[y_scale]), tmp_path)
    assert "too large" in message, message


def test_16x8_accumulator_beyond_2_47_is_refused(tmp_path):
    spec = Fc16((1, 5), 3)
    message = lower_error(with_tensor(spec, 2, data=np.full(3, 1 << 50, np.int64)), tmp_path)
    assert "2^47" in message, message


# --- the Arm DSP path of the 16x8 kernel (SXTB16/SMLAD), on an emulated Cortex-M4 ---

S16_DSP_MODELS = ["k1-n1", "k3-n7-relu", "k5-n2", "k12-n5", "k17-n9-nobias", "k250-n13",
                  "per-tensor-k33-n7-relu", "batch4-k7-n5", "int32-bias-k30-n5-relu",
                  "zero-points-k13-n6-relu", "rank3-keep-dims-k10-n7", "wide-k1100-n6",
                  "wide-k1100-n7-int32-bias", "wide-big-bias-k40-n5",
                  "wide-k1030-n3-per-tensor-nobias"]


@needs_m4
@pytest.mark.parametrize("name", S16_DSP_MODELS)
def test_cortex_m4_16x8_dsp_path_is_bit_exact(name, model_dir, tmp_path):
    assert_bit_exact_on_m4(S16_MODELS[name].path(model_dir), tmp_path)


def m4_output(gen: Path, x: np.ndarray, tmp_path: Path, opt: str = "Os") -> str:
    (tmp_path / "input.bin").write_bytes(np.ascontiguousarray(x).tobytes())
    result = subprocess.run([str(M4BENCH), str(gen), "model", "--opt", opt, "--input",
                             str(tmp_path / "input.bin")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["output_hex"][0][0]


@needs_m4
@pytest.mark.parametrize("opt", ["Os", "O2"])
@pytest.mark.parametrize("name", ["wide-k1100-n7-int32-bias", "wide-k1100-n6", "k640-n32"])
def test_cortex_m4_16x8_extreme_accumulators(name, opt, model_dir, tmp_path):
    """The DSP sums at full scale, past int32 in total, and TFLM's wrapping int32 one."""
    path = S16_MODELS[name].path(model_dir)
    compile_to_folder(path, tmp_path / "gen", name="model")
    graph = read_model(path)
    x_shape = graph.tensor(graph.inputs[0]).shape
    w = graph.tensor(graph.ops[0].inputs[1]).data
    rows = int(np.prod(x_shape)) // w.shape[1]
    x = extreme_inputs(w, max(rows, 1)).reshape(x_shape)
    assert m4_output(tmp_path / "gen", x, tmp_path, opt) == np.asarray(
        tflm_runner(path, 1)([x])[0]).tobytes().hex()


@needs_m4
@pytest.mark.parametrize("name", ["dense-net", "dense-net-rows"])
def test_cortex_m4_16x8_keras_net(name, tmp_path):
    assert_bit_exact_on_m4(keras_path(name), tmp_path, "O2")


# --- the generated 16x8 code builds clean with -Werror ---

WARNINGS = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
            "-Werror"]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
WERROR_MODELS = ["k17-n9-nobias", "int32-bias-per-tensor-k19-n3", "wide-k1030-n3-per-tensor-nobias",
                 "wide-k1100-n7-int32-bias"]


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_16x8_generated_code_builds_with_werror(compiler, model_dir, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    flags = [[*ARM, "-Os"], [*ARM, "-O2"]] if compiler.startswith("arm") else [["-O2"]]
    for name in WERROR_MODELS:
        gen = tmp_path / name
        compile_to_folder(S16_MODELS[name].path(model_dir), gen, name="model")
        for extra in flags:
            for source in sorted(gen.rglob("*.cpp")):
                result = subprocess.run([compiler, *WARNINGS, *extra, "-I", str(gen), "-c",
                                         str(source), "-o", str(tmp_path / "m.o")],
                                        capture_output=True, text=True)
                assert result.returncode == 0, f"{name} {extra}\n{result.stderr}"


def test_16x8_header_builds_for_clang_arm(tmp_path):
    """The DSP path's asm also assembles with clang's integrated assembler (Cortex-M4)."""
    if shutil.which("clang++") is None:
        pytest.skip("clang++ is not installed")
    source = tmp_path / "dsp.cpp"
    source.write_text('#include "fully_connected_s16.h"\n'
                      "#ifndef TINYC_DSP\n#error no DSP path\n#endif\n"
                      "void f(const tinyc_fully_connected_s16_params *p, const int16_t *x,\n"
                      "       const int8_t *w, const int32_t *b, const int64_t *b64,\n"
                      "       const int32_t *m, const int8_t *e, int16_t *y) {\n"
                      "  tinyc_fully_connected_s16(p, x, w, b, m, e, y);\n"
                      "  tinyc_fully_connected_s16_wide(p, x, w, b64, m, e, y);\n}\n")
    runtime = Path(__file__).resolve().parent.parent / "runtime"
    result = subprocess.run(["clang++", "--target=thumbv7em-none-eabihf", *ARM, "-ffreestanding",
                             *WARNINGS, "-O2", "-I", str(runtime), "-c", str(source), "-o",
                             str(tmp_path / "dsp.o")], capture_output=True, text=True)
    if "arm_acle.h" in result.stderr and "not found" in result.stderr:
        pytest.skip("clang has no Arm headers here")
    assert result.returncode == 0, result.stderr
