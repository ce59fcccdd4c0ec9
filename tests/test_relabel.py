"""Moving images on disk: relabel, quarantine, no overwrite, undo, failures that lose nothing."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from imagefolders import write_class_folders

from tlstudio.data import scan_folder
from tlstudio.evaluation import DatasetEditor, RelabelError


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "data", {"cat": 3, "dog": 2})


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def log_lines(editor: DatasetEditor) -> list[dict]:
    return [json.loads(line) for line in editor.log_path.read_text().splitlines()]


def test_relabel_moves_the_file_logs_it_and_updates_counts(dataset: Path) -> None:
    editor = DatasetEditor(dataset)
    src = dataset / "cat" / "002.png"  # dog has 000.png and 001.png: no clash
    content = src.read_bytes()
    move = editor.relabel(src, "dog")

    assert not src.exists()
    assert Path(move.dst) == dataset / "dog" / "002.png"
    assert Path(move.dst).read_bytes() == content
    assert scan_folder(dataset).counts() == {"cat": 2, "dog": 3}
    assert editor.log_path == dataset.parent / "data.tlstudio-moves.jsonl"
    [entry] = log_lines(editor)
    assert entry["id"] == 1 and entry["kind"] == "relabel"
    assert entry["src"] == str(src) and entry["dst"] == move.dst and entry["time"]


def test_quarantine_moves_outside_the_dataset(dataset: Path) -> None:
    editor = DatasetEditor(dataset)
    move = editor.quarantine(dataset / "dog" / "001.png")
    assert Path(move.dst) == dataset.parent / "data.quarantine" / "dog" / "001.png"
    assert Path(move.dst).is_file()
    assert scan_folder(dataset).counts() == {"cat": 3, "dog": 1}
    assert log_lines(editor)[0]["kind"] == "quarantine"


def test_a_taken_name_gets_a_suffix_and_nothing_is_overwritten(dataset: Path) -> None:
    editor = DatasetEditor(dataset)
    before = files(dataset)
    # cat/000.png and dog/000.png both exist: the move must not replace dog/000.png.
    first = editor.relabel(dataset / "cat" / "000.png", "dog")
    second = editor.relabel(dataset / "cat" / "001.png", "dog")
    (dataset / "cat" / "001.png").write_bytes(before["dog/001.png"])  # clash once more
    third = editor.relabel(dataset / "cat" / "001.png", "dog")

    assert Path(first.dst).name == "000 (1).png"
    assert Path(second.dst).name == "001 (1).png"
    assert Path(third.dst).name == "001 (2).png"
    after = files(dataset)
    assert after["dog/000.png"] == before["dog/000.png"]
    assert after["dog/001.png"] == before["dog/001.png"]
    assert after["dog/000 (1).png"] == before["cat/000.png"]
    assert after["dog/001 (1).png"] == before["cat/001.png"]


def test_undo_restores_the_last_or_a_given_move(dataset: Path) -> None:
    editor = DatasetEditor(dataset)
    before = files(dataset)
    editor.relabel(dataset / "cat" / "000.png", "dog")
    quarantined = editor.quarantine(dataset / "cat" / "001.png")

    undone = editor.undo()  # the quarantine, the latest move
    assert undone.kind == "undo" and undone.undoes == quarantined.id
    assert (dataset / "cat" / "001.png").is_file()
    editor.undo(1)
    assert files(dataset) == before
    assert [m.kind for m in editor.history()] == ["relabel", "quarantine", "undo", "undo"]
    assert editor.undoable() == []
    with pytest.raises(RelabelError, match="no move to undo"):
        editor.undo()
    with pytest.raises(RelabelError, match="already undone"):
        editor.undo(1)


def test_undo_never_overwrites_a_file_now_at_the_old_name(dataset: Path) -> None:
    editor = DatasetEditor(dataset)
    src = dataset / "cat" / "000.png"
    content = src.read_bytes()
    moved = editor.relabel(src, "dog")
    src.write_bytes(b"a new file at the old name")
    undone = editor.undo()
    assert src.read_bytes() == b"a new file at the old name"
    assert Path(undone.dst) == dataset / "cat" / "000 (1).png"
    assert Path(undone.dst).read_bytes() == content
    assert not Path(moved.dst).exists()


def test_a_refused_move_loses_nothing_and_keeps_the_log_clean(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # We run tests as root, where chmod 0o555 does not stop writes: simulate the refusal.
    editor = DatasetEditor(dataset)
    editor.relabel(dataset / "dog" / "000.png", "cat")
    before, log_before = files(dataset), editor.log_path.read_bytes()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "link", refuse)
    with pytest.raises(RelabelError, match="Permission denied.*not moved"):
        editor.relabel(dataset / "cat" / "001.png", "dog")
    with pytest.raises(RelabelError, match="not moved"):
        editor.quarantine(dataset / "cat" / "002.png")
    assert files(dataset) == before
    assert editor.log_path.read_bytes() == log_before
    assert len(editor.history()) == 1


def test_a_refused_log_write_puts_the_file_back(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = DatasetEditor(dataset)
    before = files(dataset)

    def refuse(_move: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(editor, "_append", refuse)
    with pytest.raises(RelabelError, match="move log"):
        editor.relabel(dataset / "cat" / "000.png", "dog")
    assert files(dataset) == before


def test_without_hard_links_the_move_copies(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    editor = DatasetEditor(dataset)
    content = (dataset / "cat" / "000.png").read_bytes()
    move = editor.relabel(dataset / "cat" / "000.png", "dog")
    assert Path(move.dst).read_bytes() == content
    assert (dataset / "dog" / "000.png").read_bytes() != content  # the old one is untouched
    assert not (dataset / "cat" / "000.png").exists()


def test_bad_requests_are_refused(dataset: Path, tmp_path: Path) -> None:
    editor = DatasetEditor(dataset)
    with pytest.raises(RelabelError, match="no class folder 'bird'"):
        editor.relabel(dataset / "cat" / "000.png", "bird")
    with pytest.raises(RelabelError, match="already in class"):
        editor.relabel(dataset / "cat" / "000.png", "cat")
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"x")
    with pytest.raises(RelabelError, match="not an image inside"):
        editor.quarantine(outside)
    with pytest.raises(RelabelError, match="does not exist"):
        editor.quarantine(dataset / "cat" / "missing.png")
    with pytest.raises(RelabelError, match="outside the dataset"):
        DatasetEditor(dataset, quarantine_dir=dataset / "bad")
    assert not editor.log_path.exists()


def test_a_line_cut_short_in_the_log_is_ignored(dataset: Path) -> None:
    editor = DatasetEditor(dataset)
    editor.relabel(dataset / "cat" / "000.png", "dog")
    with open(editor.log_path, "a") as log:
        log.write('{"id": 2, "ti')  # a crash mid-write
    assert [m.id for m in editor.history()] == [1]
    editor.undo()
    assert (dataset / "cat" / "000.png").is_file()
