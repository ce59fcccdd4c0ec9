"""Where training runs: the devices this machine offers, the device a recipe's choice means, and
how many CPU threads a run takes when its recipe leaves that open."""

from __future__ import annotations

import os
import re

import torch

from tlstudio.errors import RecipeError

# Read at import, before any run sets it: get_num_threads() later reports the last run's choice.
TORCH_DEFAULT_THREADS = torch.get_num_threads()


CUDA_INDEX = re.compile(r"^cuda:(\d+)$")  # a chosen GPU, as torch names it


def gpu_label(index: int) -> str:
    """'GPU 1: NVIDIA H100 80GB HBM3, 79.1 GB' for the window's list and messages."""
    name = torch.cuda.get_device_name(index)
    memory = torch.cuda.get_device_properties(index).total_memory / 1e9
    return f"GPU {index}: {name}, {memory:.1f} GB"


def available_devices() -> list[tuple[str, str]]:
    """(recipe value, label) for auto, cpu and the accelerators present: each GPU by name and
    memory (`cuda:N`), after `cuda` (the current GPU)."""
    devices = [("auto", "Auto (best available)"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        devices.append(("cuda", f"CUDA: {torch.cuda.get_device_name(0)}"))
        devices += [(f"cuda:{i}", gpu_label(i)) for i in range(count)]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


def resolve_device(name: str) -> torch.device:
    """The device `name` ("auto", "cpu", "cuda", "cuda:N", "mps") means here; RecipeError if
    this machine lacks it (naming the GPUs it has)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if (name == "cuda" or CUDA_INDEX.match(name)) and not torch.cuda.is_available():
        raise RecipeError(f"{name} was chosen but no CUDA GPU is available; choose auto or cpu")
    index = CUDA_INDEX.match(name)
    if index and int(index.group(1)) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        gpus = "; ".join(f"cuda:{i} ({gpu_label(i)})" for i in range(count))
        raise RecipeError(f"{name} was chosen but this machine has {count} GPU(s): {gpus}")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RecipeError("MPS was chosen but this machine has no Apple GPU; choose auto or cpu")
    return torch.device(name)


def memory_in_use_mb(device: torch.device) -> float:
    """GPU memory PyTorch holds on `device` (what the window shows while training); 0 off CUDA."""
    if device.type != "cuda":
        return 0.0
    return torch.cuda.memory_reserved(device) / 2**20


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
