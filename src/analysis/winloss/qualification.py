"""Qualification criteria: which deal attributes separate wins from losses, and what a rule costs.

Three questions a team asks before tightening or loosening qualification:

* :func:`criteria_table` - for each candidate criterion (a qualification flag,
  a score above its median, a lead source, a deal size, few decision makers),
  the win rate when met and not met, lift, precision and recall, with intervals;
* :func:`build_scorecard` - a points scorecard from a driver model fitted on
  older closed deals and validated on newer ones (AUC, calibration table);
* its what-if table - at each score threshold, the share of eventual wins that
  would have been disqualified against the share of deals and rep activities saved.

The criteria live here; the scorecard and its what-if live in
:mod:`analysis.winloss.scorecard`. Criteria and scores are
evaluated in the engine; only counts come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep

from analysis.engine.workspace import Workspace
from analysis.stats.rates import rate_with_interval
from analysis.winloss import columns as c
from analysis.winloss.scorecard import CLOSED_OUTCOMES, Scorecard, build_scorecard

__all__ = [
    "CriteriaTable",
    "Scorecard",
    "build_scorecard",
    "criteria_table",
    "default_criteria",
]


def default_criteria(ws: Workspace) -> dict[str, ibis.BooleanValue]:
    """Candidate criteria from the deal columns present, as engine expressions.

    Each qualification flag being true; lead score and amount at or above
    their median among closed deals; each lead source; at most the median
    number of decision makers. A criterion is null where it cannot be
    evaluated (flag not recorded), and such deals are left out of it.
    """
    deals = ws.deals
    closed = deals.filter(deals[c.OUTCOME].isin(CLOSED_OUTCOMES))
    out: dict[str, ibis.BooleanValue] = {}
    for flag in (c.QUAL_BUDGET, c.QUAL_AUTHORITY, c.QUAL_NEED, c.QUAL_TIMELINE):
        if flag in deals.columns:
            out[f"{flag} is true"] = deals[flag].cast("boolean")
    medians = {}
    for col in (c.LEAD_SCORE, c.AMOUNT, c.N_DECISION_MAKERS):
        if col in deals.columns:
            medians[col] = ws.execute(closed[col].cast("float64").median())
    if c.LEAD_SCORE in medians and pd.notna(medians[c.LEAD_SCORE]):
        m = medians[c.LEAD_SCORE]
        out[f"{c.LEAD_SCORE} >= {m:g}"] = deals[c.LEAD_SCORE] >= m
    if c.SOURCE in deals.columns:
        sources = ws.execute(closed.select(c.SOURCE).distinct())[c.SOURCE].dropna()
        for source in sorted(sources):
            out[f"{c.SOURCE} = {source}"] = deals[c.SOURCE] == source
    if c.AMOUNT in medians and pd.notna(medians[c.AMOUNT]):
        m = medians[c.AMOUNT]
        out[f"{c.AMOUNT} >= {m:,.0f}"] = deals[c.AMOUNT] >= m
    if c.N_DECISION_MAKERS in medians and pd.notna(medians[c.N_DECISION_MAKERS]):
        m = medians[c.N_DECISION_MAKERS]
        out[f"{c.N_DECISION_MAKERS} <= {m:g}"] = deals[c.N_DECISION_MAKERS] <= m
    return out


@dataclass(frozen=True)
class CriteriaTable:
    """How well each criterion separates won from lost deals.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per criterion: ``known, met, share_met, precision`` (win rate
        when met) ``+ interval, win_rate_not_met + interval, lift + interval,
        recall + interval, note``.
    alpha : float
    """

    table: pd.DataFrame
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The criteria table as a DataFrame (a copy)."""
        return self.table.copy()


