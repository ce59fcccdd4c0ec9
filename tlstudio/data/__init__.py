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
from tlstudio.data.image_cache import ImageCache
from tlstudio.data.images import UnreadableImage, decode_rgb, load_rgb
from tlstudio.data.imbalance import Imbalance, class_imbalance
from tlstudio.data.layout import DataFolders, SplitLayout, resolve_data_folders, split_folders
from tlstudio.data.loader import ImageLoader
from tlstudio.data.overview import short_sides, small_images_warning, split_counts
from tlstudio.data.scan import (
    DatasetScan,
    ScanCancelled,
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
from tlstudio.data.walk import SkippedFile, find_files
from tlstudio.data.workers import loader_workers

__all__ = [
    "AUGMENT_PRESETS",
    "AugmentTransform",
    "Imbalance",
    "PRESETS",
    "augment_settings",
    "class_imbalance",
    "decode_rgb",
    "CROP_FRACTION",
    "DatasetScan",
    "EvalTransform",
    "ImageCache",
    "ImageFolderDataset",
    "ImageLoader",
    "ScanCancelled",
    "SkippedFile",
    "DataFolders",
    "SplitLayout",
    "UnreadableImage",
    "describe_augmentation",
    "describe_eval_transform",
    "eval_transform",
    "find_files",
    "load_rgb",
    "loader_workers",
    "preview_augmentations",
    "resize_size",
    "scan_folder",
    "scan_images",
    "resolve_data_folders",
    "split_folders",
    "short_sides",
    "small_images_warning",
    "split_counts",
    "stratified_split",
    "train_transform",
    "default_demo_root",
    "demo_data_dir",
    "write_digits_demo",
]
