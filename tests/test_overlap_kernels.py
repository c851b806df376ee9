"""The kernels' order of reads and writes is the one the planner's offsets assume
(compiler/overlap_order.py): a layer run with its input placed at the planned offset inside its
output's buffer computes TFLM's bytes, on the host (the portable C paths) and on the emulated
Cortex-M4 (the Arm DSP paths: the 1x1 pairs assembly, the four-channel depthwise kernels); and
the same layer with the offset one alignment step (4 bytes) smaller does not: an input byte is
then read after the call wrote over it (a poison check through the data: the overwritten byte
holds an output value, and the layer's result changes). That negative control is what makes the
positive tests able to fail.

Each case forces one variant (a pixel block of the 1x1 kernel, a row block of the depthwise one,
or the layer as lowered), compiles in the "small" memory mode, and checks that the plan does put
the input inside the output (so the test is not vacuous)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tinyc import compile_model, compile_to_folder, variants
from tinyc.ops import conv as _conv  # noqa: F401  (registers the variant providers)
from tinyc.pipeline import compile_graph
from tinyc.read_tflite import read_model
from tinyc.verify import verify_model

from conftest import M4BENCH, needs_m4
from conv_models import Conv, tflm_output, write_model

I8 = "int8"

# (layer, forced block: None = no variant, the call as lowered (its own overlaps); scratch)
CASES = [
    # 1x1: expansion as at vww's peak, same depth as kws, contraction; pixel blocks
    (Conv("conv", I8, (1, 12, 12, 8), filter_hw=(1, 1), channels=16, zero_points=(-128, 3)),
     2, "auto"),
    (Conv("conv", I8, (1, 12, 12, 8), filter_hw=(1, 1), channels=16, zero_points=(-128, 3)),
     24, "auto"),
    (Conv("conv", I8, (1, 10, 5, 16), filter_hw=(1, 1), channels=16, zero_points=(-128, -128),
          activation="RELU"), 2, "auto"),
    (Conv("conv", I8, (1, 9, 7, 12), filter_hw=(1, 1), channels=6, zero_points=(5, -7)),
     6, "auto"),
    (Conv("conv", I8, (1, 7, 7, 4), filter_hw=(1, 1), channels=7, zero_points=(0, 0)),
     4, "auto"),  # odd channels, odd pixels
    # depthwise 3x3 (the Arm kernels on M4) by row blocks; stride 2 as in vww
    (Conv("depthwise", I8, (1, 10, 6, 16), channels=1, zero_points=(-128, -128)), 1, "auto"),
    (Conv("depthwise", I8, (1, 12, 12, 8), channels=1, stride=(2, 2), zero_points=(-128, 0)),
     2, "auto"),
    (Conv("depthwise", I8, (1, 8, 8, 8), filter_hw=(5, 5), channels=1, zero_points=(-128, 4),
          activation="RELU6"), 3, "auto"),
    # depthwise the general kernel runs everywhere: the call's own overlap
    (Conv("depthwise", I8, (1, 6, 6, 6), channels=1, zero_points=(-128, 0)), None, "auto"),
    (Conv("depthwise", I8, (1, 6, 6, 2), channels=4, zero_points=(-128, 0)), None, "auto"),
    # strided conv through im2col, and its scratch-free fallback (pixel by pixel)
    (Conv("conv", I8, (1, 12, 12, 3), channels=8, stride=(2, 2), zero_points=(-128, -128)),
     None, "auto"),
    (Conv("conv", I8, (1, 14, 6, 1), filter_hw=(10, 4), channels=16, stride=(2, 2),
          zero_points=(-128, 0)), None, "auto"),
    (Conv("conv", I8, (1, 12, 12, 3), channels=8, stride=(2, 2), zero_points=(-128, -128)),
     None, "never"),
    # backwards (a negative block: the blocks from the last, the input below the output)
    (Conv("conv", I8, (1, 12, 12, 8), filter_hw=(1, 1), channels=16, zero_points=(-128, 3)),
     -2, "auto"),
    (Conv("conv", I8, (1, 10, 5, 16), filter_hw=(1, 1), channels=16, zero_points=(-128, -128),
          activation="RELU"), -2, "auto"),
    (Conv("conv", I8, (1, 12, 12, 16), filter_hw=(1, 1), channels=8, zero_points=(5, -7)),
     -6, "auto"),  # contraction
    (Conv("conv", I8, (1, 7, 7, 4), filter_hw=(1, 1), channels=7, zero_points=(0, 0)),
     -4, "auto"),  # odd channels, odd pixels: a short last block, run first
    (Conv("conv", I8, (2, 5, 3, 8), filter_hw=(1, 1), channels=8, zero_points=(1, 0)),
     -4, "auto"),  # two images
    (Conv("depthwise", I8, (1, 10, 6, 16), channels=1, zero_points=(-128, -128)), -1, "auto"),
    (Conv("depthwise", I8, (1, 12, 12, 8), channels=1, stride=(2, 2), zero_points=(-128, 0)),
     -2, "auto"),
    (Conv("depthwise", I8, (1, 8, 8, 8), filter_hw=(5, 5), channels=1, zero_points=(-128, 4),
          activation="RELU6"), -3, "auto"),
    (Conv("depthwise", I8, (2, 7, 5, 8), channels=1, zero_points=(3, -2)), -2, "auto"),
]

IDS = [f"{c.id}-block{b}-{s}" for c, b, s in CASES]


def _block_of(call) -> int | None:
    p = dict(call.params)
    return p.get("pixel_block") if "pixel_block" in p else p.get("row_block")


def _closer(gap: int, shrink: int) -> int:
    """The offset `shrink` bytes closer to the output's start (an input below the output, a
    negative offset, moves up)."""
    return gap + shrink if gap < 0 else gap - shrink


def _forced(monkeypatch, block, shrink: int = 0):
    """Only the variant of `block` (none for None), its offsets `shrink` bytes smaller; the
    calls as lowered also `shrink` bytes smaller when block is None."""
    for function, provider in list(variants.PROVIDERS.items()):
        def only(graph, call, provider=provider):
            if block is None:
                return ()
            return tuple(replace(v, call=replace(v.call, overlaps=tuple(
                (t, _closer(g, shrink)) for t, g in v.call.overlaps)), free=True)
                for v in provider(graph, call) if _block_of(v.call) == block)
        monkeypatch.setitem(variants.PROVIDERS, function, only)
    if block is None and shrink:
        from tinyc import plan_memory

        original = plan_memory.overlap_units

        def shrunk(model, root, delta, buffers, steps=None):
            from tinyc.lower import LoweredModel

            steps_ = tuple(replace(s, overlaps=tuple((t, g - shrink) for t, g in s.overlaps),
                                   fallback=s.fallback and replace(
                                       s.fallback, overlaps=tuple(
                                           (t, g - shrink) for t, g in s.fallback.overlaps)))
                           if getattr(s, "overlaps", ()) else s for s in model.steps)
            return original(LoweredModel(model.graph, steps_), root, delta, buffers, steps)

        monkeypatch.setattr(plan_memory, "overlap_units", shrunk)


def _compile_in_place(path, block, scratch):
    compiled = compile_model(path, scratch=scratch, memory="small")
    plan, graph = compiled.plan, compiled.model.graph
    x, y = graph.inputs[0], graph.outputs[0]
    lo = max(plan.offsets[x], plan.offsets[y])
    hi = min(plan.offsets[x] + graph.tensor(x).nbytes, plan.offsets[y] + graph.tensor(y).nbytes)
    assert lo < hi, f"not in place: input at {plan.offsets[x]}, output at {plan.offsets[y]}"
    (call,) = compiled.model.calls
    if block is not None:
        assert _block_of(call) == block
    return compiled


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_in_place_layer_bit_exact_on_host(case, tmp_path, monkeypatch):
    c, block, scratch = case
    path = write_model(c, tmp_path)
    _forced(monkeypatch, block)
    compiled = _compile_in_place(path, block, scratch)
    report = verify_model(path, samples=8, compiled=compiled, litert=False)
    assert report.bit_exact, "\n".join(report.lines())


def _host_differs(path, compiled) -> bool:
    report = verify_model(path, samples=8, compiled=compiled, litert=False)
    return not report.bit_exact


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_offset_4_bytes_smaller_is_caught_on_host(case, tmp_path, monkeypatch):
    """The negative control: the planned offset is the smallest safe one (to the alignment),
    and the check above sees an unsafe one."""
    c, block, scratch = case
    if c.kind == "depthwise" and block is not None:
        pytest.skip("the row blocks' offset is the Arm kernels' (the host runs pixel by pixel, "
                    "which needs less): checked on the Cortex-M4")
    path = write_model(c, tmp_path)
    _forced(monkeypatch, block, shrink=4)
    compiled = _compile_in_place(path, block, scratch)
    assert _host_differs(path, compiled), "a too small offset went unnoticed"


def _m4_output(path, tmp_path, memory="small", scratch="auto") -> str:
    import json
    import subprocess

    from tinyc.ir import DTYPES

    compile_to_folder(path, tmp_path / "gen", name="model", scratch=scratch, memory=memory)
    graph = read_model(path)
    x = graph.tensor(graph.inputs[0])
    info = np.iinfo(DTYPES[x.dtype][0])
    sample = np.random.default_rng(3).integers(info.min, info.max, x.shape, endpoint=True,
                                               dtype=DTYPES[x.dtype][0])
    (tmp_path / "input.bin").write_bytes(sample.tobytes())
    result = subprocess.run([str(M4BENCH), str(tmp_path / "gen"), "model", "--input",
                             str(tmp_path / "input.bin")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["output_hex"][0][0]


M4_PICKS = (0, 2, 5, 6, 10) + tuple(i for i, (_, b, _) in enumerate(CASES) if b and b < 0)
M4_CASES = [CASES[i] for i in M4_PICKS]
M4_IDS = [IDS[i] for i in M4_PICKS]


@needs_m4
@pytest.mark.parametrize("case", M4_CASES, ids=M4_IDS)
def test_in_place_layer_bit_exact_on_m4(case, tmp_path, monkeypatch):
    c, block, scratch = case
    path = write_model(c, tmp_path)
    _forced(monkeypatch, block)
    _compile_in_place(path, block, scratch)
    expected = tflm_output(path).tobytes().hex()  # tflm_output's input is the seed-3 one
    assert _m4_output(path, tmp_path, scratch=scratch) == expected


@needs_m4
@pytest.mark.parametrize("case", M4_CASES, ids=M4_IDS)
def test_an_offset_4_bytes_smaller_is_caught_on_m4(case, tmp_path, monkeypatch):
    c, block, scratch = case
    path = write_model(c, tmp_path)
    _forced(monkeypatch, block, shrink=4)
    _compile_in_place(path, block, scratch)
    assert _m4_output(path, tmp_path, scratch=scratch) != tflm_output(path).tobytes().hex()


def test_forcing_is_not_vacuous(tmp_path):
    """Without forcing, the planner takes these layers in place too in the small mode (so the
    cases test what the zoo runs)."""
    c, _, _ = CASES[0]
    compiled = compile_graph(read_model(write_model(c, tmp_path)), "g", memory="small")
    assert compiled.plan.arena_bytes < compiled.plan.liveness_bound


@pytest.mark.parametrize("shrink", [0, 4])
@pytest.mark.parametrize("c", [
    Conv("depthwise", I8, (1, 10, 6, 16), channels=1, zero_points=(-128, -128)),
    Conv("depthwise", I8, (2, 7, 5, 8), channels=1, stride=(2, 2), zero_points=(3, -2)),
    Conv("depthwise", I8, (1, 8, 8, 8), filter_hw=(5, 5), channels=1, zero_points=(-128, 4)),
], ids=["3x3", "stride2-batch2", "5x5"])
def test_portable_depthwise_backwards_on_host(c, shrink, tmp_path, monkeypatch):
    """The portable depthwise kernel (the host's) backwards, at its own offset
    (depthwise_pixel_gap backward: the pixels from the last one): TFLM's bytes, and an offset 4
    bytes closer is caught."""
    from tinyc.overlap_order import Geometry, depthwise_pixel_gap

    path = write_model(c, tmp_path)
    provider = variants.PROVIDERS["tinyc_depthwise_conv_s8"]

    def only(graph, call):
        out = []
        for v in provider(graph, call):
            if _block_of(v.call) == -1:
                p = dict(v.call.params)
                gap = depthwise_pixel_gap(Geometry.of(p), p["depth_multiplier"], backward=True)
                assert gap < 0
                out.append(replace(v, free=True, call=replace(v.call, overlaps=tuple(
                    (t, _closer(gap, shrink)) for t, _ in v.call.overlaps))))
        return tuple(out)

    monkeypatch.setitem(variants.PROVIDERS, "tinyc_depthwise_conv_s8", only)
    compiled = _compile_in_place(path, -1, "auto")
    assert compiled.plan.offsets[compiled.model.graph.inputs[0]] < compiled.plan.offsets[
        compiled.model.graph.outputs[0]]
    report = verify_model(path, samples=8, compiled=compiled, litert=False)
    assert report.bit_exact == (shrink == 0), "\n".join(report.lines())


ZOO_SMALL = [("kws_ref_model.tflite", 9_000), ("str_ww_ref_model.tflite", 3_664)]


def _blocks(compiled) -> list[int]:
    return [b for b in (_block_of(c) for c in compiled.model.calls) if b]


@pytest.mark.parametrize("model, limit", ZOO_SMALL, ids=[m for m, _ in ZOO_SMALL])
def test_zoo_small_turns_back_on_host(model, limit):
    """kws's chain of depthwise + 1x1 pairs in the small mode: layers run forwards and backwards
    (negative blocks), so the chain does not drift down the arena (issue 14: kws at most 9,000
    bytes); bit-exact with TFLM on the host."""
    from conftest import SHARED_MODELS
    from test_plan_memory import assert_no_live_overlap

    path = SHARED_MODELS / model
    compiled = compile_model(path, memory="small")
    assert compiled.plan.arena_bytes <= limit
    blocks = _blocks(compiled)
    assert any(b < 0 for b in blocks) and any(b > 0 for b in blocks), blocks
    assert_no_live_overlap(compiled)
    report = verify_model(path, samples=20, compiled=compiled, litert=False)
    assert report.bit_exact, "\n".join(report.lines())


@needs_m4
@pytest.mark.parametrize("model, limit", ZOO_SMALL, ids=[m for m, _ in ZOO_SMALL])
def test_zoo_small_turns_back_on_m4(model, limit, tmp_path):
    from conftest import SHARED_MODELS

    path = SHARED_MODELS / model
    assert _m4_output(path, tmp_path) == tflm_output(path).tobytes().hex()
