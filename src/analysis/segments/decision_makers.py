"""How the number of decision makers changes winning and cycle length, per segment.

Each extra person in the buying group can slow a deal and lower its odds of
advancing. :func:`decision_maker_effect` fits, per segment, a
continuation-ratio logistic model of stage advancement and a regression of
log days to win on the number of decision makers; the regression runs on
per-count sufficient statistics from the engine (:func:`ols_from_sums`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import t
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.journey import data_cutoff
from analysis.engine.needs import CLOSE_DATES, STAGE_HISTORY
from analysis.engine.workspace import Workspace
from analysis.pipeline.funnel import stage_conversion, win_rates
from analysis.segments import columns as c

__all__ = ["DecisionMakerEffect", "decision_maker_effect", "ols_from_sums"]

SLOPE, SLOPE_CI_LOW, SLOPE_CI_HIGH = "slope", "slope_ci_low", "slope_ci_high"
OUTCOME_MEASURE = "measure"
MEASURE_STAGE = "stage_log_odds"
MEASURE_CYCLE = "log_days_to_win"
NOTE_TOO_FEW_DEALS = "too_few_deals"
NOTE_NO_DM = "no_decision_makers_column"


def ols_from_sums(groups: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Simple linear regression of y on x from per-x sufficient statistics.

    Parameters
    ----------
    groups : pandas.DataFrame
        ``x, n, sum_y, sum_y2``: per distinct x, the count, sum and sum of
        squares of y.
    alpha : float

    Returns
    -------
    dict
        ``slope, std_err, slope_ci_low, slope_ci_high, p_value, n``.

    Notes
    -----
    With :math:`N = \\sum n_k`, :math:`\\bar x = \\sum n_k x_k / N`,
    :math:`\\bar y = \\sum S_k / N`, :math:`S_{xx} = \\sum n_k (x_k - \\bar x)^2`
    and :math:`S_{xy} = \\sum x_k S_k - N \\bar x \\bar y`: slope
    :math:`\\hat\\beta = S_{xy}/S_{xx}`, residual sum of squares
    :math:`\\sum Q_k - N\\bar y^2 - \\hat\\beta S_{xy}`, :math:`\\hat\\sigma^2 =
    RSS/(N-2)`, :math:`se = \\sqrt{\\hat\\sigma^2 / S_{xx}}`, t interval on
    :math:`N-2` degrees of freedom — identical to OLS on the rows.
    """
    x = groups["x"].to_numpy(dtype=float)
    n = groups["n"].to_numpy(dtype=float)
    s1 = groups["sum_y"].to_numpy(dtype=float)
    s2 = groups["sum_y2"].to_numpy(dtype=float)
    total = n.sum()
    out = {SLOPE: np.nan, "std_err": np.nan, SLOPE_CI_LOW: np.nan, SLOPE_CI_HIGH: np.nan,
           c.P_VALUE: np.nan, "n": int(total)}  # fmt: skip
    if total < 3 or (n > 0).sum() < 2:
        return out
    xbar, ybar = (n * x).sum() / total, s1.sum() / total
    sxx = (n * (x - xbar) ** 2).sum()
    sxy = (x * s1).sum() - total * xbar * ybar
    slope = sxy / sxx
    rss = s2.sum() - total * ybar**2 - slope * sxy
    se = np.sqrt(max(rss, 0.0) / (total - 2) / sxx)
    q = t.ppf(1 - alpha / 2, total - 2)
    p = 2 * t.sf(abs(slope / se), total - 2) if se > 0 else np.nan
    out.update({SLOPE: slope, "std_err": se, SLOPE_CI_LOW: slope - q * se,
                SLOPE_CI_HIGH: slope + q * se, c.P_VALUE: p})  # fmt: skip
    return out


