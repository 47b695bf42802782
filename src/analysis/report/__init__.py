"""Report runs: notebooks executed with papermill, self-contained HTML, the run index and
the executive summary (:mod:`.digest`, the one import of ``00_executive_summary``).

``run`` imports papermill and nbconvert only when a run starts, because those
imports are slow.
"""

from __future__ import annotations

from analysis.report.digest import collect_findings


def run_report(*args, **kwargs):
    """Execute report notebooks and render HTML; see :func:`analysis.report.run.run_report`."""
    from analysis.report.run import run_report as _run_report

    return _run_report(*args, **kwargs)


__all__ = ["collect_findings", "run_report"]
