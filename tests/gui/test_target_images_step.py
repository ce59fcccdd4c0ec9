"""Step 1's target images: found behind one toggle, labelled and explained from the Recipe's
Settings, they reach the run's recipe; with labelled target images the accuracy curves and the
log show the target accuracy beside the validation accuracy."""

from __future__ import annotations

import json
from pathlib import Path

from imagefolders import strongly_shifted, write_class_folders
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QToolButton, QWidget
from window_helpers import child, make_tiny_window, scan, type_folder

from tlstudio.gui.sidebar.setting_controls import SETTINGS
from tlstudio.gui.training.plots import TARGET_ACCURACY

CLASSES = {"red": 6, "green": 6, "blue": 6}


def legend_names(plot) -> list[str]:
    return [label.text for _, label in plot.getPlotItem().legend.items]


def test_target_images_train_and_their_accuracy_is_plotted(
    qtbot, settings_dir, tmp_path: Path
) -> None:
    data = write_class_folders(tmp_path / "data", CLASSES)
    night = strongly_shifted(data, tmp_path / "night")
    labelled = tmp_path / "night_val"
    for name in CLASSES:
        strongly_shifted(data / name, labelled / name)
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.settings_panel.epochs.setValue(2)
    window.show()
    scan(qtbot, window, data)

    target_edit = child(window, QLineEdit, "targetFolderEdit")
    assert not target_edit.isVisible()  # out of a beginner's way until asked for
    qtbot.mouseClick(child(window, QToolButton, "targetToggle"), Qt.MouseButton.LeftButton)
    assert target_edit.isVisible()
    step = child(window, QWidget, "targetPanel")
    labels = {label.text(): label.toolTip() for label in step.findChildren(QLabel)}
    assert labels["Target images (unlabelled)"].startswith("Images from where the model")
    assert target_edit.toolTip() == labels["Target images (unlabelled)"]
    assert SETTINGS["target_val_dir"].label in labels and SETTINGS["adapt"].label in labels

    type_folder(qtbot, window, "targetFolderEdit", night)
    type_folder(qtbot, window, "targetValFolderEdit", labelled)
    adapt = child(window, QComboBox, "adapt")
    adapt.setCurrentIndex(adapt.findData("entropy"))
    with qtbot.waitSignal(window.trainingFinished, timeout=120_000) as finished:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)

    run = Path(finished.args[0])
    recipe = json.loads((run / "recipe.json").read_text())
    assert (recipe["target_dir"], recipe["target_val_dir"], recipe["adapt"]) == (
        str(night),
        str(labelled),
        "entropy",
    )
    epochs = json.loads((run / "metrics.json").read_text())["epochs"]
    plots = window.training_view.plots
    # The plots redraw on a timer, so the curve may still be empty (None) when training ends.
    def drawn_points() -> int:
        x = plots.target_accuracy.curve.getData()[0]
        return 0 if x is None else len(x)

    qtbot.waitUntil(lambda: drawn_points() == 2)
    curve_x, curve_y = plots.target_accuracy.curve.getData()
    assert list(curve_x) == [1, 2]
    assert list(curve_y) == [100 * e["target_accuracy"] for e in epochs]
    assert TARGET_ACCURACY in legend_names(plots.accuracy_plot)
    log = window.training_view.log_pane.toPlainText()
    assert f"target accuracy {epochs[-1]['target_accuracy']:.1%}" in log
    # The Domain shift tab offers the run's target images to measure.
    assert child(window, QLineEdit, "shiftTargetEdit").text() == str(night)
    window.close()


def test_a_run_without_target_images_has_no_target_curve(
    qtbot, settings_dir, tmp_path: Path
) -> None:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.settings_panel.epochs.setValue(1)
    window.show()
    scan(qtbot, window, write_class_folders(tmp_path / "data", CLASSES))
    with qtbot.waitSignal(window.trainingFinished, timeout=120_000):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    plots = window.training_view.plots
    assert plots.val_accuracy.n == 1 and plots.target_accuracy.n == 0
    assert TARGET_ACCURACY not in legend_names(plots.accuracy_plot)
    window.close()


def test_target_folders_come_back_with_the_window_and_with_a_recipe(qtbot, settings_dir,
                                                                    tmp_path: Path) -> None:
    night, labelled = tmp_path / "night", tmp_path / "night_val"
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.show()
    qtbot.mouseClick(child(window, QToolButton, "targetToggle"), Qt.MouseButton.LeftButton)
    type_folder(qtbot, window, "targetFolderEdit", night)
    type_folder(qtbot, window, "targetValFolderEdit", labelled)
    adapt = child(window, QComboBox, "adapt")
    adapt.setCurrentIndex(adapt.findData("auto"))
    window.close()  # saves the settings

    again = make_tiny_window(qtbot, tmp_path / "runs")
    assert child(again, QToolButton, "targetToggle").isChecked()  # what is set is in view
    assert child(again, QLineEdit, "targetFolderEdit").text() == str(night)
    assert child(again, QLineEdit, "targetValFolderEdit").text() == str(labelled)
    assert child(again, QComboBox, "adapt").currentData() == "auto"
    recipe = tmp_path / "recipe.json"
    again.recipe(str(tmp_path / "run")).replace(target_dir=str(tmp_path / "other"),
                                                adapt="coral").save(recipe)
    assert again.open_recipe(str(recipe))
    assert child(again, QLineEdit, "targetFolderEdit").text() == str(tmp_path / "other")
    assert child(again, QComboBox, "adapt").currentData() == "coral"
    again.close()
