"""DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND and SPACE_TO_BATCH_ND on int8 and float32,
as TFLM's depth_to_space.cc, space_to_depth.cc, batch_to_space_nd.cc and space_to_batch_nd.cc.

DEPTH_TO_SPACE and SPACE_TO_DEPTH (NHWC, rank 4) are transposes of a 6-D view, so they lower to
the strided copy (copy_nd.h):
  DEPTH_TO_SPACE output [B, H, bh, W, bw, C'] reads input [B, H, W, bh, bw, C'];
  SPACE_TO_DEPTH output [B, H', W', bh, bw, C] reads input [B, H', bh, W', bw, C].
BATCH_TO_SPACE_ND and SPACE_TO_BATCH_ND (rank 4 NHWC, or rank 3 NHC seen as W = 1, as TFLM does)
take constant int32 block shapes and crops / paddings; they run TFLM's pixel loops
(runtime/space_depth.h). TFLM pads SPACE_TO_BATCH_ND with an uninitialised value; tinyc pads
with the output's zero point (int8) or 0.0 (float32), TensorFlow's result.
TFLM copies values verbatim, whatever their quantization, and so does tinyc.
"""

from __future__ import annotations

from ..ir import Graph, Op, Tensor
from . import Alias, KernelCall, TensorArg, register, unsupported
from .strided_copy import (
    INT32_MAX,
    const_ints,
    copy_step,
    require_dtype,
    require_same_dtype,
    width_suffix,
)

TYPES = ("int8", "float32")


def _nhwc(op: Op, x: Tensor, y: Tensor) -> None:
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"input rank {len(x.shape)} and output rank {len(y.shape)} (TFLM "
                              f"takes rank 4, NHWC)")


def _block_size(op: Op) -> int:
    block = int(op.options.get("block_size", 0))
    if block < 1:
        raise unsupported(op, f"block_size={block} (it must be at least 1)")
    return block


@register("DEPTH_TO_SPACE", types="int8, float32", inputs=1,
          notes="NHWC; any block size dividing the channels twice")
def lower_depth_to_space(graph: Graph, op: Op) -> KernelCall | Alias:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _nhwc(op, x, y)
    bs = _block_size(op)
    b, h, w, c = x.shape
    if c % (bs * bs):
        raise unsupported(op, f"{c} input channels are not a multiple of block_size^2 "
                              f"({bs * bs})")
    oc = c // (bs * bs)
    if tuple(y.shape) != (b, h * bs, w * bs, oc):
        raise unsupported(op, f"output shape {list(y.shape)} is not {[b, h * bs, w * bs, oc]}")
    view = [(b, h * w * c), (h, w * c), (bs, bs * oc), (w, c), (bs, oc), (oc, 1)]
    return copy_step(graph, op, x, y, view)


@register("SPACE_TO_DEPTH", types="int8, float32", inputs=1,
          notes="NHWC; any block size dividing the height and width")
def lower_space_to_depth(graph: Graph, op: Op) -> KernelCall | Alias:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _nhwc(op, x, y)
    bs = _block_size(op)
    b, h, w, c = x.shape
    if h % bs or w % bs:
        raise unsupported(op, f"input height {h} and width {w} are not multiples of "
                              f"block_size {bs} (TFLM requires it)")
    oh, ow = h // bs, w // bs
    if tuple(y.shape) != (b, oh, ow, c * bs * bs):
        raise unsupported(op, f"output shape {list(y.shape)} is not {[b, oh, ow, c * bs * bs]}")
    view = [(b, h * w * c), (oh, bs * w * c), (ow, bs * c), (bs, w * c), (bs, c), (c, 1)]
    return copy_step(graph, op, x, y, view)


def _space_batch_operands(graph: Graph, op: Op, what: str
                          ) -> tuple[Tensor, Tensor, list[int], list[int], int]:
    """Input, output, block (h, w), [top, bottom, left, right] amounts, rank."""
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_same_dtype(op, x, y)
    require_dtype(op, x, TYPES)
    rank = len(x.shape)
    if rank not in (3, 4) or len(y.shape) != rank:
        raise unsupported(op, f"input rank {rank} and output rank {len(y.shape)} (TFLM takes "
                              f"rank 3 or 4, both the same)")
    spatial = rank - 2
    block = const_ints(op, graph.tensor(op.inputs[1]), "the block shape")
    amounts = const_ints(op, graph.tensor(op.inputs[2]), what)
    if len(block) != spatial or len(amounts) != 2 * spatial:
        raise unsupported(op, f"block shape {block} and {what} {amounts} do not match "
                              f"{spatial} spatial dimension(s)")
    if any(v < 1 for v in block) or any(v < 0 for v in amounts):
        raise unsupported(op, f"block shape {block} must be positive and {what} {amounts} "
                              f"non-negative")
    if rank == 3:
        block, amounts = block + [1], amounts + [0, 0]
    return x, y, block, amounts, rank


