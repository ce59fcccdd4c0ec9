"""Turn a folder of class subfolders into a DatasetScan: classes, readable samples, skipped files.

Every problem a user can fix in the folder is reported here, before any training starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tlstudio.data.images import UnreadableImage, load_rgb
from tlstudio.data.walk import IS_A_FOLDER, SkippedFile, find_files, is_hidden, not_a_file_reason
from tlstudio.errors import DatasetError, ScanCancelled

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class DatasetScan:
    root: str  # absolute path of the scanned folder
    classes: tuple[str, ...]  # class names; a sample's label indexes this tuple
    samples: tuple[tuple[str, int], ...]  # (absolute image path, class index), sorted
    skipped: tuple[SkippedFile, ...] = ()  # files found but not used, with why

    def counts(self) -> dict[str, int]:
        """Number of samples per class, every class present (0 where none)."""
        per_class = dict.fromkeys(self.classes, 0)
        for _, label in self.samples:
            per_class[self.classes[label]] += 1
        return per_class

    def __len__(self) -> int:
        return len(self.samples)


def scan_folder(
    root: str | os.PathLike[str],
    classes: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> DatasetScan:
    """Scan `root`: each non-hidden subfolder is a class, images are found recursively.

    Pass the training set's `classes` when scanning a validation folder, so labels match;
    then a class missing here is fine but an unknown subfolder is an error.
    """
    root_path = Path(os.path.abspath(root))
    if not root_path.is_dir():
        raise DatasetError(f"Folder '{root_path}' does not exist or is not a folder")
    class_dirs, skipped = _list_root(root_path)
    class_names = _resolve_classes(root_path, [d.name for d in class_dirs], classes)
    candidates = []
    for d in class_dirs:
        files, passed_over = find_files(str(d))
        candidates += [(path, class_names.index(d.name)) for path in files]
        skipped += passed_over
    reasons = _check_files([p for p, _ in candidates], progress, cancel)
    samples = sorted(
        ((p, label) for (p, label), why in zip(candidates, reasons, strict=True) if why is None),
        key=lambda s: (s[1], s[0]),
    )
    skipped += [SkippedFile(p, why) for (p, _), why in zip(candidates, reasons, strict=True) if why]
    scan = DatasetScan(str(root_path), tuple(class_names), tuple(samples), tuple(skipped))
    _check_not_empty(scan, is_validation=classes is not None)
    return scan


def _list_root(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Class folders (links to folders followed) and the other entries, with why unused."""
    class_dirs, skipped = [], []
    for entry in sorted(root.iterdir()):
        if is_hidden(entry.name):
            continue
        reason = not_a_file_reason(str(entry))
        if reason == IS_A_FOLDER:
            class_dirs.append(entry)
        else:
            skipped.append(SkippedFile(str(entry), reason or "not inside a class folder"))
    return class_dirs, skipped


def _resolve_classes(root: Path, found: list[str], forced: Sequence[str] | None) -> list[str]:
    if forced is None:
        if len(found) < 2:
            listed = ", ".join(f"'{n}'" for n in found) or "none"
            raise DatasetError(
                f"The folder '{root}' needs at least two class subfolders, found "
                f"{len(found)}: {listed}. Put the images of each class in its own subfolder, "
                f"e.g. '{root / 'cats'}' and '{root / 'dogs'}'."
            )
        return found
    unknown = [n for n in found if n not in forced]
    if unknown:
        listed = ", ".join(f"'{n}'" for n in unknown)
        raise DatasetError(
            f"The folder '{root}' has subfolders that are not training classes: {listed}. "
            f"Training classes are: {', '.join(forced)}."
        )
    return list(forced)


def _unreadable_reason(path: str) -> str | None:
    try:
        load_rgb(path)
    except UnreadableImage as exc:
        return exc.reason
    return None


def _check_files(
    paths: list[str], progress: ProgressFn | None, cancel: CancelFn | None
) -> list[str | None]:
    """Fully decode every file in threads (PIL releases the GIL); None means readable."""
    total = len(paths)
    reasons: list[str | None] = [None] * total
    report = _Throttled(progress, total)
    report(0)
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[Future[str | None], int] = {
            pool.submit(_unreadable_reason, p): i for i, p in enumerate(paths)
        }
        pending, done_count = set(futures), 0
        while pending:
            # A timeout keeps cancel responsive while one huge image is still decoding.
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if cancel is not None and cancel():
                pool.shutdown(wait=True, cancel_futures=True)
                raise ScanCancelled("Scan cancelled")
            for fut in finished:
                reasons[futures[fut]] = fut.result()
            done_count += len(finished)
            report(done_count)
    return reasons


