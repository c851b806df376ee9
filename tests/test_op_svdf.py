"""SVDF: bit-exact with TFLM's micro kernel over sequences of invokes.

Every comparison runs one sequence of invokes on tinyc's host build and on the TFLM interpreter
without a reset in between (the state carries over and shifts by one slot per invoke), then
checks that NAME_reset() brings back the first step's outputs (conftest.assert_bit_exact).

- The shared model tflm_keyword_scrambled (int16 input, QUANTIZE, six int8 SVDFs with int16
  state, FULLY_CONNECTED, SOFTMAX int8 -> int16, QUANTIZE to int32), 50 invokes.
- Flatbuffer models of one SVDF whose output is the model's output: int8 with int16 state and
  with int8 state (nonzero state zero point), float32; rank 1, 2, 3; memory 1 and longer than
  the sequence; batch 1 and 3; input and output zero points; every fused activation on float32,
  and RELU on int8 with an output zero point where RELU would clamp, which TFLM's integer
  kernel does not apply (nor does tinyc).
- The effective scales: scales where the source's float arithmetic and double arithmetic give
  different multipliers, to pin which one the oracle uses.
- Refusals naming the op and the option; -Werror builds under g++ and clang++.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyc import compile_model, compile_to_folder
from tinyc.errors import TinycError, UnsupportedError
from tinyc.ops import svdf
from tinyc.quantize import f32, quantize_multiplier
from tinyc.verify.tflm_memory import tflm_arena

from conftest import assert_bit_exact, shared_model
from flatbuffer_models import TensorSpec, single_op_tflite

SEQUENCE = 16  # invokes per flatbuffer model
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4, "SIGN_BIT": 5}


def svdf_tflite(
    kind: str = "int16",  # the state's type: "int16", "int8" (int8 input) or "float32"
    batches: int = 1,
    n_input: int = 12,
    units: int = 5,
    rank: int = 1,
    memory: int = 4,
    input_zp: int = 0,
    state_zp: int = 0,
    output_zp: int = 0,
    activation: str = "NONE",
    gain: float = 1.0,
    seed: int = 0,
    bias: bool = True,
    bias_scale_error: float = 0.0,
    state_variable: bool = True,
    scales: tuple[float, float, float, float, float] | None = None,
) -> bytes:
    """One SVDF with random weights (input, feature weights, time weights, bias, state;
    output). `gain` scales the outputs' spread in output LSBs (large: saturating). `scales`:
    (input, feature weights, time weights, state, output) scales to use instead."""
    rng = np.random.default_rng(seed)
    filters = units * rank
    if kind == "float32":
        f = np.float32
        tensors = [
            TensorSpec([batches, n_input], f),
            TensorSpec([filters, n_input], f,
                       data=rng.normal(0, gain / np.sqrt(n_input), (filters, n_input))),
            TensorSpec([filters, memory], f,
                       data=rng.normal(0, 1 / np.sqrt(memory * rank), (filters, memory))),
            TensorSpec([units], f, data=rng.normal(0, 0.3, units)),
            TensorSpec([batches, memory * filters], f, variable=state_variable),
            TensorSpec([batches, units], f),
        ]
    else:
        state_type = np.int16 if kind == "int16" else np.int8
        state_max = 32767 if kind == "int16" else 127
        time_max = state_max
        in_scale, wf_scale, wt_scale, state_scale, out_scale = scales or (
            float(rng.uniform(0.02, 0.06)), float(rng.uniform(0.004, 0.01)),
            float(rng.uniform(0.001, 0.003)), 0.0, 0.0)
        if scales is None:
            # the feature sums (about 73 * 73 * sqrt(n) in integers) spread over a third of the
            # state's range; the outputs over `gain` times the int8 range
            feature_real = in_scale * wf_scale * 73 * 73 * np.sqrt(n_input)
            state_scale = feature_real / (state_max / 3)
            time_real = state_scale * (state_max / 3) * wt_scale * (time_max / 2) * np.sqrt(
                memory * rank)
            out_scale = time_real / (40 * gain)
        tensors = [
            TensorSpec([batches, n_input], np.int8, (in_scale, input_zp)),
            TensorSpec([filters, n_input], np.int8, (wf_scale, 0),
                       data=rng.integers(-127, 128, (filters, n_input))),
            TensorSpec([filters, memory], state_type, (wt_scale, 0),
                       data=rng.integers(-time_max, time_max + 1, (filters, memory))),
            TensorSpec([units], np.int32, (state_scale * wt_scale + bias_scale_error, 0),
                       data=rng.integers(-20, 21, units) * int(out_scale / (state_scale *
                                                                            wt_scale) + 1)),
            TensorSpec([batches, memory * filters], state_type, (state_scale, state_zp),
                       variable=state_variable),
            TensorSpec([batches, units], np.int8, (out_scale, output_zp)),
        ]
    if not bias:
        tensors[3] = None
    specs = [t for t in tensors if t is not None]
    index = {id(t): i for i, t in enumerate(specs)}
    op_inputs = [index[id(t)] if t is not None else -1 for t in tensors[:5]]
    from flatbuffer_models import OperatorSpec, tflite_model

    op = OperatorSpec("SVDF", op_inputs, [len(specs) - 1], "SVDFOptions",
                      {"rank": rank, "fusedActivationFunction": ACTIVATIONS[activation]})
    return tflite_model(specs, [op], [0], [len(specs) - 1])


def reset_loaded_library(path: Path) -> None:
    """verify_model starts from the host library's state as it finds it: a library this process
    loaded before for the same sources (one dlopen handle) keeps the state an earlier run left.
    Reset it first, so a test does not depend on what ran before it in the same worker."""
    from tinyc.verify.build import build_host_model

    compiled = compile_model(path)
    if compiled.plan.state_bytes:
        build_host_model(compiled.files, compiled.name).reset()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    return path


def assert_sequence_exact(path: Path, samples: int = SEQUENCE, seed: int = 0):
    reset_loaded_library(path)
    report = assert_bit_exact(path, samples=samples, seed=seed)
    assert report.reset_exact is True, "\n".join(report.lines())
    return report


# --- the shared model ----------------------------------------------------------------------------


def test_keyword_scrambled_is_bit_exact_over_50_invokes():
    assert_sequence_exact(shared_model("wider/tflm_keyword_scrambled.tflite"), samples=50)


# --- flatbuffer grids ----------------------------------------------------------------------------

INTEGER_CASES = {
    "rank1": {},
    "rank2-memory1": {"rank": 2, "memory": 1},
    "rank3-memory20": {"rank": 3, "memory": 20, "units": 3},
    "batch3-zp": {"batches": 3, "input_zp": -50, "output_zp": 17},
    "saturating": {"gain": 8.0, "input_zp": 100, "output_zp": -100},
    "relu-ignored": {"activation": "RELU", "output_zp": 30, "gain": 3.0},
    "input1-unit1": {"n_input": 1, "units": 1, "memory": 2},
}


@pytest.mark.parametrize("kind", ["int16", "int8"])
@pytest.mark.parametrize("case", sorted(INTEGER_CASES))
def test_integer_svdf_grid(tmp_path, kind, case):
    keywords = dict(INTEGER_CASES[case])
    if kind == "int8":  # TFLM subtracts and adds the int8 state's zero point
        keywords.setdefault("state_zp", -9)
    path = write(tmp_path, f"svdf-{kind}-{case}", svdf_tflite(kind, seed=len(case), **keywords))
    assert_sequence_exact(path)


FLOAT_CASES = {
    "rank1": {},
    "rank2-batch2": {"rank": 2, "batches": 2},
    "rank3-memory1": {"rank": 3, "memory": 1, "units": 2},
    **{f"act-{a.lower()}": {"activation": a, "gain": 3.0} for a in ACTIVATIONS},
}


@pytest.mark.parametrize("case", sorted(FLOAT_CASES))
def test_float_svdf_grid(tmp_path, case):
    path = write(tmp_path, f"svdf-f32-{case}",
                 svdf_tflite("float32", seed=len(case), **FLOAT_CASES[case]))
    assert_sequence_exact(path)


def test_int8_relu_is_not_applied(tmp_path):
    """Not vacuous: with RELU and an output zero point of 30 some outputs are below 30, as in
    TFLM (its integer kernel only clamps to int8)."""
    from tinyc.verify.build import build_host_model

    path = write(tmp_path, "relu", svdf_tflite("int16", activation="RELU", output_zp=30,
                                               gain=3.0))
    compiled = compile_model(path)
    host = build_host_model(compiled.files, compiled.name)
    host.reset()
    rng = np.random.default_rng(1)
    outputs = [np.frombuffer(host.run([rng.integers(-128, 128, (1, 12), dtype=np.int8)])[0],
                             np.int8) for _ in range(8)]
    assert min(int(o.min()) for o in outputs) < 30


# --- the effective scales: float or double ------------------------------------------------------

# Other ways to compute a * b / c than the double arithmetic the oracle uses.
ALTERNATIVES = {
    "float": lambda a, b, c: f32(f32(a * b) / c),  # the source at 90b983c
    "float-product": lambda a, b, c: f32(a * b) / c,
}


def _requantize(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier, on an int64 array of int32 values."""
    x = x * (1 << max(shift, 0))
    ab = x * multiplier
    t = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(t < 0, -((-t) >> 31), t >> 31)
    right = max(-shift, 0)
    mask = (1 << right) - 1
    return (high >> right) + ((high & mask) > (mask >> 1) + (high < 0))


