"""The scorecard as a leader reads it: one table per segment, changes in words, a trend line.

Statistical detail (p-values, adjusted levels) stays in the CSV and on the
analysis pages; the page shows each value with its interval, whether a
change is more than noise, and which way is better.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from analysis.core.types import Window
from analysis.engine.money import Money
from analysis.present.formatting import format_money, is_missing
from analysis.present.sparkline import sparkline
from analysis.scorecard import columns as c
from analysis.scorecard.card import DEFINITIONS, LOWER_IS_BETTER, ProcessScorecard

_NAMES = {
    c.WIN_RATE: "Win rate",
    c.DAYS_TO_WIN: "Median days to win",
    c.REVENUE_PER_REP: "Won revenue per rep",
    c.CAC: "Cost per new customer (CAC)",
}


def period_label(window: Window | None) -> str:
    """``Q2 2026`` for a calendar quarter, ``March 2026`` for a month, else the dates ('' for None)."""
    if window is None:
        return ""
    start, end = window.start, window.end
    months = (end.year - start.year) * 12 + end.month - start.month
    whole = start == start.normalize() and end == end.normalize() and start.day == end.day == 1
    if whole and months == 3 and start.month % 3 == 1:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if whole and months == 1:
        return f"{start:%B %Y}"
    last = end - pd.Timedelta(days=1)
    return f"{start:%-d %b %Y} – {last:%-d %b %Y}"


def stage_label(stage: str) -> str:
    """``proposal_review -> 'Proposal review'``."""
    return str(stage).replace("_", " ").strip().capitalize()


def measure_label(row: dict) -> str:
    """``'Proposal → Negotiation'`` for a stage's conversion, the measure's name otherwise."""
    if row[c.MEASURE] == c.STAGE_CONVERSION:
        return f"{stage_label(row[c.STAGE])} → {stage_label(row[c.NEXT_STAGE])}"
    return _NAMES[row[c.MEASURE]]


def format_value(measure: str, value: float, symbol: str) -> str:
    """One value of ``measure`` for a reader: ``52%``, ``104 days``, ``$98k``."""
    if is_missing(value):
        return "—"
    if measure in (c.STAGE_CONVERSION, c.WIN_RATE):
        return f"{100 * value:.0f}%"
    if measure == c.DAYS_TO_WIN:
        return f"{value:.0f} days" if value == round(value) else f"{value:.1f} days"
    return format_money(value, symbol)


def format_change(measure: str, change: float, symbol: str) -> str:
    """A change for a reader: ``-24 pts``, ``+17.5 days``, ``+$7,917``, ``+15%`` (CAC ratio)."""
    if is_missing(change):
        return "—"
    if measure in (c.STAGE_CONVERSION, c.WIN_RATE):
        points = round(100 * change)
        return "±0 pts" if points == 0 else f"{points:+d} pts"
    if measure == c.DAYS_TO_WIN:
        days = f"{change:+.1f}".removesuffix(".0")
        return "±0 days" if float(days) == 0 else f"{days} {'day' if abs(change) == 1 else 'days'}"
    if measure == c.CAC:
        percent = round(100 * (change - 1))
        return "±0%" if percent == 0 else f"{percent:+d}%"
    sign = "+" if change >= 0 else "-"
    return sign + format_money(abs(change), symbol)


def verdict(measure: str, change: float, beyond_noise: bool) -> str:
    """``'better'``, ``'worse'`` or ``'no clear change'`` (within noise)."""
    if is_missing(change) or not beyond_noise:
        return "no clear change"
    up = change > (1 if measure == c.CAC else 0)
    return "worse" if up == (measure in LOWER_IS_BETTER) else "better"


def _value_cell(row: dict, symbol: str) -> str:
    value = format_value(row[c.MEASURE], row[c.VALUE], symbol)
    if is_missing(row[c.CI_LOW]) or is_missing(row[c.CI_HIGH]):
        return html.escape(value)
    low = format_value(row[c.MEASURE], row[c.CI_LOW], symbol)
    high = format_value(row[c.MEASURE], row[c.CI_HIGH], symbol)
    return f'{html.escape(value)} <span class="interval">({html.escape(low)} to {html.escape(high)})</span>'


def _change_cell(row: dict, baseline: str, symbol: str) -> str:
    measure = row[c.MEASURE]
    base = row[c.baseline_column(baseline, c.BASE_VALUE)]
    if is_missing(base):
        return '<span class="noise">nothing to compare</span>'
    change = row[c.baseline_column(baseline, c.CHANGE)]
    word = verdict(measure, change, bool(row[c.baseline_column(baseline, c.BEYOND_NOISE)]))
    kind = {"better": "better", "worse": "worse"}.get(word, "noise")
    was = format_value(measure, base, symbol)
    text = f"{format_change(measure, change, symbol)} · {word}"
    return f'<span class="{kind}">{html.escape(text)}</span><br><span class="interval">was {html.escape(was)}</span>'


def _benchmark_cell(row: dict, symbol: str) -> str:
    if is_missing(row[c.BENCHMARK]):
        return ""
    mark = "*" if row[c.BENCHMARK_DEFINITION_DIFFERS] else ""
    text = format_value(row[c.MEASURE], row[c.BENCHMARK], symbol) + mark
    return f'<span title="{html.escape(row[c.BENCHMARK_SOURCE])}">{html.escape(text)}</span>'


def scorecard_html(card: ProcessScorecard) -> str:
    """The scorecard as HTML: a table per segment, with the notes that say what is missing.

    Parameters
    ----------
    card : ProcessScorecard

    Returns
    -------
    str
        Self-contained markup (trend lines as embedded SVG images); the page
        theme styles its classes.
    """
    if card.current is None:
        return "\n".join(f"<p>{html.escape(note)}</p>" for note in card.notes)
    symbol = Money(card.currency).symbol
    now = period_label(card.current)
    before, year = period_label(card.previous), period_label(card.last_year)
    labels = [period_label(w) for w in card.windows]
    parts = []
    table = card.to_frame()
    if table.empty:
        parts.append("<p>No measure could be computed for this period.</p>")
    for segment, rows in table.groupby(c.SEGMENT, sort=False):
        # A benchmark column only where a figure exists: on a phone every column counts.
        benchmarked = rows[c.BENCHMARK].notna().any()
        head = (
            f"<tr><th>Measure</th><th>{now}</th><th>Since {before}</th><th>Since {year}</th>"
            f"{'<th>Benchmark</th>' if benchmarked else ''}"
            f"<th>Last {len(labels)} periods</th></tr>"
        )
        body = []
        for row in rows.to_dict("records"):
            measure = row[c.MEASURE]
            line = sparkline(row[c.TREND], labels, lambda v, m=measure: format_value(m, v, symbol))
            body.append(
                "<tr>"
                f'<td title="{html.escape(DEFINITIONS[measure])}">{html.escape(measure_label(row))}</td>'
                f"<td>{_value_cell(row, symbol)}</td>"
                f"<td>{_change_cell(row, c.PREVIOUS, symbol)}</td>"
                f"<td>{_change_cell(row, c.LAST_YEAR, symbol)}</td>"
                f"{f'<td>{_benchmark_cell(row, symbol)}</td>' if benchmarked else ''}"
                f"<td>{line}</td></tr>"
            )
        title = "All segments" if segment == c.ALL_SEGMENTS else f"Segment {segment}"
        parts.append(
            f"<h3>{html.escape(title)}</h3>"
            f'<table class="scorecard"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
        )
    if table[c.BENCHMARK_DEFINITION_DIFFERS].any():
        parts.append(
            "<p>* The benchmark is defined differently from our measure (hover for its "
            "source); the gap is indicative only.</p>"
        )
    parts += [f"<p>{html.escape(note)}</p>" for note in card.notes]
    return "\n".join(parts)


def scorecards_html(cards: Mapping[str, ProcessScorecard]) -> str:
    """Every pipeline's scorecard, each under its pipeline's name when there are several."""
    if len(cards) == 1:
        return scorecard_html(next(iter(cards.values())))
    return "\n".join(
        f"<h2>Pipeline {html.escape(name)}</h2>\n{scorecard_html(card)}"
        for name, card in cards.items()
    )
