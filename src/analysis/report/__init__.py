"""Reports: notebook outputs, self-contained HTML and report runs.

``outputs`` is light (notebooks import it); ``run`` imports papermill and
nbconvert only when a run starts, because those imports are slow.
"""

from analysis.present.outputs import SUMMARY_FILENAME, read_summary, write_outputs


def run_report(*args, **kwargs):
    """Execute report notebooks and render HTML; see :func:`analysis.report.run.run_report`."""
    from analysis.report.run import run_report as _run_report

    return _run_report(*args, **kwargs)


__all__ = ["SUMMARY_FILENAME", "read_summary", "run_report", "write_outputs"]
