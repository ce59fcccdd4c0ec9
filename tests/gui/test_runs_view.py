"""The Runs tab, clicked as a user does: the runs folder's runs with their columns (running and
stopped ones recognisable), Open, Compare runs (both runs' curves and the setting that differs)
and Ensemble… (a new run in the list, or the reason it refuses)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from imagefolders import write_class_folders
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QPushButton
from window_helpers import choose_data, contrast

from tlstudio.gui import MainWindow
from tlstudio.gui.runs.comparison_view import RunsComparisonView
from tlstudio.gui.shared.palette_colours import base_colour, series_colour
from tlstudio.gui.training.plots import TrainingPlots
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, claim_run_folder
from tlstudio.training import EpochEnded, RunControl, fit

WAIT = 20_000


@pytest.fixture(scope="module")
def made_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """slow (head, lr 0.001, 2 epochs), fast (every stage, lr 0.01, 3 epochs), stopped (after
    its first of 3 epochs), other (other classes) and all (every image trained, none held out)."""
    base = tmp_path_factory.mktemp("runs-tab")
    data = write_class_folders(base / "data", {"red": 8, "green": 8, "blue": 8})
    other = write_class_folders(base / "other", {"cat": 6, "dog": 6})
    common = dict(backbone="tiny_cnn", image_size=16, batch_size=8, val_split=0.25)
    runs = base / "runs"
    fit(Recipe(data_dir=str(data), out_dir=str(runs / "slow"), epochs=2, lr=1e-3, **common))
    fit(
        Recipe(
            data_dir=str(data),
            out_dir=str(runs / "fast"),
            epochs=3,
            lr=1e-2,
            freeze="none",
            **common,
        )
    )
    fit(Recipe(data_dir=str(other), out_dir=str(runs / "other"), epochs=1, **common))
    fit(Recipe(data_dir=str(data), out_dir=str(runs / "all"), epochs=2, all_data=True, **common))
    control = RunControl()

    def stop(event: object) -> None:
        if isinstance(event, EpochEnded):
            control.stop()

    fit(
        Recipe(data_dir=str(data), out_dir=str(runs / "stopped"), epochs=3, **common),
        callbacks=[stop],
        control=control,
    )
    return runs


@pytest.fixture
def runs(made_runs: Path, window: MainWindow) -> Path:
    """A copy of the runs in the window's runs folder (tests may add to it)."""
    folder = Path(window.settings_panel.runs_dir.text())
    shutil.copytree(made_runs, folder)
    return folder


def show_runs_tab(qtbot, window: MainWindow) -> None:
    window.show()
    bar = window.tabs.tabBar()
    index = window.tabs.indexOf(window.runs_view)
    with qtbot.waitSignal(window.runs_view.listed, timeout=WAIT):
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentWidget() is window.runs_view


def rows(window: MainWindow) -> dict[str, list[str]]:
    model = window.runs_view.model
    return {
        model.index(r, 0).data(): [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    }


def click_rows(qtbot, window: MainWindow, names: list[str]) -> None:
    """Click the first run's row, Ctrl+click the others."""
    table, model = window.runs_view.table, window.runs_view.model
    for i, name in enumerate(names):
        row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == name)
        modifier = Qt.KeyboardModifier.ControlModifier if i else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(
            table.viewport(),
            Qt.MouseButton.LeftButton,
            modifier,
            table.visualRect(model.index(row, 0)).center(),
        )
    assert [r.name for r in window.runs_view.selected()] == sorted(
        names,
        key=lambda n: next(r for r in range(model.rowCount()) if model.index(r, 0).data() == n),
    )


def button(window: MainWindow, name: str) -> QPushButton:
    found = window.findChild(QPushButton, name)
    assert found is not None, name
    return found


