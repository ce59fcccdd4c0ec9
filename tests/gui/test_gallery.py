"""The prediction gallery on a real tiny run: filters, sorting, matrix cells, thumbnails
arriving from the background, Grad-CAM on demand, and moves on disk with undo."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from imagefolders import train_tiny_run, write_class_folders
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView

from tlstudio.evaluation import (
    DatasetEditor,
    RunEvaluation,
    epoch_evaluation,
    evaluate_predictions,
)
from tlstudio.evaluation.relabel_history import RelabelHistory
from tlstudio.evaluation.run_eval import image_record
from tlstudio.gui.gallery.gallery import PredictionGallery
from tlstudio.gui.gallery.gallery_model import RECORD_ROLE
from tlstudio.gui.shared.thumbnails import ThumbnailLoader

CLASSES = {"red": 8, "green": 8, "blue": 8}
# Grad-CAM and a run's evaluation load the model or the stored predictions in the pool: well
# under a second here, but several on a loaded 2-core CI machine.
MODEL_WAIT = 30_000


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run the read-only tests share (nothing is moved in it)."""
    run, _ = train_tiny_run(tmp_path_factory.mktemp("gallery"), CLASSES)
    return run


@pytest.fixture
def own_run(tmp_path: Path) -> tuple[Path, Path]:
    """A run and its dataset for one test that moves files."""
    return train_tiny_run(tmp_path, CLASSES)


def open_gallery(qtbot, run: Path) -> PredictionGallery:
    gallery = PredictionGallery()
    qtbot.addWidget(gallery)
    gallery.resize(900, 600)
    gallery.set_evaluation(run, epoch_evaluation(run))
    gallery.show()
    return gallery


def paths(records) -> set[str]:
    return {r.path for r in records}


def test_misclassified_filter_shows_exactly_the_wrong_images(qtbot, shared_run: Path) -> None:
    gallery = open_gallery(qtbot, shared_run)
    records = epoch_evaluation(shared_run).records
    wrong = [r for r in records if r.true != r.predicted]
    assert wrong, "the tiny run is expected to make mistakes after 2 epochs"
    assert paths(gallery.shown_records()) == paths(records)
    gallery.show_misclassified()
    assert paths(gallery.shown_records()) == paths(wrong)
    assert "Misclassified" in gallery.filter_box.currentText()
    assert gallery.count_label.text().startswith(f"{len(wrong)} of {len(records)} images")
    gallery.show_class("red")
    assert paths(gallery.shown_records()) == paths(r for r in records if r.true == "red")


def test_top_losses_come_first(qtbot, shared_run: Path) -> None:
    gallery = open_gallery(qtbot, shared_run)
    gallery.set_sort("Top losses first")
    losses = [r.loss for r in gallery.shown_records()]
    assert losses == sorted(losses, reverse=True)
    assert gallery.shown_records()[0].path == epoch_evaluation(shared_run).top_losses(1)[0].path
    gallery.set_sort("Least confident first")
    confidences = [r.confidence for r in gallery.shown_records()]
    assert confidences == sorted(confidences)


def test_show_cell_shows_exactly_that_confusion_matrix_cell(qtbot, shared_run: Path) -> None:
    gallery = open_gallery(qtbot, shared_run)
    evaluation = epoch_evaluation(shared_run)
    classes = evaluation.classes
    cells = [(classes[t], classes[p]) for t, row in enumerate(evaluation.evaluation.confusion)
             for p, count in enumerate(row) if count and t != p]
    true, predicted = cells[0]
    gallery.show_cell(true, predicted)
    assert paths(gallery.shown_records()) == paths(evaluation.cell(true, predicted))
    assert gallery.filter_box.currentText() == f"Cell: {true} → {predicted}"
    gallery.show_cell(true, true)
    assert paths(gallery.shown_records()) == paths(evaluation.cell(true, true))


def test_thumbnails_arrive_from_the_background(qtbot, shared_run: Path) -> None:
    gallery = open_gallery(qtbot, shared_run)
    index = gallery.model.index(0)
    record = index.data(RECORD_ROLE)
    assert index.data(Qt.ItemDataRole.DecorationRole) is None  # a placeholder is painted
    qtbot.waitUntil(lambda: gallery.thumbnails.cached(record.path), timeout=3000)
    pixmap = index.data(Qt.ItemDataRole.DecorationRole)
    assert pixmap is not None and not pixmap.isNull() and pixmap.width() > 0


