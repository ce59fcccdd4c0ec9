"""The window's "Compare strategies": the dialog, its live table and the winner's actions."""
