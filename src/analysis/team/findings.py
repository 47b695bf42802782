"""Findings in words for team performance, acquisition cost, segments and history.

Every number in these sentences comes from a result object, so the text a
leader reads matches the tables beside it (see :mod:`analysis.present.narrative`).
"""

from __future__ import annotations

import pandas as pd

from analysis.present.formatting import (
    format_count,
    format_money,
    format_p_value,
    format_percent,
    format_points,
    format_rate,
    is_missing,
)
from analysis.present.page import no_sentence_for_skipped
from analysis.team import columns as c
from analysis.team.acquisition import PAID_CAC
from analysis.team.coaching import CoachingFocus
from analysis.team.history import (
    CI_HIGH_BASELINE,
    CI_HIGH_CURRENT,
    CI_LOW_BASELINE,
    CI_LOW_CURRENT,
    DEALS_PER_DAY,
    VALUE_BASELINE,
    VALUE_CURRENT,
    PeriodComparison,
)
from analysis.team.performance import POSITION_ABOVE, POSITION_BELOW, RepScorecard

__all__ = [
    "acquisition_sentences",
    "coaching_actions",
    "coaching_sentences",
    "history_sentences",
    "scorecard_sentences",
]


@no_sentence_for_skipped
def coaching_sentences(focus: CoachingFocus, names: dict | None = None, top: int = 3) -> list[str]:
    """One sentence per flagged (rep, stage), largest revenue at stake first.

    ``"Rep R01 loses at presentation: 48.4% [36.6–60.4] vs team 80.9%; ≈ $47k/quarter."``
    """
    flagged = focus.flagged().head(top)
    unassigned = (
        [
            f"{format_count(focus.n_unassigned)} deals without an owner are left out of the rep comparison."
        ]
        if focus.n_unassigned
        else []
    )
    if flagged.empty:
        return [
            "No rep converts significantly below their team at any stage after "
            f"{focus.correction} adjustment (alpha {focus.alpha:g})."
        ] + unassigned
    out = []
    for _, r in flagged.iterrows():
        who = (names or {}).get(r[c.OWNER_ID], r[c.OWNER_ID])
        money = r[c.REVENUE_AT_STAKE]
        tail = "" if is_missing(money) else f"; ≈ {format_money(money)}/quarter"
        out.append(
            f"Rep {who} loses at {r[c.STAGE]}: "
            f"{format_rate(r[c.REP_CONVERSION], r[c.CI_LOW], r[c.CI_HIGH], 0)} vs team "
            f"{format_percent(r[c.TEAM_CONVERSION], 0)}{tail} "
            f"(adjusted {format_p_value(r[c.P_ADJUSTED])})."
        )
    return out + unassigned


@no_sentence_for_skipped
def scorecard_sentences(scorecard: RepScorecard) -> list[str]:
    """Who lies outside the funnel-plot limits, and how much shrinkage mattered."""
    t = scorecard.table
    scored = t[t[c.N_CLOSED] > 0]
    below = scored.loc[scored[c.FUNNEL_POSITION] == POSITION_BELOW, c.OWNER_ID].tolist()
    above = scored.loc[scored[c.FUNNEL_POSITION] == POSITION_ABOVE, c.OWNER_ID].tolist()
    level = f"{100 * (1 - scorecard.alpha):.0f}%"
    out = [
        f"Of {len(scored)} reps with closed deals, {len(below)} "
        f"{'lies' if len(below) == 1 else 'lie'} below their team's "
        f"{level} funnel-plot limits ({', '.join(below) or 'none'}) and {len(above)} above "
        f"({', '.join(above) or 'none'}); the others are within chance of their team rate, "
        "so ranking them would rank noise."
    ]
    if len(scored):
        moved = (scored[c.WIN_RATE] - scored[c.SHRUNK_WIN_RATE]).abs()
        i = moved.idxmax()
        out.append(
            f"Shrinkage toward the team rate moves win rates by up to "
            f"{100 * moved.max():.1f} points (rep {scored.loc[i, c.OWNER_ID]}, "
            f"{int(scored.loc[i, c.N_CLOSED])} closed deals); shrunk rates range from "
            f"{format_percent(scored[c.SHRUNK_WIN_RATE].min())} to "
            f"{format_percent(scored[c.SHRUNK_WIN_RATE].max())}."
        )
    no_closed = t.loc[t[c.NOTE] == c.NOTE_NO_CLOSED_DEALS, c.OWNER_ID].tolist()
    if no_closed:
        out.append(f"No closed deals yet, so no win rate: {', '.join(no_closed)}.")
    return out


