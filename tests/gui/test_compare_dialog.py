"""Compare strategies in the window (issue 13, point 4): the dialog runs the core comparison
in the background, its table fills in as strategies finish and marks the winner, Cancel stops
it, and the winner's buttons open it or train it as an ordinary run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFileDialog, QLabel, QPushButton, QSpinBox
from window_helpers import child, make_tiny_window, scan

from tests.imagefolders import write_class_folders
from tlstudio.gui.compare.compare_dialog import CompareDialog
from tlstudio.gui.compare.strategy_table import WINNER_MARK

TIMEOUT = 60_000
CHEAP = ("logreg", "knn", "head")


@pytest.fixture
def window(qtbot, settings_dir, tmp_path: Path):
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.settings_panel.epochs.setValue(1)
    window.show()
    yield window
    window.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "data", {"round": 6, "square": 6}, size=16)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def open_dialog(qtbot, window, strategies=CHEAP, folds=2) -> CompareDialog:
    click(qtbot, child(window, QPushButton, "compareButton"))
    dialog = window.findChild(CompareDialog, "compareDialog")
    assert dialog is not None and dialog.isVisible()
    for box in dialog.findChildren(QCheckBox):
        if box.objectName().startswith("strategy-"):
            box.setChecked(box.text() in strategies)
    dialog.findChild(QSpinBox, "compareFolds").setValue(folds)
    return dialog


def test_run_fills_the_table_marks_the_winner_and_opens_it(
    qtbot, window, data, tmp_path, monkeypatch
) -> None:
    dialog = open_dialog(qtbot, window)
    run = child(dialog, QPushButton, "compareRunButton")
    click(qtbot, run)  # no data chosen yet: said, nothing starts
    message = child(dialog, QLabel, "compareMessage")
    assert message.isVisible() and "training folder" in message.text()
    assert not dialog.is_running()
    scan(qtbot, window, data)
    rows_while_running: list[int] = []
    with qtbot.waitSignal(dialog.comparisonFinished, timeout=TIMEOUT) as ended:
        click(qtbot, run)
        dialog.controller.foldEnded.connect(
            lambda _e: rows_while_running.append(dialog.table.rowCount())
        )
    result = ended.args[0]
    assert result is not None and not result.stopped
    # Filled in as the strategies' folds ended: a row per strategy after the first fold.
    assert rows_while_running[:3] == [1, 2, 3] and len(rows_while_running) == 6
    table = dialog.table
    saved = json.loads((Path(result.path) / "compare.json").read_text())
    assert table.rowCount() == len(CHEAP) == len(saved["strategies"])
    assert {table.cell_text(r, 0).removeprefix(WINNER_MARK) for r in range(3)} == set(CHEAP)
    best = saved["best"]
    winner = table.winner_row
    assert winner is not None and table.cell_text(winner, 0) == WINNER_MARK + best["strategy"]
    row = next(r for r in saved["strategies"] if r["strategy"] == best["strategy"])
    assert table.cell_text(winner, 3) == (f"{row['accuracy_mean']:.1%} ± {row['accuracy_std']:.1%}")
    verdict = child(dialog, QLabel, "compareVerdict").text()
    assert f"Best: {best['strategy']} (tiny_cnn)" in verdict
    assert "Pretrained weights were not checked" in verdict  # no scratch among them
    # Open: the winner's model becomes the window's current run.
    with qtbot.waitSignal(window.results_view.runOpened, timeout=TIMEOUT):
        click(qtbot, child(dialog, QPushButton, "openWinnerButton"))
    current = Path(window.current_run())
    assert current.parent.parent == Path(result.path) / "tiny_cnn" / best["strategy"]
    assert (current / "model.safetensors").is_file()
    assert window.tabs.currentWidget() is window.results_view
    # Export…: the window's export dialog, for the winner's model.
    target = tmp_path / "winner.onnx"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "ONNX model (*.onnx)")
    )
    with qtbot.waitSignal(window.exporter.exported, timeout=TIMEOUT) as exported:
        click(qtbot, child(dialog, QPushButton, "exportWinnerButton"))
    assert Path(exported.args[0].path) == target and target.is_file()
    window.exporter.results_dialog.close()


def test_train_on_all_data_trains_the_winner_on_every_image(qtbot, window, data) -> None:
    scan(qtbot, window, data)
    dialog = open_dialog(qtbot, window, strategies=("logreg", "knn"))
    with qtbot.waitSignal(dialog.comparisonFinished, timeout=TIMEOUT) as ended:
        click(qtbot, child(dialog, QPushButton, "compareRunButton"))
    best = ended.args[0].result["best"]["strategy"]
    note = child(dialog, QLabel, "winnerNote").text()
    assert "Train on all data trains" in note and "nothing held out" in note
    assert "cross-validated accuracy" in note
    button = child(dialog, QPushButton, "trainWinnerButton")
    assert button.text() == "Train on all data"
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT) as trained:
        click(qtbot, button)
    run = Path(trained.args[0].run_dir)
    recipe = json.loads((run / "recipe.json").read_text())
    assert recipe["head"] == best and recipe["folds"] is None and recipe["all_data"] is True
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["train_images"], metrics["val_images"]) == (12, 0)  # every image trained
    assert metrics["epochs"][-1]["val_accuracy"] is None
    assert run.parent == Path(window.settings_panel.runs_dir.text())
    assert (run / "model.safetensors").is_file()
    assert window.current_run() == str(run)
    card = window.findChild(QLabel, "resultText")
    assert "Trained on all images: no validation accuracy" in card.text()
    # The Results tab has no held-out image to score: it says so instead of a number.
    window.tabs.setCurrentWidget(window.results_view)
    message = window.results_view.message
    qtbot.waitUntil(lambda: "no validation accuracy" in message.text(), timeout=TIMEOUT)
    assert not window.recipe().all_data  # the sidebar's next Train holds images out again


def test_cancel_stops_the_comparison(qtbot, window, data) -> None:
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(500)  # far longer than the test waits
    dialog = open_dialog(qtbot, window, strategies=("full",))
    with qtbot.waitSignal(dialog.comparisonFinished, timeout=TIMEOUT) as ended:
        click(qtbot, child(dialog, QPushButton, "compareRunButton"))
        qtbot.waitSignal(dialog.controller.epochEnded, timeout=TIMEOUT).wait()
        click(qtbot, child(dialog, QPushButton, "compareCancelButton"))
    result = ended.args[0]
    assert result is not None and result.stopped
    assert not dialog.is_running() and child(dialog, QPushButton, "compareRunButton").isEnabled()
    assert dialog.progress.format().startswith("Stopped")
    assert dialog.table.rowCount() == 0  # no fold finished
    epochs = json.loads(
        (Path(result.path) / "tiny_cnn" / "full" / "folds" / "1" / "metrics.json").read_text()
    )["epochs"]
    assert 1 <= len(epochs) < 500


def test_closing_the_window_stops_a_comparison(qtbot, window, data) -> None:
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(500)
    dialog = open_dialog(qtbot, window, strategies=("full",))
    click(qtbot, child(dialog, QPushButton, "compareRunButton"))
    qtbot.waitSignal(dialog.controller.epochEnded, timeout=TIMEOUT).wait()
    window.close()  # the dangling-thread check fails the test if the thread outlives this
    assert not dialog.is_running()
