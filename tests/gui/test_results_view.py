"""The Results tab on a real tiny run: matrix and metrics against sklearn, the epoch slider,
following a training run, another labelled folder, the report, and opening a run folder."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from imagefolders import train_tiny_run, write_class_folders
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QWidget
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from tlstudio.evaluation.epochs import epoch_evaluation, model_epoch
from tlstudio.gui.results import results_jobs
from tlstudio.gui.results.metrics_table import COLUMNS
from tlstudio.gui.results.results_jobs import EvaluationCancelled, ProgressPredictor
from tlstudio.gui.results.results_view import ResultsView
from tlstudio.gui.shared.background import jobs_in_flight
from tlstudio.runs import load_predictions, save_epoch_predictions
from tlstudio.runs.folder import PREDICTIONS
from tlstudio.training.events import EpochEnded, FitStarted

CLASSES = {"red": 8, "green": 8, "blue": 8}
WAIT = 10_000


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return train_tiny_run(tmp_path_factory.mktemp("results"), CLASSES)


@pytest.fixture
def run(tiny_run: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the trained run that a test may change."""
    return Path(shutil.copytree(tiny_run[0], tmp_path / "run"))


@pytest.fixture
def view(qtbot) -> ResultsView:
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1000, 650)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.cancel()


def open_and_wait(qtbot, view: ResultsView, run: Path) -> None:
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        assert view.open_run(str(run))


def stored_labels(run: Path, epoch: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    stored = load_predictions(run)
    return stored.targets, stored.probabilities(epoch).argmax(1), stored.classes


def epoch_event(epoch: int, epochs: int = 3) -> EpochEnded:
    return EpochEnded(epoch, epochs, 1.0, 0.5, 1.0, 0.5, 1e-3, 0.1)


def test_matrix_counts_equal_sklearn_on_the_stored_predictions(qtbot, view, run) -> None:
    open_and_wait(qtbot, view, run)
    true, predicted, classes = stored_labels(run, 2)
    expected = confusion_matrix(true, predicted, labels=range(len(classes)))
    assert view.matrix.classes == classes
    assert np.array_equal(np.array(view.matrix.counts), expected)
    assert view.epoch_label.text() == "Epoch 2 of 2 · the saved model"
    assert view.objectName() == "resultsView"
    assert view.matrix.objectName() == "confusionMatrixView"


def test_metrics_table_matches_sklearn(qtbot, view, run) -> None:
    open_and_wait(qtbot, view, run)
    true, predicted, classes = stored_labels(run, 2)
    labels = list(range(len(classes)))
    p, r, f, s = precision_recall_fscore_support(true, predicted, labels=labels,
                                                 zero_division=0)
    table = view.findChild(QWidget, "metricsTable")
    for i, name in enumerate(classes):
        assert table.value(name, "Precision") == pytest.approx(p[i])
        assert table.value(name, "Recall") == pytest.approx(r[i])
        assert table.value(name, "F1") == pytest.approx(f[i])
        assert table.value(name, "Support") == s[i]
    assert table.value("accuracy", "Precision") == pytest.approx(np.mean(true == predicted))
    for average in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(
            true, predicted, labels=labels, average=average, zero_division=0)
        row = f"{average} avg"
        assert table.value(row, "Precision") == pytest.approx(ap)
        assert table.value(row, "Recall") == pytest.approx(ar)
        assert table.value(row, "F1") == pytest.approx(af)
        assert table.value(row, "Support") == len(true)


def test_clicking_a_cell_emits_its_true_and_predicted_class(qtbot, view, run) -> None:
    open_and_wait(qtbot, view, run)
    matrix = view.matrix
    with qtbot.waitSignal(view.cellActivated, timeout=WAIT) as blocker:
        qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton,
                         pos=matrix.cell_center("green", "blue"))
    assert blocker.args == ["green", "blue"]
    count = matrix.count("green", "blue")
    assert matrix.cell_tooltip("green", "blue").startswith(f"{count} image")
    row_total = sum(matrix.counts[matrix.classes.index("green")])
    assert f"{count / row_total:.1%} of the {row_total} 'green' images" in \
        matrix.cell_tooltip("green", "blue")
    # The keyboard reaches every cell too: arrows move from the clicked cell, Enter opens.
    qtbot.keyClick(matrix, Qt.Key.Key_Right)  # classes are sorted: blue, green, red
    with qtbot.waitSignal(view.cellActivated, timeout=WAIT) as blocker:
        qtbot.keyClick(matrix, Qt.Key.Key_Return)
    assert blocker.args == ["green", "green"]
    # A click outside the grid (the axis labels) asks for nothing; QPoint(0, 0) would mean
    # the widget's centre to QTest.
    with qtbot.assertNotEmitted(view.cellActivated):
        qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    # The opened cell stays outlined on another epoch's matrix.
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        qtbot.keyClick(view.epoch_slider, Qt.Key.Key_Left)
    assert view.shown_epoch == 1
    assert matrix.selected == (matrix.classes.index("green"), matrix.classes.index("green"))


