"""Training-step throughput of the tlstudio engine against a bare PyTorch loop, side by side.

Both train the same Classifier (a timm model for the EfficientNet backbones) on the same
batches (same seed, DataLoader, AdamW, loss, thread count, and on a GPU the same autocast dtype
and memory layout) in one process, interleaved; only steady-state training batches are timed.
`--device cuda` measures the engine's overhead on a GPU (issue: >= 0.9 of the bare loop).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from tlstudio.data import ImageFolderDataset, eval_transform, scan_folder, write_digits_demo
from tlstudio.models import apply_freeze, build_classifier
from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, fit
from tlstudio.training.precision import resolve_precision
from tlstudio.training.stages import seed_everything


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    p.add_argument("--freeze", default="stages:6", help="'none' or 'stages:K' (cache stays off)")
    p.add_argument("--image-size", type=int, default=112)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    p.add_argument("--repeats", type=int, default=6, help="engine/bare pairs, order alternating")
    p.add_argument("--warmup", type=int, default=2, help="first batches of each run not timed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--per-class", type=int, default=40, help="digits demo images per class")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers for both loops")
    return p


def step_seconds(stamps: list[tuple[int, int, int, float]], warmup: int) -> list[float]:
    """Seconds of each timed full batch, from (epoch, batch, images, seconds-in-epoch) stamps.

    Each step includes loading its batch, as in the engine's own BatchEnded timing. The first
    `warmup` batches of the run and partial last batches are left out.
    """
    full = max(images for _, _, images, _ in stamps)
    steps, previous = [], {}
    for n, (epoch, _batch, images, t) in enumerate(stamps):
        step = t - previous.get(epoch, 0.0)
        previous[epoch] = t
        if n >= warmup and images == full:
            steps.append(step)
    if not steps:
        raise SystemExit("No full batch left to time: raise --epochs or --per-class")
    return steps


def run_engine(recipe: Recipe, out_dir: Path) -> tuple[list[float], list[tuple]]:
    stamps: list[tuple[int, int, int, float]] = []
    losses: list[float] = []

    def record(event: object) -> None:
        if isinstance(event, BatchEnded):
            stamps.append((event.epoch, event.batch, event.images, event.seconds))
            losses.append(event.loss)

    fit(recipe.replace(out_dir=str(out_dir)), callbacks=[record])
    return losses, stamps


def run_bare(recipe: Recipe) -> tuple[list[float], list[tuple]]:
    """The minimal loop: what the engine must cost no more than."""
    seed_everything(recipe.seed)  # same head init, dropout draws and shuffle order as fit()
    torch.set_num_threads(recipe.threads)
    train = scan_folder(recipe.data_dir)
    built = build_classifier(recipe.backbone, len(train.classes))
    apply_freeze(built.model, built.stages, recipe.train_stages)
    device = torch.device(recipe.device)
    plan = resolve_precision(recipe, device)  # the engine's autocast dtype and memory layout
    model = plan.prepare_model(built.model.to(device))
    loader = DataLoader(
        ImageFolderDataset(train, eval_transform(recipe.image_size)),
        batch_size=recipe.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(recipe.seed),
        num_workers=recipe.num_workers,
        pin_memory=device.type == "cuda",
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=recipe.lr,
        weight_decay=recipe.weight_decay,
    )
    loss_fn = nn.CrossEntropyLoss()
    stamps: list[tuple[int, int, int, float]] = []
    losses: list[float] = []
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        start = time.perf_counter()
        for i, (x, y) in enumerate(loader, start=1):
            x = plan.inputs(x.to(device, non_blocking=True))
            y = y.to(device, non_blocking=True)
            with plan.autocast_context():
                loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # a sync per step, as the engine's BatchEnded has
            stamps.append((epoch, i, y.shape[0], time.perf_counter() - start))
    return losses, stamps


def main() -> None:
    args = get_args_parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="tlstudio-bench-") as tmp:
        demo = write_digits_demo(Path(tmp) / "digits", per_class=args.per_class)
        recipe = Recipe(
            data_dir=str(demo / "train"),
            val_dir=str(demo / "val"),
            backbone=args.backbone,
            freeze=args.freeze,
            feature_cache=False,
            epochs=args.epochs,
            batch_size=args.batch_size,
            image_size=args.image_size,
            device=args.device,
            threads=args.threads,
            num_workers=args.workers,
        )
        print(
            f"{args.backbone} freeze={args.freeze} {args.image_size}px batch {args.batch_size}"
            f", {args.epochs} epochs x {args.repeats} repeats, {args.threads} threads,"
            f" median step time of full batches after the first {args.warmup} of each run"
        )
        engine_ips, bare_ips, ratios, loss_gap = [], [], [], 0.0
        for r in range(args.repeats):
            order = ("engine", "bare") if r % 2 == 0 else ("bare", "engine")
            got = {}
            for which in order:
                if which == "engine":
                    got[which] = run_engine(recipe, Path(tmp) / f"run{r}")
                else:
                    got[which] = run_bare(recipe)
            (e_loss, e_stamps), (b_loss, b_stamps) = got["engine"], got["bare"]
            loss_gap = max([loss_gap, *(abs(a - b) for a, b in zip(e_loss, b_loss, strict=True))])
            e = statistics.median(step_seconds(e_stamps, args.warmup))
            b = statistics.median(step_seconds(b_stamps, args.warmup))
            # Median step time, not the mean: a burst of load from a neighbour moves it little.
            engine_ips.append(args.batch_size / e)
            bare_ips.append(args.batch_size / b)
            ratios.append(engine_ips[-1] / bare_ips[-1])
            print(
                f"repeat {r + 1} ({' then '.join(order)}): engine {engine_ips[-1]:.1f} img/s,"
                f" bare {bare_ips[-1]:.1f} img/s, ratio {ratios[-1]:.3f}",
                flush=True,
            )
    print(
        f"largest per-batch loss difference engine vs bare: {loss_gap:.2e}"
        " (near 0: same batches, same work)"
    )
    print(f"engine images/s (median of repeats): {statistics.median(engine_ips):.1f}")
    print(f"bare images/s (median of repeats): {statistics.median(bare_ips):.1f}")
    print(
        f"engine/bare throughput ratio: {statistics.median(ratios):.2f}"
        f" (median of paired repeats; range {min(ratios):.2f}-{max(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
