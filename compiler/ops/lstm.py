"""UNIDIRECTIONAL_SEQUENCE_LSTM as TFLM's micro kernel runs it (micro/kernels/
unidirectional_sequence_lstm.cc, lstm_eval.h / lstm_eval.cc / lstm_eval_common.cc, lstm_shared.h).

What TFLM takes, and so tinyc: the standard (Keras) LSTM with 24 inputs, where
  - the input, the 8 gate weights (1-8: input-to-{input,forget,cell,output}, then
    recurrent-to-...), the 4 gate biases (12-15), the hidden state (18) and the cell state (19)
    are present; the states are variable tensors;
  - peephole weights (9-11), projection (16-17) and layer norm coefficients (20-23) are omitted
    (LstmTensors::ValidateTensorStatus refuses them), and so is CIFG (no input gate: TFLM needs
    inputs 1, 5 and 12);
  - the types are int8 activations / int8 weights / int32 biases / int16 cell state, int16 / int8
    / int64 / int16 (16x8), or float32 throughout (Eval's switch; other combinations TFLM would
    read as the wrong type);
  - the fused activation, applied to the cell gate, is TANH (CalculateLstmGate also takes
    sigmoid, which the schema has no value for, and asserts on anything else: the wheel, built
    without asserts, then leaves the cell gate un-activated);
  - time_major or batch-major input [T, B, I] / [B, T, I]; cell_clip (clipping when > 0);
    proj_clip and asymmetric_quantize_inputs have nothing to act on (no projection, no hybrid).

Numbers from the model that the kernel uses are computed here as TFLM's Prepare computes them:
  - each gate's two FCs (CreateGateParams -> CalculateOpDataFullyConnected): output scale 2^-12,
    zero point 0, multiplier from input scale * weight scale / 2^-12; per-tensor weights only
    (TFLM's LSTM FC reads the per-tensor multiplier, which it leaves unset for per-channel
    weights) with zero point 0;
  - the three element-wise multiplications (CreateInterGateMulParams), in double:
    2^-15 * cell_scale / cell_scale, 2^-15 * 2^-15 / cell_scale, 2^-15 * 2^-15 / hidden_scale
    (hidden zero point as output offset, clamped to the hidden type's range);
  - the cell state's scale power (CheckedLog2, rounded, in float: TFLM uses the rounded power
    even when the scale is not a power of two) and from it Tanh's input rescale;
  - the quantized cell clip: int16(min(max(cell_clip / cell_scale, -32768), 32767)) in double.
The input's and hidden state's zero points are folded into the FC biases (runtime/lstm.h).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import INT_RANGES, Graph, Op, Tensor
from ..quantize import (
    f32,
    float_activation_range,
    fold_input_offset,
    quantize_multiplier,
    round_half_away,
)
from . import (
    ArrayArg,
    ConstArray,
    KernelCall,
    ScratchArg,
    TensorArg,
    optional_input,
    register,
    unsupported,
)
from .fully_connected import group_rows

# lstm_shared.h input positions
INPUT = 0
INPUT_WEIGHTS = (1, 2, 3, 4)  # input-to-{input, forget, cell, output}
RECURRENT_WEIGHTS = (5, 6, 7, 8)
PEEPHOLE = (9, 10, 11)
BIASES = (12, 13, 14, 15)
PROJECTION = (16, 17)
HIDDEN_STATE = 18
CELL_STATE = 19
LAYER_NORM = (20, 21, 22, 23)
GATES = ("input_gate", "forget_gate", "cell_gate", "output_gate")  # the kernel's field names

NONLINEAR_INPUT_SCALE = 2.0**-12  # the FCs' output: Q3.12, the sigmoid's / tanh's input
NONLINEAR_OUTPUT_SCALE = 2.0**-15  # the gates' output: Q0.15
S64_LIMIT = 1 << 47  # TFLM's int64 MultiplyByQuantizedMultiplier takes |x| < 2^47 ...
S64_MAX_SHIFT = 7  # ... and a shift below 8
INT32_MAX = (1 << 31) - 1

# (input, weights, biases, cell state) types -> kernel suffix
VARIANTS = {
    ("int8", "int8", "int32", "int16"): "s8",
    ("int16", "int8", "int64", "int16"): "s16",
    ("float32", "float32", "float32", "float32"): "f32",
}
# The cell gate's activation: CalculateLstmGate takes tanh or sigmoid, but the schema's
# ActivationFunctionType has no SIGMOID, so a model can only ask for tanh.
CELL_ACTIVATIONS = {"TANH": 1}


@register(
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    inputs=24,
    optional=(1, 5, *PEEPHOLE, 12, *PROJECTION, *LAYER_NORM),
    types="int8, int16, float32",
    notes="TFLM's standard LSTM: int8 (int16 cell state, int32 bias), 16x8 (int16 activations, "
    "int8 weights, int64 bias) or float32; per-tensor weights; time-major or batch-major; "
    "cell_clip; fused activation TANH; no CIFG, peephole, projection or layer "
    "norm (as TFLM)",
)
def lower_lstm(graph: Graph, op: Op) -> KernelCall:
    _check_variant(op)
    x = graph.tensor(op.inputs[INPUT])
    hidden = graph.tensor(op.inputs[HIDDEN_STATE])
    cell = graph.tensor(op.inputs[CELL_STATE])
    y = graph.tensor(op.outputs[0])
    w_x = [graph.tensor(op.inputs[i]) for i in INPUT_WEIGHTS]
    w_h = [graph.tensor(op.inputs[i]) for i in RECURRENT_WEIGHTS]
    biases = [graph.tensor(op.inputs[i]) for i in BIASES]
    activation = op.options.get("fused_activation_function")
    if activation not in CELL_ACTIVATIONS:
        raise unsupported(op, f"fused_activation_function={activation} is not supported (TFLM's "
                              f"LSTM applies TANH to the cell gate, or sigmoid, which the schema "
                              f"cannot express)")
    time_major = bool(op.options.get("time_major", False))
    variant = _types(op, x, w_x + w_h, biases, hidden, cell, y)
    for state in (hidden, cell):
        if not state.is_variable or state.is_const:
            raise unsupported(op, f"state {state.label} must be a variable tensor (TFLM "
                                  f"requires it)")
    for t in w_x + w_h + biases:
        if not t.is_const:
            raise unsupported(op, f"{t.label} must be constant")
    shape = _shapes(op, x, w_x, w_h, biases, hidden, cell, y, time_major)
    cell_tanh = CELL_ACTIVATIONS[activation]
    cell_clip = f32(op.options.get("cell_clip", 0.0) or 0.0)
    if not math.isfinite(cell_clip):
        raise unsupported(op, f"cell_clip={cell_clip} is not finite")
    if variant == "f32":
        return _lower_float(op, shape, x, w_x, w_h, biases, hidden, cell, y, cell_tanh,
                            cell_clip)
    return _lower_integer(op, variant, shape, x, w_x, w_h, biases, hidden, cell, y, cell_tanh,
                          cell_clip)


def _check_variant(op: Op) -> None:
    """LstmTensors::ValidateTensorStatus: the standard LSTM only."""
    missing = [i for i in (1, 5, 12) if optional_input(op, i) < 0]
    if missing:
        raise unsupported(op, f"CIFG (no input gate: inputs {missing} omitted) is not supported "
                              f"(TFLM requires the input gate)")
    for name, positions in (("peephole weights", PEEPHOLE), ("projection", PROJECTION),
                            ("layer norm coefficients", LAYER_NORM)):
        given = [i for i in positions if optional_input(op, i) >= 0]
        if given:
            raise unsupported(op, f"{name} (inputs {given}) are not supported (TFLM's LSTM "
                                  f"has none)")


def _types(op: Op, x: Tensor, weights: list[Tensor], biases: list[Tensor], hidden: Tensor,
           cell: Tensor, y: Tensor) -> str:
    for group, what in ((weights, "weights"), (biases, "biases")):
        kinds = sorted({t.dtype for t in group})
        if len(kinds) != 1:
            raise unsupported(op, f"gate {what} of types {'/'.join(kinds)} (TFLM requires one "
                                  f"type)")
    if hidden.dtype != x.dtype or y.dtype != x.dtype:
        raise unsupported(op, f"input, hidden state and output types {x.dtype}/{hidden.dtype}/"
                              f"{y.dtype} differ (TFLM requires one type)")
    signature = (x.dtype, weights[0].dtype, biases[0].dtype, cell.dtype)
    if signature not in VARIANTS:
        raise unsupported(op, f"input/weights/bias/cell state types {'/'.join(signature)} are "
                              f"not supported (TFLM runs int8/int8/int32/int16, "
                              f"int16/int8/int64/int16 and float32)")
    return VARIANTS[signature]


def _shapes(op: Op, x: Tensor, w_x: list[Tensor], w_h: list[Tensor], biases: list[Tensor],
            hidden: Tensor, cell: Tensor, y: Tensor, time_major: bool) -> dict[str, int]:
    """CreateLstmSizeInfo and ValidateTensorSize; the strides of row b at time t."""
    if len(x.shape) != 3:
        raise unsupported(op, f"input of rank {len(x.shape)} (TFLM reads [T, B, I] or [B, T, I])")
    if len(hidden.shape) < 2:
        raise unsupported(op, f"hidden state of shape {list(hidden.shape)} (TFLM reads its "
                              f"second dimension as the state size)")
    time_steps, batches = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    n_input, n_state = x.shape[2], hidden.shape[1]
    if min(time_steps, batches, n_input, n_state) < 1:
        raise unsupported(op, f"empty input {list(x.shape)} or state size {n_state}")
    for t in w_x:
        if tuple(t.shape) != (n_state, n_input):
            raise unsupported(op, f"input weights {t.label} of shape {list(t.shape)}, expected "
                                  f"{[n_state, n_input]}")
    for t in w_h:
        if tuple(t.shape) != (n_state, n_state):
            raise unsupported(op, f"recurrent weights {t.label} of shape {list(t.shape)}, "
                                  f"expected {[n_state, n_state]} (no diagonal recurrent weights)")
    for t in biases:
        if tuple(t.shape) != (n_state,):
            raise unsupported(op, f"bias {t.label} of shape {list(t.shape)}, expected "
                                  f"{[n_state]}")
    for t in (hidden, cell):
        if t.size != batches * n_state:
            raise unsupported(op, f"state {t.label} of shape {list(t.shape)} does not hold "
                                  f"{batches} x {n_state} values")
    if len(y.shape) != 3 or tuple(y.shape) != (x.shape[0], x.shape[1], n_state):
        raise unsupported(op, f"output shape {list(y.shape)}, expected "
                              f"{[x.shape[0], x.shape[1], n_state]}")
    if time_major:  # row b at time t: [t][b]
        strides = (n_input, batches * n_input, n_state, batches * n_state)
    else:  # [b][t]
        strides = (time_steps * n_input, n_input, time_steps * n_state, n_state)
    if max(x.size, y.size, 4 * n_state * max(n_input, n_state)) > INT32_MAX:
        raise unsupported(op, "tensors too large for int32 indexing")
    return {"batches": batches, "time_steps": time_steps, "input_size": n_input,
            "state_size": n_state, "input_batch_stride": strides[0],
            "input_time_stride": strides[1], "output_batch_stride": strides[2],
            "output_time_stride": strides[3]}


def _quantization(op: Op, tensors: list[Tensor]) -> None:
    for t in tensors:
        if t.quant is None:
            raise unsupported(op, f"{t.label} has no quantization parameters")
        if t.quant.per_channel:
            raise unsupported(op, f"{t.label} has per-channel quantization (TFLM's LSTM "
                                  f"applies one multiplier per gate FC)")


def fc_multiplier(input_scale: float, weight_scale: float, max_shift: int) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler for a gate FC: input * weight scale / 2^-12.

    The source (kernel_util.cc at 90b983c) multiplies the two float scales in float; the
    tflite-micro wheel, the oracle, rounds as if in double (as for FULLY_CONNECTED: see
    quantize.per_tensor_conv_multiplier), which tests/test_op_lstm.py pins on scales where
    the two differ."""
    return quantize_multiplier(input_scale * weight_scale / NONLINEAR_INPUT_SCALE, max_shift)


