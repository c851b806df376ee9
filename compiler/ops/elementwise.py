"""ADD, SUB and MUL on int8 tensors: rescaling, fused activation and broadcasting.

The multipliers are computed exactly as TFLM's Prepare functions compute them:
  ADD/SUB: both inputs are shifted left by 20 and scaled to twice the larger input scale by
           multipliers below one; the sum or difference is scaled to the output. All in double.
  MUL:     one multiplier, s1 * s2 / s_out in double.
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
from ..quantize import activation_range, quantize_multiplier
from . import (
    FUSED_ACTIVATIONS,
    KernelCall,
    TensorArg,
    register,
    require_option,
    require_per_tensor,
    require_types,
    unsupported,
)

MAX_RANK = 6  # TFLM's RuntimeShape::kMaxSmallSize: shapes of higher rank do not reach the kernel
LOOPS = 6  # nested loops in the runtime kernels
LEFT_SHIFT = 20  # add_common.cc / sub_common.cc, int8 outputs

NOTES = (
    "per-tensor; fused NONE/RELU/RELU6/RELU_N1_TO_1; broadcasting up to rank 6 "
    "(size-1 dims, lower-rank or constant operand)"
)


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
    require_types(graph, op, {("int8", "int8", "int8")})
    x1, x2, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    require_per_tensor(op, x1, x2, y)
    require_option(op, "fused_activation_function", FUSED_ACTIVATIONS)
    return x1, x2, y


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


def add_sub_multipliers(s1: float, s2: float, s_out: float) -> list[float]:
    """Real input1, input2 and output multipliers of ADD and SUB, in double as TFLM has them."""
    twice_max = 2.0 * max(s1, s2)
    return [s1 / twice_max, s2 / twice_max, twice_max / ((1 << LEFT_SHIFT) * s_out)]


@register("ADD", types="int8", inputs=2, notes=NOTES)
@register("SUB", types="int8", inputs=2, notes=NOTES)
def lower_add_sub(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = _operands(graph, op)
    reals = add_sub_multipliers(x1.scale, x2.scale, y.scale)
    (m1, sh1), (m2, sh2), (mo, sho) = (
        _smaller_than_one(op, r, what)
        for r, what in zip(reals, ("input 1", "input 2", "output"), strict=True)
    )
    act_min, act_max = activation_range(
        op.options["fused_activation_function"], y.scale, y.zero_point
    )
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    name = op.kind.lower()
    return KernelCall(
        op=op,
        function=f"tinyc_{name}_s8",
        header="add.h",
        params_type=f"tinyc_{name}_s8_params",
        params=(
            ("input1_offset", -x1.zero_point),
            ("input2_offset", -x2.zero_point),
            ("output_offset", y.zero_point),
            ("left_shift", LEFT_SHIFT),
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


@register("MUL", types="int8", inputs=2, notes=NOTES)
def lower_mul(graph: Graph, op: Op) -> KernelCall:
    x1, x2, y = _operands(graph, op)
    multiplier, shift = quantize_multiplier(x1.scale * x2.scale / y.scale)
    act_min, act_max = activation_range(
        op.options["fused_activation_function"], y.scale, y.zero_point
    )
    loops = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    return KernelCall(
        op=op,
        function="tinyc_mul_s8",
        header="mul.h",
        params_type="tinyc_mul_s8_params",
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