def test_the_runs_tab_lists_each_run_with_its_columns(qtbot, window, runs: Path) -> None:
    show_runs_tab(qtbot, window)
    header = window.runs_view.model
    assert [header.headerData(c, Qt.Orientation.Horizontal) for c in range(7)] == [
        "Run",
        "Date",
        "Backbone",
        "Strategy",
        "Best val accuracy",
        "Time",
        "Status",
    ]
    listed = rows(window)
    assert set(listed) == {"slow", "fast", "other", "stopped", "all"}
    slow_epochs = RunFolder.at(runs / "slow").read_metrics()["epochs"]
    best = max(e["val_accuracy"] for e in slow_epochs)
    assert listed["slow"][2:5] == ["tiny_cnn", "head", f"{best:.1%}"]
    assert listed["slow"][6] == "finished" and listed["slow"][5].endswith(" s")
    assert listed["fast"][3] == "full"
    assert listed["stopped"][6] == "stopped"
    model = window.runs_view.model
    stopped, finished = (model.index(model.row_of(str(runs / n)), 0) for n in ("stopped", "slow"))
    assert stopped.data(Qt.ItemDataRole.FontRole).italic()
    assert not finished.data(Qt.ItemDataRole.FontRole).italic()
    dimmed = stopped.data(Qt.ItemDataRole.ForegroundRole)
    text = window.runs_view.table.palette().color(QPalette.ColorRole.Text)
    assert dimmed != text and contrast(dimmed, base_colour()) >= 4.5  # stands back, readable
    # A run that is training now is listed as running once Refresh is clicked.
    with claim_run_folder(runs / "live"):
        with qtbot.waitSignal(window.runs_view.listed, timeout=WAIT):
            qtbot.mouseClick(button(window, "refreshRunsButton"), Qt.MouseButton.LeftButton)
        assert rows(window)["live"][6] == "● running"


def test_a_run_trained_in_the_window_joins_the_list_when_it_ends(qtbot, window, digits) -> None:
    show_runs_tab(qtbot, window)
    assert rows(window) == {}
    window.settings_panel.image_size.setValue(16)
    window.settings_panel.batch_size.setValue(8)
    window.settings_panel.epochs.setValue(1)
    choose_data(qtbot, window, digits)
    with qtbot.waitSignal(window.trainingFinished, timeout=60_000) as finished:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    show_runs_tab(qtbot, window)  # the Training tab showed meanwhile; back to Runs
    assert rows(window)[Path(finished.args[0]).name][6] == "finished"


def test_double_click_opens_a_run_as_the_current_run(qtbot, window, runs: Path) -> None:
    show_runs_tab(qtbot, window)
    click_rows(qtbot, window, ["fast"])
    table, model = window.runs_view.table, window.runs_view.model
    row = model.row_of(str(runs / "fast"))
    with qtbot.waitSignal(window.results_view.evaluationShown, timeout=WAIT):
        qtbot.mouseDClick(
            table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=table.visualRect(model.index(row, 0)).center(),
        )
    assert Path(window.current_run()) == runs / "fast"
    assert window.tabs.currentWidget() is window.results_view


def test_compare_runs_overlays_both_curves_and_names_the_differing_settings(
    qtbot, window, runs: Path
) -> None:
    show_runs_tab(qtbot, window)
    compare = button(window, "compareRunsButton")
    click_rows(qtbot, window, ["slow"])
    assert not compare.isEnabled()  # one run: nothing to compare with
    click_rows(qtbot, window, ["slow", "fast"])
    with qtbot.waitSignal(window.runs_view.compared, timeout=WAIT):
        qtbot.mouseClick(compare, Qt.MouseButton.LeftButton)
    view = window.runs_view.comparison
    assert view.isVisible()
    shown = [r.name for r in window.runs_view.selected()]
    for name, curves in zip(shown, view.curves, strict=True):
        epochs = RunFolder.at(runs / name).read_metrics()["epochs"]
        x, y = curves["val_loss"].getData()
        assert list(x) == list(range(1, len(epochs) + 1))
        assert list(y) == pytest.approx([e["val_loss"] for e in epochs])
        _, accuracy = curves["train_accuracy"].getData()
        assert list(accuracy) == pytest.approx([100 * e["train_accuracy"] for e in epochs])
    colours = {c["val_loss"].opts["pen"].color().name() for c in view.curves}
    assert len(colours) == 2  # one colour per run
    legend = view.legend.text()  # each run's name after its colour
    for name, curves in zip(shown, view.curves, strict=True):
        colour = curves["val_loss"].opts["pen"].color().name()
        assert re.search(f"color:{colour}[^>]*>[^<]*</span>&nbsp;{name}", legend), legend
    table = view.differences
    settings = {
        table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, table.columnCount())]
        for r in range(table.rowCount())
    }
    by_name = dict(zip(shown, settings["Learning rate"], strict=True))
    assert by_name == {"slow": "0.001", "fast": "0.01"}
    assert "Training folder" not in settings  # the same in both: not listed
    lr_row = list(settings).index("Learning rate")
    bold = [table.item(lr_row, c).font().bold() for c in range(1, table.columnCount())]
    assert bold == [False, True]  # the second differs from the first run's value
    metrics = view.metrics
    assert [metrics.item(r, 0).text() for r in range(metrics.rowCount())] == shown
    assert {metrics.item(r, 3).text() for r in range(2)} == {"2", "3"}  # epochs


