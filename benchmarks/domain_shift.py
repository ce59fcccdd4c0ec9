"""Target accuracy of each domain adaptation method against no adaptation, on real-image shifts.

Source: colour crops of scikit-learn's two sample photos, the class being the region of the
photo each crop comes from (3 x 2 regions per photo, 12 classes). Target: other crops of the
same regions under a change of exposure, colour, blur and noise. The adaptation sees the
target images without labels (plus a small labelled target folder for `auto` and the per-epoch
target accuracy); the labels of the target images are kept aside to score the saved model.
Every method trains the same recipe in one process, so the accuracies compare side by side.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from sklearn.datasets import load_sample_image

from tlstudio.data import eval_transform, load_rgb
from tlstudio.recipe import Recipe
from tlstudio.runs import load_model
from tlstudio.training import fit


@dataclass(frozen=True)
class Shift:
    name: str
    exposure: float  # pixel values multiplied by this
    cast: tuple[float, float, float]  # then each channel multiplied by this
    blur: float  # Gaussian blur radius, pixels
    noise: float  # Gaussian noise, standard deviation in 0-255 units

    def apply(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        if self.blur:
            image = image.filter(ImageFilter.GaussianBlur(self.blur))
        pixels = np.asarray(image, dtype=np.float32) * self.exposure * np.array(self.cast)
        pixels += rng.normal(0, self.noise, pixels.shape) if self.noise else 0
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


SHIFTS = (
    Shift("mild: a little darker, warmer", 0.85, (1.05, 1.0, 0.92), 0.0, 4.0),
    Shift("mild: slight blur and noise", 1.0, (1.0, 1.0, 1.0), 0.8, 8.0),
    Shift("severe: dark, blue cast, blur, noise", 0.3, (0.5, 0.8, 1.6), 1.5, 12.0),
    Shift("severe: overexposed, green cast", 2.6, (0.75, 1.35, 0.65), 1.2, 8.0),
    Shift("severe: dark, blue cast, noise", 0.3, (0.6, 0.8, 1.5), 0.0, 10.0),
)
METHODS = ("none", "adabn", "align", "coral", "entropy", "auto")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--per-class", type=int, default=16, help="source crops per class")
    p.add_argument("--target-per-class", type=int, default=16, help="unlabelled target crops")
    p.add_argument("--target-val-per-class", type=int, default=4, help="labelled target crops")
    p.add_argument("--crop", type=int, default=96, help="crop size in the photos, pixels")
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--shifts", default="all", help="comma-separated indices into the shifts")
    p.add_argument("--methods", default=",".join(METHODS))
    return p


def write_crops(root: Path, per_class: int, crop: int, rng: np.random.Generator,
                shift: Shift | None = None, flat: bool = False) -> list[tuple[str, int]]:
    """Crops of each photo region into class folders (or one flat folder); (path, label)."""
    written = []
    for photo_index, name in enumerate(("china.jpg", "flower.jpg")):
        photo = load_sample_image(name)
        height, width, _ = photo.shape
        for r in range(2):
            for c in range(3):
                label = photo_index * 6 + r * 3 + c
                top, left, h, w = r * height // 2, c * width // 3, height // 2, width // 3
                for i in range(per_class):
                    y, x = rng.integers(top, top + h - crop), rng.integers(left, left + w - crop)
                    image = Image.fromarray(photo[y : y + crop, x : x + crop])
                    if shift is not None:
                        image = shift.apply(image, rng)
                    folder = root if flat else root / f"region{label:02d}"
                    folder.mkdir(parents=True, exist_ok=True)
                    path = folder / f"r{label:02d}-{i:03d}.png"
                    image.save(path)
                    written.append((str(path), label))
    return written


def target_accuracy(run_dir: str, images: list[tuple[str, int]], size: int) -> float:
    """The saved model's accuracy on the target images, whose labels training never saw."""
    model, info = load_model(run_dir)
    transform = eval_transform(info.image_size or size)
    x = torch.stack([transform(load_rgb(path)) for path, _ in images])
    with torch.inference_mode():
        predicted = model(x).argmax(1).numpy()
    return float((predicted == np.array([label for _, label in images])).mean())


def run_shift(shift: Shift, args: argparse.Namespace, tmp: Path, methods: list[str]
              ) -> dict[str, tuple[float, float, str]]:
    rng = np.random.default_rng(0)
    source = tmp / "source"
    write_crops(source, args.per_class, args.crop, rng)
    target = write_crops(tmp / "target", args.target_per_class, args.crop, rng, shift, flat=True)
    write_crops(tmp / "target_val", args.target_val_per_class, args.crop, rng, shift)
    base = Recipe(data_dir=str(source), backbone="tf_efficientnet_lite0", epochs=args.epochs,
                  image_size=args.image_size, batch_size=32, lr=3e-3, device="cpu",
                  threads=args.threads, target_dir=str(tmp / "target"),
                  target_val_dir=str(tmp / "target_val"))
    results = {}
    for method in methods:
        begun = time.perf_counter()
        out = tmp / f"run-{method}"
        fit(base.replace(adapt=method, out_dir=str(out)))
        chosen = Recipe.load(out / "recipe.json").adapt
        results[method] = (target_accuracy(str(out), target, args.image_size),
                           time.perf_counter() - begun, chosen)
    return results


def main() -> None:
    args = get_args_parser().parse_args()
    torch.set_num_threads(args.threads)
    shifts = SHIFTS if args.shifts == "all" else [SHIFTS[int(i)] for i in args.shifts.split(",")]
    methods = args.methods.split(",")
    print(f"Lite0 frozen, linear head, {args.image_size}px, {args.epochs} epochs; 12 classes, "
          f"{args.per_class} source / {args.target_per_class} target (labels kept aside) / "
          f"{args.target_val_per_class} labelled target crops per class")
    print(f"{'shift':40} " + " ".join(f"{m:>8}" for m in methods) + "   best gain  auto chose")
    for shift in shifts:
        with tempfile.TemporaryDirectory(prefix="tlstudio-shift-") as tmp:
            results = run_shift(shift, args, Path(tmp), methods)
        none = results["none"][0] if "none" in results else float("nan")
        best = max((m for m in results if m not in ("none", "auto")),
                   key=lambda m: results[m][0], default="none")
        auto = results.get("auto")
        print(f"{shift.name:40} " + " ".join(f"{results[m][0]:>8.2f}" for m in methods)
              + f"   {best} {100 * (results[best][0] - none):+.0f} pts"
              + (f"  {auto[2]} ({100 * (auto[0] - none):+.0f} pts)" if auto else ""),
              flush=True)


if __name__ == "__main__":
    main()
