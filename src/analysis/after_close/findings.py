"""Findings after the close in words, generated from the results.

Every rate is printed with its interval (at the result's ``alpha``);
differences with their interval and adjusted p-value; associations between
how a deal was sold and what followed are never called causes.
"""

from __future__ import annotations

import pandas as pd

from analysis.after_close import columns as c
from analysis.after_close.first_year import STILL_BUYING_RATE, FirstYear
from analysis.after_close.lifetime import CustomerValue
from analysis.after_close.onboarding import OnboardingTime
from analysis.after_close.repeat import RepeatPurchase
from analysis.after_close.retention import RevenueRetention
from analysis.after_close.value import ValueAfterSale
from analysis.present.formatting import (
    format_count,
    format_days,
    format_money,
    format_p_value,
    format_points,
    format_rate,
    is_missing,
)

__all__ = [
    "first_year_sentences",
    "onboarding_sentences",
    "repeat_sentences",
    "retention_sentences",
    "value_sentences",
    "worth_sentences",
]

_GROUP_WORDS = {
    c.CHANNEL: "channels", c.OWNER_ID: "reps", c.SEGMENT: "segments", c.REGION: "regions",
    c.PRODUCT: "products", c.COHORT: "cohorts", c.DISCOUNT: "discount levels",
    c.SIZE_BAND: "deal sizes",
}  # fmt: skip
_MEASURE_WORDS = {
    c.NRR: "net revenue retention", c.GRR: "gross revenue retention",
    c.LOGO_CHURN: "the share of accounts lost within the year",
    f"{c.CHANGE_EXPANSION}_{c.PER_MONTH}": "expansions per account-month",
    f"{c.CHANGE_CONTRACTION}_{c.PER_MONTH}": "contractions per account-month",
    f"{c.CHANGE_CHURN}_{c.PER_MONTH}": "churns per account-month",
}  # fmt: skip


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _others(by: tuple[str, ...]) -> str:
    return "the other " + (_GROUP_WORDS.get(by[0], "groups") if len(by) == 1 else "groups")


def _group_phrase(by: tuple[str, ...], group: str) -> str:
    if by == (c.CHANNEL,):
        return f"customers won through {group}"
    if by == (c.DISCOUNT,):
        return f"accounts sold at {group} off"
    if by == (c.SIZE_BAND,):
        return f"{group} deals"
    return str(group)


def _comparison_sentences(
    comparison: pd.DataFrame, by: tuple[str, ...], what: str, higher: str, lower: str
) -> list[str]:
    out = []
    for row in comparison[comparison[c.SIGNIFICANT]].to_dict("records"):
        word = higher if row[c.DIFFERENCE] > 0 else lower
        out.append(
            f"{_first_upper(_group_phrase(by, row[c.GROUP]))} {word}: {what} "
            f"{row[c.VALUE]:.1%} against {row[c.VALUE_REST]:.1%} for {_others(by)} "
            f"({format_points(row[c.DIFFERENCE], row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH])}, "
            f"adjusted {format_p_value(row[c.P_ADJUSTED])})."
        )
    return out


def repeat_sentences(result: RepeatPurchase) -> list[str]:
    """How many customers order again within the window, how soon, and which groups differ."""
    table = result.at_window()
    days = f"{result.window_days:g} days"
    if table.empty:
        return []
    if not result.by:
        row = table.iloc[0]
        text = (
            f"{format_rate(row[c.REPEAT_RATE], row[c.REPEAT_CI_LOW], row[c.REPEAT_CI_HIGH])} of "
            f"{format_count(row[c.N_CUSTOMERS])} customers order again within {days} of "
            "their first order (Kaplan–Meier, customers not back yet counted for as long as "
            "they have been watched)"
        )
        if is_missing(row[c.MEDIAN_DAYS]):
            return [text + "; fewer than half are back by the end of the data."]
        median = format_days(row[c.MEDIAN_DAYS], row[c.MEDIAN_CI_LOW], row[c.MEDIAN_CI_HIGH])
        return [text + f"; half are back within {median}."]
    out = _comparison_sentences(
        result.comparison, result.by, f"a second order within {days} for",
        "come back more", "come back less",
    )  # fmt: skip
    if not out and len(table) > 1:
        out.append(
            f"No {_GROUP_WORDS.get(result.by[0], 'group')[:-1]} differs from the others in "
            f"repeat purchases beyond noise (log-rank {format_p_value(result.logrank[2])})."
        )
    return out


