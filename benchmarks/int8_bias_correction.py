"""int8 ONNX and LiteRT with and without bias correction (tlstudio/export/bias_correction.py),
side by side on the same runs: top-1 agreement with the fp32 PyTorch model on the validation and
the training images, and the mean over images of the largest probability difference, with its
ratio corrected / uncorrected. No accuracy guard: every layer int8 but the high-resolution ones,
so the numbers show the correction alone.

    python benchmarks/int8_bias_correction.py                 # lite0-2 x demo, photos (30/region)
    python benchmarks/int8_bias_correction.py --run RUN ...   # runs you trained
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from export_formats import get_args_parser as export_args  # benchmarks/ is the script's folder
from export_formats import train

from tlstudio.export import litert, onnx_quantized
from tlstudio.export.bias_correction import correct_qdq, qdq_mean_inputs
from tlstudio.export.measure import run_images
from tlstudio.export.onnx import onnx_bytes
from tlstudio.export.onnx_float_layers import high_resolution_nodes
from tlstudio.inference import ProbabilityModel
from tlstudio.models import backbone_names, get_spec, weights_status
from tlstudio.runs import load_model, read_run_info


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="append", default=[], help="a trained run (repeatable)")
    p.add_argument("--photos-per-class", type=int, default=30, help="crops per photo region")
    return p


def onnx_variants(model: ProbabilityModel, info, calibration: torch.Tensor, folder: Path):
    """(corrected?, quantized ONNX bytes) for both settings, from one quantization."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source, prepared = folder / "fp32.onnx", folder / "prepared.onnx"
    source.write_bytes(onnx_bytes(model, info))
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    fp32 = onnx.load(prepared)
    keep = [n.name for n in fp32.graph.node if n.op_type == "Softmax"]
    keep += high_resolution_nodes(fp32, calibration[:1].numpy())
    plain = onnx_quantized._quantized(prepared, folder / "int8.onnx", calibration, keep)
    corrected = onnx.load_from_string(plain)
    correct_qdq(corrected, fp32, qdq_mean_inputs(fp32, calibration.numpy()))
    for flag, content in ((False, plain), (True, corrected.SerializeToString())):
        yield flag, lambda images, content=content: onnx_quantized._probabilities(content, images)


def litert_variants(model: ProbabilityModel, info, calibration: torch.Tensor):
    import litert_torch
    from litert_torch.quantize.quant_config import QuantConfig

    sample = (calibration[:1].contiguous(),)
    real = litert.correct_pt2e
    for flag in (False, True):
        litert.correct_pt2e = real if flag else (lambda graph, images: 0)
        try:
            with litert.silenced():
                quantizer = litert._quantizer(info.image_size)
                graph = litert._calibrated(model, sample, calibration, quantizer)
                content = litert_torch.convert(
                    graph, sample, quant_config=QuantConfig(pt2e_quantizer=quantizer)
                ).model_content()
                probabilities = litert._interpreted(content, None)
        finally:
            litert.correct_pt2e = real
        yield flag, lambda images, run=probabilities: run(images.numpy())


def report(run: Path, folder: Path) -> None:
    classifier, info = load_model(run)
    model = ProbabilityModel(classifier, info.temperature).eval()
    images = run_images(info, read_run_info(run).recipe, None)
    sets = {"val": images.validation, "train": images.calibration}
    with torch.inference_mode():
        reference = {k: model(v).numpy() for k, v in sets.items()}
    print(f"\n{run.name}: {len(sets['val'])} validation, {len(sets['train'])} training images")
    print(f"{'format':<8} {'corrected':<9} {'val agree':>9} {'train agree':>11} "
          f"{'val mean diff':>13} {'train mean diff':>15}")
    for name, variants in (("onnx", onnx_variants(model, info, sets["train"], folder)),
                           ("tflite", litert_variants(model, info, sets["train"]))):
        diffs = {}
        for flag, predict in variants:
            row = {}
            for key, batch in sets.items():
                got = predict(batch)
                row[key] = ((got.argmax(1) == reference[key].argmax(1)).mean(),
                            np.abs(got - reference[key]).max(1).mean())
            diffs[flag] = row["val"][1]
            print(f"{name:<8} {'yes' if flag else 'no':<9} {row['val'][0]:>9.1%} "
                  f"{row['train'][0]:>11.1%} {row['val'][1]:>13.4f} {row['train'][1]:>15.4f}",
                  flush=True)
        print(f"{name:<8} val mean diff corrected / uncorrected: x{diffs[True] / diffs[False]:.2f}")


def main() -> None:
    args = get_args_parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="tlstudio-bias-bench-") as tmp:
        runs = [Path(r) for r in args.run]
        if not runs:
            recipe = export_args().parse_args(["--photos-per-class", str(args.photos_per_class)])
            names = [n for n in backbone_names() if weights_status(get_spec(n)) == "bundled"]
            runs = [train(n, data, Path(tmp), recipe) for n in names for data in ("demo", "photos")]
        for i, run in enumerate(runs):
            folder = Path(tmp) / f"onnx-{i}"
            folder.mkdir()
            report(run, folder)


if __name__ == "__main__":
    main()
