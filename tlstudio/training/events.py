"""What the engine reports while it trains: small frozen values, plain floats and strings.

Subscribers (the CLI's progress bar, the window's worker, later callbacks) receive these;
none of them holds a tensor, so they cross threads safely.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tlstudio.errors import Remedy


@dataclass(frozen=True)
class FitStarted:
    run_dir: str
    classes: tuple[str, ...]
    epochs: int
    batches_per_epoch: int
    train_images: int
    val_images: int
    skipped_files: int
    device: str
    image_size: int
    trainable_params: int
    total_params: int
    feature_cache: bool  # True: backbone features are computed once, epochs train the head
    precision: str = "fp32"  # PrecisionPlan.describe(): "bf16 autocast, channels_last"
    history: tuple[EpochEnded, ...] = ()  # a resumed run's finished epochs, for its curves


@dataclass(frozen=True)
class PhaseProgress:
    """Work before or between epochs: 'scanning', 'downloading weights', 'extracting features'."""

    phase: str
    done: int
    total: int


@dataclass(frozen=True)
class BatchEnded:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches: int
    loss: float
    lr: float
    images: int  # images in this batch
    seconds: float  # time since the epoch began
    gpu_memory_mb: float = 0.0  # GPU memory PyTorch holds on the run's device (0 off CUDA)


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None  # None: trained on all images, nothing held out (all_data)
    val_accuracy: float | None
    lr: float
    seconds: float
    # validation accuracy of each class, in class order (None: no validation image of it)
    per_class_accuracy: tuple[float | None, ...] = ()
    # accuracy on the labelled target images of domain adaptation (None: no such folder)
    target_accuracy: float | None = None

    def target_text(self) -> str:
        """', target accuracy 87.5%' for an epoch line; '' without labelled target images."""
        if self.target_accuracy is None:
            return ""
        return f", target accuracy {self.target_accuracy:.1%}"

    def val_text(self) -> str:
        """'val loss 0.1234, val accuracy 87.5%', or why there is none (all images trained)."""
        if self.val_accuracy is None:
            return "trained on all images: no validation accuracy"
        return f"val loss {self.val_loss:.4f}, val accuracy {self.val_accuracy:.1%}"

    def to_dict(self) -> dict[str, float | list[float | None]]:
        target = {} if self.target_accuracy is None else {"target_accuracy": self.target_accuracy}
        return {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "train_accuracy": self.train_accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "lr": self.lr,
            "seconds": self.seconds,
            "per_class_accuracy": list(self.per_class_accuracy),
            **target,
        }


@dataclass(frozen=True)
class LogMessage:
    text: str
    level: str = "info"  # "info" or "warning"
    remedies: tuple[Remedy, ...] = ()  # what the user can do; each front-end words them


@dataclass(frozen=True)
class FitEnded:
    run_dir: str
    stopped: bool  # the user stopped it before the last epoch
    epochs_completed: int
    val_accuracy: float | None  # after the last completed epoch


@dataclass(frozen=True)
class FoldEnded:
    """One cross-validation fold trained and scored on its held-out images (a live table's row)."""

    fold: int  # 1-based
    folds: int
    run_dir: str  # the fold's own run
    accuracy: float  # on the held-out images, by the fold's saved model
    macro_f1: float
    seconds: float  # the fold's training time
    strategy: str = ""  # set by a comparison: the strategy and backbone this fold belongs to
    backbone: str = ""


Event = (FitStarted | PhaseProgress | BatchEnded | EpochEnded | LogMessage | FitEnded
         | FoldEnded)
Callback = Callable[[Event], None]


class RunControl:
    """Stop and pause flags that another thread sets; the engine checks them between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run wakes up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self) -> None:
        while not self._running.wait(timeout=0.1):
            pass


class StopSignal(Protocol):
    """What the batch loop checks between batches: a RunControl, or the TrainingLoop."""

    @property
    def stopped(self) -> bool: ...

    def wait_if_paused(self) -> None: ...


def per_class_line(classes: Sequence[str], accuracy: Sequence[float | None], most: int = 10) -> str:
    """Validation accuracy by class, the weakest first, at most `most` of them (for logs)."""
    scored = sorted((acc, name) for name, acc in zip(classes, accuracy, strict=False)
                    if acc is not None)
    text = ", ".join(f"{name} {acc:.0%}" for acc, name in scored[:most])
    return text + (f" (weakest {most} of {len(scored)})" if len(scored) > most else "")