def mul_multiplier(scale1: float, scale2: float, output_scale: float) -> tuple[int, int]:
    """CreateInterGateMulParams: the product of the input scales over the output's, in double."""
    return quantize_multiplier(scale1 * scale2 / output_scale)


def scale_power(scale: float) -> int:
    """CheckedLog2 (its result, whether or not the scale is a power of two):
    round(logf(x) * (1.0f / logf(2.0f))) in float."""
    with np.errstate(all="ignore"):
        log2 = np.float32(np.log(np.float32(scale))) * (np.float32(1.0) /
                                                        np.float32(np.log(np.float32(2.0))))
    return round_half_away(float(np.float32(log2)))


def cell_tanh_rescale(op: Op, power: int) -> tuple[int, int, int]:
    """lstm_internal::Tanh's input rescale for a cell state of scale 2^power, with Tanh's
    power-of-two case applied: (multiplier, shift, rounding)."""
    left = 15 + power - 3
    if left < 0:
        shift = -left
        if shift > 31:
            raise unsupported(op, f"cell state scale 2^{power} is too small (Tanh would shift by "
                                  f"{shift})")
        return 3, shift, 1 << (shift - 1)
    if left > 14:  # 3 << left times an int16 overflows int32 in TFLM
        raise unsupported(op, f"cell state scale 2^{power} is too large for TFLM's Tanh")
    return 3 << left, 0, 0


