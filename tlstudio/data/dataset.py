"""A torch Dataset over a DatasetScan's samples: decode, transform, label."""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torch.utils.data import Dataset

from tlstudio.data.images import UnreadableImage, load_rgb
from tlstudio.data.scan import DatasetScan
from tlstudio.errors import DatasetError


class ImageFolderDataset(Dataset[tuple[torch.Tensor, int]]):
    """Items are (transformed image, class index), in the scan's sample order."""

    def __init__(self, scan: DatasetScan, transform: Callable[[Image.Image], torch.Tensor]) -> None:
        self.classes = scan.classes
        self.samples = scan.samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        try:
            image = load_rgb(path)
        except UnreadableImage as exc:
            # No silent substitution: a changed dataset must be rescanned, not trained around.
            raise DatasetError(
                f"Image '{path}' can no longer be read ({exc.reason}); it was readable when "
                "the folder was scanned. Rescan the folder."
            ) from exc
        return self.transform(image), label
