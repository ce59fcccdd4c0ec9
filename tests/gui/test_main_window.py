"""The real window, offscreen: folders, freeze tree, training, stop, errors, export, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from window_helpers import SCAN_TIMEOUT, choose_data, drop_on, make_window, type_folder

from tlstudio.gui import MainWindow
from tlstudio.models import HEAD_STAGE
from tlstudio.recipe import Recipe

TRAIN_TIMEOUT = 120_000














def quick_settings(window: MainWindow, epochs: int = 1) -> None:
    window.findChild(type(window.settings_panel.epochs), "epochs").setValue(epochs)
    window.settings_panel.batch_size.setValue(8)
    window.settings_panel.image_size.setValue(16)


def test_typed_folder_shows_class_counts(qtbot, window: MainWindow, digits: Path) -> None:
    choose_data(qtbot, window, digits)
    counts = window.dataset_view.chart.counts
    assert list(counts) == [str(d) for d in range(10)]
    assert sum(counts.values()) == len(window.data_panel.data.train)
    assert window.dataset_view.currentIndex() == 1
    qtbot.waitUntil(lambda: window.dataset_view.thumbnails.thumbnail_count > 0,
                    timeout=SCAN_TIMEOUT)
    assert window.start_button.isEnabled()


def test_freeze_tree_sets_trainable_count_and_recipe(qtbot, window: MainWindow) -> None:
    panel = window.freeze_panel
    tree = window.findChild(type(panel.tree), "freezeTree")
    before = panel.count_label.text()
    assert panel.train_stages() == (HEAD_STAGE,)
    first = tree.topLevelItem(0)
    first.setCheckState(0, Qt.CheckState.Checked)
    assert panel.count_label.text() != before
    window.data_panel.train_folder.edit.setText("/nowhere")
    recipe = window.recipe(out_dir="unused")
    assert recipe.train_stages == (panel.stage_names()[0], HEAD_STAGE)
    qtbot.mouseClick(panel.preset_buttons["Everything"], Qt.MouseButton.LeftButton)
    trainable, total = panel.parameter_counts()
    assert trainable == total
    assert f"{total:,} of {total:,}" in panel.count_label.text()
    assert window.recipe(out_dir="unused").train_stages == tuple(panel.stage_names())


def test_train_tiny_run_to_the_end(qtbot, window: MainWindow, digits: Path) -> None:
    choose_data(qtbot, window, digits)
    quick_settings(window, epochs=2)
    with qtbot.waitSignal(window.trainingFinished, timeout=TRAIN_TIMEOUT) as finished:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    run_dir = Path(finished.args[0])
    assert (run_dir / "model.safetensors").is_file()
    assert Recipe.load(run_dir / "recipe.json").train_stages == (HEAD_STAGE,)
    assert window.training_view.progress.value() == window.training_view.progress.maximum()
    assert window.start_button.isEnabled()
    assert window.training_view.export_button.isEnabled()
    log = window.training_view.log_pane.toPlainText()
    assert log.count("Validation accuracy per class: ") == 2  # one line per epoch


def test_stop_midway(qtbot, window: MainWindow, digits: Path) -> None:
    choose_data(qtbot, window, digits)
    quick_settings(window, epochs=500)
    finished_normally: list[str] = []
    window.trainingFinished.connect(finished_normally.append)
    with qtbot.waitSignal(window.controller.epochEnded, timeout=TRAIN_TIMEOUT):
        window.start_button.click()
    assert window.pause_button.isEnabled() and not window.start_button.isEnabled()
    with qtbot.waitSignal(window.controller.finished, timeout=TRAIN_TIMEOUT) as done:
        window.stop_button.click()
    assert done.args[0].stopped
    assert not finished_normally
    assert window.start_button.isEnabled()


def test_pause_button_says_what_the_controller_is_doing(qtbot, window: MainWindow,
                                                         digits: Path) -> None:
    choose_data(qtbot, window, digits)
    quick_settings(window, epochs=500)
    with qtbot.waitSignal(window.controller.epochEnded, timeout=TRAIN_TIMEOUT):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert window.controller.is_paused() and window.pause_button.text() == "Resume"
    window.controller.resume()  # resumed elsewhere than the button: the button follows
    assert not window.controller.is_paused() and window.pause_button.text() == "Pause"
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert window.controller.is_paused()
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert not window.controller.is_paused() and window.pause_button.text() == "Pause"
    log = window.training_view.log_pane.toPlainText()
    assert log.count("Paused") == 2 and log.count("Resumed") == 2
    window.controller.pause()
    with qtbot.waitSignal(window.controller.finished, timeout=TRAIN_TIMEOUT) as done:
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)  # a paused run stops
    assert done.args[0].stopped
    assert window.pause_button.text() == "Pause" and not window.pause_button.isEnabled()


def test_broken_folder_shows_error_then_trains(qtbot, window: MainWindow, digits: Path,
                                               tmp_path: Path) -> None:
    broken = tmp_path / "one_class"
    (broken / "only").mkdir(parents=True)
    with qtbot.waitSignal(window.data_panel.scanFailed, timeout=SCAN_TIMEOUT):
        type_folder(qtbot, window, "trainFolderEdit", broken)
    assert window.banner.isVisibleTo(window)
    assert window.banner.kind == "error"
    assert "at least two class subfolders" in window.banner.label.text()
    assert not window.start_button.isEnabled()

    choose_data(qtbot, window, digits)
    assert window.banner.kind == ""
    quick_settings(window)
    with qtbot.waitSignal(window.trainingFinished, timeout=TRAIN_TIMEOUT):
        window.start_button.click()


def test_worker_failure_is_shown_and_app_trains_again(qtbot, window: MainWindow,
                                                      digits: Path) -> None:
    choose_data(qtbot, window, digits)
    quick_settings(window)
    # A validation folder whose classes are not the training classes fails inside the run.
    bad_val = digits / "bad_val"
    (bad_val / "cats").mkdir(parents=True)
    window.data_panel.folder_radio.setChecked(True)
    window.data_panel.val_folder.edit.setText(str(bad_val))
    with qtbot.waitSignal(window.controller.failed, timeout=TRAIN_TIMEOUT):
        window.start_button.click()
    qtbot.waitUntil(lambda: not window.controller.is_running(), timeout=TRAIN_TIMEOUT)
    assert window.banner.kind == "error"
    window.data_panel.split_radio.setChecked(True)
    qtbot.waitUntil(lambda: window.data_panel.data is not None, timeout=SCAN_TIMEOUT)
    with qtbot.waitSignal(window.trainingFinished, timeout=TRAIN_TIMEOUT):
        window.start_button.click()


def test_export_to_onnx(qtbot, window: MainWindow, digits: Path, tmp_path: Path) -> None:
    choose_data(qtbot, window, digits)
    quick_settings(window)
    with qtbot.waitSignal(window.trainingFinished, timeout=TRAIN_TIMEOUT):
        window.start_button.click()
    out = tmp_path / "exported" / "model.onnx"
    with qtbot.waitSignal(window.exporter.exported, timeout=TRAIN_TIMEOUT) as exported:
        assert window.export_model(str(out))
    result = exported.args[0]
    assert out.is_file() and result.checked
    assert window.banner.kind == "info" and "check passed" in window.banner.label.text()


def test_settings_persist_across_windows(qtbot, settings_dir: Path, digits: Path,
                                         tmp_path: Path) -> None:
    first = make_window(qtbot, tmp_path / "runs")
    first.backbone_panel.set_backbone("tiny_cnn")
    choose_data(qtbot, first, digits)
    first.settings_panel.epochs.setValue(7)
    first.settings_panel.lr.setValue(0.0005)
    first.freeze_panel.apply_preset("Last stage")
    stages = first.freeze_panel.train_stages()
    first.close()

    second = make_window(qtbot, tmp_path / "ignored")
    qtbot.waitUntil(lambda: second.data_panel.data is not None, timeout=SCAN_TIMEOUT)
    assert second.data_panel.train_dir() == str(digits / "train")
    assert second.backbone_panel.backbone() == "tiny_cnn"
    assert second.settings_panel.epochs.value() == 7
    assert second.settings_panel.lr.value() == pytest.approx(0.0005)
    assert second.freeze_panel.train_stages() == stages
    second.close()


def test_recipe_round_trip(qtbot, window: MainWindow, digits: Path, tmp_path: Path) -> None:
    choose_data(qtbot, window, digits)
    window.settings_panel.epochs.setValue(3)
    window.freeze_panel.apply_preset("Last two")
    path = tmp_path / "recipe.json"
    assert window.save_recipe(str(path))
    saved = Recipe.load(path)
    assert saved.train_stages == window.freeze_panel.train_stages()

    window.settings_panel.epochs.setValue(9)
    window.freeze_panel.apply_preset("Head only")
    assert window.open_recipe(str(path))
    again = window.recipe(out_dir=saved.out_dir)
    assert again == saved


def test_dropping_a_folder_on_the_window_chooses_it(qtbot, window: MainWindow, digits: Path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(digits / "train"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        window.dropEvent(event)
    assert event.isAccepted()
    assert window.findChild(type(window.data_panel.train_folder.edit),
                            "trainFolderEdit").text() == str(digits / "train")
    assert window.dataset_view.chart.counts == {str(d): 6 for d in range(10)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch tiny_cnn run with discriminative rates and a head-only first epoch."""
    from imagefolders import write_class_folders

    from tlstudio.training import fit

    base = tmp_path_factory.mktemp("window-run")
    data = write_class_folders(base / "data", {"red": 6, "green": 6, "blue": 6})
    out = base / "run"
    fit(Recipe(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
               image_size=16, batch_size=8, freeze="none", val_split=0.25, head_epochs=1,
               lr_decay=0.5))
    return out




