"""The main window's menus and shortcuts, and the signal wiring between its panels: what
`MainWindow.__init__` calls once every part exists (kept apart so the window module only
assembles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QPushButton

from tlstudio.gui.help.help_menu import HelpMenu
from tlstudio.gui.window_parts import fill_runs_menu

if TYPE_CHECKING:
    from tlstudio.gui.main_window import MainWindow


def build_menus(window: MainWindow) -> None:
    """File and Help menus, and the Train/Stop keys, as the window's actions."""

    def action(text: str, slot, shortcut=None) -> QAction:
        act = QAction(text, window)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(slot)
        return act

    window.open_folder_action = action(
        "Open folder…", window.data_panel.train_folder.browse, QKeySequence("Ctrl+O")
    )
    window.open_action = action(
        "Open recipe…", window.open_recipe_dialog, QKeySequence("Ctrl+Shift+O")
    )
    window.save_action = action("Save recipe…", window.save_recipe_dialog, QKeySequence.Save)
    window.resume_action = action("Resume run…", window.resume_run_dialog)
    window.export_action = action("Export model…", window.export_dialog)
    window.export_action.setEnabled(False)
    window.open_run_action = action("Open run…", window.results_view.ask_open_run)
    quit_action = action("Quit", window.close, QKeySequence.Quit)
    menu = window.menuBar().addMenu("&File")
    for act in (
        window.open_folder_action,
        window.open_action,
        window.save_action,
        window.open_run_action,
        window.resume_action,
        window.export_action,
        window.compare.action,
    ):
        menu.addAction(act)
    window.runs_menu = menu.addMenu("Runs")
    window.runs_menu.setObjectName("runsMenu")
    window.runs_menu.setToolTipsVisible(True)
    window.runs_menu.aboutToShow.connect(window.runs_view.refresh)  # refills when listed
    menu.addSeparator()
    menu.addAction(quit_action)
    # Train and Stop act through their buttons, so a disabled button disables its key too.
    window.train_action = action("Train", click_through(window.start_button))
    window.train_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    window.stop_action = action("Stop", click_through(window.stop_button), QKeySequence("Esc"))
    window.addActions([window.train_action, window.stop_action])
    window.help_menu = HelpMenu(window)
    window.menuBar().addMenu(window.help_menu)


def click_through(button: QPushButton):
    """A slot that clicks `button` only while it is enabled (a key acts as its button)."""

    def click() -> None:
        if button.isEnabled():
            button.click()

    return click


def connect_parts(window: MainWindow) -> None:
    """Every signal between the window's panels, tabs and the training controller."""
    window.data_panel.scanStarted.connect(window.banner.dismiss)
    window.data_panel.scanned.connect(window._on_scanned)
    window.data_panel.scanned.connect(window.advanced_panel.show_scan)
    window.settings_panel.image_size.valueChanged.connect(
        window.advanced_panel.preview.set_image_size
    )
    window.data_panel.scanFailed.connect(window._on_scan_failed)
    window.data_panel.splitFound.connect(window.show_info)
    window.data_panel.splitChanged.connect(window.dataset_view.set_val_split)
    window.settings_panel.image_size.valueChanged.connect(window.dataset_view.set_image_size)
    window.data_panel.cleared.connect(window.dataset_view.show_empty)
    for signal in (
        window.data_panel.scanStarted,
        window.data_panel.scanFailed,
        window.data_panel.cleared,
    ):
        signal.connect(window._update_start_button)
    window.dataset_view.empty.chooseFolder.connect(window.data_panel.train_folder.browse)
    window.dataset_view.empty.tryDemo.connect(window.load_demo)
    window.backbone_panel.backboneChanged.connect(window._on_backbone_changed)
    window.backbone_panel.downloadFailed.connect(window.show_error)
    window.backbone_panel.weightsChanged.connect(window._update_start_button)
    window.backbone_panel.weights_file.replaced.connect(window.banner.dismiss_naming)
    window.start_button.clicked.connect(window.start_training)
    runs = window.run_buttons
    runs.runningChanged.connect(window._set_running)
    runs.started.connect(window._on_run_started)
    runs.started.connect(window.training_view.folds.on_run_started)
    runs.resumed.connect(window.apply_recipe)  # the sidebar shows what the resumed run trains
    runs.modelSaved.connect(window._use_run_model)
    runs.finished.connect(window._on_run_finished)
    runs.failed.connect(window.show_error)
    window.training_view.export_button.clicked.connect(window.export_dialog)
    card = window.training_view.result_card
    card.mistakesRequested.connect(window.show_mistakes)
    card.tryRequested.connect(lambda: window.tabs.setCurrentWidget(window.try_images))
    card.exportRequested.connect(window.export_dialog)
    window.controller.finished.connect(window._show_result)
    window.exporter.started.connect(window._on_export_started)
    window.exporter.exported.connect(window._on_exported)
    window.exporter.failed.connect(window.show_error)

    for signal in (
        window.settings_panel.epochs.valueChanged,
        window.settings_panel.lr.valueChanged,
        window.freeze_panel.changed,
        window.advanced_panel.changed,
    ):
        signal.connect(window.form.show_phase_plan)

    c, view = window.controller, window.training_view
    c.fitStarted.connect(view.on_fit_started)
    c.fitStarted.connect(window.advanced_panel.show_fit_started)
    c.fitStarted.connect(window.settings_panel.show_fit_started)
    c.phaseProgress.connect(view.on_phase)
    c.batchProgress.connect(view.on_batch)
    c.epochEnded.connect(view.on_epoch)
    c.foldEnded.connect(view.folds.on_fold)
    c.finished.connect(view.folds.on_finished)
    c.log.connect(view.append_log)
    c.fitStarted.connect(window.results_view.on_fit_started)
    c.epochEnded.connect(window.results_view.on_epoch)
    c.finished.connect(window.results_view.on_training_finished)
    window.results_view.cellActivated.connect(window.show_gallery_cell)
    window.results_view.runOpened.connect(window._on_run_opened)
    window.evaluations.follow(c)
    c.fitStarted.connect(window.gallery.on_training_started)
    c.finished.connect(window.gallery.on_training_finished)
    window.evaluations.evaluated.connect(window._show_evaluation)
    window.evaluations.failed.connect(window._show_evaluation_error)
    window.gallery.datasetChanged.connect(window.data_panel.rescan)
    window.current.changed.connect(window.try_images.follow_run)  # its model, when it has one
    runs.modelSaved.connect(window.try_images.set_run)
    connect_runs_view(window)
    window.current.changed.connect(window.shift_view.set_run)
    window.trainingFinished.connect(window.shift_view.set_run)  # its target folder, if any
    window.shift_view.failed.connect(window.show_error)
    window.shift_view.started.connect(window.banner.dismiss)


def connect_runs_view(window: MainWindow) -> None:
    """The Runs tab: opening a run, its messages, File > Runs, and following the runs folder."""
    view = window.runs_view
    view.openRequested.connect(window.results_view.open_run)
    view.failed.connect(window.show_error)
    view.info.connect(window.show_info)
    view.listed.connect(lambda: fill_runs_menu(window))
    window.current.changed.connect(view.set_current)
    window.settings_panel.runs_dir.textChanged.connect(view.set_runs_dir)
    view.set_runs_dir(window.settings_panel.runs_dir.text())
    window.run_buttons.runningChanged.connect(view.set_training)
    window.controller.fitStarted.connect(view.refresh_when_seen)  # its folder exists now
