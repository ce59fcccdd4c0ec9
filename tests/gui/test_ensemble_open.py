"""The window's Open run accepts an ensemble's run folder: its confusion matrix is the
ensemble's on the validation images its members share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from imagefolders import write_class_folders
from sklearn.metrics import confusion_matrix

from tlstudio.ensemble import build_ensemble
from tlstudio.gui.results.results_view import ResultsView
from tlstudio.recipe import Recipe
from tlstudio.runs import load_predictions
from tlstudio.training import fit

WAIT = 10_000


@pytest.fixture
def ensemble(tmp_path: Path) -> Path:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6, "blue": 6})
    runs = []
    for name, size in (("small", 16), ("large", 24)):
        recipe = Recipe(data_dir=str(data), out_dir=str(tmp_path / name), backbone="tiny_cnn",
                        epochs=1, image_size=size, batch_size=8, val_split=0.35, freeze="none")
        runs.append(fit(recipe).run_dir)
    build_ensemble(runs, "average", tmp_path / "ens")
    return tmp_path / "ens"


def test_open_run_shows_an_ensembles_matrix(qtbot, ensemble: Path) -> None:
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.evaluationShown, timeout=WAIT):
        assert view.open_run(str(ensemble))
    stored = load_predictions(ensemble)
    expected = confusion_matrix(stored.targets, stored.probabilities(1).argmax(1),
                                labels=range(len(stored.classes)))
    assert view.matrix.classes == stored.classes
    assert np.array_equal(np.array(view.matrix.counts), expected)
    view.cancel()
