"""Screenshots of the real window for the README, made offscreen.

    python scripts/screenshot.py [--out docs/screenshots] [--epochs 8] [--grab-after 3]

Writes window-start.png (the first-run state) and window-training.png (the demo digits on the
bundled EfficientNet-Lite0, grabbed mid-training after a few epochs). Settings and runs go to
a temporary folder, so the user's own settings are neither used nor changed.
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
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--grab-after", type=int, default=12, help="epochs before the grab")
    parser.add_argument("--batch-size", type=int, default=16)
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
    window.settings_panel.runs_dir.setText(str(scratch / "runs"))
    window.show()

    def grab_start() -> None:
        window.grab().save(str(out / "window-start.png"))
        print(f"wrote {out / 'window-start.png'}")
        window.load_demo()

    def start() -> None:
        window.settings_panel.epochs.setValue(args.epochs)
        window.settings_panel.image_size.setValue(args.image_size)
        window.settings_panel.batch_size.setValue(args.batch_size)
        window.freeze_panel.apply_preset("Head only")
        window.start_training()

    def grab() -> None:
        window.grab().save(str(out / "window-training.png"))
        print(f"wrote {out / 'window-training.png'}")
        window.stop_training()

    def on_epoch(event) -> None:
        if event.epoch == args.grab_after:
            # Hold the run (the buttons still say it is training) and wait past the plots'
            # redraw throttle so the last epoch is drawn.
            window.controller.pause()
            QTimer.singleShot(400, grab)

    def on_failed(message: str) -> None:
        print(f"training failed: {message}", file=sys.stderr)

    window.data_panel.scanned.connect(lambda _data: QTimer.singleShot(1500, start))
    window.controller.epochEnded.connect(on_epoch)
    window.controller.failed.connect(on_failed)
    window.controller.finished.connect(lambda _result: window.close())
    QTimer.singleShot(500, grab_start)  # once the shown window has settled its layout
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
