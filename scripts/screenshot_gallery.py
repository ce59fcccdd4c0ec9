"""Screenshots of the prediction gallery for the README, from the real window, offscreen.

    python scripts/screenshot_gallery.py [--out docs/screenshots] [--epochs 6]

Trains the demo digits on the bundled EfficientNet-Lite0 (head only) to the end, then writes
gallery.png (the Gallery tab, top losses first, the worst image opened) and saliency.png
(the same with its Grad-CAM overlay). Settings and runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=128)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    scratch = Path(tempfile.mkdtemp(prefix="tlstudio-screenshot-"))
    os.environ["TLSTUDIO_SETTINGS_DIR"] = str(scratch / "settings")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from tlstudio.gui import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1400, 860)
    window.settings_panel.runs_dir.setText(str(scratch / "runs"))
    window.show()
    gallery = window.gallery

    def start() -> None:
        window.settings_panel.epochs.setValue(args.epochs)
        window.settings_panel.image_size.setValue(args.image_size)
        window.settings_panel.batch_size.setValue(args.batch_size)
        window.freeze_panel.apply_preset("Head only")
        window.start_training()

    def save(name: str) -> None:
        window.grab().save(str(out / name))
        print(f"wrote {out / name}")

    grabbed = []

    def on_evaluated(run_dir: str, _evaluation) -> None:
        if window.controller.is_running() or grabbed:
            return  # an epoch's update while training; wait for the final one
        grabbed.append(run_dir)
        window.tabs.setCurrentWidget(gallery)
        gallery.set_sort("Top losses first")
        gallery.show_all()
        gallery.select_paths([gallery.shown_records()[0].path])
        QTimer.singleShot(1500, grab_gallery)  # thumbnails and the picture arrive meanwhile

    def grab_gallery() -> None:
        save("gallery.png")
        gallery.detail.saliencyShown.connect(lambda: QTimer.singleShot(300, grab_saliency))
        gallery.detail.saliency_toggle.setChecked(True)

    def grab_saliency() -> None:
        save("saliency.png")
        window.close()

    def on_failed(message: str) -> None:
        print(f"failed: {message}", file=sys.stderr)
        window.close()

    window.data_panel.scanned.connect(lambda _data: QTimer.singleShot(500, start))
    window.evaluations.evaluated.connect(on_evaluated)
    window.controller.failed.connect(on_failed)
    window.evaluations.failed.connect(on_failed)
    QTimer.singleShot(300, window.load_demo)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
