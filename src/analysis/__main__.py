"""``python -m analysis`` runs the command line."""

from analysis.cli import main

raise SystemExit(main())