def _differing_scales(rng, low: float, high: float, target: float, other):
    """float32 scales a, b, c with a * b / c near `target` whose multiplier differs between
    tinyc's arithmetic and `other`."""
    while True:
        a = float(np.float32(rng.uniform(low, high)))
        b = float(np.float32(rng.uniform(low, high)))
        c = float(np.float32(a * b / target * rng.uniform(0.7, 1.4)))
        ours = quantize_multiplier(svdf.effective_scale(a, b, c))
        theirs = quantize_multiplier(other(a, b, c))
        if ours[1] == theirs[1] and ours != theirs:
            return (a, b, c), ours, theirs


def _boundaries(ours, other, levels, count: int) -> list[tuple[int, int]]:
    """`count` sums that the two multipliers requantize differently, near the points where the
    result rounds from one of `levels` to the next: (sum, what tinyc's multiplier gives)."""
    multiplier, shift = ours
    found = []
    for k in levels:
        centre = int((k + 0.5) * 2.0 ** (31 - shift) / multiplier)
        x = np.arange(centre - 4000, centre + 4000, dtype=np.int64)
        a, b = _requantize(x, *ours), _requantize(x, *other)
        differ = np.nonzero(a != b)[0]
        if len(differ):
            found.append((int(x[differ[0]]), int(a[differ[0]])))
        if len(found) == count:
            return found
    raise AssertionError(f"only {len(found)} boundary sums")


