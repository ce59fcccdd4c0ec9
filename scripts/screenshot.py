"""Screenshots of the real window for the README, made offscreen.

    python scripts/screenshot.py [window|results|gallery|advanced|all] [--out docs/screenshots]

- window:   window-start.png (first-run state), window-training.png (the demo digits on the
            bundled EfficientNet-Lite0, grabbed mid-training)
- results:  confusion-matrix.png (the Results tab after a short head-only run)
- gallery:  gallery.png and saliency.png (top losses first, the worst image opened, Grad-CAM)
- advanced: advanced.png (the Advanced section with its augmentation preview) and
            advanced-lr-finder.png (the LR finder's plot)
- beginner: beginner-*.png: the first start with no settings, the end-of-training card, every
            tab after a run, 1024x700, a dark palette; beginner-scale150.png and
            beginner-scale150-results.png at 150 % scale (QT_SCALE_FACTOR=1.5, its own process)
- compare:  compare-strategies.png (Compare strategies… on the demo digits: the bundled
            backbone at 64 px, five strategies, 2 folds, the winner marked)
- shift:    domain-shift.png (the Domain shift tab: the demo run against a darker, blue-cast,
            blurred copy of its validation digits, one target dot clicked);
            TLSTUDIO_SHOT_VARIANT=dark gives domain-shift-dark.png on a dark palette
- runs:     runs-compare.png (the Runs tab comparing head-only, full fine-tuning and random
            weights on the demo digits) and runs-compare-dark.png (a dark palette)
- all:      each of the above, one process each

Under a real X server too: `Xvfb :99 -screen 0 1600x1000x24 & openbox &` then
`DISPLAY=:99 QT_QPA_PLATFORM=xcb python scripts/screenshot.py beginner`.

Settings and runs go to a temporary folder, so the user's own settings are neither used nor
changed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHOTS = ("window", "results", "gallery", "advanced", "beginner", "compare", "shift", "runs")


class Session:
    """One offscreen MainWindow with scratch settings, and helpers the shots share."""

    def __init__(self, out: Path, size: tuple[int, int] = (1280, 800),
                 dark: bool = False) -> None:
        self.out = out
        self.scratch = Path(tempfile.mkdtemp(prefix="tlstudio-screenshot-"))
        os.environ["TLSTUDIO_SETTINGS_DIR"] = str(self.scratch / "settings")
        from PySide6.QtWidgets import QApplication

        from tlstudio.gui import MainWindow
        from tlstudio.gui.shared.gui_garbage import collect_garbage_in_gui_thread

        self.app = QApplication(sys.argv[:1])
        self.collector = collect_garbage_in_gui_thread()  # as the app does (run_app)
        if dark:
            self.app.setPalette(dark_palette())
        self.window = MainWindow()
        self.window.resize(*size)
        self.window.settings_panel.runs_dir.setText(str(self.scratch / "runs"))
        self.window.show()
        self.code = 1
        self.window.controller.failed.connect(self.fail)
        sys.excepthook = self._exception  # an error in a slot ends the shot instead of hanging

    def _exception(self, kind, value, tb) -> None:
        import traceback

        traceback.print_exception(kind, value, tb)
        self.fail(f"{kind.__name__}: {value}")

    def train_demo(self, epochs: int, image_size: int, batch_size: int) -> None:
        """Once the demo digits are scanned, train the head for ``epochs`` from the window."""
        w = self.window

        def start() -> None:
            w.settings_panel.epochs.setValue(epochs)
            w.settings_panel.image_size.setValue(image_size)
            w.settings_panel.batch_size.setValue(batch_size)
            w.freeze_panel.apply_preset("Head only")
            w.start_training()

        def load() -> None:  # a demo that cannot load ends the shot instead of hanging
            if not w.load_demo():
                self.fail(w.banner.label.text())

        w.data_panel.scanned.connect(lambda _data: self.later(500, start))
        self.later(300, load)

    def save(self, name: str) -> None:
        path = self.out / name
        self.window.grab().save(str(path))
        print(f"wrote {path}")
        self.code = 0

    def later(self, ms: int, slot) -> None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(ms, slot)

    def fail(self, message: str) -> None:
        print(f"failed: {message}", file=sys.stderr)
        self.code = 1
        self.window.close()

    def run(self) -> int:
        self.app.exec()
        return self.code


def shoot_window(s: Session, grab_after: int = 12) -> None:
    w = s.window

    def grab_start() -> None:
        s.save("window-start.png")
        s.train_demo(epochs=30, image_size=128, batch_size=16)

    def on_epoch(event) -> None:
        if event.epoch == grab_after:
            # Hold the run (the buttons still say it is training) and wait past the plots'
            # redraw throttle so the last epoch is drawn.
            w.controller.pause()
            s.later(400, grab_training)

    def grab_training() -> None:
        s.save("window-training.png")
        w.stop_button.click()

    w.controller.epochEnded.connect(on_epoch)
    w.controller.finished.connect(lambda _result: w.close())
    s.later(500, grab_start)  # once the shown window has settled its layout


def shoot_results(s: Session) -> None:
    w, results = s.window, s.window.results_view

    def grab() -> None:
        s.save("confusion-matrix.png")
        print(f"  {results.summary.text()}")
        w.close()

    def show_results(result: object) -> None:
        if result is None:
            s.fail("the run ended without a result")
            return
        w.tabs.setCurrentWidget(results)
        if results.is_busy():
            results.evaluationShown.connect(lambda _ev: s.later(300, grab))
        else:
            s.later(300, grab)

    w.controller.finished.connect(show_results)
    s.train_demo(epochs=4, image_size=96, batch_size=32)


def shoot_gallery(s: Session) -> None:
    w, gallery = s.window, s.window.gallery
    grabbed: list[str] = []

    def on_evaluated(run_dir: str, _evaluation) -> None:
        if w.controller.is_running() or grabbed:
            return  # an epoch's update while training; wait for the final one
        grabbed.append(run_dir)
        w.tabs.setCurrentWidget(gallery)
        gallery.set_sort("Top losses first")
        gallery.show_all()
        gallery.select_paths([gallery.shown_records()[0].path])
        s.later(1500, grab_gallery)  # thumbnails and the picture arrive meanwhile

    def grab_gallery() -> None:
        s.save("gallery.png")
        gallery.detail.saliencyShown.connect(lambda: s.later(300, grab_saliency))
        gallery.detail.saliency_toggle.setChecked(True)

    def grab_saliency() -> None:
        s.save("saliency.png")
        w.close()

    w.evaluations.evaluated.connect(on_evaluated)
    w.evaluations.failed.connect(s.fail)
    s.train_demo(epochs=12, image_size=128, batch_size=32)


def shoot_advanced(s: Session) -> None:
    from PySide6.QtWidgets import QScrollArea

    from tlstudio.data import write_digits_demo

    w, panel = s.window, s.window.advanced_panel
    scroll = w.findChild(QScrollArea, "stepsScroll")

    def previewed(_n: int) -> None:
        panel.preview.previewReady.disconnect(previewed)
        scroll.verticalScrollBar().setValue(w.advanced_section.y() - 8)
        s.later(300, save_preview)

    def save_preview() -> None:
        s.save("advanced.png")
        w.lr_finder.finished.connect(lambda _r: grab_lr_finder())
        w.lr_finder.start(steps=80)

    def grab_lr_finder() -> None:  # once the plot, shown just now, has its place in the layout
        s.later(300, lambda: scroll.ensureWidgetVisible(w.lr_finder, 0, 8))
        s.later(600, save_lr_finder)

    def save_lr_finder() -> None:
        s.save("advanced-lr-finder.png")
        w.close()

    root = write_digits_demo(s.scratch / "demo", per_class=6, size=64)
    w.backbone_panel.set_backbone("tf_efficientnet_lite0")  # the bundled weights
    w.settings_panel.image_size.setValue(96)
    w.settings_panel.batch_size.setValue(16)
    w.form.show_all.setChecked(True)  # the Advanced section sits behind "Show all settings"
    w.advanced_section.set_open(True)
    panel.augment.setCurrentIndex(panel.augment.findData("strong"))
    panel.preview.previewReady.connect(previewed)
    w.data_panel.set_folders(str(root / "train"), str(root / "val"))


def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    dark = QPalette()
    for role, colour in (("Window", "#2b2b2b"), ("WindowText", "#e8e8e8"), ("Base", "#1e1e1e"),
                         ("AlternateBase", "#333333"), ("Text", "#e8e8e8"),
                         ("Button", "#3a3a3a"), ("ButtonText", "#e8e8e8"),
                         ("PlaceholderText", "#9a9a9a"), ("ToolTipBase", "#333333"),
                         ("ToolTipText", "#e8e8e8"), ("Highlight", "#2f6fb0")):
        dark.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    for role in ("ButtonText", "WindowText", "Text"):
        dark.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role),
                      QColor("#777777"))
    return dark


def shoot_beginner(s: Session) -> None:
    """First start, the result card, every tab after a run, 1024x700; then a dark window."""
    w = s.window
    tabs = [("data", w.dataset_view), ("training", w.training_view),
            ("results", w.results_view), ("gallery", w.gallery),
            ("try-images", w.try_images), ("domain-shift", w.shift_view),
            ("runs", w.runs_view)]

    def first_start() -> None:
        s.save("beginner-first-start.png")
        s.train_demo(epochs=3, image_size=64, batch_size=32)

    def finished(result) -> None:
        if result is None:
            s.fail("the run ended without a result")
            return
        s.later(2500, card)  # the evaluation and the gallery's thumbnails arrive meanwhile

    def card() -> None:
        w.tabs.setCurrentWidget(w.training_view)
        s.save("beginner-result-card.png")
        for i, (name, tab) in enumerate(tabs):
            s.later(700 * i + 400, lambda n=name, t=tab: (w.tabs.setCurrentWidget(t),
                                                           s.later(300, lambda: s.save(
                                                               f"beginner-tab-{n}.png"))))
        s.later(700 * len(tabs) + 600, small)

    def small() -> None:
        w.tabs.setCurrentWidget(w.results_view)
        w.resize(1024, 700)
        s.later(600, lambda: (s.save("beginner-1024x700.png"), w.close()))

    w.controller.finished.connect(finished)
    s.later(500, first_start)


def shoot_scaled(s: Session) -> None:
    """The first start at 150 % (QT_SCALE_FACTOR=1.5), then the Results tab after a run."""
    from tlstudio.gui.window_parts import keep_on_screen

    w = s.window
    keep_on_screen(w)  # as a restored window is

    def results(_result) -> None:
        w.tabs.setCurrentWidget(w.results_view)
        s.later(2500, lambda: (s.save("beginner-scale150-results.png"), w.close()))

    def first_start() -> None:
        s.save("beginner-scale150.png")
        w.controller.finished.connect(results)
        s.train_demo(epochs=1, image_size=64, batch_size=32)

    s.later(800, first_start)


def shoot_dark(s: Session) -> None:
    """A dark palette (set before the window, as a desktop theme is) after a short run, with
    an error message showing."""
    w = s.window

    def finished(_result) -> None:
        w.show_error("An example error on a dark palette: the message stays readable.")
        s.later(2500, lambda: (s.save("beginner-dark.png"), w.close()))

    w.controller.finished.connect(finished)
    s.train_demo(epochs=2, image_size=64, batch_size=32)


def shoot_compare(s: Session) -> None:
    """The strategy table after a real comparison, grabbed from its dialog."""
    from PySide6.QtWidgets import QCheckBox

    w = s.window
    strategies = ("logreg", "knn", "head", "last-stage", "scratch")

    def start(_data) -> None:
        if w.compare.dialog is not None:  # a rescan: the comparison has begun already
            return
        w.settings_panel.epochs.setValue(2)
        w.settings_panel.image_size.setValue(64)
        w.settings_panel.batch_size.setValue(32)
        dialog = w.compare.open_dialog()
        for box in dialog.findChildren(QCheckBox):
            if box.objectName().startswith("strategy-"):
                box.setChecked(box.text() in strategies)
        dialog.options.folds.setValue(2)
        dialog.comparisonFinished.connect(lambda result: s.later(400, lambda: grab(result)))
        if not dialog.run():
            s.fail(dialog.message.text())

    def grab(result) -> None:
        if result is None:
            s.fail(w.compare.dialog.message.text())
            return
        path = s.out / "compare-strategies.png"
        w.compare.dialog.grab().save(str(path))
        print(f"wrote {path}")
        for line in result.lines:
            print(f"  {line}")
        s.code = 0
        w.close()

    w.data_panel.scanned.connect(start)
    s.later(300, w.load_demo)


def night_copy(source: Path, target: Path) -> Path:
    """The images under `source`, darker, blue-cast and blurred: another camera at night."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*.png")):
        with Image.open(path) as image:
            blurred = image.convert("RGB").filter(ImageFilter.GaussianBlur(1.2))
        pixels = np.asarray(blurred, dtype=np.float32) * 0.45 * np.array([0.6, 0.8, 1.5])
        pixels += rng.normal(0, 8, pixels.shape)
        name = f"{path.parent.name}-{path.name}"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target / name)
    return target


