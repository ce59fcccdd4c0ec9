"""Train with cross-validation folds in the window: the Training tab names the fold that
trains, lists each finished fold and ends with the mean ± std (issue 13, point 3)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSpinBox, QTableWidget
from window_helpers import child, make_tiny_window, scan

from tests.imagefolders import write_class_folders

TIMEOUT = 60_000


def test_a_folds_run_shows_each_fold_and_the_mean(qtbot, settings_dir, tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"round": 6, "square": 6}, size=16)
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.show()
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(1)
    folds = window.advanced_panel.controls["folds"]
    assert isinstance(folds, QSpinBox)
    assert folds.text() == "off"  # no cross-validation unless asked
    folds.setValue(3)
    labels: list[str] = []
    label = child(window, QLabel, "foldLabel")
    window.controller.fitStarted.connect(lambda _e: labels.append(label.text()))
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT) as ended:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] is not None and not ended.args[0].stopped
    assert labels == [f"Cross-validation: fold {i} of 3 is training" for i in (1, 2, 3)]
    table = child(window, QTableWidget, "foldTable")
    assert table.isVisible() and table.rowCount() == 3
    metrics = json.loads((Path(ended.args[0].run_dir) / "metrics.json").read_text())
    shown = [table.item(row, 1).text() for row in range(3)]
    assert shown == [f"{f['accuracy']:.1%}" for f in metrics["folds"]]
    cv = metrics["cross_validation"]
    assert f"accuracy {cv['accuracy_mean']:.1%} ± {cv['accuracy_std']:.1%}" in label.text()
    progress = window.training_view.progress
    assert progress.isVisible() and progress.format() == "Finished"  # no result card for folds
    # An ordinary run afterwards hides the fold view again.
    folds.setValue(folds.minimum())
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert not table.isVisible()
    window.close()
