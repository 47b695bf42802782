"""Findings sentences for the data overview: data quality and outcomes by group."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.schema import (
    DELETED_IN_SOURCE,
    FROM_CRM_ADAPTERS,
    NOT_A_STAGE_CHANGE,
    OUT_OF_SCOPE,
)
from analysis.overview.summary import COUNT, TABLE
from analysis.present.formatting import format_count, format_money, format_percent, format_rate


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
    # What the CRM itself marks (deleted rows, history edits of other fields) is set
    # aside as expected; only the rest is a problem with the export.
    by_crm = reasons[reasons.index.isin(FROM_CRM_ADAPTERS)]
    problems = reasons[~reasons.index.isin(FROM_CRM_ADAPTERS)]
    parts = []
    if len(by_crm):
        listed = ", ".join(
            f"{_CRM_REASON_WORDS.get(r, r.replace('_', ' '))} ({format_count(n)})"
            for r, n in by_crm.items()
        )
        parts.append(
            f"{format_count(int(by_crm.sum()))} CRM rows were set aside as the CRM marks them: {listed}."
        )
    if len(problems):
        top = ", ".join(
            f"{r.replace('_', ' ')} ({format_count(n)})" for r, n in problems.head(3).items()
        )
        bad = int(problems.sum())
        parts.append(
            f"{format_count(bad)} of {format_count(rows_in)} input rows "
            f"({format_percent(bad / rows_in, 2)}) were quarantined rather than analysed; "
            f"the main reasons: {top}."
        )
    else:
        parts.append("No row failed validation.")
    return " ".join(parts) + " Every row is accounted for in the ingest manifest."


_CRM_REASON_WORDS = {
    NOT_A_STAGE_CHANGE: "history rows that changed another field, not the stage",
    DELETED_IN_SOURCE: "deleted in the CRM",
    OUT_OF_SCOPE: "rows of another kind, such as tasks not on a deal",
}


def money_by_currency_sentence(money: pd.DataFrame) -> list[str]:
    """Won revenue per currency when amounts could not be converted (else nothing).

    ``money`` is :func:`analysis.overview.summary.money_by_currency`'s table.
    """
    mixed = money[money[c.NOTE] == c.NOTE_MIXED_CURRENCY] if len(money) else money
    if mixed.empty:
        return []
    parts = ", ".join(
        f"{row[c.CURRENCY]} {format_money(row[c.WON_AMOUNT], '')} ({format_count(row[c.N_WON])} won)"
        for _, row in mixed.iterrows()
    )
    return [
        f"Amounts are in {len(mixed)} currencies with no exchange rates (mixed_currency), so no "
        f"money total is given across them. Won revenue per currency: {parts}. Give rates "
        "at ingest (--fx-rates) for totals, deal size and velocity."
    ]


def outcome_sentences(
    outcomes: pd.DataFrame, group: str = c.SEGMENT, window: str = "in the data"
) -> list[str]:
    """A sentence per group on volume, share open and win rate with its interval.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        :func:`analysis.overview.summary.outcome_summary` frame.
    group : str
        The grouping column of ``outcomes``.
    window : str
        How the deals were selected, e.g. ``"created from 2025-01-01"``.
    """
    sentences = []
    for _, row in outcomes.iterrows():
        if group not in outcomes:
            label = "Deals"
        elif row[group] == c.UNKNOWN:
            label = f"Deals without a {group}"
        else:
            label = f"{row[group]} deals"
        rate = format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH])
        sentences.append(
            f"{label}: {format_count(row[c.N_DEALS])} {window}, "
            f"{format_percent(row[c.OPEN_SHARE])} still open; "
            f"win rate of closed deals {rate} (95% interval)."
        )
    return sentences


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
        :func:`analysis.overview.summary.outcome_summary` frames by segment and overall.
    quarantine : pandas.DataFrame
        :func:`analysis.overview.summary.quarantine_summary` of the manifest.
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
        revenue = (
            "" if pd.isna(row[c.WON_AMOUNT]) else f"; won revenue {format_money(row[c.WON_AMOUNT])}"
        )
        sentences.append(
            f"{format_count(row[c.N_DEALS])} deals {window}: {format_count(row[c.N_WON])} won, "
            f"{format_count(row[c.N_LOST])} lost, {format_count(row[c.N_OPEN])} still open"
            f"{revenue}. "
            f"Win rate of closed deals {format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH])}; "
            f"open deals are not counted as losses."
        )
    sentences.extend(outcome_sentences(outcomes, window=window))
    sentences.append(data_quality_sentence(quarantine))
    sentences.extend(f"Ingest warned: {w}" for w in (manifest or {}).get("warnings", []))
    early = (manifest or {}).get("flags", {}).get(c.BEFORE_CREATED)
    if early:
        sentences.append(
            f"{format_count(early)} stage entries are dated more than a day before their deal "
            "was created; they count for reaching the stage, but their times are left out of "
            "every duration."
        )
    derived = (manifest or {}).get("derived", {}).get(c.STAGE_EVENTS)
    if derived:
        sentences.append(
            "This source records only each deal's current stage: the stage history was derived "
            "(earlier stages implied), so stage timings are approximate."
        )
    return sentences
