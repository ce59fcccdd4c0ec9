"""Atomically written files get the permissions any other new file would (the umask's), so a
colleague on a shared drive can open a run's files and its report."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from safetensors.torch import save_file

from tlstudio import atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_follow_the_umask(tmp_path: Path, umask_022) -> None:
    atomic.write_json(tmp_path / "metrics.json", {"a": 1})
    atomic.write_text(tmp_path / "report.html", "<html></html>")
    atomic.write_with(tmp_path / "model.safetensors", lambda p: save_file({}, str(p)))
    for name in ("metrics.json", "report.html", "model.safetensors"):
        assert _mode(tmp_path / name) == 0o644, name
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_writer_that_replaces_the_temp_file_still_gets_the_umask(tmp_path, umask_022) -> None:
    def private_writer(path: Path) -> None:
        path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    atomic.write_with(tmp_path / "model.onnx", private_writer)
    assert _mode(tmp_path / "model.onnx") == 0o644


def test_leftovers_of_a_killed_write_are_removed_and_nothing_else(tmp_path):
    leftover = tmp_path / ".checkpoint.pt.0123456789ab.tmp"
    leftover.write_bytes(b"half a checkpoint")
    mine = [tmp_path / ".notes.tmp", tmp_path / "model.safetensors", tmp_path / "a.tmp"]
    for path in mine:
        path.write_bytes(b"keep")
    assert atomic.remove_leftovers(tmp_path) == [leftover]
    assert not leftover.exists() and all(p.exists() for p in mine)
