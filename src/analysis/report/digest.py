"""Top findings across the reports of one run, for the executive summary.

Each report notebook writes its headline sentences to ``summary.json``; the
executive summary reads them back from the run folder instead of recomputing
anything, so it always agrees with the reports it links to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.core import paths
from analysis.core.columns import RANK
from analysis.present.outputs import read_summary
from analysis.report.index import notebook_title
from analysis.report.plan import report_title

NOTEBOOK, TITLE, FINDING = "notebook", "title", "finding"


@dataclass(frozen=True)
class RunFindings:
    """Headline findings of every report in a run.

    Attributes
    ----------
    run_dir : Path
        The run folder read.
    findings : DataFrame
        ``notebook, title, rank, finding``; rank 1 is each report's lead.
    missing : tuple of str
        Reports of the run that left no summary (failed, or not run yet).
    data : str
        What the reports rest on (deals, the data's cut-off, currency), as
        their pages state it; "" when no report says.
    """

    run_dir: Path
    findings: pd.DataFrame
    missing: tuple[str, ...]
    data: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The findings table."""
        return self.findings.copy()

    def as_markdown(self) -> str:
        """One section per report with its findings as bullets."""
        if self.findings.empty:
            return f"No report of this run has findings yet ({self.run_dir})."
        parts = [f"*{self.data}*"] if self.data else []
        for (_, title), group in self.findings.groupby([NOTEBOOK, TITLE], sort=False):
            bullets = "\n".join(f"- {text}" for text in group[FINDING])
            parts.append(f"### {title}\n\n{bullets}")
        if self.missing:
            parts.append("Reports without findings (failed or not run): " + ", ".join(self.missing))
        return "\n\n".join(parts)


def _default_run_dir() -> Path:
    """The last published run: ``reports/latest``."""
    return paths.REPORTS_DIR / "latest"


def report_folders(run_dir: Path, exclude: tuple[str, ...] = ()) -> Iterator[tuple[Path, str]]:
    """Each report folder of a run, by name, with its title (naming its pipeline).

    A folder that does not exist yields nothing; ``exclude`` names folders to skip.
    """
    folders = sorted(p for p in run_dir.iterdir() if p.is_dir()) if run_dir.is_dir() else []
    for folder in folders:
        if folder.name in exclude:
            continue
        executed = folder / f"{folder.name}.ipynb"
        title = notebook_title(executed) if executed.exists() else folder.name
        yield folder, report_title(title, folder.name)


def collect_findings(
    run_dir: str | Path | None = None, per_report: int = 3, exclude: tuple[str, ...] = ()
) -> RunFindings:
    """Read each report's headline findings from a run folder.

    Parameters
    ----------
    run_dir : path, optional
        A run folder (default ``reports/latest``); a folder that does not
        exist gives an empty result, not an error.
    per_report : int
        Findings kept per report, in the order the report ranked them.
    exclude : tuple of str
        Report names to skip (the executive summary itself).

    Returns
    -------
    RunFindings
    """
    run_dir = Path(run_dir) if run_dir else _default_run_dir()
    rows, missing, data = [], [], ""
    for folder, title in report_folders(run_dir, exclude):
        summary = read_summary(folder)
        if summary is None:
            missing.append(folder.name)
            continue
        if summary.get("is_run_summary"):
            continue
        line = str(summary.get("data") or "")
        if line and line not in data:  # one line per pipeline when reports cover several
            data = f"{data} {line}".strip()
        for rank, text in enumerate((summary.get("headline") or [])[:per_report], start=1):
            rows.append({NOTEBOOK: folder.name, TITLE: title, RANK: rank, FINDING: str(text)})
    frame = pd.DataFrame(rows, columns=[NOTEBOOK, TITLE, RANK, FINDING])
    return RunFindings(run_dir, frame, tuple(missing), data)
