"""Command line: argument parsing and exit codes only; the work is library calls.

Exit status: 0 success, 1 a problem with the input (one line on stderr), 2 bad usage,
3 `verify` found outputs that differ from TFLM, 4 `report` found the model does not fit.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
import warnings
from importlib import resources

from . import __version__
from .errors import TinycError, one_line

EXIT_INPUT, EXIT_USAGE, EXIT_MISMATCH, EXIT_DOES_NOT_FIT = 1, 2, 3, 4
EXIT_BROKEN_PIPE = 141  # as a shell reports a program ended by SIGPIPE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        print(one_line(f"tinyc: error: {message} (see tinyc --help)"), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from .plan_memory import SCRATCH_POLICIES

    parser = _Parser(
        prog="tinyc",
        description="Compile TensorFlow Lite models (int8, 16x8, float32) into interpreter-free "
        "C++ for microcontrollers.",
        epilog="exit status: 0 success, 1 bad input (one line on stderr), 2 bad usage, "
        "3 verify found outputs that differ from TFLM, 4 report found the model does not fit, "
        "141 standard output closed early",
    )
    parser.add_argument("--version", action="version", version=f"tinyc {__version__}")
    parser.add_argument("--cmake-dir", action=_PrintPath, package="tinyc.cmake",
                        file="tinyc.cmake", help="print the folder holding tinyc.cmake (for "
                        "CMake's include(); it defines tinyc_add_model) and exit")
    parser.add_argument("--platformio-script", action=_PrintPath, package="tinyc.platformio",
                        file="tinyc_prebuild.py", help="print the path of the PlatformIO "
                        "pre-build script (extra_scripts = pre:...) and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    comp = sub.add_parser("compile", help="generate C++ sources for a model into a folder")
    comp.add_argument("model", help=".tflite file")
    comp.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="output folder (replaced atomically)"
    )
    comp.add_argument("--name", help="C identifier prefix for every symbol (default: file stem)")
    comp.add_argument("--scratch", choices=SCRATCH_POLICIES, default="auto",
                      help="scratch buffers for the faster conv kernels: auto = only where they "
                      "fit in free arena space (the arena never grows for them), always = "
                      "everywhere (faster, larger arena), never = none (default: auto)")
    _add_max_arena(comp)
    _add_memory(comp)
    _add_rounding(comp)
    comp.add_argument("--library", action="store_true",
                      help="write one folder that is at once an ESP-IDF component, a CMake "
                      "library (add_subdirectory), an Arduino library and a PlatformIO library "
                      "(sources under src/); default: the plain folder")
    comp.add_argument("--shared-runtime", action="store_true",
                      help="leave the kernels out of the folder: the model is built against the "
                      "runtime folder `tinyc runtime` writes, which all the program's models "
                      "share (one copy of each kernel)")

    ver = sub.add_parser("verify", help="compile, build on the host, compare with TFLM and LiteRT")
    ver.add_argument("model", help=".tflite file")
    ver.add_argument("--samples", type=int, default=100, help="random inputs (default 100)")
    ver.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ver.add_argument("--no-litert", action="store_true", help="compare with TFLM only")
    ver.add_argument("--scratch", choices=SCRATCH_POLICIES, default="auto",
                     help="as for compile (default: auto)")
    _add_max_arena(ver)
    _add_memory(ver)
    _add_rounding(ver)

    sub.add_parser("ops", help="list supported ops with their types and options")

    run = sub.add_parser("runtime", help="write the kernels once, for models compiled with "
                         "--shared-runtime (a folder to add to the include path; a CMake "
                         "INTERFACE library tinyc_runtime)")
    run.add_argument("-o", "--output", required=True, metavar="DIR",
                     help="output folder (replaced atomically)")
    run.add_argument("--library", action="store_true",
                     help="the runtime as a library named tinyc_runtime (ESP-IDF component, "
                     "CMake, Arduino and PlatformIO library), for models compiled with "
                     "--library --shared-runtime")

    rep = sub.add_parser("report", help="per-layer costs, flash and RAM totals, the arena over "
                         "time, and whether the model fits a microcontroller")
    rep.add_argument("model", help=".tflite file")
    rep.add_argument("--name", help="C identifier prefix, as for compile (default: file stem)")
    rep.add_argument("--scratch", choices=SCRATCH_POLICIES, default="auto",
                     help="as for compile (default: auto)")
    _add_max_arena(rep)
    _add_memory(rep)
    _add_rounding(rep)
    budget = rep.add_mutually_exclusive_group()
    budget.add_argument("--target", type=_target, metavar="NAME",
                        help="check the model fits this part: " + ", ".join(_target_names()))
    budget.add_argument("--ram", type=_byte_count, metavar="BYTES",
                        help="check against this much RAM (suffixes K and M)")
    rep.add_argument("--flash", type=_byte_count, metavar="BYTES",
                     help="check against this much flash (suffixes K and M)")
    rep.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    rep.add_argument("--png", metavar="FILE",
                     help="write a picture of the arena over time (needs matplotlib)")
    rep.add_argument("--json", action="store_true", help="print JSON instead of the table")
    rep.add_argument("--code-size", choices=("auto", "measure", "estimate"), default="auto",
                     help="code bytes: measure by compiling for Cortex-M4 with arm-none-eabi-g++ "
                     "-Os, estimate without compiling, auto = measure when that compiler is "
                     "installed (default: auto)")
    return parser


class _PrintPath(argparse.Action):
    """--cmake-dir / --platformio-script: print a path inside the installed package and exit,
    before the subcommand is required (like --version)."""

    def __init__(self, option_strings, dest, package: str, file: str, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.package, self.file = package, file

    def __call__(self, parser, namespace, values, option_string=None):
        print(_package_path(self.package, self.file, folder=option_string == "--cmake-dir"))
        parser.exit()


def _package_path(package: str, file: str, folder: bool) -> str:
    path = str(resources.files(package).joinpath(file))
    return os.path.dirname(path) if folder else path


# Build systems ask these on every configure or build: answered before anything heavy loads.
_QUICK_ANSWERS = {
    "--version": lambda: f"tinyc {__version__}",
    "--cmake-dir": lambda: _package_path("tinyc.cmake", "tinyc.cmake", folder=True),
    "--platformio-script": lambda: _package_path("tinyc.platformio", "tinyc_prebuild.py",
                                                 folder=False),
}


def _target_names() -> list[str]:
    from .targets import target_names

    return target_names()


def _target(text: str):
    from .targets import find_target

    target = find_target(text)
    if target is None:
        raise argparse.ArgumentTypeError(
            f"unknown target {text!r} (known: {', '.join(_target_names())})")
    return target


def _add_max_arena(parser: argparse.ArgumentParser) -> None:
    from .validate import DEFAULT_MAX_ARENA

    parser.add_argument("--max-arena", type=_byte_count, default=DEFAULT_MAX_ARENA,
                        metavar="BYTES", help="refuse a model whose arena would be larger "
                        f"(default {DEFAULT_MAX_ARENA}; suffixes K and M)")


def _add_memory(parser: argparse.ArgumentParser) -> None:
    from .plan_memory import MEMORY_MODES

    parser.add_argument("--memory", choices=MEMORY_MODES, default="fast",
                        help="fast (default): kernels run in place where that costs no time; "
                        "small: wherever it makes the arena smaller, even at some cost in time")


def _add_rounding(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounding", choices=("double", "single"), default="double",
                        help="requantization: double (default) as TFLM's reference kernels, "
                        "single as TFLite built with TFLITE_SINGLE_ROUNDING (fewer "
                        "instructions; verified against LiteRT instead of TFLM)")


def _byte_count(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20}
    scale = units.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a byte count")
    return int(digits) * scale


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if len(words) == 1 and words[0] in _QUICK_ANSWERS:
        print(_QUICK_ANSWERS[words[0]]())
        return 0
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            # Library warnings (NumPy, TensorFlow) would come before our one line; the inputs
            # that cause them are refused by validation, with a message of their own.
            warnings.simplefilter("ignore")
            status = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        return status
    except TinycError as exc:
        _error(f"tinyc: error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _error("tinyc: interrupted")
        return 130
    except BrokenPipeError:  # `tinyc ops | head -1`: the reader left, nothing to report
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except ModuleNotFoundError as exc:  # an incomplete installation, not a bug in the input
        if os.environ.get("TINYC_DEBUG"):
            raise
        package = (exc.name or "?").split(".")[0]
        _error(f"tinyc: error: the Python package {package!r} is not installed, and tinyc needs "
               f"it here: install it (pip install {PIP_NAMES.get(package, package)}) or "
               "reinstall tinyc with its dependencies")
        return EXIT_INPUT
    except Exception as exc:  # a bug in tinyc: still one line, unless asked for the traceback
        if os.environ.get("TINYC_DEBUG"):
            raise
        _error(f"tinyc: internal error: {type(exc).__name__}: {exc} "
               "(set TINYC_DEBUG=1 for a traceback)")
        return EXIT_INPUT


def _error(message: str) -> None:
    print(one_line(message), file=sys.stderr)


def _silence_stdout() -> None:
    """Python flushes stdout at exit and would raise again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _compile(args: argparse.Namespace) -> int:
    from .pipeline import compile_to_folder
    from .report import constant_bytes, estimate_code_size

    compiled = compile_to_folder(args.model, args.output, args.name, args.scratch,
                                 args.max_arena, library=args.library,
                                 shared_runtime=args.shared_runtime, memory=args.memory,
                                 rounding=args.rounding)
    weights = constant_bytes(compiled.model)
    code = estimate_code_size(compiled).code_bytes
    print(
        f"{args.output}: {compiled.name} ({len(compiled.model.calls)} kernel calls, "
        f"arena {compiled.plan.arena_bytes} bytes, flash ~{weights + code:,} bytes: "
        f"{weights:,} of weights and constants, ~{code:,} of code)"
    )
    return 0


