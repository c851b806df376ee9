"""Coverage-guided fuzzing of tinyc's model intake with atheris (libFuzzer for Python).

Every input is a candidate .tflite file, compiled in memory from reading to rendering. The only
acceptable outcomes are generated sources or a TinycError with one short line; anything else
(another exception, a hang, a crash) is reported by libFuzzer with the input that caused it.

    pip install atheris
    mkdir -p /tmp/fuzz-corpus && cp ../shared/models/*.tflite /tmp/fuzz-corpus/
    python tests/fuzz/fuzz_compile.py /tmp/fuzz-corpus -max_total_time=600 -timeout=20

(atheris mutates the corpus files and keeps the inputs that reach new code; `-max_len` is set
from the largest seed.)
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from tinyc.errors import TinycError
    from tinyc.ops import load_all
    from tinyc.pipeline import compile_graph
    from tinyc.read_tflite import parse_model

    load_all()  # the op modules load lazily: import them here so they are instrumented too


def test_one_input(data: bytes) -> None:
    try:
        compile_graph(parse_model(data, "input"), "m")
    except TinycError as exc:
        message = str(exc)
        if "\n" in message or len(message) > 220:
            raise AssertionError(f"message not one short line: {message[:300]!r}") from None


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
