"""A comparison's time budget: how many epochs of the next strategy's fold still fit, from the
seconds per epoch measured so far; what it leaves out is said, never dropped silently."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    seconds: float | None  # None: no budget, everything runs
    begun: float = field(default_factory=time.perf_counter)
    per_epoch: dict[object, float] = field(default_factory=dict)  # measured, by strategy key

    def remaining(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (time.perf_counter() - self.begun)

    def epochs_that_fit(self, key: object, epochs: int, fallback: object | None = None,
                        minimum: int = 1) -> int:
        """The epochs of `key`'s next fold that fit in what is left (0: none; `epochs`: all).
        Unmeasured, it is judged by `fallback`'s measure; unmeasurable, it runs while time is
        left (the first fold of each strategy measures it)."""
        left = self.remaining()
        if left <= 0:
            return 0
        rate = self.per_epoch.get(key, self.per_epoch.get(fallback))
        if rate is None or rate <= 0 or math.isinf(left):
            return epochs
        fits = min(epochs, int(left // rate))
        return fits if fits >= minimum else 0

    def measured(self, key: object, seconds: float, epochs: int) -> None:
        self.per_epoch[key] = seconds / max(epochs, 1)
