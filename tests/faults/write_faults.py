"""Helpers for the write-fault tests: a small real disk (tmpfs) to fill or make read-only, a
tiny trained run, and the ``tlstudio`` command run as a user runs it (its own process)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from imagefolders import write_class_folders

from tlstudio.models.classifier import build_classifier
from tlstudio.runs import ModelInfo, save_model

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("blue", "green", "red")


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "1m") -> Iterator[Path | None]:
    """A tmpfs of ``size`` mounted on ``folder``; None where this process cannot mount one
    (not root, no CAP_SYS_ADMIN): the test then injects the OSError instead."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                  str(folder)], capture_output=True).returncode == 0
    except OSError:  # no mount command
        mounted = False
    try:
        yield folder if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until about ``leave`` bytes are free (a filler file the tests ignore)."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with open(disk / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    stats = os.statvfs(disk)
    assert stats.f_bavail * stats.f_frsize <= leave + stats.f_frsize


def fill_at_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no tmpfs can be mounted: every byte write stops after 100 bytes with ENOSPC."""
    real = Path.write_bytes

    def full(path: Path, data: bytes) -> int:
        real(path, data[:100])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_bytes", full)


def make_read_only(disk: Path) -> bool:
    return subprocess.run(["mount", "-o", "remount,ro", str(disk)],
                          capture_output=True).returncode == 0


def tiny_run(run_dir: Path, data_dir: Path) -> Path:
    """A run folder holding a tiny_cnn model (untrained, not uniform) and labelled images in
    ``data_dir`` to predict and report on."""
    write_class_folders(data_dir, dict.fromkeys(CLASSES, 3))
    torch.manual_seed(0)
    built = build_classifier("tiny_cnn", len(CLASSES), pretrained=False)
    with torch.no_grad():
        built.model.head.weight.normal_(0.0, 3.0)
    spec = built.spec
    recipe = {"data_dir": str(data_dir), "backbone": "tiny_cnn"}
    info = ModelInfo("tiny_cnn", CLASSES, spec.input_size, spec.mean, spec.std, recipe)
    save_model(run_dir, built.model.eval(), info)
    return run_dir


def tlstudio(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m tlstudio ARGS`` from this worktree, output captured."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "tlstudio", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def files(folder: Path) -> list[str]:
    """What a failed write left in ``folder`` (the filler aside), hidden files included."""
    return sorted(p.name for p in folder.rglob("*") if p.name != "filler")
