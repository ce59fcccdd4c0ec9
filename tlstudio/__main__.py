"""``python -m tlstudio`` runs the command line."""

from tlstudio.cli import main

raise SystemExit(main())
