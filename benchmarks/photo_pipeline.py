"""Phone photos through tlstudio's data pipeline, measured side by side in one run.

Builds large JPEGs (upscaled crops of scikit-learn's sample photos, 4000x3000 by default) and
prints images/s of feature extraction and of a fine-tuning epoch for (a) the previous
decoding (full decode), (b) draft decoding, (c) the pre-resized disk cache; the data-wait
fraction of an augmented fine-tuning epoch after the first; a cached epoch's images/s relative
to a bare PyTorch loop over uint8 tensors in memory; and the peak RSS growth of feature
extraction over N and over 3N images.

    python benchmarks/photo_pipeline.py --images 24 [--workers N]

Loaders are tlstudio's ImageLoader with the workers training would choose (auto) unless
--workers names a number.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_image
from torch.utils.data import DataLoader

from tlstudio.data import (
    ImageCache,
    ImageFolderDataset,
    ImageLoader,
    eval_transform,
    loader_workers,
    scan_folder,
)
from tlstudio.data.augment import AugmentTransform
from tlstudio.models import apply_freeze, build_classifier


class FullDecode:
    """The eval transform without `decode_short_side`: the dataset decodes fully (before)."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, image):
        return self.transform(image)


def write_photos(folder: Path, count: int, size: tuple[int, int]) -> Path:
    rng = np.random.default_rng(0)
    sources = [load_sample_image(name) for name in ("china.jpg", "flower.jpg")]
    for i in range(count):
        photo = sources[i % 2]
        y, x = rng.integers(0, 100), rng.integers(0, 200)
        crop = Image.fromarray(photo[y:y + 320, x:x + 427]).resize(size, Image.BICUBIC)
        target = folder / f"class{i % 2}"
        target.mkdir(parents=True, exist_ok=True)
        crop.save(target / f"{i:04d}.jpg", quality=92)
    return folder


def loader(dataset, args) -> DataLoader:
    return ImageLoader(dataset, batch_size=args.batch, num_workers=args.workers)


def extraction_rate(model, dataset, args) -> float:
    begun = time.perf_counter()
    with torch.inference_mode():
        for x, _ in loader(dataset, args):
            model.features(x)
    return len(dataset) / (time.perf_counter() - begun)


def epoch(model, batches, optimizer) -> tuple[float, float, int]:
    """(seconds, seconds waiting for data, images) of one training pass."""
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    begun, waited, images = time.perf_counter(), 0.0, 0
    it = iter(batches)
    while True:
        t = time.perf_counter()
        try:
            x, y = next(it)
        except StopIteration:
            break
        waited += time.perf_counter() - t
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        images += len(y)
    return time.perf_counter() - begun, waited, images


def fine_tune_rate(model, optimizer, dataset, args) -> float:
    seconds, _, images = epoch(model, loader(dataset, args), optimizer)
    return images / seconds


def reset_peak_rss() -> None:
    """Linux: start the peak RSS (VmHWM) afresh, so earlier work does not hide growth."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--width", type=int, default=4000)
    p.add_argument("--height", type=int, default=3000)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--workers", type=int, default=None, help="default: auto, as training")
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    args = p.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args)


def run(tmp: Path, args) -> None:
    data = write_photos(tmp / "photos", args.images, (args.width, args.height))
    scan = scan_folder(data)
    cache = ImageCache(tmp / "cache")
    built = build_classifier(args.backbone, 2)
    model = built.model
    apply_freeze(model, built.stages, [s.name for s in built.stages][-2:])  # last stage + head
    optimizer = torch.optim.SGD([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    eval_tf = eval_transform(args.size)
    setups = {"(a) full decode": ImageFolderDataset(scan, FullDecode(eval_tf)),
              "(b) draft decode": ImageFolderDataset(scan, eval_tf),
              "(c) disk cache": ImageFolderDataset(scan, eval_tf, cache)}
    for _batch in loader(setups["(c) disk cache"], args):  # fill the cache (the first epoch)
        pass
    workers = loader_workers(args.workers, setups["(b) draft decode"])
    chosen = "auto" if args.workers is None else "chosen"
    print(f"{args.images} JPEGs of {args.width}x{args.height}, {args.backbone} at "
          f"{args.size} px, batch {args.batch}, {workers} loader worker(s) ({chosen}), "
          f"{torch.get_num_threads()} threads")
    print(f"{'decoding':18} {'extract img/s':>14} {'fine-tune img/s':>16}")
    rates = {}
    for name, dataset in setups.items():
        rates[name] = (extraction_rate(model, dataset, args),
                       fine_tune_rate(model, optimizer, dataset, args))
        print(f"{name:18} {rates[name][0]:14.1f} {rates[name][1]:16.1f}")
    base = rates["(a) full decode"]
    for name in list(setups)[1:]:
        print(f"  {name} / (a): extraction x{rates[name][0] / base[0]:.2f}, "
              f"fine-tuning x{rates[name][1] / base[1]:.2f}")
    augmented_wait(scan, cache, model, optimizer, args)
    bare_ratio(setups["(c) disk cache"], model, optimizer, args)
    rss_growth(scan, cache, model, args)


def augmented_wait(scan, cache, model, optimizer, args) -> None:
    dataset = ImageFolderDataset(scan, AugmentTransform(args.size, "light"), cache)
    epoch(model, loader(dataset, args), optimizer)  # the first epoch fills the cache
    seconds, waited, _ = epoch(model, loader(dataset, args), optimizer)
    print(f"augmented (light) epoch after the first, cached: data wait {waited / seconds:.3f} "
          f"of the epoch (target <= 0.05)")


def bare_ratio(dataset, model, optimizer, args) -> None:
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    uint8 = (images * 255).round().to(torch.uint8)
    labels = torch.tensor([label for _, label in dataset.samples])
    bare = [(uint8[i:i + args.batch].float() / 255, labels[i:i + args.batch])
            for i in range(0, len(labels), args.batch)]
    seconds_bare, _, n = epoch(model, bare, optimizer)
    seconds_ours, waited, _ = epoch(model, loader(dataset, args), optimizer)
    print(f"cached epoch / bare loop over uint8 tensors in memory: "
          f"{(n / seconds_ours) / (n / seconds_bare):.2f} (target >= 0.9; data wait "
          f"{waited / seconds_ours:.3f})")


def rss_growth(scan, cache, model, args) -> None:
    dataset = ImageFolderDataset(scan, eval_transform(args.size), cache)
    growth = []
    for times in (1, 3):
        dataset.samples = scan.samples * times
        reset_peak_rss()
        before = peak_rss_mb()
        extraction_rate(model, dataset, args)
        growth.append(peak_rss_mb() - before)
    once, thrice = growth
    print(f"peak RSS growth of feature extraction: {once:.0f} MB over {len(scan.samples)} "
          f"images, {thrice:.0f} MB after {3 * len(scan.samples)} (independent of the count "
          "when the second is no larger)")


if __name__ == "__main__":
    main()
