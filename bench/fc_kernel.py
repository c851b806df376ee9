"""The FULLY_CONNECTED kernels alone: instructions per invoke of one-layer models, int8 and 16x8.

    python bench/fc_kernel.py [--shapes K:N,...] [--no-m4] [--no-host] [--no-xt] [--opt Os,O2]
                              [--header OLD/fully_connected.h]

Each shape is one FULLY_CONNECTED layer of K inputs and N outputs (batch 1), written as a
flatbuffer (weights random in [-127, 127], per-tensor scales as in every FC layer of
../shared/models, or per-channel with a `pc` suffix: `256:64pc`), compiled by tinyc and measured:
- M4: ../shared/tools/m4bench, the Arm DSP path: instructions and estimated cycles per invoke;
- host: callgrind, x86-64 instructions inside NAME_invoke (g++ -O2): the portable C path;
- Xtensa: ../shared/tools/xtbench (LX106, no DSP): the portable C path on a small core.
Every figure is the whole invoke (one kernel call), m4bench's and xtbench's 5-instruction
bracket included. The outputs are checked against TFLM on the same input (M4 and Xtensa).

The default shapes are 256x64 (the size at which the 16x8 kernel was found faster than the
int8 one) and the FULLY_CONNECTED layers of the models in ../shared/models.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import bench  # noqa: E402  (bench/bench.py, this folder)

DEFAULT_SHAPES = ("256:64,256:64pc,1:16,16:16,16:1,640:128,128:128,128:8,8:128,128:640,64:12,"
                  "4000:4,64:10,32:3,256:2")
XTBENCH = bench.SHARED / "tools" / "xtbench" / "xtbench"


def fc_tflite(k: int, n: int, dtype: str, per_channel: bool, seed: int = 0) -> bytes:
    """One FULLY_CONNECTED layer: int8 (int32 bias) or 16x8 (int64 bias), scales chosen so the
    outputs spread over their range."""
    from flatbuffer_models import TensorSpec, single_op_tflite

    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 127, (n, k), endpoint=True, dtype=np.int8)
    reach = 32768 if dtype == "int16" else 128
    x_scale = 1 / reach
    w_scales = rng.uniform(0.5, 2.0, n) / 100 if per_channel else np.array([0.01])
    spread = np.sqrt(k) * 73.3 * reach / np.sqrt(3)
    y_scale = spread * x_scale * float(np.mean(w_scales)) / (6000 if dtype == "int16" else 24)
    w_quant = (list(w_scales), [0] * n) if per_channel else (float(w_scales[0]), 0)
    bias_type = "int64" if dtype == "int16" else "int32"
    b_scales = [x_scale * s for s in (w_scales if per_channel else np.repeat(w_scales, n))]
    zero_in = 0 if dtype == "int16" else 3
    zero_out = 0 if dtype == "int16" else -5
    tensors = [
        TensorSpec((1, k), np.dtype(dtype), (x_scale, zero_in)),
        TensorSpec((n, k), np.int8, w_quant, data=w),
        TensorSpec((n,), np.dtype(bias_type), (b_scales, [0] * n),
                   data=np.round(rng.uniform(-0.5, 0.5, n) * spread).astype(bias_type)),
        TensorSpec((1, n), np.dtype(dtype), (y_scale, zero_out)),
    ]
    return single_op_tflite("FULLY_CONNECTED", tensors, [0], [3], "FullyConnectedOptions",
                            fusedActivationFunction=0)


def tflm_output(model: Path, x: np.ndarray) -> str:
    interp = bench.tflm_interpreter(model)
    interp.set_input(x, 0)
    interp.invoke()
    return np.ascontiguousarray(interp.get_output(0)).tobytes().hex()


def measure(k: int, n: int, dtype: str, per_channel: bool, args, work: Path) -> dict:
    from tinyc.pipeline import compile_model
    from tinyc.write_files import write_folder

    tag = f"{dtype}-{k}x{n}{'pc' if per_channel else ''}"
    model = work / f"{tag}.tflite"
    model.write_bytes(fc_tflite(k, n, dtype, per_channel))
    compiled = compile_model(model, name="fc")
    files = dict(compiled.files)
    for header in args.header:  # an A/B comparison: another version of a runtime header
        key = f"tinyc_runtime/{header.name}"
        if key in files:  # (the 16x8 models include fully_connected_s16.h only)
            files[key] = header.read_text()
    folder = write_folder(files, work / tag)
    info = np.iinfo(dtype)
    x = np.random.default_rng(1).integers(info.min, info.max, (1, k), endpoint=True,
                                          dtype=dtype)
    input_file = work / f"{tag}.bin"
    input_file.write_bytes(x.tobytes())
    expected = tflm_output(model, x)
    row = {"model": tag}
    if args.m4:
        for opt in args.opt:
            m4 = bench.run_m4bench(args.m4bench, folder, "fc", input_file, opt)
            row[f"m4_{opt}"] = m4["insns_per_invoke"][0]
            row[f"m4_{opt}_cycles"] = m4["cycles_est_per_invoke"][0]
            row["ok"] = row.get("ok", True) and m4["output_hex"][0] == [expected]
    if args.host:
        row["host"] = bench.callgrind_tinyc(folder, "fc", input_file)
    if args.xt:
        for opt in args.opt:
            out = subprocess.run([sys.executable, str(XTBENCH), str(folder), "fc", "--input",
                                  str(input_file), "--opt", opt], capture_output=True, text=True)
            if out.returncode:
                raise bench.Skip(f"xtbench failed: {out.stderr.strip()[:200]}")
            xt = json.loads(out.stdout)
            row[f"xt_{opt}"] = xt["insns_per_invoke"][0]
            row["ok"] = row.get("ok", True) and xt["output_hex"][0] == [expected]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES,
                        help="comma-separated K:N (accum depth:output depth), 'pc' suffix for "
                             "per-channel weights")
    parser.add_argument("--types", default="int8,int16", help="activation types (default both)")
    parser.add_argument("--opt", default="Os,O2", help="m4bench/xtbench --opt levels")
    parser.add_argument("--no-m4", dest="m4", action="store_false")
    parser.add_argument("--no-host", dest="host", action="store_false")
    parser.add_argument("--no-xt", dest="xt", action="store_false")
    parser.add_argument("--m4bench", type=Path, default=bench.DEFAULT_M4BENCH)
    parser.add_argument("--header", type=Path, action="append", default=[],
                        help="use this file instead of the runtime header of the same name "
                             "(to measure another version of a kernel)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    args.opt = [o for o in args.opt.split(",") if o]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyc-fc-") as tmp:
        for shape in args.shapes.split(","):
            per_channel = shape.endswith("pc")
            k, n = (int(v) for v in shape.removesuffix("pc").split(":"))
            for dtype in args.types.split(","):
                rows.append(measure(k, n, dtype, per_channel, args, Path(tmp)))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    cols = ["model", "ok"] + [c for c in rows[0] if c not in ("model", "ok")]
    bench._table(cols, [[r.get(c) if c != "ok" else ("yes" if r.get("ok") else "NO")
                         for c in cols] for r in rows])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
