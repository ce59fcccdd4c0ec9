"""Converters that talk: LiteRT's converter and interpreter print progress and INFO lines from
Python and from native code, on stdout and stderr. `silenced` drops them, so `export --json`
prints only its JSON and a normal run prints only what tlstudio says.

Native code writes to the process's file descriptors 1 and 2, which no `sys.stdout` swap
reaches, so they are pointed at a scratch file meanwhile (for the whole process: a few seconds
of a GUI's own warnings are dropped too, which is the price of a clean terminal).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import tempfile
from collections.abc import Iterator

STDOUT, STDERR = 1, 2


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Whatever is written to stdout and stderr inside the block, by Python or native code,
    is dropped."""
    _flush()
    with (
        tempfile.TemporaryFile() as sink,
        _descriptors_to(sink.fileno()),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        yield


@contextlib.contextmanager
def _descriptors_to(sink: int) -> Iterator[None]:
    try:
        saved = [os.dup(STDOUT), os.dup(STDERR)]
    except OSError:  # no console at all (a Windows GUI process): nothing to protect
        yield
        return
    try:
        os.dup2(sink, STDOUT)
        os.dup2(sink, STDERR)
        yield
    finally:
        _flush()  # what native code buffered goes to the sink, not to the restored terminal
        for fd, original in zip((STDOUT, STDERR), saved, strict=True):
            os.dup2(original, fd)
            os.close(original)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):  # C stdio's buffers (printf); absent on some systems
        ctypes.CDLL(None).fflush(None)
