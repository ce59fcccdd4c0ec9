"""Shared fixtures: tiny image datasets written into tmp_path, and an isolated torch hub cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from imagefolders import write_class_folders

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def colour_data(tmp_path: Path) -> Path:
    """Three easily separated classes, 8 images each."""
    return write_class_folders(tmp_path / "data", {"red": 8, "green": 8, "blue": 8})


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache, so tests never see (or fill) the user's real one."""
    import torch

    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    return hub
