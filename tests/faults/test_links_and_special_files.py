"""Broken links, link loops, links to folders and pipes are listed with a reason by the
training scan and by `predict`; hidden files stay unlisted (the documented rule)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fault_commands import assert_no_traceback, run_tlstudio
from imagefolders import write_class_folders

from tlstudio.data import scan_folder

EXPECTED = {
    "red/broken.png": "broken link (its target 'nowhere.png' does not exist)",
    "red/loop.png": "link loop (the link leads back to itself)",
    "red/parent": "link to a folder (not followed: move or copy the images here)",
    "red/pipe.png": "not a regular file (a pipe, socket or device)",
    "dangling": "broken link (its target 'gone' does not exist)",
    "notes.txt": "not inside a class folder",
}


@pytest.fixture
def linked_data(tmp_path: Path) -> Path:
    root = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    os.symlink("nowhere.png", root / "red" / "broken.png")
    os.symlink("loop.png", root / "red" / "loop.png")
    os.symlink("..", root / "red" / "parent")  # would loop if it were followed
    os.mkfifo(root / "red" / "pipe.png")  # opening it would block the scan forever
    os.symlink("gone", root / "dangling")  # at the top, where class folders are
    (root / "notes.txt").write_text("x")
    (root / "red" / ".DS_Store").write_bytes(b"\0")  # hidden: not listed
    os.symlink(root / "green" / "000.png", root / "red" / "linked.png")  # a link to a file
    return root


def _relative(root: Path, skipped: list[tuple[str, str]]) -> dict[str, str]:
    return {str(Path(path).relative_to(root)): reason for path, reason in skipped}


def test_the_scan_lists_each_entry_passed_over_with_its_reason(linked_data: Path) -> None:
    scan = scan_folder(linked_data)
    assert _relative(linked_data, [(s.path, s.reason) for s in scan.skipped]) == EXPECTED
    used = {Path(p).name for p, _ in scan.samples}
    assert "linked.png" in used and len(scan.samples) == 9


def test_training_records_them_in_the_run(linked_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = run_tlstudio("train", linked_data, "--backbone", "tiny_cnn", "--out", run,
                        "--epochs", "1", "--image-size", "16", "--freeze", "none",
                        "--val-split", "0.3")
    assert_no_traceback(done)
    assert done.returncode == 0
    skipped = json.loads((run / "metrics.json").read_text())["skipped_files"]
    assert _relative(linked_data, [(s["path"], s["reason"]) for s in skipped]) == EXPECTED


def test_predict_names_them_too(linked_data: Path, tiny_run: tuple[Path, Path]) -> None:
    run, _ = tiny_run
    done = run_tlstudio("predict", run, linked_data / "red", "--json")
    err = assert_no_traceback(done)
    assert done.returncode == 0
    predicted = {Path(p["path"]).name for p in json.loads(done.stdout)}
    assert predicted == {"000.png", "001.png", "002.png", "003.png", "linked.png"}
    for name in ("broken.png", "loop.png", "parent", "pipe.png"):
        assert f"skipped {linked_data / 'red' / name}: {EXPECTED['red/' + name]}" in err
    assert ".DS_Store" not in err


def test_a_target_folder_of_linked_class_folders_says_the_links_were_not_followed(
        tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    # `shift RUN TARGET` with TARGET/red -> elsewhere/red used to say only "has no readable
    # images", though the images are right there behind the links.
    run, data = tiny_run
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(data / "red", target / "red")
    done = run_tlstudio("shift", run, target)
    err = assert_no_traceback(done)
    assert done.returncode == 2
    assert "has no readable images" in err and "link to a folder (not followed" in err, err