def control_epoch_one(run: Path) -> np.ndarray:
    """Make epoch 1 predict every image as the first class; epoch 2 stays as trained."""
    stored = load_predictions(run)
    first = np.zeros_like(stored.probabilities(1))
    first[:, 0] = 1.0
    second = stored.probabilities(2)
    save_epoch_predictions(run, 1, first, stored.targets, stored.files, stored.classes)
    save_epoch_predictions(run, 2, second, stored.targets, stored.files, stored.classes)
    return np.bincount(stored.targets, minlength=len(stored.classes))


def test_epoch_slider_shows_the_matrix_after_that_epoch(qtbot, view, run) -> None:
    per_class = control_epoch_one(run)
    open_and_wait(qtbot, view, run)
    last = np.array(view.matrix.counts)
    slider = view.findChild(QWidget, "epochSlider")
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        slider.setValue(1)
    assert view.epoch_label.text() == "Epoch 1 of 2"
    expected = np.zeros((3, 3), dtype=int)
    expected[:, 0] = per_class  # everything predicted as the first class
    assert np.array_equal(np.array(view.matrix.counts), expected)
    assert not np.array_equal(expected, last)
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        slider.setValue(2)
    assert np.array_equal(np.array(view.matrix.counts), last)


def test_an_older_request_finishing_late_is_dropped(qtbot, view, run, monkeypatch) -> None:
    control_epoch_one(run)
    open_and_wait(qtbot, view, run)
    release = threading.Event()
    real = results_jobs.epoch_evaluation

    def slow_for_epoch_one(run_dir, epoch=None):
        if epoch == 1:
            release.wait(WAIT / 1000)
        return real(run_dir, epoch)

    monkeypatch.setattr(results_jobs, "epoch_evaluation", slow_for_epoch_one)
    view.show_epoch(1)  # blocks in the pool until released
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.show_epoch(2)
    shown = view.matrix.counts
    release.set()
    qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=WAIT)
    assert view.shown_epoch == 2 and view.matrix.counts == shown


def fit_started(run: Path, epochs: int = 3) -> FitStarted:
    return FitStarted(str(run), ("blue", "green", "red"), epochs, 3, 18, 6, 0, "cpu", 16,
                      100, 100, False)


def test_each_new_epoch_extends_the_slider_and_is_followed_from_the_latest(
        qtbot, view, run) -> None:
    stored = load_predictions(run)
    (run / PREDICTIONS).unlink()
    save_epoch_predictions(run, 1, stored.probabilities(1), stored.targets, stored.files,
                           stored.classes)
    view.on_fit_started(fit_started(run))
    assert view.epoch_label.text() == "No epoch yet"
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.on_epoch(epoch_event(1))
    assert view.shown_epoch == 1
    save_epoch_predictions(run, 2, stored.probabilities(2), stored.targets, stored.files,
                           stored.classes)
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.on_epoch(epoch_event(2))
    slider = view.epoch_slider
    assert (slider.maximum(), slider.value(), view.shown_epoch) == (2, 2, 2)
    assert view.epoch_label.text() == "Epoch 2 of 2"
    # Looking back at epoch 1, a new epoch extends the slider but does not move it.
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        slider.setValue(1)
    save_epoch_predictions(run, 3, stored.probabilities(2), stored.targets, stored.files,
                           stored.classes)
    with qtbot.assertNotEmitted(view.evaluationShown, wait=200):
        view.on_epoch(epoch_event(3))
    assert (slider.maximum(), slider.value(), view.shown_epoch) == (3, 1, 1)
    assert view.epoch_label.text() == "Epoch 1 of 3"
    assert not view.report_button.isEnabled()  # the report waits for the end of training
    view.on_training_finished(None)
    assert view.report_button.isEnabled()


