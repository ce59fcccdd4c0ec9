"""`tlstudio runs` lists a runs folder as a user sees it: each run's backbone, strategy, best
validation accuracy, time and status (finished, stopped, or running while a training holds it)."""

from __future__ import annotations

import json
from pathlib import Path

from imagefolders import write_class_folders

from tlstudio.cli import main
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder
from tlstudio.training import EpochEnded, RunControl, fit


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    settings = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
                    image_size=16, batch_size=8, val_split=0.25)
    return Recipe(**{**settings, **changes})


def _listed(capsys, runs: Path) -> dict[str, dict]:
    assert main(["runs", str(runs), "--json"]) == 0
    return {Path(row["path"]).name: row for row in json.loads(capsys.readouterr().out)}


def test_runs_json_lists_finished_stopped_and_running_runs(tmp_path: Path, capsys) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6})
    runs = tmp_path / "runs"
    fit(_recipe(data, runs / "head-run"))  # the default: only the new head trains
    control = RunControl()

    def stop_after_first_epoch(event: object) -> None:
        if isinstance(event, EpochEnded):
            control.stop()

    fit(_recipe(data, runs / "stopped-run", freeze="none", epochs=3),
        callbacks=[stop_after_first_epoch], control=control)
    (runs / "notes").mkdir()  # a folder of the user's that holds no run is left out
    seen_while_running: list[dict] = []

    def list_during_the_run(event: object) -> None:
        if isinstance(event, EpochEnded) and event.epoch == 1:
            seen_while_running.append(_listed(capsys, runs))

    fit(_recipe(data, runs / "live-run", freeze="stages:1"), callbacks=[list_during_the_run])

    during = seen_while_running[0]
    assert during["live-run"]["status"] == "running"
    assert during["head-run"]["status"] == "finished"
    assert during["stopped-run"]["status"] == "stopped"
    after = _listed(capsys, runs)
    assert set(after) == {"head-run", "stopped-run", "live-run"}
    assert after["live-run"]["status"] == "finished"
    head = after["head-run"]
    assert set(head) == {"path", "backbone", "strategy", "best_val_accuracy", "seconds",
                         "status"}
    assert head["backbone"] == "tiny_cnn" and head["strategy"] == "head"
    metrics = RunFolder.at(runs / "head-run").read_metrics()
    assert head["best_val_accuracy"] == max(e["val_accuracy"] for e in metrics["epochs"])
    assert head["seconds"] > 0
    assert after["stopped-run"]["strategy"] == "full"
    assert after["live-run"]["strategy"] == "last-two"  # tiny_cnn: 3 stages, the first frozen


def test_runs_prints_a_table_and_names_an_empty_folder(tmp_path: Path, capsys) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6})
    fit(_recipe(data, tmp_path / "runs" / "first", epochs=1))
    assert main(["runs", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "first" in out and "tiny_cnn" in out and "head" in out and "finished" in out
    (tmp_path / "empty").mkdir()
    assert main(["runs", str(tmp_path / "empty")]) == 0
    assert "no runs" in capsys.readouterr().out


def test_runs_of_a_missing_folder_is_an_error_without_traceback(tmp_path: Path, capsys,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "new-user"))  # no default runs folder yet
    assert main(["runs"]) == 0
    assert f"no runs in {tmp_path / 'new-user'}" in capsys.readouterr().out
    assert main(["runs", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
