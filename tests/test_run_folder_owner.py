"""The run folder has one owner: no module of tlstudio but `runs/folder.py` spells the name of a
run's file, and no package outside training reaches a run through the engine's modules."""

from __future__ import annotations

import ast
from pathlib import Path

from tlstudio.runs import folder

PACKAGE = Path(__file__).resolve().parents[1] / "tlstudio"
OWNER = PACKAGE / "runs" / "folder.py"
FILE_NAMES = (folder.METRICS, folder.RECIPE, folder.MODEL_WEIGHTS, folder.MODEL_INFO,
              folder.CHECKPOINT, folder.BEST_WEIGHTS, folder.PREDICTIONS, folder.REPORT,
              folder.CLAIM, folder.ENSEMBLE)
FOLDER_NAMES = (folder.EXPORT_FOLDER,)  # too common a word alone: caught as `path / "export"`
RUN_PACKAGES = ("tlstudio.runs.", "tlstudio.runs")


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree)
                     if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return {id(n.body[0].value) for n in nodes
            if n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}


def run_file_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string in code (not a docstring) naming a run folder's file."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            if any(name in node.value for name in FILE_NAMES):
                found.append((node.lineno, node.value))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) \
                and isinstance(node.right, ast.Constant) and node.right.value in FOLDER_NAMES:
            found.append((node.lineno, node.right.value))
    return found


def test_the_check_finds_a_literal_in_code_but_not_in_a_docstring() -> None:
    source = '"""Writes metrics.json."""\nimport os\nx = os.path.join(d, "model.json")\n' \
             'y = f"{d}/checkpoint.pt"\nz = run / "export"\nsub.add_parser("export")\n'
    assert sorted(line for line, _ in run_file_literals(source)) == [3, 4, 5]


def test_only_the_owner_names_a_run_folders_files() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path != OWNER
                 for line, text in run_file_literals(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_other_packages_reach_a_run_through_runs_not_the_engine() -> None:
    engine_internals = ("tlstudio.training.engine", "tlstudio.training.stages",
                        "tlstudio.training.epoch_loop")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(PACKAGE / "training"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in engine_internals:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: {node.module}")
    assert offenders == []
