"""Element-wise unary ops: ABS NEG SQUARE RSQRT SQRT EXP LOG SIN COS FLOOR CEIL ROUND ELU
LOGICAL_NOT, for every type TFLM's micro kernels evaluate.

Types are what each kernel's Eval switch takes (micro/kernels/elementwise.cc, neg.cc, exp.cc,
floor.cc, ceil.cc, round.cc, elu.cc). elementwise.cc's Prepare type check is a no-op (its
template parameter is unnamed, so `IsSupportedType(type)` is a cast, never a call), so Eval
decides: RSQRT also runs int16 there.
  float32: every op but LOGICAL_NOT, a C loop calling the libm function TFLM calls
           (runtime/unary.h).
  int8:    ABS, RSQRT, ELU. The output is a fixed function of the input byte, so the compiler
           evaluates it on all 256 values with a Python port of TFLM's arithmetic (below) and the
           kernel is runtime/lut.h's table load. ELU int8 is a table in TFLM too.
  int16:   ABS (quantized: AbsEvalQuantized; unquantized: std::abs), RSQRT (quantized), in C:
           a 65536-entry table would not be small.
  bool:    LOGICAL_NOT.
Quantized int16 needs zero points 0 (Prepare checks). Unquantized int8 is refused as Prepare
refuses it; unquantized int16 RSQRT too: Prepare then leaves the rescale parameters unset and Eval
reads them anyway. The ABS and RSQRT multipliers are computed in double, as the tflite-micro wheel
(the oracle) does, although elementwise.cc's source reads float arithmetic.

RSQRT of a value below the input zero point (a negative real) makes TFLM's Eval fail; tinyc has
no failure path in an element loop and computes the same arithmetic as for other values
(GetInvSqrtQuantizedMultiplierExp treats inputs <= 1 as 1). Only inputs TFLM accepts are tested.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize import (
    f32,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from . import ArrayArg, ConstArray, KernelCall, TensorArg, register, unsupported

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

# --- TFLM's arithmetic, ported for the int8 tables (runtime/unary.h has the int16 C port) ------


def _clamp(x: int, lo: int, hi: int) -> int:
    return min(max(x, lo), hi)


def _saturating_shift_left(x: int, exponent: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31."""
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << exponent


def inv_sqrt_multiplier_exp(value: int) -> tuple[int, int]:
    """TFLM GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1): (multiplier, shift).

    Newton-Raphson x <- 1.5 x - (value / 2) x^3 in gemmlowp Q3.28, five times from x = 1
    (kernels/internal/common.h); values <= 1 give (INT32_MAX, 0)."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    leading_zeros = 32 - value.bit_length()
    pairs = (leading_zeros - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    srdhm = saturating_rounding_doubling_high_mul
    half_input = rounding_divide_by_pot(value >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28
    for _ in range(5):
        x3 = _saturating_shift_left(srdhm(srdhm(x, x), x), 6)  # Rescale<3> of a Q9 value
        x = _saturating_shift_left(wrap_int32(srdhm(half_three, x) - srdhm(half_input, x3)), 3)
    x = srdhm(x, 1518500250)  # times sqrt(2) / 2
    if shift < 0:
        x = wrap_int32(x << -shift)
        shift = 0
    return x, -shift


def rsqrt_multiplier(input_scale: float, output_scale: float) -> tuple[int, int]:
    """SetRsqrtOutputMultiplier: 1 / (sqrt(input scale) * output scale).

    The source takes the square root and the product in float; the tflite-micro wheel (the
    oracle) computes in double, which changes int16 outputs (tests/test_op_unary.py)."""
    return quantize_multiplier(1.0 / (math.sqrt(input_scale) * output_scale))


def rsqrt_quantized(value: int, input_zero_point: int, output_zero_point: int,
                    multiplier: int, shift: int, qmin: int, qmax: int) -> int:
    """RsqrtEvalQuantized for one value."""
    x = value - input_zero_point
    if x == 0:
        return qmax
    inv_sqrt, inv_shift = inv_sqrt_multiplier_exp(x)
    data = multiply_by_quantized_multiplier(1, inv_sqrt, inv_shift + 20)
    out = multiply_by_quantized_multiplier(data, multiplier, shift - 20) + output_zero_point
    return _clamp(out, qmin, qmax)


def abs_params(input_scale: float, output_scale: float) -> tuple[bool, int, int]:
    """PrepareAbsRsqrt for ABS: (needs_rescale, multiplier, shift); the float scales compared.

    SetAbsOutputMultiplier reads `input_scale / output_scale` in float; the tflite-micro wheel
    (the oracle) divides in double, which changes int16 outputs (tests/test_op_unary.py)."""
    needs_rescale = f32(input_scale) != f32(output_scale)
    if not needs_rescale:
        return False, 0, 0
    return (True, *quantize_multiplier(input_scale / output_scale))


def abs_quantized(value: int, input_zero_point: int, output_zero_point: int,
                  params: tuple[bool, int, int], qmin: int, qmax: int) -> int:
    """AbsEvalQuantized for one value."""
    needs_rescale, multiplier, shift = params
    x = abs(value - input_zero_point)
    if needs_rescale:
        x = multiply_by_quantized_multiplier(x, multiplier, shift)
    return _clamp(x + output_zero_point, qmin, qmax)


class TableError(ValueError):
    """Quantization for which TFLM's table arithmetic is undefined behaviour."""


