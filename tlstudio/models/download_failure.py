"""Why a weights download failed, in a beginner's words: never the raw urlopen or hub text
("<urlopen error [Errno -3] Temporary failure in name resolution>")."""

from __future__ import annotations

import socket
import urllib.error

OFFLINE = "this computer seems to be offline (the download server could not be reached)"


def why_download_failed(error: BaseException) -> str:
    """One plain clause saying why: offline, refused, timed out, missing, login needed."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if "LocalEntryNotFoundError" in names:  # the hub could not be reached, nothing cached
        return OFFLINE
    if "GatedRepoError" in names:
        return "these weights need a Hugging Face login"
    if names & {"RepositoryNotFoundError", "EntryNotFoundError", "RevisionNotFoundError"}:
        return "the server has no such weights file"
    if isinstance(error, urllib.error.HTTPError):
        return _http_status(error.code)
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(status, int):
        return _http_status(status)
    reason = getattr(error, "reason", error) if isinstance(error, urllib.error.URLError) else error
    if (
        isinstance(reason, socket.gaierror)
        or "ConnectError" in names
        or ("ConnectionError" in names and not isinstance(reason, ConnectionRefusedError))
    ):
        return OFFLINE
    if isinstance(reason, ConnectionRefusedError):
        return "the download server refused the connection"
    if isinstance(reason, TimeoutError) or "Timeout" in "".join(names):
        return "the connection timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return f"a network error ({reason.strerror.lower()})"
    return "a network error"


def _http_status(code: int) -> str:
    if code in (401, 403):
        return f"the server refused access (HTTP {code})"
    if code == 404:
        return "the server has no such weights file (HTTP 404)"
    return f"the server answered with an error (HTTP {code})"
