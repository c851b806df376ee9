"""Host simulation of the breathing LED.

Builds host/simulate.cpp with the shared application logic (breathing.cpp) and the
tinyc-generated model using the host's g++, runs a few breaths with a fake hardware interface
that records every duty, and draws the breath against the ideal 127.5 * (sin(x) + 1).

  python host/simulate.py [--cycles 2] [--plot plots/breathing.png]

tests/test_esp32_example.py uses the same functions and checks the result.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent
SKETCH_SRC = EXAMPLE / "arduino" / "esp32_breathing" / "src"
SOURCES = [EXAMPLE / "host" / "simulate.cpp", SKETCH_SRC / "breathing.cpp",
           SKETCH_SRC / "generated" / "sine_model.cpp"]
# Firmware-like flags; no FMA contraction, so float results match a step-by-step evaluation.
CXXFLAGS = ["-std=c++11", "-O2", "-fno-exceptions", "-fno-rtti", "-ffp-contract=off",
            "-Wall", "-Wextra", "-Werror"]

_LINE = re.compile(r"^(\d+) (\d+) (\d+) (\d+) x:(-?[\d.]+),y:(-?[\d.]+),brightness:(\d+)$")


@dataclass(frozen=True)
class Step:
    step: int
    duty: int  # the last value written through pwm_write
    pwm_writes: int
    delay_ms: int
    x: float  # as logged, three decimals
    y: float
    logged_brightness: int
    line: str  # the serial plotter line


@dataclass(frozen=True)
class Simulation:
    inferences_per_cycle: int
    step_delay_ms: int
    steps: list[Step]

    def cycle(self, index: int) -> list[Step]:
        n = self.inferences_per_cycle
        return self.steps[index * n:(index + 1) * n]


def build(out_dir: Path, cxx: str = "g++") -> Path:
    """Compile the simulation; raises CalledProcessError with the compiler's message."""
    exe = Path(out_dir) / "simulate"
    command = [cxx, *CXXFLAGS, "-I", str(SKETCH_SRC), *map(str, SOURCES), "-o", str(exe)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, command, result.stdout,
                                            result.stderr)
    return exe


def run(exe: Path, cycles: int = 2) -> Simulation:
    result = subprocess.run([str(exe), str(cycles)], capture_output=True, text=True, check=True)
    header, *lines = result.stdout.splitlines()
    fields = dict(item.split("=") for item in header.split())
    steps = []
    for line in lines:
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"unexpected simulation output: {line!r}")
        step, duty, writes, delay = (int(match[i]) for i in range(1, 5))
        steps.append(Step(step, duty, writes, delay, float(match[5]), float(match[6]),
                          int(match[7]), line.split(" ", 4)[4]))
    return Simulation(int(fields["inferences_per_cycle"]), int(fields["step_delay_ms"]), steps)


def ideal_brightness(x: float) -> float:
    return 127.5 * (math.sin(x) + 1.0)


def step_x(step: int, inferences_per_cycle: int) -> float:
    return 2 * math.pi * (step % inferences_per_cycle) / inferences_per_cycle


def plot(simulation: Simulation, path: Path, bound: float | None = None) -> Path:
    """Brightness against step for one breath, with the ideal curve (and the tolerance band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = simulation.inferences_per_cycle
    steps = simulation.cycle(0)
    fine = [i / 10 for i in range(10 * n + 1)]
    ideal = [ideal_brightness(2 * math.pi * s / n) for s in fine]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if bound is not None:
        ax.fill_between(fine, [v - bound for v in ideal], [v + bound for v in ideal],
                        color="0.85", label=f"ideal ± {bound:.1f} (test tolerance)")
    ax.plot(fine, ideal, color="tab:blue", linewidth=1.5, label="ideal 127.5·(sin(x)+1)")
    ax.step([s.step for s in steps], [s.duty for s in steps], where="post", color="tab:orange",
            linewidth=1.2, label="LED duty written (int8 model via tinyc)")
    seconds = n * simulation.step_delay_ms / 1000
    ax.set_title(f"One breath: {n} inferences, {simulation.step_delay_ms} ms apart "
                 f"({seconds:g} s)")
    ax.set_xlabel(f"step (x = 2π·step/{n})")
    ax.set_ylabel("LED duty (0..255)")
    ax.set_xlim(0, n)
    ax.set_ylim(-10, 265)
    ax.legend(loc="lower left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=2, help="breaths to run (default 2)")
    parser.add_argument("--plot", type=Path, default=EXAMPLE / "plots" / "breathing.png",
                        help="PNG to write (default plots/breathing.png)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="breathing-sim-") as tmp:
        simulation = run(build(Path(tmp)), args.cycles)
    n = simulation.inferences_per_cycle
    errors = [abs(s.duty - ideal_brightness(step_x(s.step, n))) for s in simulation.steps]
    print(f"{len(simulation.steps)} steps; duty {min(s.duty for s in simulation.steps)}.."
          f"{max(s.duty for s in simulation.steps)}; |duty - 127.5*(sin(x)+1)|: "
          f"max {max(errors):.2f}, mean {sum(errors) / len(errors):.2f}")
    print(f"wrote {plot(simulation, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
