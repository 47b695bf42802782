"""The run's ``index.html``: every report with its headline findings and run metadata."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.report.html import page

# Headline sentences shown per report on the index page.
HEADLINES_PER_REPORT = 4


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of one notebook in a run."""

    name: str
    title: str
    ok: bool
    seconds: float
    html: Path
    executed: Path
    error: str = ""
    summary: dict | None = None
    parameters: Mapping[str, object] | None = None


def notebook_title(path: str | Path) -> str:
    """The first ``# `` heading of a notebook's markdown, or a title made from its name."""
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem.replace("_", " ").title()


_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def _plain(sentence: object) -> str:
    """A headline as plain, redacted text (the index shows no Markdown)."""
    from analysis.present.redaction import redact

    return redact(_EMPHASIS.sub(r"\2", str(sentence)))


def _status(nb: NotebookResult) -> str:
    if nb.ok:
        return '<span class="status-ok">ok</span>'
    return f'<span class="status-failed">failed</span> — {html.escape(_plain(nb.error))}'


def _parameters(nb: NotebookResult) -> str:
    shown = {k: v for k, v in (nb.parameters or {}).items() if k not in {"output_dir", "run_dir"}}
    if not shown:
        return ""
    text = ", ".join(f"{k}={v!r}" for k, v in sorted(shown.items()))
    return f'<p class="meta">Parameters: {html.escape(text)}</p>'


COVERS = "covers"  # meta key: the run line (data, size, run date) under every title
DATA_LINE = "data covered"  # meta key: the data line alone


def index_html(run_id: str, results: Sequence[NotebookResult], meta: Mapping[str, str]) -> str:
    """The run's index page: one section per report, summary reports first.

    Titled with the period the data covers ("Sales process report — data
    through 30 June 2026"), not the run id; the line under the title gives the
    data's size and the run (``meta["covers"]``).

    Headline findings come from each notebook's ``summary.json``; every piece
    of text is escaped, links are relative so the run folder can be moved or
    mailed as a whole.
    """
    ordered = sorted(results, key=lambda nb: not (nb.summary or {}).get("is_run_summary"))
    sections = []
    for nb in ordered:
        headline = (nb.summary or {}).get("headline") or []
        bullets = "".join(
            f"<li>{html.escape(_plain(s))}</li>" for s in headline[:HEADLINES_PER_REPORT]
        )
        link = f"{nb.name}/{nb.html.name}"
        sections.append(
            f'<section class="report"><h2><a href="{html.escape(link)}">'
            f"{html.escape(nb.title)}</a></h2>"
            f"<p>Status: {_status(nb)} · {nb.seconds:.0f} s</p>"
            f"<ul>{bullets}</ul>{_parameters(nb)}</section>"
        )
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in meta.items()
        if k != COVERS  # shown under the title
    )
    failed = [nb.name for nb in results if not nb.ok]
    banner = (
        f'<p class="status-failed">{len(failed)} report(s) failed: '
        f"{html.escape(', '.join(failed))}. The last good run is still under reports/latest.</p>"
        if failed
        else ""
    )
    body = (
        banner + "".join(sections) + f'<h2>About this run</h2><table class="about">{rows}</table>'
    )
    covers = meta.get(COVERS, f"Run {run_id}")
    data = meta.get(DATA_LINE)
    period = data.split(" · ")[0] if data else ""
    title = (
        f"Sales process report — {period[:1].lower()}{period[1:]}"
        if period
        else ("Sales process report")
    )
    return page(title, body, meta=html.escape(covers))
