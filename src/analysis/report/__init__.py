"""Report runs: notebooks executed with papermill, self-contained HTML, the run index and
the executive summary's parts: the process scorecard (from :mod:`analysis.scorecard`),
the reports' top findings (:mod:`.digest`), what changed since the last review
(:mod:`.review`) and what to act on (:mod:`.actions`).

``run`` imports papermill and nbconvert only when a run starts, because those
imports are slow.
"""

from __future__ import annotations

from analysis.report.actions import Actions, top_actions
from analysis.report.digest import collect_findings
from analysis.report.outlook import forecast_line
from analysis.report.review import ReviewChanges, previous_run, since_last_review
from analysis.scorecard import (
    period_label,
    process_scorecards,
    scorecards_frame,
    scorecards_html,
    scorecards_sentences,
)


def run_report(*args, **kwargs):
    """Execute report notebooks and render HTML; see :func:`analysis.report.run.run_report`."""
    from analysis.report.run import run_report as _run_report

    return _run_report(*args, **kwargs)


__all__ = [
    "forecast_line",
    "Actions",
    "ReviewChanges",
    "collect_findings",
    "period_label",
    "previous_run",
    "process_scorecards",
    "run_report",
    "scorecards_frame",
    "scorecards_html",
    "scorecards_sentences",
    "since_last_review",
    "top_actions",
]
