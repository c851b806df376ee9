"""Train the TinyML "hello world" sine model and export it for tinyc.

The workflow of TensorFlow's train_hello_world_model notebook as one reproducible program:

  1. 1000 points x uniform in [0, 2*pi], y = sin(x) + 0.1 * N(0, 1), seed 1337,
     shuffled and split 60/20/20 into train / validate / test;
  2. a baseline (Dense 16 ReLU -> Dense 1) and the model that ships
     (Dense 16 ReLU -> Dense 16 ReLU -> Dense 1), rmsprop, mse loss, mae metric, batch 16;
  3. plots of the training history and of the predictions (PNG, in plots/);
  4. sine_model.tflite (float) and sine_model_quantized.tflite (full integer, int8 input and
     output, calibrated on the training inputs), and the int8 model's measured test error in
     model_metrics.json (the host simulation test derives its tolerance from it).

Usage:  python train.py [--epochs 600] [--out .]
Needs tensorflow and matplotlib (`pip install -e '.[train]'` from the repository root).
Rerunning with the same TensorFlow version reproduces the same weights: every random source is
seeded and TensorFlow's op determinism is enabled.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import sys
import time
from pathlib import Path

# Before TensorFlow is imported: quiet logs, and no oneDNN kernels, whose float summation order
# may change from run to run (https://github.com/tensorflow/tensorflow/issues/58355).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SAMPLES = 1000
SEED = 1337
NOISE = 0.1
BATCH_SIZE = 16
HERE = Path(__file__).resolve().parent


def make_data(samples: int = SAMPLES, seed: int = SEED) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The notebook's data: noisy sine samples, shuffled, split 60/20/20."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(low=0.0, high=2 * math.pi, size=samples)
    rng.shuffle(x)
    y = np.sin(x) + NOISE * rng.randn(samples)
    x, y = x.astype(np.float32), y.astype(np.float32)
    train_end, validate_end = int(0.6 * samples), int(0.8 * samples)
    return {
        "train": (x[:train_end], y[:train_end]),
        "validate": (x[train_end:validate_end], y[train_end:validate_end]),
        "test": (x[validate_end:], y[validate_end:]),
    }


def build_model(tf, hidden_layers: int):
    layers = [tf.keras.Input(shape=(1,))]
    layers += [tf.keras.layers.Dense(16, activation="relu") for _ in range(hidden_layers)]
    layers += [tf.keras.layers.Dense(1)]
    model = tf.keras.Sequential(layers)
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model


def progress_callback(tf, label: str, epochs: int):
    """One status line per model: rewritten in place on a terminal, every 10% otherwise."""

    class Progress(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            done = epoch + 1
            logs = logs or {}
            elapsed = time.monotonic() - self.start
            eta = elapsed / done * (epochs - done)
            bar = "#" * (20 * done // epochs)
            line = (f"{label}: [{bar:<20}] epoch {done}/{epochs}  loss {logs.get('loss', 0):.4f}"
                    f"  mae {logs.get('mae', 0):.4f}  val_loss {logs.get('val_loss', 0):.4f}"
                    f"  val_mae {logs.get('val_mae', 0):.4f}  eta {eta:4.0f}s")
            if sys.stdout.isatty():
                print("\r" + line, end="\n" if done == epochs else "", flush=True)
            elif done == epochs or done % max(1, epochs // 10) == 0:
                print(line, flush=True)

    return Progress()


def train(tf, label: str, hidden_layers: int, data, epochs: int):
    model = build_model(tf, hidden_layers)
    history = model.fit(*data["train"], epochs=epochs, batch_size=BATCH_SIZE, verbose=0,
                        validation_data=data["validate"],
                        callbacks=[progress_callback(tf, label, epochs)])
    return model, history.history


def plot_history(history: dict, title: str, path: Path) -> None:
    """Loss and MAE per epoch, skipping the first epochs whose large values flatten the rest."""
    epochs = len(history["loss"])
    skip = 50 if epochs > 100 else epochs // 10
    x = np.arange(1, epochs + 1)[skip:]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, name in ((axes[0], "loss", "loss (mse)"), (axes[1], "mae", "mean absolute error")):
        ax.plot(x, history[key][skip:], "g.", markersize=3, label="training")
        ax.plot(x, history["val_" + key][skip:], "b", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle(title + (f" (first {skip} epochs skipped)" if skip else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_predictions(x_test, y_test, series: list[tuple[str, np.ndarray, str]], title: str,
                     path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(x_test, y_test, "b.", label="test data (noisy)")
    grid = np.linspace(0, 2 * math.pi, 200)
    ax.plot(grid, np.sin(grid), color="0.6", linewidth=1, label="sin(x)")
    for label, prediction, style in series:
        ax.plot(x_test, prediction, style, label=label)
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def convert(tf, model, representative_x: np.ndarray | None) -> bytes:
    """Float conversion, or full integer with int8 input and output when calibration data is
    given (the form TFLite Micro and tinyc take)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if representative_x is not None:
        def representative_dataset():
            for value in representative_x:
                yield [np.array([[value]], dtype=np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()):  # Keras' export prints the whole signature
        return converter.convert()


def make_interpreter(tf, model_bytes: bytes):
    try:  # TensorFlow's interpreter moved to LiteRT
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_content=model_bytes)


