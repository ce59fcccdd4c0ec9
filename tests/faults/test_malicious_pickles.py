"""A pickle whose loading would run code is refused wherever tlstudio reads a user's file:
the code never runs, and the message says why in plain words, without PyTorch's advice."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from fault_commands import assert_no_traceback, run_tlstudio


class Payload:
    """Unpickled, it runs `touch marker` (pickled as a call of os.system, not as this class)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch '{self.marker}'",))


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Path, Path]:
    """A torch file that would create `marker` if unpickled, and that marker's path."""
    path, marker = tmp_path / "evil.pth", tmp_path / "MARKER"
    torch.save({"weight": torch.zeros(2), "payload": Payload(marker)}, path)
    torch.load(path, weights_only=False)  # what PyTorch's advice does: the payload runs
    assert marker.exists()
    marker.unlink()
    return path, marker


def _assert_refused_in_plain_words(done, marker: Path) -> None:
    err = assert_no_traceback(done)
    assert not marker.exists()
    assert done.returncode == 2
    assert "holds Python code or objects" in err and "safetensors" in err
    assert "weights_only" not in err and not re.search(r"\x1b\[", err)


def test_train_refuses_it_as_weights(evil, tmp_path: Path, colour_data: Path) -> None:
    path, marker = evil
    done = run_tlstudio("train", colour_data, "--backbone", "mobilenet_v3_small", "--weights",
                        path, "--out", tmp_path / "run", "--epochs", "1")
    _assert_refused_in_plain_words(done, marker)


def test_resume_refuses_it_as_a_checkpoint(evil, tiny_run: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    path, marker = evil
    run = shutil.copytree(tiny_run[0], tmp_path / "run")
    os.replace(path, run / "checkpoint.pt")
    done = run_tlstudio("train", "--resume", run, "--epochs", "3")
    _assert_refused_in_plain_words(done, marker)


def test_predict_does_not_run_it_as_a_model(evil, colour_data: Path) -> None:
    path, marker = evil
    model = path.with_suffix(".pt")
    os.replace(path, model)
    done = run_tlstudio("predict", model, colour_data / "red")
    err = assert_no_traceback(done)
    assert not marker.exists()
    assert done.returncode == 2 and "weights_only" not in err
    assert "as a TorchScript model" in err and not re.search(r"\x1b\[", err)