def test_clicking_an_image_shows_its_detail_and_saliency_on_demand(qtbot,
                                                                   shared_run: Path) -> None:
    gallery = open_gallery(qtbot, shared_run)
    index = gallery.model.index(0)
    with qtbot.waitSignal(gallery.imageActivated) as activated:
        gallery.view.setCurrentIndex(index)
    record = activated.args[0]
    assert gallery.detail.record == record
    assert gallery.detail.bars.values == list(record.top5)
    toggle = gallery.findChild(type(gallery.detail.saliency_toggle), "saliencyToggle")
    assert toggle.isEnabled()
    with qtbot.waitSignal(gallery.detail.saliencyShown, timeout=MODEL_WAIT):
        toggle.setChecked(True)
    assert gallery.detail.overlay_shown()
    toggle.setChecked(False)
    assert not gallery.detail.overlay_shown()


def test_a_newer_epoch_keeps_the_selection(qtbot, shared_run: Path) -> None:
    gallery = open_gallery(qtbot, shared_run)
    chosen = gallery.shown_records()[2].path
    gallery.select_paths([chosen])
    gallery.set_evaluation(shared_run, epoch_evaluation(shared_run, 1))
    assert [r.path for r in gallery.selected_records()] == [chosen]
    assert gallery.detail.record.path == chosen