def test_image_files_dropped_anywhere_open_try_images(qtbot, window: MainWindow, tiny_run: Path,
                                                      digits: Path) -> None:
    window.try_images.set_run(str(tiny_run))
    assert window.tabs.currentWidget() is window.dataset_view
    images = sorted((digits / "val" / "3").iterdir())[:2]
    with qtbot.waitSignal(window.try_images.predicted, timeout=SCAN_TIMEOUT):
        drop_on(window, images)
    assert window.tabs.currentWidget() is window.try_images
    assert sorted(r.path for r in window.try_images.records()) == sorted(map(str, images))
    assert window.data_panel.train_dir() != str(digits / "val" / "3")  # not training data


def test_a_folder_dropped_while_try_images_shows_is_predicted(qtbot, window: MainWindow,
                                                              tiny_run: Path, digits: Path):
    window.try_images.set_run(str(tiny_run))
    window.tabs.setCurrentWidget(window.try_images)
    folder = digits / "val" / "5"
    with qtbot.waitSignal(window.try_images.predicted, timeout=SCAN_TIMEOUT):
        drop_on(window, [folder])
    assert window.tabs.currentWidget() is window.try_images
    assert len(window.try_images.records()) == len(list(folder.iterdir()))
    assert window.data_panel.data is None and window.data_panel.train_dir() != str(folder)


