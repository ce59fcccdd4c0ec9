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
from tlstudio.errors import RecipeError, Remedy, TlstudioError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.recipe import Recipe
from tlstudio.runs.checkpoint import PAUSE_BEFORE_RENAME
from tlstudio.runs.folder import CHECKPOINT
from tlstudio.training import (
    BatchEnded,
    LogMessage,
    RunControl,
    fit,
    resume_recipe,
    resume_run,
)


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
    # The window and the CLI resume through the same checks and recipe.
    with pytest.raises(RecipeError, match="already trained 4 epoch") as finished:
        resume_recipe(run, epochs=3)
    assert finished.value.remedies == (Remedy.MORE_EPOCHS,)
    assert "--epochs N" in describe_failure(finished.value, FrontEnd.CLI)
    assert "File > Resume run…" in describe_failure(finished.value, FrontEnd.WINDOW)
    assert resume_recipe(run, epochs=6) == Recipe.load(run / "recipe.json").replace(
        out_dir=str(run), epochs=6)


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


# The training process, killed by SIGKILL at a chosen point: the CLI's `train` with its progress
# printer wrapped, so the kill lands at exactly the same batch on every machine. Batch 0 means
# "while the epoch's checkpoint is being written": the checkpoint writer's test pause is switched
# on at that epoch's end, and the test kills the process once the new temp file is complete.
KILLED_TRAINING = """
import os, signal, sys
from tlstudio import cli_progress
from tlstudio.cli import main
from tlstudio.training import BatchEnded, EpochEnded
from tlstudio.runs.checkpoint import PAUSE_BEFORE_RENAME

epoch, batch = int(sys.argv[1]), int(sys.argv[2])
show = cli_progress.ProgressPrinter.__call__

def show_then_kill(self, event):
    show(self, event)
    if isinstance(event, BatchEnded) and (event.epoch, event.batch) == (epoch, batch):
        os.kill(os.getpid(), signal.SIGKILL)
    if isinstance(event, EpochEnded) and event.epoch == epoch and batch == 0:
        os.environ[PAUSE_BEFORE_RENAME] = "60"

cli_progress.ProgressPrinter.__call__ = show_then_kill
sys.exit(main(sys.argv[3:]))
"""
# Augmentation, the balancing sampler and MixUp all draw random numbers the resume must restore.
TRAIN_ARGS = ["--backbone", "tiny_cnn", "--image-size", "16", "--batch-size", "4", "--freeze",
              "none", "--lr", "0.01", "--threads", "1", "--epochs", "3", "--augment", "light",
              "--balance", "sampler", "--mixup", "0.2"]


@pytest.fixture(scope="module")
def kill_data(tmp_path_factory) -> tuple[Path, list[float]]:
    """A small folder (8 training batches an epoch, the last of 2 images) and an uninterrupted
    run's val losses."""
    root = tmp_path_factory.mktemp("killed")
    data = write_class_folders(root / "data", {"a": 12, "b": 12, "c": 12})
    assert main(["train", str(data), "--out", str(root / "whole"), *TRAIN_ARGS]) == 0
    return data, _val_losses(root / "whole")


def _kill_in_checkpoint_write(process: subprocess.Popen, run: Path, epoch: int) -> None:
    """SIGKILL the process once epoch ``epoch``'s checkpoint is complete in its temp file, in
    the writer's pause before the rename."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        for temp in run.glob(f".{CHECKPOINT}.*.tmp"):
            try:
                if torch.load(temp, weights_only=True)["epoch"] == epoch:
                    os.kill(process.pid, signal.SIGKILL)
                    return
            except Exception:  # noqa: BLE001 - still being written
                pass
        time.sleep(0.01)


@pytest.mark.parametrize(("epoch", "batch"), [(2, 1), (2, 4), (3, 8), (2, 0)],
                         ids=["epoch2-batch1", "epoch2-batch4", "epoch3-last-batch",
                              "epoch2-checkpoint-write"])
def test_killed_run_resumes_to_the_uninterrupted_result(kill_data, tmp_path, epoch, batch):
    data, whole = kill_data
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop(PAUSE_BEFORE_RENAME, None)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_TRAINING, str(epoch), str(batch), "train", str(data),
         "--out", str(run), *TRAIN_ARGS], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if batch == 0:
        _kill_in_checkpoint_write(process, run, epoch)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    # The last finished epoch's checkpoint, whole; a half-written one is only ever a temp file.
    assert torch.load(run / CHECKPOINT, weights_only=True)["epoch"] == epoch - 1
    assert len(list(run.glob(f".{CHECKPOINT}.*.tmp"))) == (1 if batch == 0 else 0)
    assert len(_val_losses(run)) == epoch - 1
    assert main(["train", "--resume", str(run)]) == 0
    assert _val_losses(run) == pytest.approx(whole, rel=1e-5)
    assert torch.load(run / CHECKPOINT, weights_only=True)["epoch"] == 3
    assert not list(run.glob(".*.tmp"))  # the resumed run cleared what the kill left


def test_head_only_checkpoint_holds_the_head_and_extends_to_the_same_result(colour_data, tmp_path):
    # The bundled backbone's own weights, frozen, on cached features: resuming builds the same
    # backbone again, so the checkpoint need not write its weights (it did, every epoch).
    settings = dict(
        backbone="tf_efficientnet_lite0", image_size=32, freeze="backbone", feature_cache=True
    )
    whole = fit(_recipe(colour_data, tmp_path / "whole", **settings))
    run = tmp_path / "run"
    fit(_recipe(colour_data, run, epochs=2, **settings))
    state = torch.load(run / CHECKPOINT, weights_only=True)
    assert state["model_part"] == "head"
    assert not any(k.startswith("backbone.") for k in state["model"])
    assert (run / CHECKPOINT).stat().st_size < (run / "model.safetensors").stat().st_size / 20

    extended = resume_run(run, epochs=4)

    assert [e.val_loss for e in extended.epochs] == pytest.approx(
        [e.val_loss for e in whole.epochs], rel=1e-5
    )
    # A random backbone is not rebuilt bit for bit: it is checkpointed whole.
    fit(_recipe(colour_data, tmp_path / "random", epochs=1, pretrained=False, **settings))
    assert torch.load(tmp_path / "random" / CHECKPOINT, weights_only=True)["model_part"] == "whole"
