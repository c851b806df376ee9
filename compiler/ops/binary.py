"""MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, DIV, FLOOR_DIV, FLOOR_MOD, PRELU (broadcasting) and ADD_N.

Types are those of each TFLM kernel's Eval switch (micro/kernels/maximum_minimum.cc,
squared_difference.cc, div.cc, floor_div.cc, floor_mod.cc, prelu.cc, add_n.cc):
  MAXIMUM, MINIMUM    int8, int16, int32, int64, float32; no rescaling for any type (TFLM
                      compares the stored values and copies the larger or smaller).
  SQUARED_DIFFERENCE  int8, int16 (quantized; int16 zero points 0), int32, float32.
  DIV                 int8 (quantized), int32, float32; fused NONE/RELU/RELU6/RELU_N1_TO_1.
  FLOOR_DIV/FLOOR_MOD float32.
  PRELU               int8 (int8 alpha), int16 (int8 alpha), float32 (rank <= 4, as
                      BroadcastPrelu4DSlowFloat); alpha constant or not, broadcast either way.
  ADD_N               int8 (every input with the same scale and zero point), float32; all
                      inputs of the output's shape, 2 to 8 of them.
Multipliers are computed as the Prepare functions compute them (the comments say in which
precision). Broadcasting is `elementwise.broadcast_loops`' six-loop walk (runtime/binary.h).

int8 DIV: the reciprocal of the divisor (TFLM's GetReciprocal, a gemmlowp Newton-Raphson) depends
only on |input2 - zero point| <= 255, so it is tabulated here (two 256-entry arrays, shared by
every DIV of a model). DivElementwise then shifts right by more than 31 for small numerators and
large divisors, undefined behaviour in C that TFLM's x86-64 build (the oracle) runs as a shift by
the count mod 32; runtime/binary.h reproduces that, so other CPUs' TFLM builds may differ from
tinyc (and from each other) on those elements.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import (
    activation_range,
    f32,
    float_activation_range,
    quantize_multiplier,
    wrap_int32,
)
from . import (
    FUSED_ACTIVATIONS,
    ArrayArg,
    ConstArray,
    KernelCall,
    TensorArg,
    register,
    require_option,
    unsupported,
)
from .activations import _one_over_one_plus_x_for_x_in_0_1
from .elementwise import broadcast_loops

INT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "int64": "s64", "float32": "f32",
          "bool": "b"}
MAX_ADD_N_INPUTS = 8  # runtime/binary.h has one wrapper per count

# --- helpers shared with comparison.py --------------------------------------------------------


def loop_params(loops: list[tuple[int, int, int]]) -> tuple[tuple[str, int], ...]:
    """The walk's fields of a params struct, in declaration order."""
    return (
        tuple((f"dim{i}", e) for i, (e, _, _) in enumerate(loops))
        + tuple((f"input1_stride{i}", s) for i, (_, s, _) in enumerate(loops))
        + tuple((f"input2_stride{i}", s) for i, (_, _, s) in enumerate(loops))
    )


