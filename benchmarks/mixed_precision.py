"""Mixed precision + channels_last against fp32, side by side in one process.

(a) CPU: backbone feature extraction (the feature cache's ``extract_features``) and training
steps (``train_one_epoch``) with random weights, fp32 vs bf16 autocast vs bf16 + channels_last.
(b) CUDA, when a GPU is present: resnet50 training steps, fp32 vs bf16/fp16 autocast +
channels_last (target >= 2.0). Prints what ``precision=auto`` picks for each case.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tlstudio.models.classifier import build_classifier
from tlstudio.recipe import Recipe
from tlstudio.training.events import RunControl
from tlstudio.training.feature_cache import extract_features
from tlstudio.training.loops import train_one_epoch
from tlstudio.training.precision import PrecisionPlan, cpu_has_native_bf16, resolve_precision


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backbones", nargs="+", default=["tf_efficientnet_lite0", "resnet50"])
    p.add_argument("--batch-size", type=int, default=16, help="CPU batch")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batches", type=int, default=2, help="CPU batches per timed pass")
    p.add_argument("--repeats", type=int, default=3, help="interleaved passes per setting")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-image-size", type=int, default=112, help="CPU training steps")
    p.add_argument("--skip-cpu", action="store_true")
    p.add_argument("--cuda-batch-size", type=int, default=128)
    p.add_argument("--cuda-steps", type=int, default=20)
    return p


def plans(device: str, dtypes: tuple[str, ...]) -> dict[str, PrecisionPlan]:
    out = {"fp32": PrecisionPlan("fp32", False, False, device)}
    for dtype in dtypes:
        out[dtype] = PrecisionPlan(dtype, True, False, device)
        out[f"{dtype}+channels_last"] = PrecisionPlan(dtype, True, True, device)
    return out


def fresh_model(name: str, device: str, plan: PrecisionPlan, train: bool) -> nn.Module:
    torch.manual_seed(0)
    model = build_classifier(name, 10, pretrained=False).model.to(device)
    model.requires_grad_(train)
    return plan.prepare_model(model)


def time_extraction(model, loader, plan) -> float:
    start = time.perf_counter()
    extract_features(model, loader, torch.device("cpu"), lambda d, t: None, RunControl(), plan)
    return time.perf_counter() - start


def time_training(model, batches, plan, device, scaler=None) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times: list[float] = []

    def record(event) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter())

    start = time.perf_counter()
    train_one_epoch(model, batches, optimizer, nn.CrossEntropyLoss(), device, 1, record,
                    RunControl(), None, plan, scaler)
    if device.type == "cuda":
        torch.cuda.synchronize()
    # Drop the first two steps (cuDNN autotuning, allocator warm-up).
    return (times[-1] - times[1]) if len(times) > 2 else time.perf_counter() - start


def interleaved(settings: dict[str, PrecisionPlan], run, repeats: int) -> dict[str, float]:
    seconds: dict[str, list[float]] = {name: [] for name in settings}
    for r in range(repeats):
        order = list(settings) if r % 2 == 0 else list(reversed(settings))
        for name in order:
            seconds[name].append(run(name, settings[name]))
    return {name: statistics.median(values) for name, values in seconds.items()}


def report(title: str, images: int, medians: dict[str, float]) -> None:
    print(title)
    base = medians["fp32"]
    for name, sec in medians.items():
        print(f"  {name:22} {images / sec:8.1f} img/s   x{base / sec:.2f} vs fp32")


def cpu_part(args) -> None:
    torch.set_num_threads(args.threads)
    print(f"CPU: native bf16 instructions: {cpu_has_native_bf16()}; {args.threads} threads, "
          f"torch {torch.__version__}")
    settings = plans("cpu", ("bf16",))
    n = args.batch_size * args.batches
    images = torch.rand(n, 3, args.image_size, args.image_size)
    loader = DataLoader(TensorDataset(images, torch.zeros(n, dtype=torch.long)),
                        batch_size=args.batch_size)
    for name in args.backbones:
        auto = resolve_precision(Recipe(data_dir=".", backbone=name), "cpu").describe()
        models = {k: fresh_model(name, "cpu", plan, False) for k, plan in settings.items()}
        for key, plan in settings.items():  # warm-up: oneDNN primitive creation
            time_extraction(models[key], loader, plan)
        medians = interleaved(settings, lambda key, plan, m=models: time_extraction(
            m[key], loader, plan), args.repeats)
        report(f"feature extraction, {name}, {args.image_size}px, batch {args.batch_size} "
               f"(auto picks: {auto})", n, medians)

    size = args.train_image_size
    batches = [(torch.rand(args.batch_size, 3, size, size),
                torch.randint(0, 10, (args.batch_size,))) for _ in range(args.batches + 2)]
    for name in args.backbones:
        medians = interleaved(settings, lambda key, plan, name=name: time_training(
            fresh_model(name, "cpu", plan, True), batches, plan, torch.device("cpu")),
            max(1, args.repeats - 1))
        report(f"training steps (whole model), {name}, {size}px, batch {args.batch_size}",
               args.batch_size * args.batches, medians)


def cuda_part(args) -> None:
    device = torch.device("cuda")
    print(f"CUDA: {torch.cuda.get_device_name()}, bf16 supported: "
          f"{torch.cuda.is_bf16_supported()}, cudnn TF32 for fp32 convs: "
          f"{torch.backends.cudnn.allow_tf32} (torch defaults)")
    settings = plans("cuda", ("bf16", "fp16"))
    b = args.cuda_batch_size
    batches = [(torch.rand(b, 3, 224, 224, device=device),
                torch.randint(0, 10, (b,), device=device)) for _ in range(args.cuda_steps)]
    torch.backends.cudnn.benchmark = True

    def run(key: str, plan: PrecisionPlan) -> float:
        model = fresh_model("resnet50", "cuda", plan, True)
        return time_training(model, batches, plan, device, plan.make_scaler())

    medians = interleaved(settings, run, args.repeats)
    auto = resolve_precision(Recipe(data_dir=".", backbone="resnet50"), device).describe()
    report(f"training steps, resnet50, 224px, batch {b} (auto picks: {auto})",
           b * (args.cuda_steps - 2), medians)
    best = max(medians["fp32"] / medians[k] for k in medians if k != "fp32")
    print(f"best mixed precision + channels_last / fp32 throughput: {best:.2f} "
          f"(target >= 2.0)")


def main() -> None:
    args = get_args_parser().parse_args()
    if not args.skip_cpu:
        cpu_part(args)
    if torch.cuda.is_available():
        cuda_part(args)
    else:
        print("CUDA: no GPU here, the resnet50 training comparison did not run")


if __name__ == "__main__":
    main()
