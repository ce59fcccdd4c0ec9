"""Accuracy-guarded mixed precision for the int8 ONNX and LiteRT exports: after quantizing,
compare the int8 model with fp32 on the run's training images (the calibration images; the
validation images the export is measured on are never used); while they disagree, leave float
the stage that brings them closest, as long as the file stays within the size the int8 bar
allows.

A stage is named by module path prefixes of the exported `ProbabilityModel`
("classifier.backbone.blocks.3."), which ONNX node names and torch.export's module stacks carry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tlstudio.models import build_classifier

TARGET_AGREEMENT = 0.995  # top-1 agreement with fp32 on the training images that ends the search
MAX_SIZE_RATIO = 0.35  # of the fp32 file: the int8 bar of issue 15
MAX_TRIES = 6  # quantizations the search may run beyond the first (seconds each)


@dataclass(frozen=True)
class Tried:
    stages: tuple[str, ...]  # module path prefixes left float
    agreement: float  # top-1 agreement with fp32 on the training images
    error: float  # mean over those images of the largest probability difference
    size: int  # bytes of the quantized file

    def better_than(self, other: Tried) -> bool:
        return (self.agreement, -self.error) > (other.agreement, -other.error)


def float_stages(
    quantize: Callable[[tuple[str, ...]], tuple[int, np.ndarray]],
    reference: np.ndarray,
    candidates: dict[tuple[str, ...], int],
    fp32_size: int,
) -> Tried:
    """The stages to leave float, found greedily. `quantize(prefixes)` returns the quantized
    file's size and its probabilities on the training images (`reference`: fp32's);
    `candidates` maps each stage's prefixes to the bytes leaving it float adds. Each round keeps
    the stage whose float version agrees best with fp32, until agreement reaches
    TARGET_AGREEMENT, nothing fits MAX_SIZE_RATIO of `fp32_size`, nothing helps, or MAX_TRIES
    ran."""
    budget = MAX_SIZE_RATIO * fp32_size

    def tried(stages: tuple[str, ...]) -> Tried:
        size, probabilities = quantize(stages)
        agreement = float((probabilities.argmax(1) == reference.argmax(1)).mean())
        return Tried(
            stages, agreement, float(np.abs(probabilities - reference).max(1).mean()), size
        )

    best, tries, left = tried(()), 0, dict(candidates)
    while best.agreement < TARGET_AGREEMENT and tries < MAX_TRIES:
        fitting = [s for s, extra in left.items() if best.size + extra <= budget]
        round_ = [tried((*best.stages, *stage)) for stage in fitting[: MAX_TRIES - tries]]
        tries += len(round_)
        winner = max(round_, key=lambda t: (t.agreement, -t.error), default=None)
        if winner is None or not winner.better_than(best) or winner.size > budget:
            break
        left = {s: extra for s, extra in left.items() if not set(s) <= set(winner.stages)}
        best = winner
    return best


def stage_prefixes(backbone: str) -> list[tuple[str, ...]]:
    """Module path prefixes of each stage of the backbone, input to output, then the head;
    empty for a model that is no single backbone (an ensemble): its int8 export is not searched.
    """
    try:
        with torch.device("meta"):  # the stages' names only: no weights, no memory
            built = build_classifier(backbone, 2, pretrained=False)
    except Exception:  # noqa: BLE001 - any name the registry cannot build has no stages to try
        return []
    return [tuple(f"classifier.{prefix}" for prefix in stage.prefixes) for stage in built.stages]


def in_stages(module_path: str, stages: Sequence[str]) -> bool:
    """Whether a node of module `module_path` ("classifier.backbone.blocks.3.0.conv_pw") belongs
    to one of `stages`."""
    return any(f"{module_path}.".startswith(stage) for stage in stages)


def onnx_module_path(node_name: str) -> str:
    """The module path in a node name of torch's ONNX exporter:
    "/classifier/backbone/blocks/blocks.3/blocks.3.0/conv_pw/Conv" -> the path
    "classifier.backbone.blocks.3.0.conv_pw" (each scope repeats its parent's qualified name)."""
    parts = node_name.strip("/").split("/")[:-1]
    path: list[str] = []
    qualified = ""
    for part in parts:
        if qualified and part.startswith(f"{qualified}."):
            path[-1] = part  # "blocks" then "blocks.3": the same module, qualified deeper
        else:
            path.append(part)
        qualified = part
    return ".".join(path)