def quantized_cell_clip(cell_clip: float, cell_scale: float) -> int:
    """static_cast<int16_t>(std::min(std::max(clip / scale, -32768.0), 32767.0)), in double."""
    return int(min(max(cell_clip / cell_scale, -32768.0), 32767.0))


def _lower_integer(op: Op, variant: str, shape: dict[str, int], x: Tensor, w_x: list[Tensor],
                   w_h: list[Tensor], biases: list[Tensor], hidden: Tensor, cell: Tensor,
                   y: Tensor, cell_tanh: int, cell_clip: float) -> KernelCall:
    _quantization(op, [x, hidden, cell, *w_x, *w_h])
    for t in w_x + w_h:
        if t.zero_point != 0:
            raise unsupported(op, f"weights {t.label} with zero point {t.zero_point} (TFLM "
                                  f"requires 0)")
    n_state = shape["state_size"]
    wide = variant == "s16"
    max_shift = S64_MAX_SHIFT if wide else 30
    params: list[tuple[str, int | float]] = list(shape.items())
    folded: list[np.ndarray] = []
    for gate, wx, wh in zip(GATES, w_x, w_h, strict=True):
        mx, sx = fc_multiplier(x.scale, wx.scale, max_shift)
        mh, sh = fc_multiplier(hidden.scale, wh.scale, max_shift)
        params += [(f"{gate}_x_multiplier", mx), (f"{gate}_x_shift", sx),
                   (f"{gate}_h_multiplier", mh), (f"{gate}_h_shift", sh)]
    for wts, source, bias_list in ((w_x, x, biases), (w_h, hidden, [None] * 4)):
        for w, bias in zip(wts, bias_list, strict=True):
            folded.append(_fold(op, w, bias, source, wide))
    forget = mul_multiplier(NONLINEAR_OUTPUT_SCALE, cell.scale, cell.scale)
    inputs = mul_multiplier(NONLINEAR_OUTPUT_SCALE, NONLINEAR_OUTPUT_SCALE, cell.scale)
    hidden_mul = mul_multiplier(NONLINEAR_OUTPUT_SCALE, NONLINEAR_OUTPUT_SCALE, hidden.scale)
    tanh_multiplier, tanh_shift, tanh_rounding = cell_tanh_rescale(op, scale_power(cell.scale))
    params += [
        ("cell_gate_tanh", cell_tanh),
        ("forget_mul_multiplier", forget[0]), ("forget_mul_shift", forget[1]),
        ("input_mul_multiplier", inputs[0]), ("input_mul_shift", inputs[1]),
        ("hidden_mul_multiplier", hidden_mul[0]), ("hidden_mul_shift", hidden_mul[1]),
        ("hidden_zero_point", hidden.zero_point),
        ("use_cell_clip", int(cell_clip > 0)),
        ("cell_clip", quantized_cell_clip(cell_clip, cell.scale) if cell_clip > 0 else 0),
        ("cell_tanh_multiplier", tanh_multiplier), ("cell_tanh_shift", tanh_shift),
        ("cell_tanh_rounding", tanh_rounding),
    ]
    bias_ctype, bias_np = ("int64_t", np.int64) if wide else ("int32_t", np.int32)
    return KernelCall(
        op=op,
        function=f"tinyc_lstm_{variant}",
        header="lstm.h",
        params_type="tinyc_lstm_params",
        params=tuple(params),
        args=(TensorArg(x.index), ArrayArg("input_weights"), ArrayArg("recurrent_weights"),
              ArrayArg("bias"), TensorArg(hidden.index), TensorArg(cell.index),
              TensorArg(y.index), ScratchArg()),
        arrays=(
            ConstArray("input_weights", "int8_t", _stack(w_x, np.int8, grouped=not wide)),
            ConstArray("recurrent_weights", "int8_t", _stack(w_h, np.int8, grouped=not wide)),
            ConstArray("bias", bias_ctype, np.concatenate(folded).astype(bias_np)),
        ),
        scratch_bytes=3 * n_state * 2,
    )


