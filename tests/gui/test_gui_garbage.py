"""Qt objects that become cyclic garbage are destroyed in the GUI thread, even when the
training thread is the one allocating (Python's collector runs in whichever thread allocates;
a Qt object destroyed off the GUI thread can abort the process)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from tlstudio.gui.shared.gui_garbage import collect_garbage_in_gui_thread, stop_collecting


def _qt_garbage(destroyed_in: list[str]) -> None:
    obj = QObject()
    obj.itself = obj  # a reference cycle: only the cycle collector can free it
    obj.destroyed.connect(lambda *_: destroyed_in.append(threading.current_thread().name))


def _churn() -> None:
    """What a training thread does to the collector: allocate many container objects that
    live on, enough for Python to run full collections (gen 2) in this thread."""
    keep = []
    for i in range(600_000):
        keep.append([i])


def test_qt_garbage_is_destroyed_in_the_gui_thread_while_a_worker_allocates(qtbot):
    gc.enable()  # as a plain Python process starts
    collector = collect_garbage_in_gui_thread(interval_s=0.05)
    destroyed_in: list[str] = []
    try:
        _qt_garbage(destroyed_in)
        worker = threading.Thread(target=_churn, name="training")
        worker.start()
        worker.join()
        assert destroyed_in == []  # the worker's allocations did not collect it
        gui_work = [[i] for i in range(5_000)]  # the GUI thread's own allocations...
        qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5_000)  # ...let its timer collect
        del gui_work
        assert destroyed_in == [threading.main_thread().name]
    finally:
        stop_collecting(collector)
    assert gc.isenabled()
