"""Epoch times of a head-only run with the feature cache, against epoch 1 and an uncached run.

Epoch 1 pays for extracting backbone features once; later epochs train only the head on them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tlstudio.data import write_digits_demo
from tlstudio.recipe import Recipe
from tlstudio.training import FitStarted, fit


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    p.add_argument("--image-size", type=int, default=None, help="default: the backbone's own")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=5, help="epochs of the cached run")
    p.add_argument("--uncached-epochs", type=int, default=2, help="0 skips the uncached run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--per-class", type=int, default=40, help="digits demo images per class")
    return p


def epoch_seconds(recipe: Recipe) -> tuple[list[float], bool]:
    """Each epoch's seconds as the engine reports them, and whether the cache was used."""
    started: list[FitStarted] = []
    result = fit(
        recipe, callbacks=[lambda e: started.append(e) if isinstance(e, FitStarted) else None]
    )
    return [e.seconds for e in result.epochs], started[0].feature_cache


def main() -> None:
    args = get_args_parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="tlstudio-bench-") as tmp:
        demo = write_digits_demo(Path(tmp) / "digits", per_class=args.per_class)
        recipe = Recipe(
            data_dir=str(demo / "train"),
            val_dir=str(demo / "val"),
            out_dir=str(Path(tmp) / "cached"),
            backbone=args.backbone,
            freeze="backbone",
            feature_cache=True,
            epochs=args.epochs,
            batch_size=args.batch_size,
            image_size=args.image_size,
            device="cpu",
            threads=args.threads,
        )
        size = f"{args.image_size}px" if args.image_size else "default size"
        print(
            f"{args.backbone} head only, {size}, batch {args.batch_size}, {args.threads} "
            f"threads, digits demo {args.per_class} per class"
        )
        cached, used = epoch_seconds(recipe)
        if not used:
            raise SystemExit("the engine did not use the feature cache for a head-only run")
        for i, s in enumerate(cached, start=1):
            note = " (includes extracting features once)" if i == 1 else ""
            print(f"cached epoch {i}: {s:.4f} s{note}")
        later = statistics.mean(cached[1:])
        ratio = later / cached[0]
        print(f"feature cache epoch ratio (mean epoch 2+ / epoch 1): {ratio:.3f} ({ratio:.1e})")
        if args.uncached_epochs:
            plain = recipe.replace(
                out_dir=str(Path(tmp) / "uncached"),
                feature_cache=False,
                epochs=args.uncached_epochs,
            )
            uncached, _ = epoch_seconds(plain)
            for i, s in enumerate(uncached, start=1):
                print(f"uncached epoch {i}: {s:.4f} s")
            # The last uncached epoch is the steady-state one; epoch 1 carries first-call costs.
            print(
                f"cached epoch 2 / uncached epoch {len(uncached)}: {cached[1] / uncached[-1]:.1e}"
            )


if __name__ == "__main__":
    main()
