"""What a comparison found, from compare.json's rows: the best strategy and its margin (and
whether the fold spread swallows it), whether pretrained weights helped, in plain words."""

from __future__ import annotations

from typing import Any

from tlstudio.comparison.strategies import PRETRAINED_FREE


def _rank(row: dict[str, Any]) -> tuple[float, float]:
    return row["accuracy_mean"], row["macro_f1_mean"]


def best_strategy(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The highest mean accuracy (then macro-F1); its margin over the runner-up, and whether
    that margin is within the fold spread (at most either one's standard deviation). With a
    single split there is no spread to judge by, so the margin counts as within it."""
    if not rows:
        return None
    ranked = sorted(rows, key=_rank, reverse=True)
    best = ranked[0]
    if len(ranked) == 1:
        return {"strategy": best["strategy"], "backbone": best["backbone"], "margin": 0.0,
                "within_spread": True, "runner_up": None}
    second = ranked[1]
    margin = best["accuracy_mean"] - second["accuracy_mean"]
    one_split = len(best["folds"]) < 2 or len(second["folds"]) < 2
    spread = max(best["accuracy_std"], second["accuracy_std"])
    return {"strategy": best["strategy"], "backbone": best["backbone"], "margin": margin,
            "within_spread": one_split or margin <= spread,
            "runner_up": {"strategy": second["strategy"], "backbone": second["backbone"]}}


def pretrained_helped(rows: list[dict[str, Any]]) -> bool | None:
    """Per backbone, the best pretrained strategy beat the same architecture from random
    weights (scratch); None when no backbone ran both."""
    verdicts = []
    for backbone in dict.fromkeys(r["backbone"] for r in rows):
        own = [r for r in rows if r["backbone"] == backbone]
        scratch = [r for r in own if r["strategy"] == PRETRAINED_FREE]
        pretrained = [r for r in own if r["strategy"] != PRETRAINED_FREE]
        if scratch and pretrained:
            verdicts.append(max(map(_rank, pretrained)) > _rank(scratch[0]))
    return all(verdicts) if verdicts else None


def conclusions(result: dict[str, Any]) -> list[str]:
    """compare.json in sentences: the winner, the negative-transfer check, what was skipped."""
    rows, best = result["strategies"], result["best"]
    if best is None:
        return ["No strategy finished a fold, so there is nothing to compare",
                *(f"Budget: {s}" for s in result["skipped"])]
    winner = next(r for r in rows if (r["strategy"], r["backbone"]) ==
                  (best["strategy"], best["backbone"]))
    lines = [f"Best: {best['strategy']} ({best['backbone']}), accuracy "
             f"{winner['accuracy_mean']:.1%} ± {winner['accuracy_std']:.1%}, macro-F1 "
             f"{winner['macro_f1_mean']:.3f}"]
    if best["runner_up"]:
        runner = best["runner_up"]
        ahead = f"{best['margin']:.1%} ahead of {runner['strategy']} ({runner['backbone']})"
        if result["folds"] < 2:
            lines.append(f"{ahead}; one split has no fold spread to judge that by: "
                         "cross-validate to tell them apart")
        elif best["within_spread"]:
            lines.append(f"{ahead}, within the fold spread: not a clear winner")
        else:
            lines.append(f"{ahead}, more than the fold spread")
    lines += _pretrained_lines(rows, result["pretrained_helped"])
    lines += [f"Budget: {s}" for s in result["skipped"]]
    return lines


def _pretrained_lines(rows: list[dict[str, Any]], helped: bool | None) -> list[str]:
    if helped is None:
        return ["Pretrained weights were not checked against random ones (run the scratch "
                "strategy for that)"]
    scratch = max((r for r in rows if r["strategy"] == PRETRAINED_FREE), key=_rank)
    pretrained = max((r for r in rows if r["strategy"] != PRETRAINED_FREE), key=_rank)
    numbers = (f"best pretrained {pretrained['strategy']} {pretrained['accuracy_mean']:.1%}, "
               f"from random weights {scratch['accuracy_mean']:.1%}")
    if helped:
        return [f"Pretrained weights helped: {numbers}"]
    return [f"Pretrained weights did not help on these images ({numbers}): the pretrained "
            "features do not suit them (negative transfer), or the set is large enough to "
            "learn from scratch"]
