"""The transfer strategies a comparison runs, each a change to the user's recipe.

Classical heads (logreg, svm, knn) and the trained linear head see the frozen pretrained
backbone's features; last-stage, last-two and full fine-tune more of it; two-phase trains the
head first, then everything; scratch is the same architecture from random weights, everything
training: the negative-transfer check.
"""

from __future__ import annotations

from tlstudio.errors import RecipeError
from tlstudio.models import stage_names
from tlstudio.recipe import HEAD_ONLY, STRATEGY_NAMES, Recipe

CLASSICAL = ("logreg", "svm", "knn")
HEAD_ONLY_STRATEGIES = (*CLASSICAL, "head")  # share one feature extraction per backbone and fold
FINE_TUNING = ("last-stage", "last-two", "full", "two-phase", "scratch")
STRATEGIES = STRATEGY_NAMES  # recipe.py lists them, so the CLI's --help imports no torch
PRETRAINED_FREE = "scratch"


def strategy_recipe(base: Recipe, strategy: str) -> Recipe:
    """`base` as `strategy` trains it (the stages, head, phases and starting weights)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    common = dict(head="linear", head_epochs=0, pretrained=True, unfreeze=(), folds=None)
    if strategy in CLASSICAL:
        return base.replace(**{**common, "head": strategy}, train_stages=HEAD_ONLY,
                            augment="none", mixup_alpha=0.0, cutmix_alpha=0.0)
    stages = stage_names(base.backbone)  # input to output, the head (classifier) last
    trainable = {
        "head": HEAD_ONLY,
        "last-stage": stages[-2:],
        "last-two": stages[-3:],
        "full": stages,
        "two-phase": stages,
        "scratch": stages,
    }[strategy]
    if strategy == "two-phase":
        epochs = max(2, base.epochs)
        return base.replace(**{**common, "head_epochs": epochs // 2}, epochs=epochs,
                            train_stages=trainable)
    return base.replace(**{**common, "pretrained": strategy != PRETRAINED_FREE},
                        train_stages=trainable)


def parse_strategies(text: str | None) -> tuple[str, ...]:
    """'logreg,full' -> ('logreg', 'full'); None -> every strategy. Unknown names: RecipeError
    naming the known ones."""
    if not text:
        return STRATEGIES
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown or not names:
        raise RecipeError(f"unknown strategy {', '.join(unknown) or repr(text)}: choose from "
                         f"{', '.join(STRATEGIES)}")
    # The head-only ones first: they share the features the first of them extracts.
    return tuple(sorted(names, key=STRATEGIES.index))