def test_report_button_writes_an_html_report(qtbot, view, run, monkeypatch) -> None:
    open_and_wait(qtbot, view, run)
    out = run.parent / "report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(view.reportWritten, timeout=WAIT):
        qtbot.mouseClick(view.findChild(QWidget, "reportButton"), Qt.MouseButton.LeftButton)
    assert '<table id="metrics">' in out.read_text(encoding="utf-8")
    assert str(out) in view.report.label.text()
    assert view.report.open_button.isVisible()


def test_another_labelled_folder_is_evaluated_with_the_model(qtbot, view, run,
                                                             tiny_run) -> None:
    open_and_wait(qtbot, view, run)
    data = tiny_run[1]
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT) as blocker:
        assert view.evaluate_folder(str(data))
    assert view.matrix.classes == ("blue", "green", "red")
    assert sum(map(sum, view.matrix.counts)) == sum(CLASSES.values())
    assert str(data) in blocker.args[0].images
    assert view.source.currentText() == f"Folder: {data}"
    assert view.shown_epoch is None
    # Moving the epoch slider goes back to the validation images.
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.show_epoch(1)
    assert view.source.currentIndex() == 0 and view.shown_epoch == 1


def test_cancelling_a_folder_evaluation_keeps_what_was_shown(qtbot, view, run,
                                                            tiny_run) -> None:
    open_and_wait(qtbot, view, run)
    before = view.shown
    with qtbot.assertNotEmitted(view.evaluationShown):
        view.evaluate_folder(str(tiny_run[1]))
        assert view.cancel_button.isVisibleTo(view)
        qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
        # The cancelled job has ended and all it sent was delivered: nothing showed.
        qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=WAIT)
    assert view.shown is before and view.source.currentIndex() == 0
    assert "cancelled" in view.message.text()
    assert not view.busy.isVisibleTo(view)


def test_opening_a_folder_that_is_not_a_run_says_so(qtbot, view, tmp_path) -> None:
    (tmp_path / "holiday photos").mkdir()
    with qtbot.assertNotEmitted(view.runOpened):
        assert not view.open_run(str(tmp_path / "holiday photos"))
    assert view.message.isVisible()
    assert "is not a tlstudio run folder" in view.message.text()
    assert view.run_dir is None


class FakeState:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[int, int]] = []
        self._cancel_after = cancel_after

    def progress(self, done: int, total: int) -> None:
        self.reports.append((done, total))

    def cancelled(self) -> bool:
        return self._cancel_after is not None and len(self.reports) > self._cancel_after


class FakePredictor:
    classes = ("a", "b")

    def predict_paths(self, paths, top_k=5, batch_size=32):
        return [f"prediction of {p}" for p in paths], []


def test_folder_evaluation_reports_progress_and_stops_when_cancelled(monkeypatch) -> None:
    monkeypatch.setattr(results_jobs, "CHUNK", 4)
    paths = [f"{i}.png" for i in range(10)]
    state = FakeState()
    predictions, _ = ProgressPredictor(FakePredictor(), state).predict_paths(paths)
    assert len(predictions) == 10
    assert state.reports == [(0, 10), (4, 10), (8, 10), (10, 10)]
    with pytest.raises(EvaluationCancelled):
        ProgressPredictor(FakePredictor(), FakeState(cancel_after=1)).predict_paths(paths)


