"""The fit loop as a user sees it: run folder contents, learning, feature cache, stop, bad data."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from imagefolders import write_class_folders

from tlstudio import atomic
from tlstudio.errors import DatasetError
from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, EpochEnded, FitEnded, FitStarted, RunControl, fit


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
                batch_size=8, lr=0.01, image_size=16, val_split=0.25, freeze="none")
    base.update(changes)
    return Recipe(**base)


def test_run_folder_holds_metrics_model_and_replayable_recipe(colour_data, tmp_path) -> None:
    (colour_data / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = fit(_recipe(colour_data, tmp_path / "run", epochs=3))
    run = Path(result.run_dir)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["classes"] == ["blue", "green", "red"]
    [skipped] = metrics["skipped_files"]
    assert skipped["path"] == str(colour_data / "red" / "broken.png") and skipped["reason"]
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    for epoch in metrics["epochs"]:
        assert {"epoch", "train_loss", "val_loss", "val_accuracy", "seconds"} <= set(epoch)
    info = json.loads((run / "model.json").read_text())
    assert info["classes"] == ["blue", "green", "red"] and info["image_size"] == 16
    assert info["backbone"] == "tiny_cnn" and info["preprocessing"]
    assert (run / "model.safetensors").stat().st_size > 0
    replay = Recipe.load(run / "recipe.json").replace(out_dir=str(tmp_path / "replay"))
    again = fit(replay)
    assert [e.val_loss for e in again.epochs] == pytest.approx([e.val_loss for e in result.epochs])


def test_model_learns_separable_classes(colour_data, tmp_path) -> None:
    result = fit(_recipe(colour_data, tmp_path / "run", epochs=8, lr=0.05))
    assert result.epochs[-1].val_accuracy == 1.0
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss


def test_separate_validation_folder(tmp_path) -> None:
    train = write_class_folders(tmp_path / "train", {"a": 6, "b": 6})
    val = write_class_folders(tmp_path / "val", {"a": 3, "b": 2}, seed=5)
    starts: list[FitStarted] = []
    fit(_recipe(train, tmp_path / "run", val_dir=str(val), epochs=1),
        callbacks=[lambda e: starts.append(e) if isinstance(e, FitStarted) else None])
    assert (starts[0].train_images, starts[0].val_images) == (12, 5)


def test_head_only_training_reads_each_image_through_the_backbone_once(colour_data, tmp_path):
    calls = {"images": 0}
    events: list = []
    original = torch.nn.Module.__call__

    def counting_call(module, *args, **kwargs):
        if type(module).__name__ == "TinyCNN":
            calls["images"] += args[0].shape[0]
        return original(module, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.nn.Module, "__call__", counting_call)
        result = fit(_recipe(colour_data, tmp_path / "run", freeze="backbone", epochs=4),
                     callbacks=[events.append])
    assert next(e for e in events if isinstance(e, FitStarted)).feature_cache
    assert calls["images"] == 24  # 18 train + 6 val, once, for four epochs
    assert len(result.epochs) == 4


def test_stop_from_another_thread_ends_between_batches(colour_data, tmp_path) -> None:
    control = RunControl()
    first_batch, stop_sent = threading.Event(), threading.Event()
    events: list = []

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, BatchEnded):
            first_batch.set()
            stop_sent.wait(30)  # hold the run after its first batch until the stop arrives

    worker = threading.Thread(
        target=lambda: fit(_recipe(colour_data, tmp_path / "run", epochs=50, batch_size=2),
                           callbacks=[on_event], control=control))
    worker.start()
    assert first_batch.wait(30)
    control.stop()
    stop_sent.set()
    worker.join(30)
    assert not worker.is_alive()
    ended = [e for e in events if isinstance(e, FitEnded)]
    assert ended and ended[0].stopped
    assert sum(isinstance(e, BatchEnded) for e in events) < 10
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["stopped"] is True


def test_events_report_every_batch_and_epoch(colour_data, tmp_path) -> None:
    events: list = []
    fit(_recipe(colour_data, tmp_path / "run", epochs=2, batch_size=4), callbacks=[events.append])
    batches = [e for e in events if isinstance(e, BatchEnded)]
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert len(batches) == 2 * 5  # 18 training images in batches of 4
    assert [b.batch for b in batches[:5]] == [1, 2, 3, 4, 5] and batches[0].batches == 5
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(isinstance(b.loss, float) for b in batches)


@pytest.mark.parametrize(
    ("classes", "message"),
    [({"only": 3}, "at least two class"), ({"a": 3, "empty": 0}, "empty")],
)
def test_bad_folders_fail_before_training(tmp_path, classes, message) -> None:
    data = write_class_folders(tmp_path / "data", classes)
    with pytest.raises(DatasetError, match=message):
        fit(_recipe(data, tmp_path / "run"))
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch) -> None:
    target = tmp_path / "metrics.json"
    atomic.write_json(target, {"version": 1})

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic.write_json(target, {"version": 2})
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_choosing_a_missing_gpu_is_explained(colour_data, tmp_path, monkeypatch) -> None:
    from tlstudio.errors import RecipeError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RecipeError, match="no CUDA GPU"):
        fit(_recipe(colour_data, tmp_path / "run", device="cuda"))


def test_fit_trains_on_scans_handed_in(colour_data, tmp_path) -> None:
    """A procedure with its own split (cross-validation, comparisons) hands fit the scans."""
    from tlstudio.data import scan_folder, stratified_split

    train, val = stratified_split(scan_folder(colour_data), 0.5, seed=3)
    events: list = []
    result = fit(_recipe(colour_data, tmp_path / "run", epochs=1), callbacks=[events.append],
                 scans=(train, val))
    started = next(e for e in events if isinstance(e, FitStarted))
    assert (started.train_images, started.val_images) == (12, 12)  # the recipe says 0.25
    stored = json.loads((Path(result.run_dir) / "metrics.json").read_text())
    assert stored["classes"] == list(train.classes) and len(stored["epochs"]) == 1
