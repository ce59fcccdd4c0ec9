"""The window words a background job's failure through describe_failure: remedies as its own
controls, and a crash as one line saying where the traceback was saved."""

from __future__ import annotations

from pathlib import Path

from tlstudio.errors import DownloadCancelled, RecipeError, Remedy
from tlstudio.gui.shared.background import BackgroundJob, error_message

WAIT = 10_000


def _failure_of(qtbot, error: Exception) -> str:
    def job(state) -> None:
        raise error

    background = BackgroundJob()
    with qtbot.waitSignal(background.errored, timeout=WAIT) as failed:
        background.start(job)
    qtbot.waitUntil(lambda: not background.is_running(), timeout=WAIT)
    return error_message(failed.args[0])


def test_a_jobs_error_shows_its_remedies_as_window_controls(qtbot) -> None:
    error = RecipeError("'runs/x' already holds a run", remedies=(Remedy.RESUME,))
    message = _failure_of(qtbot, error)
    assert message == "'runs/x' already holds a run; continue it with File > Resume run…"


def test_a_jobs_crash_is_one_line_with_the_traceback_in_a_file(qtbot) -> None:
    message = _failure_of(qtbot, ZeroDivisionError("boom"))
    assert message.startswith("Unexpected error: ZeroDivisionError: boom (details in ")
    details = Path(message.split("(details in ", 1)[1].removesuffix(")"))
    try:
        text = details.read_text(encoding="utf-8")
        assert "Traceback" in text and "raise error" in text
    finally:
        details.unlink()


def test_a_cancelled_job_reports_no_failure(qtbot) -> None:
    def job(state) -> None:
        raise DownloadCancelled("Download of x weights cancelled")

    background = BackgroundJob()
    failures: list[object] = []
    background.errored.connect(failures.append)
    with qtbot.waitSignal(background.finished, timeout=WAIT):
        background.start(job)
    assert failures == []
