"""ADD, SUB and MUL: int8 and int16 with rescaling, float32 and int32; fused activation and
broadcasting.

Types are those of TFLM's micro kernels (add.cc, sub.cc, mul.cc; inputs and output of one type):
  int8, int16  quantized per tensor. ADD/SUB: both inputs are shifted left (20 for int8, 15 for
               int16) and scaled to twice the larger input scale by multipliers below one; the
               sum or difference is scaled to the output. All in double (add_common.cc,
               sub_common.cc). TFLM's micro ADD/SUB take any int16 zero point (only debug
               checks look at them) and never use the power-of-two int16 path of
               reference/add.h (micro add.cc passes pot_scale = false; pot_scale_int16 is
               ignored): tinyc does the same.
               MUL: one multiplier, s1 * s2 / s_out in double; int16 zero points must be 0
               (mul_common.cc).
  float32      the sum, difference or product clamped to the fused activation's range.
  int32        wrapping arithmetic, unquantized inputs for ADD and SUB (output too for SUB), as
               TFLM's Prepare requires. Quirks kept: int32 ADD ignores its fused activation
               (add.cc clamps to the whole int32 range), int32 SUB and MUL apply it.
SUB note: sub_common.cc at TFLM commit 90b983c divides the scales in float, but the tflite-micro
wheel that is tinyc's oracle divides in double like add_common.cc (its CalculateOpDataSub uses
divsd), and its outputs differ from the float version's for a few input pairs at some scales
(tests/test_op_elementwise.py checks all pairs). tinyc follows the oracle.

Broadcasting follows numpy / TFLM rules up to rank 6 (TFLM's RuntimeShape limit). The compiler
computes the walk over the output and each input's element stride per dimension (0 where the
input is broadcast), fuses dimensions that step alike, and passes six loops in the params struct.
"""

from __future__ import annotations

from ..ir import Graph, Op, Tensor
from ..quantize import activation_range, float_activation_range, quantize_multiplier
from . import (
    FUSED_ACTIVATIONS,
    KernelCall,
    TensorArg,
    in_place_elementwise,
    register,
    require_option,
    require_per_tensor,
    unsupported,
)

MAX_RANK = 6  # TFLM's RuntimeShape::kMaxSmallSize: shapes of higher rank do not reach the kernel
LOOPS = 6  # nested loops in the runtime kernels
LEFT_SHIFT = 20  # add_common.cc / sub_common.cc, int8 outputs
LEFT_SHIFT_INT16 = 15  # the same for int16 outputs

SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}
INT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-(1 << 31), (1 << 31) - 1)}
TYPES = "int8, int16, int32, float32"
BROADCAST = "broadcasting up to rank 6 (size-1 dims, lower-rank or constant operand)"
NOTES = {
    "ADD": "int8/int16 per-tensor (any zero points); fused NONE/RELU/RELU6/RELU_N1_TO_1 "
           "(int32: ignored, as TFLM); int32 inputs unquantized; " + BROADCAST,
    "SUB": "int8/int16 per-tensor (any zero points); fused NONE/RELU/RELU6/RELU_N1_TO_1; "
           "int32 unquantized; " + BROADCAST,
    "MUL": "int8/int16 per-tensor (int16 zero points 0, as TFLM requires); fused "
           "NONE/RELU/RELU6/RELU_N1_TO_1; " + BROADCAST,
}