def _run_both(tmp_path, monkeypatch, data: bytes, x: np.ndarray, other
              ) -> tuple[bytes, bytes, bytes]:
    """TFLM's first output, tinyc's, and tinyc's with the `other` effective scales."""
    from tinyc.verify.build import build_host_model
    from tinyc.verify.compare import tflm_runner

    path = write(tmp_path, "boundary", data)
    expected = tflm_runner(path, 1)([x])[0].tobytes()

    def first() -> bytes:
        compiled = compile_model(path)
        host = build_host_model(compiled.files, compiled.name)
        host.reset()
        return host.run([x])[0]

    ours = first()
    with monkeypatch.context() as patch:
        patch.setattr(svdf, "effective_scale", other)
        changed = first()
    return expected, ours, changed


@pytest.mark.parametrize("other", sorted(ALTERNATIVES))
def test_effective_scale_1_takes_the_double_arithmetic(tmp_path, monkeypatch, other):
    """input * feature weights / state: the source computes it in float, the wheel (the oracle)
    as in double. For scales where the two give different multipliers, feature sums on the
    boundaries where they round differently: one filter per sum, memory 1, time weight 1, the
    second rescale exactly 1 and the bias minus tinyc's result, so the output is 0 with tinyc's
    multiplier and +-1 with the other."""
    rng = np.random.default_rng(2)
    (a, b, c), ours, theirs = _differing_scales(rng, 0.01, 0.05, 0.02, ALTERNATIVES[other])
    n = 8
    sums = _boundaries(ours, theirs, range(-6000, 6000, 37), n)
    d = 2.0**-10  # time weights scale: c * d and then / e exact, so scale 2 is 1 either way
    e = float(np.float32(c * d))
    n_input = 48
    x = np.full((1, n_input), 127, np.int8)
    x[0, -1] = 1
    weights = np.zeros((n, n_input), np.int8)
    for f, (total, _) in enumerate(sums):  # 127 * (sum of the first weights) + the last one
        q, r = divmod(total, 127)
        if r > 63:
            q, r = q + 1, r - 127
        for k in range(n_input - 1):
            step = int(np.clip(q, -127, 127))
            weights[f, k], q = step, q - step
        assert q == 0
        weights[f, -1] = r
    bias = np.array([-result for _, result in sums], np.int32)
    tensors = [
        TensorSpec([1, n_input], np.int8, (a, 0)),
        TensorSpec([n, n_input], np.int8, (b, 0), data=weights),
        TensorSpec([n, 1], np.int16, (d, 0), data=np.ones((n, 1), np.int16)),
        TensorSpec([n], np.int32, (e, 0), data=bias),
        TensorSpec([1, n], np.int16, (c, 0), variable=True),
        TensorSpec([1, n], np.int8, (e, 0)),
    ]
    data = single_op_tflite("SVDF", tensors, [0], [5], "SVDFOptions", rank=1)
    expected, mine, changed = _run_both(tmp_path, monkeypatch, data, x, ALTERNATIVES[other])
    assert mine == expected == bytes(n)
    assert changed != expected


