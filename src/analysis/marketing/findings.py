"""Findings of the marketing question in words, generated from its results.

Every rate is printed with its interval (at the result's ``alpha``); counts
are exact and have none.
"""

from __future__ import annotations

import pandas as pd

from analysis.marketing import columns as c
from analysis.marketing.funnel import LeadFunnel
from analysis.marketing.speed import SpeedToLead
from analysis.present.formatting import (
    format_count,
    format_days,
    format_p_value,
    format_rate,
    is_missing,
)
from analysis.stats.rates import rate_with_interval

__all__ = ["funnel_sentences", "speed_sentences"]

_STEP_WORDS = {
    c.STEP_MQL: "accepted by sales",
    c.STEP_ACCEPTED: "became SQLs",
    c.STEP_SQL: "were converted into deals",
    c.STEP_OPPORTUNITY: "of those deals were won",
}


_PLURAL = {c.SOURCE: "sources", c.CAMPAIGN: "campaigns", c.SEGMENT: "segments",
           c.OWNER_ID: "owners"}  # fmt: skip


def _label(row: dict, keys: tuple[str, ...], capital: bool = True) -> str:
    parts = []
    for key in keys:
        value = row[key]
        if key == c.PERIOD and not is_missing(value):
            parts.append(f"{pd.Timestamp(value):%Y-%m}")
        else:
            parts.append(c.UNKNOWN if is_missing(value) else str(value))
    text = " / ".join(parts) or "all leads"
    return text[:1].upper() + text[1:] if capital else text


def _rate(row: dict) -> str:
    return format_rate(row[c.CONVERSION], row[c.CI_LOW], row[c.CI_HIGH])


def _headline(table: pd.DataFrame, key: str, alpha: float) -> str | None:
    """The group with the most MQLs, its acceptance against all the other groups'."""
    mql = table[table[c.STEP] == c.STEP_MQL]
    if len(mql) < 2:
        return None
    top = mql.loc[mql[c.N_REACHED].astype(float).idxmax()]
    others = mql.drop(index=top.name)
    k, n = float(others[c.N_ADVANCED].sum()), float(others[c.DECIDED].sum())
    rate, low, high = (float(v[0]) for v in rate_with_interval(k, n, alpha=alpha))
    label = _label(top.to_dict(), (key,))
    sentence = (
        f"{label} brings the most MQLs ({format_count(top[c.N_REACHED])}); sales accepts "
        f"{_rate(top.to_dict())} of them against {format_rate(rate, low, high)} for the "
        f"other {_PLURAL.get(key, key + ' groups')}."
    )
    if top[c.CONVERSION] < low:
        sentence = sentence.replace("; sales accepts", " but sales accepts only")
    return sentence


def funnel_sentences(result: LeadFunnel) -> list[str]:
    """The busiest group against the others, then one sentence per group from MQL to won.

    Each group's sentence gives the conversion of every step with its Wilson
    interval, the share of MQLs that end in a won deal with its interval,
    the median days from MQL to acceptance, and how many leads are still
    waiting (censored, not counted as lost).
    """
    table = result.table
    out = []
    if len(result.by) == 1 and result.period is None:
        head = _headline(table, result.by[0], result.alpha)
        if head:
            out.append(head)
    keys = list(result.by)
    groups = table.groupby(keys, sort=False, dropna=False) if keys else [((), table)]
    for _, part in groups:
        steps = {r[c.STEP]: r for r in part.to_dict("records")}
        mql = steps[c.STEP_MQL]
        label = _label(mql, result.by)
        if mql[c.NOTE] == c.NOTE_NO_LEADS:
            out.append(f"{label}: no MQLs.")
            continue
        clauses = []
        for step, words in _STEP_WORDS.items():
            r = steps[step]
            if r[c.NOTE] in (c.NOTE_NO_LEADS, c.NOTE_NO_DEALS_TABLE):
                break
            if r[c.NOTE] == c.NOTE_NO_DECIDED_LEADS:
                clauses.append(f"none decided yet after {step}")
                break
            clauses.append(f"{_rate(r)} {words}")
        won = steps[c.STEP_WON]
        waiting = int(part[c.N_WAITING].fillna(0).sum())
        sentence = f"{label}: of {format_count(mql[c.N_REACHED])} MQLs, " + ", ".join(clauses)
        if won[c.NOTE] != c.NOTE_NO_DEALS_TABLE and not is_missing(won[c.FROM_MQL]):
            won_share = format_rate(
                won[c.FROM_MQL], won[c.FROM_MQL_CI_LOW], won[c.FROM_MQL_CI_HIGH]
            )
            sentence += f": {won_share} of MQLs end in a won deal"
        if not is_missing(mql[c.MEDIAN_DAYS]):
            days = format_days(mql[c.MEDIAN_DAYS], mql[c.MEDIAN_CI_LOW], mql[c.MEDIAN_CI_HIGH])
            sentence += f"; sales decides to accept in a median of {days}"
        if waiting:
            sentence += f" ({format_count(waiting)} leads still waiting are not counted as lost)"
        out.append(sentence + ".")
    return out


