"""Coaching focus: where each rep's stage conversion falls short of their team's.

A rep × stage matrix of conversion (advanced ÷ decided) against the rest of
the rep's team at the same stage, with a one-sided test per cell, p-values
adjusted across every cell (Holm by default), and the won revenue per quarter
the gap costs when carried through the rest of the team's funnel. The engine
counts decided deals per (rep, stage) through :func:`analysis.pipeline.funnel.stage_conversion`;
:func:`compare_to_team` works on those counts alone, so it can be checked on
simulated counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.columns import DECIDED
from analysis.core.types import SECONDS_PER_DAY, Correction, Window, WindowLike, check_correction
from analysis.engine.filters import deals_created_in
from analysis.engine.needs import OWNERS
from analysis.engine.workspace import Workspace
from analysis.pipeline.funnel import stage_conversion, win_rates
from analysis.stats.multitest import adjust_pvalues
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval
from analysis.team import columns as c
from analysis.team.performance import ALL_REPS, bounded_window

__all__ = ["CoachingFocus", "adjust_pvalues", "coaching_focus", "compare_to_team"]

DAYS_PER_QUARTER = 365.25 / 4
TEAM_DECIDED = "team_decided"
DOWNSTREAM = "downstream_win_rate"  # P(won | advanced from the stage), team funnel


@dataclass(frozen=True)
class CoachingFocus:
    """Rep × stage conversion against the rest of the team.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (rep, stage): ``owner_id, team, stage, advanced, lost,
        decided, rep_conversion, ci_low, ci_high, team_conversion,
        team_decided, difference, diff_ci_low, diff_ci_high, p_value,
        p_adjusted, flagged, downstream_win_rate, avg_won_deal,
        revenue_at_stake_per_quarter, note``, flagged cells first.
    alpha : float
    correction : str
    quarters : float
        Length of the analysed window in quarters (revenue is per quarter).
    n_unassigned : int
        Deals in the window without an owner: left out, since a rate over
        nobody in particular is not a finding about a rep.
    """

    table: pd.DataFrame
    alpha: float
    correction: str
    quarters: float
    n_unassigned: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The matrix in long form (a copy)."""
        return self.table.copy()

    def flagged(self) -> pd.DataFrame:
        """Only the cells significantly below the team after adjustment."""
        return self.table[self.table[c.FLAGGED]].reset_index(drop=True)

    def matrix(self, value: str = c.DIFFERENCE) -> pd.DataFrame:
        """Wide rep × stage view of one column (default: the difference to the team)."""
        return self.table.pivot(index=c.OWNER_ID, columns=c.STAGE, values=value)


