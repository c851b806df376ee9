"""Models the bench makes itself, with the TF converter, cached on disk.

conv_net_16x8(): a small keyword-spotting-like DS-CNN in 16x8 (int16 activations, int8 weights,
int64 bias; TFLM's "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"), input
int16 [1,49,10,1] like kws_ref_model's, random weights (seeded): CONV_2D 10x4 stride 2 (32
channels), two depthwise-separable blocks (DEPTHWISE_CONV_2D 3x3 + CONV_2D 1x1), average pool,
FULLY_CONNECTED to 12, SOFTMAX. None of ../shared/models is 16x8 but single layers, so this is
the bench's whole 16x8 conv net (issue 8).

The .tflite is cached in $TINYC_BENCH_CACHE (default ~/.cache/tinyc-bench) under a name with
the hash of this file: converting again takes TensorFlow's import and about ten seconds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

INPUT_SHAPE = (49, 10, 1)


def cache_dir() -> Path:
    root = Path(os.environ.get("TINYC_BENCH_CACHE", Path.home() / ".cache" / "tinyc-bench"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def conv_net_16x8() -> Path:
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    path = cache_dir() / f"conv_net_16x8-{digest}.tflite"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(_convert_16x8())
        tmp.replace(path)
    return path


def _convert_16x8() -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    x = tf.keras.Input(shape=INPUT_SHAPE, batch_size=1)
    y = layers.Conv2D(32, (10, 4), strides=2, padding="same", activation="relu")(x)
    for _ in range(2):
        y = layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
        y = layers.Conv2D(32, 1, activation="relu")(y)
    y = layers.AveragePooling2D(pool_size=y.shape[1:3])(y)
    y = layers.Flatten()(y)
    y = layers.Dense(12)(y)
    y = layers.Softmax()(y)
    model = tf.keras.Model(x, y)
    rng = np.random.default_rng(0)
    samples = [rng.uniform(-1, 1, (1, *INPUT_SHAPE)).astype(np.float32) for _ in range(32)]

    def dataset():
        for s in samples:
            yield [s]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return converter.convert()
