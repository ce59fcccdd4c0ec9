"""int8 ONNX and LiteRT with and without bias correction, side by side on the same runs (LiteRT:
tlstudio/export/bias_correction.py, which the LiteRT export keeps; ONNX: the same correction on
ONNX Runtime's QDQ model, defined here, which the ONNX export does not keep): top-1 agreement
with the fp32 PyTorch model on the validation and the training images, and the mean over
images of the largest probability difference, with its ratio corrected / uncorrected. No
accuracy guard: every layer int8 but the high-resolution ones, so the numbers show the
correction alone.

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
from tlstudio.export.bias_correction import output_shift
from tlstudio.export.measure import run_images
from tlstudio.export.onnx import onnx_bytes
from tlstudio.export.onnx_float_layers import high_resolution_nodes
from tlstudio.inference import ProbabilityModel
from tlstudio.models import backbone_names, get_spec, weights_status
from tlstudio.runs import load_model, read_run_info


def qdq_mean_inputs(
    fp32: onnx.ModelProto, images: np.ndarray, batch: int = 8
) -> dict[str, np.ndarray]:
    """The mean per channel of what each Conv and Gemm of an fp32 ONNX model receives over
    `images` (NCHW), by node name (ONNX Runtime's QDQ quantizer keeps the names)."""
    import onnxruntime as ort

    layers = [n for n in fp32.graph.node if n.op_type in ("Conv", "Gemm")]
    probe = onnx.ModelProto()
    probe.CopyFrom(fp32)
    known = {o.name for o in probe.graph.output}
    for name in dict.fromkeys(n.input[0] for n in layers):
        if name not in known:
            probe.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    source = session.get_inputs()[0].name
    sums: dict[str, np.ndarray] = {}
    for start in range(0, len(images), batch):
        values = dict(zip(names, session.run(names, {source: images[start:start + batch]}),
                          strict=True))
        for node in layers:
            seen = values[node.input[0]]
            total = seen.sum(axis=(0, 2, 3)) / (seen.shape[2] * seen.shape[3]) if seen.ndim == 4 \
                else seen.sum(axis=0)
            sums[node.name] = sums.get(node.name, 0) + total
    return {name: total / len(images) for name, total in sums.items()}


def correct_qdq(
    quantized: onnx.ModelProto, fp32: onnx.ModelProto, means: dict[str, np.ndarray]
) -> int:
    """Correct, in place, the int32 bias of each Conv and Gemm with int8 weights in ONNX
    Runtime's QDQ model `quantized` of `fp32`, from the layers' mean inputs (qdq_mean_inputs);
    the number of layers corrected."""
    from onnx import numpy_helper

    initializers = {t.name: t for t in quantized.graph.initializer}
    producers = {output: node for node in quantized.graph.node for output in node.output}
    originals = {node.name: node for node in fp32.graph.node}
    weights = {t.name: t for t in fp32.graph.initializer}

    def dequantized(name: str) -> tuple[onnx.TensorProto, np.ndarray, np.ndarray] | None:
        node = producers.get(name)
        if node is None or node.op_type != "DequantizeLinear" or len(node.input) < 3:
            return None
        stored, scale, zero = (initializers.get(n) for n in node.input[:3])
        if stored is None or scale is None or zero is None:
            return None
        shape = (-1,) + (1,) * (len(stored.dims) - 1)
        return (stored, numpy_helper.to_array(scale).reshape(shape),
                numpy_helper.to_array(zero).astype(np.float64).reshape(shape))

    corrected = 0
    for node in quantized.graph.node:
        original = originals.get(node.name)
        if node.op_type not in ("Conv", "Gemm") or len(node.input) < 3 or original is None:
            continue
        weight, bias = dequantized(node.input[1]), dequantized(node.input[2])
        float_weight = weights.get(original.input[1])
        if weight is None or bias is None or float_weight is None or node.name not in means:
            continue
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        stored, scale, zero = weight
        rounded = (numpy_helper.to_array(stored) - zero) * scale
        delta = rounded - numpy_helper.to_array(float_weight)
        if node.op_type == "Gemm" and not attributes.get("transB", 0):
            delta = delta.T  # Gemm's weight as (outputs, inputs)
        shift = output_shift(torch.from_numpy(delta).double(),
                             torch.from_numpy(np.asarray(means[node.name], np.float64)),
                             attributes.get("group", 1)).numpy()
        stored, scale, zero = bias
        value = (numpy_helper.to_array(stored) - zero.ravel()) * scale.ravel() - shift
        fixed = np.clip(np.rint(value / scale.ravel() + zero.ravel()), -(2**31), 2**31 - 1)
        stored.CopyFrom(numpy_helper.from_array(fixed.astype(np.int32), stored.name))
        corrected += 1
    return corrected


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
