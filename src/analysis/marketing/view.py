"""The marketing tables and charts as a page shows them: the columns a reader needs."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from analysis.marketing import columns as c
from analysis.marketing.feedback import MarketingFeedback
from analysis.marketing.funnel import LeadFunnel
from analysis.marketing.quality import SourceQuality
from analysis.marketing.speed import SpeedToLead
from analysis.present.plot_style import (
    finding_title,
    new_figure,
    nothing_to_plot,
    percent,
    points_with_intervals,
)

__all__ = [
    "CONCENTRATION_PERCENT",
    "FUNNEL_PERCENT",
    "QUALITY_MONEY",
    "QUALITY_PERCENT",
    "acceptance_chart",
    "readable_concentration",
    "readable_funnel",
    "readable_quality",
    "readable_response_times",
    "readable_speed",
]

# Columns of readable_funnel shown as percentages.
FUNNEL_PERCENT = (c.CONVERSION, c.CI_LOW, c.CI_HIGH, c.FROM_MQL)
_STEP_WORDS = {
    c.STEP_MQL: "MQL → accepted",
    c.STEP_ACCEPTED: "accepted → SQL",
    c.STEP_SQL: "SQL → deal",
    c.STEP_OPPORTUNITY: "deal → won",
    c.STEP_WON: "won",
}


def readable_funnel(funnel: LeadFunnel) -> pd.DataFrame:
    """Per group and step: advanced, rejected, waiting, the conversion and its interval, the
    share of MQLs that get this far, and the median days to the next step."""
    table = funnel.to_frame()
    table = table[table[c.STEP] != c.STEP_WON]  # the last step has nothing after it
    shown = [*funnel.by, c.STEP, *_FUNNEL_SHOWN]
    return table[shown].assign(**{c.STEP: table[c.STEP].map(_STEP_WORDS)})


_FUNNEL_SHOWN = [  # reached = advanced + rejected + waiting: left out so the table fits
    c.N_ADVANCED, c.N_REJECTED, c.N_WAITING, c.CONVERSION, c.CI_LOW, c.CI_HIGH,
    c.FROM_MQL, c.MEDIAN_DAYS, c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH,
]  # fmt: skip


def readable_speed(speed: SpeedToLead) -> pd.DataFrame:
    """The SQL rate per first-response band with its interval."""
    return speed.to_frame().drop(columns=[c.NOTE])


def readable_response_times(speed: SpeedToLead) -> pd.DataFrame:
    """Per group, the Kaplan–Meier median hours to the first response with its interval."""
    return speed.response_times.drop(columns=[c.NOTE])


def acceptance_chart(funnel: LeadFunnel) -> Figure:
    """The share of MQLs sales accepts, per group, with intervals: where hand-offs fail."""
    table = funnel.to_frame()
    part = table[(table[c.STEP] == c.STEP_MQL) & table[c.CONVERSION].notna()]
    fig, ax = new_figure(7.0, 3.8)
    if not funnel.by or nothing_to_plot(ax, part, "No MQL was decided by sales."):
        finding_title(fig, "Sales acceptance of MQLs")
        return fig
    key = funnel.by[-1]
    part = part.sort_values(c.CONVERSION)
    points_with_intervals(ax, part.assign(_x=part[key].astype(str)), "_x", c.CONVERSION,
                          c.CI_LOW, c.CI_HIGH, None)  # fmt: skip
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(key.replace("_", " "))
    ax.set_ylabel("MQLs accepted by sales")
    low, high = part.iloc[0], part.iloc[-1]
    title = f"Sales accepts {percent(low[c.CONVERSION])} of {low[key]} MQLs"
    if high[c.CI_LOW] > low[c.CI_HIGH]:
        title += f", {percent(high[c.CONVERSION])} of {high[key]}"
    finding_title(fig, title, "95% Wilson intervals; leads still waiting left out", ax)
    return fig


# Columns of readable_concentration shown as percentages.
CONCENTRATION_PERCENT = (
    "share", c.CI_LOW, c.CI_HIGH, "share_elsewhere", c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH,
)  # fmt: skip


def readable_concentration(feedback: MarketingFeedback) -> pd.DataFrame:
    """The reasons that concentrate in a group beyond noise (after the adjustment), largest first."""
    table = feedback.to_frame()
    table = table[table["concentrated"].fillna(False).astype(bool)]
    table = table.sort_values("difference", ascending=False)
    shown = [col for col in table.columns if col not in _CONCENTRATION_HIDDEN]
    return table[shown]


_CONCENTRATION_HIDDEN = {
    "total", "count_elsewhere", "total_elsewhere", "elsewhere_ci_low", "elsewhere_ci_high",
    c.P_VALUE, "concentrated", c.NOTE,
}  # fmt: skip
# Columns of readable_quality shown as percentages, and those holding money.
QUALITY_PERCENT = ("win_rate", "win_ci_low", "win_ci_high")
QUALITY_MONEY = (
    "pipeline_amount", "won_amount", "revenue_per_lead", "revenue_ci_low", "revenue_ci_high",
    "spend", "cac", "cac_ci_low", "cac_ci_high",
)  # fmt: skip


def readable_quality(quality: SourceQuality) -> pd.DataFrame:
    """Per source: leads, deals and wins, win rate, won revenue, revenue per lead and CAC."""
    table = quality.to_frame()
    hidden = {"lost", "open", c.NOTE, "cac_note", "new_customers"}
    return table[[col for col in table.columns if col not in hidden]]
