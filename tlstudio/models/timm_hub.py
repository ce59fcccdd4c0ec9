"""Any timm backbone by name (`timm:<model>[.<tag>]`): its spec from timm's pretrained config,
its weights in the local Hugging Face cache (or downloaded there, with progress and cancel).

This module is the only one that knows where Hugging Face keeps weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tlstudio.errors import DownloadCancelled, Remedy, WeightsError
from tlstudio.models.download_failure import why_download_failed

TIMM_PREFIX = "timm:"


def is_timm_name(name: str) -> bool:
    return name.startswith(TIMM_PREFIX)


def model_name(backbone: str) -> str:
    """`timm:convnext_small.fb_in22k` -> `convnext_small.fb_in22k`."""
    return backbone.removeprefix(TIMM_PREFIX)


def pretrained_config(backbone: str) -> Any:
    """timm's PretrainedCfg for the name (its default tag when none is given)."""
    import timm

    name = model_name(backbone)
    arch, _tag = timm.models.split_model_name_tag(name)
    cfg = timm.models.get_pretrained_cfg(name) if timm.is_model(arch) else None
    if cfg is None or not cfg.hf_hub_id:
        raise WeightsError(
            f"'{name}' is not a timm model with pretrained weights on the Hugging Face hub "
            "(`tlstudio backbones --all` lists them)")
    return cfg


def data_config(backbone: str) -> dict[str, Any]:
    """Input size, mean, std, interpolation and crop of the pretrained weights (timm's own)."""
    from timm.data import resolve_data_config

    return resolve_data_config({}, pretrained_cfg=pretrained_config(backbone).to_dict())


def hub_cache_dir() -> Path:
    """Where the Hugging Face hub caches repositories: HF_HUB_CACHE, else HF_HOME/hub, else
    ~/.cache/huggingface/hub; read on every call so a changed environment is honoured."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def _weight_files() -> tuple[str, str]:
    """The files a timm repository on the hub holds its weights in, preferred first (the hub's
    own names: safetensors, else a torch state dict)."""
    from huggingface_hub import constants

    return constants.SAFETENSORS_SINGLE_FILE, constants.PYTORCH_WEIGHTS_NAME


def _repo(backbone: str) -> str:
    return str(pretrained_config(backbone).hf_hub_id)


def cached_weights_file(backbone: str) -> Path | None:
    """The weights file of the model in the local cache, or None."""
    from huggingface_hub import try_to_load_from_cache

    repo = _repo(backbone)
    for filename in _weight_files():
        found = try_to_load_from_cache(repo, filename, cache_dir=hub_cache_dir())
        if isinstance(found, str):
            return Path(found)
    return None


def cached_repos() -> set[str]:
    """Model repository ids with a snapshot in the local cache, read once per call."""
    root = hub_cache_dir()
    if not root.is_dir():
        return set()
    return {p.name.removeprefix("models--").replace("--", "/")
            for p in root.glob("models--*") if (p / "snapshots").is_dir()}


def download(
    backbone: str,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Download the weights into the Hugging Face cache (the hub's own layout and locks)."""
    found = cached_weights_file(backbone)
    if found is not None:
        return found
    from huggingface_hub import hf_hub_download

    repo = _repo(backbone)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise WeightsError(
            f"The {model_name(backbone)} weights are not in the Hugging Face cache "
            f"({hub_cache_dir()}) and the hub is set offline (HF_HUB_OFFLINE)",
            remedies=(Remedy.GO_ONLINE, Remedy.BUNDLED_BACKBONE, Remedy.GIVE_WEIGHTS_FILE))
    tqdm_class = _progress_bar(backbone, progress, cancelled)
    try:
        return Path(hf_hub_download(repo, _weight_files()[0], cache_dir=hub_cache_dir(),
                                    tqdm_class=tqdm_class))
    except DownloadCancelled:
        raise
    except Exception as e:  # noqa: BLE001 - offline, missing file, HTTP errors: one message
        raise WeightsError(
            f"Could not download the {model_name(backbone)} weights from the Hugging Face hub: "
            f"{why_download_failed(e)}",
            remedies=(Remedy.GO_ONLINE, Remedy.BUNDLED_BACKBONE, Remedy.GIVE_WEIGHTS_FILE),
        ) from None


def _progress_bar(
    backbone: str,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> type:
    """A tqdm class the hub's downloader drives: it reports bytes and stops on cancel."""
    from tqdm.auto import tqdm

    class Bar(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # no terminal output; progress goes to the callback
            super().__init__(*args, **kwargs)
            self.done = int(kwargs.get("initial") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            if cancelled is not None and cancelled():
                raise DownloadCancelled(f"Download of {model_name(backbone)} weights cancelled")
            self.done += int(n or 0)
            if progress is not None:
                progress(self.done, int(self.total or 0))
            return super().update(n)

    return Bar


def pretrained_models() -> list[tuple[str, bool]]:
    """Every timm model with a pretrained tag on the hub, as (`timm:<model>.<tag>`, whether its
    repository is in the local cache)."""
    import timm

    cached = cached_repos()
    models = []
    for name in timm.list_pretrained():
        cfg = timm.models.get_pretrained_cfg(name)
        if cfg is not None and cfg.hf_hub_id:
            models.append((TIMM_PREFIX + name, cfg.hf_hub_id in cached))
    return models
