"""Folder scanning, image decoding, transforms and the demo data set (Qt-free)."""

from __future__ import annotations

from tlstudio.data.augment import (
    AUGMENT_PRESETS,
    PRESETS,
    AugmentTransform,
    augment_settings,
    describe_augmentation,
    preview_augmentations,
    train_transform,
)
from tlstudio.data.dataset import ImageFolderDataset
from tlstudio.data.demo import default_demo_root, demo_data_dir, write_digits_demo
from tlstudio.data.images import UnreadableImage, load_rgb
from tlstudio.data.imbalance import Imbalance, class_imbalance
from tlstudio.data.layout import DataFolders, SplitLayout, resolve_data_folders, split_folders
from tlstudio.data.scan import (
    DatasetScan,
    ScanCancelled,
    SkippedFile,
    scan_folder,
    scan_images,
    stratified_split,
)
from tlstudio.data.transforms import (
    CROP_FRACTION,
    EvalTransform,
    describe_eval_transform,
    eval_transform,
    resize_size,
)

__all__ = [
    "AUGMENT_PRESETS",
    "AugmentTransform",
    "Imbalance",
    "PRESETS",
    "augment_settings",
    "class_imbalance",
    "CROP_FRACTION",
    "DatasetScan",
    "EvalTransform",
    "ImageFolderDataset",
    "ScanCancelled",
    "SkippedFile",
    "DataFolders",
    "SplitLayout",
    "UnreadableImage",
    "describe_augmentation",
    "describe_eval_transform",
    "eval_transform",
    "load_rgb",
    "preview_augmentations",
    "resize_size",
    "scan_folder",
    "scan_images",
    "resolve_data_folders",
    "split_folders",
    "stratified_split",
    "train_transform",
    "default_demo_root",
    "demo_data_dir",
    "write_digits_demo",
]