def micro_runner(model_bytes: bytes):
    """TFLite Micro's interpreter, when pip's tflite-micro is installed: its int8 arithmetic is
    what the firmware computes (tinyc is bit-exact with it). LiteRT's int8 kernels round
    differently in places, up to a few output steps."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        return None
    interpreter = runtime.Interpreter.from_bytes(model_bytes)

    def run(q: np.ndarray) -> np.ndarray:
        interpreter.set_input(q, 0)
        interpreter.invoke()
        return interpreter.get_output(0)

    return run


def tflite_predict(tf, model_bytes: bytes, x: np.ndarray, micro: bool = False):
    """Run a .tflite model one sample at a time, quantizing int8 input and output as the
    firmware does (round half away from zero, clamp). With micro=True the model runs on
    TFLite Micro when it is installed. Returns the predictions and the interpreter's name."""
    interpreter = make_interpreter(tf, model_bytes)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    runner = micro_runner(model_bytes) if micro else None

    def run_litert(data: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp["index"], data)
        interpreter.invoke()
        return interpreter.get_tensor(out["index"])

    run = runner or run_litert
    predictions = []
    for value in x:
        if inp["dtype"] == np.int8:
            r = np.float32(value) / np.float32(in_scale)
            q = np.sign(r) * np.floor(np.abs(r) + np.float32(0.5)) + in_zero
            data = np.array([[np.clip(q, -128, 127)]], dtype=np.int8)
        else:
            data = np.array([[value]], dtype=np.float32)
        y = run(data).reshape(-1)[0]
        if out["dtype"] == np.int8:
            y = (float(y) - out_zero) * out_scale
        predictions.append(float(y))
    return np.array(predictions, dtype=np.float32), ("tflite-micro" if runner else "litert")


