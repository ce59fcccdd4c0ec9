"""The window names each GPU with its memory in the device list, and shows the GPU memory a
run holds while it trains."""

from __future__ import annotations

import types

import pytest
import torch

from tlstudio.gui.sidebar.settings_panel import SettingsPanel
from tlstudio.gui.training.training_view import TrainingView
from tlstudio.gui.training.worker import TrainingController
from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, FitStarted, RunResult


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: f"Card {index}")
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda index: types.SimpleNamespace(total_memory=(index + 1) * 16e9))


def test_device_list_names_each_gpu_with_its_memory(qtbot, two_gpus) -> None:
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    combo = panel.device
    items = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert items["cuda:1"] == "GPU 1: Card 1, 32.0 GB"
    combo.setCurrentIndex(combo.findData("cuda:1"))
    assert panel.values()["device"] == "cuda:1"


def gpu_fit(recipe, callbacks, control):
    """A fake engine on a GPU: two batches holding 1.5 GB, then 3 GB."""
    (emit,) = callbacks
    emit(FitStarted("run", ("a", "b"), 1, 2, 2, 0, 0, "cuda:1", 32, 1, 1, False))
    emit(BatchEnded(1, 1, 2, 1.0, 1e-3, 8, 0.1, gpu_memory_mb=1536.0))
    emit(BatchEnded(1, 2, 2, 0.5, 1e-3, 8, 0.2, gpu_memory_mb=3072.0))
    return RunResult("run", ("a", "b"), (), False)


def test_training_view_shows_gpu_memory_in_use(qtbot, tmp_path) -> None:
    view = TrainingView()
    qtbot.addWidget(view)
    assert view.memory_label.isHidden()  # nothing to say before a GPU run
    controller = TrainingController(fit_fn=gpu_fit)
    controller.batchProgress.connect(view.on_batch)
    with qtbot.waitSignal(controller.finished, timeout=30_000):
        controller.start(Recipe(data_dir=str(tmp_path), out_dir=str(tmp_path / "run"),
                                device="cpu"))
    label = view.findChild(type(view.memory_label), "gpuMemoryLabel")
    assert not label.isHidden() and label.text() == "GPU memory 3.0 GB"
