"""Where training runs: the devices this machine offers, the device a recipe's choice means, and
how many CPU threads a run takes when its recipe leaves that open."""

from __future__ import annotations

import os

import torch

from tlstudio.errors import RecipeError

# Read at import, before any run sets it: get_num_threads() later reports the last run's choice.
TORCH_DEFAULT_THREADS = torch.get_num_threads()


def available_devices() -> list[tuple[str, str]]:
    """(recipe value, label) for auto, cpu and the accelerators present."""
    devices = [("auto", "Auto (best available)"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        devices.append(("cuda", f"CUDA: {torch.cuda.get_device_name(0)}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


def resolve_device(name: str) -> torch.device:
    """The device `name` ("auto", "cpu", "cuda", "mps") means here; RecipeError if absent."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RecipeError("CUDA was chosen but no CUDA GPU is available; choose auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RecipeError("MPS was chosen but this machine has no Apple GPU; choose auto or cpu")
    return torch.device(name)


def cores_available() -> int:
    """CPU cores this process may use (container and taskset limits honoured)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_threads(leave_one_core: bool = True) -> int:
    """CPU threads for a run whose recipe does not set them: all usable cores, less one left to
    the window when `leave_one_core`, and never more than torch's own default (which counts
    physical cores only)."""
    spare = 1 if leave_one_core else 0
    return max(1, min(TORCH_DEFAULT_THREADS, cores_available() - spare))
