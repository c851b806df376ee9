"""UNIDIRECTIONAL_SEQUENCE_LSTM: bit-exact with TFLM's micro kernel over sequences of invokes.

Every comparison runs one sequence of invokes on tinyc's host build and on the TFLM interpreter
without a reset in between (the hidden and cell states carry over, as in TFLM), then checks that
NAME_reset() brings back the first step's outputs (conftest.assert_bit_exact).

- The shared models: TFLM's mnist_lstm (int8) and micro_speech_lstm, 50 invokes each.
- Flatbuffer models of one LSTM whose output is the model's output (every hidden-state byte of
  every time step is compared, not a softmax of them): int8 (8x8->16), 16x8 and float32, over
  batch-major and time-major inputs, batch 1 and > 1, one and several time steps, state sizes
  that are not multiples of 4, input and hidden zero points, cell state scales 2^-11 .. 2^-15
  and one that is not a power of two, cell_clip off / clipping often / clipping always to 0,
  scales that make the gates saturate.
- Keras LSTM layers (tf_keras, the Keras 2 package: TF's converter crashes on Keras 3 LSTMs)
  converted to int8 and to float32.
- The FC multipliers: the scales where the source's float product and a double product give
  different multipliers, to pin which one the oracle uses.
- Refusals naming the op and the option; -Werror builds of every variant under g++ and clang++.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_model, compile_to_folder
from tinyc.errors import TinycError, UnsupportedError
from tinyc.ops import lstm
from tinyc.quantize import f32, quantize_multiplier
from tinyc.verify.tflm_memory import tflm_arena

from conftest import assert_bit_exact, assert_bit_exact_on_m4, needs_m4, shared_model
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from tflite_builders import cached_model, quiet_tensorflow

SEQUENCE = 12  # invokes per flatbuffer model
OMITTED = -1


def lstm_tflite(
    kind: str = "int8",
    batches: int = 1,
    time_steps: int = 3,
    n_input: int = 5,
    n_state: int = 7,
    time_major: bool = False,
    cell_clip: float = 0.0,
    cell_scale: float = 2.0**-12,
    input_zp: int = 0,
    hidden_zp: int = 0,
    gain: float = 1.0,
    seed: int = 0,
    activation: int = 4,  # ActivationFunctionType TANH
    extra: dict[int, TensorSpec] | None = None,
    omit: tuple[int, ...] = (),
    state_variable: bool = True,
    per_channel: bool = False,
    weight_zp: int = 0,
) -> bytes:
    """One UNIDIRECTIONAL_SEQUENCE_LSTM as the converter lays it out (24 inputs, state tensors
    variable), with random weights. `gain` scales the gates' pre-activations (about gain * 3 in
    real terms): large gains saturate the sigmoids and tanh. `extra` adds tensors at op input
    positions the standard LSTM omits (peephole, projection, layer norm); `omit` drops some."""
    rng = np.random.default_rng(seed)
    shape_in = [time_steps, batches, n_input] if time_major else [batches, time_steps, n_input]
    shape_out = shape_in[:2] + [n_state]
    tensors: list[TensorSpec] = []
    positions: dict[int, int] = {}

    def add(position: int, spec: TensorSpec) -> None:
        positions[position] = len(tensors)
        tensors.append(spec)

    if kind == "float32":
        add(0, TensorSpec(shape_in, np.float32))
        for g in range(8):
            cols = n_input if g < 4 else n_state
            w = rng.normal(0, gain / math.sqrt(cols), (n_state, cols)).astype(np.float32)
            add(1 + g, TensorSpec([n_state, cols], np.float32, data=w))
        for g in range(4):
            add(12 + g, TensorSpec([n_state], np.float32,
                                   data=rng.normal(0, 0.5, n_state).astype(np.float32)))
        add(18, TensorSpec([batches, n_state], np.float32, variable=state_variable))
        add(19, TensorSpec([batches, n_state], np.float32, variable=state_variable))
        out = TensorSpec(shape_out, np.float32)
    else:
        act = np.int8 if kind == "int8" else np.int16
        bias_type = np.int32 if kind == "int8" else np.int64
        in_scale = float(rng.uniform(0.01, 0.05)) if kind == "int8" else 1.0 / 8192
        hidden_scale = float(rng.uniform(0.005, 0.01)) if kind == "int8" else 1.0 / 32768
        typical = 73.0 * (73.0 if kind == "int8" else 18900.0)  # |w| * |x| of uniform values
        add(0, TensorSpec(shape_in, act, (in_scale, input_zp)))
        for g in range(8):
            cols = n_input if g < 4 else n_state
            source_scale = in_scale if g < 4 else hidden_scale
            scale = gain * float(rng.uniform(0.5, 2.0)) / (source_scale * typical *
                                                          math.sqrt(cols))
            w = rng.integers(-127, 128, (n_state, cols)).astype(np.int8)
            quant = (scale, weight_zp)
            if per_channel and g == 1:
                quant = ([scale] * n_state, [0] * n_state)
            add(1 + g, TensorSpec([n_state, cols], np.int8, quant, data=w))
        for g in range(4):
            w_scale = tensors[positions[1 + g]].quant[0]
            w_scale = w_scale[0] if isinstance(w_scale, list) else w_scale
            b_scale = in_scale * w_scale
            b = rng.normal(0, 1.0, n_state) / b_scale
            add(12 + g, TensorSpec([n_state], bias_type, (b_scale, 0),
                                   data=np.round(b).astype(bias_type)))
        add(18, TensorSpec([batches, n_state], act, (hidden_scale, hidden_zp),
                           variable=state_variable))
        add(19, TensorSpec([batches, n_state], np.int16, (cell_scale, 0),
                           variable=state_variable))
        out = TensorSpec(shape_out, act, (hidden_scale, hidden_zp))
    for position, spec in (extra or {}).items():
        add(position, spec)
    inputs = [positions.get(i, OMITTED) if i not in omit else OMITTED for i in range(24)]
    output = len(tensors)
    tensors.append(out)
    op = OperatorSpec("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [output],
                      "UnidirectionalSequenceLSTMOptions",
                      {"fusedActivationFunction": activation, "cellClip": cell_clip,
                       "timeMajor": time_major})
    return tflite_model(tensors, [op], [positions[0]], [output])


def reset_loaded_library(path: Path) -> None:
    """verify_model starts from the host library's state as it finds it: a library this process
    loaded before for the same sources (one dlopen handle) keeps the state an earlier run left.
    Reset it first, so a test does not depend on what ran before it in the same worker."""
    from tinyc.verify.build import build_host_model

    compiled = compile_model(path)
    if compiled.plan.state_bytes:
        build_host_model(compiled.files, compiled.name).reset()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    return path


def assert_sequence_exact(path: Path, samples: int = SEQUENCE, seed: int = 0):
    reset_loaded_library(path)
    report = assert_bit_exact(path, samples=samples, seed=seed)
    assert report.reset_exact is True, "\n".join(report.lines())
    return report


# --- the shared models ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tflm_mnist_lstm_int8.tflite", "tflm_micro_speech_lstm.tflite"])
def test_shared_lstm_models_are_bit_exact_over_50_invokes(name):
    assert_sequence_exact(shared_model(f"wider/{name}"), samples=50)


# --- flatbuffer grids -----------------------------------------------------------------------------

INTEGER_CASES = {
    # name: lstm_tflite keywords
    "b1-t3": {},
    "b1-t1-i1-s1": {"time_steps": 1, "n_input": 1, "n_state": 1},
    "b3-batch-major": {"batches": 3, "time_steps": 4},
    "b3-time-major": {"batches": 3, "time_steps": 4, "time_major": True},
    "b2-time-major-zp": {"batches": 2, "time_major": True, "input_zp": -37, "hidden_zp": 11},
    "zp-saturating": {"input_zp": 90, "hidden_zp": -128, "gain": 6.0},
    "wide-s33-i17": {"n_input": 17, "n_state": 33, "time_steps": 5},
    "cell-2^-11": {"cell_scale": 2.0**-11, "gain": 3.0},
    "cell-2^-15": {"cell_scale": 2.0**-15, "gain": 2.0},
    "cell-2^-16-clip10": {"cell_scale": 2.0**-16, "cell_clip": 10.0, "gain": 2.0},  # Keras's
    "cell-2^-13-clip": {"cell_scale": 2.0**-13, "cell_clip": 0.5, "gain": 4.0},
    "cell-not-pow2": {"cell_scale": 3.1e-4, "cell_clip": 3.0, "gain": 3.0},
    "clip-to-zero": {"cell_clip": 1e-5},
    "quiet": {"gain": 0.05},
}


@pytest.mark.parametrize("kind", ["int8", "int16"])
@pytest.mark.parametrize("case", sorted(INTEGER_CASES))
def test_integer_lstm_grid(tmp_path, kind, case):
    keywords = dict(INTEGER_CASES[case])
    if kind == "int16":  # 16x8 models are symmetric (zero points: the test below)
        keywords.pop("input_zp", None)
        keywords.pop("hidden_zp", None)
    path = write(tmp_path, f"lstm-{kind}-{case}", lstm_tflite(kind, seed=len(case), **keywords))
    assert_sequence_exact(path)


def test_int16_lstm_with_zero_points(tmp_path):
    """TFLM's 16x8 LSTM does not require symmetric activations: it subtracts the input's and
    hidden state's zero points in its FCs and adds the hidden one after the last multiplication
    (and starts the int16 hidden state at 0, not at its zero point)."""
    path = write(tmp_path, "lstm-int16-zp", lstm_tflite("int16", batches=2, input_zp=-300,
                                                        hidden_zp=1000, gain=2.0))
    assert_sequence_exact(path)


FLOAT_CASES = {
    "b1-t3": {},
    "b3-batch-major": {"batches": 3, "time_steps": 4},
    "b2-time-major": {"batches": 2, "time_steps": 5, "time_major": True},
    "clip": {"cell_clip": 0.75, "gain": 3.0},
    "saturating": {"gain": 12.0, "n_state": 9, "n_input": 11},
}


@pytest.mark.parametrize("case", sorted(FLOAT_CASES))
def test_float_lstm_grid(tmp_path, case):
    path = write(tmp_path, f"lstm-f32-{case}",
                 lstm_tflite("float32", seed=len(case), **FLOAT_CASES[case]))
    assert_sequence_exact(path)


def test_the_state_carries_over_between_invokes(tmp_path):
    """Not vacuous: with the same input every invoke, the output changes from the first invoke
    to the second, because the state does (and the verification above compares them all)."""
    from tinyc.verify.build import build_host_model

    path = write(tmp_path, "carry", lstm_tflite("int8", gain=2.0))
    compiled = compile_model(path)
    host = build_host_model(compiled.files, compiled.name)
    host.reset()
    x = np.random.default_rng(3).integers(-128, 128, (1, 3, 5), dtype=np.int8)
    first, second = host.run([x]), host.run([x])
    assert first != second
    host.reset()
    assert host.run([x]) == first


# --- the FC multipliers: float or double product --------------------------------------------------


def float_product_multiplier(input_scale: float, weight_scale: float, max_shift: int = 30
                             ) -> tuple[int, int]:
    """The source's GetQuantizedConvolutionMultipler: the scales multiplied in float."""
    return quantize_multiplier(f32(input_scale * weight_scale) / lstm.NONLINEAR_INPUT_SCALE,
                               max_shift)


