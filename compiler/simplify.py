"""simplify: Graph -> Graph, layout round trips removed before lowering.

Models exported from PyTorch wrap NHWC kernels in TRANSPOSEs to and from NCHW (RetinaFace has 95):
    CONV -> TRANSPOSE(to NCHW) -> LEAKY_RELU -> TRANSPOSE(to NHWC) -> ...
    CONV -> TRANSPOSE(to NCHW) -> PAD -> TRANSPOSE(to NHWC) -> ...
An element-wise op computes each element from the same element alone, so it gives the same
bytes in either layout; a PAD gives the same bytes with its paddings permuted. So when a TRANSPOSE
is followed, through a chain of such ops, by the TRANSPOSE that undoes it, the chain runs on the
original layout and both TRANSPOSEs disappear; two cancelling TRANSPOSEs back to back become a
RESHAPE (an alias, no code). The result is bit-exact by construction: the same arithmetic on the
same values, only where the bytes sit changes.

Only chains whose intermediate tensors have no other reader (and are not model outputs), and
whose first TRANSPOSE keeps its input's quantization, are rewritten. The op keeps its own
output quantization: it writes a new tensor with the output's quantization and the final
layout, and a RESHAPE gives that the name the rest of the graph reads (TRANSPOSE copies bytes,
whatever the two tensors' quantization says).
"""

from __future__ import annotations

import numpy as np

from .ir import Graph, Op, Tensor, check

# Ops whose every output element depends only on the input element at the same position, with
# input and output of the same shape: layout does not matter to them.
ELEMENTWISE = frozenset({
    "LEAKY_RELU", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH",
    "HARD_SWISH", "ELU", "ABS", "NEG", "QUANTIZE", "DEQUANTIZE", "SQUARE", "SQRT", "RSQRT",
    "EXP", "LOG", "SIN", "COS", "FLOOR", "CEIL", "ROUND", "CAST", "LOGICAL_NOT",
})
PADS = frozenset({"PAD", "PADV2", "MIRROR_PAD"})


def remove_layout_round_trips(graph: Graph) -> Graph:
    """Rewrite every TRANSPOSE [-> element-wise op or PAD] -> inverse TRANSPOSE chain."""
    while True:
        rewritten = _rewrite_one(graph)
        if rewritten is None:
            return graph
        check(rewritten)
        graph = rewritten


def _rewrite_one(graph: Graph) -> Graph | None:
    producer = {t: op for op in graph.ops for t in op.outputs}
    for second in graph.ops:
        if second.kind != "TRANSPOSE" or not _perm(graph, second):
            continue
        chain: list[Op] = []  # the layout-free ops between the two TRANSPOSEs, last first
        reader, before = second, producer.get(second.inputs[0])
        while before is not None and _only_reader(graph, before.outputs[0], reader):
            if before.kind == "TRANSPOSE":
                break
            if not _layout_free(graph, before):
                before = None
                break
            chain.append(before)
            reader, before = before, producer.get(before.inputs[0])
        else:
            continue
        if before is None:
            continue
        first = before
        p1, p2 = _perm(graph, first), _perm(graph, second)
        if not p1 or len(p1) != len(p2) or [p1[i] for i in p2] != list(range(len(p1))):
            continue  # the second does not undo the first
        if chain and _reinterprets(graph, first):
            continue  # the chain reads the copied bytes with another quantization
        return _replace(graph, first, chain[::-1], second, p1)
    return None


def _reinterprets(graph: Graph, transpose: Op) -> bool:
    """Whether a TRANSPOSE's output has another type or quantization than its input: TFLM copies
    the bytes, so the ops after it read them as other values, which the chain rewritten onto the
    input would not."""
    x, y = graph.tensor(transpose.inputs[0]), graph.tensor(transpose.outputs[0])
    return x.dtype != y.dtype or x.quant != y.quant


def _layout_free(graph: Graph, op: Op) -> bool:
    if len(op.outputs) != 1:
        return False
    if op.kind in ELEMENTWISE:
        return True
    return op.kind in PADS and _const_paddings(graph, op)


def _perm(graph: Graph, op: Op) -> list[int] | None:
    if len(op.inputs) != 2 or op.inputs[1] < 0:
        return None
    perm = graph.tensor(op.inputs[1])
    if not perm.is_const or perm.dtype not in ("int32", "int64"):
        return None
    values = [int(v) for v in perm.data.reshape(-1)]
    return values if sorted(values) == list(range(len(values))) else None


def _only_reader(graph: Graph, tensor: int, reader: Op) -> bool:
    readers = [op for op in graph.ops if tensor in op.inputs]
    return readers == [reader] and tensor not in graph.outputs


def _const_paddings(graph: Graph, op: Op) -> bool:
    return len(op.inputs) >= 2 and op.inputs[1] >= 0 and graph.tensor(op.inputs[1]).is_const


def _replace(graph: Graph, first: Op, chain: list[Op], second: Op, p1: list[int]) -> Graph:
    tensors = list(graph.tensors)
    source = first.inputs[0]
    new_ops: list[Op] = []
    inverse = [p1.index(i) for i in range(len(p1))]  # dimension i of the input is p1's inverse[i]
    for inner in chain:
        # The op on the untransposed layout, writing a tensor of that layout with the op's own
        # output type and quantization.
        inner_out = graph.tensor(inner.outputs[0])
        shape = tuple(inner_out.shape[j] for j in inverse)
        z = _add(tensors, inner_out.replace(shape=shape, name=inner_out.name + "/untransposed"))
        inputs = list(inner.inputs)
        inputs[0] = source
        if inner.kind in PADS:  # paddings row j belongs to dimension j of the transposed tensor
            paddings = graph.tensor(inner.inputs[1])
            rows = paddings.data.reshape(-1, 2)
            permuted = np.ascontiguousarray(rows[inverse]).reshape(paddings.shape)
            permuted.setflags(write=False)
            inputs[1] = _add(tensors, paddings.replace(data=permuted,
                                                       name=paddings.name + "/permuted"))
        new_ops.append(inner.replace(inputs=tuple(inputs), outputs=(z,)))
        source = z
    # A RESHAPE (an alias: same bytes) gives the result the name the graph reads.
    new_ops.append(Op(second.index, "RESHAPE", (source,), (second.outputs[0],), {}))
    removed = {first.index, second.index} | {op.index for op in chain}
    ops = []
    for op in graph.ops:
        if op.index == first.index:
            ops += new_ops  # where the chain began: its input is ready there
        elif op.index not in removed:
            ops.append(op)
    return graph.replace(tensors=tuple(tensors), ops=tuple(ops))


def _add(tensors: list[Tensor], tensor: Tensor) -> int:
    index = len(tensors)
    tensors.append(tensor.replace(index=index))
    return index