def retention_sentences(result: RevenueRetention) -> list[str]:
    """Retention overall (or which groups differ), and the monthly change rates."""
    table = result.table
    months = result.horizon_months
    if table.empty:
        return []
    if not result.by:
        row = table.iloc[0]
        if row[c.N_OBSERVED] == 0:
            return [
                f"No account started at least {months} months before the end of the data, so "
                "retention after a year cannot be measured yet."
            ]
        out = [
            f"Of the {format_count(row[c.N_OBSERVED])} accounts that started at least "
            f"{months} months ago, net revenue retention after {months} months is "
            f"{format_rate(row[c.NRR], row[c.NRR_CI_LOW], row[c.NRR_CI_HIGH])} and gross "
            f"{format_rate(row[c.GRR], row[c.GRR_CI_LOW], row[c.GRR_CI_HIGH])}; "
            f"{format_rate(row[c.LOGO_CHURN], row[c.LOGO_CHURN_CI_LOW], row[c.LOGO_CHURN_CI_HIGH])}"
            " of them churned within the year."
        ]
        if row[c.RENEWALS_DUE] > 0:
            out.append(
                f"{format_rate(row[c.RENEWAL_RATE], row[c.RENEWAL_CI_LOW], row[c.RENEWAL_CI_HIGH])}"
                f" of {format_count(row[c.RENEWALS_DUE])} renewals that came due were renewed."
            )
        rates = result.changes.set_index(c.CHANGE)
        parts = [
            f"{name} {100 * rates.loc[kind, c.PER_MONTH]:.1f}% "
            f"[{100 * rates.loc[kind, c.PER_MONTH_CI_LOW]:.1f}–"
            f"{100 * rates.loc[kind, c.PER_MONTH_CI_HIGH]:.1f}]"
            for kind, name in ((c.CHANGE_EXPANSION, "expand"),
                               (c.CHANGE_CONTRACTION, "contract"), (c.CHANGE_CHURN, "churn"))
            if kind in rates.index and not is_missing(rates.loc[kind, c.PER_MONTH])
        ]  # fmt: skip
        if parts:
            out.append("In a given month, accounts " + ", ".join(parts) + " of the time.")
        return out
    out = []
    for measure, what in _MEASURE_WORDS.items():
        part = result.comparison[result.comparison[c.MEASURE] == measure]
        for row in part[part[c.SIGNIFICANT]].to_dict("records"):
            word = "higher" if row[c.DIFFERENCE] > 0 else "lower"
            value = (f"{row[c.VALUE]:.1%} against {row[c.VALUE_REST]:.1%}"
                     if c.PER_MONTH not in measure else
                     f"{100 * row[c.VALUE]:.1f}% against {100 * row[c.VALUE_REST]:.1f}%")  # fmt: skip
            out.append(
                f"{_first_upper(_group_phrase(result.by, row[c.GROUP]))}: {what} is {word}, "
                f"{value} for {_others(result.by)} "
                f"({format_points(row[c.DIFFERENCE], row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH])}, "
                f"adjusted {format_p_value(row[c.P_ADJUSTED])})."
            )
    if not out and len(table) > 1:
        out.append(
            f"No {_GROUP_WORDS.get(result.by[0], 'group')[:-1]} differs from the others in "
            "retention, expansion or churn beyond noise."
        )
    return out


def onboarding_sentences(result: OnboardingTime) -> list[str]:
    """How long won deals take to go live, and which groups take longer."""
    table = result.at_window()
    if table.empty:
        return []
    window = f"{result.window_days:g} days"
    if not result.by:
        row = table.iloc[0]
        median = format_days(row[c.MEDIAN_DAYS], row[c.MEDIAN_CI_LOW], row[c.MEDIAN_CI_HIGH])
        return [
            f"Half of the {format_count(row[c.N_WON])} won deals with an onboarding go live "
            f"within {median} of the close; "
            f"{format_rate(row[c.LIVE_RATE], row[c.LIVE_CI_LOW], row[c.LIVE_CI_HIGH])} are live "
            f"within {window} (Kaplan–Meier, deals not live yet counted as still running)."
        ]
    return _comparison_sentences(
        result.comparison, result.by, f"live within {window} for",
        "go live sooner", "take longer to go live",
    )  # fmt: skip


