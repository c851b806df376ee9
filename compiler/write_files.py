"""write: {filename: text} + runtime headers -> the output folder, atomically.

Files are rendered into a temporary folder beside the destination and moved into place only when
all of them are written, so an existing folder is never left half-written.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from .errors import TinycError

RUNTIME_DIR = "tinyc_runtime"


def runtime_sources(headers: list[str]) -> dict[str, str]:
    """The runtime headers a model includes and the ones they include in turn, keyed by their
    path inside the output folder."""
    package = resources.files("tinyc.runtime")
    sources: dict[str, str] = {}
    pending = list(headers)
    while pending:
        header = pending.pop()
        if f"{RUNTIME_DIR}/{header}" in sources:
            continue
        text = package.joinpath(header).read_text(encoding="utf-8")
        sources[f"{RUNTIME_DIR}/{header}"] = text
        pending += re.findall(r'^#include "([\w.]+)"', text, flags=re.M)
    return dict(sorted(sources.items()))


def write_folder(files: dict[str, str], out_dir: str | Path) -> Path:
    out = Path(out_dir)
    parent = out.absolute().parent
    if out.exists() and not out.is_dir():
        raise TinycError(f"{out}: exists and is not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tinyc-", dir=parent))
    except OSError as exc:
        raise TinycError(f"{out}: cannot write output folder ({exc.strerror})") from None
    try:
        for relative, text in sorted(files.items()):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        _replace_folder(staging, out)
    except OSError as exc:
        raise TinycError(f"{out}: cannot write output folder ({exc.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _replace_folder(staging: Path, out: Path) -> None:
    """Swap the finished staging folder in for `out`; the old contents go only after that."""
    os.chmod(staging, 0o755)
    if not out.exists():
        staging.rename(out)
        return
    retired = staging.with_name(staging.name + "-old")
    out.rename(retired)
    try:
        staging.rename(out)
    except OSError:
        retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
