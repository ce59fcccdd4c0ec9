"""Out-of-memory recovery: a batch too big for memory is split, and the step stays the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tlstudio.errors import TlstudioError
from tlstudio.recipe import Recipe
from tlstudio.training import LogMessage, RunControl, fit, lr_finder, stages
from tlstudio.training.feature_cache import extract_features
from tlstudio.training.loops import evaluate, train_one_epoch
from tlstudio.training.micro_batch import MicroBatch

CPU = torch.device("cpu")


class RunsOutAbove(nn.Module):
    """A linear model that raises an out-of-memory error on more than ``limit`` images."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.linear = limit, nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (injected by the test)")
        return self.linear(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:  # as a Classifier's backbone
        return self(x)


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 4, generator=generator),
             torch.randint(0, 3, (8,), generator=generator)) for _ in range(3)]


def _train(limit: int, events: list, epochs: int = 1) -> nn.Module:
    torch.manual_seed(0)
    model = RunsOutAbove(limit)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    micro_batch = MicroBatch(CPU, events.append)  # the run's, as fit() owns it
    for epoch in range(1, epochs + 1):
        stats = train_one_epoch(model, _batches(), optimizer, nn.CrossEntropyLoss(), CPU, epoch,
                                events.append, RunControl(), micro_batch=micro_batch)
        assert stats.completed and stats.images == 24
    return model


def _warnings(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, LogMessage) and e.level == "warning"]


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_step() -> None:
    events: list = []
    roomy = _train(limit=8, events=[])
    tight = _train(limit=3, events=events)

    for a, b in zip(roomy.parameters(), tight.parameters(), strict=True):
        torch.testing.assert_close(a, b)  # gradient accumulation: the same update
    logs = _warnings(events)
    assert len(logs) == 2  # 8 -> 4 -> 2 in the first batch, then 2 for the rest
    assert "8 images at once" in logs[0] and "with 4 at a time" in logs[0]
    assert "with 2 at a time" in logs[1]


def test_out_of_memory_on_one_image_gives_up_clearly() -> None:
    with pytest.raises(TlstudioError, match="even one image at a time"):
        _train(limit=0, events=[])


def test_reduced_size_is_kept_and_told_once_across_epochs() -> None:
    events: list = []
    _train(limit=4, events=events, epochs=2)
    assert len(_warnings(events)) == 1  # not once per epoch


def test_out_of_memory_in_evaluation_splits_the_batch_and_keeps_the_metrics() -> None:
    torch.manual_seed(0)
    model = RunsOutAbove(limit=8)
    roomy = evaluate(model, _batches(), nn.CrossEntropyLoss(), CPU)
    events: list = []
    model.limit = 3
    micro_batch = MicroBatch(CPU, events.append)
    tight = evaluate(model, _batches(), nn.CrossEntropyLoss(), CPU, micro_batch=micro_batch)

    assert micro_batch.size == 2
    assert len(_warnings(events)) == 2  # 8 -> 4 -> 2, then 2 for the other batches
    assert tight.loss == pytest.approx(roomy.loss, rel=1e-6)
    assert tight.accuracy == roomy.accuracy and tight.images == 24
    torch.testing.assert_close(tight.probabilities, roomy.probabilities)


def test_out_of_memory_in_feature_extraction_splits_the_batch() -> None:
    torch.manual_seed(0)
    model = RunsOutAbove(limit=8)
    images, labels = torch.cat([x for x, _ in _batches()]), torch.arange(24) % 3
    loader = DataLoader(TensorDataset(images, labels), batch_size=8)
    roomy, _ = extract_features(model, loader, CPU, lambda done, total: None, RunControl())
    events: list = []
    model.limit = 5
    tight, tight_labels = extract_features(model, loader, CPU, lambda done, total: None,
                                           RunControl(), micro_batch=MicroBatch(CPU, events.append))

    torch.testing.assert_close(tight, roomy)
    assert tight_labels.tolist() == labels.tolist()
    assert ["with 4 at a time" in text for text in _warnings(events)] == [True]


@pytest.mark.parametrize("freeze", ["none", "backbone"])  # images / the feature cache
def test_run_keeps_the_reduced_size_across_epochs_and_evaluation(colour_data: Path, tmp_path: Path,
                                                                 monkeypatch, freeze) -> None:
    _limit_backbone(monkeypatch, limit=3)
    logs: list[str] = []
    recipe = Recipe(data_dir=str(colour_data), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                    epochs=2, batch_size=8, image_size=16, freeze=freeze)
    result = fit(recipe, [lambda e: isinstance(e, LogMessage) and e.level == "warning"
                          and logs.append(e.text)])

    assert not result.stopped and len(result.epochs) == 2
    out_of_memory = [text for text in logs if "Out of memory" in text]
    assert len(out_of_memory) == 2  # 8 -> 4 -> 2 in epoch 1's first batch, never again
    assert "with 2 at a time for the rest of the run" in out_of_memory[1]


@pytest.mark.parametrize("freeze", ["none", "backbone"])
def test_lr_finder_splits_batches_that_run_out_of_memory(colour_data: Path, tmp_path: Path,
                                                         monkeypatch, freeze) -> None:
    _limit_backbone(monkeypatch, limit=3)
    events: list = []
    recipe = Recipe(data_dir=str(colour_data), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                    batch_size=8, image_size=16, freeze=freeze)
    result = lr_finder.lr_find(recipe, emit=events.append, steps=6)
    assert len(result.lrs) == 6
    assert len([text for text in _warnings(events) if "Out of memory" in text]) == 2


def _limit_backbone(monkeypatch, limit: int) -> None:
    """The fit's stages (the engine's and the LR finder's) build the recipe's model, out of
    memory above ``limit``."""
    build_backbone = stages.build_backbone

    def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if len(args[0]) > limit:
            raise torch.OutOfMemoryError("CUDA out of memory (injected by the test)")

    def limited_backbone(*args, **kwargs):
        built = build_backbone(*args, **kwargs)
        built.module.register_forward_pre_hook(hook)
        return built

    monkeypatch.setattr(stages, "build_backbone", limited_backbone)
