"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: bit-exact with TFLM's reference kernels.

- test_grid_matches_tflm: flatbuffer models over types (every type TFLM's micro kernels take),
  shapes (up, down, non-integer factors, to 1x1, from 1x1, batches) and options. One model per
  (op, type, shapes) holds one op per option combination, each its own output, so one host
  build covers them all; every output byte is compared with TFLM on random inputs (ints over
  their whole range, floats in [-4, 4]).
- test_types_are_the_ones_tflm_takes: for every candidate type, tinyc compiles the op exactly
  when TFLM runs it.
- chosen inputs (-0.0 through float bilinear, NaN payloads through nearest) and Keras layers
  (UpSampling2D, Resizing) converted by TensorFlow, each checked to contain the op.
- rejections (run-time size, both bilinear options, rank) name the op and the option.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import subprocess

import numpy as np
import pytest

from tinyc import compile_to_folder
from tinyc.errors import UnsupportedError
from tinyc.ops.resize import nearest_index
from tinyc.pipeline import compile_model
from tinyc.read_tflite import read_model
from tinyc.verify.build import build_host_model
from tinyc.verify.compare import tflm_runner

from conftest import assert_bit_exact
from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model
from tflite_builders import cached_model, convert, quiet_tensorflow, representative_samples

VERSION = "v1"  # bump to rebuild this file's cached TensorFlow models
SAMPLES = 12
NEAREST, BILINEAR = "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"
OPTIONS = {NEAREST: "ResizeNearestNeighborOptions", BILINEAR: "ResizeBilinearOptions"}
TYPES = {NEAREST: ("int8", "int16", "float32"), BILINEAR: ("int8", "float32")}
COMBOS = {  # (align_corners, half_pixel_centers); TFLM's bilinear refuses both
    NEAREST: ((False, False), (True, False), (False, True), (True, True)),
    BILINEAR: ((False, False), (True, False), (False, True)),
}
QUANT = {"int8": (0.05, 3), "int16": (0.001, 0), "float32": None}
SHAPES = {  # name: (input NHWC, output size)
    "up2x": ((1, 4, 4, 3), (8, 8)),
    "up-fractional": ((1, 3, 5, 2), (7, 9)),
    "up-halves": ((1, 5, 9, 1), (9, 17)),  # align_corners scale 0.5: exact halves to round
    "down": ((2, 8, 9, 3), (3, 4)),
    "down-big": ((1, 17, 23, 2), (4, 5)),
    "to-1x1": ((1, 5, 3, 4), (1, 1)),
    "from-1x1": ((1, 1, 1, 3), (4, 3)),
    "same-size": ((1, 4, 6, 5), (4, 6)),
    "mixed": ((1, 6, 3, 2), (4, 8)),  # down in height, up in width
    # sizes where GetNearestNeighbor's float32 arithmetic picks another pixel than exact
    # arithmetic would, for every option combination
    "float32-rounding": ((1, 14, 14, 1), (23, 46)),
}


def resize_model(kind: str, dtype: str, shape: tuple[int, ...], size: tuple[int, int],
                 combos=None, size_input: bool = False) -> bytes:
    """One input, one size tensor, one op (and output) per option combination."""
    combos = COMBOS[kind] if combos is None else combos
    q = QUANT.get(dtype, (0.05, 0))
    size_data = None if size_input else np.array(size, np.int32)
    tensors = [TensorSpec(shape, dtype, q, name="x"),
               TensorSpec([2], np.int32, data=size_data, name="size")]
    ops, outputs = [], []
    for align, half in combos:
        tensors.append(TensorSpec([shape[0], *size, shape[3]], dtype, q,
                                  name=f"align{int(align)}_half{int(half)}"))
        outputs.append(len(tensors) - 1)
        ops.append(OperatorSpec(kind, [0, 1], [outputs[-1]], OPTIONS[kind],
                                {"alignCorners": align, "halfPixelCenters": half}))
    return tflite_model(tensors, ops, [0, 1] if size_input else [0], outputs)


def resize_path(kind, dtype, shape_name, **kwargs):
    """The grid model on disk, named by its content (flatbuffers are cheap to make)."""
    shape, size = SHAPES[shape_name]
    data = resize_model(kind, dtype, shape, size, **kwargs)
    key = f"resize-{kind}-{dtype}-{shape_name}-{hashlib.sha256(data).hexdigest()[:16]}"
    return cached_model(key, lambda: data)


GRID = [(kind, dtype, shape) for kind in (NEAREST, BILINEAR) for dtype in TYPES[kind]
        for shape in SHAPES]


@pytest.mark.parametrize("kind,dtype,shape", GRID, ids=["-".join(c) for c in GRID])
def test_grid_matches_tflm(kind, dtype, shape):
    assert_bit_exact(resize_path(kind, dtype, shape), SAMPLES)


def test_grid_outputs_are_not_trivial():
    """Bilinear outputs interpolate (values no input has); nearest outputs pick varied pixels."""
    path = resize_path(BILINEAR, "int8", "up-fractional")
    x = np.random.default_rng(1).integers(-128, 128, SHAPES["up-fractional"][0], dtype=np.int8)
    for output in tflm_runner(path, 3)([x]):
        assert len(set(np.unique(output)) - set(np.unique(x))) > 10
    for shape in ("down-big", "up-fractional", "up-halves"):
        (in_h, in_w), (out_h, out_w) = SHAPES[shape][0][1:3], SHAPES[shape][1]
        mappings = {(tuple(nearest_index(i, in_h, out_h, align, half) for i in range(out_h)),
                     tuple(nearest_index(i, in_w, out_w, align, half) for i in range(out_w)))
                    for align, half in COMBOS[NEAREST]}
        assert len(mappings) >= 3, shape  # the options pick different pixels


@pytest.mark.parametrize("kind", [NEAREST, BILINEAR])
def test_types_are_the_ones_tflm_takes(kind, tmp_path):
    """TFLM's micro kernels: nearest takes int8, int16, float32; bilinear int8 and float32."""
    for dtype in ("int8", "int16", "float32", "int32", "uint8"):
        path = tmp_path / f"{dtype}.tflite"
        path.write_bytes(resize_model(kind, dtype, (1, 2, 3, 2), (3, 4), combos=[(False, False)]))
        x = np.zeros((1, 2, 3, 2), dtype)
        try:
            tflm_runner(path, 1)([x])
            tflm_runs = True
        except Exception:
            tflm_runs = False
        try:
            compile_model(path)
            tinyc_compiles = True
        except UnsupportedError:
            tinyc_compiles = False
        assert tflm_runs == tinyc_compiles == (dtype in TYPES[kind]), dtype


def run_both(path, inputs, outputs=1):
    compiled = compile_model(path)
    ours = build_host_model(compiled.files, compiled.name).run(inputs)
    return ours, [np.asarray(o).tobytes() for o in tflm_runner(path, outputs)(inputs)]


def test_float_bilinear_negative_zero_and_nearest_nan_payloads(tmp_path):
    """TFLM adds a 0.0f rounding offset to every float interpolation (so -0.0 comes out +0.0),
    and copies float pixels as int32 words (NaN payloads and -0.0 pass through)."""
    shape = (1, 3, 4, 2)
    bilinear = tmp_path / "bilinear.tflite"
    bilinear.write_bytes(resize_model(BILINEAR, "float32", shape, (5, 7)))
    x = np.full(shape, -0.0, np.float32)
    x[0, 0, 0, 0] = -1.5
    ours, tflm = run_both(bilinear, [x], 3)
    assert ours == tflm
    assert np.signbit(np.frombuffer(tflm[0], np.float32)).sum() < 5  # mostly +0.0
    nearest = tmp_path / "nearest.tflite"
    nearest.write_bytes(resize_model(NEAREST, "float32", shape, (5, 7)))
    words = np.random.default_rng(3).integers(0x7F800001, 0x7FFFFFFF, shape, dtype=np.uint32)
    words[0, 1] = 0x80000000  # -0.0
    ours, tflm = run_both(nearest, [words.view(np.float32)], 4)
    assert ours == tflm


# --- what TensorFlow makes of Keras layers ---


def keras_resize_model(key: str, library: str, layer, mode: str, shape=(6, 5, 3)) -> object:
    """Cached model of one resizing Keras layer; library "keras" (Keras 3, tf.keras) or
    "tf_keras" (legacy Keras 2, which converts UpSampling2D to RESIZE_NEAREST_NEIGHBOR)."""

    def make() -> bytes:
        tf = quiet_tensorflow()
        keras = tf.keras if library == "keras" else tf_keras()
        keras.utils.set_random_seed(0)
        x = keras.Input(shape=shape, batch_size=1)
        model = keras.Model(x, layer(keras.layers)(x))
        return convert(model, representative_samples(shape, low=-2.0, high=2.0), mode)

    return cached_model(f"resize-{VERSION}-keras-{key}-{library}-{mode}-{shape}", make)


def tf_keras():
    try:
        import tf_keras as module
    except ImportError:
        pytest.fail("tf_keras is not installed (pip install --no-deps tf-keras): the legacy "
                    "Keras 2 UpSampling2D test needs it")
    return module


KERAS = {  # name: (library, layer, the op it must convert to)
    "upsampling-nearest": ("tf_keras", lambda L: L.UpSampling2D((2, 3)), NEAREST),
    "upsampling-bilinear": ("keras", lambda L: L.UpSampling2D(2, interpolation="bilinear"),
                            BILINEAR),
    "upsampling-bilinear-tf-keras": ("tf_keras", lambda L: L.UpSampling2D(
        (3, 2), interpolation="bilinear"), BILINEAR),
    "resizing-bilinear": ("keras", lambda L: L.Resizing(9, 4), BILINEAR),
    "resizing-nearest": ("keras", lambda L: L.Resizing(4, 11, interpolation="nearest"), NEAREST),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["int8", "float"])
@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_layer_matches_tflm(name, mode):
    library, layer, kind = KERAS[name]
    if library == "tf_keras":
        tf_keras()
    path = keras_resize_model(name, library, layer, mode)
    kinds = [op.kind for op in read_model(path).ops]
    assert kinds == [kind], f"the converter produced {kinds}"
    assert_bit_exact(path, SAMPLES)


# --- rejections ---


def unsupported_message(data: bytes, tmp_path) -> str:
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    with pytest.raises(UnsupportedError) as info:
        compile_model(path)
    return str(info.value)


def test_run_time_size_is_refused(tmp_path):
    message = unsupported_message(
        resize_model(NEAREST, "int8", (1, 2, 2, 1), (4, 4), combos=[(False, False)],
                     size_input=True), tmp_path)
    assert "op 0 (RESIZE_NEAREST_NEIGHBOR)" in message and "run time" in message


def test_bilinear_with_both_options_is_refused(tmp_path):
    message = unsupported_message(
        resize_model(BILINEAR, "float32", (1, 2, 2, 1), (4, 4), combos=[(True, True)]), tmp_path)
    assert "op 0 (RESIZE_BILINEAR)" in message and "align_corners and half_pixel" in message


@pytest.mark.parametrize("kind", [NEAREST, BILINEAR])
def test_bad_shapes_are_refused(kind, tmp_path):
    tensors = [TensorSpec((2, 2, 1), np.int8, (0.1, 0)),
               TensorSpec([2], np.int32, data=np.array([4, 4], np.int32)),
               TensorSpec((4, 4, 1), np.int8, (0.1, 0))]
    op = OperatorSpec(kind, [0, 1], [2], OPTIONS[kind], {})
    message = unsupported_message(tflite_model(tensors, [op], [0], [2]), tmp_path)
    assert f"op 0 ({kind})" in message and "rank 3" in message
    tensors[2] = TensorSpec((1, 4, 5, 1), np.int8, (0.1, 0))
    tensors[0] = TensorSpec((1, 2, 2, 1), np.int8, (0.1, 0))
    message = unsupported_message(tflite_model(tensors, [op], [0], [2]), tmp_path)
    assert f"op 0 ({kind})" in message and "output shape [1, 4, 5, 1]" in message


# --- the generated code under firmware warnings ---

CXX_FLAGS = ["-std=c++11", "-pedantic", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
             "-Werror"]  # as tests/test_generated_code.py
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


@pytest.mark.parametrize("compiler", ["g++", "clang++", "arm-none-eabi-g++"])
def test_generated_code_builds_with_werror(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (.ci/run installs it)")
    flags = CXX_FLAGS + (ARM_FLAGS if compiler.startswith("arm") else ["-O2"])
    for kind, dtype in itertools.chain.from_iterable(
            [(k, d) for d in TYPES[k]] for k in (NEAREST, BILINEAR)):
        folder = tmp_path / f"{kind}-{dtype}"
        compile_to_folder(resize_path(kind, dtype, "up-fractional"), folder, name="model")
        for source in folder.rglob("*.cpp"):
            result = subprocess.run([compiler, *flags, "-I", str(folder), "-c", str(source),
                                     "-o", str(tmp_path / "m.o")], capture_output=True,
                                    text=True)
            assert result.returncode == 0, result.stderr
