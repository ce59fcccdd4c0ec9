"""The domain adaptation methods: AdaBN, per-domain feature standardisation, CORAL, entropy
(information maximisation) on target predictions, and domain-adversarial training (DANN).

Each changes the model only in ways that stay inside it (BatchNorm statistics, the head's
weights), so the saved and exported model needs no extra step at prediction time.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from tlstudio.training.adaptation import Adaptation, cycle
from tlstudio.training.feature_cache import FeatureBatches, extract_features
from tlstudio.training.loops import ExtraLoss, evaluate

ENTROPY_WEIGHT = 0.5  # information maximisation term against the labels' cross-entropy
DANN_WEIGHT = 0.3  # the domain classifier's loss at the end of the ramp
EPS = 1e-5


class GradientReversal(torch.autograd.Function):
    """Identity forward; the gradient multiplied by -coeff backward (Ganin and Lempitsky)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad, None


def reverse_gradient(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    return GradientReversal.apply(x, coeff)


def batchnorm_on(model: nn.Module, loader, device: torch.device) -> nn.Module:
    """A copy of `model` whose every BatchNorm holds the statistics of `loader`'s images
    (AdaBN): a cumulative average over one pass, nothing else changed."""
    adapted = copy.deepcopy(model).eval()
    norms = [m for m in adapted.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over every batch of the pass
        norm.train()
    with torch.no_grad():
        for x, _ in loader:
            adapted(x.to(device))
    for norm, original in zip(norms, _norms(model), strict=True):
        norm.momentum = original.momentum
    return adapted.eval()


def _norms(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class AdaBN(Adaptation):
    """BatchNorm statistics re-estimated on the target images; the weights as trained."""

    name = "adabn"
    changes_backbone = True

    def __init__(self, state) -> None:
        super().__init__(state)
        self._frozen: nn.Module | None = None  # the adapted model while only the head trains

    def deployed(self) -> nn.Module:
        state = self.state
        if not state.use_cache:
            return batchnorm_on(state.model, self.loader(state.target_scan), state.device)
        # A frozen backbone's target statistics never change: estimate them once, and give
        # the adapted copy the head as trained so far.
        if self._frozen is None:
            self._frozen = batchnorm_on(state.model, self.loader(state.target_scan),
                                        state.device)
        self._frozen.head.load_state_dict(state.model.head.state_dict())
        return self._frozen

    def target_accuracy(self) -> float | None:
        state = self.state
        if state.target_val_scan is None or not state.use_cache:
            return super().target_accuracy()
        model = self.deployed()
        if self._target_val_features is None:
            loader = self.loader(state.target_val_scan)
            self._target_val_features = extract_features(
                model, loader, state.device, lambda done, total: None, state.control,
                state.precision, state.micro_batch)
        features, labels = self._target_val_features
        batches = FeatureBatches(features, labels, state.recipe.batch_size)
        return evaluate(model.head, batches, nn.CrossEntropyLoss(), state.device,
                        state.precision, state.micro_batch).accuracy


class FeatureMethod(Adaptation):
    """A method over the cached features of a frozen backbone: the head trains (and is
    validated) on transformed source features."""

    needs_cache = True

    def prepare(self) -> None:
        target, _ = self.features(self.state.target_scan, "extracting target features")
        train, val = self.state.train_batches, self.state.val_batches
        self.fit(train.features, target)
        train.features = self.transform(train.features)
        val.features = self.transform(val.features)

    def fit(self, source: torch.Tensor, target: torch.Tensor) -> None:
        raise NotImplementedError

    def transform(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Align(FeatureMethod):
    """The head trains on source features standardised with the source's mean and spread; the
    saved head standardises with the target's (folded into its weights)."""

    name = "align"

    def fit(self, source: torch.Tensor, target: torch.Tensor) -> None:
        self.mean, self.std = source.mean(0), source.std(0) + EPS
        self.target_mean, self.target_std = target.mean(0), target.std(0) + EPS

    def transform(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def deployed(self) -> nn.Module:
        return with_standardised_head(self.state.model, self.target_mean, self.target_std)


def with_standardised_head(model: nn.Module, mean: torch.Tensor, std: torch.Tensor
                           ) -> nn.Module:
    """A copy whose head computes head((f - mean) / std) from raw features f: the same
    linear layer, so exports need nothing new."""
    folded = copy.deepcopy(model)
    head = folded.head
    with torch.no_grad():
        weight = head.weight / std
        head.bias -= weight @ mean
        head.weight.copy_(weight)
    return folded


class Coral(FeatureMethod):
    """CORAL: source features whitened and recoloured with the target's covariance and mean,
    so the head trains in the target's feature distribution and applies to it unchanged."""

    name = "coral"

    def fit(self, source: torch.Tensor, target: torch.Tensor) -> None:
        self.mean_s, self.mean_t = source.mean(0), target.mean(0)
        self.map = _inverse_sqrt(_covariance(source)) @ _sqrt(_covariance(target))

    def transform(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean_s) @ self.map + self.mean_t


def _covariance(x: torch.Tensor) -> torch.Tensor:
    """Covariance shrunk towards its mean variance: fewer images than features leave it
    singular otherwise."""
    centred = x - x.mean(0)
    cov = centred.T @ centred / max(len(x) - 1, 1)
    return cov + torch.eye(len(cov), device=x.device) * cov.diagonal().mean().clamp_min(EPS)


def _sqrt(matrix: torch.Tensor, power: float = 0.5) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix.double())
    return (vectors * values.clamp_min(EPS) ** power @ vectors.T).float()


def _inverse_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    return _sqrt(matrix, -0.5)


class Entropy(Adaptation):
    """Information maximisation on the target: each prediction confident (low entropy), the
    predictions together spread over the classes (high entropy of their mean), so the term
    cannot be met by calling every image one class."""

    name = "entropy"

    def prepare(self) -> None:
        state = self.state
        if state.use_cache:
            features, labels = self.features(state.target_scan, "extracting target features")
            batches = FeatureBatches(features, labels, state.recipe.batch_size,
                                      state.generator)
            self.batches = cycle(lambda: iter(batches))
        else:
            self.batches = cycle(lambda: iter(self.loader(state.target_scan, shuffle=True)))

    def extra_loss(self) -> ExtraLoss:
        def loss(model: nn.Module) -> torch.Tensor:
            x, _ = next(self.batches)
            probs = model(x.to(self.state.device)).float().softmax(1)
            return ENTROPY_WEIGHT * (_entropy(probs).mean() - _entropy(probs.mean(0)))
        return loss


def _entropy(probs: torch.Tensor) -> torch.Tensor:
    return -(probs * probs.clamp_min(1e-8).log()).sum(-1)


class Dann(Adaptation):
    """Domain-adversarial training: a small domain classifier learns to tell source from
    target features, and the reversed gradient teaches the backbone to make them alike. The
    domain classifier is thrown away; the model saved is the classifier alone."""

    name = "dann"
    needs_trainable_backbone = True

    def prepare(self) -> None:
        state = self.state
        dim = state.model.head.in_features
        self.domain = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, 1)).to(
            state.device)
        self.optimizer = torch.optim.Adam(self.domain.parameters(), lr=state.recipe.lr)
        self.batches = cycle(lambda: iter(self.loader(state.target_scan, shuffle=True)))
        self.steps, self.total = 0, max(state.recipe.epochs * len(state.train_batches), 1)
        self.source: torch.Tensor | None = None
        state.model.head.register_forward_pre_hook(self._keep_source)

    def _keep_source(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        self.source = inputs[0]

    def extra_loss(self) -> ExtraLoss:
        def loss(model: nn.Module) -> torch.Tensor:
            self._step_domain_classifier()
            source = self.source
            x, _ = next(self.batches)
            target = model.features(x.to(self.state.device))
            progress = self.steps / self.total
            self.steps += 1
            coeff = 2.0 / (1.0 + math.exp(-10 * progress)) - 1.0  # Ganin's ramp, 0 -> 1
            both = reverse_gradient(torch.cat([source, target]).float(), coeff)
            domains = torch.cat([torch.zeros(len(source)), torch.ones(len(target))]).to(
                both.device)
            logits = self.domain(both).squeeze(1)
            return DANN_WEIGHT * nn.functional.binary_cross_entropy_with_logits(logits, domains)
        return loss

    def _step_domain_classifier(self) -> None:
        """The previous batch's gradients, then a clean slate (the model's optimizer does not
        hold the domain classifier, which the saved model leaves out)."""
        if any(p.grad is not None for p in self.domain.parameters()):
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


METHODS: dict[str, type[Adaptation]] = {
    "none": Adaptation, "adabn": AdaBN, "align": Align, "coral": Coral, "entropy": Entropy,
    "dann": Dann,
}