def _odds(trend: pd.DataFrame, model: str) -> str:
    r = trend.set_index(c.MODEL).loc[model]
    if is_missing(r[c.ODDS_RATIO]):
        return "not estimable (too few leads or no variation)"
    return (
        f"{r[c.ODDS_RATIO]:.2f} times the odds of becoming an SQL "
        f"[{r[c.CI_LOW]:.2f}–{r[c.CI_HIGH]:.2f}] ({format_p_value(r[c.P_VALUE])})"
    )


def speed_sentences(result: SpeedToLead) -> list[str]:
    """SQL rate in the fastest and slowest band, the trend per doubling, response times, caveat."""
    out = []
    bands = result.table[result.table[c.N_LEADS] > 0].to_dict("records")
    if bands:
        fast, slow = bands[0], bands[-1]
        out.append(
            f"Accepted leads first answered {fast[c.RESPONSE_BAND].replace('under', 'within')} "
            f"became SQLs at {format_rate(fast[c.SQL_RATE], fast[c.CI_LOW], fast[c.CI_HIGH])} "
            f"({format_count(fast[c.N_LEADS])} leads), against "
            f"{format_rate(slow[c.SQL_RATE], slow[c.CI_LOW], slow[c.CI_HIGH])} when answered "
            f"after {slow[c.RESPONSE_BAND].replace(' or more', '')} or more "
            f"({format_count(slow[c.N_LEADS])} leads)."
        )
    within = f"within each {' / '.join(result.by)}" if result.by else "over all leads"
    sentence = (
        f"Each doubling of the first-response time goes with "
        f"{_odds(result.trend, c.STRATIFIED)} {within}"
    )
    if result.by:
        sentence += f"; without that stratification, {_odds(result.trend, c.UNADJUSTED)}"
    out.append(sentence + ".")
    times = result.response_times
    timed = times[times[c.MEDIAN_HOURS].notna()] if len(times) else times
    if len(timed) >= 2 and result.by:
        fast = timed.loc[timed[c.MEDIAN_HOURS].idxmin()].to_dict()
        slow = timed.loc[timed[c.MEDIAN_HOURS].idxmax()].to_dict()
        out.append(
            f"{_label(fast, result.by)} leads get their first response fastest (median "
            f"{_hours(fast)}), {_label(slow, result.by, capital=False)} leads slowest ({_hours(slow)})."
        )
    elif len(timed) == 1:
        out.append(f"Half of the MQLs get a first response within {_hours(timed.iloc[0])}.")
    out.append(result.caveat)
    return out


def _hours(row) -> str:
    text = f"{row[c.MEDIAN_HOURS]:.1f} h"
    if is_missing(row[c.CI_LOW]) or is_missing(row[c.CI_HIGH]):
        return f"{text} (no interval)"
    return f"{text} [{row[c.CI_LOW]:.1f}–{row[c.CI_HIGH]:.1f}]"
