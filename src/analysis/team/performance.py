"""Rep performance without leaderboards: shrunk win rates and a funnel plot.

A rep with 8 closed deals and 6 wins tops a raw leaderboard by luck. Here
each rep's win rate is shrunk toward their team's rate by a hierarchical
Beta-binomial model (the fewer the deals, the stronger the pull), and
reps are shown on a funnel plot: rate against number of closed deals with
control limits, instead of a ranking. Row-level work (counts, revenue,
activities per rep) runs in the engine; the statistics run on one row per rep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis
import numpy as np
import pandas as pd

from analysis.core.types import SECONDS_PER_DAY, Window, WindowLike, as_window, to_utc
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import series_to_utc
from analysis.engine.journey import data_cutoff
from analysis.engine.needs import CLOSE_DATES, OWNERS
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle import (
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    time_to_close,
)
from analysis.pipeline.funnel import WinRates, win_rates
from analysis.stats.rates import rate_with_interval
from analysis.stats.shrinkage import (
    SHRUNK_RATE,
    BetaPrior,
    fit_beta_prior,
    funnel_limits,
    shrink_rates,
)
from analysis.team import columns as c

__all__ = ["RepScorecard", "rep_scorecard", "bounded_window", "win_rates_by_rep"]

ShrinkToward = Literal["team", "all"]
DAYS_PER_MONTH = 365.25 / 12
POSITION_BELOW, POSITION_WITHIN, POSITION_ABOVE = "below", "within", "above"

ALL_REPS = "all reps"  # team label when shrinking toward the whole team of reps


PAGE_COLUMNS = (
    c.OWNER_ID, c.NAME, c.TEAM, c.N_DEALS, c.N_CLOSED, c.WIN_RATE, c.CI_LOW, c.CI_HIGH,
    c.TEAM_WIN_RATE, c.SHRUNK_WIN_RATE, c.REVENUE_PER_REP_MONTH, c.MEDIAN_CYCLE_DAYS,
    c.FUNNEL_POSITION, c.NOTE,
)  # fmt: skip


@dataclass(frozen=True)
class RepScorecard:
    """Per-rep measures with shrunk win rates and funnel-plot positions.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per rep (``owner_id``): ``name, team, deals, won, lost, open,
        closed, win_rate, ci_low, ci_high, team_win_rate, shrunk_win_rate,
        shrunk_ci_low, shrunk_ci_high, shrinkage_weight, won_amount,
        tenure_months, revenue_per_rep_month, avg_won_deal, median_cycle_days,
        median_cycle_ci_low, median_cycle_ci_high, activities,
        activities_per_deal, limit_low, limit_high, funnel_position, note``.
    funnel : pandas.DataFrame
        Control-limit curves for the plot: ``team, closed, team_win_rate,
        limit_low, limit_high`` (at ``alpha``) and ``limit_low_999,
        limit_high_999`` (at 0.002).
    prior : BetaPrior
    window : Window or None
        Creation-date window of the deals scored.
    alpha : float
    """

    table: pd.DataFrame
    funnel: pd.DataFrame
    prior: BetaPrior
    window: Window | None
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The scorecard as a DataFrame (a copy)."""
        return self.table.copy()

    def page_frame(self) -> pd.DataFrame:
        """The columns a page shows (:data:`PAGE_COLUMNS`); the CSV keeps them all.

        Twenty-seven columns do not fit a printed page or a phone; counts of
        lost and open deals, activity and interval bounds of the cycle stay
        in ``to_frame()``.
        """
        return self.table[[col for col in PAGE_COLUMNS if col in self.table]].copy()


def bounded_window(ws: Workspace, window: WindowLike | None) -> Window | None:
    """``window`` with open sides closed by the data: its first creation date, its cut-off."""
    window = as_window(window)
    if window is None or window.as_tuple() == (None, None):
        return None
    if window.start is not None and window.end is not None:
        return window
    start, end = window.as_tuple()
    cutoff = data_cutoff(ws)
    lo = to_utc(start) if start is not None else to_utc(ws.execute(ws.deals[c.CREATED_AT].min()))
    hi = to_utc(end) if end is not None else (cutoff + pd.Timedelta(days=1)).normalize()
    if hi <= lo:
        raise ValueError(f"window end ({end}) must come after its start ({start}).")
    return Window(lo, hi)