def elu_table(input_scale: float, input_zero_point: int, output_scale: float,
              output_zero_point: int) -> list[int]:
    """elu.cc PopulateLookupTable<int8_t>: dequantize, exp(x) - 1 below 0, requantize, all in
    float. expf is taken as the correctly rounded exp (a double exp rounded to float); glibc's
    expf agrees with it on every table the tests compare with TFLM."""
    in_scale, out_scale = f32(input_scale), f32(output_scale)
    inverse_scale = f32(1.0 / out_scale)
    table = []
    for value in range(-128, 128):
        dequantized = f32(in_scale * f32(value - input_zero_point))
        transformed = f32(f32(math.exp(dequantized)) - 1.0) if dequantized < 0.0 else dequantized
        scaled = f32(transformed * inverse_scale)
        rescaled = f32(round_half_away(scaled)) if math.isfinite(scaled) else scaled
        total = f32(rescaled + output_zero_point)
        if not math.isfinite(total) or not INT32_MIN <= math.trunc(total) <= INT32_MAX:
            raise TableError(f"input/output scales {in_scale:g}/{out_scale:g} overflow TFLM's "
                             "int32 conversion in its ELU table")
        table.append(_clamp(math.trunc(total), -128, 127))
    return table


# --- lowering ----------------------------------------------------------------------------------