@pytest.mark.parametrize("other", sorted(ALTERNATIVES))
def test_effective_scale_2_takes_the_double_arithmetic(tmp_path, monkeypatch, other):
    """state * time weights / output, likewise: a zero input leaves the state 0, so each
    output is its bias requantized, and the biases sit where the two multipliers differ."""
    rng = np.random.default_rng(3)
    (c, d, e), ours, theirs = _differing_scales(rng, 0.002, 0.02, 1e-7, ALTERNATIVES[other])
    n = 8
    picks = _boundaries(ours, theirs, range(-120, 120, 3), n)
    tensors = [
        TensorSpec([1, 4], np.int8, (0.05, 0)),
        TensorSpec([n, 4], np.int8, (0.01, 0), data=np.ones((n, 4), np.int8)),
        TensorSpec([n, 2], np.int16, (d, 0), data=np.ones((n, 2), np.int16)),
        TensorSpec([n], np.int32, (float(np.float32(c * d)), 0),
                   data=np.array([total for total, _ in picks], np.int32)),
        TensorSpec([1, 2 * n], np.int16, (c, 0), variable=True),
        TensorSpec([1, n], np.int8, (e, 0)),
    ]
    data = single_op_tflite("SVDF", tensors, [0], [5], "SVDFOptions", rank=1)
    expected, mine, changed = _run_both(tmp_path, monkeypatch, data, np.zeros((1, 4), np.int8),
                                        ALTERNATIVES[other])
    assert mine == expected
    assert np.array_equal(np.frombuffer(expected, np.int8), [r for _, r in picks])
    assert changed != expected


# --- what is refused ---------------------------------------------------------------------------