def binary_operands(graph: Graph, op: Op, types: tuple[str, ...]
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """input1, input2, output; the inputs of one type from `types`."""
    x1, x2, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if x1.dtype not in types:
        raise unsupported(op, f"{x1.label} has type {x1.dtype} (supported: {', '.join(types)})")
    if x2.dtype != x1.dtype:
        raise unsupported(op, f"input types {x1.dtype} and {x2.dtype} differ")
    return x1, x2, y


def require_output_type(op: Op, y: Tensor, dtype: str) -> None:
    if y.dtype != dtype:
        raise unsupported(op, f"output {y.label} has type {y.dtype} (expected {dtype})")


def require_quantized(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.quant is None:
            raise unsupported(op, f"{t.label} ({t.dtype}) is not quantized")
        if t.quant.per_channel:
            raise unsupported(op, f"{t.label} has per-channel quantization")
        low, high = INT_RANGE.get(t.dtype, (-(1 << 31), (1 << 31) - 1))
        if not low <= t.zero_point <= high:
            raise unsupported(op, f"{t.label} zero point {t.zero_point} is outside {t.dtype}")


def smaller_than_one(op: Op, real: float, what: str) -> tuple[int, int]:
    """TFLM QuantizeMultiplierSmallerThanOneExp, which aborts outside (0, 1): refused instead."""
    if not 0.0 < real < 1.0:
        raise unsupported(op, f"{what} rescale factor {real:g} is outside (0, 1), which TFLM "
                              "rejects")
    multiplier, shift = quantize_multiplier(real)
    if shift > 0:
        raise unsupported(op, f"{what} rescale factor {real:g} rounds to 1, which TFLM rejects")
    return multiplier, shift


def _walk_call(op: Op, function: str, params_type: str, params: tuple, loops, args, arrays=()
               ) -> KernelCall:
    return KernelCall(op=op, function=function, header="binary.h", params_type=params_type,
                      params=tuple(params) + loop_params(loops), args=args, arrays=arrays)


def _args(x1: Tensor, x2: Tensor, y: Tensor) -> tuple[TensorArg, ...]:
    return TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)


# --- MAXIMUM / MINIMUM ---------------------------------------------------------------------------


@register("MAXIMUM", types="int8, int16, int32, int64, float32", inputs=2,
          notes="broadcasting up to rank 6; no rescaling (as TFLM: the stored values compare)")
@register("MINIMUM", types="int8, int16, int32, int64, float32", inputs=2,
          notes="broadcasting up to rank 6; no rescaling (as TFLM: the stored values compare)")
def lower_maximum_minimum(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = binary_operands(graph, op, ("int8", "int16", "int32", "int64", "float32"))
    require_output_type(op, y, x1.dtype)
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    return _walk_call(op, f"tinyc_{op.kind.lower()}_{SUFFIX[x1.dtype]}", "tinyc_binary_params",
                      (), loops, _args(x1, x2, y))


# --- SQUARED_DIFFERENCE --------------------------------------------------------------------------


def squared_difference_params(s1: float, s2: float, s_out: float, left_shift: int
                              ) -> tuple[float, float, float]:
    """squared_difference.cc PrepareQuantized: real input1, input2 and output multipliers.

    In double, except `(1 << left_shift * 2) * output scale`, an int times a float (exact)."""
    twice_max = 2.0 * max(f32(s1), f32(s2))
    return (f32(s1) / twice_max, f32(s2) / twice_max,
            twice_max * twice_max / f32((1 << (2 * left_shift)) * f32(s_out)))


@register("SQUARED_DIFFERENCE", types="int8, int16, int32, float32", inputs=2,
          notes="broadcasting up to rank 6; int8/int16 quantized (int16 zero points 0); int32 "
                "wraps on overflow")
def lower_squared_difference(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = binary_operands(graph, op, ("int8", "int16", "int32", "float32"))
    require_output_type(op, y, x1.dtype)
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    suffix = SUFFIX[x1.dtype]
    if x1.dtype in ("int32", "float32"):
        return _walk_call(op, f"tinyc_squared_difference_{suffix}", "tinyc_binary_params", (),
                          loops, _args(x1, x2, y))
    require_quantized(op, x1, x2, y)
    if x1.dtype == "int16":
        for t in (x1, x2, y):
            if t.zero_point != 0:
                raise unsupported(op, f"int16 {t.label} has zero point {t.zero_point} (TFLM "
                                      "requires 0)")
    left_shift = 7 if x1.dtype == "int8" else 0
    r1, r2, r_out = squared_difference_params(x1.scale, x2.scale, y.scale, left_shift)
    m1, sh1 = smaller_than_one(op, r1, "input 1")
    m2, sh2 = smaller_than_one(op, r2, "input 2")
    mo, sho = quantize_multiplier(r_out)
    low, high = INT_RANGE[x1.dtype]
    return _walk_call(
        op, f"tinyc_squared_difference_{suffix}", f"tinyc_squared_difference_{suffix}_params",
        (("input1_offset", -x1.zero_point), ("input2_offset", -x2.zero_point),
         ("output_offset", y.zero_point), ("left_shift", left_shift),
         ("input1_multiplier", m1), ("input1_shift", sh1), ("input2_multiplier", m2),
         ("input2_shift", sh2), ("output_multiplier", mo), ("output_shift", sho),
         ("activation_min", low), ("activation_max", high)),
        loops, _args(x1, x2, y))


# --- DIV -------------------------------------------------------------------------------------


def _clz32(u: int) -> int:
    return 32 - (u & 0xFFFFFFFF).bit_length()


def get_reciprocal(x: int) -> tuple[int, int]:
    """TFLM GetReciprocal(x, x_integer_digits = 31): (Q0.31 reciprocal, num_bits_over_unit).

    x = 0 (a zero divisor, which TFLM only DCHECKs) shifts by 32, a no-op on a 0 operand."""
    headroom_plus_one = _clz32(x)
    shifted_sum_minus_one = wrap_int32(((x << (headroom_plus_one & 31)) & 0xFFFFFFFF) - (1 << 31))
    return _one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), 31 - headroom_plus_one


def reciprocal_tables() -> tuple[np.ndarray, np.ndarray]:
    """GetReciprocal of every |divisor| 0..255 an int8 DIV can meet."""
    pairs = [get_reciprocal(v) for v in range(256)]
    return (np.array([r for r, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int8))


DIV_SHIFT_RANGE = (-24, 22)  # keeps DivElementwise's shift exponent in [0, 62]


@register("DIV", types="int8, int32, float32", inputs=2,
          notes="broadcasting up to rank 6; fused NONE/RELU/RELU6/RELU_N1_TO_1; int8 quantized, "
                "with TFLM's x86-64 results where its shift is undefined; no check for zero "
                "int32 divisors (as TFLM)")
def lower_div(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = binary_operands(graph, op, ("int8", "int32", "float32"))
    require_output_type(op, y, x1.dtype)
    activation = require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    if x1.dtype == "float32":
        low, high = float_activation_range(activation)
        return _walk_call(op, "tinyc_div_f32", "tinyc_div_f32_params",
                          (("activation_min", low), ("activation_max", high)), loops,
                          _args(x1, x2, y))
    if x1.dtype == "int32":
        if x1.quant is not None or x2.quant is not None:
            raise unsupported(op, "quantized int32 inputs (TFLM supports unquantized int32 only)")
        low, high = {"NONE": (-(1 << 31), (1 << 31) - 1), "RELU": (0, (1 << 31) - 1),
                     "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}[activation]
        return _walk_call(op, "tinyc_div_s32", "tinyc_div_s32_params",
                          (("activation_min", low), ("activation_max", high)), loops,
                          _args(x1, x2, y))
    require_quantized(op, x1, x2, y)
    # CalculateOpDataDiv: input1 scale / (input2 scale * output scale). The source reads float
    # arithmetic; the tflite-micro wheel (the oracle) computes in double, which changes outputs
    # (tests/test_op_binary.py checks all 65536 input pairs at several scales).
    multiplier, shift = quantize_multiplier(x1.scale / (x2.scale * y.scale))
    if not DIV_SHIFT_RANGE[0] <= shift <= DIV_SHIFT_RANGE[1]:
        raise unsupported(op, f"rescale factor {x1.scale / (x2.scale * y.scale):g} is out of the "
                              "range TFLM's DivElementwise shifts can express")
    act_min, act_max = activation_range(activation, y.scale, y.zero_point)
    reciprocal, reciprocal_shift = reciprocal_tables()
    return _walk_call(
        op, "tinyc_div_s8", "tinyc_div_s8_params",
        (("input1_offset", -x1.zero_point), ("input2_offset", -x2.zero_point),
         ("output_offset", y.zero_point), ("output_multiplier", multiplier),
         ("output_shift", shift), ("activation_min", act_min), ("activation_max", act_max)),
        loops,
        (ArrayArg("reciprocal"), ArrayArg("reciprocal_shift"), *_args(x1, x2, y)),
        (ConstArray("reciprocal", "int32_t", reciprocal),
         ConstArray("reciprocal_shift", "int8_t", reciprocal_shift)),
    )


# --- FLOOR_DIV / FLOOR_MOD -------------------------------------------------------------------


@register("FLOOR_DIV", types="float32", inputs=2,
          notes="broadcasting up to rank 6; floor of the double quotient, as TFLM (which fails "
                "on a zero divisor: tinyc gives IEEE infinity/NaN)")
@register("FLOOR_MOD", types="float32", inputs=2,
          notes="broadcasting up to rank 6; fmodf moved to the divisor's sign, as TFLM")
def lower_floor_div_mod(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = binary_operands(graph, op, ("float32",))
    require_output_type(op, y, "float32")
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    return _walk_call(op, f"tinyc_{op.kind.lower()}_f32", "tinyc_binary_params", (), loops,
                      _args(x1, x2, y))


# --- PRELU -----------------------------------------------------------------------------------


@register("PRELU", types="int8, int16, float32", inputs=2,
          notes="alpha constant or not, broadcast against the input (float32: rank <= 4, as "
                "TFLM); int8/int16 inputs with int8 alpha, quantized")
def lower_prelu(graph: Graph, op: Op) -> KernelCall:
    x, alpha, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
                   graph.tensor(op.outputs[0]))
    if x.dtype not in ("int8", "int16", "float32"):
        raise unsupported(op, f"{x.label} has type {x.dtype} (supported: int8, int16, float32)")
    require_output_type(op, y, x.dtype)
    expected_alpha = "float32" if x.dtype == "float32" else "int8"
    if alpha.dtype != expected_alpha:
        raise unsupported(op, f"alpha {alpha.label} has type {alpha.dtype} (TFLM takes "
                              f"{expected_alpha} alpha with {x.dtype} input)")
    if x.dtype == "float32":
        rank = max(len(x.shape), len(alpha.shape), len(y.shape))
        if rank > 4:
            raise unsupported(op, f"rank {rank} float32 tensors (TFLM's float PRELU takes at "
                                  "most 4)")
        loops = broadcast_loops(op, x.shape, alpha.shape, y.shape)
        return _walk_call(op, "tinyc_prelu_f32", "tinyc_binary_params", (), loops,
                          _args(x, alpha, y))
    require_quantized(op, x, alpha, y)
    loops = broadcast_loops(op, x.shape, alpha.shape, y.shape)
    # CalculatePreluParams, in double.
    m1, s1 = quantize_multiplier(x.scale / y.scale)
    m2, s2 = quantize_multiplier(x.scale * alpha.scale / y.scale)
    suffix = SUFFIX[x.dtype]
    return _walk_call(
        op, f"tinyc_prelu_{suffix}", f"tinyc_prelu_{suffix}_params",
        (("input_offset", -x.zero_point), ("alpha_offset", -alpha.zero_point),
         ("output_offset", y.zero_point), ("output_multiplier_1", m1), ("output_shift_1", s1),
         ("output_multiplier_2", m2), ("output_shift_2", s2)),
        loops, _args(x, alpha, y))


# --- ADD_N -----------------------------------------------------------------------------------

ADD_N_LEFT_SHIFT = 20  # add_n.cc kAddNIntegerShift


@register("ADD_N", types="int8, float32", inputs=(2, MAX_ADD_N_INPUTS),
          notes="2 to 8 inputs of the output's shape (no broadcasting, as TFLM); int8 inputs "
                "must share scale and zero point (as TFLM requires)")
def lower_add_n(graph: Graph, op: Op) -> KernelCall:
    inputs = [graph.tensor(t) for t in op.inputs]
    y = graph.tensor(op.outputs[0])
    if not 2 <= len(inputs) <= MAX_ADD_N_INPUTS:
        raise unsupported(op, f"{len(inputs)} inputs (tinyc takes 2 to {MAX_ADD_N_INPUTS})")
    if y.dtype not in ("int8", "float32"):
        raise unsupported(op, f"output {y.label} has type {y.dtype} (supported: int8, float32)")
    for t in inputs:
        if t.dtype != y.dtype:
            raise unsupported(op, f"{t.label} has type {t.dtype}, the output {y.dtype}")
        if t.shape != y.shape:
            raise unsupported(op, f"input shape {list(t.shape)} differs from the output shape "
                                  f"{list(y.shape)} (ADD_N does not broadcast)")
    n = len(inputs)
    args = (*(TensorArg(t.index) for t in inputs), TensorArg(y.index))
    if y.dtype == "float32":
        return KernelCall(op=op, function=f"tinyc_add_n{n}_f32", header="binary.h",
                          params_type="tinyc_add_n_f32_params",
                          params=(("size", y.size), ("input_count", n)), args=args)
    require_quantized(op, *inputs, y)
    first = inputs[0]
    for t in inputs[1:]:
        if f32(t.scale) != f32(first.scale) or t.zero_point != first.zero_point:
            raise unsupported(op, f"{t.label} has scale {t.scale:g} / zero point {t.zero_point}, "
                                  f"{first.label} {first.scale:g} / {first.zero_point}: TFLM "
                                  "requires the same quantization on every input")
    twice_max = 2 * first.scale
    mi, si = smaller_than_one(op, first.scale / twice_max, "input")
    mo, so = smaller_than_one(op, twice_max / ((1 << ADD_N_LEFT_SHIFT) * y.scale), "output")
    act_min, act_max = activation_range("NONE", y.scale, y.zero_point)
    return KernelCall(
        op=op, function=f"tinyc_add_n{n}_s8", header="binary.h",
        params_type="tinyc_add_n_s8_params",
        params=(("size", y.size), ("input_count", n), ("input_offset", -first.zero_point),
                ("output_offset", y.zero_point), ("left_shift", ADD_N_LEFT_SHIFT),
                ("input_multiplier", mi), ("input_shift", si), ("output_multiplier", mo),
                ("output_shift", so), ("activation_min", act_min), ("activation_max", act_max)),
        args=args)
