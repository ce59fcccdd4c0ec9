"""Any timm backbone by name: weights from a (temporary) Hugging Face cache, read offline;
preprocessing from its pretrained config; stages for the freeze tree; the curated additions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tlstudio.cli import main
from tlstudio.errors import WeightsError
from tlstudio.models import build_classifier, get_spec, stage_names
from tlstudio.models.catalog import backbone_rows
from tlstudio.models.registry import build_imagenet_model
from tlstudio.recipe import Recipe

VIT = "timm:test_vit.r160_in1k"
EFFNET = "timm:test_efficientnet.r160_in1k"


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache; the hub is offline, so nothing can be downloaded."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def put_in_cache(cache: Path, backbone: str, seed: int = 3) -> dict[str, torch.Tensor]:
    """Random weights for the model, written in the hub's layout (refs/main -> snapshot)."""
    torch.manual_seed(seed)
    state = build_imagenet_model(get_spec(backbone)).state_dict()
    repo = cache / ("models--timm--" + backbone.removeprefix("timm:"))
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(snapshot / "model.safetensors"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return state


def test_a_cached_timm_model_loads_offline_with_its_own_preprocessing(hf_cache: Path) -> None:
    state = put_in_cache(hf_cache, VIT)
    spec = get_spec(VIT)
    assert (spec.input_size, spec.mean, spec.std) == (160, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    built = build_classifier(VIT, num_classes=3)
    assert built.weights_source == "cached"
    loaded = built.model.backbone.state_dict()
    assert torch.equal(loaded["blocks.0.attn.qkv.weight"], state["blocks.0.attn.qkv.weight"])
    assert built.model(torch.rand(2, 3, 160, 160)).shape == (2, 3)


def test_a_timm_model_not_in_the_cache_offline_says_what_to_do(hf_cache: Path) -> None:
    with pytest.raises(WeightsError, match="weights are not in the Hugging Face cache"):
        build_classifier(VIT, num_classes=3)


def test_a_name_timm_does_not_know_is_refused_with_where_to_look() -> None:
    with pytest.raises(WeightsError, match="backbones --all"):
        get_spec("timm:no_such_model.abc")


def test_transformer_stages_are_patch_embedding_each_block_and_the_final_norm() -> None:
    names = stage_names(VIT)
    blocks = len(build_imagenet_model(get_spec(VIT)).blocks)
    assert names == ("patch_embed", *(f"blocks.{i}" for i in range(blocks)), "norm",
                     "classifier")
    recipe = Recipe(data_dir="/d", backbone=VIT, freeze=f"stages:{blocks + 1}")
    assert recipe.train_stages == ("norm", "classifier")


def test_freezing_a_vit_leaves_only_the_chosen_stages_trainable(hf_cache: Path) -> None:
    from tlstudio.models import apply_freeze

    built = build_classifier(VIT, num_classes=2, pretrained=False)
    apply_freeze(built.model, built.stages, ["norm", "classifier"])
    trainable = {n.split(".")[1] for n, p in built.model.named_parameters() if p.requires_grad}
    assert trainable == {"norm", "weight", "bias"}  # backbone.norm.*, head.weight, head.bias
    assert not built.model.backbone.cls_token.requires_grad


def test_backbones_all_lists_timm_models_and_marks_the_cached_ones(hf_cache: Path,
                                                                   capsys) -> None:
    put_in_cache(hf_cache, EFFNET)
    assert main(["backbones", "--json", "--all"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[EFFNET]["weights"] == "cached"
    assert rows[VIT]["weights"] == "download"
    assert rows["timm:convnext_small.fb_in22k"]["family"] == "timm"
    assert "tf_efficientnet_lite0" in rows  # the curated ones come first, still listed
    assert main(["backbones", "--json"]) == 0
    assert not any(r["name"].startswith("timm:") for r in json.loads(capsys.readouterr().out))


def test_train_accepts_a_timm_backbone_on_the_command_line(hf_cache: Path, colour_data: Path,
                                                           tmp_path: Path) -> None:
    put_in_cache(hf_cache, EFFNET)
    run = tmp_path / "run"
    assert main(["train", str(colour_data), "--backbone", EFFNET, "--epochs", "1",
                 "--image-size", "32", "--out", str(run), "--seed", "0"]) == 0
    recipe = json.loads((run / "recipe.json").read_text())
    assert recipe["backbone"] == EFFNET


def test_vgg19_and_inception_v3_join_the_curated_list(hub_dir: Path) -> None:
    rows = {r["name"]: r for r in backbone_rows()}
    assert rows["inception_v3"]["input_size"] == 299
    assert rows["vgg19"]["parameters"] == 143_667_240
    assert stage_names("inception_v3")[-2:] == ("Mixed_7c", "classifier")
    with torch.device("meta"):
        built = build_classifier("inception_v3", 4, pretrained=False)
    assert built.model.train()(torch.empty(1, 3, 299, 299, device="meta")).shape == (1, 4)