@dataclass(frozen=True)
class DecisionMakerEffect:
    """How the number of decision makers changes winning and cycle length, per segment.

    Attributes
    ----------
    by_count : pandas.DataFrame
        Win rate per segment and number of decision makers
        (:func:`analysis.pipeline.funnel.win_rates`), with the KM median cycle.
    effects : pandas.DataFrame
        Per segment and measure: ``segment, measure, slope, std_err,
        slope_ci_low, slope_ci_high, p_value, n, note``. Measures:
        ``stage_log_odds`` (log-odds of advancing per extra decision maker,
        from ``from_stage`` on) and ``log_days_to_win`` (change in log days
        from creation to win per extra decision maker).
    alpha : float
    """

    by_count: pd.DataFrame
    effects: pd.DataFrame
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The effects table (a copy)."""
        return self.effects.copy()


def _stage_effect(conv: pd.DataFrame, stages: list[str], alpha: float) -> dict:
    d = conv[conv[c.STAGE].isin(stages) & ((conv[c.N_ADVANCED] + conv[c.N_LOST]) > 0)]
    out = {SLOPE: np.nan, "std_err": np.nan, SLOPE_CI_LOW: np.nan, SLOPE_CI_HIGH: np.nan,
           c.P_VALUE: np.nan, "n": int((d[c.N_ADVANCED] + d[c.N_LOST]).sum())}  # fmt: skip
    if d[c.N_DECISION_MAKERS].nunique() < 2 or not (d[c.N_ADVANCED].sum() and d[c.N_LOST].sum()):
        return out  # one count of decision makers, or no variation in the outcome
    exog = pd.get_dummies(d[c.STAGE], dtype=float)
    exog[c.N_DECISION_MAKERS] = d[c.N_DECISION_MAKERS].astype(float)
    endog = d[[c.N_ADVANCED, c.N_LOST]].astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PerfectSeparationWarning)
        fit = sm.GLM(endog, exog, family=sm.families.Binomial()).fit()
    if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
        return out  # a stage where every deal advanced (or none did): the slope is not identified
    low, high = fit.conf_int(alpha=alpha).loc[c.N_DECISION_MAKERS]
    out.update({SLOPE: fit.params[c.N_DECISION_MAKERS], "std_err": fit.bse[c.N_DECISION_MAKERS],
                SLOPE_CI_LOW: low, SLOPE_CI_HIGH: high,
                c.P_VALUE: fit.pvalues[c.N_DECISION_MAKERS]})  # fmt: skip
    return out


def _log_cycle_sums(
    ws: Workspace, d: ibis.Table, keys: list[str], cutoff: pd.Timestamp, mature_days: float
) -> pd.DataFrame:
    """Count, sum and sum of squares of log days to win, per segment and decision makers."""
    won = d.filter(
        (d[c.OUTCOME] == c.WON)
        & d[c.CLOSED_AT].notnull()
        & (d[c.CREATED_AT] <= ibis.literal(cutoff - pd.Timedelta(days=mature_days)))
    )
    days = (won[c.CLOSED_AT].epoch_seconds() - won[c.CREATED_AT].epoch_seconds()) / SECONDS_PER_DAY
    won = won.mutate(_y=ibis.greatest(days, 1e-3).log())
    return ws.execute(
        won.group_by(keys).aggregate(
            n=won.count(), sum_y=won["_y"].sum(), sum_y2=(won["_y"] * won["_y"]).sum()
        )
    ).rename(columns={c.N_DECISION_MAKERS: "x"})


def decision_maker_effect(
    ws: Workspace,
    alpha: float = 0.05,
    *,
    from_stage: str | None = None,
    mature_days: float = 365.0,
) -> DecisionMakerEffect:
    """Effect of each extra decision maker on stage advancement and on time to win.

    Parameters
    ----------
    ws : Workspace
        Deals need ``n_decision_makers``.
    alpha : float
    from_stage : str, optional
        First open stage included in the advancement model (default: the
        second open stage, where qualification records the buying group).
    mature_days : float
        Only deals created at least this many days before the data cutoff
        enter the cycle model, so slow deals still open do not bias it.

    Returns
    -------
    DecisionMakerEffect
        Without an ``n_decision_makers`` column: empty tables and one effects
        row with note ``no_decision_makers_column``.

    Notes
    -----
    Advancement: a continuation-ratio logistic model (binomial GLM on the
    counts advanced/lost per segment, stage and number of decision makers)
    ``logit P(advance) = stage_s + beta * n_dm``, fitted per segment; ``beta``
    is the change in log-odds of advancing at each stage per extra decision
    maker. Cycle: OLS of ``log(days to win)`` on ``n_dm`` among won deals of
    mature cohorts (:func:`ols_from_sums`); ``exp(beta)`` is the multiplier
    of cycle length per extra decision maker.
    """
    deals = ws.deals
    if c.N_DECISION_MAKERS not in deals.columns:
        by_count = pd.DataFrame(
            columns=[c.SEGMENT, c.N_DECISION_MAKERS, c.N_DEALS, c.N_WON, c.N_LOST, c.WIN_RATE,
                     c.CI_LOW, c.CI_HIGH]
        )  # fmt: skip
        effects = pd.DataFrame(
            [{c.SEGMENT: None, OUTCOME_MEASURE: None, SLOPE: np.nan, c.NOTE: NOTE_NO_DM}]
        )
        return DecisionMakerEffect(by_count, effects, alpha)
    stages = list(ws.pipeline.stages)
    first = from_stage if from_stage is not None else stages[min(1, len(stages) - 1)]
    if first not in stages:
        raise ValueError(f"from_stage must be an open stage ({', '.join(stages)}), not {first!r}.")
    keys = [c.SEGMENT, c.N_DECISION_MAKERS]
    with_dm = ws.with_table(c.DEALS, deals.filter(deals[c.N_DECISION_MAKERS].notnull()))
    by_count = win_rates(with_dm, by=keys, alpha=alpha).to_frame()
    # Each effect needs its own inputs; without them its rows say too_few_deals.
    if STAGE_HISTORY.missing(ws):
        conv = pd.DataFrame(
            columns=[c.SEGMENT, c.STAGE, c.N_DECISION_MAKERS, c.N_ADVANCED, c.N_LOST]
        )
    else:
        conv = stage_conversion(with_dm, by=keys, alpha=alpha).to_frame()
    segments = set(by_count[c.SEGMENT].dropna()) | set(conv[c.SEGMENT].dropna())
    if CLOSE_DATES.missing(ws):
        sums = pd.DataFrame(columns=[c.SEGMENT, "x", "n", "sum_y", "sum_y2"])
    else:
        sums = _log_cycle_sums(ws, with_dm.deals, keys, data_cutoff(ws), mature_days)
    rows = []
    for seg in sorted(segments):
        stage_fit = _stage_effect(
            conv[conv[c.SEGMENT] == seg], stages[stages.index(first) :], alpha
        )
        rows.append({c.SEGMENT: seg, OUTCOME_MEASURE: MEASURE_STAGE, **stage_fit})
        cycle_fit = ols_from_sums(sums[sums[c.SEGMENT] == seg], alpha)
        rows.append({c.SEGMENT: seg, OUTCOME_MEASURE: MEASURE_CYCLE, **cycle_fit})
    effects = pd.DataFrame(rows)
    if len(effects):
        effects[c.NOTE] = np.where(effects[SLOPE].isna(), NOTE_TOO_FEW_DEALS, "")
    return DecisionMakerEffect(by_count, effects, alpha)