def acquisition_sentences(
    total: pd.DataFrame | None, coverage: pd.DataFrame | None, gross_margin: float, target: float
) -> list[str]:
    """Blended and paid CAC with payback, and pipeline coverage against the target.

    ``total`` is :func:`analysis.team.acquisition.acquisition_cost` with ``period=None``
    (one sentence per row; per segment with ``by="segment"``).
    """
    # None: a result the page skipped, which says why; it gives no sentence here.
    out = []
    if total is not None and not len(total):
        out.append("No spend and no new customer in the window: no acquisition cost.")
    total = pd.DataFrame() if total is None else total
    coverage = pd.DataFrame() if coverage is None else coverage
    for _, r in total.iterrows():
        scope = f" ({r[c.SEGMENT]})" if c.SEGMENT in total.columns else ""
        if is_missing(r[c.CAC]):
            out.append(
                f"Acquisition cost{scope} could not be computed ({r[c.NOTE] or 'no data'}); "
                f"spend was {format_money(r[c.SPEND_TOTAL])}."
            )
        else:
            payback = (
                "no payback: the won amounts could not be used (several currencies without "
                "exchange rates, or none recorded)"
                if is_missing(r[c.PAYBACK_MONTHS])
                else f"payback {r[c.PAYBACK_MONTHS]:.1f} months at a "
                f"{format_percent(gross_margin, 0)} gross margin"
            )
            out.append(
                f"Blended CAC{scope} {format_money(r[c.CAC])} [{format_money(r[c.CAC_CI_LOW])}–"
                f"{format_money(r[c.CAC_CI_HIGH])}] over {int(r[c.NEW_CUSTOMERS]):,} new "
                f"customers; paid-only {format_money(r[PAID_CAC])}; {payback}."
            )
    for _, r in coverage.iterrows():
        where = f" ({r[c.SEGMENT]})" if c.SEGMENT in coverage.columns else ""
        if is_missing(r[c.COVERAGE]):
            out.append(f"Pipeline coverage{where}: no revenue target to compare with.")
            continue
        verdict = "meets" if r[c.COVERAGE] >= target else "falls short of"
        out.append(
            f"Open pipeline{where} {format_money(r[c.OPEN_PIPELINE])} is {r[c.COVERAGE]:.1f}× "
            f"the next quarter's target of {format_money(r[c.REVENUE_TARGET])}, which "
            f"{verdict} the {target:g}× coverage target."
        )
    return out


@no_sentence_for_skipped
def history_sentences(comparison: PeriodComparison, label: str) -> list[str]:
    """Win rate, volume and revenue of the current window against the earlier one."""
    t = comparison.table.set_index(c.METRIC)
    cur, prev = comparison.current.label(), comparison.baseline.label()
    out = []
    r = t.loc[c.WIN_RATE]
    if not is_missing(r[c.DIFFERENCE]):
        out.append(
            f"{label}: deals created {cur} win "
            f"{format_rate(r[VALUE_CURRENT], r[CI_LOW_CURRENT], r[CI_HIGH_CURRENT])} "
            f"of those closed vs "
            f"{format_rate(r[VALUE_BASELINE], r[CI_LOW_BASELINE], r[CI_HIGH_BASELINE])} "
            f"for {prev} ({format_points(r[c.DIFFERENCE], r[c.DIFF_CI_LOW], r[c.DIFF_CI_HIGH])}, "
            f"{format_p_value(r[c.P_VALUE])})."
        )
    r = t.loc[DEALS_PER_DAY]
    if not is_missing(r[c.DIFFERENCE]):
        out.append(
            f"{label}: deal creation ran at {r[c.DIFFERENCE]:.2f}× the earlier rate "
            f"[{r[c.DIFF_CI_LOW]:.2f}–{r[c.DIFF_CI_HIGH]:.2f}]."
        )
    return out


def coaching_actions(focus: CoachingFocus | None, names: dict | None = None) -> list[dict]:
    """Flagged (rep, stage) cells as actions for the executive summary, money first.

    Returns ``{"action": sentence, "money": won revenue at stake a quarter}``
    per flagged cell with a money figure.
    """
    if focus is None:
        return []
    flagged = focus.flagged()
    flagged = flagged[flagged[c.REVENUE_AT_STAKE] > 0]
    out = []
    for r in flagged.sort_values(c.REVENUE_AT_STAKE, ascending=False).to_dict("records"):
        who = (names or {}).get(r[c.OWNER_ID], r[c.OWNER_ID])
        out.append(
            {
                "action": (
                    f"Coach {who} at {r[c.STAGE]}: {format_percent(r[c.REP_CONVERSION], 0)} "
                    f"advance against the team's {format_percent(r[c.TEAM_CONVERSION], 0)}, "
                    f"about {format_money(r[c.REVENUE_AT_STAKE])} of won revenue a quarter."
                ),
                "money": float(r[c.REVENUE_AT_STAKE]),
            }
        )
    return out