def broadcast_loops(
    op: Op, shape1: tuple[int, ...], shape2: tuple[int, ...], out_shape: tuple[int, ...]
) -> list[tuple[int, int, int]]:
    """The output walk as LOOPS nested loops, outermost first: (extent, stride1, stride2).

    Strides are in elements of each input; 0 along a dimension where that input has size 1 and
    the output does not. Adjacent dimensions merge when both inputs step through them as one
    (the outer stride equals the inner stride times the inner extent), as TFLM's
    BroadcastBinaryOpSimple fuses them.
    """
    rank = max(len(shape1), len(shape2), len(out_shape))
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank} tensors are not supported (at most {MAX_RANK})")
    ext1, ext2, ext_out = ((1,) * (rank - len(s)) + tuple(s) for s in (shape1, shape2, out_shape))
    for d1, d2, d_out in zip(ext1, ext2, ext_out, strict=True):
        if d1 != d2 and 1 not in (d1, d2):
            raise unsupported(
                op, f"input shapes {list(shape1)} and {list(shape2)} do not broadcast"
            )
        if d_out != (d2 if d1 == 1 else d1):
            raise unsupported(
                op,
                f"output shape {list(out_shape)} is not the broadcast of "
                f"{list(shape1)} and {list(shape2)}",
            )
    loops: list[list[int]] = []  # innermost first
    acc1 = acc2 = 1
    for d1, d2, d_out in reversed(list(zip(ext1, ext2, ext_out, strict=True))):
        stride1 = 0 if d1 == 1 else acc1
        stride2 = 0 if d2 == 1 else acc2
        if d_out != 1:
            inner = loops[-1] if loops else None
            if inner and stride1 == inner[1] * inner[0] and stride2 == inner[2] * inner[0]:
                inner[0] *= d_out
            else:
                loops.append([d_out, stride1, stride2])
        acc1 *= d1
        acc2 *= d2
    loops += [[1, 0, 0]] * (LOOPS - len(loops))
    return [tuple(loop) for loop in reversed(loops)]


def _loop_params(loops: list[tuple[int, int, int]]) -> tuple[tuple[str, int], ...]:
    return (
        tuple((f"dim{i}", e) for i, (e, _, _) in enumerate(loops))
        + tuple((f"input1_stride{i}", s) for i, (_, s, _) in enumerate(loops))
        + tuple((f"input2_stride{i}", s) for i, (_, _, s) in enumerate(loops))
    )


def _operands(graph: Graph, op: Op) -> tuple[Tensor, Tensor, Tensor]:
    """input1, input2, output: of one type TFLM's kernel takes; quantized ones per tensor."""
    x1, x2, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if x1.dtype not in SUFFIX or len({x1.dtype, x2.dtype, y.dtype}) != 1:
        raise unsupported(
            op, f"tensor types {x1.dtype}/{x2.dtype}/{y.dtype} are not supported "
                f"(one of {TYPES} for both inputs and the output)"
        )
    if x1.dtype in ("int8", "int16"):
        require_per_tensor(op, x1, x2, y)
    require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    return x1, x2, y


def _require_unquantized(op: Op, *tensors: Tensor) -> None:
    """add_common.cc / sub_common.cc: int32 tensors without quantization parameters."""
    for t in tensors:
        if t.quant is not None:
            raise unsupported(op, f"{t.label} is a quantized int32 tensor (TFLM's int32 "
                                  f"{op.kind} takes unquantized ones)")


def _unquantized_call(op: Op, x1: Tensor, x2: Tensor, y: Tensor, header: str,
                      activation: str) -> KernelCall:
    """The float32 and int32 kernels: the clamp range, then the walk."""
    if y.dtype == "float32":
        low, high = float_activation_range(activation)
    else:
        low, high = _int32_activation_range(activation)
    name = f"tinyc_{op.kind.lower()}_{SUFFIX[y.dtype]}"
    return KernelCall(
        op=op,
        function=name,
        header=header,
        params_type=f"{name}_params",
        params=(("activation_min", low), ("activation_max", high))
        + _loop_params(broadcast_loops(op, x1.shape, x2.shape, y.shape)),
        args=(TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)),
    )


def _int32_activation_range(activation: str) -> tuple[int, int]:
    """TFLM CalculateActivationRange<int32_t> (kernel_util.h): the bounds as integers."""
    low, high = INT_RANGE["int32"]
    return {
        "NONE": (low, high),
        "RELU": (0, high),
        "RELU6": (0, 6),
        "RELU_N1_TO_1": (-1, 1),
    }[activation]


def _smaller_than_one(op: Op, real: float, what: str) -> tuple[int, int]:
    """TFLM QuantizeMultiplierSmallerThanOneExp, which aborts outside (0, 1): reject instead."""
    if not 0.0 < real < 1.0:
        raise unsupported(
            op,
            f"{what} rescale factor {real:g} is outside (0, 1), which TFLM "
            "rejects (input/output scales too far apart)",
        )
    multiplier, shift = quantize_multiplier(real)
    if shift > 0:
        raise unsupported(op, f"{what} rescale factor {real:g} rounds to 1, which TFLM rejects")
    return multiplier, shift


