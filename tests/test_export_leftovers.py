"""What an export leaves besides its files: nothing when it fails (no empty format folder, a
previous export untouched), and no converter chatter on the terminal or in `export --json`.

Needs the `[deploy]` extra (litert-torch, ai-edge-litert).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import torch
from tiny_runs import make_run

from tlstudio.cli import main
from tlstudio.errors import ExportError
from tlstudio.export import FORMATS, export_run
from tlstudio.export.metadata import EXPORT_RECORD_KEYS


@pytest.fixture
def run_dir(tmp_path: Path, colour_data: Path) -> Path:
    return make_run(tmp_path / "run", colour_data, classes=("blue", "green", "red"))


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<folder>"
        for p in sorted(folder.rglob("*"))
    }


def _break_head(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """The format writes a model whose head is negated, so its check disagrees."""
    original = FORMATS[fmt].write

    def write_broken(model, *rest):
        broken = copy.deepcopy(model)
        with torch.no_grad():
            broken.classifier.head.weight.neg_()
        return original(broken, *rest)

    monkeypatch.setitem(FORMATS, fmt, dataclasses.replace(FORMATS[fmt], write=write_broken))


def test_a_failed_first_export_leaves_no_folder_behind(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _files(run_dir)
    _break_head(monkeypatch, "tflite")
    with pytest.raises(ExportError, match="disagrees"):
        export_run(run_dir, "tflite", quantize="int8")
    assert _files(run_dir) == before
    assert not (run_dir / "export").exists()


def test_a_failed_export_beside_an_earlier_one_leaves_that_one_intact(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_run(run_dir, "onnx")
    before = _files(run_dir)
    _break_head(monkeypatch, "onnx")
    with pytest.raises(ExportError, match="disagrees"):
        export_run(run_dir, "onnx", quantize="int8")
    assert _files(run_dir) == before
    assert sorted(p.name for p in (run_dir / "export").iterdir()) == ["onnx"]


def test_litert_export_json_prints_only_the_record_and_no_converter_lines(
    run_dir: Path, colour_data: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", str(run_dir), "--format", "tflite", "--quantize", "int8", "--json"]
    assert main(argv) == 0
    out, err = capfd.readouterr()  # the file descriptors: native code's output counts too
    assert list(json.loads(out)) == list(EXPORT_RECORD_KEYS)
    assert err == ""
    image = str(next(colour_data.rglob("*.png")))
    assert main(["predict", json.loads(out)["path"], image]) == 0
    out, err = capfd.readouterr()  # the interpreter's "INFO: Created ... delegate" line
    assert out.startswith(f"{image}: ") and len(out.splitlines()) == 1 and err == ""
