"""File and folder names that are not valid UTF-8 (any bytes but / on Linux) work in every
command: printed escaped (\\xNN), stored losslessly, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from fault_commands import assert_no_traceback, run_tlstudio
from imagefolders import write_class_folders

from tlstudio.filenames import escape_undecodable, printable, stored_bytes

BAD_FILE = os.fsdecode(b"bad\xff.png")  # 0xff never occurs in UTF-8
BAD_CLASS = os.fsdecode(b"caf\xe9")  # "café" in Latin-1


@pytest.fixture(scope="module")
def latin1_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Classes 'red' and b'caf\\xe9', and an image named b'bad\\xff.png' in each."""
    root = write_class_folders(tmp_path_factory.mktemp("names") / "data",
                               {"red": 6, BAD_CLASS: 6})
    for name in ("red", BAD_CLASS):
        os.rename(root / name / "000.png", root / name / BAD_FILE)
    return root


@pytest.fixture(scope="module")
def latin1_run(latin1_data: Path) -> Path:
    run = latin1_data.parent / "run"
    done = run_tlstudio("train", latin1_data, "--backbone", "tiny_cnn", "--out", run,
                        "--epochs", "1", "--image-size", "16", "--freeze", "none",
                        "--val-split", "0.5")
    assert_no_traceback(done)
    assert done.returncode == 0
    return run


def test_printable_escapes_undecodable_bytes_and_control_characters() -> None:
    assert printable(BAD_FILE) == "bad\\xff.png"
    assert printable("two\nlines\t.png") == "two\\nlines\\t.png"
    assert printable("café 猫.png") == "café 猫.png"  # valid UTF-8 is left alone
    assert stored_bytes(BAD_FILE) == b"bad\xff.png"
    message = f"Image '{BAD_FILE}'\ncan no longer be read"
    assert escape_undecodable(message) == "Image 'bad\\xff.png'\ncan no longer be read"


def test_training_stores_the_names_losslessly(latin1_run: Path, latin1_data: Path) -> None:
    model = json.loads((latin1_run / "model.json").read_text(encoding="utf-8"))
    assert set(model["classes"]) == {"red", BAD_CLASS}  # \udce9 in JSON reads back exactly
    recipe = json.loads((latin1_run / "recipe.json").read_text(encoding="utf-8"))
    assert os.fsencode(recipe["data_dir"]) == os.fsencode(latin1_data)


def test_predict_prints_escaped_names(latin1_run: Path, latin1_data: Path) -> None:
    done = run_tlstudio("predict", latin1_run, latin1_data / BAD_CLASS)
    assert_no_traceback(done)
    assert done.returncode == 0
    out = done.stdout.decode("utf-8")  # strict: the output is valid UTF-8
    line = next(line for line in out.splitlines() if "bad" in line)
    assert line.startswith(printable(latin1_data / BAD_CLASS / BAD_FILE) + ": ")


def test_predict_json_and_csv_keep_the_exact_bytes(latin1_run: Path, latin1_data: Path,
                                                  tmp_path: Path) -> None:
    table = tmp_path / "predictions.csv"
    done = run_tlstudio("predict", latin1_run, latin1_data, "--json", "--csv", table)
    assert_no_traceback(done)
    assert done.returncode == 0
    paths = {os.fsencode(p["path"]) for p in json.loads(done.stdout)}
    assert os.fsencode(latin1_data / BAD_CLASS / BAD_FILE) in paths
    assert os.fsencode(latin1_data / "red" / BAD_FILE) in paths
    assert {os.fsencode(p["label"]) for p in json.loads(done.stdout)} <= {b"red", b"caf\xe9"}
    rows = list(csv.reader(io.StringIO(table.read_bytes().decode("utf-8", "surrogateescape"))))
    assert os.fsencode(latin1_data / BAD_CLASS / BAD_FILE) in {os.fsencode(r[0]) for r in rows}


def test_export_then_predict_with_the_export(latin1_run: Path, latin1_data: Path,
                                            tmp_path: Path) -> None:
    onnx = tmp_path / "model.onnx"
    done = run_tlstudio("export", latin1_run, "--format", "onnx", "--out", onnx)
    assert_no_traceback(done)
    assert done.returncode == 0
    done = run_tlstudio("predict", onnx, latin1_data / BAD_CLASS / BAD_FILE)
    assert_no_traceback(done)
    assert done.returncode == 0
    assert "bad\\xff.png" in done.stdout.decode("utf-8")


def test_report_shows_the_names_escaped(latin1_run: Path, latin1_data: Path,
                                        tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = run_tlstudio("report", latin1_run, "--data", latin1_data, "--out", out)
    assert_no_traceback(done)
    assert done.returncode == 0
    html = out.read_bytes().decode("utf-8")  # strict: a valid UTF-8 page
    assert "caf\\xe9" in html


@pytest.mark.parametrize("command", [
    ["train", "DATA", "--out", os.fsdecode(b"run\xfe"), "--backbone", "tiny_cnn"],
    ["train", "--resume", os.fsdecode(b"run\xfe")],
    ["export", "RUN", "--format", "onnx", "--out", os.fsdecode(b"model\xfe.onnx")],
    ["predict", os.fsdecode(b"model\xfe.onnx"), "DATA"],
    ["report", os.fsdecode(b"run\xfe")],
])
def test_model_files_with_such_names_are_refused_before_any_work(
        command: list[str], latin1_run: Path, latin1_data: Path, tmp_path: Path) -> None:
    # safetensors, ONNX Runtime and TorchScript take UTF-8 paths only: say so, create nothing
    args = [{"DATA": str(latin1_data), "RUN": str(latin1_run)}.get(a, a) for a in command]
    done = run_tlstudio(*args, cwd=tmp_path)
    err = assert_no_traceback(done)
    assert done.returncode == 2
    assert err.startswith("error: ") and "\\xfe" in err
    assert "has a name that is not valid UTF-8" in err
    assert list(tmp_path.iterdir()) == []


def test_lr_find_and_resume_read_such_names(latin1_run: Path, latin1_data: Path,
                                            tmp_path: Path) -> None:
    plot = tmp_path / os.fsdecode(b"curve\xff.png")  # written by Python itself: allowed
    done = run_tlstudio("lr-find", latin1_data, "--backbone", "tiny_cnn", "--image-size", "16",
                        "--freeze", "none", "--steps", "5", "--plot", plot)
    assert_no_traceback(done)
    assert plot.is_file() and "plot written to" in done.stdout.decode("utf-8")
    assert "curve\\xff.png" in done.stdout.decode("utf-8")
    done = run_tlstudio("train", "--resume", latin1_run, "--epochs", "2")  # rescans the data
    assert_no_traceback(done)
    assert done.returncode == 0


def test_a_data_folder_with_such_a_name_needs_out_for_its_run(latin1_data: Path,
                                                              tmp_path: Path) -> None:
    data = tmp_path / BAD_CLASS  # the default run folder is runs/<data folder name>
    os.symlink(latin1_data, data)
    done = run_tlstudio("train", data, "--backbone", "tiny_cnn", cwd=tmp_path)
    err = assert_no_traceback(done)
    assert done.returncode == 2 and "give it a UTF-8 name with --out" in err
    done = run_tlstudio("train", data, "--backbone", "tiny_cnn", "--out", tmp_path / "run",
                        "--epochs", "1", "--image-size", "16", "--val-split", "0.5",
                        cwd=tmp_path)
    assert_no_traceback(done)
    assert done.returncode == 0 and (tmp_path / "run" / "model.safetensors").is_file()
