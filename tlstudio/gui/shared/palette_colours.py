"""Colours derived from the window's palette, so that a dark palette keeps text readable
(hard-coded light backgrounds gave white text on white)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class MessageColours:
    """A message box's colours for one kind ("error", "warning" or "info") on one palette."""

    text: str
    background: str
    border: str

    def style(self, padding: int = 0) -> str:
        pad = f" padding:{padding}px;" if padding else ""
        return (f"color:{self.text}; background:{self.background}; "
                f"border:1px solid {self.border};{pad}")


LIGHT = {"error": MessageColours("#8c1d18", "#fdecea", "#f5c2c0"),
         "warning": MessageColours("#6b4500", "#fff4e0", "#f0d09a"),
         "info": MessageColours("#1e5b2a", "#e8f3ea", "#b7dcbf")}
DARK = {"error": MessageColours("#ffdad6", "#5c1d19", "#8c3a33"),
        "warning": MessageColours("#ffe2b8", "#4a3410", "#7a5a20"),
        "info": MessageColours("#cdebd3", "#1d3b24", "#3d6b48")}


def palette() -> QPalette:
    app = QApplication.instance()
    return app.palette() if app is not None else QPalette()


def is_dark(pal: QPalette | None = None) -> bool:
    """True when the window's background is dark (its text is light)."""
    return (pal or palette()).color(QPalette.ColorRole.Window).lightnessF() < 0.5


def message_colours(kind: str, pal: QPalette | None = None) -> MessageColours:
    return (DARK if is_dark(pal) else LIGHT)[kind]


def text_colour(pal: QPalette | None = None) -> QColor:
    return (pal or palette()).color(QPalette.ColorRole.Text)


def base_colour(pal: QPalette | None = None) -> QColor:
    """The background of plots and tables: the palette's base (white on a light palette)."""
    return (pal or palette()).color(QPalette.ColorRole.Base)


def _mix(start: QColor, end: QColor, share: float) -> QColor:
    """`start` moved `share` of the way towards `end`."""
    return QColor.fromRgbF(start.redF() + (end.redF() - start.redF()) * share,
                           start.greenF() + (end.greenF() - start.greenF()) * share,
                           start.blueF() + (end.blueF() - start.blueF()) * share)


def summary_background(pal: QPalette | None = None) -> QColor:
    """A summary row's background: the base shifted a little towards the text colour."""
    return _mix(base_colour(pal), text_colour(pal), 0.08)


def dimmed_text(pal: QPalette | None = None) -> QColor:
    """Text that steps back (a stopped run) yet stays readable (about 7:1 on white): the text
    colour a third of the way towards the base. Disabled text was too faint to read."""
    return _mix(text_colour(pal), base_colour(pal), 0.35)


def note_style(kind: str, pal: QPalette | None = None) -> str:
    """A line of text on the window in a kind's colour ("warning", "info", "error"),
    readable on a dark palette as on a light one."""
    return f"color:{message_colours(kind, pal).text};"


def muted_text(pal: QPalette | None = None) -> str:
    """Secondary text (notes, axes, time stamps): the text colour 40 % of the way to the base,
    grey on either palette (a theme's placeholder colour may be left black on a dark one)."""
    return _mix(base_colour(pal), text_colour(pal), 0.6).name()


# Two series told apart on either palette (training vs new images): the usual blue and orange
# on light backgrounds, lighter tints of them on dark ones, where the saturated ones sink.
SERIES_LIGHT = {"source": "#1f77b4", "target": "#e8710a"}
SERIES_DARK = {"source": "#74b9f0", "target": "#ffae57"}


def domain_colours(pal: QPalette | None = None) -> dict[str, str]:
    """The colours of the training ("source") and the new ("target") images in charts."""
    return dict(SERIES_DARK if is_dark(pal) else SERIES_LIGHT)


# One colour per compared run, each at least 3:1 against the plot's background (WCAG's rule for
# graphics): tab10's hues, darkened where they were paler on white; lighter tints on dark ones.
RUN_COLOURS_LIGHT = ("#1f77b4", "#d95f02", "#228b22", "#d62728", "#9467bd", "#8c564b",
                     "#c2409a", "#707070", "#8a8a00", "#0e8a96")
RUN_COLOURS_DARK = ("#6fb1ea", "#ffae5c", "#6fd46f", "#ff7b7b", "#c3a3ea", "#d1a394",
                    "#f5a8dc", "#c4c4c4", "#e0e065", "#5fe0f0")


def series_colour(index: int, pal: QPalette | None = None) -> str:
    """The colour of the `index`-th curve of a comparison, readable on this palette."""
    colours = RUN_COLOURS_DARK if is_dark(pal) else RUN_COLOURS_LIGHT
    return colours[index % len(colours)]