def _operands(graph: Graph, op: Op, types: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype not in types:
        raise unsupported(op, f"{x.label} has type {x.dtype} (supported: {', '.join(types)})")
    if y.dtype != x.dtype:
        raise unsupported(op, f"input type {x.dtype} and output type {y.dtype} differ")
    if x.size != y.size:
        raise unsupported(op, f"input shape {list(x.shape)} and output shape {list(y.shape)} "
                              f"differ in size")
    return x, y


def _same_shape(op: Op, x: Tensor, y: Tensor) -> None:
    """EXP, CEIL and ROUND's Prepare require identical dims."""
    if x.shape != y.shape:
        raise unsupported(op, f"input shape {list(x.shape)} and output shape {list(y.shape)} "
                              f"differ (TFLM requires equal shapes)")


def _quantized(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.quant is None:
            raise unsupported(op, f"{t.label} ({t.dtype}) is not quantized")
        if t.quant.per_channel:
            raise unsupported(op, f"{t.label} has per-channel quantization")


def _zero_points_zero(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.zero_point != 0:
            raise unsupported(op, f"int16 {t.label} has zero point {t.zero_point} "
                                  "(TFLM requires 0)")


def _float_call(op: Op, x: Tensor, y: Tensor, name: str) -> KernelCall:
    return KernelCall(
        op=op,
        function=f"tinyc_{name}_f32",
        header="unary.h",
        params_type="tinyc_unary_params",
        params=(("size", y.size),),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


def _lut_call(op: Op, x: Tensor, y: Tensor, values: list[int]) -> KernelCall:
    return KernelCall(
        op=op,
        function="tinyc_lut_s8",
        header="lut.h",
        params_type="tinyc_lut_params",
        params=(("size", y.size),),
        args=(ArrayArg("table"), TensorArg(x.index), TensorArg(y.index)),
        arrays=(ConstArray("table", "int8_t", np.array(values, dtype=np.int8)),),
    )


FLOAT_ONLY = {
    "NEG": "neg",
    "SQUARE": "square",
    "SQRT": "sqrt",
    "EXP": "exp",
    "LOG": "log",
    "SIN": "sin",
    "COS": "cos",
    "FLOOR": "floor",
    "CEIL": "ceil",
    "ROUND": "round",
}
_LIBM_NOTE = {"EXP": "expf", "LOG": "logf", "SIN": "sinf", "COS": "cosf"}


def _float_only_notes(kind: str) -> str:
    if kind in _LIBM_NOTE:
        return (f"calls {_LIBM_NOTE[kind]} as TFLM does: the last bit follows the target's libm")
    if kind == "ROUND":
        return "halves to even, as TFLM's RoundToNearest"
    return "as TFLM's reference kernel"


def _lower_float_only(graph: Graph, op: Op) -> KernelCall:
    x, y = _operands(graph, op, ("float32",))
    if op.kind in ("EXP", "CEIL", "ROUND"):
        _same_shape(op, x, y)
    return _float_call(op, x, y, FLOAT_ONLY[op.kind])


for _kind in FLOAT_ONLY:
    register(_kind, types="float32", inputs=1, notes=_float_only_notes(_kind))(_lower_float_only)

_TABLE = "int8: 256-byte table from TFLM's integer arithmetic"


@register("ABS", types="int8, int16, float32", inputs=1,
          notes=f"{_TABLE}; int16 quantized (zero points 0) or not")
def lower_abs(graph: Graph, op: Op) -> KernelCall:
    x, y = _operands(graph, op, ("int8", "int16", "float32"))
    if x.dtype == "float32":
        return _float_call(op, x, y, "abs")
    if x.dtype == "int8":
        _quantized(op, x, y)
        params = abs_params(x.scale, y.scale)
        return _lut_call(op, x, y, [abs_quantized(v, x.zero_point, y.zero_point, params,
                                                  -128, 127) for v in range(-128, 128)])
    if x.quant is None:  # EvalImpl<int16_t> with std::abs: the output's quantization is unused
        return KernelCall(op=op, function="tinyc_abs_s16", header="unary.h",
                          params_type="tinyc_unary_params", params=(("size", y.size),),
                          args=(TensorArg(x.index), TensorArg(y.index)))
    _quantized(op, x, y)
    _zero_points_zero(op, x, y)
    needs_rescale, multiplier, shift = abs_params(x.scale, y.scale)
    return KernelCall(
        op=op,
        function="tinyc_abs_quantized_s16",
        header="unary.h",
        params_type="tinyc_abs_quantized_s16_params",
        params=(("size", y.size), ("input_offset", x.zero_point),
                ("output_offset", y.zero_point), ("needs_rescale", int(needs_rescale)),
                ("multiplier", multiplier), ("shift", shift)),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


@register("RSQRT", types="int8, int16, float32", inputs=1,
          notes=f"{_TABLE}; int16 quantized with zero points 0; an input below the zero point "
                "(TFLM's Eval fails) gives the output of zero point + 1")
def lower_rsqrt(graph: Graph, op: Op) -> KernelCall:
    x, y = _operands(graph, op, ("int8", "int16", "float32"))
    if x.dtype == "float32":
        return _float_call(op, x, y, "rsqrt")
    _quantized(op, x, y)
    multiplier, shift = rsqrt_multiplier(x.scale, y.scale)
    if multiplier and shift - 20 < -31:  # RsqrtEvalQuantized shifts right by 20 - shift
        raise unsupported(op, f"input/output scales {x.scale:g}/{y.scale:g} make TFLM shift "
                              "right by more than 31 (undefined behaviour)")
    if x.dtype == "int8":
        return _lut_call(op, x, y, [rsqrt_quantized(v, x.zero_point, y.zero_point, multiplier,
                                                    shift, -128, 127) for v in range(-128, 128)])
    _zero_points_zero(op, x, y)
    return KernelCall(
        op=op,
        function="tinyc_rsqrt_s16",
        header="unary.h",
        params_type="tinyc_rsqrt_s16_params",
        params=(("size", y.size), ("input_offset", x.zero_point),
                ("output_offset", y.zero_point), ("multiplier", multiplier), ("shift", shift)),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


@register("ELU", types="int8, float32", inputs=1,
          notes="float32 calls expm1f as TFLM does (the last bit follows the target's libm); "
                "int8: TFLM's own 256-entry table (float arithmetic)")
def lower_elu(graph: Graph, op: Op) -> KernelCall:
    x, y = _operands(graph, op, ("int8", "float32"))
    if x.dtype == "float32":
        return _float_call(op, x, y, "elu")
    _quantized(op, x, y)
    try:
        values = elu_table(x.scale, x.zero_point, y.scale, y.zero_point)
    except TableError as exc:
        raise unsupported(op, str(exc)) from None
    return _lut_call(op, x, y, values)


@register("LOGICAL_NOT", types="bool", inputs=1, notes="as TFLM")
def lower_logical_not(graph: Graph, op: Op) -> KernelCall:
    x, y = _operands(graph, op, ("bool",))
    return KernelCall(op=op, function="tinyc_logical_not_b", header="unary.h",
                      params_type="tinyc_unary_params", params=(("size", y.size),),
                      args=(TensorArg(x.index), TensorArg(y.index)))
