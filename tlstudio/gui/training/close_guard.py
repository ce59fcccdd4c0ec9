"""Closing the window while a run trains: ask first, and say that the run can be resumed."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

CLOSE_QUESTION = ("A run is still training. Stop it and quit?\n\n"
                  "The epochs finished so far are kept: File > Resume run… continues the run "
                  "later from its last finished epoch.")


def ask_stop_and_quit(parent: QWidget) -> bool:
    """True when the user chooses to stop the run and quit; "Keep training" is the default."""
    box = QMessageBox(QMessageBox.Icon.Question, "Training is running", CLOSE_QUESTION,
                      parent=parent)
    box.setObjectName("closeWhileTraining")
    quit_button = box.addButton("Stop and quit", QMessageBox.ButtonRole.DestructiveRole)
    quit_button.setObjectName("stopAndQuitButton")
    keep = box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
    keep.setObjectName("keepTrainingButton")
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is quit_button
