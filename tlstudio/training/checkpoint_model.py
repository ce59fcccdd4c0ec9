"""Which weights a fit's checkpoint holds: the whole model, or only the head when the fit leaves
its backbone exactly as building the recipe gives it again (the backbone's own pretrained
weights, frozen, run once in eval mode to cache features), so each epoch's checkpoint does not
write the same backbone weights again."""

from __future__ import annotations

from typing import Any

from torch import nn

from tlstudio.errors import TlstudioError
from tlstudio.training.stages import FitState, backbone_untouched

WHOLE, HEAD = "whole", "head"  # checkpoint["model_part"]
NO_WEIGHTS = "none"  # BuiltModel.weights_source of a backbone built with random weights


def checkpointed_part(state: FitState) -> str:
    """HEAD when resuming rebuilds this fit's backbone bit for bit: its own pretrained weights
    (not random ones, not a user's file that may change), left untouched by the fit."""
    source = state.built.weights_source
    rebuilt_same = source != NO_WEIGHTS and not source.startswith("file:")
    untouched = state.use_cache and backbone_untouched(state.recipe)
    return HEAD if rebuilt_same and untouched else WHOLE


def model_state(state: FitState) -> dict[str, Any]:
    """The checkpoint's model entries."""
    part = checkpointed_part(state)
    return {"model_part": part, "model": _module(state, part).state_dict()}


def restore_model(state: FitState, checkpoint: dict[str, Any]) -> None:
    """Load the checkpoint's weights into the freshly built model (a checkpoint without
    `model_part` holds the whole model)."""
    part = checkpoint.get("model_part", WHOLE)
    if part == HEAD and state.built.weights_source == NO_WEIGHTS:
        raise TlstudioError(
            f"The run in '{state.recipe.out_dir}' resumes on the "
            f"{state.recipe.backbone} backbone's pretrained weights, which "
            "could not be loaded now"
        )
    _module(state, part).load_state_dict(checkpoint["model"])


def _module(state: FitState, part: str) -> nn.Module:
    return state.model.head if part == HEAD else state.model
