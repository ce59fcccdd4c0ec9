"""The window's Export… takes a kNN run as it takes an ensemble with a kNN member: both are
written and checked (issue 13: they used to differ, the kNN run refused, the ensemble exported)."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagefolders import write_class_folders
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from window_helpers import make_tiny_window

from tlstudio.ensemble import build_ensemble
from tlstudio.gui import MainWindow
from tlstudio.inference import load_predictor
from tlstudio.recipe import Recipe
from tlstudio.training import fit

TIMEOUT = 60_000


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Path]:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6, "blue": 6})
    common = dict(
        data_dir=str(data),
        backbone="tiny_cnn",
        image_size=16,
        batch_size=8,
        val_split=0.35,
        device="cpu",
    )
    fit(Recipe(out_dir=str(tmp_path / "knn"), freeze="backbone", head="knn", **common))
    fit(Recipe(out_dir=str(tmp_path / "linear"), freeze="none", epochs=1, **common))
    build_ensemble([tmp_path / "linear", tmp_path / "knn"], "average", tmp_path / "ens")
    return {"knn": tmp_path / "knn", "ens": tmp_path / "ens"}


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    yield window
    window.close()


@pytest.mark.parametrize("name", ["knn", "ens"])
def test_export_writes_a_knn_run_and_an_ensemble_with_a_knn_member(
    qtbot,
    window: MainWindow,
    runs: dict[str, Path],
    tmp_path: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = runs[name]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(run))
    window.open_run_action.trigger()  # File > Open run…
    target = tmp_path / f"{name}.onnx"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(target), ""))
    )
    results, failures = [], []
    window.exporter.exported.connect(results.append)
    window.exporter.failed.connect(failures.append)
    qtbot.mouseClick(window.training_view.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(results or failures), timeout=TIMEOUT)
    assert not failures
    assert Path(results[0].path) == target and results[0].checked
    assert load_predictor(target).classes == load_predictor(run).classes
    window.exporter.results_dialog.close()
