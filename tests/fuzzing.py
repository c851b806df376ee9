"""Mutation fuzzing of tinyc's model intake: mutants of the zoo models, and what became of them.

Used by tests/test_fuzz.py (a bounded number of cases in every CI run) and by the coverage-guided
harness tests/fuzz/fuzz_compile.py (run by hand, see the README).

Mutations, each applied to one of a few small zoo models:
  - "flip":      a few bytes XORed with random values;
  - "truncate":  the file cut at a random length;
  - "int32":     an aligned 32-bit word overwritten with an interesting value (0, -1, 2^31-1, ...),
                 chosen outside the big weight buffers so that it lands in tables and vectors;
  - "field":     one field changed through the flatbuffer object API: a shape dimension, a type,
                 a buffer index, a scale or zero point, an op's tensor index or opcode, an option.
Outcomes of compiling a mutant in memory:
  - "refused":   TinycError with a one-line message of at most 240 characters;
  - "compiled":  generated sources (the test builds some under ASan + UBSan and runs them);
  - "crash":     anything else (a Python exception that is not TinycError): a bug.
"""

from __future__ import annotations

import random
import struct
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from conftest import SHARED_MODELS
from flatbuffer_models import pack
from model_mutations import unpack

SEED_MODELS = ("hello_world_int8.tflite", "micro_speech_quantized.tflite",
               "kws_ref_model.tflite", "str_ww_ref_model.tflite")
INTERESTING = (0, 1, -1, 2, 3, 4, 7, 8, 15, 16, 127, 128, 255, 256, 32767, 32768, 65535, 65536,
               (1 << 30), (1 << 31) - 1, -(1 << 31), -2, 1000, 1 << 20)
INTERESTING_FLOATS = (0.0, -1.0, 1e-40, 1e-30, 1e30, 1e38, float("inf"), float("nan"), 0.5, 3.0)


@dataclass
class Outcome:
    kind: str  # "refused", "compiled" or "crash"
    detail: str  # the message, or the traceback
    files: dict[str, str] | None = None


def compile_bytes(data: bytes) -> Outcome:
    from tinyc.errors import TinycError
    from tinyc.pipeline import compile_graph
    from tinyc.read_tflite import parse_model

    try:
        compiled = compile_graph(parse_model(data, "mutant"), "m")
    except TinycError as exc:
        return Outcome("refused", str(exc))
    except Exception:  # a bug: the fuzz test reports it with its traceback
        return Outcome("crash", traceback.format_exc())
    return Outcome("compiled", "", compiled.files)


def mutants(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    seeds = [(name, (SHARED_MODELS / name).read_bytes()) for name in SEED_MODELS]
    strategies = (flip, truncate, overwrite_int32, change_field, change_field)
    for i in range(count):
        name, data = seeds[i % len(seeds)]
        strategy = strategies[rng.randrange(len(strategies))]
        label, mutant = strategy(data, rng)
        yield f"{name}:{strategy.__name__}:{label}", mutant


def flip(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    positions = [rng.randrange(len(out)) for _ in range(rng.randint(1, 8))]
    for p in positions:
        out[p] ^= rng.randint(1, 255)
    return str(positions), bytes(out)


def truncate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    cut = rng.randrange(8, len(data))
    return str(cut), data[:cut]


def overwrite_int32(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """An aligned word outside the weight buffers (where most bytes are, and nothing breaks)."""
    weights = _buffer_spans(data)
    while True:
        offset = rng.randrange(8, len(data) - 4) & ~3
        if not any(start <= offset < end for start, end in weights):
            break
    value = rng.choice(INTERESTING)
    out = bytearray(data)
    out[offset:offset + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
    return f"{offset}={value}", bytes(out)


def _buffer_spans(data: bytes) -> list[tuple[int, int]]:
    spans = []
    model = unpack(data)
    for buffer in model.buffers:
        if buffer.data is not None and len(buffer.data) > 64:
            start = bytes(data).find(bytes(buffer.data[:64]))
            if start >= 0:
                spans.append((start, start + len(buffer.data)))
    return spans


def change_field(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One field changed; a value its field cannot hold (1000 for a bool) is drawn again."""
    while True:
        try:
            return _change_one_field(unpack(data), rng)
        except (TypeError, OverflowError, struct.error):
            continue


def _change_one_field(model, rng: random.Random) -> tuple[str, bytes]:
    graph = model.subgraphs[0]
    tensor = rng.choice(graph.tensors)
    op = rng.choice(graph.operators)
    choice = rng.randrange(11)
    if choice == 0 and tensor.shape is not None and len(tensor.shape):
        tensor.shape[rng.randrange(len(tensor.shape))] = rng.choice(INTERESTING)
        label = "shape"
    elif choice == 1:
        tensor.type = rng.randrange(0, 20)
        label = f"type={tensor.type}"
    elif choice == 2:
        tensor.buffer = rng.choice((0, 1, len(model.buffers) - 1, len(model.buffers), 1 << 20))
        label = f"buffer={tensor.buffer}"
    elif choice == 3 and tensor.quantization is not None and tensor.quantization.scale is not None:
        tensor.quantization.scale = np.array([rng.choice(INTERESTING_FLOATS)] *
                                             len(tensor.quantization.scale), np.float32)
        label = "scale"
    elif choice == 4 and tensor.quantization is not None:
        tensor.quantization.zeroPoint = np.array([rng.choice(INTERESTING)], np.int64)
        label = "zero_point"
    elif choice == 5 and len(op.inputs):
        op.inputs[rng.randrange(len(op.inputs))] = rng.choice((-1, -2, 0, 1, len(graph.tensors)))
        label = "op input"
    elif choice == 6:
        op.outputs = np.array([rng.choice((-1, 0, 1, 2, len(graph.tensors) - 1))], np.int32)
        label = "op output"
    elif choice == 7:
        op.opcodeIndex = rng.choice((0, 1, len(model.operatorCodes), 1 << 16))
        label = "opcode index"
    elif choice == 8 and op.builtinOptions is not None:
        fields = sorted(k for k, v in vars(op.builtinOptions).items() if isinstance(v, int))
        if fields:
            field = rng.choice(fields)
            setattr(op.builtinOptions, field, rng.choice(INTERESTING))
            label = f"option {field}"
        else:
            label = "no int option"
    elif choice == 9:
        code = rng.choice(model.operatorCodes)
        code.builtinCode = code.deprecatedBuiltinCode = rng.randrange(0, 127)
        label = f"builtin={code.builtinCode}"
    else:
        graph.inputs = np.array([rng.choice((-1, 0, 1, len(graph.tensors)))], np.int32)
        label = "graph input"
    return label, pack(model)
