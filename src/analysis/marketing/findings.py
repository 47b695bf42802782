"""Findings of the marketing question in words, generated from its results.

Every rate is printed with its interval (at the result's ``alpha``); counts
are exact and have none.
"""

from __future__ import annotations

import pandas as pd

from analysis.marketing import columns as c
from analysis.marketing.feedback import MarketingFeedback
from analysis.marketing.funnel import LeadFunnel
from analysis.marketing.quality import SourceQuality
from analysis.marketing.speed import SpeedToLead
from analysis.present.formatting import (
    format_count,
    format_days,
    format_money,
    format_p_value,
    format_points,
    format_rate,
    is_missing,
)
from analysis.stats.rates import rate_with_interval

__all__ = ["feedback_sentences", "funnel_sentences", "quality_sentences", "speed_sentences"]

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


_OF_WHAT = {
    c.KIND_DISQUALIFICATION: "disqualifications",
    c.KIND_LOSS: "lost deals",
    c.THEME: "comments on lost deals and from reps",
}
_NOTE_WORDS = {
    c.NOTE_NO_DEALS_TABLE: "Without a deals table, no loss reasons or comment themes.",
    c.NOTE_NO_FEEDBACK_TABLE: "No feedback table, so no comment themes.",
    c.NOTE_NO_FEEDBACK_FROM_LEADS: (
        "No comment is linked to a deal that came from a lead, so no comment themes."
    ),
    f"{c.KIND_DISQUALIFICATION}: {c.NOTE_NO_REASON_COLUMN}": (
        "The leads carry no disqualification reason."
    ),
    f"{c.KIND_DISQUALIFICATION}: {c.NOTE_NO_REASONS}": "No lead was disqualified.",
    f"{c.KIND_LOSS}: {c.NOTE_NO_REASON_COLUMN}": "The deals carry no loss reason.",
    f"{c.KIND_LOSS}: {c.NOTE_NO_REASONS}": "No deal that came from a lead was lost.",
}
MAX_CONCENTRATIONS = 3  # concentrated reasons named per kind


def _possessive(label) -> str:
    text = str(label)
    return f"{text}'" if text.endswith("s") else f"{text}'s"


def _concentrated(row: dict, key: str, item: str, kind: str) -> str:
    share = format_rate(row[c.SHARE], row[c.CI_LOW], row[c.CI_HIGH])
    elsewhere = format_rate(
        row[c.SHARE_ELSEWHERE], row[c.ELSEWHERE_CI_LOW], row[c.ELSEWHERE_CI_HIGH]
    )
    points = format_points(row[c.DIFFERENCE], row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH])
    p = format_p_value(row[c.P_ADJUSTED]).replace("p ", "adjusted p ", 1)
    return (
        f"'{row[item]}' is {share} of {_possessive(row[key])} {_OF_WHAT[kind]} against "
        f"{elsewhere} in "
        f"the other {_PLURAL.get(key, key + ' groups')} ({points}, {p})."
    )


