"""Does a 5,000-image prediction gallery scroll smoothly, and how fast do thumbnails come?

In one process, offscreen: writes tiny PNGs into a temp folder, gives the real
PredictionGallery a synthetic evaluation of them, and scrolls its list programmatically,
row by row, top to bottom. Each step is timed from the scroll to the end of a synchronous
repaint (plus the events then pending: thumbnails arriving). The same scroll runs with
thumbnails decoded in the paint itself (the naive way) for the ratio. Also prints
thumbnail throughput of the background loader and how soon a stopped screen is filled.

    python benchmarks/gallery_scroll.py [--images 5000] [--size 160] [--pace-ms 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication

from tlstudio.evaluation import RunEvaluation, evaluate_predictions
from tlstudio.evaluation.run_eval import image_record
from tlstudio.gui.gallery.gallery import PredictionGallery
from tlstudio.gui.shared.background import wait_for_background_tasks
from tlstudio.gui.shared.thumbnails import MAX_PENDING, ThumbnailLoader, thumbnail_image

CLASSES = tuple(f"class{i}" for i in range(10))


def write_images(root: Path, count: int, size: int) -> list[tuple[str, int]]:
    """`count` noisy PNGs spread over the classes' folders: (path, class index)."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(count):
        label = i % len(CLASSES)
        folder = root / CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        # Smooth colour fields: photo-like decode work without gigabytes of noise on disk.
        coarse = rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((size, size), Image.Resampling.BILINEAR)
        path = folder / f"{i:05d}.png"
        image.save(path, compress_level=1)
        samples.append((str(path), label))
    return samples


def synthetic_evaluation(samples: list[tuple[str, int]]) -> RunEvaluation:
    """Random but plausible predictions: right about 80% of the time."""
    rng = np.random.default_rng(1)
    records, predicted = [], []
    for path, label in samples:
        logits = rng.normal(size=len(CLASSES))
        logits[label] += 2.5
        probs = np.exp(logits) / np.exp(logits).sum()
        records.append(image_record(path, CLASSES[label], dict(zip(CLASSES, probs.tolist(),
                                                                  strict=True))))
        predicted.append(int(probs.argmax()))
    evaluation = evaluate_predictions([s[1] for s in samples], predicted, CLASSES)
    return RunEvaluation("benchmark", "synthetic", evaluation, tuple(records), ())


class InlineLoader(ThumbnailLoader):
    """The naive baseline: decode in the GUI thread, inside the paint that asks."""

    def pixmap(self, path: str) -> QPixmap:
        if path not in self._cache:
            image = thumbnail_image(path, self.size)
            self._cache[path] = None if image is None else QPixmap.fromImage(image)
            self.decoded += 1
        return super().pixmap(path)


