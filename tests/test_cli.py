"""Every command as a user runs it: output, exit codes, messages without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tlstudio.cli import main


def _train(data: Path, run: Path) -> int:
    return main(["train", str(data), "--backbone", "tiny_cnn", "--out", str(run),
                 "--epochs", "2", "--image-size", "16", "--batch-size", "8", "--freeze", "none",
                 "--val-split", "0.25"])


@pytest.fixture
def trained_run(colour_data: Path, tmp_path: Path) -> Path:
    assert _train(colour_data, tmp_path / "run") == 0
    return tmp_path / "run"


def test_backbones_lists_names_and_sources(capsys, hub_dir) -> None:
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "tf_efficientnet_lite0" in out and "bundled" in out and "download" in out
    assert main(["backbones", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    lite0 = next(r for r in rows if r["name"] == "tf_efficientnet_lite0")
    assert lite0 == {**lite0, "input_size": 224, "weights": "bundled", "parameters": 4_652_008}


def test_train_writes_the_run_and_shows_progress(colour_data: Path, tmp_path, capsys) -> None:
    trained_run = tmp_path / "run"
    assert _train(colour_data, trained_run) == 0
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "val accuracy" in err
    # each epoch names every class's validation accuracy
    per_class = [line for line in err.splitlines() if line.strip().startswith("per class:")]
    assert len(per_class) == 2
    assert all(name in per_class[-1] for name in ("red", "green", "blue"))
    assert {"metrics.json", "model.json", "model.safetensors", "recipe.json"} <= {
        p.name for p in trained_run.iterdir()
    }


def test_train_replays_a_recipe_with_overrides(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "replayed"
    assert main(["train", "--recipe", str(trained_run / "recipe.json"), "--out", str(out),
                 "--epochs", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 1
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["backbone"] == "tiny_cnn" and recipe["epochs"] == 1


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "safetensors"])
def test_export_reports_the_checked_file(trained_run: Path, tmp_path: Path, fmt, capsys) -> None:
    out = tmp_path / f"model.{fmt}"
    assert main(["export", str(trained_run), "--format", fmt, "--out", str(out)]) == 0
    assert out.is_file()
    message = capsys.readouterr().out
    assert str(out) in message and "differ by at most" in message


def test_predict_json_from_run_and_onnx(trained_run: Path, colour_data: Path, tmp_path, capsys):
    onnx = tmp_path / "m.onnx"
    main(["export", str(trained_run), "--format", "onnx", "--out", str(onnx)])
    capsys.readouterr()
    results = []
    for model in (trained_run, onnx):
        assert main(["predict", str(model), str(colour_data / "red"), "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert len(results[0]) == 8
    first = results[0][0]
    assert set(first) == {"path", "label", "probability", "top"}
    assert first["label"] == first["top"][0][0]
    assert [r["label"] for r in results[0]] == [r["label"] for r in results[1]]


def test_predict_lists_unreadable_files(trained_run: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.png").write_text("not an image")
    # nothing predicted: the job was not done, so the exit code says so
    assert main(["predict", str(trained_run), str(tmp_path / "notes.png")]) == 2
    err = capsys.readouterr().err
    assert f"skipped {tmp_path / 'notes.png'}: not an image" in err
    assert "error: nothing to predict" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "/no/such/folder"], "does not exist"),
        (["train", "."], "at least two class"),
        (["predict", "/no/such/run", "x.png"], "/no/such/run"),
        (["export", "/no/such/run", "--format", "onnx"], "not a tlstudio run"),
        (["train", ".", "--freeze", "half"], "freeze"),
    ],
)
def test_user_errors_exit_2_with_a_message_not_a_traceback(tmp_path, monkeypatch, capsys,
                                                            args, message) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_console_script_runs_as_a_module() -> None:
    done = subprocess.run([sys.executable, "-m", "tlstudio", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "train" in done.stdout and "export" in done.stdout


def test_core_imports_without_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None; sys.modules['pyqtgraph'] = None\n"
        "import importlib, pkgutil, tlstudio\n"
        "names = [m.name for m in pkgutil.walk_packages(tlstudio.__path__, 'tlstudio.')\n"
        "         if not m.name.startswith(('tlstudio.gui', 'tlstudio.__main__'))]\n"
        "assert {'tlstudio.evaluation.report', 'tlstudio.training.engine'} <= set(names)\n"
        "for name in names: importlib.import_module(name)  # every core module, not a few\n"
        "assert not any(m.startswith(('PySide6.', 'shiboken')) for m in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_demo_trains_the_bundled_backbone_and_exports(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--headless", "--out", str(tmp_path), "--epochs", "2"]) == 0
    exported = Path(capsys.readouterr().out.strip().splitlines()[-1].split(": ", 1)[1])
    assert exported.suffix == ".onnx" and exported.is_file()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["backbone"] == "tf_efficientnet_lite0" and metrics["feature_cache"]
    assert metrics["epochs"][-1]["val_accuracy"] > 0.6


def test_predict_csv_for_spreadsheets(trained_run: Path, colour_data: Path, tmp_path, capsys):
    import csv

    out = tmp_path / "predictions.csv"
    assert main(["predict", str(trained_run), str(colour_data), "--top", "2", "--csv",
                 str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(printed) == 24
    assert list(rows[0]) == ["path", "label", "probability", "top1_label", "top1_probability",
                             "top2_label", "top2_probability"]
    assert rows[0]["label"] == printed[0]["label"] == rows[0]["top1_label"]
    assert float(rows[0]["probability"]) == pytest.approx(printed[0]["probability"], abs=1e-6)


def test_report_writes_one_html_file_with_the_metrics_table(trained_run: Path, tmp_path, capsys):
    from html.parser import HTMLParser

    out = tmp_path / "report.html"
    assert main(["report", str(trained_run), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out

    class MetricsRows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.in_metrics, self.rows, self.external = False, 0, []

        def handle_starttag(self, tag, attrs) -> None:
            attrs = dict(attrs)
            if tag == "table":
                self.in_metrics = attrs.get("id") == "metrics"
            if self.in_metrics and tag == "tr":
                self.rows += 1
            src = attrs.get("src") or attrs.get("href") or ""
            if src.startswith("http"):
                self.external.append(src)

    parser = MetricsRows()
    parser.feed(out.read_text())
    assert parser.rows == 1 + 3  # header and one row per class
    assert parser.external == []


def test_no_arguments_without_a_display_explains_instead_of_aborting(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 1
    assert "No display found" in capsys.readouterr().err
