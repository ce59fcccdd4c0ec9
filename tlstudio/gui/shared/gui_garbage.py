"""Python's cycle collector runs in whichever thread happens to allocate, the training thread
included; a Qt object it frees there is destroyed off the GUI thread and Qt can abort
("pure virtual method called"). While the window runs, collection happens on a GUI-thread
timer instead (pyqtgraph's GarbageCollector, the known remedy).
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector


def collect_garbage_in_gui_thread(interval_s: float = 1.0) -> GarbageCollector:
    """Disable automatic collection and collect from a timer in the calling (GUI) thread.
    Keep the returned object alive; `stop_collecting` gives collection back to Python."""
    return GarbageCollector(interval=interval_s)


def stop_collecting(collector: GarbageCollector) -> None:
    collector.timer.stop()
    gc.collect()
    gc.enable()