def _runtime(args: argparse.Namespace) -> int:
    from . import write_files
    from .library import runtime_library_files

    files = write_files.shared_runtime_files()
    if args.library:
        files = runtime_library_files(files)
    write_files.write_folder(files, args.output)
    print(f"{args.output}: tinyc runtime {write_files.runtime_id()} "
          f"({len(write_files.runtime_headers_shipped())} kernel headers)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify_model

    if args.samples < 1:
        raise TinycError("--samples must be at least 1")
    with _Progress(f"tinyc verify: {args.model}") as progress:
        report = verify_model(
            args.model,
            samples=args.samples,
            seed=args.seed,
            litert=not args.no_litert,
            scratch=args.scratch,
            max_arena=args.max_arena,
            memory=args.memory,
            rounding=args.rounding,
            progress=progress.advance,
        )
    print("\n".join(report.lines()))
    return 0 if report.bit_exact else EXIT_MISMATCH


class _Progress:
    """While a long command runs, tell stderr it is still going: after `delay` seconds, then
    every `every` seconds; on a terminal one line rewritten in place and erased at the end, in a
    log one line each time. Standard output is never touched."""

    def __init__(self, what: str, delay: float | None = None, every: float | None = None):
        self.what = what
        # TINYC_PROGRESS_DELAY: seconds before the first line (tests make it short)
        self.delay = delay if delay is not None else float(
            os.environ.get("TINYC_PROGRESS_DELAY", "3"))
        self.tty = sys.stderr.isatty()
        self.every = every if every is not None else (1.0 if self.tty else 10.0)
        self.done = threading.Event()
        self.shown = False
        self.count: tuple[int, int] | None = None  # (done, total) when the work reports it
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Progress:
        self.start = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        if self.shown and self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def advance(self, done: int, total: int) -> None:
        self.count = (done, total)

    def _run(self) -> None:
        wait = self.delay
        while not self.done.wait(wait):
            elapsed = time.monotonic() - self.start
            count = f"{self.count[0]}/{self.count[1]} samples, " if self.count else ""
            line = f"{self.what}: running, {count}{elapsed:.0f} s"
            sys.stderr.write(f"\r\033[K{line}" if self.tty else line + "\n")
            sys.stderr.flush()
            self.shown = True
            wait = self.every


def _report(args: argparse.Namespace) -> int:
    import json

    from .report import report_model

    if args.flash is not None and args.target is not None:
        raise TinycError("--flash goes with --ram, not with --target (a target has its own)")
    from .pipeline import compile_model

    compiled = compile_model(args.model, args.name, args.scratch, args.max_arena,
                             memory=args.memory, rounding=args.rounding)
    report = report_model(args.model, code_size=args.code_size, compiled=compiled)
    if args.target is not None or args.ram is not None or args.flash is not None:
        report.fit = report.check(args.target, args.ram, args.flash)
    written = []
    if args.html:
        _write_text(args.html, report.html())
        written.append(args.html)
    if args.png:
        try:
            report.write_png(args.png)
        except OSError as exc:
            raise TinycError(f"{args.png}: cannot write ({exc.strerror})") from None
        written.append(args.png)
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        print("\n".join(report.text_lines()))
        for path in written:
            print(f"wrote {path}")
    if report.fit is not None and not report.fit.fits:
        _error(f"tinyc: error: {report.fit.failure(report.name)}")
        return EXIT_DOES_NOT_FIT
    return 0


def _write_text(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as exc:
        raise TinycError(f"{path}: cannot write ({exc.strerror})") from None


def _ops(args: argparse.Namespace) -> int:
    from .ops import load_all

    print("\n".join(supported_ops_table(load_all())))
    return 0


TABLE_TYPES = ("int8", "int16", "uint8", "float32")
OTHER_TYPES = ("int32", "int64", "bool")


def supported_ops_table(registry) -> list[str]:
    """The README's table: one row per op, a column per activation type it takes."""
    header = ["op", *TABLE_TYPES, "other types", "options and limits"]
    rows = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for _, info in sorted(registry.items()):
        named = set(re.findall(r"u?int\d+|float32|bool|any", info.types))
        marks = ["✓" if t in named or "any" in named else "" for t in TABLE_TYPES]
        other = "any" if "any" in named else ", ".join(t for t in OTHER_TYPES if t in named)
        rows.append("| " + " | ".join([info.kind, *marks, other, info.notes]) + " |")
    return rows


# Import names whose pip package is named otherwise.
PIP_NAMES = {"tflite_micro": "tflite-micro", "ai_edge_litert": "ai-edge-litert",
             "yaml": "pyyaml"}

COMMANDS = {"compile": _compile, "verify": _verify, "ops": _ops, "report": _report,
            "runtime": _runtime}