def _rep_counts(ws: Workspace, deals: ibis.Table) -> pd.DataFrame:
    deals = deals.filter(deals[c.OWNER_ID].notnull())
    outcome, amount = deals[c.OUTCOME], deals[c.AMOUNT]
    expr = deals.group_by(c.OWNER_ID).aggregate(
        **{
            c.N_DEALS: deals.count(),
            c.N_WON: (outcome == c.WON).cast("int64").sum(),
            c.N_LOST: (outcome == c.LOST).cast("int64").sum(),
            c.N_OPEN: (outcome == c.OPEN).cast("int64").sum(),
            c.WON_AMOUNT: amount.sum(where=outcome == c.WON),
            "_first_created": deals[c.CREATED_AT].min(),
        }
    )
    return ws.execute(expr)


def _activities(ws: Workspace, deals: ibis.Table) -> pd.DataFrame:
    acts = ws.activities
    per_deal = acts.group_by(c.DEAL_ID).aggregate(_n=acts.count())
    joined = deals.select(c.DEAL_ID, c.OWNER_ID).left_join(per_deal, c.DEAL_ID)
    expr = joined.group_by(c.OWNER_ID).aggregate(
        **{c.N_ACTIVITIES: joined["_n"].fill_null(0).sum()}
    )
    return ws.execute(expr)


def _reps(ws: Workspace) -> pd.DataFrame:
    if not ws.has(c.REPS):
        return pd.DataFrame(columns=[c.OWNER_ID])
    reps = ws.execute(ws.reps)
    keep = [col for col in (c.REP_ID, c.NAME, c.TEAM, c.HIRED_AT) if col in reps.columns]
    return reps[keep].drop_duplicates(c.REP_ID).rename(columns={c.REP_ID: c.OWNER_ID})


