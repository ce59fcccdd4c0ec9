"""What `tlstudio serve` adds to a prediction: the same image predicted in-process
(`Predictor.predict_image` on decoded pixels) and as an HTTP POST over loopback (upload,
decode, predict, JSON), interleaved in one process, one thread; prints the medians and ratio.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch

from tlstudio.data import decode_rgb, write_digits_demo
from tlstudio.inference import load_predictor
from tlstudio.models import build_classifier
from tlstudio.runs import ModelInfo, save_model
from tlstudio.serve import open_server


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    p.add_argument("--requests", type=int, default=40, help="timed pairs")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    return p


def make_run(root: Path, backbone: str) -> Path:
    built = build_classifier(backbone, 10, pretrained=backbone != "tiny_cnn")
    spec = built.spec
    info = ModelInfo(backbone, tuple(map(str, range(10))), spec.input_size, spec.mean,
                     spec.std, {"backbone": backbone})
    save_model(root / "run", built.model.eval(), info)
    return root / "run"


def post(port: int, data: bytes) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/predict", body=data)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200, response.status


def main() -> None:
    args = get_args_parser().parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = next(write_digits_demo(root / "digits", per_class=4).rglob("*.png"))
        data = image.read_bytes()
        predictor = load_predictor(make_run(root, args.backbone))
        server = open_server(predictor, "127.0.0.1", 0)
        port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        direct, served = [], []
        for i in range(args.warmup + args.requests):
            t0 = time.perf_counter()
            predictor.predict_image(image.name, decode_rgb(data))
            t1 = time.perf_counter()
            post(port, data)
            t2 = time.perf_counter()
            if i >= args.warmup:
                direct.append(t1 - t0)
                served.append(t2 - t1)
        server.shutdown()
        server.server_close()
    d, s = statistics.median(direct) * 1e3, statistics.median(served) * 1e3
    print(f"{args.backbone}, {args.threads} thread(s), {args.requests} requests, one image each")
    print(f"in-process predict: {d:.1f} ms   served over loopback: {s:.1f} ms   "
          f"ratio {s / d:.2f}x (+{s - d:.1f} ms for HTTP, upload and JSON)")


if __name__ == "__main__":
    main()
