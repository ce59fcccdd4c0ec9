"""Load a run folder or an exported model (ONNX, TorchScript, safetensors) and predict.

Every source becomes the same `Predictor`: float RGB [0, 1] NCHW in, class probabilities out.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from tlstudio import atomic
from tlstudio.data import SkippedFile, find_files
from tlstudio.data.images import UnreadableImage, load_rgb
from tlstudio.data.transforms import eval_transform
from tlstudio.errors import ModelFileError
from tlstudio.filenames import stored_bytes
from tlstudio.pickles import first_line
from tlstudio.runs.model_files import ModelInfo, load_model

TORCHSCRIPT_INFO = "tlstudio.json"  # the TorchScript extra file describing the model
# Metadata values are strings; these keys hold JSON (lists, numbers, objects).
JSON_METADATA_KEYS = ("version", "classes", "image_size", "mean", "std", "preprocessing", "recipe",
                      "temperature", "unknown_below", "calibration")
UNKNOWN = "unknown"  # the label of a prediction whose top probability is below the threshold

ProbabilityFn = Callable[[np.ndarray], np.ndarray]


class ProbabilityModel(nn.Module):
    """A classifier, its logits divided by the calibrated temperature, then softmax: what every
    export contains (so an exported graph gives calibrated probabilities by itself)."""

    def __init__(self, classifier: nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        self.classifier = classifier
        self.temperature = float(temperature)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.classifier(image)
        if self.temperature != 1.0:
            logits = logits / self.temperature
        return torch.softmax(logits, dim=1)


@dataclass(frozen=True)
class Prediction:
    path: str  # the image file as given or found
    label: str  # the most probable class, or UNKNOWN when its probability is below threshold
    probability: float  # its probability
    top: tuple[tuple[str, float], ...]  # the top-k (label, probability), most probable first

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "probability": self.probability,
            "top": [[label, p] for label, p in self.top],
        }


class Predictor:
    """Class probabilities for images, whatever file the model came from."""

    def __init__(
        self, classes: Sequence[str], image_size: int, probabilities: ProbabilityFn, source: str,
        unknown_below: float = 0.0,
    ) -> None:
        self.classes = tuple(classes)
        self.image_size = image_size
        self.source = source  # the path it was loaded from
        # A top probability below this is labelled UNKNOWN (0 = off); the model's own
        # threshold unless the caller sets another.
        self.unknown_below = unknown_below
        self._probabilities = probabilities
        self._transform = eval_transform(image_size)

    def predict_tensor(self, batch: torch.Tensor | np.ndarray) -> np.ndarray:
        """Probabilities (N, classes) for float RGB [0, 1] images, NCHW at `image_size`."""
        if isinstance(batch, torch.Tensor):
            batch = batch.detach().cpu().numpy()
        return self._probabilities(np.ascontiguousarray(batch, dtype=np.float32))

    def predict_paths(
        self, paths: Sequence[str], top_k: int = 5, batch_size: int = 32
    ) -> tuple[list[Prediction], list[SkippedFile]]:
        """Predictions for the readable images, in order, and the files that could not be read."""
        predictions: list[Prediction] = []
        skipped: list[SkippedFile] = []
        pending: list[tuple[str, torch.Tensor]] = []
        for path in paths:
            try:
                pending.append((path, self._transform(load_rgb(path))))
            except UnreadableImage as e:
                skipped.append(SkippedFile(path, e.reason))
            if len(pending) >= batch_size:
                predictions.extend(self._predict_batch(pending, top_k))
                pending = []
        if pending:
            predictions.extend(self._predict_batch(pending, top_k))
        return predictions, skipped

    def predict_image(self, name: str, image: Image.Image, top_k: int = 5) -> Prediction:
        """The prediction for one decoded RGB image (an upload), named `name`."""
        return self._predict_batch([(name, self._transform(image))], top_k)[0]

    def _predict_batch(
        self, pending: list[tuple[str, torch.Tensor]], top_k: int
    ) -> list[Prediction]:
        probs = self.predict_tensor(torch.stack([t for _, t in pending]))
        k = max(1, min(top_k, len(self.classes)))
        results = []
        for (path, _), row in zip(pending, probs, strict=True):
            order = np.argsort(-row, kind="stable")[:k]
            top = tuple((self.classes[i], float(row[i])) for i in order)
            label = UNKNOWN if top[0][1] < self.unknown_below else top[0][0]
            results.append(Prediction(path, label, top[0][1], top))
        return results


def expand_inputs(paths: Sequence[str]) -> tuple[list[str], list[SkippedFile]]:
    """Files as given; folders walked recursively, sorted, hidden files and folders left out;
    and what the walk passed over (broken links, link loops, pipes...), with why.

    Given files are not checked here: `predict_paths` reports unreadable or missing ones.
    """
    files: list[str] = []
    passed_over: list[SkippedFile] = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found, not_used = find_files(path)
        files += found
        passed_over += not_used
    return files, passed_over


def load_predictor(path: str | os.PathLike[str]) -> Predictor:
    """A predictor for a run folder or a `.onnx`, `.pt` or `.safetensors` export."""
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"'{path}' does not exist")
    if p.is_dir():
        return open_run(p)
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return open_onnx(p)
    if suffix in (".pt", ".pth", ".torchscript"):
        return open_torchscript(p)
    if suffix == ".safetensors":
        return open_safetensors(p)
    raise ModelFileError(
        f"'{path}' is not a model tlstudio can load: give a run folder, "
        "or an exported .onnx, .pt or .safetensors file"
    )


def open_run(run_dir: str | os.PathLike[str]) -> Predictor:
    classifier, info = load_model(run_dir)
    return _torch_predictor(ProbabilityModel(classifier, info.temperature).eval(), info,
                            str(run_dir))


def open_onnx(path: str | os.PathLike[str], threads: int | None = None) -> Predictor:
    """`threads`: ONNX Runtime's intra-op threads (None: its default, all cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-cleanup warnings are not the user's
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own varied errors
        raise ModelFileError(f"Cannot read the ONNX model '{path}': {first_line(e)}") from None
    info = info_from_metadata(session.get_modelmeta().custom_metadata_map, path)
    input_name = session.get_inputs()[0].name

    def probabilities(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: batch})[0]

    return Predictor(info.classes, info.image_size, probabilities, str(path), info.unknown_below)


