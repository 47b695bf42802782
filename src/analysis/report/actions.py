"""What to act on: the run's actions ranked by money at stake, each linked to its evidence.

A report that finds something worth acting on lists it in its
``summary.json`` under ``actions`` (``{"action": sentence, "money": won
revenue a quarter}``); the executive summary keeps the few with the most
money at stake and links each to the page that shows the evidence. Nothing
is recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.core import paths
from analysis.present.outputs import read_summary
from analysis.present.redaction import escape_markdown
from analysis.report.digest import report_folders

ACTIONS_KEY = "actions"
ACTION, MONEY, REPORT, TITLE, LINK = "action", "money", "report", "title", "link"


@dataclass(frozen=True)
class Actions:
    """The top actions of a run.

    Attributes
    ----------
    table : pandas.DataFrame
        ``action, money, report, title, link``, most money first; ``link``
        is relative to a page one folder below the run (as every report is).
    considered : int
        Actions the reports listed in all.
    """

    table: pd.DataFrame
    considered: int

    def to_frame(self) -> pd.DataFrame:
        """The actions (a copy)."""
        return self.table.copy()

    def as_markdown(self) -> str:
        """A numbered list, each action followed by a link to its evidence."""
        if self.table.empty:
            return (
                "Nothing to act on: no report found a significant drop or a rep below the "
                "team's limits with money at stake."
            )
        lines = [
            f"{i}. {escape_markdown(r[ACTION])} [See {escape_markdown(r[TITLE])}]({r[LINK]})."
            for i, r in enumerate(self.table.to_dict("records"), start=1)
        ]
        return "\n".join(lines)


def top_actions(
    run_dir: str | Path | None, limit: int = 3, exclude: tuple[str, ...] = ()
) -> Actions:
    """The ``limit`` actions with the most money at stake across a run's reports.

    Parameters
    ----------
    run_dir : path or None
        The run folder (None: ``reports/latest``).
    limit : int
        Actions kept (the issue of a leader's page: at most three).
    exclude : tuple of str
        Report folders to skip.

    Returns
    -------
    Actions
    """
    run_dir = Path(run_dir or paths.REPORTS_DIR / "latest")
    rows = []
    for folder, title in report_folders(run_dir, exclude):
        summary = read_summary(folder)
        if not summary:
            continue
        for item in summary.get(ACTIONS_KEY) or []:
            money = item.get(MONEY)
            if money is None or not item.get(ACTION):
                continue
            link = f"../{folder.name}/{folder.name}.html"
            rows.append({ACTION: str(item[ACTION]), MONEY: float(money), REPORT: folder.name,
                         TITLE: title, LINK: link})  # fmt: skip
    table = pd.DataFrame(rows, columns=[ACTION, MONEY, REPORT, TITLE, LINK])
    table = table.sort_values(MONEY, ascending=False, kind="stable").head(limit)
    return Actions(table.reset_index(drop=True), len(rows))