def _refused(tmp_path: Path, data: bytes, *fragments: str, error=UnsupportedError) -> None:
    path = write(tmp_path, "refused", data)
    with pytest.raises(error) as info:
        compile_model(path)
    message = str(info.value)
    assert "op 0 (SVDF)" in message, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("kind, keywords, fragments", [
    # TFLM crashes on these two (its Prepare reads the int8 bias's scale, its float Eval the
    # bias's data, without checking that there is one): tinyc refuses them
    ("int16", {"bias": False}, ("without a bias",)),
    ("float32", {"bias": False}, ("without a bias",)),
    ("int16", {"bias_scale_error": 1e-4}, ("bias", "within 1e-5")),
])
def test_refusals_name_the_op_and_the_option(tmp_path, kind, keywords, fragments):
    _refused(tmp_path, svdf_tflite(kind, **keywords), *fragments)


def _retyped(position: int, tensor_type: str, kind: str = "int16", **fields) -> bytes:
    from ai_edge_litert import schema_py_generated as s

    from flatbuffer_models import pack

    model = s.ModelT.InitFromPackedBuf(svdf_tflite(kind), 0)
    graph = model.subgraphs[0]
    op = graph.operators[0]
    if tensor_type:
        graph.tensors[op.inputs[position] if position >= 0 else op.outputs[0]].type = getattr(
            s.TensorType, tensor_type)
    for name, value in fields.items():
        setattr(op.builtinOptions, name, value)
    return pack(model)


def test_rank_must_divide_the_filters(tmp_path):
    _refused(tmp_path, _retyped(0, "", rank=2), "rank=2 does not divide the 5 filters")
    _refused(tmp_path, _retyped(0, "", rank=0), "rank=0")


def test_mixed_types_are_refused(tmp_path):
    """An int8 state with int16 time weights (TFLM reads the state as the time weights' type);
    an int16 output; a float output of an int8 SVDF."""
    _refused(tmp_path, _retyped(4, "INT8"), "int8/int8/int16/int32/int8/int8")
    _refused(tmp_path, _retyped(-1, "INT16"), "int8/int8/int16/int32/int16/int16")
    _refused(tmp_path, _retyped(0, "INT16"), "int16 is not supported")


def test_states_that_are_not_variable_are_refused(tmp_path):
    _refused(tmp_path, svdf_tflite("int16", state_variable=False), "before it is written",
             error=TinycError)


# --- the generated code under -Werror -------------------------------------------------------------

WARNINGS = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
            "-Werror"]
COMPILERS = {
    "g++": ["-O2"],
    "clang++": ["-O2"],
    "arm-none-eabi-g++": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                          "-Os"],
}


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
def test_generated_code_builds_with_werror(tmp_path, compiler):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    models = {kind: write(tmp_path, f"w{kind}", svdf_tflite(kind, batches=2, rank=2))
              for kind in ("int16", "int8", "float32")}
    models["keyword"] = shared_model("wider/tflm_keyword_scrambled.tflite")
    for kind, path in models.items():
        folder = tmp_path / f"gen_{kind}"
        compile_to_folder(path, folder, name=f"m_{kind}")
        for source in folder.rglob("*.cpp"):
            result = subprocess.run([compiler, *WARNINGS, *COMPILERS[compiler], "-I", str(folder),
                                     "-c", str(source),
                                     "-o", str(tmp_path / "m.o")], capture_output=True,
                                    text=True)
            assert result.returncode == 0, result.stderr


def test_arena_and_state_are_smaller_than_tflms_arena():
    path = shared_model("wider/tflm_keyword_scrambled.tflite")
    compiled = compile_model(path)
    ours = compiled.plan.arena_bytes + compiled.plan.state_bytes
    tflm = tflm_arena(path)
    theirs = tflm["total"]
    print(f"keyword_scrambled: tinyc arena {compiled.plan.arena_bytes} + state "
          f"{compiled.plan.state_bytes}, TFLM arena {theirs}", file=sys.stderr)
    assert ours < theirs
    # the activations and scratch alone within TFLM's head (its activation plan and scratch)
    assert compiled.plan.arena_bytes <= tflm["head"]