def feedback_sentences(result: MarketingFeedback, limit: int = MAX_CONCENTRATIONS) -> list[str]:
    """Where reasons and themes concentrate, each share with its interval and adjusted p.

    Per kind (disqualification, loss) the ``limit`` strongest concentrations
    (share above the other groups', adjusted p below alpha), or the most
    frequent reason overall when none concentrates; then the most mentioned
    comment theme and where it concentrates; then what could not be computed.
    """
    key, out = result.by, []
    groups = _PLURAL.get(key, key + " groups")
    for kind in (c.KIND_DISQUALIFICATION, c.KIND_LOSS):
        conc = result.concentration[result.concentration[c.KIND] == kind]
        if conc.empty:
            continue
        hot = conc[conc[c.CONCENTRATED].astype(bool)]
        for row in hot.head(limit).to_dict("records"):
            out.append(_concentrated(row, key, c.REASON, kind))
        if hot.empty:
            pareto = result.pareto[result.pareto[c.KIND] == kind]
            totals = pareto.groupby(c.REASON)[c.N_COUNT].sum()
            top, n = totals.idxmax(), int(totals.sum())
            share = rate_with_interval(totals[top], n, alpha=result.alpha)
            rate, low, high = (float(v[0]) for v in share)
            what = "disqualification reason" if kind == c.KIND_DISQUALIFICATION else "loss reason"
            out.append(
                f"No {what} concentrates in one of the {groups} "
                f"(after {result.correction} adjustment); "
                f"the most frequent is '{top}', {format_rate(rate, low, high)} of "
                f"{format_count(n)} {_OF_WHAT[kind]}."
            )
    themes = result.themes
    if len(themes):
        top = themes.iloc[0].to_dict()
        sentence = (
            f"Of the {format_count(top[c.N_COMMENTS])} {_OF_WHAT[c.THEME]} on deals that came "
            f"from leads, {format_rate(top[c.SHARE], top[c.CI_LOW], top[c.CI_HIGH])} mention "
            f"{top[c.THEME]}"
        )
        hot = result.theme_concentration[result.theme_concentration[c.CONCENTRATED].astype(bool)]
        if hot.empty:
            sentence += f"; no theme concentrates in one of the {groups}."
        else:
            sentence += "."
        out.append(sentence)
        for row in hot.head(limit).to_dict("records"):
            text = _concentrated(row, key, c.THEME, c.THEME)
            out.append(text.replace(f"'{row[c.THEME]}' is", f"'{row[c.THEME]}' comes up in", 1))
    out.extend(_NOTE_WORDS.get(note, note) for note in result.notes)
    return out


def _money_interval(value: float, low: float, high: float) -> str:
    if is_missing(value):
        return "n/a"
    if is_missing(low) or is_missing(high):
        return f"{format_money(value)} (no interval)"
    return f"{format_money(value)} [{format_money(low)}–{format_money(high)}]"


_REVENUE = (c.REVENUE_PER_LEAD, c.REVENUE_CI_LOW, c.REVENUE_CI_HIGH)


def quality_sentences(result: SourceQuality) -> list[str]:
    """Revenue per lead of the best and worst group, then each group's win rate and CAC."""
    table, key = result.table, result.by
    rows = table[table[c.REVENUE_PER_LEAD].notna()].to_dict("records")
    out = []
    if len(rows) >= 2:
        best, worst = rows[0], rows[-1]
        most = _money_interval(*(best[k] for k in _REVENUE))
        least = _money_interval(*(worst[k] for k in _REVENUE))
        out.append(
            f"{_label(best, (key,))} leads bring the most won revenue per lead, {most}; "
            f"{_label(worst, (key,), capital=False)} leads the least, {least}."
        )
    for row in table.to_dict("records"):
        label = _label(row, (key,))
        if row[c.N_MQL] == 0:
            out.append(f"{label}: no MQLs.")
            continue
        sentence = (
            f"{label}: {format_count(row[c.N_MQL])} MQLs became {format_count(row[c.N_DEALS])} "
            f"deals ({format_money(row[c.PIPELINE_AMOUNT])} of pipeline), of which "
            f"{format_rate(row[c.WIN_RATE], row[c.WIN_CI_LOW], row[c.WIN_CI_HIGH])} of those "
            f"closed were won ({format_money(row[c.WON_AMOUNT])})"
        )
        if not is_missing(row[c.CAC]):
            sentence += (
                f"; CAC {_money_interval(row[c.CAC], row[c.CAC_CI_LOW], row[c.CAC_CI_HIGH])}"
            )
        out.append(sentence + ".")
    notes = set(table[c.CAC_NOTE]) if len(table) else set()
    if c.NOTE_NO_SPEND_TABLE in notes:
        out.append("No spend is recorded, so no acquisition cost per source.")
    elif c.NOTE_CAC_NEEDS_SOURCE in notes:
        out.append("Spend is recorded per channel, not per campaign: CAC is given by source.")
    return out
