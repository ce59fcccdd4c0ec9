"""Every export format side by side for the bundled backbones, trained on the digits demo:
file size and single-image latency as ratios to the fp32 ONNX export measured in the same
process, top-1 agreement with the fp32 PyTorch model, accuracy and its change, and the quality
bar of issue 15 (int8 >= 98 % agreement, accuracy within 1 point, <= 0.35 of the size; fp16
within 0.5 point at <= 0.55 of the size).

    python benchmarks/export_formats.py                   # lite0, lite1, lite2, trained here
    python benchmarks/export_formats.py --run RUN ...     # runs you trained
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

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
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--image-size", type=int, default=128, help="as `tlstudio demo` trains")
    return p


def train_demo(backbone: str, root: Path, epochs: int, image_size: int) -> Path:
    data = write_digits_demo(root / "digits")
    recipe = Recipe(data_dir=str(data / "train"), val_dir=str(data / "val"),
                    out_dir=str(root / backbone), backbone=backbone, epochs=epochs, lr=3e-3,
                    image_size=image_size)
    return Path(fit(recipe).run_dir)


def verdicts(results: list[ExportResult]) -> list[str]:
    """Size and latency ratios to fp32 ONNX and, for quantized ONNX and LiteRT, the bar."""
    base = next(r for r in results if r.format == "onnx" and r.quantize is None)
    lines = []
    for r in results:
        size = r.bytes / base.bytes
        speed = f"{r.latency_ms / base.latency_ms:.2f}" if r.latency_ms else "-"
        line = f"{r.format:<11} {r.quantize or 'fp32':<5} size x{size:.2f}  latency x{speed}"
        if r.quantize in BAR and r.format in ("onnx", "tflite") and r.accuracy is not None:
            agreement, points, ratio = BAR[r.quantize]
            change = abs(r.accuracy - r.reference_accuracy) * 100
            ok = r.agreement >= agreement and change <= points and size <= ratio
            line += (f"  bar: agreement {r.agreement:.1%} >= {agreement:.0%}, change "
                     f"{change:.1f} <= {points} pt, size {size:.2f} <= {ratio}: "
                     f"{'met' if ok else 'NOT met'}")
        lines.append(line)
    return lines


def report(run: Path, folder: Path) -> None:
    results, refused = [], []
    for fmt, quantize in VARIANTS:
        out = folder / f"{fmt}-{quantize or 'fp32'}"
        out.mkdir(parents=True)
        try:
            results.append(export_run(run, fmt, out, quantize=quantize))
        except ExportError as e:  # its runtime disagreed: the export was refused, say so
            refused.append(f"{fmt} {quantize or 'fp32'}: refused: {e}")
    print(f"\n{run} (ratios to fp32 ONNX, same process)")
    print(export_table(results))
    print("\n".join(verdicts(results) + refused))


def main() -> None:
    args = get_args_parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="tlstudio-export-bench-") as tmp:
        runs = [Path(r) for r in args.run]
        if not runs:
            names = args.backbone or [n for n in backbone_names()
                                      if weights_status(get_spec(n)) == "bundled"]
            runs = [train_demo(n, Path(tmp), args.epochs, args.image_size) for n in names]
        for i, run in enumerate(runs):
            report(run, Path(tmp) / f"exports-{i}")


if __name__ == "__main__":
    main()
