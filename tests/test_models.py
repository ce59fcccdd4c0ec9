"""Backbones, where their weights come from, and what a freeze setting makes trainable."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import socket
import threading
import urllib.error
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tlstudio.errors import DownloadCancelled, RecipeError, WeightsError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.models import (
    HEAD_STAGE,
    apply_freeze,
    build_classifier,
    get_spec,
    parameter_counts,
    stage_infos,
    trainable_stage_names,
)
from tlstudio.models import weights as weights_mod
from tlstudio.models.catalog import backbone_rows
from tlstudio.models.download_failure import why_download_failed
from tlstudio.models.freezing import preview_stages
from tlstudio.models.registry import build_imagenet_model

REQUIRED = [
    "tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2",
    "resnet18", "resnet50", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny", "vgg16",
]


def test_backbone_list_has_required_models_with_sources(hub_dir: Path) -> None:
    rows = {r["name"]: r for r in backbone_rows()}
    assert set(REQUIRED) <= set(rows)
    for name in REQUIRED[:3]:
        assert rows[name]["weights"] == "bundled"
    assert rows["resnet18"]["weights"] == "download"  # empty cache
    assert rows["tiny_cnn"]["weights"] == "none"
    assert rows["resnet50"]["parameters"] == 25_557_032
    assert rows["tf_efficientnet_lite1"]["input_size"] == 240


def test_unknown_backbone_names_the_known_ones() -> None:
    with pytest.raises(WeightsError, match="resnet18"):
        get_spec("resnet9000")


def _random_imagenet_state(name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return build_imagenet_model(get_spec(name)).state_dict()


def test_torchvision_weights_load_from_the_hub_cache(hub_dir: Path) -> None:
    spec = get_spec("mobilenet_v3_small")
    state = _random_imagenet_state(spec.name)
    cached = hub_dir / "checkpoints" / Path(spec.weights_url).name
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    assert weights_mod.weights_status(spec) == "cached"
    built = build_classifier(spec.name, 4)
    assert built.weights_source == "cached"
    first = built.model.backbone.features[0][0].weight
    assert torch.equal(first, state["features.0.0.weight"])


class _OneFile(http.server.BaseHTTPRequestHandler):
    payload = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _OneFile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _spec_at(server, filename: str):
    url = f"http://127.0.0.1:{server.server_port}/{filename}"
    return dataclasses.replace(get_spec("mobilenet_v3_small"), weights_url=url)


def test_download_reports_progress_and_lands_in_the_cache(hub_dir: Path, local_server) -> None:
    _OneFile.payload = b"x" * 300_000
    sha = hashlib.sha256(_OneFile.payload).hexdigest()
    spec = _spec_at(local_server, f"weights-{sha[:8]}.pth")
    seen: list[tuple[int, int]] = []
    path = weights_mod.download_weights(spec, progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == _OneFile.payload
    assert path.parent == hub_dir / "checkpoints"
    assert seen[-1] == (300_000, 300_000) and len(seen) > 1
    assert weights_mod.weights_status(spec) == "cached"


def test_a_cancelled_download_is_a_cancellation_and_keeps_nothing(hub_dir: Path,
                                                                  local_server) -> None:
    _OneFile.payload = b"x" * 300_000
    spec = _spec_at(local_server, "weights-cancelled.pth")
    with pytest.raises(DownloadCancelled):
        weights_mod.download_weights(spec, cancelled=lambda: True)
    assert not list((hub_dir / "checkpoints").glob("*"))
    assert weights_mod.weights_status(spec) == "download"


def test_corrupt_download_is_refused_and_not_kept(hub_dir: Path, local_server) -> None:
    _OneFile.payload = b"not the real weights"
    spec = _spec_at(local_server, "weights-deadbeef.pth")
    with pytest.raises(WeightsError, match="checksum"):
        weights_mod.download_weights(spec)
    assert not list((hub_dir / "checkpoints").glob("*"))


def test_download_without_network_says_what_to_do(hub_dir: Path) -> None:
    spec = dataclasses.replace(get_spec("resnet18"), weights_url="http://127.0.0.1:9/r-1234abcd.pth")
    with pytest.raises(WeightsError, match="Could not download") as refused:
        weights_mod.download_weights(spec)
    assert "bundled backbone" in describe_failure(refused.value, FrontEnd.CLI)
    window = describe_failure(refused.value, FrontEnd.WINDOW)
    assert "bundled" in window and "Weights file…" in window
    # In the user's words: no raw urlopen text, no URL, no errno.
    for raw in ("urlopen", "http", "Errno", "127.0.0.1"):
        assert raw not in window, window
    assert "refused the connection" in window


@pytest.mark.parametrize(("error", "says"), [
    (urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")),
     "offline"),
    (urllib.error.URLError(TimeoutError("timed out")), "timed out"),
    (urllib.error.HTTPError("http://x/w.pth", 404, "Not Found", {}, None), "no such weights"),
])
def test_a_failed_download_says_why_in_plain_words(error: Exception, says: str) -> None:
    reason = why_download_failed(error)
    assert says in reason and "urlopen" not in reason and "http" not in reason


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_local_weights_file(tmp_path: Path, suffix: str) -> None:
    state = _random_imagenet_state("mobilenet_v3_small")
    path = tmp_path / f"mine{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    built = build_classifier("mobilenet_v3_small", 3, weights_file=str(path))
    assert built.weights_source == f"file:{path}"
    assert torch.equal(built.model.backbone.features[0][0].weight, state["features.0.0.weight"])


class _NotATensor:
    pass


def test_weights_file_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"payload": _NotATensor()}, path)
    with pytest.raises(WeightsError, match="will not load"):
        build_classifier("mobilenet_v3_small", 3, weights_file=str(path))


def test_weights_for_another_architecture_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "resnet.safetensors"
    save_file(_random_imagenet_state("resnet18"), str(path))
    with pytest.raises(WeightsError, match="do not fit"):
        build_classifier("mobilenet_v3_small", 3, weights_file=str(path))


def test_stages_are_ordered_and_end_with_the_head() -> None:
    built = build_classifier("tf_efficientnet_lite0", 5, pretrained=False)
    names = [s.name for s in built.stages]
    assert names[0] == "stem" and names[-2] == "head" and names[-1] == HEAD_STAGE
    assert names[1:-2] == [f"blocks.{i}" for i in range(7)]
    # every parameter belongs to exactly one stage
    infos = stage_infos(built.model, built.stages)
    assert sum(i.total_params for i in infos) == sum(p.numel() for p in built.model.parameters())


def _freeze(name: str, freeze: str, unfreeze: tuple[str, ...] = ()):
    built = build_classifier(name, 4, pretrained=False)
    apply_freeze(built.model, built.stages, trainable_stage_names(built.stages, freeze), unfreeze)
    return built


def test_freeze_backbone_trains_only_the_head() -> None:
    built = _freeze("resnet18", "backbone")
    trainable, total = parameter_counts(built.model)
    assert trainable == 512 * 4 + 4
    assert total > 11_000_000


def test_freeze_stages_k_freezes_the_first_k() -> None:
    built = _freeze("resnet18", "stages:3")
    infos = {i.name: i.trainable for i in stage_infos(built.model, built.stages)}
    assert infos == {"stem": False, "layer1": False, "layer2": False, "layer3": True,
                     "layer4": True, HEAD_STAGE: True}


def test_freeze_none_trains_everything() -> None:
    trainable, total = parameter_counts(_freeze("resnet18", "none").model)
    assert trainable == total


def test_unfreeze_glob_adds_parameters() -> None:
    built = _freeze("resnet18", "backbone", ("backbone.layer4.1.*",))
    trainable = {n for n, p in built.model.named_parameters() if p.requires_grad}
    assert "backbone.layer4.1.conv2.weight" in trainable
    assert "backbone.layer4.0.conv1.weight" not in trainable


@pytest.mark.parametrize(
    ("freeze", "unfreeze", "message"),
    [("stages:99", (), "more stages"), ("backbone", ("nothing.*",), "matched no parameter")],
)
def test_bad_freeze_settings_are_explained(freeze: str, unfreeze: tuple, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        _freeze("resnet18", freeze, unfreeze)


def test_frozen_batchnorm_keeps_pretrained_statistics() -> None:
    built = _freeze("resnet18", "stages:2")
    model = built.model.train()
    assert not model.backbone.bn1.training  # frozen stem
    assert model.backbone.layer4[0].bn1.training  # trainable stage
    before = model.backbone.bn1.running_mean.clone()
    model(torch.rand(2, 3, 64, 64))
    assert torch.equal(model.backbone.bn1.running_mean, before)


def test_preview_matches_a_real_build() -> None:
    rows = preview_stages("tf_efficientnet_lite0", 3, trainable_stages=["blocks.6", HEAD_STAGE])
    built = build_classifier("tf_efficientnet_lite0", 3, pretrained=False)
    apply_freeze(built.model, built.stages, ["blocks.6", HEAD_STAGE])
    assert rows == stage_infos(built.model, built.stages)
