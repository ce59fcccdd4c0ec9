"""A beginner's path through the real window: every action is a click on the button or menu
item a user would use (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QFileDialog,
    QFrame,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QScrollArea,
    QSlider,
    QTabBar,
    QWidget,
)
from window_helpers import child, click_check_box, contrast, make_tiny_window, scan

import tlstudio
from tests.imagefolders import train_tiny_run, write_class_folders
from tlstudio.evaluation import epoch_evaluation
from tlstudio.gui import MainWindow
from tlstudio.gui.shared.palette_colours import summary_background

TIMEOUT = 60_000




@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "data", {"red": 8, "green": 8, "blue": 4})


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    yield window
    window.close()






def test_find_learning_rate_works_from_its_button(qtbot, window: MainWindow, data: Path) -> None:
    scan(qtbot, window, data)
    button = child(window, QPushButton, "lrFinderButton")
    with qtbot.waitSignal(window.lr_finder.finished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert done.args[0] is not None, window.lr_finder.status.text()
    assert "at least" not in window.lr_finder.status.text()
    xs, _ = window.lr_finder.curve.getData()
    assert len(xs) >= 10


def click_menu_item(qtbot, menu, text: str) -> None:
    """Open `menu` and click the item called `text`, as a user would."""
    menu.popup(menu.parentWidget().mapToGlobal(menu.parentWidget().rect().center()))
    qtbot.waitUntil(menu.isVisible)
    act = next(a for a in menu.actions() if a.text().replace("&", "") == text)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())


def answer_next_dialog(qtbot, button_name: str, says: str = "") -> None:
    """Click `button_name` in the next modal dialog, once it is open (it must say `says`)."""
    def click() -> None:
        dialog = QApplication.activeModalWidget()
        text = dialog.text()
        dialog.findChild(QPushButton, button_name).click()  # first: a failure must not hang
        assert says in text

    QTimer.singleShot(0, lambda: qtbot.waitUntil(
        lambda: QApplication.activeModalWidget() is not None, timeout=TIMEOUT) or click())


def test_help_menu_pages(qtbot, window: MainWindow) -> None:
    window.show()
    menu = child(window, QMenu, "helpMenu")
    click_menu_item(qtbot, menu, "Getting started")
    page = child(window, QDialog, "gettingStarted")
    qtbot.waitUntil(page.isVisible)
    assert "Ctrl+Enter" in page.text.text() and "Show all settings" in page.text.text()
    click_menu_item(qtbot, menu, "Keyboard shortcuts")
    shortcuts = child(window, QDialog, "shortcutsPage").text.text()
    for keys in ("Ctrl+O", "Ctrl+Enter", "Esc", "Ctrl+S"):
        assert keys in shortcuts
    click_menu_item(qtbot, menu, "About tlstudio")
    about = child(window, QDialog, "aboutPage").text.text()
    assert tlstudio.__version__ in about and "torch" in about and "MIT" in about


def test_shortcuts_train_stop_save(qtbot, window: MainWindow, data: Path,
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window.show()
    qtbot.waitExposed(window)
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(200)
    with qtbot.waitSignal(window.controller.fitStarted, timeout=TIMEOUT):
        qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT) as ended:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert ended.args[0].stopped
    target = tmp_path / "saved.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert target.exists()
    chosen = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *a, **k: chosen.append(a) or "")
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert chosen, "Ctrl+O opens the folder dialog"


def test_closing_during_training_asks_and_can_keep_training(qtbot, window: MainWindow,
                                                            data: Path) -> None:
    window.show()
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(200)
    with qtbot.waitSignal(window.controller.fitStarted, timeout=TIMEOUT):
        window.start_button.click()
    answer_next_dialog(qtbot, "keepTrainingButton", says="Resume run")
    window.close()
    assert window.isVisible() and window.controller.is_running()
    answer_next_dialog(qtbot, "stopAndQuitButton")
    window.close()
    assert not window.isVisible() and not window.controller.is_running()



def test_moving_images_presets_nothing_and_number_keys_move(qtbot, window: MainWindow,
                                                           tmp_path: Path) -> None:
    run, _ = train_tiny_run(tmp_path, {"red": 6, "green": 6, "blue": 6})
    window.show()
    qtbot.waitExposed(window)
    gallery = window.gallery
    gallery.set_evaluation(run, epoch_evaluation(run))
    window.tabs.setCurrentWidget(gallery)
    detail, view = gallery.detail, gallery.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(gallery.model.index(0)).center())
    first = detail.record
    classes = list(epoch_evaluation(run).classes)
    assert detail.move_target.currentIndex() == -1  # nothing chosen for the user
    assert not detail.move_button.isEnabled()
    assert "Choose the right class" in detail.move_button.toolTip()
    assert detail.move_keys.text() == "Keys: " + " · ".join(
        f"{i} → {c}" for i, c in enumerate(classes, start=1))
    qtbot.keyClick(view, str(classes.index(first.true) + 1))  # its own class: nothing moves
    assert Path(first.path).is_file()
    other = next(i for i, c in enumerate(classes, start=1) if c != first.true)
    qtbot.keyClick(view, str(other))
    assert not Path(first.path).exists()
    assert (Path(first.path).parent.parent / classes[other - 1]).is_dir()
    second = detail.record
    assert second is not None and second.path != first.path
    # The next image comes with no class chosen: a second click cannot move it anywhere.
    assert detail.move_target.currentIndex() == -1 and not detail.move_button.isEnabled()
    qtbot.mouseClick(detail.move_button, Qt.MouseButton.LeftButton)
    assert Path(second.path).is_file()
    detail.move_target.setCurrentIndex(classes.index(second.true))
    assert not detail.move_button.isEnabled()  # its own class is no move either


def test_export_opens_in_the_runs_folder_and_offers_show_and_copy(
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, data = train_tiny_run(tmp_path, {"red": 4, "green": 4})
    window._on_run_opened(str(run))  # as File > Open run… does
    offered = []

    def save_dialog(_parent, _title, default, _filters):
        offered.append(default)
        return str(Path(default).with_suffix(".safetensors")), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    with qtbot.waitSignal(window.exporter.exported, timeout=TIMEOUT) as done:
        qtbot.mouseClick(window.training_view.export_button, Qt.MouseButton.LeftButton)
    default = Path(offered[0])
    assert default.parent.is_dir() and run in default.parents  # not the dataset's folder
    written = done.args[0].path
    assert Path(written).is_file() and not any(data.rglob("*.safetensors"))
    box = window.exporter.results_dialog  # the exports table, the example, and these two
    box.findChild(QPushButton, "copyPathButton").click()
    assert QApplication.clipboard().text() == written
    box.findChild(QPushButton, "showInFolderButton").click()
    assert opened and Path(opened[0].toLocalFile()) == Path(written).parent


def test_a_finished_run_ends_with_its_result_card(qtbot, window: MainWindow, data: Path) -> None:
    window.show()
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(2)
    card = child(window, QFrame, "resultSummary")
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT) as ended:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    result = ended.args[0]
    assert card.isVisible()
    text = card.body.text()
    final = result.epochs[-1]
    best = max(result.epochs, key=lambda e: e.val_accuracy)
    assert f"{final.val_accuracy:.1%}" in text or f"{best.val_accuracy:.1%}" in text
    assert "Weakest classes:" in text and "Training took" in text
    # The gallery's predictions of the run: the load EvaluationFeed starts on `finished` (one
    # started at the last epoch's end may arrive first; a timeout must not pass silently).
    qtbot.waitUntil(lambda: not window.evaluations.busy() and window.gallery.model.rowCount() > 0,
                    timeout=TIMEOUT)
    qtbot.mouseClick(child(window, QPushButton, "summaryMistakes"), Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.gallery
    assert "Misclassified" in window.gallery.filter_box.currentText()
    qtbot.mouseClick(child(window, QPushButton, "summaryTryImages"), Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.try_images
    # A new run hides the card until it has its own result.
    window.settings_panel.epochs.setValue(50)
    with qtbot.waitSignal(window.controller.fitStarted, timeout=TIMEOUT):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert not card.isVisible()
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT):
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    assert not card.isVisible()  # a stopped run has no result card


def test_a_failed_run_looks_like_a_failure(qtbot, window: MainWindow, data: Path) -> None:
    scan(qtbot, window, data)
    for image in data.rglob("*.png"):  # gone after the scan: the run fails when it reads them
        image.unlink()
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT) as ended:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] is None
    bar = window.training_view.progress
    assert bar.format() == "Failed" and bar.value() < bar.maximum()
    assert "b3261e" in bar.styleSheet()  # red, not the blue of a finished run
    assert window.training_view.result_card.isHidden()
    assert not window.banner.isHidden() and window.banner.kind == "error"


def test_a_dark_palette_keeps_messages_tables_and_plots_readable(
        qtbot, dark_palette, window: MainWindow, tmp_path: Path) -> None:
    with qtbot.waitSignal(window.data_panel.scanFailed, timeout=TIMEOUT):
        window.open_folder(str(tmp_path / "no such folder"))
    style = window.banner.styleSheet()
    text = QColor(re.search(r"(?<!-)color:(#\w+)", style).group(1))
    background = QColor(re.search(r"background:(#\w+)", style).group(1))
    assert contrast(text, background) >= 4.5, style
    assert background.lightnessF() < 0.5  # a dark banner on a dark window
    summary = summary_background()
    assert contrast(dark_palette.color(QPalette.ColorRole.Text), summary) >= 4.5
    for plot in (window.training_view.plots.findChildren(pg.PlotWidget)
                 + [window.lr_finder.plot]):
        assert plot.backgroundBrush().color().lightnessF() < 0.5, plot.objectName()


def test_saliency_opacity_slider_fades_the_overlay(qtbot, window: MainWindow,
                                                   tmp_path: Path) -> None:
    run, _ = train_tiny_run(tmp_path, {"red": 4, "green": 4})
    window.show()
    gallery = window.gallery
    gallery.set_evaluation(run, epoch_evaluation(run))
    window.tabs.setCurrentWidget(gallery)
    detail = gallery.detail
    qtbot.mouseClick(gallery.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=gallery.view.visualRect(gallery.model.index(0)).center())
    slider = detail.findChild(QSlider, "saliencyOpacity")  # Try images has one too
    assert not slider.isEnabled() and "default 100" in slider.toolTip()
    with qtbot.waitSignal(detail.saliencyShown, timeout=TIMEOUT):
        qtbot.mouseClick(detail.saliency_toggle, Qt.MouseButton.LeftButton,
                         pos=QPoint(8, detail.saliency_toggle.height() // 2))
    assert slider.isEnabled() and slider.value() == 100
    full = detail.picture.pixmap().toImage()
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Home)  # all the way down: the picture alone
    assert slider.value() == 0
    faded = detail.picture.pixmap().toImage()
    assert faded != full
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert detail.picture.pixmap().toImage() == full


def run_labels(window: MainWindow) -> list[str]:
    return [label.text() for label in window.findChildren(QLabel, "currentRunLabel")]


def test_every_tab_names_the_one_current_run(qtbot, window: MainWindow, data: Path) -> None:
    assert len(run_labels(window)) >= 4 and window.current_run() is None
    assert len(set(run_labels(window))) == 1 and "No run yet" in run_labels(window)[0]
    scan(qtbot, window, data)
    window.settings_panel.epochs.setValue(1)
    with qtbot.waitSignal(window.trainingFinished, timeout=TIMEOUT) as first:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    first_run = Path(first.args[0])
    assert Path(window.current_run()) == first_run
    assert set(run_labels(window)) == {f"Run: {first_run.name}"}
    assert window.training_view.export_button.isEnabled()
    # A second run stopped before its first epoch ends: it is the current run everywhere,
    # and nothing of the first run is offered as its result.
    window.settings_panel.epochs.setValue(50)
    window.settings_panel.batch_size.setValue(1)
    with qtbot.waitSignal(window.controller.fitStarted, timeout=TIMEOUT):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT):
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    second_run = Path(window.current_run())
    assert second_run != first_run
    assert set(run_labels(window)) == {f"Run: {second_run.name}"}
    assert window.gallery.count_label.text().startswith("0 of 0 images")
    export = window.training_view.export_button
    assert not export.isEnabled() and "once the current run has a model" in export.toolTip()
    assert "under way" not in window.results_view.message.text()


def test_simple_first_and_show_all_settings_is_remembered(qtbot, settings_dir: Path) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    show_all = child(window, QCheckBox, "showAllSettings")
    assert not show_all.isChecked()
    # First start: data, backbone and Train; no freeze tree, seed, threads or advanced options.
    assert window.data_panel.isVisible() and window.backbone_panel.isVisible()
    assert window.start_button.isVisible()
    for part in (window.freeze_panel.tree, window.settings_panel.threads,
                 window.advanced_section):
        assert not part.isVisible()
    qtbot.mouseClick(show_all, Qt.MouseButton.LeftButton, pos=QPoint(6, show_all.height() // 2))
    assert window.freeze_panel.tree.isVisible() and window.settings_panel.threads.isVisible()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert child(again, QCheckBox, "showAllSettings").isChecked()
    assert again.freeze_panel.tree.isVisible()
    again.close()


def test_a_matrix_cell_opens_exactly_its_images_at_the_epoch_shown(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    run, _ = train_tiny_run(tmp_path, {"red": 6, "green": 6, "blue": 6})
    window.show()
    view = window.results_view
    with qtbot.waitSignal(view.evaluationShown, timeout=TIMEOUT):
        assert view.open_run(str(run))
    with qtbot.waitSignal(view.evaluationShown, timeout=TIMEOUT):
        qtbot.keyClick(view.epoch_slider, Qt.Key.Key_Left)  # epoch 1, not the saved epoch 2
    assert view.shown_epoch == 1
    matrix = view.matrix
    assert matrix.objectName() == "confusionMatrixView"
    cells = [(t, p) for t in matrix.classes for p in matrix.classes]
    full = [c for c in cells if matrix.count(*c)]
    empty = [c for c in cells if not matrix.count(*c)]
    epoch_one = epoch_evaluation(run, 1)
    for true, predicted in full + empty[:1]:
        window.tabs.setCurrentWidget(view)
        qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton,
                         pos=matrix.cell_center(true, predicted))
        assert window.tabs.currentWidget() is window.gallery
        count = matrix.count(true, predicted)
        assert window.gallery.count_label.text().startswith(f"{count} of ")
        assert {r.path for r in window.gallery.shown_records()} == {
            r.path for r in epoch_one.cell(true, predicted)}
    if empty:
        assert "this cell of the confusion matrix is empty" in window.gallery.message.text()


def test_a_restored_window_larger_than_the_screen_is_kept_on_it(qtbot, settings_dir: Path) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    screen = first.screen().availableGeometry()
    first.resize(screen.width() + 600, screen.height() + 400)  # as at 150 % on a smaller screen
    first.move(screen.x() + 300, screen.y() + 200)
    first.close()  # saves the geometry
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.width() <= screen.width() and again.height() <= screen.height()
    assert screen.contains(again.frameGeometry().topLeft())
    again.close()


def test_stage_names_get_plain_descriptions(qtbot, window: MainWindow) -> None:
    window.backbone_panel.set_backbone("tf_efficientnet_lite0")
    tree = window.freeze_panel.tree
    tips = [tree.topLevelItem(i).toolTip(0) for i in range(tree.topLevelItemCount())]
    assert "early layers: edges" in tips[0]
    assert "late layers: object parts" in tips[-2]
    assert "new classifier" in tips[-1]
    names = window.freeze_panel.stage_names()
    for tip, name in zip(tips[:-1], names[:-1], strict=True):
        assert tip.startswith(name)


# With "Show all settings" on, Tab also passes steps 3 and 4 and the Advanced toggle (its
# section stays closed), in the sidebar's order; off, Train is a few presses away.
TAB_STEPS = {
    False: (["trainFolderEdit", "targetToggle", "backboneCombo", "weightsFileButton",
             "showAllSettings", "startButton"], 11),
    True: (["trainFolderEdit", "targetToggle", "backboneCombo", "weightsFileButton",
            "showAllSettings",
            "presetHeadOnly", "freezeTree", "epochs", "runsFolderEdit", "advancedToggle",
            "startButton"], 30),
}


@pytest.mark.parametrize("show_all", [False, True])
def test_tab_order_follows_the_steps_to_train(qtbot, window: MainWindow, data: Path,
                                              show_all: bool) -> None:
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    scan(qtbot, window, data)
    if show_all:
        click_check_box(qtbot, child(window, QCheckBox, "showAllSettings"))
    assert window.form.show_all.isChecked() == show_all
    first = child(window, QLineEdit, "trainFolderEdit")
    first.setFocus()
    qtbot.waitUntil(first.hasFocus)
    walked = []
    for _ in range(40):
        widget = QApplication.focusWidget()
        walked.append(widget.objectName() or type(widget).__name__)
        if widget is window.start_button:
            break
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    steps, most = TAB_STEPS[show_all]
    assert walked[-1] == "startButton", walked
    assert [name for name in walked if name in steps] == steps, walked
    assert len(walked) <= most, walked  # nothing of the tabs on the way


def test_every_control_and_view_has_an_accessible_name(qtbot, window: MainWindow) -> None:
    window.show()
    child(window, QCheckBox, "showAllSettings").click()
    window.advanced_section.set_open(True)
    unnamed = [f"{type(w).__name__} {w.objectName()}" for w in window.findChildren(QWidget)
               if w.isVisible() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
               and not w.accessibleName() and not w.objectName().startswith("qt_")
               and not isinstance(w, (QScrollArea, QTabBar))]  # read from their contents
    assert not unnamed, unnamed
    for name in ("confusionMatrixView", "metricsTable", "galleryList", "logPane",
                 "classCountChart"):
        view = child(window, QWidget, name)
        assert view.accessibleName() and view.accessibleDescription(), name
    window.open_folder("/no/such/folder")
    qtbot.waitUntil(lambda: window.banner.kind == "error", timeout=TIMEOUT)
    assert window.banner.label.accessibleName() == window.banner.label.text()


def test_a_long_report_path_does_not_widen_the_window(qtbot, window: MainWindow,
                                                      tmp_path: Path) -> None:
    run, _ = train_tiny_run(tmp_path, {"red": 4, "green": 4})
    window.show()
    view = window.results_view
    with qtbot.waitSignal(view.evaluationShown, timeout=TIMEOUT):
        assert view.open_run(str(run))
    before = window.minimumSizeHint().width()
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 12)
    deep.mkdir(parents=True)
    with qtbot.waitSignal(view.reportWritten, timeout=TIMEOUT):
        assert view.write_report(str(deep / "report.html"))
    assert window.minimumSizeHint().width() <= max(before, 1024)
    window.resize(1024, 700)
    assert window.width() == 1024
    assert view.report.label.toolTip() == str(deep / "report.html")


def test_the_runs_list_makes_a_run_current(qtbot, window: MainWindow, tmp_path: Path) -> None:
    runs = Path(window.settings_panel.runs_dir.text())
    older, _ = train_tiny_run(tmp_path / "a", {"red": 4, "green": 4})
    newer, _ = train_tiny_run(tmp_path / "b", {"red": 4, "green": 4})
    runs.mkdir(parents=True)
    older.rename(runs / "older")
    newer.rename(runs / "newer")
    (runs / "not a run").mkdir()
    window.show()
    menu = child(window, QMenu, "runsMenu")
    with qtbot.waitSignal(window.runs_view.listed, timeout=TIMEOUT):  # listed off the GUI thread
        menu.aboutToShow.emit()  # what opening File > Runs does
    texts = [a.text() for a in menu.actions()]
    assert [t.split(" · ")[0] for t in texts] == ["newer", "older"]
    assert "2 epochs" in texts[1] and "%" in texts[1]
    with qtbot.waitSignal(window.results_view.evaluationShown, timeout=TIMEOUT):
        click_menu_item(qtbot, menu, texts[1])
    assert Path(window.current_run()) == runs / "older"
    assert set(run_labels(window)) == {"Run: older"}
