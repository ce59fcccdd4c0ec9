"""Temp files of killed writes do not pile up beside their targets (some are model-sized):
the next writer of a target removes its predecessors' abandoned temp files, never a live one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from write_faults import REPO, tiny_run

from tlstudio import atomic
from tlstudio.cli import main

# `tlstudio export`, stopped for good once the model is in its temp file (while it is checked).
KILLED_EXPORT = """
import sys, time
import tlstudio.export as export
from tlstudio.cli import main

def check_forever(*args):
    print("written", flush=True)
    time.sleep(600)

export.check_parity = check_forever
sys.exit(main(sys.argv[1:]))
"""


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_an_export_killed_mid_write_leaves_nothing_after_the_next_export(tmp_path) -> None:
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_EXPORT, "export", str(run), "--format", "torchscript",
         "--out", str(out / "model.pt")], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout.readline() == "written\n"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.stdout.close()
    left = sorted(out.iterdir())  # what the kill leaves: the export's staging folder
    assert len(left) == 1 and left[0].name.startswith(".tlstudio-export-")
    assert os.path.getsize(left[0] / "model.pt") > 10_000  # the whole model

    assert main(["export", str(run), "--format", "torchscript", "--out",
                 str(out / "model.pt")]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["example.py", "model.pt"]


def test_a_live_exports_staging_folder_is_left_alone(tmp_path) -> None:
    from tlstudio.export.staging import staged

    with staged(tmp_path / "model.onnx") as live:
        (live / "model.onnx").write_bytes(b"being checked")
        with staged(tmp_path / "model.pt") as other:
            (other / "model.pt").write_bytes(b"other")
        assert (live / "model.onnx").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.pt"]


def test_a_live_writers_temp_file_is_left_alone(tmp_path) -> None:
    dest = tmp_path / "report.html"
    other = tmp_path / ".report.html.0123456789ab.tmp"  # a writer killed long ago
    other.write_text("half a report")
    with atomic.atomic_path(dest) as tmp:
        tmp.write_text("first")
        assert not other.exists()
        atomic.write_text(dest, "second")  # another writer of the same file meanwhile
        assert tmp.read_text() == "first"  # still there to be moved into place
    assert dest.read_text() == "first" and _temp_files(tmp_path) == []


def test_the_demo_removes_copies_that_a_killed_demo_left(tmp_path) -> None:
    from tlstudio.data import write_digits_demo

    dest = tmp_path / "digits"
    abandoned, live = tmp_path / ".digits.0123456789ab", tmp_path / ".digits.ba9876543210"
    for folder in (abandoned, live):
        (folder / "train" / "0").mkdir(parents=True)
    two_hours_ago = time.time() - 7200  # a write killed two hours ago; the other just began
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    write_digits_demo(dest, per_class=2, size=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "digits"]
