"""Findings in words, generated from results.

Notebooks never type numbers into prose: they call these functions, so the
text a leader reads always matches the tables beside it.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import columns as c
from analysis.overview import COUNT, TABLE


def format_percent(value: float, digits: int = 1) -> str:
    """``0.6315 -> '63.2%'``; NaN becomes ``'n/a'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def format_rate(rate: float, ci_low: float, ci_high: float, digits: int = 1) -> str:
    """A rate with its interval: ``'63.2% [62.0–64.3]'``."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "n/a (no closed deals)"
    lo = f"{100 * ci_low:.{digits}f}"
    hi = f"{100 * ci_high:.{digits}f}"
    return f"{format_percent(rate, digits)} [{lo}–{hi}]"


def format_count(value: float) -> str:
    """Thousands separators: ``8800 -> '8,800'``."""
    return f"{int(value):,}"


def format_money(value: float, currency: str = "$") -> str:
    """Compact money: ``10005534 -> '$10.0M'``, ``2360.9 -> '$2,361'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1e6:
        return f"{currency}{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{currency}{value / 1e3:.0f}k"
    return f"{currency}{value:,.0f}"


def data_quality_sentence(quarantine: pd.DataFrame) -> str:
    """One sentence on rows kept and set aside, from :func:`overview.quarantine_summary`."""
    if quarantine.empty:
        return "No ingest manifest was found, so data quality could not be summarised."
    per_table = quarantine.drop_duplicates(TABLE)
    rows_in = int(per_table[c.ROWS_IN].sum())
    held = int(per_table[c.ROWS_QUARANTINED].sum())
    if held == 0:
        return f"All {format_count(rows_in)} input rows passed validation; none were quarantined."
    held_rows = quarantine[quarantine[COUNT] > 0]
    reasons = held_rows.groupby(c.REASON)[COUNT].sum().sort_values(ascending=False)
    top = ", ".join(
        f"{r.replace('_', ' ')} ({format_count(n)})" for r, n in reasons.head(3).items()
    )
    return (
        f"{format_count(held)} of {format_count(rows_in)} input rows "
        f"({format_percent(held / rows_in, 2)}) were quarantined rather than analysed; "
        f"the main reasons: {top}. Every row is accounted for in the ingest manifest."
    )


def outcome_sentences(
    outcomes: pd.DataFrame, group: str = c.SEGMENT, window: str = "in the data"
) -> list[str]:
    """A sentence per group on volume, share open and win rate with its interval.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        :func:`analysis.overview.outcome_summary` frame.
    group : str
        The grouping column of ``outcomes``.
    window : str
        How the deals were selected, e.g. ``"created from 2025-01-01"``.
    """
    sentences = []
    for _, row in outcomes.iterrows():
        label = f"{row[group]} deals" if group in outcomes else "Deals"
        rate = format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH])
        sentences.append(
            f"{label}: {format_count(row[c.N_DEALS])} {window}, "
            f"{format_percent(row[c.OPEN_SHARE])} still open; "
            f"win rate of closed deals {rate} (95% interval)."
        )
    return sentences


def as_markdown_list(sentences: list[str]) -> str:
    """Join sentences as a markdown bullet list, for ``IPython.display.Markdown``."""
    return "\n".join(f"- {s}" for s in sentences)


def overview_findings(
    outcomes: pd.DataFrame,
    overall: pd.DataFrame,
    quarantine: pd.DataFrame,
    manifest: dict | None,
    period_start: str | None = None,
    period_end: str | None = None,
) -> list[str]:
    """The data-overview findings: scope, data quality, outcomes by segment.

    Parameters
    ----------
    outcomes, overall : pandas.DataFrame
        :func:`analysis.overview.outcome_summary` frames by segment and overall.
    quarantine : pandas.DataFrame
        :func:`analysis.overview.quarantine_summary` of the manifest.
    manifest : dict or None
        The ingest manifest (for notes such as derived stage history).
    period_start, period_end : str, optional
        The creation-date window the figures cover.
    """
    window = (
        f"created from {period_start or 'the first record'} to before {period_end}"
        if period_end
        else f"created from {period_start}"
        if period_start
        else "in the data"
    )
    sentences = []
    if not overall.empty:
        row = overall.iloc[0]
        sentences.append(
            f"{format_count(row[c.N_DEALS])} deals {window}: {format_count(row[c.N_WON])} won, "
            f"{format_count(row[c.N_LOST])} lost, {format_count(row[c.N_OPEN])} still open; "
            f"won revenue {format_money(row[c.WON_AMOUNT])}. "
            f"Win rate of closed deals {format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH])}; "
            f"open deals are not counted as losses."
        )
    sentences.extend(outcome_sentences(outcomes, window=window))
    sentences.append(data_quality_sentence(quarantine))
    derived = (manifest or {}).get("derived", {}).get(c.STAGE_EVENTS)
    if derived:
        sentences.append(
            "This source records only each deal's current stage: the stage history was derived "
            "(earlier stages implied), so stage timings are approximate."
        )
    return sentences


RATE_COLUMNS = (c.OPEN_SHARE, c.WIN_RATE, c.CI_LOW, c.CI_HIGH)


def styled_table(frame: pd.DataFrame, percent: tuple[str, ...] = RATE_COLUMNS):
    """A pandas Styler with readable number formats and no index, for reports.

    Parameters
    ----------
    frame : pandas.DataFrame
        A result table.
    percent : tuple of str
        Columns shown as percentages (default: the shared rate and interval
        columns). Other numeric columns get thousands separators.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    formats = {col: "{:.1%}" for col in percent if col in frame}
    for col in frame.columns:
        if col not in formats and pd.api.types.is_numeric_dtype(frame[col]):
            formats[col] = "{:,.0f}"
    return frame.style.format(formats, na_rep="–").hide(axis="index")