def open_torchscript(path: str | os.PathLike[str]) -> Predictor:
    extra = {TORCHSCRIPT_INFO: ""}
    try:
        with warnings.catch_warnings():
            # torch.jit is deprecated upstream but remains the portable format for LibTorch.
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as e:  # noqa: BLE001 - not a TorchScript archive, or corrupt
        raise ModelFileError(
            f"Cannot read '{path}' as a TorchScript model (a .pt file given to predict must be "
            f"a TorchScript export; weights go to train --weights): {first_line(e)}"
        ) from None
    if not extra[TORCHSCRIPT_INFO]:
        raise ModelFileError(f"'{path}' is not a tlstudio export: it has no {TORCHSCRIPT_INFO}")
    try:
        info = ModelInfo.from_dict(json.loads(extra[TORCHSCRIPT_INFO]))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"'{path}' has an invalid {TORCHSCRIPT_INFO}: {e}") from None
    return _torch_predictor(module.eval(), info, str(path))


def open_safetensors(path: str | os.PathLike[str]) -> Predictor:
    """Weights described by their own metadata or, failing that, by `<name>.json` beside them."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from tlstudio.models import build_classifier, take_saved_head

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        state = load_file(str(path))
    except Exception as e:  # noqa: BLE001 - not a safetensors file, or corrupt
        raise ModelFileError(
            f"Cannot read the safetensors file '{path}': {first_line(e)}") from None
    info = info_from_metadata(metadata, path) if "classes" in metadata else _sidecar_info(path)
    classifier = build_classifier(info.backbone, len(info.classes), pretrained=False).model
    take_saved_head(classifier, state)  # a kNN run's: its stored features, not a linear layer
    try:
        classifier.load_state_dict(state)
    except RuntimeError as e:
        raise ModelFileError(f"'{path}' does not fit a {info.backbone} model: {e}") from None
    # safetensors holds weights only: the temperature comes from its metadata.
    model = ProbabilityModel(classifier, info.temperature).eval()
    return _torch_predictor(model, info, str(path))


def _sidecar_info(path: str | os.PathLike[str]) -> ModelInfo:
    sidecar = Path(path).with_suffix(".json")
    try:
        return ModelInfo.from_dict(json.loads(sidecar.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError):
        raise ModelFileError(
            f"'{path}' carries no class names and {sidecar.name} beside it is missing or "
            "invalid: use the run folder, or an .onnx or .pt export"
        ) from None


def info_from_metadata(metadata: Mapping[str, str], path: str | os.PathLike[str]) -> ModelInfo:
    """The ModelInfo stored as string metadata in an ONNX or safetensors export."""
    if "classes" not in metadata:
        raise ModelFileError(f"'{path}' is not a tlstudio export: it names no classes")
    try:
        decoded = {k: json.loads(v) if k in JSON_METADATA_KEYS else v for k, v in metadata.items()}
    except json.JSONDecodeError as e:
        raise ModelFileError(f"'{path}' has invalid tlstudio metadata: {e}") from None
    return ModelInfo.from_dict(decoded)


def _torch_predictor(module: nn.Module, info: ModelInfo, source: str) -> Predictor:
    def probabilities(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(batch)).numpy()

    return Predictor(info.classes, info.image_size, probabilities, source, info.unknown_below)


def write_predictions_csv(predictions: Sequence[Prediction], dest: str | os.PathLike[str]) -> None:
    """One row per image for spreadsheets: path, label, probability, then top-k pairs."""
    k = max((len(p.top) for p in predictions), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["path", "label", "probability"]
    for i in range(1, k + 1):
        header += [f"top{i}_label", f"top{i}_probability"]
    writer.writerow(header)
    for p in predictions:
        row = [p.path, p.label, f"{p.probability:.6f}"]
        for label, prob in p.top:
            row += [label, f"{prob:.6f}"]
        writer.writerow(row)
    # The file names' exact bytes, even those that are not UTF-8 (see tlstudio.filenames).
    atomic.write_bytes(dest, stored_bytes(buffer.getvalue()))