class _Throttled:
    """Calls progress(done, total) only when the whole percentage changes, and at the end."""

    def __init__(self, progress: ProgressFn | None, total: int) -> None:
        self._progress, self._total, self._last = progress, total, -1

    def __call__(self, done: int) -> None:
        if self._progress is None:
            return
        percent = 100 * done // self._total if self._total else 100
        if percent != self._last or done == self._total:
            self._last = percent
            self._progress(done, self._total)


def _check_not_empty(scan: DatasetScan, is_validation: bool) -> None:
    if is_validation:
        if not scan.samples:
            raise DatasetError(f"The validation folder '{scan.root}' has no readable images")
        return
    empty = [name for name, n in scan.counts().items() if n == 0]
    if len(empty) == 1:
        raise DatasetError(f"Class '{empty[0]}' has no readable images{_skip_hint(scan)}")
    if empty:
        listed = ", ".join(f"'{n}'" for n in empty)
        raise DatasetError(f"Classes {listed} have no readable images{_skip_hint(scan)}")


def _skip_hint(scan: DatasetScan) -> str:
    if not scan.skipped:
        return ""
    return f" ({len(scan.skipped)} file(s) in '{scan.root}' were skipped as unreadable)"


def stratified_split(
    scan: DatasetScan, val_fraction: float, seed: int
) -> tuple[DatasetScan, DatasetScan]:
    """Split `scan` into (train, val), per class, reproducibly for a given seed.

    Every class with at least two images gets at least one image on each side; a class
    with one image stays in train. Skipped files are kept on the train side only.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"Validation fraction must be between 0 and 1, got {val_fraction}")
    # Our own per-class shuffle rather than sklearn's train_test_split(stratify=...): sklearn
    # refuses classes with one image and can leave a small class out of val entirely, while
    # we promise one image on each side. Seeding each class by (seed, index) keeps a class's
    # split unchanged when another class gains or loses images.
    train: list[tuple[str, int]] = []
    val: list[tuple[str, int]] = []
    for label in range(len(scan.classes)):
        paths = [p for p, lab in scan.samples if lab == label]
        n_val = val_count(len(paths), val_fraction)
        order = np.random.default_rng([seed, label]).permutation(len(paths))
        val += [(paths[i], label) for i in sorted(order[:n_val])]
        train += [(paths[i], label) for i in sorted(order[n_val:])]
    if not val:
        raise DatasetError("Too few images to hold out a validation set: add images per class")
    return replace(scan, samples=tuple(train)), replace(scan, samples=tuple(val), skipped=())


def val_count(n: int, fraction: float) -> int:
    """Images of a class of `n` that validate: at least one when it has two, never all."""
    if n < 2:
        return 0
    return min(n - 1, max(1, round(n * fraction)))


UNLABELLED = "unlabelled"  # the one "class" of a folder scanned for its images alone


def scan_images(
    root: str | os.PathLike[str],
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> DatasetScan:
    """Every readable image under `root` (class subfolders or none), for unlabelled images
    such as a target domain's; each sample's label is 0, of the one class `UNLABELLED`."""
    root_path = Path(os.path.abspath(root))
    if not root_path.is_dir():
        raise DatasetError(f"Folder '{root_path}' does not exist or is not a folder")
    candidates, passed_over = find_files(str(root_path))  # the one walker: links, loops...
    reasons = _check_files(candidates, progress, cancel)
    samples = tuple((p, 0) for p, why in zip(candidates, reasons, strict=True) if why is None)
    skipped = tuple(passed_over) + tuple(
        SkippedFile(p, why) for p, why in zip(candidates, reasons, strict=True) if why)
    if not samples:  # say why the files there were passed over (the first few)
        why = "; ".join(f"'{s.path}': {s.reason}" for s in skipped[:3])
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        raise DatasetError(f"The folder '{root_path}' has no readable images"
                           + (f" ({why}{more})" if why else ""))
    return DatasetScan(str(root_path), (UNLABELLED,), samples, skipped)
