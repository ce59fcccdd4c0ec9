"""Screenshot of the real window with the Advanced section open and its augmentation preview.

    python scripts/screenshot_advanced.py [--out docs/screenshots]

Writes advanced.png: the demo digits scanned, the "strong" preset, the preview grid filled;
with --lr-find also advanced-lr-finder.png: the section's end with the LR finder's plot.
Settings go to a temporary folder.
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
    parser.add_argument("--lr-find", action="store_true", help="also run the LR finder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="tlstudio-screenshot-"))
    os.environ["TLSTUDIO_SETTINGS_DIR"] = str(scratch / "settings")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QScrollArea

    from tlstudio.data import write_digits_demo
    from tlstudio.gui import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1280, 900)
    window.settings_panel.runs_dir.setText(str(scratch / "runs"))
    window.show()
    panel = window.advanced_panel
    scroll = window.findChild(QScrollArea, "stepsScroll")

    def grab_preview() -> None:
        scroll.verticalScrollBar().setValue(window.advanced_section.y() - 8)
        QTimer.singleShot(300, save_preview)

    def save_preview() -> None:
        window.grab().save(str(out / "advanced.png"))
        print(f"wrote {out / 'advanced.png'}")
        if args.lr_find and window.lr_finder.find_button.isEnabled():
            window.lr_finder.finished.connect(lambda _r: grab_rest())
            window.lr_finder.start(steps=80)
        else:
            window.close()

    def grab_rest() -> None:  # once the plot, shown just now, has its place in the layout
        QTimer.singleShot(300, lambda: scroll.ensureWidgetVisible(window.lr_finder, 0, 8))
        QTimer.singleShot(600, save_rest)

    def save_rest() -> None:
        window.grab().save(str(out / "advanced-lr-finder.png"))
        print(f"wrote {out / 'advanced-lr-finder.png'}")
        window.close()

    def previewed(_n: int) -> None:
        panel.preview.previewReady.disconnect(previewed)
        grab_preview()

    root = write_digits_demo(scratch / "demo", per_class=6, size=64)
    window.backbone_panel.set_backbone("tf_efficientnet_lite0")  # the bundled weights
    window.settings_panel.image_size.setValue(96)
    window.settings_panel.batch_size.setValue(16)
    window.advanced_section.set_open(True)
    panel.augment.setCurrentIndex(panel.augment.findData("strong"))
    panel.preview.previewReady.connect(previewed)
    window.data_panel.set_folders(str(root / "train"), str(root / "val"))
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
