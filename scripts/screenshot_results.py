"""Screenshot of the real window's Results tab for the README, made offscreen.

    python scripts/screenshot_results.py [--out docs/screenshots] [--epochs 4]

Trains the demo digits on the bundled EfficientNet-Lite0 (head only, so a few epochs leave
some confusions to look at) from the window itself; the Results tab follows the run, and when
it ends the window is grabbed to confusion-matrix.png. Settings and runs go to a temporary
folder, so the user's own settings are neither used nor changed.
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
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNG")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=96)
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
    results = window.results_view
    status = {"code": 1}

    def start() -> None:
        window.settings_panel.epochs.setValue(args.epochs)
        window.settings_panel.image_size.setValue(args.image_size)
        window.settings_panel.batch_size.setValue(args.batch_size)
        window.freeze_panel.apply_preset("Head only")
        window.start_training()

    def grab() -> None:
        path = out / "confusion-matrix.png"
        window.grab().save(str(path))
        print(f"wrote {path}: {results.summary.text()}")
        status["code"] = 0
        window.close()

    def show_results(result: object) -> None:
        if result is None:
            window.close()
            return
        window.tabs.setCurrentWidget(results)
        if results.is_busy():
            results.evaluationShown.connect(lambda _ev: QTimer.singleShot(300, grab))
        else:
            QTimer.singleShot(300, grab)

    def on_failed(message: str) -> None:
        print(f"training failed: {message}", file=sys.stderr)

    window.data_panel.scanned.connect(lambda _data: QTimer.singleShot(500, start))
    window.controller.failed.connect(on_failed)
    window.controller.finished.connect(show_results)
    QTimer.singleShot(300, window.load_demo)
    app.exec()
    return status["code"]


if __name__ == "__main__":
    raise SystemExit(main())