def add_sub_multipliers(s1: float, s2: float, s_out: float, left_shift: int = LEFT_SHIFT
                        ) -> list[float]:
    """Real input1, input2 and output multipliers of ADD and SUB, in double as TFLM has them."""
    twice_max = 2.0 * max(s1, s2)
    return [s1 / twice_max, s2 / twice_max, twice_max / ((1 << left_shift) * s_out)]


@register("ADD", types=TYPES, inputs=2, notes=NOTES["ADD"])
@register("SUB", types=TYPES, inputs=2, notes=NOTES["SUB"])
def lower_add_sub(graph: Graph, op: Op) -> KernelCall:
    # The kernels walk the output in order (runtime/add.h): a same-shaped input may be it.
    return in_place_elementwise(graph, _add_sub(graph, op))


def _add_sub(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = _operands(graph, op)
    activation = op.options["fused_activation_function"]
    if y.dtype == "float32":
        return _unquantized_call(op, x1, x2, y, "add.h", activation)
    if y.dtype == "int32":
        if op.kind == "ADD":
            _require_unquantized(op, x1, x2)
            activation = "NONE"  # add.cc: the int32 limits, whatever params->activation says
        else:
            _require_unquantized(op, x1, x2, y)
        return _unquantized_call(op, x1, x2, y, "add.h", activation)
    left_shift = LEFT_SHIFT if y.dtype == "int8" else LEFT_SHIFT_INT16
    reals = add_sub_multipliers(x1.scale, x2.scale, y.scale, left_shift)
    (m1, sh1), (m2, sh2), (mo, sho) = (
        _smaller_than_one(op, r, what)
        for r, what in zip(reals, ("input 1", "input 2", "output"), strict=True)
    )
    act_min, act_max = activation_range(activation, y.scale, y.zero_point, *INT_RANGE[y.dtype])
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    name = f"tinyc_{op.kind.lower()}_{SUFFIX[y.dtype]}"
    return KernelCall(
        op=op,
        function=name,
        header="add.h",
        params_type=f"{name}_params",
        params=(
            ("input1_offset", -x1.zero_point),
            ("input2_offset", -x2.zero_point),
            ("output_offset", y.zero_point),
            ("left_shift", left_shift),
            ("input1_multiplier", m1),
            ("input1_shift", sh1),
            ("input2_multiplier", m2),
            ("input2_shift", sh2),
            ("output_multiplier", mo),
            ("output_shift", sho),
            ("activation_min", act_min),
            ("activation_max", act_max),
        )
        + _loop_params(loops),
        args=(TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)),
    )


@register("MUL", types=TYPES, inputs=2, notes=NOTES["MUL"])
def lower_mul(graph: Graph, op: Op) -> KernelCall:
    return in_place_elementwise(graph, _mul(graph, op))  # as ADD's walk (runtime/mul.h)


def _mul(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = _operands(graph, op)
    activation = op.options["fused_activation_function"]
    if y.dtype in ("float32", "int32"):  # mul_common.cc looks at no int32 quantization
        return _unquantized_call(op, x1, x2, y, "mul.h", activation)
    if y.dtype == "int16":
        for t in (x1, x2, y):
            if t.zero_point != 0:
                raise unsupported(op, f"{t.label} has zero point {t.zero_point}: TFLM requires "
                                      "int16 zero points of 0")
    multiplier, shift = quantize_multiplier(x1.scale * x2.scale / y.scale)
    act_min, act_max = activation_range(activation, y.scale, y.zero_point, *INT_RANGE[y.dtype])
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    name = f"tinyc_mul_{SUFFIX[y.dtype]}"
    return KernelCall(
        op=op,
        function=name,
        header="mul.h",
        params_type=f"{name}_params",
        params=(
            ("input1_offset", -x1.zero_point),
            ("input2_offset", -x2.zero_point),
            ("output_offset", y.zero_point),
            ("output_multiplier", multiplier),
            ("output_shift", shift),
            ("activation_min", act_min),
            ("activation_max", act_max),
        )
        + _loop_params(loops),
        args=(TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)),
    )
