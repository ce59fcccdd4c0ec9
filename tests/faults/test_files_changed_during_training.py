"""A training image deleted while training runs ends the run with the same clean message
whether images are decoded in the training process (--workers 0) or in worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fault_commands import assert_no_traceback, run_tlstudio
from imagefolders import write_class_folders

from tlstudio.errors import DatasetError
from tlstudio.recipe import Recipe
from tlstudio.training import fit
from tlstudio.training.events import BatchEnded, Event

# The CLI, with its progress printer deleting a file when the first batch ends.
DELETE_MID_EPOCH = """
import os, sys
from tlstudio import cli_progress
from tlstudio.cli import main
from tlstudio.training.events import BatchEnded

victim, show = sys.argv[1], cli_progress.ProgressPrinter.__call__

def delete_then_show(self, event):
    if isinstance(event, BatchEnded) and os.path.exists(victim):
        os.remove(victim)
    show(self, event)

cli_progress.ProgressPrinter.__call__ = delete_then_show
sys.exit(main(sys.argv[2:]))
"""


def _data(tmp_path: Path) -> tuple[Path, Path]:
    data = write_class_folders(tmp_path / "data", {"red": 8, "green": 8})
    return data, data / "red" / "003.png"


def _train_args(data: Path, out: Path, workers: int) -> list[str]:
    return ["train", str(data), "--backbone", "tiny_cnn", "--out", str(out), "--epochs", "2",
            "--image-size", "16", "--batch-size", "4", "--freeze", "none", "--val", str(data),
            "--workers", str(workers)]


def _fit_changing(data: Path, victim: Path, out: Path, workers: int, change: str) -> str:
    changed = []

    def change_mid_epoch(event: Event) -> None:
        if isinstance(event, BatchEnded) and not changed:
            changed.append(event)
            if change == "deleted":
                victim.unlink()
            else:
                victim.write_text("overwritten by another program")

    recipe = Recipe(data_dir=str(data), val_dir=str(data), out_dir=str(out), backbone="tiny_cnn",
                    epochs=2, image_size=16, batch_size=4, freeze="none", num_workers=workers)
    with pytest.raises(DatasetError) as caught:
        fit(recipe, callbacks=[change_mid_epoch])
    return str(caught.value)


@pytest.mark.parametrize(("change", "reason"), [("deleted", "file not found"),
                                                ("overwritten", "not an image")])
def test_the_engine_raises_the_same_error_with_and_without_workers(tmp_path: Path, change,
                                                                   reason) -> None:
    messages = []
    for workers in (0, 2):
        data, victim = _data(tmp_path / f"w{workers}")
        message = _fit_changing(data, victim, tmp_path / f"run{workers}", workers, change)
        messages.append(message.replace(str(tmp_path / f"w{workers}"), "DATA"))
    assert messages[0] == messages[1]
    assert messages[0] == (f"Image 'DATA/data/red/003.png' can no longer be read ({reason}); "
                           "it was readable when the folder was scanned. Rescan the folder.")


def test_the_cli_prints_one_error_line_with_workers(tmp_path: Path) -> None:
    lines = []
    for workers in (0, 2):
        data, victim = _data(tmp_path / f"w{workers}")
        done = run_tlstudio(victim, *_train_args(data, tmp_path / f"run{workers}", workers),
                            code=DELETE_MID_EPOCH)
        err = assert_no_traceback(done)
        assert done.returncode == 2
        errors = [line for line in err.splitlines() if "error: " in line]
        assert len(errors) == 1, err
        lines.append(errors[0][errors[0].index("error: "):].replace(str(data), "DATA"))
        assert not os.path.exists(victim)
    assert lines[0] == lines[1]
    assert "file not found" in lines[0] and "Rescan the folder" in lines[0]