def shoot_shift(s: Session) -> None:
    """The Domain shift tab after a short demo run, measured on a night copy of its digits,
    with a target dot clicked."""
    import numpy as np

    w = s.window
    view = w.shift_view
    name = "domain-shift-dark.png" if os.environ.get("TLSTUDIO_SHOT_VARIANT") == "dark" else (
        "domain-shift.png")

    def finished(_result) -> None:
        night = night_copy(Path(w.data_panel.val_dir() or w.data_panel.train_dir()),
                           s.scratch / "night")
        w.tabs.setCurrentWidget(view)
        view.target.set_path(str(night))
        view.measure_button.click()

    def measured(shift) -> None:
        targets = [i for i, p in enumerate(shift.points) if p.domain == "target"]
        xy = np.array([(shift.points[i].x, shift.points[i].y) for i in targets])
        view.show_point(targets[int(np.argmax(xy[:, 0] * np.sign(xy[:, 0].mean())))])
        s.later(1500, lambda: (s.save(name), w.close()))

    w.controller.finished.connect(finished)
    view.measured.connect(measured)
    view.failed.connect(s.fail)
    s.train_demo(epochs=3, image_size=96, batch_size=32)


def train_compared_runs(runs: Path, demo: Path) -> None:
    """Three runs a user compares: the new head alone, every layer, and random weights."""
    from tlstudio.data import write_digits_demo
    from tlstudio.recipe import Recipe
    from tlstudio.training import fit

    root = write_digits_demo(demo, per_class=20)  # small: full fine-tuning runs on a CPU
    common = dict(data_dir=str(root / "train"), val_dir=str(root / "val"), epochs=6,
                  backbone="tf_efficientnet_lite0", image_size=64, batch_size=16)
    for name, changes in (("head-only", {}), ("full-fine-tune", dict(freeze="none", lr=3e-4)),
                          ("random-weights", dict(freeze="none", pretrained=False))):
        fit(Recipe(out_dir=str(runs / name), **common, **changes))
        print(f"trained {name}")