def _fold(op: Op, w: Tensor, bias: Tensor | None, source: Tensor, wide: bool) -> np.ndarray:
    """The FC's bias with the source's zero point folded in (no bias: the recurrent FCs)."""
    n_state = w.shape[0]
    if not wide:  # int32 accumulator: fold_input_offset refuses sums that could overflow
        return fold_input_offset(bias.data if bias is not None else None, w.data,
                                 source.zero_point, n_state, (1,))
    weights = w.data.astype(np.int64)
    raw = bias.data.astype(np.int64) if bias is not None else np.zeros(n_state, np.int64)
    zp = source.zero_point
    low, high = INT_RANGES["int16"]
    reach = max(abs(low - zp), abs(high - zp))
    mass = np.abs(weights).sum(axis=1)
    worst = int(np.max(np.abs(raw) + mass * reach))
    folded = raw - zp * weights.sum(axis=1)
    worst = max(worst, int(np.max(np.abs(folded) + mass * (1 << 15))))
    if worst >= S64_LIMIT:
        raise unsupported(op, f"the bias and weights {w.label} can take the int64 accumulator "
                              f"to {worst}, beyond TFLM's 16x8 limit of 2^47")
    return folded


def _stack(tensors: list[Tensor], dtype, grouped: bool = False) -> np.ndarray:
    """The four gates' matrices one after the other; `grouped`: each in the row-group layout of
    fully_connected.h, whose dot products the 8x8 kernel calls."""
    return np.concatenate([(group_rows(t.data) if grouped else t.data).reshape(-1)
                           for t in tensors]).astype(dtype)


