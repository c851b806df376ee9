"""A bounded mutation fuzz of the zoo models in every run (tests/fuzzing.py says how mutants are
made). Every mutant is either refused with one clean line, or compiled to code that builds with
-Werror and runs clean under AddressSanitizer and UndefinedBehaviorSanitizer.

TINYC_FUZZ_CASES and TINYC_FUZZ_SEED change the run; `pytest tests/test_fuzz.py -s` prints the
figures. The coverage-guided harness is tests/fuzz/fuzz_compile.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections import Counter

import pytest

from fuzzing import compile_bytes, mutants

CASES = int(os.environ.get("TINYC_FUZZ_CASES", "400"))
SEED = int(os.environ.get("TINYC_FUZZ_SEED", "1"))
BUILDS = 8  # distinct compiled mutants built and run under the sanitizers

HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include "m.h"
int main(void) {
  unsigned state = 12345u;
  for (int run = 0; run < 2; ++run) {
    for (int i = 0; i < m_input_count(); ++i) {
      unsigned char *p = (unsigned char *)m_input(i);
      for (size_t k = 0; k < m_input_bytes(i); ++k) {
        state = state * 1103515245u + 12345u;
        p[k] = (unsigned char)(state >> 16);
      }
    }
    if (m_invoke() != 0) return 2;
  }
  unsigned sum = 0;
  for (int i = 0; i < m_output_count(); ++i) {
    const unsigned char *p = (const unsigned char *)m_output(i);
    for (size_t k = 0; k < m_output_bytes(i); ++k) sum = sum * 31u + p[k];
  }
  printf("%u\n", sum);
  return 0;
}
"""
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1"]
FLAGS = ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fno-rtti"]


def _build_and_run(files: dict[str, str], folder) -> None:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    (folder / "main.cpp").write_text(HARNESS)
    build = subprocess.run(["g++", *FLAGS, *SANITIZE, "-I", str(folder), str(folder / "m.cpp"),
                            str(folder / "main.cpp"), "-o", str(folder / "run")],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([str(folder / "run")], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"})
    assert run.returncode == 0 and "runtime error" not in run.stderr, run.stderr[-2000:]


def test_mutants_are_refused_cleanly_or_compile_to_sanitizer_clean_code(tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed (.ci/run installs it)")
    counts: Counter[str] = Counter()
    built: set[str] = set()
    crashes = []
    for label, data in mutants(CASES, SEED):
        outcome = compile_bytes(data)
        counts[outcome.kind] += 1
        if outcome.kind == "crash":
            crashes.append(f"{label}\n{outcome.detail}")
        elif outcome.kind == "refused":
            assert "\n" not in outcome.detail and len(outcome.detail) <= 220, (label, outcome)
        elif len(built) < BUILDS:
            digest = hashlib.sha256(repr(sorted(outcome.files.items())).encode()).hexdigest()
            if digest not in built:
                built.add(digest)
                folder = tmp_path / f"mutant{len(built)}"
                _build_and_run(outcome.files, folder)
                counts["built and sanitizer-clean"] += 1
    print(f"\nfuzz: {CASES} mutants (seed {SEED}): " + ", ".join(
        f"{count} {kind}" for kind, count in sorted(counts.items())))
    assert not crashes, f"{len(crashes)} crashes; first:\n{crashes[0]}"
    # Not vacuous: both outcomes occur, and some compiled mutants were built and run.
    assert counts["refused"] > CASES // 10 and counts["compiled"] > CASES // 20, counts
    assert counts["built and sanitizer-clean"] >= min(BUILDS, 3), counts
