"""SVDF as TFLM's micro kernel runs it (micro/kernels/svdf.cc, svdf_common.cc).

What TFLM takes (PrepareSvdf), and so tinyc:
  - int8 input, int8 feature weights, int16 time weights and state (EvalInt16SvdfReference) or
    int8 time weights and state (EvalInt8SvdfReference), int32 bias, int8 output; or float32
    throughout. The state must have the time weights' type (Eval picks the kernel by the time
    weights' type and reads the state as that type);
  - input [batches, input_size], feature weights [filters, input_size], time weights
    [filters, memory], bias [units] with units = filters / rank, state [batches, memory * filters]
    (a variable tensor), output [batches, units];
  - the bias: TFLM's Prepare reads the bias's scale (int8) and its Eval reads its data (float)
    without checking that it is there, so a model without one is refused;
  - int8: the bias's scale must be within 1e-5 of state scale * time weights scale; the fused
    activation is ignored (TFLM's integer kernel only clamps to int8); weights' zero points are
    ignored, as TFLM ignores them;
  - float32: the fused activation is applied as ActivationValFloat (NONE, RELU, RELU_N1_TO_1,
    RELU6, TANH, SIGN_BIT: every value of the schema's ActivationFunctionType).

The effective scales, then QuantizeMultiplier of each:
    effective_scale_1 = input_scale * feature_weights_scale / state_scale
    effective_scale_2 = state_scale * time_weights_scale / output_scale
PrepareSvdf's source writes them in float; the wheel we verify against computes them as in
double (as it does FULLY_CONNECTED's and the LSTM's FC multipliers), and the wheel wins.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import f32, fold_input_offset, quantize_multiplier
from . import (
    ArrayArg,
    ConstArray,
    KernelCall,
    TensorArg,
    optional_input,
    register,
    unsupported,
)

INT32_MAX = (1 << 31) - 1
# runtime/svdf.h TINYC_SVDF_ACT_*: every ActivationFunctionType (ActivationValFloat also takes
# sigmoid, which the schema cannot express)
FLOAT_ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4,
                     "SIGN_BIT": 5}


@register(
    "SVDF",
    inputs=5,
    optional=(3,),
    types="int8, float32",
    notes="int8 input and output with int16 (or int8) time weights and state, int32 bias; or "
    "float32; any rank and memory; the bias is required (TFLM reads it unchecked); int8 ignores "
    "the fused activation (as TFLM), float32 applies NONE/RELU/RELU_N1_TO_1/RELU6/TANH/SIGN_BIT",
)
def lower_svdf(graph: Graph, op: Op) -> KernelCall:
    x = graph.tensor(op.inputs[0])
    wf = graph.tensor(op.inputs[1])
    wt = graph.tensor(op.inputs[2])
    state = graph.tensor(op.inputs[4])
    y = graph.tensor(op.outputs[0])
    bias_index = optional_input(op, 3)
    if bias_index < 0:
        raise unsupported(op, "SVDF without a bias is not supported (TFLM's kernel reads the "
                              "bias without checking that it is there)")
    bias = graph.tensor(bias_index)
    rank = op.options.get("rank", 0)
    if not isinstance(rank, int) or rank < 1:
        raise unsupported(op, f"rank={rank} is not supported (at least 1)")
    shape = _shapes(op, x, wf, wt, bias, state, y, rank)
    if not state.is_variable or state.is_const:
        raise unsupported(op, f"state {state.label} must be a variable tensor (TFLM requires it)")
    for t in (wf, wt, bias):
        if not t.is_const:
            raise unsupported(op, f"{t.label} must be constant")
    if x.dtype == "float32":
        return _lower_float(op, shape, x, wf, wt, bias, state, y)
    if x.dtype == "int8":
        return _lower_int8(op, shape, x, wf, wt, bias, state, y)
    raise unsupported(op, f"input {x.label} of type {x.dtype} is not supported (TFLM takes int8 "
                          f"and float32)")


def _shapes(op: Op, x: Tensor, wf: Tensor, wt: Tensor, bias: Tensor, state: Tensor, y: Tensor,
            rank: int) -> dict[str, int]:
    """PrepareSvdf's shape checks."""
    for t, what in ((x, "input"), (wf, "feature weights"), (wt, "time weights"),
                    (state, "state"), (y, "output")):
        if len(t.shape) != 2:
            raise unsupported(op, f"{what} {t.label} of rank {len(t.shape)} (TFLM requires 2)")
    batches, input_size = x.shape
    filters = wf.shape[0]
    memory = wt.shape[1]
    if min(batches, input_size, filters, memory) < 1:
        raise unsupported(op, "empty input, weights or memory")
    if filters % rank:
        raise unsupported(op, f"rank={rank} does not divide the {filters} filters")
    units = filters // rank
    if wf.shape[1] != input_size:
        raise unsupported(op, f"feature weights {list(wf.shape)} do not match input "
                              f"{list(x.shape)}")
    if wt.shape[0] != filters:
        raise unsupported(op, f"time weights {list(wt.shape)} do not match {filters} filters")
    if len(bias.shape) < 1 or bias.shape[0] != units or bias.size != units:
        raise unsupported(op, f"bias {bias.label} of shape {list(bias.shape)}, expected "
                              f"[{units}]")
    if tuple(state.shape) != (batches, memory * filters):
        raise unsupported(op, f"state {state.label} of shape {list(state.shape)}, expected "
                              f"{[batches, memory * filters]}")
    if tuple(y.shape) != (batches, units):
        raise unsupported(op, f"output shape {list(y.shape)}, expected {[batches, units]}")
    if max(state.size, x.size, wf.size) > INT32_MAX:
        raise unsupported(op, "tensors too large for int32 indexing")
    return {"batches": batches, "input_size": input_size, "filters": filters, "units": units,
            "rank": rank, "memory": memory}