def _nhwc4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    return shape if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])  # NHC -> NH1C


def _space_batch_call(op: Op, x: Tensor, y: Tensor, kernel: str, params: dict[str, int]
                      ) -> KernelCall:
    if max(x.size, y.size) > INT32_MAX:
        raise unsupported(op, "the tensors have too many elements for int32 offsets")
    return KernelCall(
        op=op,
        function=f"tinyc_{kernel}_{width_suffix(x)}",
        header="space_depth.h",
        params_type="tinyc_space_batch_params",
        params=tuple(params.items()),
        args=(TensorArg(x.index), TensorArg(y.index)),
    )


@register("BATCH_TO_SPACE_ND", types="int8, float32", inputs=3,
          notes="NHWC or NHC; constant int32 block shape and crops")
def lower_batch_to_space_nd(graph: Graph, op: Op) -> KernelCall:
    x, y, (bh, bw), (ct, cb, cl, cr), rank = _space_batch_operands(graph, op, "crops")
    ib, ih, iw, d = _nhwc4(x.shape)
    if ib % (bh * bw):
        raise unsupported(op, f"input batch {ib} is not a multiple of the block size {bh * bw}")
    expected = (ib // (bh * bw), ih * bh - ct - cb, iw * bw - cl - cr, d)
    if min(expected) < 1 or _nhwc4(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not the input {list(x.shape)} "
                              f"rearranged by block {[bh, bw][:rank - 2]} and cropped by "
                              f"{[ct, cb, cl, cr][:2 * (rank - 2)]}")
    ob, oh, ow, _ = expected
    return _space_batch_call(op, x, y, "batch_to_space_nd", {
        "in_batch": ib, "in_height": ih, "in_width": iw, "depth": d,
        "out_batch": ob, "out_height": oh, "out_width": ow,
        "block_height": bh, "block_width": bw, "crop_top": ct, "crop_left": cl, "pad_value": 0})


@register("SPACE_TO_BATCH_ND", types="int8, float32", inputs=3,
          notes="NHWC or NHC; constant int32 block shape and paddings; pads with the output "
                "zero point / 0.0 (TFLM pads with an uninitialised value)")
def lower_space_to_batch_nd(graph: Graph, op: Op) -> KernelCall:
    x, y, (bh, bw), (pt, pb, pl, pr), rank = _space_batch_operands(graph, op, "paddings")
    ib, ih, iw, d = _nhwc4(x.shape)
    if (ih + pt + pb) % bh or (iw + pl + pr) % bw:
        raise unsupported(op, f"padded input {[ih + pt + pb, iw + pl + pr][:rank - 2]} is not "
                              f"a multiple of the block shape {[bh, bw][:rank - 2]}")
    expected = (ib * bh * bw, (ih + pt + pb) // bh, (iw + pl + pr) // bw, d)
    if _nhwc4(y.shape) != expected:
        raise unsupported(op, f"output shape {list(y.shape)} is not the input {list(x.shape)} "
                              f"padded by {[pt, pb, pl, pr][:2 * (rank - 2)]} and rearranged "
                              f"by block {[bh, bw][:rank - 2]}")
    pad = 0
    if y.dtype == "int8":
        if y.quant is not None and y.quant.per_channel:
            raise unsupported(op, f"{y.label} has per-channel quantization")
        pad = y.zero_point if y.quant is not None else 0
    ob, oh, ow, _ = expected
    return _space_batch_call(op, x, y, "space_to_batch_nd", {
        "in_batch": ib, "in_height": ih, "in_width": iw, "depth": d,
        "out_batch": ob, "out_height": oh, "out_width": ow,
        "block_height": bh, "block_width": bw, "crop_top": pt, "crop_left": pl,
        "pad_value": pad})
