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
