"""Runs cut short, in their own processes: Ctrl+C (a real SIGINT) keeps the run and says how to
continue it; a run killed before its first checkpoint is never offered --resume but what works
(start again in the same folder), and the advice printed is a command that works."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from imagefolders import write_class_folders
from write_faults import REPO

from tlstudio.cli import main

# `tlstudio train`, sending itself SIGNAL once the progress printer sees epoch E, batch B
# (B = 0: the end of epoch E, before the run saves anything of it).
SIGNALLED_TRAINING = """
import os, signal, sys
from tlstudio import cli_progress
from tlstudio.cli import main
from tlstudio.training import BatchEnded, EpochEnded

sig, epoch, batch = getattr(signal, sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
show = cli_progress.ProgressPrinter.__call__

def show_then_signal(self, event):
    show(self, event)
    at_batch = isinstance(event, BatchEnded) and (event.epoch, event.batch) == (epoch, batch)
    at_end = isinstance(event, EpochEnded) and event.epoch == epoch and batch == 0
    if at_batch or at_end:
        os.kill(os.getpid(), sig)

cli_progress.ProgressPrinter.__call__ = show_then_signal
sys.exit(main(sys.argv[4:]))
"""
TRAIN = ["--backbone", "tiny_cnn", "--image-size", "16", "--batch-size", "4", "--epochs", "3",
         "--val-split", "0.25", "--threads", "1", "--freeze", "none"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "data", {"a": 8, "b": 8})


def _signalled(signal: str, epoch: int, batch: int, data: Path, run: Path,
               ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", SIGNALLED_TRAINING, signal, str(epoch), str(batch), "train",
         str(data), "--out", str(run), *TRAIN], capture_output=True, text=True, env=env,
        timeout=120)


def _last_line(err: str) -> str:
    return err.rstrip("\n").rpartition("\n")[2].rpartition("\r")[2]


def test_ctrl_c_after_an_epoch_says_how_to_resume_and_keeps_the_model(data, tmp_path,
                                                                      capsys) -> None:
    run = tmp_path / "run"
    done = _signalled("SIGINT", 2, 1, data, run)
    assert done.returncode == 130 and "Traceback" not in done.stderr
    assert _last_line(done.stderr) == (f"interrupted: '{run}' was stopped (its model is "
                                       f"{run / 'model.safetensors'}); continue it with: "
                                       f"tlstudio train --resume {run}")
    # The model so far predicts (the run is no longer "not a tlstudio run")...
    assert main(["predict", str(run), str(data / "a" / "000.png")]) == 0
    assert capsys.readouterr().out.startswith(f"{data / 'a' / '000.png'}: ")
    # ...and the advice works: the run continues from epoch 2.
    assert main(["train", "--resume", str(run)]) == 0
    assert "Resuming after epoch 1 of 3" in capsys.readouterr().err


def test_ctrl_c_in_the_first_epoch_says_how_to_start_again(data, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    done = _signalled("SIGINT", 1, 1, data, run)
    assert done.returncode == 130 and "Traceback" not in done.stderr
    advice = _last_line(done.stderr)
    assert advice.startswith(f"interrupted: '{run}' stopped before its first epoch finished, "
                             "so it has no checkpoint.pt and cannot be resumed; start it again "
                             "in the same folder with: tlstudio train ")
    assert "--resume" not in advice
    command = shlex.split(advice.partition("with: tlstudio ")[2])
    assert main(command) == 0
    assert (run / "model.safetensors").is_file()


def test_a_run_killed_before_its_first_checkpoint_is_not_offered_resume(data, tmp_path,
                                                                        capsys) -> None:
    run = tmp_path / "run"
    done = _signalled("SIGKILL", 1, 0, data, run)
    assert done.returncode == -9
    assert not (run / "checkpoint.pt").exists() and (run / "recipe.json").is_file()

    assert main(["train", str(data), "--out", str(run), *TRAIN]) == 2
    err = capsys.readouterr().err
    assert "cannot be resumed; add --overwrite or choose another --out" in err
    assert "--resume" not in err
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "cannot be resumed; start it again in the same folder with" in err
    assert main(["train", str(data), "--out", str(run), *TRAIN, "--overwrite"]) == 0


def test_predict_on_a_run_killed_mid_run_says_how_to_get_its_model(data, tmp_path,
                                                                  capsys) -> None:
    run = tmp_path / "run"
    assert _signalled("SIGKILL", 2, 1, data, run).returncode == -9
    image = str(data / "a" / "000.png")
    assert main(["predict", str(run), image]) == 2
    assert capsys.readouterr().err == (
        f"error: '{run}' was stopped mid-run and has not saved its model yet (its best model "
        f"so far is {run / 'best_model.safetensors'}); continue it with: tlstudio train "
        f"--resume {run}\n")
    assert main(["train", "--resume", str(run)]) == 0
    assert main(["predict", str(run), image]) == 0
