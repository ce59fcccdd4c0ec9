"""Every setting at both edges of its valid range survives CLI arguments -> Recipe -> window ->
Recipe -> JSON -> Recipe unchanged; and an opened recipe is saved back as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.imagefolders import write_class_folders
from tlstudio.cli import build_parser, recipe_from_args
from tlstudio.data.augment import PRESETS
from tlstudio.gui import MainWindow
from tlstudio.gui.main_window import app_settings
from tlstudio.models.freezing import stage_names
from tlstudio.recipe import AUGMENT_OPTIONS, Recipe
from tlstudio.settings import Setting, cli_flag, settings_of

TIMEOUT = 60_000
BACKBONE = "tiny_cnn"


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow()
    qtbot.addWidget(window)
    yield window
    window.close()


def _edge(name: str, s: Setting, edge: str) -> Any:
    """The field's value at the `edge` ("low", "high" or "none") of its valid values."""
    if edge == "none" and s.none_means:
        return None
    if s.kind == "choice":
        values = [v for v, _ in s.choices if v is not None or edge == "none"]
        return values[0] if edge == "low" else values[-1]
    if s.kind == "bool":
        return edge == "high"
    if s.kind == "int":
        return int(s.low if edge == "low" else s.high)
    if s.kind == "float":
        return float(s.low if edge == "low" else s.high)
    if name == "train_stages":
        return stage_names(BACKBONE) if edge == "high" else stage_names(BACKBONE)[-1:]
    if name == "unfreeze":
        return ("classifier.*",) if edge == "high" else ()
    return None  # paths and augment_options: set below


def _argv(recipe_values: dict[str, Any], data: Path) -> list[str]:
    """The `tlstudio train` arguments that say these values."""
    argv = ["train", str(data)]
    for name, s, default in settings_of(Recipe):
        value = recipe_values.get(name, default)
        if not s.cli or value is None or value == default:
            continue
        flag = cli_flag(name, s)
        if s.cli == "list":
            argv += [flag, *value]
        elif s.cli in ("on", "off"):
            argv += [flag]  # only given when the value differs from the default
        elif s.cli == "both":
            argv += [flag if value else "--no-" + flag[2:]]
        else:
            argv += [flag, str(value)]
    for key, value in recipe_values.get("augment_options", {}).items():
        flag = cli_flag(key, AUGMENT_OPTIONS[key])
        argv += [flag if value is True else "--no-" + flag[2:] if value is False else flag]
        argv += [] if isinstance(value, bool) else [str(value)]
    return argv


def _edge_values(edge: str, tmp_path: Path) -> dict[str, Any]:
    values = {name: _edge(name, s, edge) for name, s, _ in settings_of(Recipe)
              if s.cli and s.kind not in ("path", "text", "dict")}
    values["backbone"] = BACKBONE
    values["out_dir"] = str(tmp_path / "runs" / edge)
    values["weights"] = str(tmp_path / "w.pt") if edge == "high" else None
    if edge == "high":  # warm-up at most the epochs, head-only epochs fewer than them
        values["head_epochs"] = values["epochs"] - 1
    # A scikit-learn head fits on a frozen backbone's unaugmented features, which the other
    # edges do not all allow: the trained linear head stays (test_classical_heads: the others).
    values["head"] = "linear"
    # Training on all images holds none out, which early stopping, plateau, folds and auto
    # adaptation need: it is refused beside their edges (test_all_data covers it on its own).
    values["all_data"] = False
    if values["adapt"] != "none":  # adapting needs target images (auto, labelled ones too)
        values["target_dir"] = str(tmp_path / "target")
        values["target_val_dir"] = str(tmp_path / "target_val")
    preset = PRESETS[values["augment"]]
    options = {key: _edge(key, s, edge) for key, s in AUGMENT_OPTIONS.items()}
    values["augment_options"] = {k: v for k, v in options.items() if v != preset[k]}
    return values


@pytest.mark.parametrize("edge", ["low", "high", "none"])
def test_edges_survive_cli_window_and_json(qtbot, window: MainWindow, tmp_path: Path,
                                           edge: str) -> None:
    data = write_class_folders(tmp_path / "data", {"a": 3, "b": 3})
    values = _edge_values(edge, tmp_path)
    from_cli = recipe_from_args(build_parser().parse_args(_argv(values, data)))
    for name, value in values.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(from_cli, name) == expected, name  # the CLI said what was meant
    with qtbot.waitSignal(window.data_panel.scanned, timeout=TIMEOUT):
        window.apply_recipe(from_cli)
    from_window = window.recipe(out_dir=from_cli.out_dir)
    assert from_window == from_cli
    assert Recipe.from_json(from_window.to_json()) == from_cli


def test_an_opened_recipe_is_saved_back_with_its_values(qtbot, window: MainWindow,
                                                        tmp_path: Path) -> None:
    """The window used to save lr 3.0 as 1.0, val_split 0.02 as 0.05 and threads null as 1."""
    data = write_class_folders(tmp_path / "data", {"a": 3, "b": 3})
    written = {"data_dir": str(data), "out_dir": str(tmp_path / "runs" / "r"),
               "backbone": BACKBONE, "lr": 3.0, "val_split": 0.02, "threads": None,
               "image_size": None, "weight_decay": 3.3e-7, "device": "mps"}
    (tmp_path / "in.json").write_text(json.dumps(written))
    with qtbot.waitSignal(window.data_panel.scanned, timeout=TIMEOUT):
        assert window.open_recipe(str(tmp_path / "in.json"))
    window.last_run_dir = written["out_dir"]
    assert window.save_recipe(str(tmp_path / "out.json"))
    saved = json.loads((tmp_path / "out.json").read_text())
    assert {key: saved[key] for key in written} == written


def test_step_four_keeps_values_saved_by_earlier_versions(qtbot, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    older = app_settings()
    for key, value in (("epochs", 7), ("lr", 0.0005), ("threads", 1), ("device", "cpu")):
        older.setValue(f"training/{key}", value)  # one key each, as before
    older.sync()
    window = MainWindow()
    qtbot.addWidget(window)
    values = window.settings_panel.values()
    assert (values["epochs"], values["lr"], values["threads"], values["device"]) == (
        7, 0.0005, 1, "cpu")
    window.close()


def test_a_recipe_from_a_newer_version_is_refused_with_the_reason(window: MainWindow,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "newer.json"
    path.write_text(json.dumps({"data_dir": str(tmp_path), "ema_decay": 0.999}))
    epochs = window.settings_panel.epochs.value()
    assert not window.open_recipe(str(path))
    assert "ema_decay" in window.banner.label.text()
    assert "newer version" in window.banner.label.text()
    assert window.settings_panel.epochs.value() == epochs  # nothing half-applied
