"""torchrun: two CPU processes (gloo) train the same weights as one process over the same
global batches; only rank 0 writes the run folder and prints; resume and the feature cache work.

The two-process runs are the real command (`torchrun --nproc_per_node=2 -m tlstudio train`),
started as a subprocess with a time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from imagefolders import write_class_folders
from safetensors.torch import load_file

from tlstudio.cli import main
from tlstudio.training.distributed import Distributed, RankBatchSampler

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN_TIMEOUT = 240


@pytest.fixture(scope="module")
def split_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 training images per class (36: six global batches of 6), 4 validation per class."""
    root = tmp_path_factory.mktemp("ddp")
    write_class_folders(root / "train", {"red": 12, "green": 12, "blue": 12})
    write_class_folders(root / "val", {"red": 4, "green": 4, "blue": 4}, seed=1)
    return root


def train_args(data: Path, out: Path, *extra: str, epochs: int = 2) -> list[str]:
    return ["train", str(data), "--backbone", "tiny_cnn", "--out", str(out), "--epochs",
            str(epochs),
            "--image-size", "16", "--batch-size", "6", "--threads", "1", "--lr", "0.01",
            *extra]


def torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "tlstudio", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=TORCHRUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def max_weight_difference(a: Path, b: Path) -> float:
    first, second = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert first.keys() == second.keys()
    return max(float((first[k].float() - second[k].float()).abs().max()) for k in first)


def test_two_processes_train_the_weights_of_one(split_data: Path, tmp_path: Path) -> None:
    # Every batch's images go through the model (no feature cache); BatchNorm layers are
    # frozen, since on CPU each process's BatchNorm sees only its own images.
    extra = ("--no-feature-cache", "--unfreeze", "backbone.stage2.0.*")
    assert main(train_args(split_data, tmp_path / "one", *extra)) == 0
    done = torchrun(*train_args(split_data, tmp_path / "two", *extra))

    assert max_weight_difference(tmp_path / "one", tmp_path / "two") <= 1e-5
    metrics = [json.loads((tmp_path / run / "metrics.json").read_text())
               for run in ("one", "two")]
    assert [m["world_size"] for m in metrics] == [1, 2]
    # Training metrics are over every process's images, as one process sees them.
    one, two = (m["epochs"][-1] for m in metrics)
    assert two["train_loss"] == pytest.approx(one["train_loss"], abs=1e-5)
    assert two["val_accuracy"] == one["val_accuracy"]
    # Rank 0 alone reports.
    assert done.stdout.count("run written to") == 1
    assert done.stderr.count("epoch 2/2") == 1


def test_feature_cache_and_resume_under_torchrun(split_data: Path, tmp_path: Path) -> None:
    assert main(train_args(split_data, tmp_path / "one")) == 0  # head only, features cached
    torchrun(*train_args(split_data, tmp_path / "two", epochs=1))
    assert json.loads((tmp_path / "two" / "metrics.json").read_text())["feature_cache"]
    torchrun("train", "--resume", str(tmp_path / "two"), "--epochs", "2")

    metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert max_weight_difference(tmp_path / "one", tmp_path / "two") <= 1e-5


def test_each_process_takes_its_equal_share_of_every_global_batch() -> None:
    order = list(range(14))  # two global batches of 6, then 2 images
    shares = [list(RankBatchSampler(order, 6, Distributed(rank, 2))) for rank in (0, 1)]
    assert shares[0] == [[0, 1, 2], [6, 7, 8], [12]]
    assert shares[1] == [[3, 4, 5], [9, 10, 11], [13]]
    assert len(RankBatchSampler(list(range(13)), 6, Distributed(0, 2))) == 2  # 1 < 2 processes


def test_a_batch_that_cannot_be_shared_equally_is_refused(monkeypatch, capsys,
                                                          split_data: Path, tmp_path) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda *a, **k: None)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    assert main(train_args(split_data, tmp_path / "run")) == 2
    assert "batch size (6) must be a multiple of the number of processes (4)" in (
        capsys.readouterr().err)
