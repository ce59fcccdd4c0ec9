"""`predict` exits non-zero when it predicted nothing and names every skipped file; any
command whose reader closes the pipe early exits quietly (141, as `yes | head` does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fault_commands import SOURCE_ROOT, assert_no_traceback, run_tlstudio

from tlstudio.cli import EXIT_READER_GONE


def test_predict_on_an_empty_folder_fails(tmp_path: Path, tiny_run: tuple[Path, Path]) -> None:
    (tmp_path / "empty").mkdir()
    done = run_tlstudio("predict", tiny_run[0], tmp_path / "empty")
    err = assert_no_traceback(done)
    assert done.returncode == 2
    assert err == f"error: nothing to predict: no readable image in '{tmp_path / 'empty'}'\n"


def test_predict_on_unreadable_files_only_fails_and_names_each(tmp_path: Path,
                                                                tiny_run: tuple[Path, Path]):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "notes.png").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    os.mkfifo(tmp_path / "pipe.png")  # given by name: reading it would wait forever
    done = run_tlstudio("predict", tiny_run[0], folder, tmp_path / "missing.png",
                        tmp_path / "pipe.png", "--csv", tmp_path / "out.csv")
    err = assert_no_traceback(done)
    assert done.returncode == 2
    assert err.splitlines() == [
        f"skipped {folder / 'empty.jpg'}: empty file",
        f"skipped {folder / 'notes.png'}: not an image",
        f"skipped {tmp_path / 'missing.png'}: file not found",
        f"skipped {tmp_path / 'pipe.png'}: not a regular file (a pipe, socket or device)",
        f"error: nothing to predict: no readable image in '{folder}', "
        f"'{tmp_path / 'missing.png'}', '{tmp_path / 'pipe.png'}' (4 file(s) skipped, "
        "listed above)",
    ]
    assert not (tmp_path / "out.csv").exists()  # no empty table that looks like a result


def test_predict_with_some_readable_images_succeeds(tmp_path: Path,
                                                    tiny_run: tuple[Path, Path]) -> None:
    run, data = tiny_run
    (tmp_path / "notes.png").write_text("not an image")
    done = run_tlstudio("predict", run, data / "red" / "000.png", tmp_path / "notes.png")
    err = assert_no_traceback(done)
    assert done.returncode == 0
    assert err == f"skipped {tmp_path / 'notes.png'}: not an image\n"
    assert done.stdout.decode().startswith(f"{data / 'red' / '000.png'}: ")


def _with_closed_stdout(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess:
    """Run tlstudio with a stdout pipe whose reader is gone before the first write."""
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` having exited: every write fails with EPIPE
    try:
        return subprocess.run([sys.executable, "-m", "tlstudio", *map(str, args)],
                              stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_a_command_quietly(tiny_run: tuple[Path, Path]) -> None:
    run, data = tiny_run
    for args in (("backbones", "--json"), ("backbones",), ("predict", run, data)):
        done = _with_closed_stdout(*args)
        assert done.stderr == b"", done.stderr.decode()
        assert done.returncode == EXIT_READER_GONE


def test_a_shell_pipe_whose_reader_left() -> None:
    # `true` exits before Python has started: the shell pipeline of `| head -1` at its worst
    command = f"set -o pipefail; {sys.executable} -m tlstudio backbones --json | true"
    done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(SOURCE_ROOT)})
    assert done.stderr == b"", done.stderr.decode()
    assert done.returncode == EXIT_READER_GONE
