"""Model fusion: trained runs with the same classes combined into one ensemble run folder
(average, validation-chosen weights, or a stacking model), exported as one network."""

from __future__ import annotations

from tlstudio.ensemble.build import EnsembleResult, build_ensemble
from tlstudio.ensemble.combine import METHODS
from tlstudio.ensemble.members import class_mismatch

__all__ = ["METHODS", "EnsembleResult", "build_ensemble", "class_mismatch"]
