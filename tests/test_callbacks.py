"""Callbacks that act on a run: best epoch kept, early stopping, reduce-on-plateau, NaN stop,
and a user's own LoopCallback asking the loop to stop."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, EpochEnded, FitEnded, LogMessage, epoch_loop, fit, stages
from tlstudio.training.callbacks import LoopCallback


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", image_size=16,
                epochs=4, batch_size=6, lr=0.01, val_split=0.25, freeze="backbone")
    return Recipe(**{**base, **changes})


def _script_val_loss(monkeypatch: pytest.MonkeyPatch, losses: list[float]) -> None:
    """Real evaluation, but the val loss of epoch i is losses[i-1]."""
    scripted, real = iter(losses), epoch_loop.evaluate

    def evaluate(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), loss=next(scripted))

    monkeypatch.setattr(epoch_loop, "evaluate", evaluate)


def _logs(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, LogMessage)]


class WeightsPerEpoch(LoopCallback):
    """Snapshot the weights as each epoch ends (user callbacks run before the recipe's)."""

    def __init__(self) -> None:
        self.states: dict[int, dict[str, torch.Tensor]] = {}

    def after_epoch(self, event: EpochEnded) -> None:
        self.states[event.epoch] = {k: v.detach().clone()
                                    for k, v in self.loop.model.state_dict().items()}


def _assert_same_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    saved = load_file(str(path))
    assert saved.keys() == state.keys()
    assert all(torch.equal(saved[k], state[k]) for k in saved)


def test_the_run_keeps_the_best_epochs_weights(colour_data, tmp_path, monkeypatch) -> None:
    _script_val_loss(monkeypatch, [1.0, 0.5, 0.8, 0.9])
    snapshots, events = WeightsPerEpoch(), []
    result = fit(_recipe(colour_data, tmp_path / "run"), callbacks=[snapshots, events.append])
    run = Path(result.run_dir)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["best_epoch"] == 2
    assert min(metrics["epochs"], key=lambda e: e["val_loss"])["epoch"] == 2
    _assert_same_weights(run / "model.safetensors", snapshots.states[2])
    _assert_same_weights(run / "best_model.safetensors", snapshots.states[2])
    assert not torch.equal(snapshots.states[2]["head.weight"], snapshots.states[4]["head.weight"])
    logs = _logs(events)
    assert any("Best so far: val_loss 0.5 at epoch 2" in text for text in logs)
    assert "The run's model is epoch 2's, the best by val_loss, not the last epoch's" in logs


def test_when_the_last_epoch_is_the_best_its_weights_file_is_the_model_written_once(
        colour_data, tmp_path, monkeypatch) -> None:
    _script_val_loss(monkeypatch, [1.0, 0.9, 0.8, 0.7])
    snapshots = WeightsPerEpoch()
    run = Path(fit(_recipe(colour_data, tmp_path / "run"), callbacks=[snapshots]).run_dir)
    _assert_same_weights(run / "model.safetensors", snapshots.states[4])
    # one file under two names: the model's bytes are not written (nor stored) twice
    assert (run / "model.safetensors").samefile(run / "best_model.safetensors")
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]


def test_best_by_accuracy_and_keep_last(colour_data, tmp_path, monkeypatch) -> None:
    snapshots = WeightsPerEpoch()
    result = fit(_recipe(colour_data, tmp_path / "run", keep_best=False, monitor="val_accuracy"),
                 callbacks=[snapshots])
    run = Path(result.run_dir)
    assert "best_epoch" not in json.loads((run / "metrics.json").read_text())
    assert not (run / "best_model.safetensors").exists()
    _assert_same_weights(run / "model.safetensors", snapshots.states[4])


def test_early_stopping_after_patience_epochs_without_progress(colour_data, tmp_path,
                                                               monkeypatch) -> None:
    _script_val_loss(monkeypatch, [1.0, 0.9, 0.95, 0.9, 0.5, 0.4, 0.3, 0.2])
    events: list = []
    result = fit(_recipe(colour_data, tmp_path / "run", epochs=8, early_stopping_patience=2),
                 callbacks=[events.append])
    assert [e.epoch for e in result.epochs] == [1, 2, 3, 4]
    assert not result.stopped  # a finished run, not an interrupted one
    [message] = [t for t in _logs(events) if t.startswith("Early stopping")]
    assert "after epoch 4" in message and "2 epoch(s)" in message
    metrics = json.loads((Path(result.run_dir) / "metrics.json").read_text())
    assert metrics["stop_reason"] == message and metrics["best_epoch"] == 2