def pump(ms: float) -> None:
    """Run the event loop for `ms` milliseconds (the time between two frames)."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 2)


def visible_rows(gallery: PredictionGallery) -> range:
    """The rows on screen: from the tile at the top-left to the end of the bottom line."""
    view = gallery.view
    rect = view.viewport().rect()
    columns = max(1, rect.width() // view.gridSize().width())
    first = view.indexAt(rect.topLeft() + QPoint(4, 4))
    last_line = view.indexAt(rect.bottomLeft() + QPoint(4, -4))
    if not first.isValid():
        return range(0)
    rows = gallery.model.rowCount()
    end = min(rows - 1, last_line.row() + columns - 1) if last_line.isValid() else rows - 1
    return range(first.row(), end + 1)


def visible_filled(gallery: PredictionGallery) -> float:
    """Fraction of the tiles on screen that show their thumbnail (not the placeholder)."""
    rows = visible_rows(gallery)
    if not rows:
        return 1.0
    done = sum(gallery.thumbnails.cached(gallery.model.record(r).path) for r in rows)
    return done / len(rows)


def scroll_through(gallery: PredictionGallery, pace_ms: float) -> dict[str, float]:
    view = gallery.view
    bar = view.verticalScrollBar()
    step = view.gridSize().height()
    frames, filled = [], []
    start_decoded, start = gallery.thumbnails.decoded, time.perf_counter()
    bar.setValue(0)
    while True:
        t0 = time.perf_counter()
        bar.setValue(bar.value() + step)
        view.viewport().repaint()
        QCoreApplication.processEvents()
        frames.append((time.perf_counter() - t0) * 1000)
        filled.append(visible_filled(gallery))
        if bar.value() >= bar.maximum():
            break
        pump(pace_ms)
    seconds = time.perf_counter() - start
    settle_start = time.perf_counter()
    while visible_filled(gallery) < 1.0 and time.perf_counter() - settle_start < 10:
        pump(5)
    frames.sort()
    return {
        "steps": len(frames),
        "median_ms": statistics.median(frames),
        "p95_ms": frames[int(0.95 * (len(frames) - 1))],
        "max_ms": frames[-1],
        "filled_while_scrolling": statistics.mean(filled),
        "thumbs_per_s": (gallery.thumbnails.decoded - start_decoded) / seconds,
        "last_screen_filled_ms": (time.perf_counter() - settle_start) * 1000,
    }


def loader_throughput(paths: list[str], n: int) -> float:
    """Thumbnails per second the background loader delivers for `n` requests at once
    (fewer than it keeps pending: a burst larger than that drops the oldest requests)."""
    n = min(n, len(paths), MAX_PENDING)
    loader = ThumbnailLoader(capacity=n)
    start = time.perf_counter()
    for path in paths[:n]:
        loader.request(path)
    while loader.decoded < n:
        pump(2)
    return n / (time.perf_counter() - start)


def make_gallery(evaluation: RunEvaluation, inline: bool) -> PredictionGallery:
    gallery = PredictionGallery()
    if inline:
        gallery.thumbnails = InlineLoader(gallery)
        gallery.model.thumbnails = gallery.thumbnails
    gallery.resize(1280, 800)
    gallery.show()
    gallery.set_sort("Folder order")
    t0 = time.perf_counter()
    gallery.set_evaluation("benchmark", evaluation, dataset_root=None)
    QCoreApplication.processEvents()
    gallery.set_evaluation_ms = (time.perf_counter() - t0) * 1000
    return gallery


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, default=160, help="side of each PNG, px")
    parser.add_argument("--pace-ms", type=float, default=16.0,
                        help="event-loop time between scroll steps (16: 60 steps/s)")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])  # noqa: F841 - keeps Qt alive
    with tempfile.TemporaryDirectory(prefix="tlstudio-gallery-") as tmp:
        t0 = time.perf_counter()
        samples = write_images(Path(tmp), args.images, args.size)
        print(f"wrote {len(samples)} PNGs of {args.size}px in {time.perf_counter() - t0:.1f}s",
              flush=True)
        evaluation = synthetic_evaluation(samples)
        print(f"loader throughput: {loader_throughput([p for p, _ in samples], 300):.0f} "
              "thumbnails/s (300 requested at once, background)", flush=True)
        results = {}
        for name, inline in (("background", False), ("inline", True)):
            gallery = make_gallery(evaluation, inline)
            stats = scroll_through(gallery, args.pace_ms)
            stats["set_evaluation_ms"] = gallery.set_evaluation_ms
            results[name] = stats
            gallery.cancel()
            wait_for_background_tasks()
            gallery.close()
            gallery.deleteLater()
            QCoreApplication.processEvents()
            print(f"{name:>10}: {stats['steps']} steps, frame median {stats['median_ms']:.1f} ms, "
                  f"p95 {stats['p95_ms']:.1f} ms, max {stats['max_ms']:.1f} ms; "
                  f"tiles filled while scrolling {stats['filled_while_scrolling']:.0%}; "
                  f"{stats['thumbs_per_s']:.0f} thumbnails/s; last screen complete "
                  f"{stats['last_screen_filled_ms']:.0f} ms after the scroll; "
                  f"set_evaluation {stats['set_evaluation_ms']:.0f} ms", flush=True)
        ratio = results["inline"]["p95_ms"] / max(results["background"]["p95_ms"], 1e-6)
        print(f"p95 frame time, inline decode / background decode: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