def shoot_runs(s: Session, name: str = "runs-compare.png") -> None:
    """The Runs tab with three runs selected and compared (the runs trained once, before both
    palettes' processes: TLSTUDIO_SHOT_RUNS)."""
    from PySide6.QtCore import QItemSelectionModel

    w, view = s.window, s.window.runs_view
    w.settings_panel.runs_dir.setText(os.environ["TLSTUDIO_SHOT_RUNS"])

    def listed() -> None:
        view.listed.disconnect(listed)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(view.model.rowCount()):
            view.table.selectionModel().select(view.model.index(row, 0), flags)
        view.compared.connect(lambda _c: s.later(500, grab))
        view.compare_button.click()

    def grab() -> None:
        s.save(name)
        w.close()

    view.listed.connect(listed)
    s.later(300, lambda: w.tabs.setCurrentWidget(view))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shot", nargs="?", default="all", choices=(*SHOTS, "all"))
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.shot == "all":  # one QApplication per process: each shot in its own
        codes = [subprocess.call([sys.executable, __file__, shot, "--out", str(out)])
                 for shot in SHOTS]
        return max(codes)
    variant = os.environ.get("TLSTUDIO_SHOT_VARIANT", "")
    if args.shot == "beginner" and not variant:  # 150 % and dark: each in its own process
        for name, extra in (("scaled", {"QT_SCALE_FACTOR": "1.5"}), ("dark", {})):
            code = subprocess.call([sys.executable, __file__, "beginner", "--out", str(out)],
                                   env={**os.environ, **extra, "TLSTUDIO_SHOT_VARIANT": name})
            if code:
                return code
    if args.shot == "runs" and not variant:  # the dark palette in its own process
        if "TLSTUDIO_SHOT_RUNS" not in os.environ:
            scratch = Path(tempfile.mkdtemp(prefix="tlstudio-screenshot-runs-"))
            train_compared_runs(scratch / "runs", scratch / "demo")
            os.environ["TLSTUDIO_SHOT_RUNS"] = str(scratch / "runs")
        code = subprocess.call([sys.executable, __file__, "runs", "--out", str(out)],
                               env={**os.environ, "TLSTUDIO_SHOT_VARIANT": "dark"})
        if code:
            return code
    size = {"gallery": (1400, 860), "advanced": (1280, 900),
            "runs": (1400, 900)}.get(args.shot, (1280, 800))
    scaled = args.shot == "beginner" and variant == "scaled"
    session = Session(out, (1100, 700) if scaled else size, dark=variant == "dark")
    beginner = {"scaled": shoot_scaled, "dark": shoot_dark}.get(variant, shoot_beginner)
    runs = (lambda s: shoot_runs(s, "runs-compare-dark.png")) if variant == "dark" else shoot_runs
    {"window": shoot_window, "results": shoot_results, "gallery": shoot_gallery,
     "advanced": shoot_advanced, "beginner": beginner, "compare": shoot_compare,
     "shift": shoot_shift, "runs": runs}[args.shot](session)
    return session.run()


if __name__ == "__main__":
    raise SystemExit(main())
