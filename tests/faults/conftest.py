"""Fixtures of the fault tests (the helpers that run commands are in fault_commands.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagefolders import train_tiny_run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A trained two-class tiny_cnn run and its data folder, shared by a module's tests."""
    return train_tiny_run(tmp_path_factory.mktemp("tiny"), {"red": 6, "green": 6})
