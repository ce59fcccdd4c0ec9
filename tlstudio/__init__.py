"""tlstudio: transfer learning on image folders, from a window or the command line."""

__version__ = "0.1.0"
