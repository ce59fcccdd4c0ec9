"""Backbones, their pretrained weights, the classifier built on them, and freezing."""

from tlstudio.models.classifier import (
    HEAD_STAGE,
    BuiltBackbone,
    BuiltModel,
    Classifier,
    build_backbone,
    build_classifier,
    classifier_on,
)
from tlstudio.models.ensemble import EnsembleModel
from tlstudio.models.freezing import (
    StageInfo,
    apply_freeze,
    only_head_trains,
    parameter_counts,
    stage_infos,
    stage_names,
    stages_for_freeze,
    trainable_stage_names,
)
from tlstudio.models.heads import KNNHead, head_from_state, take_saved_head
from tlstudio.models.registry import BackboneSpec, Stage, backbone_names, get_spec
from tlstudio.models.timm_hub import TIMM_PREFIX, is_timm_name, pretrained_models
from tlstudio.models.weights import weights_status

__all__ = [
    "HEAD_STAGE",
    "BackboneSpec",
    "BuiltBackbone",
    "BuiltModel",
    "Classifier",
    "EnsembleModel",
    "KNNHead",
    "Stage",
    "StageInfo",
    "TIMM_PREFIX",
    "apply_freeze",
    "backbone_names",
    "build_backbone",
    "build_classifier",
    "classifier_on",
    "get_spec",
    "is_timm_name",
    "head_from_state",
    "only_head_trains",
    "parameter_counts",
    "pretrained_models",
    "stage_infos",
    "stage_names",
    "stages_for_freeze",
    "take_saved_head",
    "trainable_stage_names",
    "weights_status",
]
