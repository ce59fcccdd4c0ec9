"""Failed writes (full disk, read-only disk, a file in the way, no permission) end every
command with ``error: Cannot write '<where>': <what to do>``, exit 2, no traceback, and leave
nothing behind; where they can, before the work. A real 1 MiB tmpfs where the test can mount
one, else the same OSError injected where the write happens."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
from write_faults import (
    files,
    fill,
    fill_at_the_write,
    make_read_only,
    small_disk,
    tiny_run,
    tlstudio,
)

from tlstudio import writable
from tlstudio.cli import main

TRAIN = ["--backbone", "tiny_cnn", "--epochs", "1", "--image-size", "16", "--batch-size", "4",
         "--val-split", "0.34", "--threads", "1"]
LR_FIND = TRAIN[:2] + TRAIN[4:]  # without --epochs 1: lr-find trains no epochs
FULL = "the disk is full: free some space or choose another location"
READ_ONLY = "that disk is read-only: choose another location"
DENIED = "permission denied: choose a folder you can write to"


def _command(name: str, run: Path, data: Path, target: Path) -> tuple[list[str], Path]:
    """The command line writing into ``target``, and the path its message names."""
    return {
        "train": (["train", str(data), "--out", str(target / "run"), *TRAIN], target / "run"),
        "export": (["export", str(run), "--format", "onnx", "--out", str(target / "m.onnx")],
                   target / "m.onnx"),
        "report": (["report", str(run), "--data", str(data), "--out", str(target / "r.html")],
                   target / "r.html"),
        "predict": (["predict", str(run), str(data), "--csv", str(target / "p.csv")],
                    target / "p.csv"),
        "lr-find": (["lr-find", str(data), *LR_FIND, "--plot", str(target / "lr.png")],
                    target / "lr.png"),
        "demo": (["demo", "--headless", "--out", str(target / "demo")], target / "demo"),
    }[name]


def _error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err  # progress output before it, the error last
    last = re.split(r"[\r\n]", err.rstrip("\n"))[-1]
    assert last.startswith("error: ") and "Traceback" not in err
    return last.removeprefix("error: ")


COMMANDS = ["train", "export", "report", "predict", "lr-find", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_is_refused_before_the_work(command, tmp_path, monkeypatch, capsys) -> None:
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    with small_disk(tmp_path / "disk") as disk:
        if disk is None:
            disk = tmp_path / "disk"
            monkeypatch.setattr(writable, "_free_bytes", lambda folder: 0)
        else:
            fill(disk, leave=0)
        args, target = _command(command, run, tmp_path / "data", disk)
        assert _error(capsys, args) == f"Cannot write '{target}': {FULL}"
        assert files(disk) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_disk_is_refused_before_the_work(command, tmp_path, monkeypatch,
                                                     capsys) -> None:
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    with small_disk(tmp_path / "disk") as disk:
        if disk is None or not make_read_only(disk):
            disk = tmp_path / "disk"

            def read_only(probe: Path) -> None:
                raise OSError(errno.EROFS, "Read-only file system", str(probe))

            monkeypatch.setattr(writable, "_create_and_remove", read_only)
        args, target = _command(command, run, tmp_path / "data", disk)
        assert _error(capsys, args) == f"Cannot write '{target}': {READ_ONLY}"
        assert files(disk) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_in_the_way_is_named(command, tmp_path, capsys) -> None:
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    args, target = _command(command, run, tmp_path / "data", blocker)
    assert _error(capsys, args) == (f"Cannot write '{target}': '{blocker}' is a file, not a "
                                    "folder; choose another location")
    assert blocker.read_text() == "mine"


def test_train_out_naming_a_file_and_report_out_naming_a_folder(tmp_path, capsys) -> None:
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    assert _error(capsys, ["train", str(tmp_path / "data"), "--out", str(blocker), *TRAIN]) == (
        f"Cannot write '{blocker}': it is a file, not a folder")
    assert _error(capsys, ["report", str(run), "--out", str(tmp_path)]) == (
        f"Cannot write '{tmp_path}': it is a folder: give a file name")
    assert blocker.read_text() == "mine"


def test_permission_denied_before_and_at_the_write(tmp_path, monkeypatch, capsys) -> None:
    """Root ignores file modes, so the refusal is injected: first at the check, then at the
    write itself (a folder whose permissions change while the report is computed)."""
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    out = tmp_path / "out" / "r.html"
    args = ["report", str(run), "--data", str(tmp_path / "data"), "--out", str(out)]

    def denied(path, *_args) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(writable, "_create_and_remove", denied)
        assert _error(capsys, args) == f"Cannot write '{out}': {DENIED}"
    with monkeypatch.context() as patch:
        patch.setattr("tlstudio.atomic.os.replace", denied)
        assert _error(capsys, args) == f"Cannot write '{out}': {DENIED}"
    assert files(tmp_path / "out") == []


def test_a_disk_that_fills_up_during_training_ends_with_the_message(tmp_path, monkeypatch,
                                                                     capsys) -> None:
    write_data = tiny_run(tmp_path / "run", tmp_path / "data")  # noqa: F841 - the images
    with small_disk(tmp_path / "disk") as disk:
        if disk is None:
            disk = tmp_path / "disk"
            fill_at_the_write(monkeypatch)
        else:
            fill(disk, leave=16 * 1024)  # the recipe fits, the first model does not
        err = _error(capsys, ["train", str(tmp_path / "data"), "--out", str(disk / "run"),
                              *TRAIN])
        assert err.startswith(f"Cannot write '{disk / 'run'}/") and err.endswith(FULL)
        assert not [name for name in files(disk) if name.endswith(".tmp")]


@pytest.mark.parametrize(("fmt", "name"), [("onnx", "m.onnx"), ("torchscript", "m.pt"),
                                           ("safetensors", "m.safetensors")])
def test_no_export_format_takes_the_process_down_on_a_full_disk(fmt, name, tmp_path,
                                                                monkeypatch, capsys) -> None:
    """The disk has room for the check, not for the model: the write itself fails. Its own
    process, as TorchScript's file writer used to abort (SIGABRT) the whole process here."""
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    with small_disk(tmp_path / "disk") as disk:
        if disk is None:
            disk = tmp_path / "disk"
            fill_at_the_write(monkeypatch)
            code, err = main(["export", str(run), "--format", fmt, "--out", str(disk / name)]), \
                capsys.readouterr().err
        else:
            fill(disk, leave=8 * 1024)
            done = tlstudio("export", str(run), "--format", fmt, "--out", str(disk / name))
            code, err = done.returncode, done.stderr
        assert code == 2, err
        assert err == f"error: Cannot write '{disk / name}': {FULL}\n"
        assert files(disk) == []