def criteria_table(
    ws: Workspace,
    criteria: Mapping[str, ibis.BooleanValue] | None = None,
    *,
    alpha: float = 0.05,
) -> CriteriaTable:
    """Win rate when each criterion is met vs not, with lift, precision and recall.

    Parameters
    ----------
    ws : Workspace
    criteria : mapping of name to boolean ibis expression on ``ws.deals``, optional
        Default :func:`default_criteria`.
    alpha : float
        1 - confidence level.

    Returns
    -------
    CriteriaTable

    Notes
    -----
    Over closed deals where the criterion is known, with ``a`` = won and met,
    ``b`` = lost and met, ``d`` = won and not met, ``e`` = lost and not met:

    * precision = win rate when met = :math:`a/(a+b)` (Wilson interval);
    * win rate when not met = :math:`d/(d+e)` (Wilson);
    * recall = share of wins that meet it = :math:`a/(a+d)` (Wilson);
    * lift = :math:`\\frac{a/(a+b)}{d/(d+e)}`, the risk ratio of winning,
      with the log interval of statsmodels ``confint_proportions_2indep``
      (``compare="ratio"``, ``method="log-adjusted"``).

    A criterion everybody meets (or nobody) has no lift (note
    ``single_level``).
    """
    criteria = criteria if criteria is not None else default_criteria(ws)
    if not criteria:
        raise ValueError("No criteria to evaluate: the deals have none of the candidate columns.")
    deals = ws.deals
    won = deals[c.OUTCOME] == c.WON
    lost = deals[c.OUTCOME] == c.LOST
    metrics = {}
    for i, expr in enumerate(criteria.values()):
        met, unmet = expr.fill_null(False) & expr.notnull(), ~expr.fill_null(True)
        metrics[f"a{i}"] = (met & won).cast("int64").sum()
        metrics[f"b{i}"] = (met & lost).cast("int64").sum()
        metrics[f"d{i}"] = (unmet & won).cast("int64").sum()
        metrics[f"e{i}"] = (unmet & lost).cast("int64").sum()
    counts = ws.execute(deals.aggregate(**metrics)).iloc[0].fillna(0).astype(float)
    rows = []
    for i, name in enumerate(criteria):
        a, b, d, e = (counts[f"{k}{i}"] for k in "abde")
        rows.append(_criterion_row(name, a, b, d, e, alpha))
    return CriteriaTable(pd.DataFrame(rows), alpha)


def _criterion_row(name: str, a: float, b: float, d: float, e: float, alpha: float) -> dict:
    prec, p_lo, p_hi = (v[0] for v in rate_with_interval(a, a + b, alpha=alpha))
    rest, r_lo, r_hi = (v[0] for v in rate_with_interval(d, d + e, alpha=alpha))
    rec, rc_lo, rc_hi = (v[0] for v in rate_with_interval(a, a + d, alpha=alpha))
    known = a + b + d + e
    lift = lift_lo = lift_hi = np.nan
    note = ""
    if a + b == 0 or d + e == 0:
        note = c.NOTE_SINGLE_LEVEL
    elif d > 0 and a > 0:
        lift = prec / rest
        lift_lo, lift_hi = confint_proportions_2indep(
            a, a + b, d, d + e, compare="ratio", method="log-adjusted", alpha=alpha
        )
    return {
        c.CRITERION: name,
        c.N_KNOWN: int(known),
        c.N_MET: int(a + b),
        c.SHARE_MET: (a + b) / known if known else np.nan,
        c.PRECISION: prec, c.PRECISION_CI_LOW: p_lo, c.PRECISION_CI_HIGH: p_hi,
        c.WIN_RATE_NOT_MET: rest, c.WIN_RATE_NOT_MET_CI_LOW: r_lo, c.WIN_RATE_NOT_MET_CI_HIGH: r_hi,
        c.LIFT: lift, c.LIFT_CI_LOW: lift_lo, c.LIFT_CI_HIGH: lift_hi,
        c.RECALL: rec, c.RECALL_CI_LOW: rc_lo, c.RECALL_CI_HIGH: rc_hi,
        c.NOTE: note,
    }  # fmt: skip
