"""How long `tlstudio compare` takes per strategy on the digits demo, and what the shared feature
extraction saves: each head-only strategy after the first, per fold, against the first.

The first head-only strategy of a fold (logreg) pays for extracting the backbone's features;
svm, knn and head reuse them (target: each costs <= 0.05 of the first's time). Fold seconds
are as compare.json records them: the whole fit (model build, features or their reuse, the
head, validation, the run's files).

Defaults: the digits demo as `tlstudio demo` writes it (40 images per class: 300 training, 100
validation; with --folds the validation images join the folds) and 3 folds. With 2 folds the
second fold's training images are exactly the first fold's held-out images, whose features the
first fold already extracted, so no strategy of fold 2 extracts anything and its "first" is a
bare logistic-regression fit: 3 folds keep the premise (each fold's first strategy extracts).

With --repeats R the comparison runs R times and each strategy's fold keeps its fastest time
(the run least disturbed by other work on a shared machine), as timeit does. It also prints
the CPU seconds each fold used (the process's, all threads; from one FoldEnded event to the
next), which other processes on the machine move less than wall-clock seconds, and the same
ratio over them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tlstudio.comparison import HEAD_ONLY_STRATEGIES, compare, parse_strategies
from tlstudio.data import write_digits_demo
from tlstudio.recipe import Recipe
from tlstudio.training import FoldEnded


class FoldCpu:
    """CPU seconds of each (strategy, fold), the fastest over repeats."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, int], float] = {}
        self.mark = time.process_time()

    def restart(self) -> None:
        self.mark = time.process_time()

    def __call__(self, event: object) -> None:
        if isinstance(event, FoldEnded):
            now = time.process_time()
            key = (event.strategy, event.fold)
            self.seconds[key] = min(self.seconds.get(key, float("inf")), now - self.mark)
            self.mark = now


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--per-class", type=int, default=40,
                   help="digits demo images per class (training and validation)")
    p.add_argument("--strategies", default=None, help="default: all nine")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1, help="runs of the whole comparison; "
                   "each fold's fastest counts")
    return p


def fastest(results: list[dict]) -> dict:
    """The first result with each strategy's fold seconds the fastest over all results."""
    best = results[0]
    for row_index, row in enumerate(best["strategies"]):
        for fold_index, fold in enumerate(row["folds"]):
            fold["seconds"] = min(r["strategies"][row_index]["folds"][fold_index]["seconds"]
                                  for r in results)
    return best


def main() -> None:
    args = get_args_parser().parse_args()
    strategies = parse_strategies(args.strategies)
    with tempfile.TemporaryDirectory(prefix="tlstudio-bench-") as tmp:
        demo = write_digits_demo(Path(tmp) / "digits", per_class=args.per_class)
        recipe = Recipe(data_dir=str(demo / "train"), val_dir=str(demo / "val"),
                        out_dir=str(Path(tmp) / "compare"), epochs=args.epochs,
                        folds=args.folds, image_size=args.image_size, device="cpu",
                        threads=args.threads, precision="fp32")
        begun = time.perf_counter()
        cpu, results = FoldCpu(), []
        for _ in range(args.repeats):
            cpu.restart()
            results.append(compare(recipe, [args.backbone], strategies, callbacks=[cpu],
                                   overwrite=True).result)
        total = (time.perf_counter() - begun) / args.repeats
    result = fastest(results)
    print(f"{args.backbone}, {args.image_size}px, {args.epochs} epoch(s), {args.folds} folds, "
          f"digits demo {args.per_class} per class, {args.threads} threads: {total:.1f} s in all"
          + (f" (mean of {args.repeats} runs; each fold's fastest below)" if args.repeats > 1
             else ""))
    print(f"{'strategy':12} {'s/fold':>8} {'accuracy':>9} {'ratio to the first head-only':>29}"
          f" {'CPU s/fold':>11} {'CPU ratio':>10}")
    rows = result["strategies"]
    first = next((r for r in rows if r["strategy"] in HEAD_ONLY_STRATEGIES), None)
    for row in rows:
        seconds = [f["seconds"] for f in row["folds"]]
        cpu_s = [cpu.seconds[(row["strategy"], n)] for n in range(1, len(seconds) + 1)]
        ratio = cpu_ratio = ""
        if first is not None and row["strategy"] in HEAD_ONLY_STRATEGIES and row is not first:
            ratios = [s / f["seconds"] for s, f in zip(seconds, first["folds"], strict=True)]
            ratio = f"{statistics.median(ratios):.3f} (target <= 0.05)"
            first_cpu = [cpu.seconds[(first["strategy"], n)] for n in range(1, len(seconds) + 1)]
            cpu_ratios = [c / f for c, f in zip(cpu_s, first_cpu, strict=True)]
            cpu_ratio = f"{statistics.median(cpu_ratios):.3f}"
        print(f"{row['strategy']:12} {statistics.mean(seconds):8.2f} "
              f"{row['accuracy_mean']:9.1%} {ratio:>29} {statistics.mean(cpu_s):11.2f} "
              f"{cpu_ratio:>10}")
    print(f"feature extractions reused: {result['feature_extractions_shared']}")


if __name__ == "__main__":
    main()
