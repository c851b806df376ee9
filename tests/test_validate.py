"""Malformed models: each class of bad input is refused by the CLI with its own one-line message
(exit 1, at most 240 characters, no traceback, no "internal error") and leaves the output folder
as it was.

Every model here is a real one (the TFLM hello world: FULLY_CONNECTED x3, tensors 0 input,
7 and 8 activations, 9 output, 1-6 biases and weights; kws: CONV_2D first) with one field changed
through the flatbuffer object API (tests/model_mutations.py), or a tiny model written from scratch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import assert_one_line_error, assert_untouched, run_tinyc, shared_model
from flatbuffer_models import OperatorSpec, TensorSpec, single_op_tflite, tflite_model
from model_mutations import (
    chain,
    edited,
    rename_tensors,
    set_custom_op,
    set_data,
    set_graph_io,
    set_op_tensors,
    set_option,
    set_scale,
    set_shape,
    set_zero_point,
)

HELLO = shared_model("hello_world_int8.tflite")
KWS = shared_model("kws_ref_model.tflite")


def _pad_model(extra: int) -> bytes:
    """PAD of an int8 [1, 8] by `extra` zeros: the arena grows with `extra`."""
    q = (0.1, 0)
    tensors = [TensorSpec([1, 8], np.int8, q),
               TensorSpec([2, 2], np.int32, data=[[0, 0], [0, extra]]),
               TensorSpec([1, 8 + extra], np.int8, q)]
    return single_op_tflite("PAD", tensors, [0], [2])


def _two_writers() -> bytes:
    t = [TensorSpec([1, 4], np.int8, (0.1, 0)) for _ in range(3)]
    ops = [OperatorSpec("RELU", [0], [1]), OperatorSpec("RELU", [0], [1]),
           OperatorSpec("RELU", [1], [2])]
    return tflite_model(t, ops, [0], [2])


def _unknown_stateful_op() -> bytes:
    """An op tinyc does not know reading a state tensor nothing writes (as an RNN's state is):
    the op is named, not the state as 'read before written'."""
    q = (0.1, 0)
    t = [TensorSpec([1, 4], np.int8, q), TensorSpec([1, 4], np.int8, q),
         TensorSpec([1, 4], np.int8, q, variable=True), TensorSpec([1, 4], np.int8, q)]
    ops = [OperatorSpec("RELU", [0], [1]), OperatorSpec("BIDIRECTIONAL_SEQUENCE_RNN", [1, 2], [3])]
    return tflite_model(t, ops, [0], [3])


# name: (how the model is made: an edit of HELLO, (model, edit), or bytes; message fragments)
CASES = {
    # --- quantization out of range ---
    "zero point beyond int32": (set_zero_point(7, 1 << 40),
                                ["tensor 7 (", "zero point 1099511627776", "int8 [-128, 127]"]),
    "int8 zero point 200": (set_zero_point(9, 200), ["tensor 9 (", "zero point 200"]),
    "nan scale": (set_scale(7, float("nan")), ["tensor 7 (", "scale nan", "finite"]),
    "infinite scale": (set_scale(0, float("inf")), ["tensor 0 (", "scale inf"]),
    "zero scale": (set_scale(8, 0.0), ["tensor 8 (", "scale 0:"]),
    "negative scale": (set_scale(8, -0.5), ["tensor 8 (", "scale -0.5"]),
    "tiny scale": (set_scale(8, 1e-40), ["tensor 8 (", "scale 9.99995e-41"]),
    # input 2^40 x weights 2^-8 = bias 2^32 exactly (TFLM's bias check holds), output 2^-10
    "rescale factor too large": (chain(set_scale(0, 2.0**40), set_scale(6, 2.0**-8),
                                       set_scale(5, 2.0**32), set_scale(7, 2.0**-10)),
                                 ["op 0 (FULLY_CONNECTED): rescale factor", "too large"]),
    "per-channel count mismatch": (lambda m: setattr(m.subgraphs[0].tensors[4].quantization,
                                                     "scale", np.ones(3, np.float32) / 64),
                                   ["tensor 4 (", "3 scales but 1 zero points"]),
    # --- op options out of range ---
    "stride 2^30": ((KWS, set_option(0, strideH=1 << 30)),
                    ["op 0 (CONV_2D): stride_h=1073741824 is not supported (1 to 32768)"]),
    "dilation 2^30": ((KWS, set_option(0, dilationWFactor=1 << 30)),
                      ["op 0 (CONV_2D): dilation_wfactor=1073741824"]),
    "stride as a uint32": ((KWS, set_option(0, strideW=-536870913)),
                           ["op 0 (CONV_2D): stride_w=-536870913"]),
    # --- sizes ---
    "arena of 300 MB": (_pad_model(300 << 20),
                        ["arena of 314572816 bytes", "limit of 67108864", "--max-arena"]),
    "tensor beyond 2 GB": (set_shape(7, [1 << 16, 1 << 16]),
                           ["tensor 7 (", "4294967296 elements", "32-bit target"]),
    # --- structure ---
    "graph output is a constant": (set_graph_io(outputs=[1]),
                                   ["model output 0 is tensor 1 (", "a constant"]),
    "op writes a constant": (set_op_tensors(2, outputs=[1]),
                             ["op 2 (FULLY_CONNECTED) writes tensor 1 (", "a constant"]),
    "graph input out of range": (set_graph_io(inputs=[99]),
                                 ["model input 0 is tensor 99, which does not exist"]),
    "graph input negative": (set_graph_io(inputs=[-1]),
                             ["model input 0 is tensor -1, which does not exist"]),
    "graph output negative": (set_graph_io(outputs=[-2]), ["model output 0 is tensor -2"]),
    "op input out of range": (set_op_tensors(1, inputs=[7, 4, 1000]),
                              ["op 1 (FULLY_CONNECTED): input 2 is tensor 1000"]),
    "op input below -1": (set_op_tensors(1, inputs=[7, -5, 3]),
                          ["op 1 (FULLY_CONNECTED): input 1 is tensor -5"]),
    "required input omitted": (set_op_tensors(1, inputs=[7, -1, 3]),
                               ["op 1 (FULLY_CONNECTED): input 1 is omitted (-1)"]),
    "op output -1": (set_op_tensors(0, outputs=[-1]),
                     ["op 0 (FULLY_CONNECTED): output 0 is tensor -1"]),
    "op without inputs": (set_op_tensors(0, inputs=[]), ["op 0 (FULLY_CONNECTED) has no inputs"]),
    "op without outputs": (set_op_tensors(2, outputs=[]),
                           ["op 2 (FULLY_CONNECTED) has no outputs"]),
    "too many inputs": (set_op_tensors(0, inputs=[0, 6, 5, 5]),
                        ["op 0 (FULLY_CONNECTED) has 4 inputs; it takes 2 to 3"]),
    "tensor written twice": (_two_writers(), ["op 1 (RELU) writes tensor 1 (", "op 0 already"]),
    "read before written": (set_op_tensors(0, inputs=[8, 6, 5]),
                            ["op 0 (FULLY_CONNECTED) reads tensor 8 before it is written"]),
    "graph input with data": (set_data(0, np.zeros(1, np.int8)),
                              ["model input 0 is tensor 0 (", "constant data"]),
    "no outputs": (set_graph_io(outputs=[]), ["the model has no outputs"]),
    "variable input": (lambda m: setattr(m.subgraphs[0].tensors[0], "isVariable", True),
                       ["model input 0 is tensor 0 (", "marked variable"]),
    "op writes state": (lambda m: setattr(m.subgraphs[0].tensors[7], "isVariable", True),
                        ["op 0 (FULLY_CONNECTED) writes tensor 7 (", "marked variable"]),
    "output nothing writes": (set_graph_io(outputs=[9, 7, 8]), None),  # legal: all are written
    # --- op semantics the lowering checks ---
    "bias longer than the outputs": (set_shape(1, [2]),
                                     ["tensor 1 (", "buffer holds 4 bytes"]),
    "one-element bias for 16 outputs": (chain(set_shape(5, [1]),
                                              set_data(5, np.zeros(1, np.int32))),
                                        ["op 0 (FULLY_CONNECTED): bias tensor 5 (",
                                         "1 values for 16 outputs"]),
    # --- what reaches messages ---
    "newline in a custom op": (set_custom_op(1, b"EVIL\ntinyc: error: forged"),
                               ["CUSTOM:'EVIL\\ntinyc: error: forged' (op 1)"]),
    "100 KB custom code": (set_custom_op(1, b"C" * 100_000), ["CUSTOM:'CCCC", "...' (op 1)"]),
    "250 KB tensor name": (chain(rename_tensors(lambda i: "n" * 250_000), set_scale(7, 0.0)),
                           ["tensor 7 ('nnnn", "...') has quantization scale 0"]),
    "bytes-like names": (chain(rename_tensors(lambda i: b"\xff\xfe\x00name"), set_scale(7, 0.0)),
                         ["tensor 7 ('\\ufffd\\ufffd\\x00name')"]),
    # --- ops tinyc does not compile, named before any structural complaint ---
    "unknown stateful op": (_unknown_stateful_op(),
                            ["unsupported ops: BIDIRECTIONAL_SEQUENCE_RNN (op 1)"]),
}


def _make(case: str, tmp: Path) -> Path:
    how, _ = CASES[case]
    path = tmp / "bad.tflite"
    if isinstance(how, Path):
        return how
    if isinstance(how, bytes):
        path.write_bytes(how)
    elif isinstance(how, tuple):
        path.write_bytes(edited(*how))
    else:
        path.write_bytes(edited(HELLO, how))
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_is_refused_with_its_message(case, tmp_path, existing_output):
    model = _make(case, tmp_path)
    result = run_tinyc("compile", str(model), "-o", str(existing_output))
    fragments = CASES[case][1]
    if fragments is None:  # a control: the edit alone is legal
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1, result.stdout + result.stderr
    assert_one_line_error(result, *fragments)
    assert_untouched(existing_output)


def test_max_arena_option(tmp_path):
    model = tmp_path / "pad.tflite"
    model.write_bytes(_pad_model(5000))
    small = run_tinyc("compile", str(model), "-o", str(tmp_path / "a"), "--max-arena", "4K")
    assert_one_line_error(small, "arena of 5016 bytes", "limit of 4096 bytes")
    assert not (tmp_path / "a").exists()
    assert run_tinyc("compile", str(model), "-o", str(tmp_path / "b"),
                     "--max-arena", "8K").returncode == 0
    assert run_tinyc("compile", str(model), "-o", str(tmp_path / "c"),
                     "--max-arena", "lots").returncode == 2


def test_every_zoo_model_passes_validation():
    """The checks refuse malformed models, not real ones."""
    from tinyc.read_tflite import read_model
    from tinyc.validate import validate_graph

    from conftest import SHARED_MODELS

    for path in sorted(SHARED_MODELS.glob("*.tflite")) + sorted(SHARED_MODELS.glob("wider/*")):
        graph = read_model(path)
        try:
            validate_graph(graph)
        except Exception as exc:  # only unknown ops may stop a real model here
            assert str(exc).startswith("unsupported ops:"), f"{path.name}: {exc}"
