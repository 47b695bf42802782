"""What a run folder is: its log and index, and whether the run finished and succeeded.

One place for the names and checks the runner, its ``--compare-to`` and the
review of the previous run share.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FINISHED_OK", "INDEX", "LATEST", "RUN_LOG", "finished", "finished_ok"]

LATEST = "latest"  # the symlink to the last successful run
INDEX = "index.html"  # a finished run's index page
RUN_LOG = "run.log"  # a run's log; its last line says how it finished
FINISHED_OK = "finished: ok"  # in the log of a run whose every notebook succeeded


def finished(folder: Path) -> bool:
    """Whether ``folder`` holds a run that finished (its log and its index are written)."""
    return (folder / RUN_LOG).exists() and (folder / INDEX).exists()


def finished_ok(folder: Path) -> bool:
    """Whether ``folder`` holds a run that finished with every notebook succeeding."""
    if not finished(folder):
        return False
    return FINISHED_OK in (folder / RUN_LOG).read_text(encoding="utf-8", errors="replace")
