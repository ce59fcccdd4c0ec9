"""File names are data: how a path whose name is not valid UTF-8 is shown and stored.

On Linux a name is bytes; Python decodes the bytes that are not UTF-8 to lone surrogates
(U+DC80..U+DCFF, "surrogateescape"), which no UTF-8 writer accepts. Shown to a person, each
such byte becomes ``\\xNN`` and each control character its escape (one file, one line).
Stored, a path keeps its exact bytes: JSON escapes it as ``\\udcNN`` (``json.loads`` gives the
same str back) and text files (CSV) hold the raw bytes, as the file system does.
"""

from __future__ import annotations

import codecs
import os
import unicodedata

from tlstudio.errors import TlstudioError

ERRORS = "tlstudio-printable"  # an encoding error handler: undecodable bytes as \xNN
_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # what surrogateescape decodes the bytes 0x80..0xFF to


def printable(text: str | os.PathLike[str]) -> str:
    """`text` for a terminal, a window or a web page: undecodable bytes as ``\\xNN``, control
    characters escaped, everything else unchanged."""
    return "".join(_printable_char(c) for c in os.fspath(text))


def escape_undecodable(text: str) -> str:
    """`text` (a message, a page) with only the undecodable bytes of names shown as ``\\xNN``:
    for widgets, which drop them silently, and UTF-8 files, which refuse them."""
    return text.encode("utf-8", ERRORS).decode("utf-8")


def stored_bytes(text: str) -> bytes:
    """The exact bytes of a text holding file names (UTF-8; undecodable bytes restored)."""
    return text.encode("utf-8", "surrogateescape")


def require_utf8(path: str | os.PathLike[str], what: str, remedy: str = "rename it") -> None:
    """Refuse a model file or run folder whose path is not UTF-8, before any work is done:
    the libraries that read and write model files (safetensors, ONNX Runtime, TorchScript)
    take only UTF-8 paths. Image and data files have no such limit."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        raise TlstudioError(
            f"{what} '{printable(path)}' has a name that is not valid UTF-8, and model files "
            f"(safetensors, ONNX, TorchScript) cannot be written or read there: {remedy}"
        ) from None


def _printable_char(char: str) -> str:
    if ord(char) in _ESCAPED_BYTES or unicodedata.category(char) in ("Cc", "Cs"):
        return _escape_char(char)
    return char


def _escape_unencodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start:error.end]
    return "".join(_escape_char(c) for c in bad), error.end


def _escape_char(char: str) -> str:
    code = ord(char)
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"  # the byte the file system holds
    return char.encode("unicode_escape").decode("ascii")


codecs.register_error(ERRORS, _escape_unencodable)