def test_window_follows_training_and_sends_matrix_clicks_to_the_gallery(
        qtbot, run, tmp_path, monkeypatch) -> None:
    from tlstudio.gui import MainWindow

    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow(restore=False)
    qtbot.addWidget(window)
    results = window.findChild(ResultsView, "resultsView")
    assert window.tabs.tabText(window.tabs.indexOf(results)) == "Results"
    window.controller.fitStarted.emit(fit_started(run, epochs=2))
    with qtbot.waitSignal(results.evaluationShown, timeout=WAIT), \
            qtbot.waitSignal(window.evaluations.evaluated, timeout=WAIT):
        window.controller.epochEnded.emit(epoch_event(2, epochs=2))
    assert results.epoch_label.text() == "Epoch 2 of 2"
    results.cellActivated.emit("red", "green")
    assert window.tabs.currentWidget() is window.gallery
    shown = window.gallery.shown_records()
    expected = epoch_evaluation(run, 2).cell("red", "green")
    assert sorted(r.path for r in shown) == sorted(r.path for r in expected)
    # File > Open run… on a finished run shows it in the Results tab and enables export.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(run))
    with qtbot.waitSignal(results.evaluationShown, timeout=WAIT), \
            qtbot.waitSignal(window.evaluations.evaluated, timeout=WAIT):
        window.open_run_action.trigger()
    assert window.tabs.currentWidget() is results
    window.gallery.show_all()
    assert len(window.gallery.shown_records()) == len(epoch_evaluation(run).records)
    assert window.last_run_dir == str(run) and window.training_view.export_button.isEnabled()
    window.close()


def test_report_of_a_labelled_folder_says_so(qtbot, view, run, tiny_run) -> None:
    open_and_wait(qtbot, view, run)
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.evaluate_folder(str(tiny_run[1]))
    out = run.parent / "folder-report.html"
    with qtbot.waitSignal(view.reportWritten, timeout=WAIT):
        assert view.write_report(str(out))
    html = out.read_text(encoding="utf-8")
    assert f"the folder {tiny_run[1]}" in html and f"({sum(CLASSES.values())} images)" in html


def test_a_folder_without_the_runs_classes_is_refused_with_a_message(qtbot, view, run,
                                                                     tmp_path) -> None:
    open_and_wait(qtbot, view, run)
    before = view.shown
    (tmp_path / "other" / "cats").mkdir(parents=True)
    view.evaluate_folder(str(tmp_path / "other"))
    qtbot.waitUntil(view.message.isVisible, timeout=WAIT)
    assert "'cats'" in view.message.text() and "blue, green, red" in view.message.text()
    assert view.shown is before and view.source.currentIndex() == 0
    assert view.source.findData(str(tmp_path / "other")) < 0


def test_a_real_training_run_is_followed_epoch_by_epoch(qtbot, view, tiny_run,
                                                        tmp_path) -> None:
    from tlstudio.evaluation import epoch_evaluation
    from tlstudio.gui.training.worker import TrainingController
    from tlstudio.recipe import Recipe

    controller = TrainingController()
    controller.fitStarted.connect(view.on_fit_started)
    controller.epochEnded.connect(view.on_epoch)
    controller.finished.connect(view.on_training_finished)
    shown: list[int | None] = []
    view.evaluationShown.connect(lambda _ev: shown.append(view.shown_epoch))
    out = tmp_path / "live"
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        controller.start(Recipe(data_dir=str(tiny_run[1]), out_dir=str(out),
                                backbone="tiny_cnn", epochs=3, image_size=16, batch_size=8,
                                freeze="none", val_split=0.25))
    saved = model_epoch(out, 3)  # the best epoch's: "Keep the best epoch's model" is on
    qtbot.waitUntil(lambda: view.shown_epoch == saved, timeout=WAIT)
    assert view.epoch_label.text() == f"Epoch {saved} of 3 · the saved model"
    followed = shown[:-1] if saved != 3 else shown
    assert followed[-1] == 3 and followed == sorted(followed)  # never older after newer
    assert shown[-1] == saved
    assert view.matrix.counts == epoch_evaluation(out, saved).evaluation.confusion
    assert view.report_button.isEnabled()


def test_a_folder_missing_a_class_shows_a_dash_and_averages_over_the_rest(
        qtbot, view, run, tmp_path) -> None:
    open_and_wait(qtbot, view, run)
    other = write_class_folders(tmp_path / "other", {"red": 4, "green": 3})  # no "blue"
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        assert view.evaluate_folder(str(other))
    table = view.findChild(QWidget, "metricsTable")
    blue = table.row_of("blue")
    for column in ("Recall", "F1"):
        assert table.value("blue", column) is None
        assert table.item(blue, COLUMNS.index(column)).text() == "\u2014"
    assert table.item(blue, COLUMNS.index("Support")).text() == "0"
    precision = table.item(blue, COLUMNS.index("Precision")).text()
    predicted_blue = sum(row[0] for row in view.matrix.counts)  # blue is the first class
    assert precision == ("0.000" if predicted_blue else "\u2014")
    assert len(view.matrix.classes) == 3  # the matrix keeps every class
    # The averages are over green and red only, recomputed from their rows.
    sizes = {"green": 3, "red": 4}
    for column in ("Precision", "Recall", "F1"):
        values = {name: table.value(name, column) for name in sizes}
        assert table.value("macro avg", column) == pytest.approx(sum(values.values()) / 2)
        assert table.value("weighted avg", column) == pytest.approx(
            sum(values[n] * sizes[n] for n in sizes) / 7)
    assert "No images of: blue." in view.summary.text()


