"""Two-phase fine-tuning: which stages train in which epochs, and at which learning rates.

With ``head_epochs`` > 0, phase 1 trains the head alone (backbone frozen); phase 2 applies the
recipe's freeze/train_stages with discriminative rates (``lr_decay``). One optimizer holds a
parameter group per stage for the whole run (frozen stages get no gradients, so the optimizer
skips them), so a checkpoint from either phase resumes with the same groups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from tlstudio.models.classifier import HEAD_STAGE
from tlstudio.models.freezing import apply_freeze, stage_learning_rates
from tlstudio.models.registry import Stage
from tlstudio.recipe import Recipe
from tlstudio.training.events import Event, LogMessage

OTHER_GROUP = "other"  # trainable parameters outside every stage (none for the registry's)
ALL_GROUP = "all"  # the single group when every stage has the same lr (lr_decay 1)


@dataclass(frozen=True)
class Phase:
    """A run of epochs with one set of trainable stages (a row of the freeze tree's plan)."""

    number: int  # 1-based
    first_epoch: int  # 1-based, inclusive
    last_epoch: int  # inclusive
    trainable: tuple[str, ...]  # stage names in model order; the head last
    lrs: dict[str, float]  # peak learning rate of each trainable stage

    @property
    def epochs(self) -> range:
        return range(self.first_epoch, self.last_epoch + 1)

    @property
    def head_only(self) -> bool:
        return self.trainable == (HEAD_STAGE,)

    def describe(self) -> str:
        span = (f"epoch {self.first_epoch}" if self.first_epoch == self.last_epoch
                else f"epochs {self.first_epoch}-{self.last_epoch}")
        if self.head_only:
            return (f"Phase {self.number}, {span}: only the new classifier trains "
                    f"(lr {self.lrs[HEAD_STAGE]:.3g}), the backbone is frozen")
        rates = ", ".join(f"{name} {lr:.3g}" for name, lr in self.lrs.items())
        return f"Phase {self.number}, {span}: {len(self.trainable)} stage(s) train, lrs {rates}"


def phase_plan(stages: Sequence[Stage | str | Any], recipe: Recipe) -> list[Phase]:
    """The phases of a recipe over a backbone's stages (Stage, StageInfo or names, the head
    last). One phase when head_epochs is 0 or the recipe trains only the head anyway.
    """
    named = [Stage(_name(s), ()) for s in stages]
    names = [s.name for s in named]
    chosen = set(recipe.train_stages)
    trainable = tuple(n for n in names if n in chosen)
    main_lrs = stage_learning_rates(names, trainable, recipe.lr, recipe.lr_decay)
    if recipe.head_epochs == 0 or trainable == (HEAD_STAGE,):
        return [Phase(1, 1, recipe.epochs, trainable, main_lrs)]
    head = Phase(1, 1, recipe.head_epochs, (HEAD_STAGE,), {HEAD_STAGE: recipe.lr})
    return [head, Phase(2, recipe.head_epochs + 1, recipe.epochs, trainable, main_lrs)]


def phase_of(plan: Sequence[Phase], epoch: int) -> Phase:
    for phase in plan:
        if epoch <= phase.last_epoch:
            return phase
    return plan[-1]  # an extended run carries on in its last phase


def stage_param_groups(model: nn.Module, stages: Sequence[Stage],
                       recipe: Recipe) -> list[dict[str, Any]]:
    """Optimizer parameter groups, one per stage with trainable parameters, the head first
    (so param_groups[0]["lr"] is the recipe's lr), each at its discriminative rate.
    Call it with the final phase's freeze applied: those are all the parameters that train.
    Without discriminative rates (lr_decay 1) it is one group, as runs before lr_decay had,
    so their checkpoints still resume.
    """
    if recipe.lr_decay == 1.0:
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"params": params, "lr": recipe.lr, "stage": ALL_GROUP}]
    grouped: dict[str, list[nn.Parameter]] = {s.name: [] for s in stages}
    grouped[OTHER_GROUP] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        owner = next((s.name for s in stages if name.startswith(s.prefixes)), OTHER_GROUP)
        grouped[owner].append(param)
    trainable = [s.name for s in stages if grouped[s.name]]
    lrs = stage_learning_rates(stages, trainable, recipe.lr, recipe.lr_decay)
    lrs[OTHER_GROUP] = recipe.lr
    order = [HEAD_STAGE, *(n for n in grouped if n != HEAD_STAGE)]
    return [{"params": grouped[n], "lr": lrs[n], "stage": n} for n in order if grouped[n]]


class PhaseSwitch:
    """Applies the freeze of the phase each epoch belongs to and says so in the log."""

    def __init__(self, model: nn.Module, stages: Sequence[Stage], recipe: Recipe,
                 emit: Callable[[Event], None]) -> None:
        self.model, self.stages, self.recipe, self.emit = model, stages, recipe, emit
        self.plan = phase_plan(stages, recipe)
        self.current: Phase | None = None
        if recipe.head_epochs and len(self.plan) == 1:
            emit(LogMessage("Head epochs have no effect: this recipe trains only the head in "
                            "every epoch"))

    def start_epoch(self, epoch: int) -> None:
        phase = phase_of(self.plan, epoch)
        if phase is self.current:
            return
        first = self.current is None
        self.current = phase
        if len(self.plan) == 1:
            if self.recipe.lr_decay != 1.0:
                self.emit(LogMessage(f"Discriminative learning rates: {_rates(phase)}"))
            return  # the engine froze the model by the recipe already
        unfreeze = self.recipe.unfreeze if phase is self.plan[-1] else ()
        apply_freeze(self.model, self.stages, phase.trainable, unfreeze)
        if phase.head_only:
            span = "epoch 1" if phase.last_epoch == 1 else f"epochs 1-{phase.last_epoch}"
            text = (f"Phase 1 ({span}): only the new classifier trains, the backbone is frozen; "
                    f"stages unfreeze at epoch {phase.last_epoch + 1}")
        elif epoch > phase.first_epoch:  # a resume inside phase 2: it began earlier
            text = (f"Continuing phase 2 (since epoch {phase.first_epoch}): "
                    f"{', '.join(n for n in phase.trainable if n != HEAD_STAGE)} train; "
                    f"learning rates {_rates(phase)}")
        else:
            text = (f"Phase 2 from epoch {epoch}: unfreezing "
                    f"{', '.join(n for n in phase.trainable if n != HEAD_STAGE)}; "
                    f"learning rates {_rates(phase)}")
        if first and phase.head_only and self.recipe.feature_cache:
            text += " (the feature cache stays off: phase 2 trains the backbone)"
        self.emit(LogMessage(text))


def _rates(phase: Phase) -> str:
    return ", ".join(f"{name} {lr:.3g}" for name, lr in phase.lrs.items())


def _name(stage: Stage | str | Any) -> str:
    return stage if isinstance(stage, str) else stage.name
