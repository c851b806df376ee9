"""Command line: argument parsing and exit codes only; the work is library calls.

Exit status: 0 success, 1 a problem with the input (one line on stderr), 2 bad usage,
3 `verify` found outputs that differ from TFLM.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings

from . import __version__
from .errors import TinycError, one_line
from .plan_memory import SCRATCH_POLICIES
from .validate import DEFAULT_MAX_ARENA

EXIT_INPUT, EXIT_USAGE, EXIT_MISMATCH = 1, 2, 3
EXIT_BROKEN_PIPE = 141  # as a shell reports a program ended by SIGPIPE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        print(one_line(f"tinyc: error: {message} (see tinyc --help)"), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tinyc",
        description="Compile int8 .tflite models into interpreter-free C++ for microcontrollers.",
        epilog="exit status: 0 success, 1 bad input (one line on stderr), 2 bad usage, "
        "3 verify found outputs that differ from TFLM, 141 standard output closed early",
    )
    parser.add_argument("--version", action="version", version=f"tinyc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    comp = sub.add_parser("compile", help="generate C++ sources for a model into a folder")
    comp.add_argument("model", help="quantized .tflite file")
    comp.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="output folder (replaced atomically)"
    )
    comp.add_argument("--name", help="C identifier prefix for every symbol (default: file stem)")
    comp.add_argument("--scratch", choices=SCRATCH_POLICIES, default="auto",
                      help="scratch buffers for the faster conv kernels: auto = only where they "
                      "fit in free arena space (the arena never grows for them), always = "
                      "everywhere (faster, larger arena), never = none (default: auto)")
    _add_max_arena(comp)

    ver = sub.add_parser("verify", help="compile, build on the host, compare with TFLM and LiteRT")
    ver.add_argument("model", help="quantized .tflite file")
    ver.add_argument("--samples", type=int, default=100, help="random inputs (default 100)")
    ver.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ver.add_argument("--no-litert", action="store_true", help="compare with TFLM only")
    ver.add_argument("--scratch", choices=SCRATCH_POLICIES, default="auto",
                     help="as for compile (default: auto)")
    _add_max_arena(ver)

    sub.add_parser("ops", help="list supported ops with their types and options")
    return parser


def _add_max_arena(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-arena", type=_byte_count, default=DEFAULT_MAX_ARENA,
                        metavar="BYTES", help="refuse a model whose arena would be larger "
                        f"(default {DEFAULT_MAX_ARENA}; suffixes K and M)")


def _byte_count(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20}
    scale = units.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a byte count")
    return int(digits) * scale


def main(argv: list[str] | None = None) -> int:
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

    compiled = compile_to_folder(args.model, args.output, args.name, args.scratch,
                                 args.max_arena)
    print(
        f"{args.output}: {compiled.name} ({len(compiled.model.calls)} kernel calls, "
        f"arena {compiled.plan.arena_bytes} bytes)"
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify_model

    if args.samples < 1:
        raise TinycError("--samples must be at least 1")
    report = verify_model(
        args.model,
        samples=args.samples,
        seed=args.seed,
        litert=not args.no_litert,
        scratch=args.scratch,
        max_arena=args.max_arena,
    )
    print("\n".join(report.lines()))
    return 0 if report.bit_exact else EXIT_MISMATCH


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


COMMANDS = {"compile": _compile, "verify": _verify, "ops": _ops}
