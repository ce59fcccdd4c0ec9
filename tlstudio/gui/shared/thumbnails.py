"""Gallery thumbnails: decoded off the GUI thread on request, kept in a bounded LRU cache.

Views ask for a thumbnail only when they paint a row, so only visible rows are decoded;
until it arrives they draw a placeholder and repaint on `ready`.
"""

from __future__ import annotations

from collections import OrderedDict

from PIL import Image, UnidentifiedImageError
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from tlstudio.gui.shared.background import BackgroundJob, TaskState

THUMB_PX = 96  # the longer side of a gallery thumbnail
CACHE_SIZE = 1500  # thumbnails kept (~55 MB at 96 px), several screens of any gallery
BATCH = 12  # thumbnails decoded per background job: fewer signals, still a quick first paint
MAX_JOBS = 2  # jobs in flight; newer requests wait so a fast scroll does not pile up work
MAX_PENDING = 400  # requests kept waiting; older ones (rows scrolled past) are dropped


def thumbnail_image(path: str, size: int = THUMB_PX) -> QImage | None:
    """A QImage of at most `size` px a side, or None if the file cannot be read.

    QImage (unlike QPixmap) may be made in any thread.
    """
    try:
        with Image.open(path) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            image.thumbnail((size, size))
            rgb = image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None
    return to_qimage(rgb)


def to_qimage(image: Image.Image) -> QImage:
    """An RGB QImage owning a copy of the PIL image's pixels."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width,
                  QImage.Format.Format_RGB888).copy()  # own the pixels, not `data`'s


def thumbnail_job(state: TaskState, paths: list[str], size: int) -> None:
    """Yield (path, QImage or None) for each path, stopping early when cancelled."""
    for path in paths:
        if state.cancelled():
            return
        state.yield_((path, thumbnail_image(path, size)))


class ThumbnailLoader(QObject):
    """Thumbnails by path: `pixmap()` answers from the cache or queues a background decode;
    `ready(path)` says when a queued one has arrived (also for unreadable files)."""

    ready = Signal(str)

    def __init__(self, parent: QObject | None = None, size: int = THUMB_PX,
                 capacity: int = CACHE_SIZE) -> None:
        super().__init__(parent)
        self.size, self.capacity = size, capacity
        self._cache: OrderedDict[str, QPixmap | None] = OrderedDict()
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lanes = [BackgroundJob(self) for _ in range(MAX_JOBS)]  # one batch in each
        for lane in self._lanes:
            lane.yielded.connect(self._on_thumbnail)
            lane.finished.connect(self._dispatch)
        self.decoded = 0  # thumbnails made so far (benchmarks)

    def cached(self, path: str) -> bool:
        return path in self._cache

    def pixmap(self, path: str) -> QPixmap | None:
        """The cached thumbnail (a null QPixmap if unreadable), or None and a request."""
        if path in self._cache:
            self._cache.move_to_end(path)
            pixmap = self._cache[path]
            return QPixmap() if pixmap is None else pixmap
        self.request(path)
        return None

    def request(self, path: str) -> None:
        if path in self._in_flight:
            return
        self._pending[path] = None
        self._pending.move_to_end(path)  # the latest asked is the one on screen now
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        self._dispatch()

    def busy(self) -> bool:
        """Thumbnails are queued or being decoded."""
        return bool(self._pending) or any(lane.is_running() for lane in self._lanes)

    def cancel(self) -> None:
        """Drop every request: cancelled batches leave their paths to be asked for again."""
        self._pending.clear()
        for lane in self._lanes:
            lane.cancel()
        self._in_flight.clear()

    def _dispatch(self) -> None:
        for lane in self._lanes:
            if not self._pending:
                return
            if lane.is_running():
                continue
            batch = []
            while self._pending and len(batch) < BATCH:
                batch.append(self._pending.popitem(last=True)[0])
            self._in_flight.update(batch)
            lane.start(thumbnail_job, batch, self.size)

    def _on_thumbnail(self, item: tuple[str, QImage | None]) -> None:
        path, image = item
        self._in_flight.discard(path)
        self._cache[path] = None if image is None else QPixmap.fromImage(image)
        self._cache.move_to_end(path)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.decoded += 1
        self.ready.emit(path)
