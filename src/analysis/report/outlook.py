"""The forecast line of the executive summary, copied from the forecast report of the run."""

from __future__ import annotations

from pathlib import Path

from analysis.core import paths
from analysis.forecast.findings import FORECAST_KEY
from analysis.present.outputs import read_summary
from analysis.present.redaction import escape_markdown
from analysis.report.digest import report_folders

__all__ = ["FORECAST_KEY", "FORECAST_REPORT", "forecast_line"]

FORECAST_REPORT = "06_forecast"


def forecast_line(run_dir: str | Path | None) -> str:
    """The forecast's sentence with a link to its page, or why there is none (markdown).

    Reads ``summary.json`` of each report folder of the run whose name starts
    with ``06_forecast`` (one per pipeline when the run covers several).
    """
    run_dir = Path(run_dir or paths.REPORTS_DIR / "latest")
    lines = []
    for folder, title in report_folders(run_dir):
        if not folder.name.startswith(FORECAST_REPORT):
            continue
        forecast = (read_summary(folder) or {}).get(FORECAST_KEY) or {}
        sentence = forecast.get("sentence")
        link = f"../{folder.name}/{folder.name}.html"
        if sentence:
            # The workbench's own sentence (numbers and dates), shown as the forecast page
            # shows it: escaping would print its brackets' backslashes inside "$...$" math.
            lines.append(f"- {sentence} [evidence]({link})")
        else:
            lines.append(f"- {escape_markdown(title)}: no forecast could be made ([why]({link})).")
    return "\n".join(lines) or "No forecast report in this run."