def compare_to_team(
    counts: pd.DataFrame,
    alpha: float = 0.05,
    correction: Correction = "holm",
    min_decided: int = 5,
) -> pd.DataFrame:
    """Test each (rep, stage) conversion against the rest of the rep's team.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``owner_id, team, stage, advanced, lost`` (one row per rep and stage).
    alpha : float
        Family-wise (Holm, Bonferroni) or false-discovery (``fdr_bh``) level.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
    min_decided : int
        Cells with fewer decided deals are reported but not tested (note
        ``too_few_decided``).

    Returns
    -------
    pandas.DataFrame
        The input plus ``decided, rep_conversion, ci_low, ci_high,
        team_conversion, team_decided, difference, diff_ci_low, diff_ci_high,
        p_value, p_adjusted, flagged, note``.

    Notes
    -----
    The comparison group is the rest of the team at the stage (leave one
    out), so the two samples are independent. The difference ``rep - rest``
    (``a`` of ``n_1`` the rep's advanced, ``b`` of ``n_2`` the rest's) has the
    two-sided Miettinen–Nurminen score test, adjusted across the tested
    cells, and the interval that inverts it at the level that agrees with the
    adjusted p-value (:func:`analysis.stats.proportions.two_proportions`): a
    flagged cell's interval lies below 0, an unflagged one's does not. Both
    are vectorised, so thousands of cells cost no loop. A cell is flagged
    when its adjusted p-value is at most ``alpha`` and the rep converts less.
    With Holm, the chance that any rep is flagged when no rep differs from
    their team is at most ``alpha``.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scand. J. Statistics 6, 65-70. Miettinen, O. & Nurminen, M. (1985).
    Comparative analysis of two rates. Statistics in Medicine 4(2), 213-226.
    """
    check_correction(correction)
    table = counts.copy()
    adv = table[c.N_ADVANCED].astype("int64")
    lost = table[c.N_LOST].astype("int64")
    table[DECIDED] = adv + lost
    group = table.groupby([c.TEAM, c.STAGE], sort=False)
    team_adv = group[c.N_ADVANCED].transform("sum") - adv
    team_dec = group[DECIDED].transform("sum") - table[DECIDED]
    rate, low, high = rate_with_interval(adv, table[DECIDED], alpha=alpha)
    table[c.REP_CONVERSION], table[c.CI_LOW], table[c.CI_HIGH] = rate, low, high
    table[c.TEAM_CONVERSION] = team_adv / team_dec.where(team_dec > 0)
    table[TEAM_DECIDED] = team_dec
    table[c.DIFFERENCE] = table[c.REP_CONVERSION] - table[c.TEAM_CONVERSION]
    testable = ((table[DECIDED] >= min_decided) & (team_dec >= min_decided)).to_numpy()
    n1, n2 = table[DECIDED].to_numpy(dtype=float), team_dec.to_numpy(dtype=float)
    a, b = adv.to_numpy(dtype=float), team_adv.to_numpy(dtype=float)
    # Untested cells get no p-value, so they stay out of the family (NaN after adjusting).
    n1, n2 = np.where(testable, n1, np.nan), np.where(testable, n2, np.nan)
    _, d_low, d_high, p, p_adj = two_proportions(a, n1, b, n2, alpha, correction=correction)
    table[c.P_VALUE] = np.where(testable, p, np.nan)
    table[c.DIFF_CI_LOW] = np.where(testable, d_low, np.nan)
    table[c.DIFF_CI_HIGH] = np.where(testable, d_high, np.nan)
    table[c.P_ADJUSTED] = np.where(testable, p_adj, np.nan)
    table[c.FLAGGED] = (table[c.P_ADJUSTED] <= alpha) & (table[c.DIFFERENCE] < 0)
    table[c.NOTE] = np.where(
        table[DECIDED] == 0, c.NOTE_NO_DECIDED, np.where(testable, "", c.NOTE_TOO_FEW_DECIDED)
    )
    return table


def _downstream(ws: Workspace, window: Window | None, stages: tuple[str, ...]) -> pd.DataFrame:
    """P(won | advanced from the stage) per team stage: product of later team conversions."""
    team = stage_conversion(ws, window=window).to_frame().set_index(c.STAGE)
    conv = team[c.CONVERSION].reindex(list(stages)).fillna(0.0).to_numpy()
    after = np.append(np.cumprod(conv[::-1])[::-1][1:], 1.0)
    return pd.DataFrame({c.STAGE: list(stages), DOWNSTREAM: after})


