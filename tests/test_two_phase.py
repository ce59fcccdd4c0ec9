"""Two-phase fine-tuning: head-only epochs, then the chosen stages at discriminative rates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tlstudio.cli import main
from tlstudio.errors import RecipeError
from tlstudio.models.freezing import preview_stages, stage_learning_rates
from tlstudio.recipe import Recipe
from tlstudio.runs.folder import CHECKPOINT
from tlstudio.training import EpochEnded, LogMessage, LoopCallback, RunControl, fit, resume_run
from tlstudio.training.phases import phase_plan

BACKBONE_STAGES = ("stem", "stage1", "stage2")  # tiny_cnn's, before the head ("classifier")


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
                batch_size=8, lr=0.01, image_size=16, val_split=0.25, freeze="stages:1",
                head_epochs=1, lr_decay=0.5)
    base.update(changes)
    return Recipe(**base)


class Snapshots(LoopCallback):
    """The model's tensors before training and after each epoch, and the optimizer's lrs."""

    def bind(self, loop) -> None:
        super().bind(loop)
        self.states = {0: self._state()}
        self.lrs: dict[int, dict[str, float]] = {}

    def after_epoch(self, event: EpochEnded) -> None:
        self.states[event.epoch] = self._state()
        self.lrs[event.epoch] = {g["stage"]: g["lr"] for g in self.loop.optimizer.param_groups}

    def _state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.loop.model.state_dict().items()}

    def changed(self, prefix: str, before: int, after: int) -> bool:
        a, b = self.states[before], self.states[after]
        keys = [k for k in a if k.startswith(prefix) and a[k].is_floating_point()]
        assert keys, prefix
        return any(not torch.equal(a[k], b[k]) for k in keys)


def test_head_trains_alone_then_the_chosen_stages_unfreeze(colour_data, tmp_path):
    snapshots, logs = Snapshots(), []
    fit(_recipe(colour_data, tmp_path / "run"),
        [snapshots, lambda e: isinstance(e, LogMessage) and logs.append(e.text)])

    # Phase 1: the backbone (weights and BatchNorm statistics) is untouched, the head learns.
    assert not any(snapshots.changed(f"backbone.{s}", 0, 1) for s in BACKBONE_STAGES)
    assert snapshots.changed("head.", 0, 1)
    # Phase 2 (stages:1): stage1 and stage2 train, the stem stays frozen.
    assert snapshots.changed("backbone.stage1", 1, 2)
    assert snapshots.changed("backbone.stage2", 1, 2)
    assert not snapshots.changed("backbone.stem", 1, 2)
    assert any(t.startswith("Phase 1 (epoch 1): only the new classifier trains,") for t in logs)
    assert ("Phase 2 from epoch 2: unfreezing stage1, stage2; learning rates stage1 0.0025, "
            "stage2 0.005, classifier 0.01") in logs


def test_param_group_lrs_follow_lr_decay(colour_data, tmp_path):
    snapshots = Snapshots()
    fit(_recipe(colour_data, tmp_path / "run", head_epochs=0, freeze="none", epochs=1),
        [snapshots])
    assert snapshots.lrs[1] == pytest.approx(
        {"classifier": 0.01, "stem": 0.00125, "stage1": 0.0025, "stage2": 0.005})
    # Without lr_decay one group serves every stage (and both phases), as before lr_decay.
    same = Snapshots()
    fit(_recipe(colour_data, tmp_path / "same", lr_decay=1.0, epochs=2), [same])
    assert same.lrs == {1: {"all": 0.01}, 2: {"all": 0.01}}
    assert not same.changed("backbone.stage1", 0, 1) and same.changed("backbone.stage1", 1, 2)


def test_stage_learning_rates_count_trainable_stages_from_the_head():
    stages = ["stem", "stage1", "stage2", "classifier"]
    assert stage_learning_rates(stages, {"stage1", "stage2", "classifier"}, 1.0, 0.5) == {
        "stage1": 0.25, "stage2": 0.5, "classifier": 1.0}
    # A frozen stage in between is skipped: the stem is the second trainable stage back.
    assert stage_learning_rates(stages, {"stem", "stage2", "classifier"}, 1.0, 0.1) == \
        pytest.approx({"stem": 0.01, "stage2": 0.1, "classifier": 1.0})
    assert set(stage_learning_rates(stages, stages, 0.3, 1.0).values()) == {0.3}
    with pytest.raises(RecipeError, match="Unknown stage"):
        stage_learning_rates(stages, {"stage9"}, 1.0, 0.5)


def test_phase_plan_describes_both_phases_for_the_freeze_tree(tmp_path):
    stages = preview_stages("tiny_cnn", 3)  # the freeze tree's rows
    recipe = Recipe(data_dir="d", backbone="tiny_cnn", epochs=5, head_epochs=2,
                    freeze="stages:1", lr=0.01, lr_decay=0.5)
    head, main_phase = phase_plan(stages, recipe)

    assert (head.epochs, head.trainable, head.lrs) == (range(1, 3), ("classifier",),
                                                       {"classifier": 0.01})
    assert main_phase.epochs == range(3, 6)
    assert main_phase.trainable == ("stage1", "stage2", "classifier")
    assert main_phase.lrs == pytest.approx({"stage1": 0.0025, "stage2": 0.005,
                                            "classifier": 0.01})
    assert head.describe() == ("Phase 1, epochs 1-2: only the new classifier trains (lr 0.01), the "
                               "backbone is frozen")
    assert main_phase.describe().startswith("Phase 2, epochs 3-5: 3 stage(s) train")
    # One phase without head epochs, or when only the head trains anyway.
    assert len(phase_plan(stages, recipe.replace(head_epochs=0))) == 1
    [only] = phase_plan(stages, recipe.replace(freeze="backbone"))
    assert only.trainable == ("classifier",) and only.epochs == range(1, 6)
    # train_stages (the tree's checkboxes) win over freeze, as in the engine.
    [_, chosen] = phase_plan(stages, recipe.replace(train_stages=("stage2", "classifier")))
    assert chosen.trainable == ("stage2", "classifier")


@pytest.mark.parametrize("head_epochs", [1, 2])
def test_resume_after_epoch_one_equals_the_uninterrupted_run(colour_data, tmp_path,
                                                             head_epochs):
    settings = dict(epochs=3, head_epochs=head_epochs, schedule="cosine")
    whole = fit(_recipe(colour_data, tmp_path / "whole", **settings))

    control = RunControl()
    run = tmp_path / "run"
    first = fit(_recipe(colour_data, run, **settings),
                [lambda e: isinstance(e, EpochEnded) and control.stop()], control)
    assert first.stopped and len(first.epochs) == 1
    state = torch.load(run / CHECKPOINT, weights_only=True)
    assert state["phase"] == 1
    assert [g["stage"] for g in state["optimizer"]["param_groups"]] == [
        "classifier", "stage1", "stage2"]

    resumed = resume_run(run)
    for key in ("train_loss", "val_loss", "lr"):
        assert [getattr(e, key) for e in resumed.epochs] == pytest.approx(
            [getattr(e, key) for e in whole.epochs], rel=1e-5)


def test_recipe_checks_the_fine_tuning_settings(tmp_path):
    with pytest.raises(RecipeError, match="must be fewer than the epochs"):
        Recipe(data_dir="d", epochs=3, head_epochs=3)
    with pytest.raises(RecipeError, match="head epochs cannot be negative"):
        Recipe(data_dir="d", head_epochs=-1)
    for decay in (0.0, 1.5):
        with pytest.raises(RecipeError, match="lr decay must be above 0"):
            Recipe(data_dir="d", lr_decay=decay)
    recipe = Recipe(data_dir="d", epochs=4, head_epochs=2, lr_decay=0.3, precision="bf16",
                    channels_last=False)
    assert Recipe.from_json(recipe.to_json()) == recipe


def test_cli_flags_reach_the_recipe(colour_data, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", str(colour_data), "--out", str(run), "--backbone", "tiny_cnn",
                 "--image-size", "16", "--epochs", "2", "--freeze", "none", "--head-epochs", "1",
                 "--lr-decay", "0.5", "--precision", "fp32", "--no-channels-last"])
    assert code == 0
    saved = json.loads((run / "recipe.json").read_text())
    assert (saved["head_epochs"], saved["lr_decay"], saved["precision"],
            saved["channels_last"]) == (1, 0.5, "fp32", False)
    assert "Phase 2 from epoch 2: unfreezing stem, stage1, stage2" in capsys.readouterr().err
    assert main(["train", str(colour_data), "--out", str(run), "--epochs", "2",
                 "--head-epochs", "2"]) == 2
    assert "head epochs (2) must be fewer than the epochs (2)" in capsys.readouterr().err


def test_resume_inside_phase_two_says_when_phase_two_began(colour_data, tmp_path):
    control, run = RunControl(), tmp_path / "run"
    fit(_recipe(colour_data, run, epochs=3),
        [lambda e: isinstance(e, EpochEnded) and e.epoch == 2 and control.stop()], control)
    logs: list[str] = []
    resume_run(run, callbacks=[lambda e: isinstance(e, LogMessage) and logs.append(e.text)])

    assert ("Continuing phase 2 (since epoch 2): stage1, stage2 train; learning rates "
            "stage1 0.0025, stage2 0.005, classifier 0.01") in logs
    assert not any(t.startswith("Phase 2 from epoch") for t in logs)
