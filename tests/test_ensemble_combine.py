"""How members' probabilities are combined: the stacking layer in an export gives scikit-learn's
probabilities, chosen weights follow the better member, fitting is scored out of fold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tlstudio.ensemble.combine import (
    choose_weights,
    combine,
    fit_stacker,
    stack_features,
    stacker_layer,
)
from tlstudio.errors import EnsembleError


def _members(classes: int, images: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two members' probabilities: the first usually right, the second noise."""
    rng = np.random.default_rng(seed)
    targets = np.arange(images) % classes
    sharp = rng.dirichlet(np.ones(classes), images)
    sharp[np.arange(images), targets] += 2.0
    noise = rng.dirichlet(np.ones(classes), images)
    members = np.stack([sharp / sharp.sum(1, keepdims=True), noise])
    return members, targets


@pytest.mark.parametrize("classes", [2, 4])
def test_the_stacking_layer_gives_scikit_learns_probabilities(classes: int) -> None:
    members, targets = _members(classes)
    stacker = fit_stacker(members, targets)
    layer = stacker_layer(stacker, classes)
    features = torch.from_numpy(stack_features(members)).float()
    with torch.no_grad():
        ours = torch.softmax(layer(features), dim=1).numpy()
    np.testing.assert_allclose(ours, stacker.predict_proba(stack_features(members)), atol=1e-5)


def test_chosen_weights_sum_to_one_and_follow_the_better_member() -> None:
    members, targets = _members(3)
    weights = choose_weights(members, targets)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    assert weights[0] > 0.8
    swapped = choose_weights(members[::-1], targets)
    assert swapped[1] > 0.8  # the weight follows the member, not its position


def test_fitted_combinations_are_scored_out_of_fold() -> None:
    members, targets = _members(3, images=30)
    # A member that is right only by chance: fitted and scored on the same images, a stacker
    # could memorise it; scored out of fold, it cannot beat chance by much.
    rng = np.random.default_rng(1)
    random = rng.dirichlet(np.ones(3), (2, 30))
    stacked = combine("stacking", random, targets, 3)
    assert "cross-validated" in stacked.scoring
    in_sample = fit_stacker(random, targets).predict_proba(stack_features(random))
    assert (stacked.probabilities.argmax(1) == targets).mean() < \
        (in_sample.argmax(1) == targets).mean()
    average = combine("average", members, targets, 3)
    np.testing.assert_allclose(average.probabilities, members.mean(0), atol=1e-12)


def test_fitting_needs_two_validation_images_of_each_class() -> None:
    members, _ = _members(3, images=4)
    targets = np.array([0, 0, 1, 2])  # classes 1 and 2: one image each
    with pytest.raises(EnsembleError, match="at least two validation images"):
        combine("stacking", members[:, :4], targets, 3)
    with pytest.raises(EnsembleError, match="Unknown ensemble method"):
        combine("median", members, np.arange(len(members[0])) % 3, 3)