def test_reduce_lr_on_plateau_lowers_the_rate(colour_data, tmp_path, monkeypatch) -> None:
    _script_val_loss(monkeypatch, [1.0, 1.0, 1.0, 0.5])
    events: list = []
    fit(_recipe(colour_data, tmp_path / "run", reduce_lr_patience=1, reduce_lr_factor=0.5),
        callbacks=[events.append])
    first_lr = {e.epoch: e.lr for e in reversed(events) if isinstance(e, BatchEnded)}
    assert first_lr == pytest.approx({1: 0.01, 2: 0.01, 3: 0.005, 4: 0.0025})
    reductions = [t for t in _logs(events) if t.startswith("Reducing the learning rate")]
    assert len(reductions) == 2 and "from 0.01 to 0.005" in reductions[0]


class NanAfter(torch.nn.Module):
    """Cross-entropy that turns NaN from the given (1-based) call on."""

    def __init__(self, first_nan: int) -> None:
        super().__init__()
        self.calls, self.first_nan = 0, first_nan

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = torch.nn.functional.cross_entropy(logits, target)
        return loss * math.nan if self.calls >= self.first_nan else loss


def test_nan_loss_stops_with_a_clear_message(colour_data, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(stages, "build_loss", lambda recipe, counts=None: NanAfter(first_nan=5))
    events: list = []
    result = fit(_recipe(colour_data, tmp_path / "run"), callbacks=[events.append])
    assert result.stopped and [e.epoch for e in result.epochs] == [1]
    [warning] = [e for e in events if isinstance(e, LogMessage) and e.level == "warning"]
    assert "the loss became nan at epoch 2, batch 2" in warning.text
    assert "learning rate" in warning.text
    assert next(e for e in events if isinstance(e, FitEnded)).stopped
    batches = [e for e in events if isinstance(e, BatchEnded)]
    assert len(batches) == 5  # no batch ran after the NaN
    run = Path(result.run_dir)
    weights = load_file(str(run / "model.safetensors"))  # epoch 1's, not the NaN ones
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert json.loads((run / "metrics.json").read_text())["stop_reason"] == warning.text


def test_a_users_loop_callback_can_stop_the_run(colour_data, tmp_path) -> None:
    class StopAfterTwo(LoopCallback):
        def after_epoch(self, event: EpochEnded) -> None:
            if event.epoch == 2:
                self.loop.request_stop("enough")

    result = fit(_recipe(colour_data, tmp_path / "run"), callbacks=[StopAfterTwo()])
    assert len(result.epochs) == 2 and not result.stopped


def test_reduce_lr_stays_quiet_after_the_last_epoch(colour_data, tmp_path, monkeypatch) -> None:
    """A plateau at the end of a one-cycle run: nothing is left to train at a lower rate (and
    the rate is already ~0), so no 'Reducing the learning rate from 0 to 0'."""
    _script_val_loss(monkeypatch, [1.0, 1.0, 1.0])
    events: list = []
    fit(_recipe(colour_data, tmp_path / "run", epochs=3, schedule="onecycle",
                reduce_lr_patience=1, reduce_lr_factor=0.5), callbacks=[events.append])
    reductions = [t for t in _logs(events) if t.startswith("Reducing the learning rate")]
    assert len(reductions) == 1 and "to 0:" not in reductions[0]


class _StillLoop:
    """The part of a TrainingLoop that ReduceLROnPlateau uses, with the rate at 0."""

    def __init__(self) -> None:
        self.lr, self.logs = 0.0, []

    def scale_lr(self, factor: float) -> None:
        self.lr *= factor

    def log(self, text: str, level: str = "info") -> None:
        self.logs.append(text)


def test_reduce_lr_leaves_a_zero_rate_alone() -> None:
    from tlstudio.training.callbacks import ReduceLROnPlateau

    callback, loop = ReduceLROnPlateau("val_loss", patience=1, factor=0.1), _StillLoop()
    callback.bind(loop)
    for epoch in (1, 2, 3):
        callback(EpochEnded(epoch, 10, 1.0, 0.5, 1.0, 0.5, 0.0, 0.1, ()))
    assert loop.logs == []