def test_compare_runs_draws_the_training_curves_of_a_run_without_validation(
    qtbot, window, runs: Path
) -> None:
    show_runs_tab(qtbot, window)
    click_rows(qtbot, window, ["slow", "all"])
    with qtbot.waitSignal(window.runs_view.compared, timeout=WAIT):
        qtbot.mouseClick(button(window, "compareRunsButton"), Qt.MouseButton.LeftButton)
    view = window.runs_view.comparison
    drawn = dict(zip([r.name for r in window.runs_view.selected()], view.curves, strict=True))
    epochs = RunFolder.at(runs / "all").read_metrics()["epochs"]
    for key in ("train_loss", "train_accuracy"):
        x, y = drawn["all"][key].getData()
        scale = 100 if key.endswith("accuracy") else 1
        assert list(x) == [1, 2]
        assert list(y) == pytest.approx([scale * e[key] for e in epochs])
    for key in ("val_loss", "val_accuracy"):
        x, _ = drawn["all"][key].getData()
        assert x is None or len(x) == 0  # nothing was held out to validate on
        assert len(drawn["slow"][key].getData()[0]) == 2  # the other run's are still there
    assert "Training curves only for all: no images were held out" in view.title.text()


def test_ensemble_combines_the_selected_runs_into_a_run_in_the_list(
    qtbot, window, runs: Path
) -> None:
    show_runs_tab(qtbot, window)
    click_rows(qtbot, window, ["slow", "fast"])
    ensemble = button(window, "ensembleButton")
    qtbot.mouseClick(ensemble, Qt.MouseButton.LeftButton)
    dialog = window.runs_view.ensemble_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.method.setCurrentIndex(dialog.method.findData("weighted"))
    out = runs / "combined"
    dialog.out.setText(str(out))
    with qtbot.waitSignal(window.runs_view.ensembleBuilt, timeout=WAIT):
        qtbot.mouseClick(dialog.buttons.buttons()[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "combined" in rows(window), timeout=WAIT)
    assert rows(window)["combined"][3] == "ensemble-weighted"
    assert [r.name for r in window.runs_view.selected()] == ["combined"]
    click_rows(qtbot, window, ["combined", "slow"])
    assert "itself an ensemble" in ensemble.toolTip()
    click_rows(qtbot, window, ["combined"])
    with qtbot.waitSignal(window.results_view.evaluationShown, timeout=WAIT):
        qtbot.mouseClick(button(window, "openRunButton"), Qt.MouseButton.LeftButton)
    assert Path(window.current_run()) == out


def test_ensemble_refuses_runs_of_other_classes_and_says_why(qtbot, window, runs: Path) -> None:
    show_runs_tab(qtbot, window)
    click_rows(qtbot, window, ["slow", "other"])
    ensemble = button(window, "ensembleButton")
    assert "do not share classes" in ensemble.toolTip()
    before = sorted(p.name for p in runs.iterdir())
    qtbot.mouseClick(ensemble, Qt.MouseButton.LeftButton)
    assert window.runs_view.ensemble_dialog is None
    message = window.banner.label.text()
    assert "do not share classes" in message and "cat, dog" in message
    assert "Traceback" not in message
    assert sorted(p.name for p in runs.iterdir()) == before


@pytest.mark.parametrize(
    "window_colours", [("#efefef", "#ffffff", "#000000"), ("#2b2b2b", "#1e1e1e", "#eeeeee")]
)
def test_run_colours_and_legends_read_on_light_and_dark_palettes(qapp, window_colours) -> None:
    before = qapp.palette()
    palette = QPalette()
    for role, colour in zip(("Window", "Base", "Text"), window_colours, strict=True):
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    qapp.setPalette(palette)
    try:
        view = RunsComparisonView()
        background = base_colour()
        assert view.loss_plot.backgroundBrush().color() == background
        for i in range(10):  # every run's colour stands out from the plot (3:1, WCAG graphics)
            assert contrast(QColor(series_colour(i)), background) >= 3, series_colour(i)
        # The training plots' legends, styled by the same function, take the palette's colours.
        legend = TrainingPlots().accuracy_plot.getPlotItem().legend
        text = QColor(legend.opts["labelTextColor"])
        assert contrast(text, legend.opts["brush"].color()) >= 4.5
    finally:
        qapp.setPalette(before)
