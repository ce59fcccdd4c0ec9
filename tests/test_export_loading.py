"""predict, serve and Try images run the deploy exports (OpenVINO .xml, LiteRT .tflite) with
their own runtimes, reading the classes from the file alone, and refuse a Core ML package where
Core ML cannot run, saying why.

Needs the `[deploy]` extra (openvino, ai-edge-litert, litert-torch, coremltools).
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
from pathlib import Path

import pytest
from tiny_runs import make_run

from tlstudio.cli import main
from tlstudio.errors import ModelFileError
from tlstudio.export import export_run, open_model
from tlstudio.inference import load_predictor
from tlstudio.serve import open_server

SORTED_CLASSES = ("blue", "green", "red")


@pytest.fixture
def run_dir(tmp_path: Path, colour_data: Path) -> Path:
    return make_run(tmp_path / "run", colour_data, classes=SORTED_CLASSES)


def moved_alone(export: str, tmp_path: Path) -> Path:
    """The exported file (and OpenVINO's weights) copied away from the run and its examples."""
    source = Path(export)
    alone = tmp_path / "alone"
    alone.mkdir()
    for sibling in source.parent.glob(f"{source.stem}.*"):
        if sibling.suffix in (source.suffix, ".bin"):
            shutil.copy(sibling, alone / sibling.name)
    return alone / source.name


@pytest.mark.parametrize(
    ("fmt", "quantize"), [("openvino", None), ("tflite", None), ("tflite", "int8")]
)
def test_predict_runs_the_export_with_its_runtime(
    run_dir: Path,
    colour_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    quantize: str | None,
) -> None:
    model = moved_alone(export_run(run_dir, fmt, quantize=quantize).path, tmp_path)
    images = [str(p) for p in sorted(colour_data.rglob("*.png"))[::4]]
    assert main(["predict", str(model), *images, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = load_predictor(run_dir).predict_paths(images)[0]
    assert [p["label"] for p in printed] == [p.label for p in expected]
    assert [p["probability"] for p in printed] == pytest.approx(
        [p.probability for p in expected], abs=0.02
    )
    assert open_model(model).classes == SORTED_CLASSES


def test_serve_answers_with_a_tflite_export(run_dir: Path, colour_data: Path) -> None:
    model = export_run(run_dir, "tflite").path
    image = sorted(colour_data.rglob("*.png"))[0]
    expected = load_predictor(run_dir).predict_paths([str(image)])[0][0]
    server = open_server(open_model(model), "127.0.0.1", 0, log=lambda _line: None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=20)
        connection.request("POST", "/predict", body=image.read_bytes())
        response = connection.getresponse()
        status, answer = response.status, json.loads(response.read())
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(20)
    assert status == 200 and answer[0]["label"] == expected.label


def test_a_core_ml_package_is_refused_with_the_reason(
    run_dir: Path, colour_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = export_run(run_dir, "coreml").path
    image = str(sorted(colour_data.rglob("*.png"))[0])
    capsys.readouterr()  # the converter's own notes
    assert main(["predict", package, image]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Core ML runs only on macOS" in err
    assert "Traceback" not in err


def test_a_tflite_file_without_our_description_is_refused(run_dir: Path, tmp_path: Path) -> None:
    from tlstudio.export.litert_metadata import METADATA_NAME

    model = Path(export_run(run_dir, "tflite").path)
    stripped = tmp_path / "other.tflite"
    renamed = b"x" * len(METADATA_NAME)  # same length: the flatbuffer stays valid
    stripped.write_bytes(model.read_bytes().replace(METADATA_NAME.encode(), renamed))
    with pytest.raises(ModelFileError, match="names no classes"):
        open_model(stripped)
    with pytest.raises(ModelFileError, match="not a model tlstudio can load"):
        open_model(model.with_suffix(".json").parent / "example.py")