def test_counts_stay_readable_in_a_990_pixel_window(qtbot, tmp_path, monkeypatch) -> None:
    """Ten classes at 990x700: the matrix keeps readable cells; the metrics table scrolls."""
    from tlstudio.evaluation.metrics import evaluate_predictions
    from tlstudio.gui import MainWindow
    from tlstudio.gui.results.confusion_matrix import MIN_CELL

    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow(restore=False)
    qtbot.addWidget(window)
    window.resize(990, 700)
    window.show()
    qtbot.waitExposed(window)
    results = window.results_view
    window.tabs.setCurrentWidget(results)
    rng = np.random.default_rng(0)
    true = rng.integers(0, 10, 600)
    predicted = np.where(rng.random(600) < 0.8, true, rng.integers(0, 10, 600))
    ev = evaluate_predictions(true, predicted, [f"digit_{i}" for i in range(10)])
    results.show_matrix(ev.classes, ev.confusion)
    results.table.show_evaluation(ev)
    qtbot.waitUntil(lambda: results.matrix_area.width() >= results.matrix_area.minimumWidth())
    matrix = results.matrix
    assert matrix._cell_size() >= MIN_CELL == 22
    assert results.matrix_area.viewport().width() >= matrix.minimumSizeHint().width()
    assert not results.matrix_area.horizontalScrollBar().isVisible()  # the whole grid shows
    assert results.table_area.width() < results.table.minimumWidth()  # the table gave way
    window.close()


def keep_best_epoch(run: Path, epoch: int) -> None:
    """Make the run's saved model the one of `epoch` (as "Keep the best epoch's model")."""
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    (run / "metrics.json").write_text(json.dumps({**metrics, "best_epoch": epoch}),
                                      encoding="utf-8")


def test_an_opened_run_shows_the_epoch_of_its_saved_model(qtbot, view, run) -> None:
    control_epoch_one(run)
    keep_best_epoch(run, 1)
    open_and_wait(qtbot, view, run)
    assert (view.shown_epoch, view.epoch_slider.value(), view.epoch_slider.maximum()) == (
        1, 1, 2)
    assert view.epoch_label.text() == "Epoch 1 of 2 · the saved model"
    assert "saved model is" not in view.summary.text()
    # The last epoch, which is not the saved model, says which one is and how it did.
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.show_epoch(2)
    assert view.epoch_label.text() == "Epoch 2 of 2"
    saved = epoch_evaluation(run, 1).evaluation.accuracy
    assert f"The saved model is epoch 1's ({saved:.1%} on these images)." in \
        view.summary.text()
    assert "saved model is epoch 1's" in view.epoch_slider.toolTip()


def test_a_finished_run_shows_its_saved_model_after_following_the_latest(qtbot, view,
                                                                          run) -> None:
    control_epoch_one(run)
    view.on_fit_started(fit_started(run, epochs=2))
    for epoch in (1, 2):
        with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
            view.on_epoch(epoch_event(epoch, epochs=2))
    # While training the latest epoch is followed, whatever the best so far.
    assert view.shown_epoch == 2 and view.epoch_label.text() == "Epoch 2 of 2"
    keep_best_epoch(run, 1)  # what the engine writes when the run ends
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.on_training_finished(object())
    assert view.shown_epoch == 1 and view.epoch_slider.value() == 1
    assert view.epoch_label.text() == "Epoch 1 of 2 · the saved model"
    assert view.matrix.counts == epoch_evaluation(run, 1).evaluation.confusion
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        view.show_epoch(2)
    saved = epoch_evaluation(run, 1).evaluation.accuracy
    assert f"The saved model is epoch 1's ({saved:.1%} on these images)." in \
        view.summary.text()
