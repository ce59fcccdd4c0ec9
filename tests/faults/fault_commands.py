"""Running `tlstudio` as a user does, in a child process, and reading its stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tlstudio

SOURCE_ROOT = Path(tlstudio.__file__).resolve().parent.parent


def run_tlstudio(*args: str | os.PathLike[str], cwd: Path | None = None,
                 code: str | None = None) -> subprocess.CompletedProcess:
    """`python -m tlstudio ARGS` (or `python -c CODE ARGS`), output as bytes.

    PYTHONIOENCODING=utf-8 makes the streams strict, as on a UTF-8 desktop terminal (the
    C.UTF-8 locale of CI would hide encoding failures behind surrogateescape).
    """
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT), "PYTHONIOENCODING": "utf-8",
           "QT_QPA_PLATFORM": "offscreen"}
    head = [sys.executable, "-c", code] if code else [sys.executable, "-m", "tlstudio"]
    argv = [os.fsencode(a) if isinstance(a, bytes) else os.fspath(a) for a in args]
    return subprocess.run(head + argv, capture_output=True, env=env, cwd=cwd, timeout=240)


def assert_no_traceback(done: subprocess.CompletedProcess) -> str:
    """The decoded stderr, after checking it holds no Python traceback."""
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return err
