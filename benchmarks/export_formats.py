"""Every export format side by side for the bundled backbones, trained on the digits demo and
on a real-photo set (12 regions of scikit-learn's two sample photos, as domain_shift.py builds
them): file size and single-image latency as ratios to the same format's fp32 export (ONNX's
for formats without one) measured in the same process, top-1 agreement with the fp32 PyTorch
model, accuracy and its change, and the quality bar of issue 15 (int8 >= 98 % agreement,
accuracy within 1 point, <= 0.35 of the size; fp16 within 0.5 point at <= 0.55 of the size).

    python benchmarks/export_formats.py                   # lite0, lite1, lite2 x demo, photos
    python benchmarks/export_formats.py --data photos --backbone tf_efficientnet_lite0
    python benchmarks/export_formats.py --run RUN ...     # runs you trained
    python benchmarks/export_formats.py --run RUN --formats onnx   # ONNX's variants only
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from domain_shift import write_crops  # benchmarks/ is the script's folder

from tlstudio.data import write_digits_demo
from tlstudio.errors import ExportError
from tlstudio.export import ExportResult, export_run, export_table
from tlstudio.models import backbone_names, get_spec, weights_status
from tlstudio.recipe import Recipe
from tlstudio.training import fit

VARIANTS = [("onnx", None), ("onnx", "fp16"), ("onnx", "int8"), ("openvino", None),
            ("openvino", "fp16"), ("tflite", None), ("tflite", "int8"), ("torchscript", None),
            ("coreml", None)]
BAR = {"int8": (0.98, 1.0, 0.35), "fp16": (0.98, 0.5, 0.55)}  # agreement, points, size ratio


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="append", default=[], help="a trained run (repeatable)")
    p.add_argument("--backbone", action="append", default=[],
                   help="train this backbone on the digits demo (default: the bundled ones)")
    p.add_argument("--data", default="demo,photos", help="demo, photos or both (comma-separated)")
    p.add_argument("--photos-per-class", type=int, default=90,
                   help="crops per photo region (90: 216 validation images, so that one "
                   "image weighs less than the bar's 0.5 point)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--image-size", type=int, default=128, help="as `tlstudio demo` trains")
    p.add_argument("--formats", default=",".join(dict.fromkeys(f for f, _ in VARIANTS)),
                   help="only these formats (comma-separated; ONNX fp32 is always the base)")
    return p


def train(backbone: str, data: str, root: Path, args: argparse.Namespace) -> Path:
    """`backbone` trained on the digits demo (its own val folder) or the photo crops (20 %
    held out), as the studio's defaults train it with the head alone."""
    if data == "demo":
        folder = write_digits_demo(root / "digits")
        folders = {"data_dir": str(folder / "train"), "val_dir": str(folder / "val")}
    else:
        folder = root / "photos"
        if not folder.exists():
            write_crops(folder, args.photos_per_class, 96, np.random.default_rng(0))
        folders = {"data_dir": str(folder)}
    recipe = Recipe(**folders, out_dir=str(root / f"{backbone}-{data}"), backbone=backbone,
                    epochs=args.epochs, lr=3e-3, image_size=args.image_size)
    return Path(fit(recipe).run_dir)


def verdicts(results: list[ExportResult]) -> list[str]:
    """Size and latency ratios to the same format's fp32 export and, when quantized, the bar."""
    fp32 = {r.format: r for r in results if r.quantize is None}
    lines = []
    for r in results:
        base = fp32.get(r.format, fp32["onnx"])
        size = r.bytes / base.bytes
        speed = f"{r.latency_ms / base.latency_ms:.2f}" if r.latency_ms else "-"
        line = f"{r.format:<11} {r.quantize or 'fp32':<5} size x{size:.2f}  latency x{speed}"
        if r.quantize in BAR and r.accuracy is not None:
            agreement, points, ratio = BAR[r.quantize]
            change = round(abs(r.accuracy - r.reference_accuracy) * 100, 6)  # 1.0000000001
            ok = r.agreement >= agreement and change <= points and size <= ratio
            line += (f"  bar: agreement {r.agreement:.1%} >= {agreement:.0%}, change "
                     f"{change:.1f} <= {points} pt, size {size:.2f} <= {ratio}: "
                     f"{'met' if ok else 'NOT met'}")
        lines.append(line)
    return lines


def report(run: Path, folder: Path, formats: set[str]) -> None:
    results, refused = [], []
    for fmt, quantize in VARIANTS:
        if fmt not in formats and (fmt, quantize) != ("onnx", None):
            continue
        out = folder / f"{fmt}-{quantize or 'fp32'}"
        out.mkdir(parents=True)
        try:
            results.append(export_run(run, fmt, out, quantize=quantize))
        except ExportError as e:  # its runtime disagreed: the export was refused, say so
            refused.append(f"{fmt} {quantize or 'fp32'}: refused: {e}")
    print(f"\n{run.name} (ratios to the format's fp32 export, same process)", flush=True)
    print(export_table(results))
    print("\n".join(verdicts(results) + refused), flush=True)


def main() -> None:
    args = get_args_parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="tlstudio-export-bench-") as tmp:
        runs = [Path(r) for r in args.run]
        if not runs:
            names = args.backbone or [n for n in backbone_names()
                                      if weights_status(get_spec(n)) == "bundled"]
            runs = [train(n, data, Path(tmp), args) for n in names
                    for data in args.data.split(",")]
        for i, run in enumerate(runs):
            report(run, Path(tmp) / f"exports-{i}", set(args.formats.split(",")))


if __name__ == "__main__":
    main()
