"""A local prediction server: `POST /predict` with an image answers what `predict --json` prints.

The standard library's ThreadingHTTPServer is enough for a model wired into another program on
the same machine or network: no framework to install, one request = one image. The body is the
image file itself, or a multipart/form-data form whose field `file` holds it. Requests are
bounded in size (413), bad images get 400 with the reason, and nothing ever sends or prints a
traceback: an unexpected failure is a 500 with one line.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tlstudio.errors import RequestRefused, ServeError, UnreadableImage

if TYPE_CHECKING:  # torch loads when the server opens, not for `tlstudio --help`
    from tlstudio.inference import Predictor

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # one photo, with room; a larger body is refused unread
DRAIN_LIMIT = 256 * 1024 * 1024  # a refused body up to this size is read away, not reset
READ_TIMEOUT_S = 60  # seconds a request may take to arrive
DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"  # this machine only, unless the user opens it up
DEFAULT_TOP = 3  # as `predict`
UPLOAD_NAME = "upload"  # the "path" of an image sent as a raw body without X-Filename


@dataclass(frozen=True)
class Upload:
    name: str  # the file name the client gave, else UPLOAD_NAME
    data: bytes  # the image file's bytes


class PredictionServer(ThreadingHTTPServer):
    """Serves one predictor; requests run on their own threads, the model on one thread."""

    daemon_threads = True  # Ctrl+C does not wait for a slow client

    def __init__(self, address: tuple[str, int], predictor: Predictor,
                 max_bytes: int = MAX_UPLOAD_BYTES,
                 log: Callable[[str], None] | None = None) -> None:
        self.predictor = predictor
        self.max_bytes = max_bytes
        self.log = log or (lambda line: None)
        # One thread runs the model, one image at a time: predictable memory, and the model
        # stays on one warm thread (on each request's fresh thread EfficientNet-Lite0 took
        # 1.7x the in-process time rather than 1.2-1.5x: benchmarks/serve_overhead.py).
        self.model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        super().__init__(address, PredictHandler)

    def server_close(self) -> None:
        super().server_close()
        self.model_thread.shutdown(wait=False, cancel_futures=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke outside a request (client gone): one line, no traceback."""
        error = sys.exc_info()[1]
        self.log(f"connection from {client_address[0]} failed: {error}")


def open_server(predictor: Predictor, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                max_bytes: int = MAX_UPLOAD_BYTES,
                log: Callable[[str], None] | None = None) -> PredictionServer:
    """A bound server (port 0 = any free port; see `server_address`); ServeError if it cannot
    listen there."""
    try:
        return PredictionServer((host, port), predictor, max_bytes, log)
    except OverflowError:
        raise ServeError(f"Port {port} is not a port number (0 to 65535)") from None
    except OSError as e:
        raise ServeError(f"Cannot listen on {host}:{port}: {e.strerror or e}") from None


class PredictHandler(BaseHTTPRequestHandler):
    server: PredictionServer
    server_version = "tlstudio"
    timeout = READ_TIMEOUT_S  # a client that stops sending frees its thread
    # Headers and body go out as two writes: with Nagle's algorithm the body could wait for
    # the client's delayed ACK (up to ~40 ms per request on Linux).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/health":
            predictor = self.server.predictor
            self._send_json(HTTPStatus.OK, {"status": "ok", "model": predictor.source,
                                            "classes": list(predictor.classes)})
        else:
            self._send_error(HTTPStatus.NOT_FOUND, "GET /health or POST /predict")

    def do_POST(self) -> None:
        from tlstudio.data import decode_rgb

        url = urlsplit(self.path)
        if url.path != "/predict":
            self._send_error(HTTPStatus.NOT_FOUND, "POST an image to /predict")
            return
        try:
            top = _top_k(parse_qs(url.query))
            upload = self._read_upload()
            image = decode_rgb(upload.data)
            prediction = self.server.model_thread.submit(
                self.server.predictor.predict_image, upload.name, image, top).result()
        except RequestRefused as e:
            self._send_error(e.status, e.reason)
        except UnreadableImage as e:
            self._send_error(HTTPStatus.BAD_REQUEST, f"not a usable image: {e.reason}")
        except Exception as e:  # noqa: BLE001 - the client gets one line, never a traceback
            self.server.log(f"prediction failed: {type(e).__name__}: {e}")
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "the model failed on this image")
        else:
            self._send_json(HTTPStatus.OK, [prediction.to_dict()])

    def _read_upload(self) -> Upload:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestRefused(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        try:
            size = int(length)
        except ValueError:
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if size > self.server.max_bytes:
            self._discard_body(size)
            raise RequestRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request is {size} bytes; at most {self.server.max_bytes} are accepted")
        if size <= 0:
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "the request has no image in its body")
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            self.close_connection = True
            raise RequestRefused(HTTPStatus.REQUEST_TIMEOUT, "the image did not arrive in time") \
                from None
        if len(body) < size:
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "the body is shorter than its "
                                                         "Content-Length")
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            return _multipart_file(content_type, body)
        return Upload(self.headers.get("X-Filename") or UPLOAD_NAME, body)

    def _discard_body(self, size: int) -> None:
        """Read a refused body away, so the client reads the 413 rather than a reset connection;
        a body beyond DRAIN_LIMIT is left unread and the connection closed."""
        self.close_connection = True
        if size > DRAIN_LIMIT:
            return
        while size > 0:
            chunk = self.rfile.read(min(size, 1 << 16))
            if not chunk:
                return
            size -= len(chunk)

    def _send_json(self, status: HTTPStatus, value: Any) -> None:
        data = (json.dumps(value, indent=2) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: HTTPStatus, reason: str) -> None:
        self._send_json(status, {"error": reason})

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.address_string()} {format % args}")


def _top_k(query: dict[str, list[str]]) -> int:
    value = query.get("top", [str(DEFAULT_TOP)])[-1]
    try:
        top = int(value)
    except ValueError:
        raise RequestRefused(HTTPStatus.BAD_REQUEST, f"top must be a whole number, not "
                                                     f"'{value}'") from None
    if top < 1:
        raise RequestRefused(HTTPStatus.BAD_REQUEST, "top must be at least 1")
    return top


def _multipart_file(content_type: str, body: bytes) -> Upload:
    """The form field `file` of a multipart/form-data body (the email parser reads MIME)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise RequestRefused(HTTPStatus.BAD_REQUEST, "the multipart form could not be read")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            data = part.get_payload(decode=True) or b""
            return Upload(part.get_filename() or UPLOAD_NAME, data)
    raise RequestRefused(HTTPStatus.BAD_REQUEST, "the form has no field named 'file'")
