"""The after-the-close tables and charts as a page shows them: the columns a reader needs."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from analysis.after_close import columns as c
from analysis.after_close.lifetime import CustomerValue
from analysis.after_close.onboarding import OnboardingTime
from analysis.after_close.repeat import RepeatPurchase
from analysis.after_close.retention import RevenueRetention
from analysis.after_close.survival_tables import group_labels
from analysis.after_close.value import ValueAfterSale
from analysis.present.plot_style import (
    finding_title,
    new_figure,
    nothing_to_plot,
    points_with_intervals,
)

__all__ = [
    "CHANGES_PERCENT",
    "REPEAT_PERCENT",
    "RETENTION_PERCENT",
    "VALUE_PERCENT",
    "WORTH_MONEY",
    "cohort_grid",
    "curve_chart",
    "readable_changes",
    "readable_onboarding",
    "readable_repeat",
    "readable_retention",
    "readable_value",
    "readable_worth",
    "retention_chart",
]

REPEAT_PERCENT = (c.REPEAT_RATE, c.REPEAT_CI_LOW, c.REPEAT_CI_HIGH, c.LIVE_RATE, c.LIVE_CI_LOW,
                  c.LIVE_CI_HIGH)  # fmt: skip
RETENTION_PERCENT = (c.GRR, c.GRR_CI_LOW, c.GRR_CI_HIGH, c.NRR, c.NRR_CI_LOW, c.NRR_CI_HIGH,
                     c.LOGO_CHURN, c.LOGO_CHURN_CI_LOW, c.LOGO_CHURN_CI_HIGH, c.RENEWAL_RATE,
                     c.RENEWAL_CI_LOW, c.RENEWAL_CI_HIGH)  # fmt: skip
CHANGES_PERCENT = (c.PER_MONTH, c.PER_MONTH_CI_LOW, c.PER_MONTH_CI_HIGH)
VALUE_PERCENT = (c.OUTCOME_RATE, c.RATE_CI_LOW, c.RATE_CI_HIGH)
WORTH_MONEY = (c.VALUE_FIRST_YEAR, c.VALUE_CI_LOW, c.VALUE_CI_HIGH, c.CAC, c.CAC_CI_LOW,
               c.CAC_CI_HIGH)  # fmt: skip


def readable_repeat(result: RepeatPurchase) -> pd.DataFrame:
    """Per group: customers, those back, the repeat rate at each horizon, median days."""
    at = result.at_window()
    shown = [*result.by, c.N_CUSTOMERS, c.N_REPEAT, c.N_ORDERS, c.REPEAT_RATE, c.REPEAT_CI_LOW,
             c.REPEAT_CI_HIGH, c.MEDIAN_DAYS, c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH]  # fmt: skip
    return at[shown]


def readable_onboarding(result: OnboardingTime) -> pd.DataFrame:
    """Per group: won deals, live, the share live at the window, median days to go-live."""
    at = result.at_window()
    shown = [*result.by, c.N_WON, c.N_LIVE, c.LIVE_RATE, c.LIVE_CI_LOW, c.LIVE_CI_HIGH,
             c.MEDIAN_DAYS, c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH]  # fmt: skip
    return at[shown]


def cohort_grid(result: RepeatPurchase, months: int = 12) -> pd.DataFrame:
    """Share of each group's customers ordering in month 1..``months`` after the first order."""
    t = result.cohorts
    t = t[t[c.MONTHS_SINCE] <= months]
    if t.empty:
        return pd.DataFrame()
    index = list(result.by) or None
    if index is None:
        return t.set_index(c.MONTHS_SINCE)[[c.ACTIVE_RATE]].T.rename(index={c.ACTIVE_RATE: "all"})
    grid = t.pivot_table(index=index, columns=c.MONTHS_SINCE, values=c.ACTIVE_RATE)
    grid.columns = [f"month {m}" for m in grid.columns]
    return grid.reset_index()


def readable_retention(result: RevenueRetention) -> pd.DataFrame:
    """Per group: accounts, NRR, GRR, logo churn and renewal rate with intervals."""
    shown = [*result.by, c.N_ACCOUNTS, c.N_OBSERVED, c.NRR, c.NRR_CI_LOW, c.NRR_CI_HIGH, c.GRR,
             c.GRR_CI_LOW, c.GRR_CI_HIGH, c.LOGO_CHURN, c.LOGO_CHURN_CI_LOW,
             c.LOGO_CHURN_CI_HIGH, c.RENEWAL_RATE, c.RENEWAL_CI_LOW, c.RENEWAL_CI_HIGH]  # fmt: skip
    return result.table[shown]


def readable_changes(result: RevenueRetention) -> pd.DataFrame:
    """Expansions, contractions and churns per account-month, per group."""
    return result.changes[[*result.by, c.CHANGE, c.N_EVENTS, c.ACCOUNT_MONTHS, *CHANGES_PERCENT]]


def readable_value(result: ValueAfterSale) -> pd.DataFrame:
    """The odds-ratio table without its message column."""
    return result.table.drop(columns=[c.NOTE])


def readable_worth(result: CustomerValue) -> pd.DataFrame:
    """Per channel: first-year value, CAC and their ratio."""
    return result.table.drop(columns=[c.NOTE])


def curve_chart(result: RepeatPurchase | OnboardingTime, finding: str = "") -> Figure:
    """Kaplan–Meier curves: the share back (or live) against days, one line per group."""
    fig, ax = new_figure()
    curves = result.curves
    if nothing_to_plot(ax, curves, "nobody came back or went live yet"):
        return fig
    groups = curves.groupby(list(result.by)) if result.by else [("all", curves)]
    for label, part in groups:
        name = " · ".join(map(str, label)) if isinstance(label, tuple) else str(label)
        ax.step(part[c.DAYS], 1 - part[c.SURVIVAL], where="post", label=name)
    ax.axvline(result.window_days, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("days since the first order" if isinstance(result, RepeatPurchase)
                  else "days since the close")  # fmt: skip
    ax.set_ylabel("share back" if isinstance(result, RepeatPurchase) else "share live")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    if result.by:
        ax.legend(title=result.by[0], fontsize="small")
    finding_title(fig, finding, "Kaplan–Meier; dotted line: the comparison's horizon", ax)
    return fig


def retention_chart(result: RevenueRetention, finding: str = "") -> Figure:
    """NRR and GRR per group with their intervals."""
    fig, ax = new_figure()
    t = result.table[result.table[c.N_OBSERVED] > 0]
    if nothing_to_plot(ax, t, "no account is a year old yet"):
        return fig
    label = group_labels(t, result.by) if result.by else "all"
    long = pd.concat([
        pd.DataFrame({"group": label, "measure": name, "value": t[v], "low": t[lo],
                      "high": t[hi]})
        for name, v, lo, hi in (("NRR", c.NRR, c.NRR_CI_LOW, c.NRR_CI_HIGH),
                                ("GRR", c.GRR, c.GRR_CI_LOW, c.GRR_CI_HIGH))
    ])  # fmt: skip
    points_with_intervals(ax, long, "group", "value", "low", "high", "measure")
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylabel(f"revenue kept after {result.horizon_months} months")
    finding_title(fig, finding, "95% intervals; 100%: every account's revenue kept", ax)
    return fig
