"""The Advanced section of the real window: defaults, recipe round trip, augmentation preview,
LR finder, resume, and the precision in use."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QToolButton
from window_helpers import child, make_tiny_window, scan

from tests.imagefolders import write_class_folders
from tlstudio.gui import MainWindow
from tlstudio.gui.sidebar import augment_preview
from tlstudio.gui.sidebar.advanced_panel import AdvancedPanel, recipe_default
from tlstudio.gui.training import resume
from tlstudio.models import HEAD_STAGE
from tlstudio.recipe import Recipe
from tlstudio.training import EpochEnded, RunControl, fit

TIMEOUT = 60_000




@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "data", {"red": 8, "green": 8, "blue": 3})


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    yield window
    window.close()






def test_defaults_equal_recipe_defaults(qtbot) -> None:
    panel = AdvancedPanel()
    qtbot.addWidget(panel)
    values = panel.values()
    for name in ("augment", "optimizer", "weight_decay", "label_smoothing", "schedule",
                 "warmup_epochs", "monitor", "keep_best", "early_stopping_patience",
                 "reduce_lr_patience", "reduce_lr_factor"):
        assert values[name] == recipe_default(name), name
    assert set(values) <= {f for f in Recipe.__dataclass_fields__}
    for name, value in values.items():
        assert value == recipe_default(name), name
    assert panel.cache_note.isHidden()


def test_section_closed_by_default_and_opens(qtbot, window: MainWindow) -> None:
    window.show()
    child(window, QCheckBox, "showAllSettings").click()  # simple first (issue 12)
    section = child(window, type(window.advanced_section), "advancedSection")
    preset = child(window, QComboBox, "augment")
    assert not preset.isVisible()
    child(window, QToolButton, "advancedToggle").click()
    assert preset.isVisible()
    assert section.is_open()
    preset.setCurrentIndex(preset.findData("strong"))
    assert window.advanced_panel.cache_note.isVisible()
    assert "Feature cache off" in window.advanced_panel.cache_note.text()
    preset.setCurrentIndex(preset.findData("none"))
    assert not window.advanced_panel.cache_note.isVisible()
    child(window, QDoubleSpinBox, "mixup_alpha").setValue(0.2)  # mixing also changes images
    assert window.advanced_panel.cache_note.isVisible()


def set_every_control(window: MainWindow) -> None:
    """Give each Advanced control a value other than its default."""
    panel = window.advanced_panel
    child(window, QComboBox, "augment").setCurrentIndex(2)  # strong
    child(window, QComboBox, "optimizer").setCurrentIndex(2)  # sgd
    child(window, QDoubleSpinBox, "weight_decay").setValue(0.05)
    child(window, QDoubleSpinBox, "label_smoothing").setValue(0.1)
    child(window, QComboBox, "schedule").setCurrentIndex(2)  # onecycle
    child(window, QDoubleSpinBox, "warmup_epochs").setValue(1.5)
    child(window, QComboBox, "monitor").setCurrentIndex(1)  # val_accuracy
    child(window, QCheckBox, "keep_best").setChecked(False)
    child(window, QSpinBox, "early_stopping_patience").setValue(3)
    child(window, QSpinBox, "reduce_lr_patience").setValue(2)
    child(window, QDoubleSpinBox, "reduce_lr_factor").setValue(0.5)
    panel.augment_controls["rotation"].setValue(30.0)
    panel.augment_controls["vflip"].setChecked(True)
    child(window, QDoubleSpinBox, "mixup_alpha").setValue(0.4)
    child(window, QDoubleSpinBox, "cutmix_alpha").setValue(1.0)
    child(window, QComboBox, "balance").setCurrentIndex(2)
    child(window, QSpinBox, "head_epochs").setValue(2)
    child(window, QDoubleSpinBox, "lr_decay").setValue(0.5)
    child(window, QComboBox, "precision").setCurrentIndex(1)
    child(window, QComboBox, "channels_last").setCurrentIndex(2)
    child(window, QCheckBox, "tensorboard").setChecked(True)
    child(window, QDoubleSpinBox, "unknown_below").setValue(0.6)
    child(window, QSpinBox, "folds").setValue(3)


def test_recipe_round_trip_through_the_window(qtbot, window: MainWindow, data: Path,
                                              tmp_path: Path) -> None:
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(4)
    set_every_control(window)
    saved = window.recipe(out_dir=str(tmp_path / "runs" / "a"))
    for name, value in window.advanced_panel.control_values().items():
        if name != "augment_options":
            assert value != recipe_default(name), name
    path = tmp_path / "recipe.json"
    assert window.save_recipe(str(path))

    window.advanced_panel.set_from_recipe(Recipe(data_dir="."))  # back to the defaults
    assert window.recipe(out_dir=saved.out_dir) != saved
    assert window.open_recipe(str(path))
    assert window.recipe(out_dir=saved.out_dir) == saved


def test_open_then_save_keeps_fields_the_window_has_no_control_for(
        qtbot, window: MainWindow, data: Path, tmp_path: Path) -> None:
    original = Recipe(data_dir=str(data), out_dir=str(tmp_path / "runs" / "r"),
                      backbone="tiny_cnn", image_size=16, batch_size=8,
                      train_stages=window.freeze_panel.train_stages(), feature_cache=False,
                      num_workers=2, unfreeze=("*.bn*",), weights=str(tmp_path / "w.pt"),
                      threads=1)
    original.save(tmp_path / "in.json")
    with qtbot.waitSignal(window.data_panel.scanned, timeout=TIMEOUT):
        assert window.open_recipe(str(tmp_path / "in.json"))
    assert window.save_recipe(str(tmp_path / "out.json"))
    saved = Recipe.load(tmp_path / "out.json")
    assert saved.replace(out_dir=original.out_dir) == original
    window.backbone_panel.set_backbone("tf_efficientnet_lite0")
    assert window.recipe().weights is None  # the weights file was tiny_cnn's


def test_settings_restore_advanced_values(qtbot, settings_dir: Path, tmp_path: Path) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    set_every_control(first)
    expected = first.advanced_panel.values()
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.advanced_panel.values() == expected
    second.close()


def test_preview_grid_fills_asynchronously_and_follows_controls(
        qtbot, window: MainWindow, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preview = window.advanced_panel.preview
    child(window, QToolButton, "advancedToggle").click()
    with qtbot.waitSignal(preview.previewReady, timeout=TIMEOUT) as ready:
        scan(qtbot, window, data)
    assert ready.args == [8]
    assert preview.filled_tiles() == 8
    assert "000.png" in preview.caption.text()

    with qtbot.waitSignal(preview.previewReady, timeout=TIMEOUT):
        preset = child(window, QComboBox, "augment")
        preset.setCurrentIndex(preset.findData("strong"))
    assert "strong" in preview.caption.text()
    before = [t.pixmap().toImage() for t in preview.tiles]
    with qtbot.waitSignal(preview.previewReady, timeout=TIMEOUT):
        child(window, type(preview.shuffle_button), "shuffleButton").click()
    after = [t.pixmap().toImage() for t in preview.tiles]
    assert before != after

    other = data / "blue" / "001.png"
    monkeypatch.setattr(augment_preview.QFileDialog, "getOpenFileName",
                        lambda *a: (str(other), ""))
    with qtbot.waitSignal(preview.previewReady, timeout=TIMEOUT):
        child(window, type(preview.pick_button), "pickPreviewImageButton").click()
    assert "001.png" in preview.caption.text()


def stop_after_first_epoch(recipe: Recipe) -> None:
    control = RunControl()

    def on_event(event: object) -> None:
        if isinstance(event, EpochEnded):
            control.stop()

    result = fit(recipe, callbacks=[on_event], control=control)
    assert result.stopped


def test_resume_continues_a_stopped_run(qtbot, window: MainWindow, data: Path,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "stopped"
    stop_after_first_epoch(Recipe(data_dir=str(data), out_dir=str(run), backbone="tiny_cnn",
                                  epochs=3, image_size=16, batch_size=8, freeze="none"))
    asked: list[str] = []

    def get_int(_parent, _title, text, value, *_args):
        asked.append(text)
        return value, True

    monkeypatch.setattr(resume.QFileDialog, "getExistingDirectory", lambda *a: str(run))
    monkeypatch.setattr(resume.QInputDialog, "getInt", get_int)
    epochs: list[int] = []
    window.controller.epochEnded.connect(lambda e: epochs.append(e.epoch))
    menu = window.menuBar().actions()[0].menu()
    assert window.resume_action in menu.actions()
    with qtbot.waitSignal(window.trainingFinished, timeout=TIMEOUT) as finished:
        window.resume_action.trigger()
    assert "finished 1 of 3 epoch(s)" in asked[0]
    assert finished.args == [str(run)]
    assert epochs[-1] == 3
    assert 1 not in epochs  # the first epoch came from the checkpoint
    # ...and the curves still start at epoch 1, not at the resumed epoch.
    val_loss = window.training_view.plots.val_loss
    assert list(val_loss.x[: val_loss.n]) == [1, 2, 3]

    with qtbot.waitSignal(window.trainingFinished, timeout=TIMEOUT):
        assert window.resume_run(str(run), epochs=4)  # extend the finished run
    assert epochs[-1] == 4


def test_resume_of_a_folder_without_checkpoint_says_why(qtbot, window: MainWindow,
                                                        tmp_path: Path) -> None:
    assert not window.resume_run(str(tmp_path))
    assert "not a tlstudio run" in window.banner.label.text()
    assert not window.controller.is_running()


def test_augment_controls_follow_the_preset_and_override_it(qtbot, window: MainWindow,
                                                            data: Path) -> None:
    panel, preview = window.advanced_panel, window.advanced_panel.preview
    preset = child(window, QComboBox, "augment")
    rotation = child(window, QDoubleSpinBox, "augRotation")
    preset.setCurrentIndex(preset.findData("strong"))
    assert rotation.value() == 15.0
    assert panel.values()["augment_options"] == {}
    preset.setCurrentIndex(preset.findData("light"))
    assert rotation.value() == 0.0
    with qtbot.waitSignal(preview.previewReady, timeout=TIMEOUT):
        scan(qtbot, window, data)
    with qtbot.waitSignal(preview.previewReady, timeout=TIMEOUT):  # debounced refresh
        rotation.setValue(20.0)
        child(window, QCheckBox, "augVflip").setChecked(True)
    assert panel.values()["augment_options"] == {"rotation": 20.0, "vflip": True}
    recipe = window.recipe()
    assert (recipe.augment, recipe.augment_options) == ("light", {"rotation": 20.0,
                                                                  "vflip": True})
    child(window, QDoubleSpinBox, "mixup_alpha").setValue(0.2)
    assert window.recipe().mixup_alpha == 0.2


def test_class_imbalance_is_shown_with_the_balance_mode(qtbot, window: MainWindow,
                                                        tmp_path: Path) -> None:
    skewed = write_class_folders(tmp_path / "skewed", {"many": 12, "few": 2})
    scan(qtbot, window, skewed)
    label = window.advanced_panel.imbalance_label
    assert "imbalanced" in label.text()
    assert "'many' has 12" in label.text()
    assert "consider a weighted sampler or a class-weighted loss" in label.text()
    assert "--balance" not in label.text()  # the window words the remedy as its own control
    balance = child(window, QComboBox, "balance")
    balance.setCurrentIndex(balance.findData("sampler"))
    assert "weighted sampler" in label.text()
    assert window.recipe().balance == "sampler"



def test_lr_finder_plots_and_use_suggested_sets_the_lr(qtbot, window: MainWindow,
                                                       data: Path) -> None:
    scan(qtbot, window, data)
    finder = window.lr_finder
    lr_spin = child(window, QDoubleSpinBox, "lr")
    with qtbot.waitSignal(finder.finished, timeout=TIMEOUT) as done:
        assert finder.start(steps=40)
        assert not finder.find_button.isEnabled() and finder.stop_button.isEnabled()
    result = done.args[0]
    assert result is not None and result.suggested_lr
    xs, ys = finder.curve.getData()
    assert len(xs) >= 10 and len(xs) == len(ys)
    assert finder.marker.isVisible()
    assert "Suggested learning rate" in finder.status.text()
    assert not (Path(window.settings_panel.runs_dir.text())).exists()  # nothing written
    child(window, type(finder.use_button), "useSuggestedLrButton").click()
    expected = min(result.suggested_lr, lr_spin.maximum())  # tiny data suggests huge lrs
    assert lr_spin.value() == pytest.approx(expected, abs=1e-6)
    assert f"set to {lr_spin.value():g}" in finder.status.text()
    assert window.recipe().lr == lr_spin.value()


def test_lr_finder_stops_on_request(qtbot, window: MainWindow, data: Path) -> None:
    scan(qtbot, window, data)
    finder = window.lr_finder
    with qtbot.waitSignal(finder.finished, timeout=TIMEOUT):
        finder.start(steps=100_000)
        qtbot.waitUntil(lambda: "of 100000" in finder.status.text(), timeout=TIMEOUT)
        finder.stop_button.click()
    assert not finder.is_running()
    assert finder.find_button.isEnabled()


def test_freeze_tree_shows_both_phases(qtbot, window: MainWindow) -> None:
    window.settings_panel.epochs.setValue(5)
    window.settings_panel.lr.setValue(0.01)
    window.freeze_panel.apply_preset("Last stage")
    label, tree = window.freeze_panel.phase_label, window.freeze_panel.tree
    assert label.isHidden() and tree.columnCount() == 2
    child(window, QSpinBox, "head_epochs").setValue(2)
    child(window, QDoubleSpinBox, "lr_decay").setValue(0.5)
    assert not label.isHidden()
    assert "Phase 1, epochs 1-2: only the new classifier trains" in label.text()
    assert "Phase 2, epochs 3-5" in label.text()
    assert tree.columnCount() == 3
    stages = window.freeze_panel.stage_names()
    column = [tree.topLevelItem(i).text(2) for i in range(tree.topLevelItemCount())]
    assert stages[-1] == HEAD_STAGE and column[-1] == "0.01"
    assert column[-2] == "0.005"  # the last backbone stage: lr x decay
    assert column[0] == "frozen"
    child(window, QSpinBox, "head_epochs").setValue(0)
    assert label.isHidden() and tree.columnCount() == 2


def test_precision_in_use_is_shown(qtbot, window: MainWindow, data: Path) -> None:
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(1)
    child(window, QComboBox, "precision").setCurrentIndex(1)  # fp32
    # One wait for both: a one-epoch run's `finished` can be queued before the GUI thread
    # wakes for `fitStarted`, and is then delivered in the same pass, before a second wait.
    started = []
    window.controller.fitStarted.connect(started.append)
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT):
        assert window.start_training()
    precision = started[0].precision
    assert "fp32" in precision
    assert window.advanced_panel.precision_in_use.text() == f"In use: {precision}"
    # The device panel says it too, beside the device choice.
    assert window.settings_panel.device_in_use.text() == f"In use: cpu, {precision}"
    assert f"({precision})" in window.training_view.log_pane.toPlainText()


def test_closing_the_window_stops_the_lr_finder(qtbot, window: MainWindow, data: Path) -> None:
    scan(qtbot, window, data)
    finder = window.lr_finder
    finder.start(steps=100_000)
    qtbot.waitUntil(lambda: "of 100000" in finder.status.text(), timeout=TIMEOUT)
    assert not window.start_training()  # one job at a time on the CPU
    assert "LR finder is still running" in window.banner.label.text()
    window.close()  # stops the finder and waits for it
    assert QThreadPool.globalInstance().activeThreadCount() == 0