def _tenure_months(table: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Months each rep was on the team within ``[start, end)``."""
    if c.HIRED_AT in table.columns:
        hired = series_to_utc(table[c.HIRED_AT])
    else:
        hired = pd.Series(pd.NaT, index=table.index, dtype="datetime64[us, UTC]")
    first = series_to_utc(table["_first_created"])
    began = hired.fillna(first).clip(lower=start)
    days = (end - began).dt.total_seconds() / SECONDS_PER_DAY
    return (days / DAYS_PER_MONTH).clip(lower=0)


def rep_scorecard(
    ws: Workspace,
    window: WindowLike | None = None,
    alpha: float = 0.05,
    *,
    shrink_toward: ShrinkToward = "team",
) -> RepScorecard:
    """Per-rep deals, win rate raw and shrunk, revenue per rep-month, cycle and activity.

    Parameters
    ----------
    ws : Workspace
        Deals need ``owner_id``; ``reps`` (name, team, hired_at) and
        ``activities`` are used when present.
    window : Window or (start, end), optional
        Creation-date window of the deals scored; None scores every deal.
    alpha : float
        1 - confidence level of intervals and funnel-plot limits.
    shrink_toward : {"team", "all"}
        Prior mean of each rep: their team's rate (``reps.team``; all reps
        when there is no team) or the rate of all reps.

    Returns
    -------
    RepScorecard

    Notes
    -----
    - ``win_rate = won / (won + lost)`` with a Wilson interval; open deals are
      neither.
    - ``shrunk_win_rate``: posterior mean of the rep's rate under the
      hierarchical Beta-binomial model of
      :func:`analysis.stats.shrinkage.fit_beta_prior` (each team a group, one
      spread for all), with its equal-tailed posterior interval, which carries
      the uncertainty in the team's mean rate and in the spread
      (:func:`~analysis.stats.shrinkage.shrink_rates`).
    - ``revenue_per_rep_month = won_amount / tenure_months``; tenure runs from
      ``max(hired_at, window start)`` (without ``hired_at``: the rep's first
      deal) to the window end (default: the data cutoff), in months of
      365.25/12 days.
    - ``median_cycle_days``: Kaplan–Meier median time from creation to close
      with open deals censored (:func:`analysis.pipeline.cycle.time_to_close`).
    - ``activities_per_deal``: activities logged on the rep's deals / deals.
    - ``funnel_position``: raw rate below, within or above the funnel-plot
      limits of the team rate at the rep's number of closed deals.

    Note codes: ``no_closed_deals`` (rate NaN; shrunk rate and interval are
    those of a new rep of the team), ``no_tenure``.
    """
    if shrink_toward not in ("team", "all"):
        raise ValueError(f"shrink_toward must be 'team' or 'all', not {shrink_toward!r}.")
    OWNERS.check(ws)
    window = bounded_window(ws, window)
    deals = deals_created_in(ws, window)
    table = _rep_counts(ws, deals)
    table[c.OWNER_ID] = table[c.OWNER_ID].astype(str)
    reps = _reps(ws)
    if len(reps):
        reps[c.OWNER_ID] = reps[c.OWNER_ID].astype(str)
        table = table.merge(reps, on=c.OWNER_ID, how="left")
    if c.NAME not in table.columns:
        table[c.NAME] = table[c.OWNER_ID]
    if shrink_toward == "all" or c.TEAM not in table.columns:
        table[c.TEAM] = ALL_REPS
    table[c.TEAM] = table[c.TEAM].fillna(ALL_REPS).astype(str)
    table = table.sort_values(c.OWNER_ID).reset_index(drop=True)

    won, lost = table[c.N_WON].astype("int64"), table[c.N_LOST].astype("int64")
    closed = won + lost
    table[c.N_CLOSED] = closed
    rate, low, high = rate_with_interval(won, closed, alpha=alpha)
    table[c.WIN_RATE], table[c.CI_LOW], table[c.CI_HIGH] = rate, low, high
    prior = fit_beta_prior(won, closed, table[c.TEAM])
    table[c.TEAM_WIN_RATE] = table[c.TEAM].map(prior.group_rate).astype(float)
    shrunk = shrink_rates(won, closed, table[c.TEAM], alpha, prior=prior)
    shrunk = shrunk.rename(columns={SHRUNK_RATE: c.SHRUNK_WIN_RATE})
    table = pd.concat([table, shrunk], axis=1)

    cutoff = data_cutoff(ws)
    start = window.start if window else series_to_utc(table["_first_created"]).min()
    end = window.end if window else cutoff
    table[c.WON_AMOUNT] = table[c.WON_AMOUNT].fillna(0.0).astype(float)
    table[c.TENURE_MONTHS] = _tenure_months(table, start, min(end, cutoff))
    tenure = table[c.TENURE_MONTHS].where(table[c.TENURE_MONTHS] > 0)
    table[c.REVENUE_PER_REP_MONTH] = table[c.WON_AMOUNT] / tenure
    table[c.AVG_WON_DEAL] = table[c.WON_AMOUNT] / won.where(won > 0)

    scoped = ws.with_table(c.DEALS, deals)
    # Without close dates the cycle columns stay empty; the rest of the scorecard stands.
    no_dates = bool(CLOSE_DATES.missing(scoped))
    cycle = (
        pd.DataFrame() if no_dates else time_to_close(scoped, c.OWNER_ID, alpha=alpha).to_frame()
    )
    cycle = cycle.rename(
        columns={KM_MEDIAN_DAYS: c.MEDIAN_CYCLE_DAYS, KM_MEDIAN_CI_LOW: c.MEDIAN_CYCLE_CI_LOW,
                 KM_MEDIAN_CI_HIGH: c.MEDIAN_CYCLE_CI_HIGH}
    )  # fmt: skip
    cycle_cols = [c.MEDIAN_CYCLE_DAYS, c.MEDIAN_CYCLE_CI_LOW, c.MEDIAN_CYCLE_CI_HIGH]
    if len(cycle) and c.MEDIAN_CYCLE_DAYS in cycle.columns:
        cycle[c.OWNER_ID] = cycle[c.OWNER_ID].astype(str)
        table = table.merge(cycle[[c.OWNER_ID, *cycle_cols]], on=c.OWNER_ID, how="left")
    else:
        for col in cycle_cols:
            table[col] = np.nan

    if ws.has(c.ACTIVITIES):
        acts = _activities(ws, deals)
        acts[c.OWNER_ID] = acts[c.OWNER_ID].astype(str)
        table = table.merge(acts, on=c.OWNER_ID, how="left")
        table[c.N_ACTIVITIES] = table[c.N_ACTIVITIES].fillna(0).astype("int64")
        table[c.ACTIVITIES_PER_DEAL] = table[c.N_ACTIVITIES] / table[c.N_DEALS]
    else:
        table[c.N_ACTIVITIES] = pd.array([pd.NA] * len(table), dtype="Int64")
        table[c.ACTIVITIES_PER_DEAL] = np.nan

    lo, hi = funnel_limits(table[c.TEAM_WIN_RATE], table[c.N_CLOSED], alpha)
    table[c.LIMIT_LOW], table[c.LIMIT_HIGH] = lo, hi
    table[c.FUNNEL_POSITION] = np.select(
        [table[c.N_CLOSED] == 0, table[c.WIN_RATE] < lo, table[c.WIN_RATE] > hi],
        ["", POSITION_BELOW, POSITION_ABOVE],
        default=POSITION_WITHIN,
    )
    table[c.NOTE] = np.select(
        [closed == 0, tenure.isna()],
        [c.NOTE_NO_CLOSED_DEALS, c.NOTE_NO_TENURE],
        default="",
    )
    order = [
        c.OWNER_ID, c.NAME, c.TEAM, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN, c.N_CLOSED,
        c.WIN_RATE, c.CI_LOW, c.CI_HIGH, c.TEAM_WIN_RATE, c.SHRUNK_WIN_RATE, c.SHRUNK_CI_LOW,
        c.SHRUNK_CI_HIGH, c.SHRINKAGE_WEIGHT, c.WON_AMOUNT, c.TENURE_MONTHS,
        c.REVENUE_PER_REP_MONTH, c.AVG_WON_DEAL, *cycle_cols, c.N_ACTIVITIES,
        c.ACTIVITIES_PER_DEAL, c.LIMIT_LOW, c.LIMIT_HIGH, c.FUNNEL_POSITION, c.NOTE,
    ]  # fmt: skip
    return RepScorecard(
        table[order].reset_index(drop=True), _funnel_curves(table, alpha), prior, window, alpha
    )


def _funnel_curves(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Control-limit curves per team from half the fewest to the most closed deals."""
    parts = []
    for team, group in table.groupby(c.TEAM, sort=True):
        p = float(group[c.TEAM_WIN_RATE].iloc[0])
        closed = group[c.N_CLOSED][group[c.N_CLOSED] > 0]
        top = max(int(closed.max()), 1) if len(closed) else 1
        low = max(int(closed.min()) // 2, 1) if len(closed) else 1
        n = np.unique(np.geomspace(low, top * 1.1 + 1, 60).round().astype(int))
        lo, hi = funnel_limits(p, n, alpha)
        lo3, hi3 = funnel_limits(p, n, 0.002)
        parts.append(
            pd.DataFrame({c.TEAM: team, c.N_CLOSED: n, c.TEAM_WIN_RATE: p, c.LIMIT_LOW: lo,
                          c.LIMIT_HIGH: hi, "limit_low_999": lo3, "limit_high_999": hi3})
        )  # fmt: skip
    if not parts:
        return pd.DataFrame(
            columns=[c.TEAM, c.N_CLOSED, c.TEAM_WIN_RATE, c.LIMIT_LOW, c.LIMIT_HIGH]
        )
    return pd.concat(parts, ignore_index=True)


def win_rates_by_rep(
    ws: Workspace,
    attribute: str = c.REGION,
    window: WindowLike | None = None,
    alpha: float = 0.05,
) -> WinRates:
    """Win rates of deals grouped by an attribute of their owner (region, team...).

    Parameters
    ----------
    ws : Workspace
        Needs ``reps`` with ``rep_id`` and ``attribute``, and deals with ``owner_id``.
    attribute : str
        Column of ``reps`` (e.g. ``region``: the rep's office, ``team``).
    window : Window or (start, end), optional
        Creation-date window.
    alpha : float

    Returns
    -------
    analysis.pipeline.funnel.WinRates
        Grouped by ``attribute`` (deals whose owner is not in ``reps`` form a
        group with a missing value).

    Notes
    -----
    The rep attribute replaces any deal column of the same name, so an
    office win rate is that of the deals the office's reps own, whatever the
    deal's own region. Rates and intervals: :func:`analysis.pipeline.funnel.win_rates`.
    """
    if not ws.has(c.REPS) or attribute not in ws.reps.columns:
        raise ValueError(f"The reps table has no {attribute!r} column to group deals by.")
    if c.OWNER_ID not in ws.deals.columns:
        raise ValueError("Deals have no owner_id column, so they cannot be grouped by rep.")
    reps = ws.reps
    attr = reps.select(
        reps[c.REP_ID].cast("string").name("_rep"), reps[attribute].name("_attr")
    ).distinct(on="_rep")
    deals = ws.deals.drop(attribute) if attribute in ws.deals.columns else ws.deals
    joined = deals.left_join(attr, deals[c.OWNER_ID].cast("string") == attr["_rep"])
    joined = joined.rename({attribute: "_attr"}).drop("_rep")
    return win_rates(
        ws.with_table(c.DEALS, joined), by=attribute, alpha=alpha, window=bounded_window(ws, window)
    )
