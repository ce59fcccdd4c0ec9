"""The prediction server over loopback (127.0.0.1, an ephemeral port): the JSON of
`predict --json`, bounded requests, reasons for bad images, no traceback, a clean Ctrl+C."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_runs import make_run

from tlstudio.cli import main
from tlstudio.inference import Predictor, load_predictor
from tlstudio.serve import PredictionServer, open_server

TIMEOUT = 20  # seconds any one request may take before the test fails


@pytest.fixture
def run_dir(tmp_path: Path, colour_data: Path) -> Path:
    return make_run(tmp_path / "run", colour_data)


def serving(predictor: Predictor, **options) -> Iterator[tuple[PredictionServer, list[str]]]:
    logged: list[str] = []
    server = open_server(predictor, "127.0.0.1", 0, log=logged.append, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, logged
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


@pytest.fixture
def server(run_dir: Path) -> Iterator[tuple[PredictionServer, list[str]]]:
    yield from serving(load_predictor(run_dir), max_bytes=4096)


def request(server: PredictionServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, object]:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + (
        f"\r\n--{boundary}--\r\n").encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def a_png(colour_data: Path) -> Path:
    return sorted(colour_data.rglob("*.png"))[0]


def test_health_answers_200(server) -> None:
    status, body = request(server[0], "GET", "/health")
    assert status == 200 and body["status"] == "ok"
    assert body["classes"] == ["red", "green", "blue"]


def test_post_answers_what_predict_json_prints(server, run_dir: Path, colour_data: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    image = a_png(colour_data)
    assert main(["predict", str(run_dir), str(image), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    raw = request(server[0], "POST", "/predict", image.read_bytes(),
                  {"Content-Type": "image/png", "X-Filename": str(image)})
    assert raw == (200, expected)
    body, headers = multipart("file", str(image), image.read_bytes())
    assert request(server[0], "POST", "/predict", body, headers) == (200, expected)
    status, (one,) = request(server[0], "POST", "/predict?top=1", image.read_bytes())
    assert status == 200 and one["path"] == "upload" and len(one["top"]) == 1


def test_bad_requests_get_4xx_with_the_reason(server, colour_data: Path) -> None:
    srv, logged = server
    assert request(srv, "POST", "/predict", b"this is no image") == (
        400, {"error": "not a usable image: not an image"})
    png = a_png(colour_data).read_bytes()
    assert request(srv, "POST", "/predict", png[: len(png) // 2]) == (
        400, {"error": "not a usable image: truncated or corrupt image data"})
    status, body = request(srv, "POST", "/predict", b"x" * 5000)
    assert status == 413 and body["error"] == "the request is 5000 bytes; at most 4096 are accepted"
    form, headers = multipart("picture", "a.png", png)
    assert request(srv, "POST", "/predict", form, headers) == (
        400, {"error": "the form has no field named 'file'"})
    assert request(srv, "POST", "/predict?top=x", png)[0] == 400
    assert request(srv, "POST", "/elsewhere", png)[0] == 404
    # The server still answers afterwards, and nothing it logged is a traceback.
    assert request(srv, "GET", "/health")[0] == 200
    assert not any("Traceback" in line for line in logged)


def test_a_failing_model_is_a_500_without_traceback(colour_data: Path) -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("out of memory")

    predictor = Predictor(("a", "b"), 32, broken, "broken.onnx")
    for srv, logged in serving(predictor):
        status, body = request(srv, "POST", "/predict", a_png(colour_data).read_bytes())
        assert (status, body) == (500, {"error": "the model failed on this image"})
        assert "prediction failed: RuntimeError: out of memory" in logged


def test_a_taken_port_is_a_clear_error(server, run_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    port = server[0].server_address[1]
    assert main(["serve", str(run_dir), "--port", str(port)]) == 2
    assert f"error: Cannot listen on 127.0.0.1:{port}:" in capsys.readouterr().err


def test_ctrl_c_stops_the_command_cleanly(run_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tlstudio", "serve", str(run_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = process.stdout.readline()  # printed once the server listens
        assert "POST an image to /predict" in banner, process.stderr.read()
        port = int(banner.split("http://127.0.0.1:")[1].split(":")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "stopped" in err and "Traceback" not in err
