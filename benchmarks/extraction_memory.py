"""Peak memory of a feature-extraction pass against the number of images.

Writes N small generated PNGs (N = 2,000 and 10,000 by default), then, in a fresh process for
each N, extracts the backbone's features over them through tlstudio's own path (ImageLoader
over an ImageFolderDataset, `extract_features`) and prints the peak RSS growth over the
process's level just before the pass, next to the size of the features themselves.

A pass that holds one batch of decoded images at a time grows by the features (N x feature
size) plus a constant; one that keeps decoded images grows by N x the decoded image size.

    nice python benchmarks/extraction_memory.py [--counts 2000,10000] [--size 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def write_images(root: Path, count: int, classes: int = 10, pixels: int = 32) -> Path:
    """`count` small PNGs, a colour per class plus noise, in `classes` class folders."""
    rng = np.random.default_rng(0)
    for i in range(count):
        label = i % classes
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        base = np.array([label * 25, 255 - label * 25, (label * 70) % 255])
        noise = rng.integers(0, 40, size=(pixels, pixels, 3))
        Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(
            folder / f"{i:05d}.png"
        )
    return root


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def measure(args: argparse.Namespace) -> dict[str, float]:
    """In this process: one extraction pass over args.data; the peak RSS growth during it."""
    import torch

    from tlstudio.data import ImageFolderDataset, ImageLoader, eval_transform, scan_folder
    from tlstudio.models import build_classifier
    from tlstudio.training import extract_features
    from tlstudio.training.events import RunControl

    torch.set_num_threads(args.threads)
    scan = scan_folder(args.data)
    model = build_classifier(args.backbone, len(scan.classes)).model
    dataset = ImageFolderDataset(scan, eval_transform(args.size))
    warm = ImageFolderDataset(scan, eval_transform(args.size))
    warm.samples = scan.samples[: 2 * args.batch]  # first-call allocations before the baseline
    control, cpu = RunControl(), torch.device("cpu")
    extract_features(
        model, ImageLoader(warm, batch_size=args.batch), cpu, lambda d, t: None, control
    )
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts afresh here
    before = rss_mb("VmRSS")
    loader = ImageLoader(dataset, batch_size=args.batch, num_workers=args.workers)
    features, labels = extract_features(model, loader, cpu, lambda d, t: None, control)
    peak = rss_mb("VmHWM")
    decoded = 3 * args.size * args.size * 4 / 2**20  # one decoded, transformed image (MB)
    return {
        "images": len(dataset),
        "growth_mb": peak - before,
        "features_mb": (features.nbytes + labels.nbytes) / 2**20,
        "decoded_image_mb": decoded,
        "batch_mb": decoded * args.batch,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", default="2000,10000", help="image counts, comma-separated")
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    p.add_argument("--size", type=int, default=64, help="the model's input size (px)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="loader workers (their memory is "
        "their own processes'; 0 measures everything in one process)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", help=argparse.SUPPRESS)  # set for the measuring child process
    args = p.parse_args()
    if args.data:
        print(json.dumps(measure(args)))
        return
    counts = [int(c) for c in args.counts.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tlstudio-bench-") as tmp:
        for count in counts:
            data = write_images(Path(tmp) / f"n{count}", count)
            child = [
                sys.executable,
                __file__,
                "--data",
                str(data),
                "--backbone",
                args.backbone,
                "--size",
                str(args.size),
                "--batch",
                str(args.batch),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(
        f"{args.backbone} at {args.size} px, batch {args.batch}, {args.workers} worker(s); "
        f"one decoded image {rows[0]['decoded_image_mb']:.3f} MB, a batch "
        f"{rows[0]['batch_mb']:.1f} MB"
    )
    print(f"{'images':>7} {'peak RSS growth':>16} {'features':>9} {'growth - features':>18}")
    for r in rows:
        print(
            f"{r['images']:>7} {r['growth_mb']:>13.1f} MB {r['features_mb']:>6.1f} MB "
            f"{r['growth_mb'] - r['features_mb']:>15.1f} MB"
        )
    first, last = rows[0], rows[-1]
    extra = (last["growth_mb"] - last["features_mb"]) - (first["growth_mb"] - first["features_mb"])
    held = extra / last["decoded_image_mb"] / max(last["images"] - first["images"], 1)
    print(
        f"growth beyond the features, {last['images']} vs {first['images']} images: "
        f"{extra:+.1f} MB (as if {held:.3f} decoded images were kept per extra image; "
        "target: 0, i.e. independent of the count)"
    )


if __name__ == "__main__":
    main()
