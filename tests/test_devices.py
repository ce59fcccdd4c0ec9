"""Device discovery and the CPU thread policy live in the core, one formula for every front-end."""

from __future__ import annotations

import pytest

from tlstudio import devices
from tlstudio.errors import RecipeError


@pytest.mark.parametrize(("cores", "torch_default", "leave", "expected"), [
    (8, 8, True, 7),  # one core left to the window
    (8, 8, False, 8),  # the CLI takes them all
    (16, 8, True, 8),  # never more than torch's default (physical cores)
    (1, 4, True, 1),  # always at least one
    (4, 2, True, 2),
])
def test_default_threads(monkeypatch, cores, torch_default, leave, expected) -> None:
    monkeypatch.setattr(devices, "cores_available", lambda: cores)
    monkeypatch.setattr(devices, "TORCH_DEFAULT_THREADS", torch_default)
    assert devices.default_threads(leave_one_core=leave) == expected


def test_the_default_ignores_an_earlier_runs_thread_setting() -> None:
    import torch

    before = devices.default_threads()
    torch.set_num_threads(1)  # what a CLI run with --threads 1 leaves behind
    try:
        assert devices.default_threads() == before
    finally:
        torch.set_num_threads(devices.TORCH_DEFAULT_THREADS)


def test_devices_offered_are_those_present(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert [value for value, _ in devices.available_devices()] == ["auto", "cpu"]
    assert devices.resolve_device("auto").type == "cpu"
    with pytest.raises(RecipeError, match="no CUDA GPU"):
        devices.resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "Test GPU")
    assert ("cuda", "CUDA: Test GPU") in devices.available_devices()
    assert devices.resolve_device("auto").type == "cuda"


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine with two CUDA GPUs, as torch would describe it."""
    import types

    import torch

    names = ("Big GPU", "Small GPU")
    memory = (80e9, 24e9)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: names[index])
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda index: types.SimpleNamespace(total_memory=memory[index]))


def test_each_gpu_is_offered_by_name_and_memory_and_chosen_by_number(two_gpus) -> None:
    offered = dict(devices.available_devices())
    assert offered["cuda:0"] == "GPU 0: Big GPU, 80.0 GB"
    assert offered["cuda:1"] == "GPU 1: Small GPU, 24.0 GB"
    assert devices.resolve_device("cuda:1") == __import__("torch").device("cuda", 1)
    with pytest.raises(RecipeError, match=r"cuda:2 was chosen but this machine has 2 GPU\(s\): "
                                          r"cuda:0 \(GPU 0: Big GPU, 80.0 GB\)"):
        devices.resolve_device("cuda:2")


def test_a_recipe_takes_a_gpu_number_and_refuses_other_device_names() -> None:
    from tlstudio.recipe import Recipe

    assert Recipe(data_dir="d", device="cuda:1").device == "cuda:1"
    with pytest.raises(RecipeError, match="one of auto, cpu, cuda, mps, cuda:N, not 'gpu1'"):
        Recipe(data_dir="d", device="gpu1")


def test_cli_device_option_takes_cuda_n(capsys, tmp_path) -> None:
    from tlstudio.cli import main

    assert main(["train", str(tmp_path), "--device", "cuda:x"]) == 2
    assert "error: device must be one of auto, cpu, cuda, mps, cuda:N" in capsys.readouterr().err