def test_resume_shows_the_resumed_recipe_in_the_sidebar(qtbot, window: MainWindow,
                                                       tiny_run: Path, tmp_path: Path) -> None:
    import shutil

    run = Path(shutil.copytree(tiny_run, tmp_path / "resumed"))
    saved = Recipe.load(run / "recipe.json")
    assert window.settings_panel.epochs.value() != 4 and window.freeze_panel.phase_label.isHidden()
    axis = window.training_view.plots.lr_plot.getPlotItem().getAxis("left")
    with qtbot.waitSignal(window.trainingFinished, timeout=TRAIN_TIMEOUT):
        assert window.resume_run(str(run), epochs=4)
        # While it trains, the sidebar says what trains: the run's recipe, to 4 epochs.
        assert window.settings_panel.epochs.value() == 4
        shown = window.recipe(out_dir=str(run))
        fields = ("backbone", "data_dir", "val_split", "image_size", "batch_size", "lr",
                  "head_epochs", "lr_decay")
        assert [getattr(shown, f) for f in fields] == [getattr(saved, f) for f in fields]
        assert shown.epochs == 4
        assert not window.freeze_panel.phase_label.isHidden()  # head epoch, then lr decay
        assert axis.labelText == "classifier lr"
    window.settings_panel.epochs.setValue(1)
    window.advanced_panel.set_from_recipe(saved.replace(lr_decay=1.0, head_epochs=0))
    qtbot.waitUntil(lambda: window.data_panel.data is not None
                    and not window.data_panel.is_scanning(), timeout=SCAN_TIMEOUT)
    with qtbot.waitSignal(window.trainingFinished, timeout=TRAIN_TIMEOUT):
        assert window.start_training(), window.banner.label.text()
    assert axis.labelText == "learning rate"  # one rate for every stage: no "head"
