"""The output folder is replaced atomically, and killed compiles leave nothing behind for long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tinyc import write_files
from tinyc.write_files import LOCK_FILE, write_folder

from conftest import REPO


def _dot_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_replacing_a_folder_leaves_no_strays(tmp_path):
    out = tmp_path / "gen"
    write_folder({"a.h": "old"}, out)
    write_folder({"b.h": "new"}, out)
    assert sorted(p.name for p in out.iterdir()) == ["b.h"]
    assert _dot_entries(tmp_path) == []


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2 is Linux's")
def test_the_swap_is_one_exchange_on_linux(tmp_path, monkeypatch):
    """No moment without an output folder: the two-rename fallback is never taken."""
    out = tmp_path / "gen"
    write_folder({"a.h": "old"}, out)
    renames = []
    original = Path.rename
    monkeypatch.setattr(Path, "rename", lambda self, target: renames.append(self) or
                        original(self, target))
    write_folder({"a.h": "new"}, out)
    assert renames == [] and (out / "a.h").read_text() == "new"


def test_stale_staging_folders_are_removed(tmp_path):
    out = tmp_path / "gen"
    stale = tmp_path / ".gen.tinyc-dead1234"
    stale.mkdir()
    (stale / LOCK_FILE).write_text("")  # nobody holds its lock: its compile is gone
    (stale / "half.cpp").write_text("/* half-writ")
    unrelated = tmp_path / ".other.tinyc-abcd"  # another destination's: not ours to judge
    unrelated.mkdir()
    write_folder({"a.h": "x"}, out)
    assert _dot_entries(tmp_path) == [".other.tinyc-abcd"]


def test_a_running_compiles_staging_folder_is_left_alone(tmp_path):
    out = tmp_path / "gen"
    live = tmp_path / ".gen.tinyc-live5678"
    live.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(live / LOCK_FILE)!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        write_folder({"a.h": "x"}, out)
        assert live.exists()
    finally:
        holder.kill()
        holder.wait()
    write_folder({"a.h": "y"}, out)  # its owner is gone now
    assert not live.exists()


def test_a_killed_compile_is_cleaned_up_by_the_next(tmp_path):
    """SIGKILL in the middle of writing files, then an ordinary compile into the same place."""
    out = tmp_path / "gen"
    write_folder({"a.h": "before"}, out)
    slow = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(REPO / "tests")!r})
        from tinyc.write_files import write_folder
        original = pathlib.Path.write_text
        def slow_write(self, *args, **kwargs):
            original(self, *args, **kwargs)
            print("wrote", flush=True)
            time.sleep(60)
        pathlib.Path.write_text = slow_write
        write_folder({{"a.h": "half", "b.h": "never"}}, {str(out)!r})
    """)], stdout=subprocess.PIPE, text=True)
    assert slow.stdout.readline().strip() == "wrote"
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()
    assert len(_dot_entries(tmp_path)) == 1  # the killed compile's staging folder
    assert (out / "a.h").read_text() == "before"  # the old output untouched
    write_folder({"a.h": "after"}, out)
    assert _dot_entries(tmp_path) == []
    assert (out / "a.h").read_text() == "after"


def test_an_output_set_aside_by_a_killed_swap_comes_back(tmp_path):
    """Where there is no exchange, a kill between the two renames leaves the old output aside:
    the next compile puts it back before doing anything else."""
    out = tmp_path / "gen"
    aside = tmp_path / ".gen.tinyc-k1ll3d-old"
    aside.mkdir()
    (aside / "a.h").write_text("old output")
    long_ago = time.time() - 3600
    os.utime(aside, (long_ago, long_ago))
    write_files._recover(out)
    assert (out / "a.h").read_text() == "old output"
    assert _dot_entries(tmp_path) == []
