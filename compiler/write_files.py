"""write: {filename: text} + runtime headers -> the output folder, atomically.

Files are rendered into a staging folder beside the destination (`.NAME.tinyc-XXXX`) and swapped
in only when all of them are written, so an existing folder is never left half-written:
  - on Linux the swap is one renameat2(RENAME_EXCHANGE): there is no moment without an output
    folder, and the old one is removed after;
  - elsewhere the old folder is renamed aside (`...-old`), the new one into place, the old one
    removed; a kill between those two renames leaves the old folder aside, and the next compile
    into the same destination puts it back before it starts.
A staging folder holds a lock file, locked (flock) for as long as its compile runs. A compile
removes the staging folders of earlier compiles into the same destination that were killed
(their lock is free: the kernel releases it when a process dies), never one that is still locked.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from .errors import TinycError

try:
    import fcntl
except ImportError:  # Windows: no flock; staging folders are then never reclaimed
    fcntl = None  # type: ignore[assignment]

RUNTIME_DIR = "tinyc_runtime"
LOCK_FILE = ".tinyc-lock"
STAGING_MARK = ".tinyc-"
RENAME_EXCHANGE = 2  # linux/fs.h


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
        _recover(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING_MARK}", dir=parent))
    except OSError as exc:
        raise TinycError(f"{out}: cannot write output folder ({exc.strerror})") from None
    lock = _lock(staging)
    try:
        for relative, text in sorted(files.items()):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        _replace_folder(staging, out)
    except OSError as exc:
        raise TinycError(f"{out}: cannot write output folder ({exc.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after an exchange: the old contents
        if lock is not None:
            os.close(lock)
    return out


def _lock(staging: Path) -> int | None:
    """Create and lock staging's lock file; the lock lasts until the fd closes or we die."""
    fd = os.open(staging / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _replace_folder(staging: Path, out: Path) -> None:
    """Swap the finished staging folder in for `out`; the old contents go only after that."""
    os.remove(staging / LOCK_FILE)  # the lock stays held on the open fd; the file is not output
    os.chmod(staging, 0o755)
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):
        return  # `staging` now holds the old folder, removed by the caller
    retired = staging.with_name(staging.name + "-old")
    out.rename(retired)
    try:
        staging.rename(out)
    except OSError:
        retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the OS cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE)
    return result == 0


def _recover(out: Path) -> None:
    """Undo what killed compiles into `out` left behind: put an old folder set aside back if
    `out` is missing, and remove staging folders whose compile is no longer running."""
    parent = out.absolute().parent
    prefix = f".{out.name}{STAGING_MARK}"
    leftovers = sorted(p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir())
    for folder in leftovers:
        if not _abandoned(folder):
            continue
        if folder.name.endswith("-old") and not out.exists():
            folder.rename(out)  # killed between the two renames: the old output comes back
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _abandoned(folder: Path) -> bool:
    """True if no running compile holds `folder`'s lock (or it never had one to hold)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        # No lock file: finished staging (about to be renamed) or the old half of a swap. A live
        # compile keeps such a folder for microseconds; a day-old one is abandoned for sure.
        return _age_seconds(folder) > 60
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _age_seconds(folder: Path) -> float:
    import time

    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0
