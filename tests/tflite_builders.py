"""Make small .tflite models for tests with the TensorFlow converter, cached on disk.

TensorFlow is imported only when a model is not cached yet. The cache key is the caller's key
plus this file's text, so editing a builder invalidates its models. The cache lives in
$TINYC_TEST_MODELS or pytest's cache folder (see conftest.py).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

_THIS_FILE = Path(__file__).read_bytes()


def cache_root() -> Path:
    root = Path(
        os.environ.get(
            "TINYC_TEST_MODELS", Path(__file__).parent.parent / ".pytest_cache" / "tinyc-models"
        )
    )
    root.mkdir(parents=True, exist_ok=True)
    return root


def cached_model(key: str, make: Callable[[], bytes]) -> Path:
    """Path of the model for `key`, made by `make()` (returning .tflite bytes) on a cache miss."""
    digest = hashlib.sha256(_THIS_FILE + key.encode()).hexdigest()[:20]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in key)[:60]
    path = cache_root() / f"{safe}-{digest}.tflite"
    if not path.exists():
        data = make()
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


def convert(keras_model, representative: Iterable[np.ndarray] | None, mode: str = "int8",
            flags: dict[str, object] | None = None) -> bytes:
    """Convert a Keras model.

    mode "int8": full integer, int8 input and output (the form TFLM examples use);
    "int8_float_io": full integer inside, float input/output (QUANTIZE ... DEQUANTIZE);
    "float": no quantization; "dynamic": dynamic-range (hybrid) weights-only quantization.
    `flags` sets converter attributes, e.g. {"_experimental_disable_per_channel": True}.
    """
    tf = quiet_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if mode != "float":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode in ("int8", "int8_float_io"):
        samples = [np.asarray(s, np.float32) for s in representative]

        def dataset():
            for s in samples:
                yield [s]

        converter.representative_dataset = dataset
    if mode == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    for name, value in (flags or {}).items():
        setattr(converter, name, value)
    return converter.convert()


def representative_samples(
    shape: tuple[int, ...], count: int = 32, seed: int = 0, low: float = -1.0, high: float = 1.0
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, (1, *shape)).astype(np.float32) for _ in range(count)]


def keras_model(shape: tuple[int, ...], build: Callable, seed: int = 0):
    """A Keras model with input `shape` (no batch) whose body is `build(tf, x) -> y`."""
    tf = quiet_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    x = tf.keras.Input(shape=shape, batch_size=1)
    return tf.keras.Model(x, build(tf, x))


def single_layer_model(
    key: str,
    shape: tuple[int, ...],
    build: Callable,
    mode: str = "int8",
    seed: int = 0,
    low: float = -1.0,
    high: float = 1.0,
    flags: dict[str, object] | None = None,
) -> Path:
    """Cached int8 model of one Keras graph. `key` must name everything `build` depends on."""
    flag_key = "".join(f"-{name}={value}" for name, value in sorted((flags or {}).items()))
    return cached_model(
        f"{key}-{mode}-{seed}-{low}-{high}{flag_key}",
        lambda: convert(
            keras_model(shape, build, seed),
            representative_samples(shape, seed=seed, low=low, high=high),
            mode,
            flags,
        ),
    )


# --- the TinyML hello-world sine model, trained as the classic notebook does ---


def sine_data(samples: int = 1000, seed: int = 1337) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2 * np.pi, samples).astype(np.float32)
    y = (np.sin(x) + 0.1 * rng.standard_normal(samples)).astype(np.float32)
    return x, y


def train_sine(epochs: int = 60, seed: int = 1337):
    tf = quiet_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    x, y = sine_data(seed=seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(1,)),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    model.fit(
        x[:600],
        y[:600],
        epochs=epochs,
        batch_size=16,
        verbose=0,
        validation_data=(x[600:800], y[600:800]),
    )
    return model


def sine_model(mode: str, epochs: int = 60) -> Path:
    """The sine model in one of convert()'s modes, cached."""

    def make() -> bytes:
        x, _ = sine_data()
        return convert(train_sine(epochs), [np.array([[v]], np.float32) for v in x[:500]], mode)

    return cached_model(f"sine-{epochs}-{mode}", make)