def test_moving_to_another_class_moves_the_file_and_undo_restores_it(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, data = own_run
    gallery = open_gallery(qtbot, run)
    gallery.show_misclassified()
    record = gallery.shown_records()[0]
    gallery.select_paths([record.path])
    with qtbot.waitSignal(gallery.datasetChanged):
        (move,) = gallery.move_selected(record.predicted)
    moved_to = Path(move.after.path)  # "002 (1).png" if the class had a "002.png" already
    assert moved_to.parent == data / record.predicted and moved_to.stem.startswith(
        Path(record.path).stem)
    assert not Path(record.path).exists() and moved_to.is_file()
    assert move.after.correct
    # Now labelled as predicted, it is no longer a mistake.
    assert record.path not in paths(gallery.shown_records())
    assert str(moved_to) not in paths(gallery.shown_records())
    with qtbot.waitSignal(gallery.datasetChanged):
        gallery.undo_action.trigger()
    assert Path(record.path).is_file() and not moved_to.exists()
    assert record.path in paths(gallery.shown_records())
    assert not gallery.undo_action.isEnabled()


def test_quarantine_moves_the_image_out_and_it_leaves_the_gallery(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, data = own_run
    gallery = open_gallery(qtbot, run)
    record = gallery.shown_records()[0]
    gallery.select_paths([record.path])
    gallery.detail.quarantine_button.click()
    quarantined = data.parent / "data.quarantine" / record.true / Path(record.path).name
    assert quarantined.is_file() and not Path(record.path).exists()
    assert record.path not in paths(gallery.shown_records())
    # A newer epoch (stored before the move) does not bring it back.
    gallery.set_evaluation(run, epoch_evaluation(run))
    assert record.path not in paths(gallery.shown_records())
    gallery.undo_last_move()
    assert Path(record.path).is_file()
    assert record.path in paths(gallery.shown_records())


def test_a_move_from_an_earlier_session_shows_its_new_place_and_can_be_undone(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, data = own_run
    first = open_gallery(qtbot, run)
    record = next(r for r in first.shown_records() if r.true != r.predicted)
    first.select_paths([record.path])
    (move,) = first.move_selected(record.predicted)
    moved_to = move.after.path
    first.close()
    # The window is restarted: a new gallery on the same run, whose stored predictions
    # still name the old place.
    gallery = open_gallery(qtbot, run)
    shown = {r.path: r for r in gallery.shown_records()}
    assert record.path not in shown
    assert shown[moved_to].true == record.predicted and shown[moved_to].correct
    gallery.select_paths([moved_to])
    assert gallery.detail.record.path == moved_to and Path(moved_to).is_file()
    assert gallery.undo_action.isEnabled() and gallery.detail.undo_button.isEnabled()
    with qtbot.waitSignal(gallery.datasetChanged):
        gallery.undo_action.trigger()
    assert Path(record.path).is_file() and not Path(moved_to).exists()
    shown = {r.path: r for r in gallery.shown_records()}
    assert moved_to not in shown and shown[record.path].true == record.true
    assert f"Put back '{Path(record.path).name}' in '{record.true}'" in gallery.message.text()
    assert not gallery.undo_action.isEnabled()


def test_a_quarantined_image_stays_out_of_the_gallery_after_a_restart(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, _ = own_run
    first = open_gallery(qtbot, run)
    record = first.shown_records()[0]
    first.select_paths([record.path])
    assert len(first.quarantine_selected()) == 1
    first.close()
    gallery = open_gallery(qtbot, run)
    assert record.path not in paths(gallery.shown_records())
    assert len(gallery.shown_records()) == len(epoch_evaluation(run).records) - 1
    gallery.undo_last_move()
    assert Path(record.path).is_file() and record.path in paths(gallery.shown_records())


def test_undo_takes_back_the_latest_move_of_the_log_whoever_made_it(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, data = own_run
    gallery = open_gallery(qtbot, run)
    earlier, later = [r for r in gallery.shown_records() if r.true != "blue"][:2]
    gallery.select_paths([earlier.path])
    gallery.move_selected("blue")
    # A second move, made from the command line after the gallery's.
    cli_move = DatasetEditor(data).quarantine(later.path)
    gallery.set_evaluation(run, epoch_evaluation(run))  # the next epoch's refresh
    assert later.path not in paths(gallery.shown_records())
    assert gallery.undo_last_move()
    assert Path(later.path).is_file() and not Path(cli_move.dst).exists()
    assert later.path in paths(gallery.shown_records())
    assert gallery.undo_last_move()
    assert Path(earlier.path).is_file() and earlier.path in paths(gallery.shown_records())
    assert not gallery.undo_action.isEnabled()


def test_a_file_put_back_under_a_free_name_is_followed_there(tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 2, "blue": 2}, size=8)
    image = str(data / "red" / "000.png")
    record = image_record(image, "red", {"red": 0.4, "blue": 0.6})
    history = RelabelHistory([data])
    history.relabel(record, "blue")
    Path(image).write_bytes(b"a new file took the old name")
    back = history.undo()
    assert back.dst == str(data / "red" / "000 (1).png")
    (followed,) = history.follow([record])
    assert followed.path == back.dst and followed.true == "red"
    assert not history.can_undo()


def test_a_refused_move_is_a_clear_message_and_nothing_is_lost(
        qtbot, own_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, where a read-only folder does not stop writes: simulate the refusal.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    run, data = own_run
    gallery = open_gallery(qtbot, run)
    record = next(r for r in gallery.shown_records() if r.true != "blue")
    gallery.select_paths([record.path])
    monkeypatch.setattr(os, "link", refuse)
    assert gallery.move_selected("blue") == []
    assert Path(record.path).is_file()
    assert not gallery.message.isHidden()
    assert "Permission denied" in gallery.message.text() and "not moved" in gallery.message.text()
    assert record.path in paths(gallery.shown_records())
    assert not gallery.undo_action.isEnabled()


def test_the_window_fills_the_gallery_while_training_and_after(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tlstudio.gui import MainWindow

    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6, "blue": 6})
    window = MainWindow()
    qtbot.addWidget(window)
    window.settings_panel.runs_dir.setText(str(tmp_path / "runs"))
    window.backbone_panel.set_backbone("tiny_cnn")
    with qtbot.waitSignal(window.data_panel.scanned, timeout=10_000):
        window.data_panel.set_folders(str(data))
    window.settings_panel.epochs.setValue(2)
    window.settings_panel.batch_size.setValue(8)
    window.settings_panel.image_size.setValue(16)
    loads = []
    window.evaluations.evaluated.connect(lambda run_dir, ev: loads.append(ev))
    with qtbot.waitSignal(window.trainingFinished, timeout=60_000) as finished:
        window.start_training()
    qtbot.waitUntil(lambda: not window.evaluations.busy() and len(loads) >= 2,
                    timeout=MODEL_WAIT)
    run_dir = finished.args[0]
    assert window.gallery.run_dir == run_dir
    assert paths(window.gallery.shown_records()) == paths(epoch_evaluation(run_dir).records)
    assert window.try_images.source == run_dir
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Gallery" in tabs and "Try images" in tabs
    window.close()


def test_a_run_without_stored_predictions_is_a_message_in_the_banner(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tlstudio.gui import MainWindow

    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow()
    qtbot.addWidget(window)
    (tmp_path / "empty run").mkdir()
    with qtbot.waitSignal(window.evaluations.failed, timeout=MODEL_WAIT):
        window.evaluations.load(str(tmp_path / "empty run"))
    assert window.banner.kind == "error"
    assert "no stored validation predictions" in window.banner.label.text()
    window.close()


def test_a_failed_load_of_a_run_already_left_stays_out_of_the_banner(
        qtbot, tmp_path: Path, own_run: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """File > Open run… on a run whose predictions cannot be read, then at once on another:
    the first load fails after the user has moved on, and its error is not shown over the
    second run; opened on its own, the same run's error is shown."""
    import shutil

    from PySide6.QtWidgets import QFileDialog

    from tlstudio.gui import MainWindow

    good, _ = own_run
    broken = tmp_path / "broken run"
    shutil.copytree(good, broken)
    (broken / "val_predictions.safetensors").write_bytes(b"not safetensors")
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow()
    qtbot.addWidget(window)
    failures, shown = [], []
    window.evaluations.failed.connect(lambda run_dir, message: failures.append(run_dir))
    window.evaluations.evaluated.connect(lambda run_dir, ev: shown.append(run_dir))
    for run in (broken, good):  # the second click before the first load has ended
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, run=run, **k: str(run))
        window.open_run_action.trigger()
    qtbot.waitUntil(lambda: not window.evaluations.busy() and bool(shown), timeout=MODEL_WAIT)
    assert failures == [str(broken)] and shown == [str(good)]
    assert window.banner.kind != "error", window.banner.label.text()
    assert window.gallery.run_dir == str(good)

    with qtbot.waitSignal(window.evaluations.failed, timeout=MODEL_WAIT):
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(broken))
        window.open_run_action.trigger()
    assert window.banner.kind == "error" and "broken run" in window.banner.label.text()
    window.close()


def test_no_moves_while_the_run_is_still_reading_the_files(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, _ = own_run
    gallery = open_gallery(qtbot, run)
    record = gallery.shown_records()[0]
    gallery.select_paths([record.path])
    gallery.on_training_started()
    assert not gallery.detail.move_button.isEnabled()
    assert gallery.quarantine_selected() == []
    assert Path(record.path).is_file() and "once training ends" in gallery.message.text()
    gallery.on_training_finished()
    assert gallery.detail.quarantine_button.isEnabled()
    assert len(gallery.quarantine_selected()) == 1


def test_the_thumbnail_cache_is_bounded(qtbot, shared_run: Path) -> None:
    loader = ThumbnailLoader(capacity=2)
    images = [r.path for r in epoch_evaluation(shared_run).records[:3]]
    for path in images:
        with qtbot.waitSignal(loader.ready, timeout=3000):
            assert loader.pixmap(path) is None
    assert [loader.cached(p) for p in images] == [False, True, True]  # least recent dropped
    assert not loader.pixmap(images[2]).isNull()


def many_images(tmp_path: Path, missing: int = 0) -> tuple[Path, RunEvaluation]:
    """300 tiny images (plus `missing` records of files that do not exist, shown as
    unreadable) and a made-up evaluation of them: every image predicted 'a'."""
    data = write_class_folders(tmp_path / "many", {"a": 150, "b": 150}, size=8)
    files = sorted(data.rglob("*.png")) + [data / "a" / f"gone{i}.png" for i in range(missing)]
    records = tuple(image_record(str(f), f.parent.name, {"a": 0.7, "b": 0.3}) for f in files)
    truth = [int(f.parent.name == "b") for f in files]
    evaluation = RunEvaluation(str(tmp_path), "many", evaluate_predictions(
        truth, [0] * len(files), ("a", "b")), records, ())
    return data, evaluation


def test_only_the_rows_on_screen_are_decoded(qtbot, tmp_path: Path) -> None:
    data, evaluation = many_images(tmp_path)
    gallery = PredictionGallery()
    qtbot.addWidget(gallery)
    gallery.resize(700, 400)
    gallery.set_evaluation(tmp_path, evaluation, dataset_root=data)
    gallery.show()
    first = gallery.shown_records()[0].path
    qtbot.waitUntil(lambda: gallery.thumbnails.cached(first), timeout=3000)
    qtbot.waitUntil(lambda: not gallery.thumbnails.busy(), timeout=3000)
    assert 0 < gallery.thumbnails.decoded <= 40  # a screenful, not 300


def test_a_newer_epoch_and_a_move_keep_the_scroll_position(qtbot, tmp_path: Path) -> None:
    data, evaluation = many_images(tmp_path, missing=3000)  # enough rows to need a long layout
    gallery = PredictionGallery()
    qtbot.addWidget(gallery)
    gallery.resize(700, 400)
    gallery.set_evaluation(tmp_path, evaluation, dataset_root=data)
    gallery.show()
    # Rows 150-299 are real images of class 'a' (the 150 of 'b' have higher losses).
    row = 220
    assert Path(gallery.model.record(row).path).is_file()
    gallery.view.scrollTo(gallery.model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)
    bar = gallery.view.verticalScrollBar()
    place = bar.value()
    assert place > 0
    gallery.set_evaluation(tmp_path, evaluation, dataset_root=data)
    assert bar.value() == place
    gallery.select_paths([gallery.model.record(row).path])
    assert len(gallery.quarantine_selected()) == 1
    assert bar.value() == place


def test_after_a_quarantine_the_next_image_is_shown_with_its_saliency(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, _ = own_run
    gallery = open_gallery(qtbot, run)
    first, second, third = gallery.shown_records()[1:4]
    gallery.select_paths([first.path])
    with qtbot.waitSignal(gallery.detail.saliencyShown, timeout=MODEL_WAIT):
        gallery.detail.saliency_toggle.setChecked(True)
    # The tile that took the quarantined one's place is selected and shown, saliency too.
    with qtbot.waitSignal(gallery.detail.saliencyShown, timeout=MODEL_WAIT):
        gallery.detail.quarantine_button.click()
    assert gallery.shown_records()[1] == second
    assert [r.path for r in gallery.selected_records()] == [second.path]
    assert gallery.detail.record == second
    assert gallery.detail.bars.values == list(second.top5)
    assert gallery.detail.overlay_shown()
    assert "Grad-CAM of" in gallery.detail.saliency_status.text()
    # At once ready for the next fix, without a click.
    gallery.detail.quarantine_button.click()
    assert gallery.detail.record == third


def test_fixing_a_cell_image_after_image_needs_no_click_between(
        qtbot, own_run: tuple[Path, Path]) -> None:
    run, _ = own_run
    gallery = open_gallery(qtbot, run)
    gallery.show_misclassified()
    wrong = gallery.shown_records()
    assert len(wrong) >= 2, "the tiny run is expected to make mistakes after 2 epochs"
    # The last tile moved: the one before it is shown.
    gallery.select_paths([wrong[-1].path])
    gallery.detail.saliency_toggle.setChecked(True)
    gallery.move_selected(wrong[-1].predicted)
    assert gallery.detail.record == wrong[-2]
    assert [r.path for r in gallery.selected_records()] == [wrong[-2].path]
    # Each class key fixes the shown image (here: to its predicted class) and shows the next
    # one; nothing is preset from the previous move (issue 12: that mislabelled images).
    classes = list(gallery.evaluation.classes)
    fixed = 1
    while gallery.shown_records():
        shown = gallery.detail.record
        assert shown is not None and shown.path == gallery.selected_records()[0].path
        assert not gallery.detail.move_button.isEnabled()
        qtbot.keyClick(gallery.view, str(classes.index(shown.predicted) + 1))
        assert not Path(shown.path).exists()
        fixed += 1
    assert fixed == len(wrong)
    # No mistake left: the last fixed image is shown at its new place.
    last = gallery.detail.record
    assert last is not None and last.correct and Path(last.path).is_file()
    assert gallery.detail.bars.values == list(last.top5)
    # Put back and quarantined: nothing left to show, saliency no longer asked for.
    gallery.undo_last_move()
    assert len(gallery.shown_records()) == 1 and gallery.detail.record is not None
    gallery.detail.quarantine_button.click()
    assert gallery.detail.record is None and gallery.detail.bars.values == []
    assert not gallery.detail.saliency_toggle.isChecked()


def test_a_finished_run_shows_the_saved_models_epoch(tmp_path: Path) -> None:
    """With "keep the best epoch" the gallery shows the predictions of the epoch that was
    saved (the one moves, Grad-CAM and exports are about), not simply the last one."""
    import json

    from tlstudio.gui.results.evaluation_feed import evaluation_job

    run, _ = train_tiny_run(tmp_path, CLASSES)
    metrics = json.loads((run / "metrics.json").read_text())
    for best in (1, 2):
        metrics["best_epoch"] = best
        (run / "metrics.json").write_text(json.dumps(metrics))
        _, shown = evaluation_job(None, str(run))
        expected = epoch_evaluation(run, best)
        assert [r.confidence for r in shown.records] == [r.confidence for r in expected.records]
    other = epoch_evaluation(run, 1)
    assert [r.confidence for r in other.records] != [
        r.confidence for r in epoch_evaluation(run, 2).records]  # the epochs do differ
