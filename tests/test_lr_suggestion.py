"""The LR finder's suggestion ignores the noisy first points of the range test."""

from __future__ import annotations

import numpy as np
import pytest

from tlstudio.training.lr_finder import suggest_lr


def test_suggestion_skips_the_noisy_start_of_the_curve() -> None:
    # A flat loss with a wobble in the first steps (few batches averaged), then the real fall
    # around 1e-2, as the bundled backbone gives on the demo digits.
    lrs = list(np.logspace(-7, 1, 80))
    losses = [2.5] * 80
    losses[1], losses[2] = 2.7, 2.35  # the steepest drop of all, but it is noise
    for i, lr in enumerate(lrs):
        if lr > 1e-3:
            losses[i] = 2.5 - 0.8 * np.log10(lr / 1e-3)
    suggested = suggest_lr(lrs, losses)
    assert 1e-3 < suggested < 1.0
    assert suggested == pytest.approx(lrs[int(np.argmin(np.gradient(losses[8:], np.log10(
        lrs[8:]))) + 8)])
