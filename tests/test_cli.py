"""The command line: exit codes, one-line messages on bad input, and untouched output folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, assert_untouched, run_tinyc, shared_model
from tflite_builders import cached_model, convert, keras_model

HELLO = shared_model("hello_world_int8.tflite")


# --- models that tinyc must refuse ---


def _unsupported_op_model(tmp: Path) -> Path:
    """Two ops no TFLM-targeting compiler lowers (RFFT2D twice, UNIQUE once), after a known one."""
    from flatbuffer_models import OperatorSpec, TensorSpec, tflite_model

    f32 = [TensorSpec([1, 8], np.float32) for _ in range(4)]
    ops = [OperatorSpec("RELU", [0], [1]), OperatorSpec("RFFT2D", [1], [2]),
           OperatorSpec("UNIQUE", [2], [3]), OperatorSpec("RFFT2D", [3], [2])]
    return _write(tmp / "fft.tflite", tflite_model(f32, ops, [0], [2]))


def _float16_model() -> Path:
    def make() -> bytes:
        from tflite_builders import quiet_tensorflow

        tf = quiet_tensorflow()
        converter = tf.lite.TFLiteConverter.from_keras_model(
            keras_model((4,), lambda tf, x: tf.keras.layers.Dense(3)(x))
        )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()

    return cached_model("cli-float16", make)


def _hybrid_model() -> Path:
    build = lambda tf, x: tf.keras.layers.Dense(8)(tf.keras.layers.Dense(64)(x))  # noqa: E731
    return cached_model("cli-hybrid", lambda: convert(keras_model((64,), build), None, "dynamic"))


BAD_MODELS = {
    "missing": (lambda tmp: tmp / "nope.tflite", ["nope.tflite", "no such file"]),
    "empty": (lambda tmp: _write(tmp / "empty.tflite", b""), ["empty"]),
    "truncated": (
        lambda tmp: _write(tmp / "cut.tflite", HELLO.read_bytes()[:700]),
        ["cut.tflite", "corrupt or truncated"],
    ),
    "foreign": (
        lambda tmp: _write(tmp / "photo.tflite", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        ["photo.tflite", "not a .tflite model"],
    ),
    "directory": (lambda tmp: tmp, ["is a directory"]),
    "unsupported-ops": (
        _unsupported_op_model,
        ["unsupported ops: RFFT2D (ops 1, 3), UNIQUE (op 2);", "`tinyc ops` lists"],
    ),
    "float16-type": (lambda tmp: _float16_model(), ["unsupported type FLOAT16"]),
    "hybrid": (
        lambda tmp: _hybrid_model(),
        ["dynamic-range (hybrid)", "TFLITE_BUILTINS_INT8", "representative_dataset"],
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_gives_one_line_and_leaves_output_untouched(case, tmp_path, existing_output):
    make, fragments = BAD_MODELS[case]
    model = make(_mkdir(tmp_path / "in"))
    result = run_tinyc("compile", str(model), "-o", str(existing_output))
    assert result.returncode == 1
    assert_one_line_error(result, *fragments)
    assert_untouched(existing_output)


@pytest.mark.parametrize("case", ["truncated", "foreign", "unsupported-ops"])
def test_bad_model_creates_no_output_folder(case, tmp_path):
    make, _ = BAD_MODELS[case]
    out = tmp_path / "fresh"
    result = run_tinyc("compile", str(make(_mkdir(tmp_path / "in"))), "-o", str(out))
    assert result.returncode == 1 and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def _mkdir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def test_every_truncation_is_rejected_cleanly(tmp_path):
    """No prefix of a valid model may crash the reader or be accepted."""
    from tinyc import TinycError
    from tinyc.read_tflite import read_model

    data = HELLO.read_bytes()
    for cut in range(0, len(data), 97):
        path = _write(tmp_path / "cut.tflite", data[:cut])
        with pytest.raises(TinycError):
            read_model(path)


def test_output_path_under_a_file_is_an_error(tmp_path):
    blocker = _write(tmp_path / "file", b"x")
    result = run_tinyc("compile", str(HELLO), "-o", str(blocker / "gen"))
    assert_one_line_error(result, "cannot write output folder")
    assert blocker.read_bytes() == b"x"


def test_output_path_that_is_a_file_is_an_error(tmp_path):
    blocker = _write(tmp_path / "gen", b"x")
    result = run_tinyc("compile", str(HELLO), "-o", str(blocker))
    assert_one_line_error(result, "exists and is not a folder")
    assert blocker.read_bytes() == b"x"


def test_compile_replaces_an_existing_folder_completely(tmp_path, existing_output):
    result = run_tinyc("compile", str(HELLO), "-o", str(existing_output))
    assert result.returncode == 0, result.stderr
    names = sorted(str(p.relative_to(existing_output)) for p in existing_output.rglob("*"))
    assert names == [
        "hello_world_int8.cpp",
        "hello_world_int8.h",
        "tinyc_runtime",
        "tinyc_runtime/fully_connected.h",
        "tinyc_runtime/tinyc_common.h",
        "tinyc_runtime/tinyc_dsp.h",
    ]
    assert "arena 32 bytes" in result.stdout


def test_name_option_and_default_name(tmp_path):
    weird = tmp_path / "2-layer model.tflite"
    weird.write_bytes(HELLO.read_bytes())
    assert run_tinyc("compile", str(weird), "-o", str(tmp_path / "a")).returncode == 0
    assert (tmp_path / "a" / "_2_layer_model.h").exists()
    assert (
        run_tinyc("compile", str(HELLO), "-o", str(tmp_path / "b"), "--name", "sine").returncode
        == 0
    )
    assert "int sine_invoke(void);" in (tmp_path / "b" / "sine.h").read_text()
    bad = run_tinyc("compile", str(HELLO), "-o", str(tmp_path / "c"), "--name", "not-an-ident")
    assert_one_line_error(bad, "not a C identifier")
    assert not (tmp_path / "c").exists()


def test_usage_errors_are_one_line_with_exit_2():
    result = run_tinyc("compile", str(HELLO))
    assert result.returncode == 2
    assert_one_line_error(result, "-o/--output")
    assert run_tinyc("frobnicate").returncode == 2


def test_help_lists_the_commands():
    result = run_tinyc("--help")
    assert result.returncode == 0
    for command in ("compile", "verify", "ops"):
        assert command in result.stdout
    assert "exit status" in result.stdout


def test_verify_reports_bit_exact_and_exit_status():
    result = run_tinyc("verify", str(HELLO), "--samples", "40")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vs TFLM (reference kernels)     40/40 bit-exact, max abs diff 0" in result.stdout
    assert "LiteRT (default, XNNPACK)" in result.stdout
    assert result.stdout.strip().endswith("PASS: bit-exact with TFLM")


def test_verify_exits_3_when_outputs_differ(monkeypatch):
    """A deliberately wrong kernel must be caught: verify is only useful if it can fail."""
    from tinyc import cli
    from tinyc.ops import fully_connected

    original = fully_connected._lower_int8

    def off_by_one(*args, **kwargs):
        call = original(*args, **kwargs)
        params = tuple((k, v + 1 if k == "output_offset" else v) for k, v in call.params)
        return type(call)(**{**call.__dict__, "params": params})

    monkeypatch.setattr(fully_connected, "_lower_int8", off_by_one)
    assert cli.main(["verify", str(HELLO), "--samples", "20", "--no-litert"]) == cli.EXIT_MISMATCH


def test_python_dash_m_works_from_another_directory(tmp_path):
    result = run_tinyc("compile", str(HELLO), "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "hello_world_int8.cpp").exists()


def test_ops_command_matches_readme_table():
    from tinyc.cli import supported_ops_table
    from tinyc.ops import load_all

    table = "\n".join(supported_ops_table(load_all()))
    assert run_tinyc("ops").stdout.strip() == table
    assert table in (REPO / "README.md").read_text(), (
        "README's supported-ops table is stale: paste the output of `tinyc ops`"
    )


def test_random_float_inputs_cover_the_quantized_range(sine_models):
    from tinyc.read_tflite import read_model
    from tinyc.verify.compare import random_inputs

    graph = read_model(sine_models["int8_float_io"])
    values = np.concatenate(
        [random_inputs(graph, np.random.default_rng(s))[0].ravel() for s in range(200)]
    )
    quant = graph.tensor(graph.ops[0].outputs[0])
    low, high = quant.scale * (-128 - quant.zero_point), quant.scale * (127 - quant.zero_point)
    assert values.min() < low and values.max() > high  # saturation is exercised too


def test_scratch_policy_option(tmp_path):
    kws = shared_model("kws_ref_model.tflite")
    for policy, expect_im2col in (("always", True), ("never", False)):
        out = tmp_path / policy
        assert run_tinyc("compile", str(kws), "-o", str(out), "--scratch", policy).returncode == 0
        assert ("tinyc_conv_im2col_s8(" in (out / "kws_ref_model.cpp").read_text()) == expect_im2col
    bad = run_tinyc("compile", str(kws), "-o", str(tmp_path / "x"), "--scratch", "sometimes")
    assert bad.returncode == 2
    assert_one_line_error(bad, "--scratch")


def test_verify_compiles_with_the_scratch_policy_given(monkeypatch):
    """`verify --scratch` must reach the compiler, not just the argument parser."""
    from tinyc import cli
    from tinyc.verify import compare

    policies = []
    original = compare.compile_model

    def recording(path, *args, **kwargs):
        policies.append(kwargs.get("scratch"))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(compare, "compile_model", recording)
    kws = str(shared_model("kws_ref_model.tflite"))
    for policy in ("never", "always"):
        args = ["verify", kws, "--samples", "3", "--no-litert", "--scratch", policy]
        assert cli.main(args) == 0
    assert policies == ["never", "always"]


def test_a_missing_dependency_is_one_line_naming_the_package(tmp_path):
    """An installation without the `tflite` package (a broken venv, a --no-deps install): one
    line naming what to install, not an internal error."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['tflite'] = None; from tinyc.cli import main; "
            f"sys.exit(main(['compile', {str(shared_model('hello_world_int8.tflite'))!r}, "
            f"'-o', {str(tmp_path / 'out')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = assert_one_line_error(result, "'tflite' is not installed", "pip install tflite")
    assert "internal error" not in line
    assert not (tmp_path / "out").exists()
