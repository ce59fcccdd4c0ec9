"""The optional converters and runtimes of the `[deploy]` extra, imported only when asked for."""

from __future__ import annotations

import importlib
from types import ModuleType

from tlstudio.errors import ExportError, Remedy


def require(module: str, title: str) -> ModuleType:
    """`module`, or an ExportError saying that the deploy extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ExportError(
            f"Exporting to {title} needs the '{module.split('.')[0]}' package, which is not "
            f"installed ({e})", remedies=(Remedy.INSTALL_DEPLOY,)) from None