def _requantize(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier for a right shift, on an int64 array of int32 values."""
    ab = x * multiplier
    t = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(t < 0, -((-t) >> 31), t >> 31)
    mask = (1 << -shift) - 1
    return (high >> -shift) + ((high & mask) > (mask >> 1) + (high < 0))


def boundary_lstm_tflite() -> bytes:
    """An int8 LSTM whose cell gate sits on requantization boundaries: for input 0 the cell gate
    FC of cell k is a sum (its bias) that the double product's multiplier rounds to k and the
    float product's to k + 1 (the two multipliers differ by 51). The other gates are saturated
    constants (input and output gates 1, forget gate 0), the cell and hidden scales 2^-15, so
    the hidden value of cell k is about 8 * its cell gate FC: one LSB there moves it by 8."""
    rng = np.random.default_rng(5)
    while True:  # scales whose float and double products give different multipliers
        a = float(np.float32(rng.uniform(0.002, 0.01)))
        b = float(np.float32(rng.uniform(1, 2) * 2.0**-40 / a))
        double, single = lstm.fc_multiplier(a, b, 30), float_product_multiplier(a, b)
        if double != single and double[1] == single[1]:
            break
    (m_double, shift), (m_single, _) = double, single
    sums = []
    for k in range(14):
        centre = int((k + 0.5) * 2.0 ** (31 - shift) / m_double)
        x = np.arange(centre - 3000, centre + 3000, dtype=np.int64)
        differ = np.nonzero(_requantize(x, m_double, shift) != _requantize(x, m_single, shift))
        sums.append(int(x[differ[0][0]]))
    n = len(sums)
    gate_scale = 2.0**-12 / a  # the constant gates' FC multiplier is 1
    tensors = [TensorSpec([1, 1, 1], np.int8, (a, 0))]  # 0: input
    for g in range(4):  # 1-4: input weights (the cell gate's 1, the others' 0)
        w = np.ones((n, 1), np.int8) if g == 2 else np.zeros((n, 1), np.int8)
        tensors.append(TensorSpec([n, 1], np.int8, (b if g == 2 else gate_scale, 0), data=w))
    for _ in range(4):  # 5-8: recurrent weights, all 0
        tensors.append(TensorSpec([n, n], np.int8, (2.0**-7, 0), data=np.zeros((n, n), np.int8)))
    for g, value in enumerate((30000, -30000, None, 30000)):  # 9-12: biases
        data = np.array(sums if value is None else [value] * n, np.int32)
        tensors.append(TensorSpec([n], np.int32, (a * (b if g == 2 else gate_scale), 0),
                                  data=data))
    tensors.append(TensorSpec([1, n], np.int8, (2.0**-15, 0), variable=True))  # 13: hidden
    tensors.append(TensorSpec([1, n], np.int16, (2.0**-15, 0), variable=True))  # 14: cell
    tensors.append(TensorSpec([1, 1, n], np.int8, (2.0**-15, 0)))  # 15: output
    inputs = [0, 1, 2, 3, 4, 5, 6, 7, 8] + [OMITTED] * 3 + [9, 10, 11, 12] + [OMITTED] * 2 + [
        13, 14] + [OMITTED] * 4
    op = OperatorSpec("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [15],
                      "UnidirectionalSequenceLSTMOptions",
                      {"fusedActivationFunction": 4, "cellClip": 0.0, "timeMajor": False})
    return tflite_model(tensors, [op], [0], [15])


def test_gate_multipliers_take_the_double_product(tmp_path, monkeypatch):
    """Where the float and the double product of the input and weight scales give different
    multipliers, TFLM (the wheel) rounds as the double product does, as for FULLY_CONNECTED
    (quantize.per_tensor_conv_multiplier); the float product, which the source at 90b983c
    reads, gives other hidden values (so this test can tell the two apart)."""
    from tinyc.verify.build import build_host_model
    from tinyc.verify.compare import tflm_runner

    path = write(tmp_path, "boundary", boundary_lstm_tflite())
    x = np.zeros((1, 1, 1), np.int8)
    expected = tflm_runner(path, 1)([x])[0].tobytes()

    def first_output() -> bytes:
        compiled = compile_model(path)
        host = build_host_model(compiled.files, compiled.name)
        host.reset()
        return host.run([x])[0]

    assert first_output() == expected
    monkeypatch.setattr(lstm, "fc_multiplier", float_product_multiplier)
    assert first_output() != expected


# --- Keras LSTM layers through the converter ------------------------------------------------------


def keras_lstm(mode: str, units: int, steps: int, features: int, seed: int = 0,
               return_sequences: bool = True) -> Path:
    """A tf_keras LSTM layer converted to int8 (int8 input and output) or float32."""

    def make() -> bytes:
        tf = quiet_tensorflow()
        import tf_keras

        tf_keras.utils.set_random_seed(seed)
        x = tf_keras.Input(shape=(steps, features), batch_size=1)
        y = tf_keras.layers.LSTM(units, return_sequences=return_sequences)(x)
        model = tf_keras.Model(x, y)
        rng = np.random.default_rng(seed)
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            samples = [rng.uniform(-1, 1, (1, steps, features)).astype(np.float32)
                       for _ in range(16)]
            converter.representative_dataset = lambda: ([s] for s in samples)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter.convert()

    return cached_model(f"keras-lstm-{mode}-{units}-{steps}-{features}-{seed}-"
                        f"{return_sequences}", make)


@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("units, steps, features, sequences",
                         [(12, 6, 5, True), (5, 3, 9, False)])
def test_keras_lstm_layers(mode, units, steps, features, sequences):
    path = keras_lstm(mode, units, steps, features, return_sequences=sequences)
    kinds = [op.kind for op in compile_model(path).model.graph.ops]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in kinds, kinds
    assert_sequence_exact(path, samples=20)


# --- what is refused ---------------------------------------------------------------------------


def _refused(tmp_path: Path, data: bytes, *fragments: str, error=UnsupportedError) -> None:
    path = write(tmp_path, "refused", data)
    with pytest.raises(error) as info:
        compile_model(path)
    message = str(info.value)
    assert "op 0 (UNIDIRECTIONAL_SEQUENCE_LSTM)" in message, message
    for fragment in fragments:
        assert fragment in message, message


def _vector(n: int = 7, dtype=np.int16) -> TensorSpec:
    return TensorSpec([n], dtype, (0.01, 0), data=np.ones(n, dtype))


@pytest.mark.parametrize("what, keywords, fragments", [
    ("peephole", {"extra": {10: _vector()}}, ("peephole", "10")),
    ("projection", {"extra": {16: TensorSpec([7, 7], np.int8, (0.01, 0),
                                             data=np.ones((7, 7), np.int8))}}, ("projection",)),
    ("layer norm", {"extra": {21: _vector()}}, ("layer norm", "21")),
    ("cifg", {"omit": (1, 5, 12)}, ("CIFG",)),
    ("relu", {"activation": 1}, ("fused_activation_function=RELU",)),
    ("per-channel", {"per_channel": True}, ("per-channel",)),
    ("weight zero point", {"weight_zp": 3}, ("zero point 3",)),
    ("huge cell scale", {"cell_scale": 16.0}, ("cell state scale",)),
])
def test_refusals_name_the_op_and_the_option(tmp_path, what, keywords, fragments):
    _refused(tmp_path, lstm_tflite("int8", **keywords), *fragments)


def test_states_that_are_not_variable_are_refused(tmp_path):
    """TFLM requires variable states; tinyc's graph check finds the state read before any op
    writes it."""
    _refused(tmp_path, lstm_tflite("int8", state_variable=False), "before it is written",
             error=TinycError)


def _retyped(position: int, tensor_type: str) -> bytes:
    from ai_edge_litert import schema_py_generated as s

    from flatbuffer_models import pack

    model = s.ModelT.InitFromPackedBuf(lstm_tflite("int8"), 0)
    graph = model.subgraphs[0]
    graph.tensors[graph.operators[0].inputs[position]].type = getattr(s.TensorType, tensor_type)
    return pack(model)


def test_mixed_types_are_refused(tmp_path):
    """An int32 cell state (TFLM: only int16 for integer LSTMs); an int16 hidden state with int8
    activations; a float input with int8 weights (hybrid: TFLM would read the int8 weights as
    floats)."""
    _refused(tmp_path, _retyped(19, "INT32"), "int8/int8/int32/int32")
    _refused(tmp_path, _retyped(18, "INT16"), "types int8/int16/int8 differ")
    _refused(tmp_path, _retyped(0, "FLOAT32"), "hybrid")


# --- the generated code under -Werror -------------------------------------------------------------

WARNINGS = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
            "-Werror"]
COMPILERS = {
    "g++": ["-O2"],
    "clang++": ["-O2"],
    "arm-none-eabi-g++": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                          "-Os"],
}


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
def test_generated_code_builds_with_werror(tmp_path, compiler):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    for kind in ("int8", "int16", "float32"):
        path = write(tmp_path, f"w{kind}", lstm_tflite(kind, batches=2, time_major=True,
                                                       cell_clip=1.0))
        folder = tmp_path / f"gen_{kind}"
        compile_to_folder(path, folder, name=f"m_{kind}")
        for source in folder.rglob("*.cpp"):
            result = subprocess.run([compiler, *WARNINGS, *COMPILERS[compiler], "-I", str(folder),
                                     "-c", str(source),
                                     "-o", str(tmp_path / "m.o")], capture_output=True,
                                    text=True)
            assert result.returncode == 0, result.stderr


@needs_m4
@pytest.mark.parametrize("name", ["tflm_mnist_lstm_int8.tflite", "tflm_micro_speech_lstm.tflite"])
def test_cortex_m4_dsp_path_is_bit_exact(tmp_path, name):
    """The 8x8 gates' dot products run SXTB16/SMLAD on Cortex-M4 (fully_connected.h's), which
    the host never runs: one invoke on an emulated Cortex-M4 against TFLM."""
    assert_bit_exact_on_m4(shared_model(f"wider/{name}"), tmp_path)


@needs_m4
def test_cortex_m4_dsp_path_on_a_flatbuffer_lstm(tmp_path):
    """Row groups of 4, 2 and 1 (11 cells), chunk tails (23 inputs), zero points."""
    path = write(tmp_path, "m4", lstm_tflite("int8", n_input=23, n_state=11, time_steps=4,
                                             input_zp=-5, hidden_zp=3, gain=2.0))
    assert_bit_exact_on_m4(path, tmp_path)


# --- memory: tinyc's arena + state against TFLM's arena -----------------------------------------


@pytest.mark.parametrize("name", ["tflm_mnist_lstm_int8.tflite", "tflm_micro_speech_lstm.tflite"])
def test_arena_and_state_are_smaller_than_tflms_arena(name):
    path = shared_model(f"wider/{name}")
    compiled = compile_model(path)
    ours = compiled.plan.arena_bytes + compiled.plan.state_bytes
    tflm = tflm_arena(path)
    theirs = tflm["total"]
    print(f"{name}: tinyc arena {compiled.plan.arena_bytes} + state "
          f"{compiled.plan.state_bytes}, TFLM arena {theirs}", file=sys.stderr)
    assert ours < theirs
    # the activations and scratch alone within TFLM's head (its activation plan and scratch)
    assert compiled.plan.arena_bytes <= tflm["head"]