def effective_scale(a: float, b: float, c: float) -> float:
    """a * b / c for PrepareSvdf's effective scales. The source (svdf_common.cc at 90b983c)
    computes it in float and widens the result; the tflite-micro wheel, the oracle, rounds as if
    in double (tests/test_op_svdf.py pins this on scales where the two differ)."""
    return a * b / c


def _lower_int8(op: Op, shape: dict[str, int], x: Tensor, wf: Tensor, wt: Tensor, bias: Tensor,
                state: Tensor, y: Tensor) -> KernelCall:
    signature = (x.dtype, wf.dtype, wt.dtype, bias.dtype, state.dtype, y.dtype)
    allowed = {("int8", "int8", t, "int32", t, "int8") for t in ("int16", "int8")}
    if signature not in allowed:
        raise unsupported(op, f"input/feature weights/time weights/bias/state/output types "
                              f"{'/'.join(signature)} are not supported (TFLM takes "
                              f"int8/int8/int16/int32/int16/int8, or int8 time weights and state)")
    for t in (x, wf, wt, bias, state, y):
        if t.quant is None:
            raise unsupported(op, f"{t.label} has no quantization parameters")
        if t.quant.per_channel:
            raise unsupported(op, f"{t.label} has per-channel quantization")
    bias_scale_expected = f32(state.scale * wt.scale)
    if not abs(bias.scale - bias_scale_expected) < 1e-5:
        raise unsupported(op, f"bias {bias.label} has scale {bias.scale:g}, not state scale * "
                              f"time weights scale = {bias_scale_expected:g} (TFLM requires it "
                              f"within 1e-5)")
    m1, s1 = quantize_multiplier(effective_scale(x.scale, wf.scale, state.scale))
    m2, s2 = quantize_multiplier(effective_scale(state.scale, wt.scale, y.scale))
    # TFLM's feature dot product starts at 0: the input offset as a per-filter constant.
    feature_bias = fold_input_offset(None, wf.data, x.zero_point, shape["filters"], (1,))
    wide = state.dtype == "int16"
    return KernelCall(
        op=op,
        function="tinyc_svdf_s8_s16" if wide else "tinyc_svdf_s8",
        header="svdf.h",
        params_type="tinyc_svdf_params",
        params=(*shape.items(),
                ("feature_multiplier", m1), ("feature_shift", s1),
                ("output_multiplier", m2), ("output_shift", s2),
                ("state_zero_point", state.zero_point), ("output_zero_point", y.zero_point)),
        args=(TensorArg(x.index), TensorArg(wf.index), ArrayArg("feature_bias"),
              TensorArg(wt.index), TensorArg(bias.index), TensorArg(state.index),
              TensorArg(y.index)),
        arrays=(ConstArray("feature_bias", "int32_t", feature_bias.astype(np.int32)),),
    )


def _lower_float(op: Op, shape: dict[str, int], x: Tensor, wf: Tensor, wt: Tensor, bias: Tensor,
                 state: Tensor, y: Tensor) -> KernelCall:
    types = {t.dtype for t in (x, wf, wt, bias, state, y)}
    if types != {"float32"}:
        raise unsupported(op, f"tensor types {'/'.join(sorted(types))}: float32 SVDF takes "
                              f"float32 weights, bias, state and output (as TFLM)")
    activation = op.options.get("fused_activation_function")
    if activation not in FLOAT_ACTIVATIONS:
        raise unsupported(op, f"fused_activation_function={activation} is not supported")
    return KernelCall(
        op=op,
        function="tinyc_svdf_f32",
        header="svdf.h",
        params_type="tinyc_svdf_f32_params",
        params=(*shape.items(), ("activation", FLOAT_ACTIVATIONS[activation])),
        args=(TensorArg(x.index), TensorArg(wf.index), TensorArg(wt.index),
              TensorArg(bias.index), TensorArg(state.index), TensorArg(y.index)),
    )
