"""A torch Dataset over a DatasetScan's samples: decode, transform, label."""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torch.utils.data import Dataset

from tlstudio.data.image_cache import ImageCache
from tlstudio.data.images import UnreadableImage, load_rgb
from tlstudio.data.scan import DatasetScan
from tlstudio.errors import DatasetError


class ImageFolderDataset(Dataset[tuple[torch.Tensor, int]]):
    """Items are (transformed image, class index), in the scan's sample order."""

    def __init__(self, scan: DatasetScan, transform: Callable[[Image.Image], torch.Tensor],
                 cache: ImageCache | None = None) -> None:
        self.classes = scan.classes
        self.samples = scan.samples
        self.transform = transform
        self.cache = cache  # decoded, pre-resized photos on disk
        # What decoding may reduce a photo to (draft mode); None: decode fully.
        self.short_side: int | None = getattr(transform, "decode_short_side", None)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        """The sample at index `item`, or at (index, seed): its random transform seeded."""
        if isinstance(item, tuple):  # data.loader.SeededSampler's
            index, seed = item
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return self._sample(index)
        return self._sample(item)

    def _sample(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        try:
            if self.cache is not None and self.short_side is not None:
                image = self.cache.load(path, self.short_side)
            else:
                image = load_rgb(path, self.short_side)
        except FileNotFoundError:  # the image cache looked for it first
            raise _changed(path, "file not found") from None
        except UnreadableImage as exc:
            raise _changed(path, exc.reason) from exc
        return self.transform(image), label


def _changed(path: str, reason: str) -> DatasetError:
    # No silent substitution: a changed dataset must be rescanned, not trained around. One
    # wording whether the image cache or the decoder found the change.
    return DatasetError(f"Image '{path}' can no longer be read ({reason}); it was readable "
                        "when the folder was scanned. Rescan the folder.")
