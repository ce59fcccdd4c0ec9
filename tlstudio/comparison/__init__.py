"""Which transfer strategy suits a data set: the strategies on identical splits, compare.json,
its chart and what it found."""

from tlstudio.comparison.compare_strategies import Comparison, StrategyRun, compare
from tlstudio.comparison.strategies import (
    CLASSICAL,
    HEAD_ONLY_STRATEGIES,
    STRATEGIES,
    parse_strategies,
    strategy_recipe,
)
from tlstudio.comparison.verdict import best_strategy, conclusions, pretrained_helped

__all__ = [
    "CLASSICAL",
    "HEAD_ONLY_STRATEGIES",
    "STRATEGIES",
    "Comparison",
    "StrategyRun",
    "best_strategy",
    "compare",
    "conclusions",
    "parse_strategies",
    "pretrained_helped",
    "strategy_recipe",
]
