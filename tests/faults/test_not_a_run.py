"""A path that is not a run where a run is expected (a plain file, a cross-validation folder):
the command says what the path is and what to give instead, never a misleading write error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlstudio.cli import main


@pytest.mark.parametrize("command", [["report"], ["shift", "TARGET"], ["ensemble", "RUN"]])
def test_a_file_given_as_a_run_is_named_as_a_file_not_as_an_unwritable_place(
        tiny_run: tuple[Path, Path], tmp_path: Path, command: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    run, data = tiny_run
    note = tmp_path / "notes.txt"
    note.write_text("not a run")
    args = [str(run) if a == "RUN" else str(data) if a == "TARGET" else a for a in command]
    if command[0] == "ensemble":
        args += ["--out", str(tmp_path / "ens")]
    args.insert(1 if command[0] == "ensemble" else 1, str(note))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"'{note}' is a file, not a run folder" in err, err
    assert "Cannot write" not in err


def test_a_cross_validation_folder_as_an_ensemble_member_points_at_its_folds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imagefolders import write_class_folders

    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    cv = tmp_path / "cv"
    assert main(["train", str(data), "--folds", "2", "--backbone", "tiny_cnn", "--image-size",
                 "16", "--epochs", "1", "--out", str(cv)]) == 0
    capsys.readouterr()
    assert main(["ensemble", str(cv), str(cv / "folds" / "1"), "--out",
                 str(tmp_path / "ens")]) == 2
    err = capsys.readouterr().err
    assert "cross-validation" in err and str(cv / "folds") in err, err
    assert not (tmp_path / "ens").exists()