def errors(prediction: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Test loss (mse) and mae against the noisy labels, and the error against the clean sine."""
    clean = np.abs(prediction - np.sin(x.astype(np.float64)))
    return {
        "loss_mse": float(np.mean((prediction - y) ** 2)),
        "mae": float(np.mean(np.abs(prediction - y))),
        "mae_vs_sin": float(np.mean(clean)),
        "max_abs_error_vs_sin": float(np.max(clean)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=600, help="epochs per model (default 600)")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="folder for the .tflite files, model_metrics.json and plots/ "
                             "(default: this example's folder)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.keras.utils.set_random_seed(SEED)  # Python, NumPy and TensorFlow generators
    tf.config.experimental.enable_op_determinism()

    out = args.out
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    data = make_data()
    x_test, y_test = data["test"]
    print(f"data: {len(data['train'][0])} train, {len(data['validate'][0])} validate, "
          f"{len(x_test)} test points of sin(x) + {NOISE}*N(0,1), seed {SEED}")

    baseline, baseline_history = train(tf, "baseline 16-1", 1, data, args.epochs)
    plot_history(baseline_history, "baseline (Dense 16 -> 1)", plots / "baseline_training.png")
    model, history = train(tf, "model 16-16-1", 2, data, args.epochs)
    plot_history(history, "model (Dense 16 -> 16 -> 1)", plots / "model_training.png")

    baseline_pred = baseline.predict(x_test.reshape(-1, 1), verbose=0).ravel()
    keras_pred = model.predict(x_test.reshape(-1, 1), verbose=0).ravel()
    plot_predictions(x_test, y_test, [("baseline 16-1", baseline_pred, "y."),
                                      ("model 16-16-1", keras_pred, "r.")],
                     "Keras predictions on the test set", plots / "keras_predictions.png")

    float_bytes = convert(tf, model, None)
    int8_bytes = convert(tf, model, data["train"][0])
    (out / "sine_model.tflite").write_bytes(float_bytes)
    (out / "sine_model_quantized.tflite").write_bytes(int8_bytes)
    float_pred, _ = tflite_predict(tf, float_bytes, x_test)
    int8_pred, int8_interpreter = tflite_predict(tf, int8_bytes, x_test, micro=True)
    if int8_interpreter != "tflite-micro":
        print("note: tflite-micro is not installed; the int8 error is measured with LiteRT, "
              "whose int8 rounding differs slightly from the firmware's")
    plot_predictions(x_test, y_test, [("Keras float", keras_pred, "r."),
                                      ("TFLite float", float_pred, "kx"),
                                      (f"int8 ({int8_interpreter})", int8_pred, "g+")],
                     "Keras vs TFLite float vs TFLite int8 on the test set",
                     plots / "tflite_predictions.png")

    results = {
        "baseline (Keras float)": errors(baseline_pred, x_test, y_test),
        "model (Keras float)": errors(keras_pred, x_test, y_test),
        "model (TFLite float)": errors(float_pred, x_test, y_test),
        f"model (int8, {int8_interpreter})": errors(int8_pred, x_test, y_test),
    }
    print(f"\ntest set ({len(x_test)} points): loss = mse and mae against the noisy labels; "
          "the last two columns against sin(x)")
    print(f"{'':28} {'loss (mse)':>11} {'mae':>8} {'mae sin':>8} {'max sin':>8}")
    for label, e in results.items():
        print(f"{label:28} {e['loss_mse']:11.5f} {e['mae']:8.5f} {e['mae_vs_sin']:8.5f} "
              f"{e['max_abs_error_vs_sin']:8.5f}")

    interpreter = make_interpreter(tf, int8_bytes)
    quantization = {
        "input": interpreter.get_input_details()[0]["quantization"],
        "output": interpreter.get_output_details()[0]["quantization"],
    }
    metrics = {
        "about": "Test-set error of sine_model_quantized.tflite (int8_test, run on "
                 "int8_interpreter) and of the float model, measured by train.py. loss_mse and "
                 "mae are against the noisy test labels; mae_vs_sin and max_abs_error_vs_sin "
                 "against the clean sin(x).",
        "model": "sine_model_quantized.tflite",
        "model_sha256": hashlib.sha256(int8_bytes).hexdigest(),
        "epochs": args.epochs,
        "seed": SEED,
        "test_points": len(x_test),
        "tensorflow": tf.__version__,
        "input_scale": float(quantization["input"][0]),
        "input_zero_point": int(quantization["input"][1]),
        "output_scale": float(quantization["output"][0]),
        "output_zero_point": int(quantization["output"][1]),
        "int8_interpreter": int8_interpreter,
        "int8_test": results[f"model (int8, {int8_interpreter})"],
        "float_test": results["model (TFLite float)"],
        "baseline_test": results["baseline (Keras float)"],
    }
    (out / "model_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"\nwrote {out / 'sine_model.tflite'} ({len(float_bytes)} bytes), "
          f"{out / 'sine_model_quantized.tflite'} ({len(int8_bytes)} bytes), "
          f"{out / 'model_metrics.json'} and {plots}/*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
