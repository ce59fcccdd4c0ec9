"""Resume and extend: a run stopped, killed or finished continues as if it had never paused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from imagefolders import write_class_folders

from tlstudio.cli import main
from tlstudio.errors import RecipeError, TlstudioError
from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, LogMessage, RunControl, fit, resume_run
from tlstudio.training.checkpoint import CHECKPOINT


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=4,
                batch_size=8, lr=0.01, image_size=16, val_split=0.25, freeze="none")
    base.update(changes)
    return Recipe(**base)


def _val_losses(run: Path) -> list[float]:
    return [e["val_loss"] for e in json.loads((run / "metrics.json").read_text())["epochs"]]


def test_run_stopped_mid_epoch_resumes_to_the_uninterrupted_result(colour_data, tmp_path):
    # Augmentation, a cosine schedule and reduce-on-plateau use every piece of restored state.
    settings = dict(augment="light", schedule="cosine", reduce_lr_patience=1)
    whole = fit(_recipe(colour_data, tmp_path / "whole", **settings))

    control = RunControl()

    def stop_in_epoch_3(event) -> None:
        if isinstance(event, BatchEnded) and (event.epoch, event.batch) == (3, 2):
            control.stop()

    run = tmp_path / "run"
    first = fit(_recipe(colour_data, run, **settings), [stop_in_epoch_3], control)
    assert first.stopped and len(first.epochs) == 2
    logs: list[str] = []
    resumed = resume_run(run, callbacks=[lambda e: isinstance(e, LogMessage) and
                                         logs.append(e.text)])

    assert not resumed.stopped
    assert "Resuming after epoch 2 of 4" in logs
    assert [e.epoch for e in resumed.epochs] == [1, 2, 3, 4]
    for key in ("val_loss", "train_loss", "lr"):
        assert [getattr(e, key) for e in resumed.epochs] == pytest.approx(
            [getattr(e, key) for e in whole.epochs], rel=1e-5)
    assert _val_losses(run) == pytest.approx(_val_losses(Path(whole.run_dir)), rel=1e-5)


@pytest.mark.parametrize("feature_cache", [False, True])
def test_finished_run_extends_to_a_new_total(colour_data, tmp_path, feature_cache):
    freeze = "backbone" if feature_cache else "none"
    whole = fit(_recipe(colour_data, tmp_path / "whole", freeze=freeze))
    run = tmp_path / "run"
    fit(_recipe(colour_data, run, epochs=2, freeze=freeze))

    extended = resume_run(run, epochs=4)

    assert [e.val_loss for e in extended.epochs] == pytest.approx(
        [e.val_loss for e in whole.epochs], rel=1e-5)
    assert Recipe.load(run / "recipe.json").epochs == 4
    with pytest.raises(RecipeError, match="already trained 4 epoch"):
        resume_run(run)


def test_extended_run_keeps_its_early_stopping_patience(colour_data, tmp_path):
    # At this lr val_loss never improves by MIN_DELTA: epoch 1 stays the best.
    settings = dict(lr=1e-7, early_stopping_patience=2)
    run = tmp_path / "run"
    fit(_recipe(colour_data, run, epochs=2, **settings))

    extended = resume_run(run, epochs=6)

    assert [e.epoch for e in extended.epochs] == [1, 2, 3]  # patience counted from epoch 1
    assert json.loads((run / "metrics.json").read_text())["best_epoch"] == 1


def test_checkpoint_is_plain_tensors_and_values(colour_data, tmp_path):
    fit(_recipe(colour_data, tmp_path / "run", epochs=1))
    state = torch.load(tmp_path / "run" / CHECKPOINT, weights_only=True)
    assert state["epoch"] == 1 and len(state["epochs"]) == 1
    assert {"model", "optimizer", "scheduler", "rng", "callbacks"} <= set(state)


def test_run_without_checkpoint_cannot_resume(colour_data, tmp_path, capsys):
    with pytest.raises(TlstudioError, match="not a tlstudio run"):
        resume_run(tmp_path / "nothing")
    run = tmp_path / "run"
    fit(_recipe(colour_data, run, epochs=1))
    (run / CHECKPOINT).unlink()
    with pytest.raises(TlstudioError, match="has no checkpoint.pt"):
        resume_run(run, epochs=2)
    assert main(["train", "--resume", str(run), "--lr", "0.1"]) == 2
    assert "only --epochs" in capsys.readouterr().err


def _train_command(data: Path, run: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tlstudio", "train", str(data), "--out", str(run),
            "--backbone", "tiny_cnn", "--image-size", "16", "--batch-size", "4",
            "--freeze", "none", "--lr", "0.01", "--threads", "1", *extra]


def _kill_after(process: subprocess.Popen, run: Path, epochs: int) -> int:
    """SIGKILL the training process once metrics.json lists ``epochs``; the epochs it had."""
    deadline = time.monotonic() + 30
    done = 0
    while process.poll() is None and time.monotonic() < deadline:
        try:
            done = len(json.loads((run / "metrics.json").read_text())["epochs"])
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        if done >= epochs:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    return done


@pytest.mark.parametrize("kill_after", [1, 3])
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, kill_after):
    data = write_class_folders(tmp_path / "data", {"a": 40, "b": 40, "c": 40})
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(_train_command(data, run, "--epochs", "8"), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = _kill_after(process, run, kill_after)

    state = torch.load(run / CHECKPOINT, weights_only=True)  # never half-written
    assert state["epoch"] >= done
    assert main(["train", "--resume", str(run)]) == 0
    whole = fit(Recipe.load(run / "recipe.json").replace(out_dir=str(tmp_path / "whole")))
    assert _val_losses(run) == pytest.approx([e.val_loss for e in whole.epochs], rel=1e-5)
