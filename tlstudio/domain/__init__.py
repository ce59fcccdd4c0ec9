"""Cross-domain transfer seen from a finished run: how far target images are from its training
images (the adaptation itself happens inside `training.fit`)."""

from tlstudio.domain.shift import DomainShift, MapPoint, domain_accuracy, measure_shift, verdict
from tlstudio.domain.shift_map import draw_shift_map, write_shift_map

__all__ = [
    "DomainShift",
    "MapPoint",
    "domain_accuracy",
    "draw_shift_map",
    "measure_shift",
    "verdict",
    "write_shift_map",
]
