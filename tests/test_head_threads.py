"""A head trained on cached features works on one CPU thread (a second one only costs wake-ups
for such small batches); the features are extracted, and the next fit runs, on the recipe's."""

from __future__ import annotations

import torch

from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, PhaseProgress, fit


def test_only_the_cached_head_phase_runs_on_one_thread(colour_data, tmp_path) -> None:
    seen: dict[str, set[int]] = {"extracting": set(), "head": set()}

    def record(event: object) -> None:
        if isinstance(event, PhaseProgress) and event.phase.startswith("extracting"):
            seen["extracting"].add(torch.get_num_threads())
        elif isinstance(event, BatchEnded):
            seen["head"].add(torch.get_num_threads())

    common = dict(
        data_dir=str(colour_data),
        backbone="tiny_cnn",
        image_size=16,
        batch_size=8,
        val_split=0.25,
        epochs=2,
        threads=2,
        device="cpu",
    )
    fit(
        Recipe(out_dir=str(tmp_path / "cached"), freeze="backbone", feature_cache=True, **common),
        [record],
    )
    assert seen == {"extracting": {2}, "head": {1}}
    assert torch.get_num_threads() == 2  # the recipe's again once the head is trained

    seen = {"extracting": set(), "head": set()}
    fit(Recipe(out_dir=str(tmp_path / "whole"), freeze="none", **common), [record])
    assert seen["head"] == {2}  # every stage training: the recipe's threads