def value_sentences(result: ValueAfterSale) -> list[str]:
    """The ways of selling that go with a better or worse first year, beyond noise."""
    out = []
    table = result.table
    words = {c.MEASURE_REPEAT: ("ordered again within a year", "B2C customers"),
             c.MEASURE_CHURN: ("churned within a year", "B2B accounts")}  # fmt: skip
    for row in table[table[c.SIGNIFICANT]].to_dict("records"):
        did, who = words[row[c.MEASURE]]
        odds = (
            f"odds ratio {row[c.ODDS_RATIO]:.2f} [{row[c.OR_CI_LOW]:.2f}–{row[c.OR_CI_HIGH]:.2f}]"
        )
        if row[c.FACTOR] == c.FACTOR_CYCLE:
            how = "per doubling of the sales cycle"
            subject = f"{who} with longer sales cycles"
        else:
            how = f"against {row[c.REFERENCE]}"
            subject = f"{who} whose deal's {row[c.FACTOR].replace('_', ' ')} was {row[c.LEVEL]}"
        more = "more often" if row[c.ODDS_RATIO] > 1 else "less often"
        out.append(
            f"{_first_upper(subject)} {did} {more}: {odds} {how}, adjusted for deal size, "
            f"region and the other factors (adjusted {format_p_value(row[c.P_ADJUSTED])}). "
            "This is an association, not proof that selling this way causes it."
        )
    if not out and len(table):
        out.append(
            "Nothing in how deals were sold (" + ", ".join(
                f.replace("_", " ") for f in result.factors) + ") goes with the first year "
            "after the close beyond noise."
        )  # fmt: skip
    return out


def worth_sentences(result: CustomerValue) -> list[str]:
    """First-year value against CAC: the best and the worst channel."""
    t = result.table.dropna(subset=[c.VALUE_TO_CAC])
    if len(t) < 1:
        return []
    best, worst = t.iloc[0], t.iloc[-1]

    def ratio(row) -> str:
        low, high = row[c.VALUE_TO_CAC_CI_LOW], row[c.VALUE_TO_CAC_CI_HIGH]
        if is_missing(low) or is_missing(high):
            return f"{row[c.VALUE_TO_CAC]:.1f}× (no interval: too few customers)"
        return f"{row[c.VALUE_TO_CAC]:.1f}× [{low:.1f}–{high:.1f}]"

    text = (
        f"In its first year a customer won through {best[c.CHANNEL]} brings "
        f"{format_money(best[c.VALUE_FIRST_YEAR])} of revenue, {ratio(best)} its acquisition "
        f"cost at a {result.gross_margin:.0%} gross margin"
    )
    if len(t) > 1:
        text += f"; through {worst[c.CHANNEL]}, {ratio(worst)}"
    return [text + " (first-year value only: a floor of the lifetime's)."]


def first_year_sentences(result: FirstYear) -> list[str]:
    """The two segments a year after the close: still buying, and the value of the year."""
    comp = result.comparison.set_index(c.MEASURE)
    if STILL_BUYING_RATE not in comp.index:
        return []
    table = result.table.set_index(c.SEGMENT)
    share, value = comp.loc[STILL_BUYING_RATE], comp.loc[c.VALUE_FIRST_YEAR]
    a, b = table.loc[share["a"]], table.loc[share["b"]]

    def rate(row) -> str:
        return format_rate(row[STILL_BUYING_RATE], row[c.RATE_CI_LOW], row[c.RATE_CI_HIGH])

    return [
        f"A year after the close, {rate(a)} of {share['a']} customers are still buying "
        f"against {rate(b)} of {share['b']} customers "
        f"({format_points(share[c.DIFFERENCE], share[c.DIFF_CI_LOW], share[c.DIFF_CI_HIGH])}, "
        f"{format_p_value(share[c.P_VALUE])}); still buying means a second order within the "
        "year for a buyer of orders and no churn within it for a subscription. Their first "
        f"year brings {format_money(value[c.VALUE])} per {share['a']} customer against "
        f"{format_money(value[c.VALUE_REST])} per {share['b']} customer "
        f"(Welch {format_p_value(value[c.P_VALUE])})."
    ]