def coaching_focus(
    ws: Workspace,
    window: WindowLike | None = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
    *,
    min_decided: int = 5,
) -> CoachingFocus:
    """Where each rep converts significantly less than their team, and what it costs.

    Parameters
    ----------
    ws : Workspace
        Deals need ``owner_id``; ``reps.team`` defines teams (all reps form
        one team without it).
    window : Window or (start, end), optional
        Creation-date window; None uses every deal.
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment across every tested (rep, stage) cell.
    min_decided : int
        Minimum decided deals for a cell to be tested.

    Returns
    -------
    CoachingFocus

    Notes
    -----
    Conversion at a stage is advanced ÷ (advanced + lost) among deals whose
    fate there is decided (:func:`analysis.pipeline.funnel.stage_conversion` by
    ``owner_id``). Tests: :func:`compare_to_team`. Revenue at stake per
    quarter for a flagged or negative cell is

    .. math:: (p_{team} - p_{rep}) \\times decided_{rep} \\times
       P(won \\mid advanced) \\times \\overline{won\\ amount} / quarters

    where :math:`P(won \\mid advanced)` is the product of the team's
    conversions at the later stages, the average won amount is the rep's
    team's, and ``quarters`` is the window length (first to last creation
    date when no window is given). Positive differences have no revenue at
    stake.
    """
    OWNERS.check(ws)
    window = bounded_window(ws, window)
    # Deals without an owner are nobody's: left out (and counted), never a rep called "nan".
    unowned = deals_created_in(ws, window)
    n_unassigned = int(ws.execute(unowned.filter(unowned[c.OWNER_ID].isnull()).count()))
    ws = ws.with_table(c.DEALS, ws.deals.filter(ws.deals[c.OWNER_ID].notnull()))
    conv = stage_conversion(ws, by=c.OWNER_ID, window=window).to_frame()
    counts = conv[[c.OWNER_ID, c.STAGE, c.N_ADVANCED, c.N_LOST]].copy()
    counts[c.OWNER_ID] = counts[c.OWNER_ID].astype(str)
    teams = _teams(ws)
    counts[c.TEAM] = counts[c.OWNER_ID].map(teams).fillna(ALL_REPS).astype(str)
    table = compare_to_team(counts, alpha, correction, min_decided)

    table = table.merge(_downstream(ws, window, ws.pipeline.stages), on=c.STAGE, how="left")
    rates = win_rates(ws, by=c.OWNER_ID, window=window).to_frame()
    rates[c.OWNER_ID] = rates[c.OWNER_ID].astype(str)
    rates[c.TEAM] = rates[c.OWNER_ID].map(teams).fillna(ALL_REPS).astype(str)
    team_won = rates.groupby(c.TEAM)[[c.WON_AMOUNT, c.N_WON]].sum()
    avg_won = team_won[c.WON_AMOUNT] / team_won[c.N_WON].where(team_won[c.N_WON] > 0)
    table[c.AVG_WON_DEAL] = table[c.TEAM].map(avg_won).astype(float)
    quarters = _quarters(ws, window)
    gap = (-table[c.DIFFERENCE]).clip(lower=0)
    table[c.REVENUE_AT_STAKE] = (
        gap * table[DECIDED] * table[DOWNSTREAM] * table[c.AVG_WON_DEAL] / quarters
    )
    order = [
        c.OWNER_ID, c.TEAM, c.STAGE, c.N_ADVANCED, c.N_LOST, DECIDED, c.REP_CONVERSION,
        c.CI_LOW, c.CI_HIGH, c.TEAM_CONVERSION, TEAM_DECIDED, c.DIFFERENCE, c.DIFF_CI_LOW,
        c.DIFF_CI_HIGH, c.P_VALUE, c.P_ADJUSTED, c.FLAGGED, DOWNSTREAM, c.AVG_WON_DEAL,
        c.REVENUE_AT_STAKE, c.NOTE,
    ]  # fmt: skip
    table = table[order].sort_values(
        [c.FLAGGED, c.REVENUE_AT_STAKE], ascending=[False, False], kind="stable"
    )
    return CoachingFocus(table.reset_index(drop=True), alpha, correction, quarters, n_unassigned)


def _teams(ws: Workspace) -> pd.Series:
    if not ws.has(c.REPS) or c.TEAM not in ws.reps.columns:
        return pd.Series(dtype=str)
    reps = ws.execute(ws.reps.select(c.REP_ID, c.TEAM))
    return reps.drop_duplicates(c.REP_ID).set_index(reps[c.REP_ID].astype(str))[c.TEAM]


def _quarters(ws: Workspace, window) -> float:
    if window is not None:
        return window.days / DAYS_PER_QUARTER
    deals = deals_created_in(ws)
    span = ws.execute(deals.aggregate(lo=deals[c.CREATED_AT].min(), hi=deals[c.CREATED_AT].max()))
    lo, hi = span["lo"].iloc[0], span["hi"].iloc[0]
    if pd.isna(lo) or pd.isna(hi):
        return np.nan
    days = (pd.Timestamp(hi) - pd.Timestamp(lo)).total_seconds() / SECONDS_PER_DAY
    return max(days, 1.0) / DAYS_PER_QUARTER
