"""The LR finder: a range test that suggests a learning rate and leaves every file alone."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from tlstudio.cli import main
from tlstudio.recipe import Recipe
from tlstudio.training import PhaseProgress, RunControl, fit
from tlstudio.training.lr_finder import lr_find, suggest_lr


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=1,
                batch_size=8, lr=0.01, image_size=16, val_split=0.25, freeze="backbone")
    base.update(changes)
    return Recipe(**base)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("freeze", ["backbone", "none"])  # cached features / whole model
def test_range_test_suggests_an_lr_and_writes_nothing(colour_data, tmp_path, freeze):
    run = tmp_path / "run"
    result = lr_find(_recipe(colour_data, run, freeze=freeze), steps=25)

    assert 3 <= len(result.lrs) <= 25 and len(result.losses) == len(result.lrs)
    assert all(a < b for a, b in zip(result.lrs, result.lrs[1:], strict=False))
    assert result.lrs[0] == pytest.approx(1e-7)
    assert all(math.isfinite(loss) for loss in result.losses)
    assert result.suggested_lr is not None
    assert result.lrs[0] <= result.suggested_lr <= result.lrs[-1]
    assert not run.exists()


def test_existing_run_folder_is_left_unchanged(colour_data, tmp_path):
    run = tmp_path / "run"
    fit(_recipe(colour_data, run))
    before = _files(run)
    lr_find(_recipe(colour_data, run), steps=10)
    assert _files(run) == before


def test_stops_when_the_loss_diverges(colour_data, tmp_path):
    result = lr_find(_recipe(colour_data, tmp_path / "run", freeze="none"), steps=60,
                     start_lr=1e-2, end_lr=1e6)
    assert len(result.lrs) < 60


def test_stop_request_ends_the_test_early(colour_data, tmp_path):
    control = RunControl()

    def stop_after_four(event) -> None:
        if isinstance(event, PhaseProgress) and event.phase.startswith("finding") and \
                event.done == 4:
            control.stop()

    result = lr_find(_recipe(colour_data, tmp_path / "run"), control, stop_after_four,
                     steps=10)
    assert len(result.lrs) == 4 and result.suggested_lr is not None


def test_suggestion_is_the_steepest_fall_else_the_minimum_over_ten():
    lrs = [10.0 ** e for e in range(-6, 2)]
    falling = [2.0, 2.0, 1.9, 1.0, 0.8, 0.7, 1.5, 9.0]  # steepest fall around 1e-3
    assert suggest_lr(lrs, falling) == pytest.approx(1e-3)
    rising = [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.0, 4.0]  # never falls: the minimum / 10
    assert suggest_lr(lrs, rising) == pytest.approx(1e-6)  # not below the range
    assert suggest_lr(lrs[:2], rising[:2]) is None


def test_cli_prints_the_suggestion_a_table_and_a_plot(colour_data, tmp_path, capsys):
    plot = tmp_path / "lr.png"
    code = main(["lr-find", str(colour_data), "--backbone", "tiny_cnn", "--image-size", "16",
                 "--steps", "20", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0
    assert "suggested lr: " in out and "<- suggestion" in out
    assert out.splitlines()[0].split() == ["lr", "loss"]
    assert Image.open(plot).size == (640, 400)
    assert not (tmp_path / "run").exists()
