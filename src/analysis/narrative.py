"""Findings in words, generated from results.

Notebooks never type numbers into prose: they call these functions, so the
text a leader reads always matches the tables beside it.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import columns as c
from analysis.overview import CI_HIGH, CI_LOW, WIN_RATE


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
    per_table = quarantine.drop_duplicates("table")
    rows_in = int(per_table["rows_in"].sum())
    held = int(per_table["rows_quarantined"].sum())
    if held == 0:
        return f"All {format_count(rows_in)} input rows passed validation; none were quarantined."
    reasons = (
        quarantine[quarantine["count"] > 0]
        .groupby("reason")["count"]
        .sum()
        .sort_values(ascending=False)
    )
    top = ", ".join(
        f"{r.replace('_', ' ')} ({format_count(n)})" for r, n in reasons.head(3).items()
    )
    return (
        f"{format_count(held)} of {format_count(rows_in)} input rows "
        f"({format_percent(held / rows_in, 2)}) were quarantined rather than analysed; "
        f"the main reasons: {top}. Every row is accounted for in the ingest manifest."
    )


def outcome_sentences(outcomes: pd.DataFrame, group: str = c.SEGMENT) -> list[str]:
    """A sentence per group on volume, share open and win rate with its interval."""
    sentences = []
    for _, row in outcomes.iterrows():
        label = f"{row[group]} deals" if group in outcomes else "Deals"
        rate = format_rate(row[WIN_RATE], row[CI_LOW], row[CI_HIGH])
        sentences.append(
            f"{label}: {format_count(row['deals'])} in the period, "
            f"{format_percent(row['open_share'])} still open; "
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
            f"{format_count(row['deals'])} deals {window}: {format_count(row['won'])} won, "
            f"{format_count(row['lost'])} lost, {format_count(row['open'])} still open. "
            f"Win rate of closed deals {format_rate(row[WIN_RATE], row[CI_LOW], row[CI_HIGH])}; "
            f"open deals are not counted as losses."
        )
    sentences.extend(outcome_sentences(outcomes))
    sentences.append(data_quality_sentence(quarantine))
    derived = (manifest or {}).get("derived", {}).get(c.STAGE_EVENTS)
    if derived:
        sentences.append(
            "This source records only each deal's current stage: the stage history was derived "
            "(earlier stages implied), so stage timings are approximate."
        )
    return sentences


def styled_table(
    frame: pd.DataFrame,
    percent: tuple[str, ...] = (),
    money: tuple[str, ...] = (),
    count: tuple[str, ...] = (),
):
    """A pandas Styler with readable number formats and no index, for reports."""
    formats = {col: "{:.1%}" for col in percent if col in frame}
    formats.update({col: "{:,.0f}" for col in money + count if col in frame})
    return frame.style.format(formats, na_rep="–").hide(axis="index")
