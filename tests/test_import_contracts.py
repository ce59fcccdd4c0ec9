"""The code's seams, checked like a test: the import contracts in pyproject.toml (the core never
imports Qt, nothing imports upwards, packages are reached through their public face) and ruff's
lint, so `pytest` alone covers what CI checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = ("import sys; from importlinter.cli import lint_imports; "
                "sys.exit(lint_imports(no_cache=True, no_logo=True))")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the `tlstudio` package found in ``root``, with ``root``'s contracts."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "300"}  # one line per contract
    return subprocess.run([sys.executable, "-c", LINT_IMPORTS], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The package's sources and contracts, copied where a test may break them."""
    shutil.copytree(ROOT / "tlstudio", tmp_path / "tlstudio",
                    ignore=shutil.ignore_patterns("__pycache__", "*.png", "*.svg"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("tlstudio/data/probe.py", "import PySide6\n", "The core never imports Qt"),
        ("tlstudio/models/probe.py", "from tlstudio import training\n", "Layers"),
        ("tlstudio/inference_probe.py", "from tlstudio.export import onnx\n",
         "Public face of tlstudio.export"),
    ],
)
def test_a_violation_breaks_its_contract(tree_copy: Path, module: str, source: str,
                                         contract: str) -> None:
    (tree_copy / module).write_text(f'"""A probe that breaks a contract."""\n{source}')
    done = _lint_imports(tree_copy)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = [line for line in done.stdout.splitlines() if "BROKEN" in line]
    assert len(broken) == 1 and contract in broken[0], done.stdout


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the test extra"
    done = subprocess.run([ruff, "check", "tlstudio", "tests", "scripts", "benchmarks"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
