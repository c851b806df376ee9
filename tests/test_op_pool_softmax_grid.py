"""AVERAGE_POOL_2D, MAX_POOL_2D, MEAN and SOFTMAX in every type TFLM's kernels take, against TFLM.

- Grids: many independent single ops in one flatbuffer model (one host build each), per type
  (int8, int16, float32; softmax int8 -> int8, int8 -> int16, int16 -> int16, float32): shapes,
  filters, strides, SAME/VALID padding, fused activations, zero points, axes sets and keep_dims,
  scale ratios (MEAN's multiplier above and below 1, the 1/count shift clamp), softmax depths,
  betas (0 and negative included) and input scales from 1e-6 to 1e5 (int16: multipliers that
  shift right by 17 and left by 30, where TFLM's int32 product wraps). Random inputs over each
  integer type's whole range; floats uniform in [-4, 4] with some +-0, +-inf, NaN and huge values.
- Chosen inputs: every int16 softmax difference (rows [32767, v] for all v), so every interval of
  TFLM's exp table is used; the largest int16 sum of exps (depth 65536, equal inputs); int16 MEAN
  over 70000 elements whose int32 sum wraps around as TFLM's does.
- The generated code of all these kernels builds with -Werror under g++, clang++ and
  arm-none-eabi-g++.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.pipeline import compile_model

from flatbuffer_models import TensorSpec
from op_cases import Case, multi_op_model, run_cases

# --- many independent ops in one model --------------------------------------------------------


RNG = np.random.default_rng(0)


def reseed(seed: int) -> None:
    """Each case builder starts from its own seed, whatever ran before it in this process."""
    RNG.bit_generator.state = np.random.default_rng(seed).bit_generator.state


SPECIAL = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -0.5, 1e30, -1e30, 1e-40, 3.0, -7.0], np.float32
)


def values(dtype: str, shape, special: bool = False) -> np.ndarray:
    """Integers uniform over the type's range; floats uniform in [-4, 4], some special."""
    if dtype == "float32":
        x = RNG.uniform(-4, 4, shape).astype(np.float32)
        if special:
            flat = x.reshape(-1)
            k = min(flat.size // 3, SPECIAL.size)
            chosen = SPECIAL[RNG.permutation(SPECIAL.size)[:k]]
            flat[RNG.choice(flat.size, k, replace=False)] = chosen
        return x
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def spec(shape, dtype: str, quant=None, data=None) -> TensorSpec:
    return TensorSpec(list(shape), np.dtype(dtype), None if dtype == "float32" else quant, data)


def enum(table: str, name: str) -> int:
    from ai_edge_litert import schema_py_generated as s

    return getattr(getattr(s, table), name)


ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")

# --- pooling ----------------------------------------------------------------------------------

# (input NHWC, (filter h, w), (stride h, w))
POOL_GEOMETRIES = [
    ([1, 8, 8, 4], (2, 2), (2, 2)),
    ([2, 7, 9, 3], (3, 3), (2, 2)),
    ([1, 7, 5, 2], (3, 1), (1, 1)),
    ([1, 6, 7, 5], (2, 3), (1, 2)),
    ([1, 4, 4, 3], (5, 5), (1, 1)),  # filter larger than the input (SAME only)
    ([1, 10, 11, 2], (4, 4), (3, 3)),
    ([1, 1, 1, 6], (1, 1), (1, 1)),
    ([1, 5, 5, 1], (5, 5), (1, 1)),  # one window: a global pool
    ([1, 9, 3, 7], (2, 2), (3, 1)),  # stride above the filter: input rows skipped
    ([3, 6, 6, 2], (1, 1), (2, 2)),
]
POOL_QUANT = {
    "int8": [(0.05, 0), (0.02, -20), (0.1, 50), (1 / 255, -128)],
    "int16": [(1e-3, 0), (3e-4, 100), (1e-5, -5), (0.05, 0), (2e-4, -32768)],
    "float32": [None],
}


def out_size(padding: str, size: int, filter_size: int, stride: int) -> int:
    """TensorFlow's pooling output size: ceil(in / stride) for SAME, else of (in - filter + 1)."""
    if padding == "SAME":
        return -(-size // stride)
    return -(-(size - filter_size + 1) // stride)


def pool_cases(dtype: str) -> list[Case]:
    reseed({"int8": 10, "int16": 11, "float32": 12}[dtype])
    cases = []
    n = 0
    for shape, (fh, fw), (sh, sw) in POOL_GEOMETRIES:
        for padding in ("SAME", "VALID"):
            oh, ow = out_size(padding, shape[1], fh, sh), out_size(padding, shape[2], fw, sw)
            if oh <= 0 or ow <= 0:
                continue
            for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
                act = ACTIVATIONS[n % 4]
                quant = POOL_QUANT[dtype][n % len(POOL_QUANT[dtype])]
                n += 1
                out_shape = [shape[0], oh, ow, shape[3]]
                cases.append(
                    Case(
                        kind,
                        [spec(shape, dtype, quant)],
                        spec(out_shape, dtype, quant),
                        [values(dtype, shape, special=n % 3 == 0)],
                        "Pool2DOptions",
                        {
                            "padding": enum("Padding", padding),
                            "strideH": sh,
                            "strideW": sw,
                            "filterHeight": fh,
                            "filterWidth": fw,
                            "fusedActivationFunction": enum("ActivationFunctionType", act),
                        },
                        f"{kind} {dtype} {shape} f{fh}x{fw} s{sh}x{sw} {padding} {act} {quant}",
                    )
                )
    return cases


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_pool_grid(dtype, tmp_path):
    cases = pool_cases(dtype)
    assert len(cases) >= 30
    run_cases(tmp_path, f"pool_{dtype}", cases)


# --- MEAN -------------------------------------------------------------------------------------

# (input shape, axes, keep_dims)
MEAN_SHAPES = [
    ([1, 5, 6, 8], [1, 2], False),  # GlobalAveragePooling2D
    ([1, 5, 6, 8], [1, 2], True),  # float: TFLM's special 4-D path
    ([2, 3, 4, 5], [2, 1], True),
    ([2, 3, 4, 5], [0], False),
    ([2, 3, 4, 5], [3], True),
    ([2, 3, 4, 5], [-1], False),
    ([2, 3, 4, 5], [1, 3], False),
    ([2, 3, 4, 5], [0, 1, 2, 3], False),
    ([2, 3, 4, 5], [1, 1], True),  # a repeated axis counts once
    ([7], [0], False),
    ([4, 6], [-2], True),
    ([3, 4, 5], [0, 2], False),
    ([1, 16, 16, 3], [1, 2], False),  # 256 per output
    ([1, 64, 64, 2], [1, 2], True),  # 4096 per output
]
# (input scale, zero point, output scale, zero point): equal, ratios above and below 1, extremes
MEAN_QUANT = {
    "int8": [
        (0.05, 3, 0.05, 3),
        (0.1, -10, 0.02, 5),
        (0.01, 0, 0.3, -100),
        (1e-4, -128, 1.0, 0),
        (0.5, 127, 1e-3, 0),
    ],
    "int16": [
        (1e-3, 0, 1e-3, 0),
        (3e-4, 0, 1e-4, 0),
        (1e-4, 7, 5e-3, -9),
        (0.5, 0, 1e-4, 0),  # input/output 5000: TFLM's left shift wraps int32
        (1e-6, 0, 1.0, 0),
        (0.02, -32768, 0.03, 32767),
    ],
    "float32": [None],
}


def mean_cases(dtype: str) -> list[Case]:
    reseed({"int8": 20, "int16": 21, "float32": 22}[dtype])
    cases = []
    for n, (shape, axes, keep) in enumerate(MEAN_SHAPES):
        quant = MEAN_QUANT[dtype][n % len(MEAN_QUANT[dtype])]
        resolved = {a % len(shape) for a in axes}
        out = [1 if i in resolved else d for i, d in enumerate(shape) if keep or i not in resolved]
        q_in = None if quant is None else quant[:2]
        q_out = None if quant is None else quant[2:]
        cases.append(
            Case(
                "MEAN",
                [spec(shape, dtype, q_in), spec([len(axes)], "int32", data=np.array(axes))],
                spec(out, dtype, q_out),
                [values(dtype, shape, special=n % 4 == 0)],
                "ReducerOptions",
                {"keepDims": keep},
                f"MEAN {dtype} {shape} axes {axes} keep {keep} {quant}",
            )
        )
    return cases


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_mean_grid(dtype, tmp_path):
    run_cases(tmp_path, f"mean_{dtype}", mean_cases(dtype))


def test_mean_int16_sum_wraps_like_tflm(tmp_path):
    """70000 elements of 32767 sum past 2^31: TFLM's int32 sum wraps around (on every target it
    runs on), and so does tinyc's."""
    shape = [1, 280, 250, 1]
    axes = spec([2], "int32", data=np.array([1, 2]))
    ones = np.full(shape, 32767, np.int16)
    mixed = values("int16", shape)
    mixed[0, :200] = 32767
    cases = [
        Case("MEAN", [spec(shape, "int16", (1e-3, 0)), axes], spec([1, 1], "int16", (1e-3, 0)),
             [x], "ReducerOptions", {"keepDims": False}, f"MEAN wrap {i}")
        for i, x in enumerate((ones, mixed))
    ]
    run_cases(tmp_path, "mean_wrap", cases)


# --- SOFTMAX ----------------------------------------------------------------------------------

SOFTMAX_SHAPES = [[1, 10], [3, 37], [2, 3, 5], [1, 1], [4, 300], [1, 2, 2, 64], [16]]
SOFTMAX_BETAS = [1.0, 0.5, 3.0, 1.0, 37.5, 1.0, 0.25]
OUTPUT_QUANT = {"int8": (1 / 256, -128), "int16": (1 / 65536, -32768)}
SOFTMAX_INPUT_SCALES = {
    "int8": [0.1, 0.004, 0.5, 1 / 16, 0.02],
    # 1e5: QuantizeMultiplier shifts left by 30 (TFLM's int32 product wraps); 1e-6 right by 17
}
# int16 (input scale, beta), spread over the shapes: QuantizeMultiplier(scale * beta * 6553.5)
# from a right shift of 17 (1e-6) to a left shift of 30 (1e5, where TFLM's int32 product wraps);
# beta 0 (every exp is exp(0)) and negative.
SOFTMAX_INT16_GRID = [
    (1e-3, 1.0), (1e-6, 1.0), (1e-5, 4.0), (10 / 65535, 1.0), (0.01, 0.25), (0.1, 1.0),
    (1.0, 1.0), (10.0, 2.0), (1e5, 1.0), (3e-4, 0.0), (1e-3, -1.0), (2e-3, 37.5),
    (5e-4, 1.0), (1e-4, 3.0), (50.0, 0.5), (1e-3, 1.0), (4e-2, 1.0), (3e-5, 0.1),
    (1e-3, 2.0), (0.2, 1.0), (1e-3, 0.5),
]


def softmax_cases(source: str, target: str) -> list[Case]:
    reseed({"int8": 30, "int16": 31, "float32": 32}[source] + 10 * (target == "int16"))
    cases = []
    if source == "int16":
        grid = [
            (shape, scale, beta)
            for i, shape in enumerate(SOFTMAX_SHAPES)
            for scale, beta in SOFTMAX_INT16_GRID[i::len(SOFTMAX_SHAPES)]
        ]
        grid += [([2, 1000], 1e-3, 1.0), ([1, 4097], 10 / 65535, 2.0)]
    elif source == "int8":
        grid = [
            (shape, SOFTMAX_INPUT_SCALES["int8"][i % 5], SOFTMAX_BETAS[i])
            for i, shape in enumerate(SOFTMAX_SHAPES)
        ]
        grid += [([5, 17], scale, 1.0) for scale in SOFTMAX_INPUT_SCALES["int8"]]
    else:
        grid = [
            (shape, None, beta)
            for i, shape in enumerate(SOFTMAX_SHAPES)
            for beta in ([1.0, 0.5, 2.0, 0.0, -1.0, 100.0][i % 3 :: 2])
        ]
    for n, (shape, scale, beta) in enumerate(grid):
        if source == "int16":
            q_in, q_out = (scale, 0), (1 / 32768, 0)
        elif source == "int8":
            q_in, q_out = (scale, int(RNG.integers(-128, 128))), OUTPUT_QUANT[target]
        else:
            q_in = q_out = None
        cases.append(
            Case(
                "SOFTMAX",
                [spec(shape, source, q_in)],
                spec(shape, target, q_out),
                [values(source, shape, special=n % 5 == 1)],
                "SoftmaxOptions",
                {"beta": beta},
                f"SOFTMAX {source}->{target} {shape} scale {scale} beta {beta}",
            )
        )
    return cases


@pytest.mark.parametrize(
    "source,target",
    [("int8", "int8"), ("int8", "int16"), ("int16", "int16"), ("float32", "float32")],
)
def test_softmax_grid(source, target, tmp_path):
    cases = softmax_cases(source, target)
    assert len(cases) >= 12
    run_cases(tmp_path, f"softmax_{source}_{target}", cases)


@pytest.mark.parametrize("scale,beta", [(10 / 65535, 1.0), (1e-3, 1.0), (3e-4, 0.7), (2e-5, 9.0)])
def test_softmax_int16_every_difference(scale, beta, tmp_path):
    """Rows [32767, v] for every int16 v: every difference from 0 to -65535 once. At scale
    10/65535 (beta 1) the rescale is the identity, so every point of every interval of the exp
    table is looked up, with the output resolution of a two-element row."""
    v = np.arange(-32768, 32768, dtype=np.int16)
    x = np.stack([np.full_like(v, 32767), v], axis=1)
    case = Case("SOFTMAX", [spec(x.shape, "int16", (scale, 0))],
                spec(x.shape, "int16", (1 / 32768, 0)), [x], "SoftmaxOptions", {"beta": beta},
                f"SOFTMAX every difference scale {scale} beta {beta}")
    run_cases(tmp_path, "softmax_every_diff", [case])


def test_softmax_int16_largest_sums(tmp_path):
    """Equal inputs over depth 65536 (the largest depth tinyc takes): the sum of exps is
    65536 * 32767, just below 2^31; other depths step the reciprocal table through its range."""
    cases = []
    for depth in (65536, 2, 3, 5, 7, 100, 1000, 40000):
        x = np.full([1, depth], 1234, np.int16)
        x[0, :: max(depth // 7, 1)] = 1234 - 50
        cases.append(Case("SOFTMAX", [spec(x.shape, "int16", (1e-3, 0))],
                          spec(x.shape, "int16", (1 / 32768, 0)), [x], "SoftmaxOptions",
                          {"beta": 1.0}, f"SOFTMAX depth {depth}"))
    run_cases(tmp_path, "softmax_sums", cases)


def test_softmax_int8_every_difference(tmp_path):
    """Rows [127, v] for every int8 v, into int8 and int16 outputs, at several scales."""
    v = np.arange(-128, 128, dtype=np.int8)
    x = np.stack([np.full_like(v, 127), v], axis=1)
    cases = [
        Case("SOFTMAX", [spec(x.shape, "int8", (scale, 0))], spec(x.shape, target,
             OUTPUT_QUANT[target]), [x], "SoftmaxOptions", {"beta": 1.0},
             f"SOFTMAX int8->{target} every difference scale {scale}")
        for scale in (0.004, 0.05, 0.3)
        for target in ("int8", "int16")
    ]
    run_cases(tmp_path, "softmax_int8_every_diff", cases)


# --- the generated code builds clean ------------------------------------------------------------

CXX = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror"]
ARM = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


def all_kernels_cases() -> list[Case]:
    cases = []
    for dtype in ("int8", "int16", "float32"):
        cases += pool_cases(dtype)[:4] + mean_cases(dtype)[:2]
    for pair in (("int8", "int8"), ("int8", "int16"), ("int16", "int16"), ("float32", "float32")):
        cases += softmax_cases(*pair)[:2]
    return cases


def test_all_kernels_in_one_model(tmp_path):
    """Every kernel of pooling.h, mean.h and softmax.h in one model, bit-exact with TFLM."""
    cases = all_kernels_cases()
    path = run_cases(tmp_path, "all_kernels", cases)
    functions = {call.function for call in compile_model(path).model.calls}
    assert functions == {
        f"tinyc_{kind}_pool_{t}" for kind in ("average", "max") for t in ("s8", "s16", "f32")
    } | {f"tinyc_mean_{t}" for t in ("s8", "s16", "f32")} | {
        "tinyc_softmax_s8", "tinyc_softmax_s8_s16", "tinyc_softmax_s16", "tinyc_softmax_f32"
    }


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_clean(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    path = tmp_path / "all.tflite"
    path.write_bytes(multi_op_model(all_kernels_cases()))
    folder = tmp_path / "gen"
    compile_to_folder(path, folder, name="pool_softmax_ops")
    flags = CXX + (ARM if compiler.startswith("arm") else ["-O2"])
    sources = list(folder.rglob("*.cpp"))
    assert sources
    for source in sources:
        result = subprocess.run(
            [compiler, *flags, "-I", str(folder), "-c", str(source), "-o", str(tmp_path / "o.o")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
