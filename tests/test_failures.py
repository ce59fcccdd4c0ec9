"""Failures read the same from both front-ends: the core's message, its remedies worded as
flags on the command line and as controls in the window, and a plain line for a crash."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

import tlstudio
from tlstudio import cli, errors
from tlstudio.cli_progress import ProgressPrinter
from tlstudio.errors import (
    Cancelled,
    DownloadCancelled,
    EvaluationCancelled,
    Remedy,
    ScanCancelled,
    TlstudioError,
    TrainingStopped,
    WeightsError,
)
from tlstudio.failures import REMEDY_WORDS, FrontEnd, describe_failure
from tlstudio.training import LogMessage

DOWNLOAD = WeightsError("Could not download the x weights",
                        remedies=(Remedy.GO_ONLINE, Remedy.BUNDLED_BACKBONE,
                                  Remedy.GIVE_WEIGHTS_FILE))


def test_remedies_are_flags_on_the_cli_and_controls_in_the_window() -> None:
    assert describe_failure(DOWNLOAD, FrontEnd.CLI) == (
        "Could not download the x weights; connect to the internet once, pick a bundled "
        "backbone (see `tlstudio backbones`), or give a weights file with --weights")
    window = describe_failure(DOWNLOAD, FrontEnd.WINDOW)
    assert window.startswith("Could not download the x weights; connect to the internet once")
    assert "--" not in window
    assert describe_failure(TlstudioError("plain"), FrontEnd.CLI) == "plain"


@pytest.mark.parametrize("remedy", list(Remedy))
def test_every_remedy_has_words_for_both_front_ends(remedy: Remedy) -> None:
    words = REMEDY_WORDS[remedy]
    assert words.cli and words.window
    assert " --" not in words.window  # the window has no flags to offer


@pytest.mark.parametrize("front_end, words", [(FrontEnd.CLI, "--batch-size"),
                                              (FrontEnd.WINDOW, "smaller batch size")])
def test_out_of_memory_says_what_to_lower(front_end: FrontEnd, words: str) -> None:
    text = describe_failure(MemoryError(), front_end)
    assert text.startswith("Out of memory; ") and words in text


def test_a_crash_on_the_cli_is_one_line_with_the_details_in_a_file(monkeypatch,
                                                                   capsys) -> None:
    def crash(args) -> int:
        raise ValueError("kaboom")

    monkeypatch.setattr(cli, "cmd_backbones", crash)
    assert cli.main(["backbones"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unexpected error: ValueError: kaboom (details in ")
    assert "Traceback" not in err and err.count("\n") == 1
    details = Path(err.split("(details in ", 1)[1].rstrip(")\n"))
    try:
        assert "Traceback" in details.read_text() and "kaboom" in details.read_text()
    finally:
        details.unlink()


def test_cli_log_lines_word_remedies_as_flags() -> None:
    out = io.StringIO()
    ProgressPrinter(out)(LogMessage("Classes are imbalanced", "warning", (Remedy.BALANCE,)))
    assert out.getvalue().strip() == (
        "warning: Classes are imbalanced; consider --balance sampler or --balance loss")


def test_every_way_of_cancelling_is_a_cancellation() -> None:
    for stop in (TrainingStopped, DownloadCancelled, ScanCancelled, EvaluationCancelled):
        assert issubclass(stop, Cancelled)
    assert not issubclass(WeightsError, Cancelled)


def test_user_errors_are_declared_only_in_errors_py() -> None:
    """A new error class elsewhere would be missing from the one list users' errors come from."""
    declared = {name for name, value in vars(errors).items()
                if isinstance(value, type) and issubclass(value, BaseException)}
    elsewhere = []
    for path in Path(tlstudio.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and path.name != "errors.py" and any(
                    getattr(base, "id", getattr(base, "attr", "")) in declared | {
                        "Exception", "BaseException"} for base in node.bases):
                elsewhere.append(f"{path.name}: {node.name}")
    assert elsewhere == []
