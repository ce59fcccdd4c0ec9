"""Heads other than the trained linear layer: a k-nearest-neighbours vote over stored features.

A linear scikit-learn head (logistic regression, linear SVM) folds into the Classifier's own
nn.Linear, so only kNN needs a module of its own; its state dict says what it is.
"""

from __future__ import annotations

import torch
from torch import nn

KNN_KEYS = "head.keys"  # a kNN run's state dict holds these instead of head.weight/bias


class KNNHead(nn.Module):
    """Each class's share of the k nearest training features (Euclidean), as log-probabilities,
    so softmax of the output is the vote (scikit-learn's KNeighborsClassifier, uniform weights)."""

    def __init__(self, keys: torch.Tensor, votes: torch.Tensor, k: int) -> None:
        super().__init__()
        self.register_buffer("keys", keys.float())  # (training images, feature dim)
        self.register_buffer("votes", votes.float())  # (training images, classes), one-hot
        self.register_buffer("k", torch.tensor(int(k)))
        self._k = int(k)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        distances = torch.cdist(features.float(), self.keys)
        nearest = distances.topk(self._k, dim=1, largest=False).indices
        share = self.votes[nearest].mean(1)
        return torch.log(share + 1e-6)


def head_from_state(state: dict[str, torch.Tensor]) -> nn.Module | None:
    """The head a saved state dict asks for when it is not a linear layer (None: linear)."""
    if KNN_KEYS not in state:
        return None
    return KNNHead(state[KNN_KEYS], state["head.votes"], int(state["head.k"]))


def take_saved_head(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Give `model` the head its saved `state` holds (a kNN vote in place of the linear layer),
    so that `model.load_state_dict(state)` fits."""
    head = head_from_state(state)
    if head is not None:
        model.head = head