def _lower_float(op: Op, shape: dict[str, int], x: Tensor, w_x: list[Tensor],
                 w_h: list[Tensor], biases: list[Tensor], hidden: Tensor, cell: Tensor,
                 y: Tensor, cell_tanh: int, cell_clip: float) -> KernelCall:
    low, high = float_activation_range("NONE")
    params = (*shape.items(), ("cell_gate_tanh", cell_tanh), ("use_cell_clip", int(cell_clip > 0)),
              ("cell_clip", cell_clip), ("activation_min", low), ("activation_max", high))
    return KernelCall(
        op=op,
        function="tinyc_lstm_f32",
        header="lstm.h",
        params_type="tinyc_lstm_f32_params",
        params=params,
        args=(TensorArg(x.index), ArrayArg("input_weights"), ArrayArg("recurrent_weights"),
              ArrayArg("bias"), TensorArg(hidden.index), TensorArg(cell.index),
              TensorArg(y.index), ScratchArg()),
        arrays=(
            ConstArray("input_weights", "float", _stack(w_x, np.float32)),
            ConstArray("recurrent_weights", "float", _stack(w_h, np.float32)),
            ConstArray("bias", "float", _stack(biases, np.float32)),
        ),
        scratch_bytes=3 * shape["state_size"] * 4,
    )
