"""Were the predicted chances right? Calibration and Brier scores of the backtest's deals.

Every deal open at the start of a backtest window had three predicted
chances of a win in it: the model's, the rep's probability and the stage's
win rate (the last two only for deals due in the window). This module sets
each against what happened: by bands of predicted chance (a reliability
table) and as one score, the Brier score, with intervals that count a deal
seen in several windows once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.stats.rates import rate_with_interval

__all__ = ["Calibration", "brier_score", "forecast_calibration"]

# The three predictions, by the name a reader sees.
PREDICTIONS = {c.MODEL: c.P_WIN, c.REP: c.REP_P_WIN, c.STAGE_DEFAULT: c.STAGE_P_WIN}
BIN_COLUMNS = (
    c.METHOD, c.BIN, c.DEAL_WINDOWS, c.PREDICTED, c.OBSERVED, c.CI_LOW, c.CI_HIGH,
)  # fmt: skip
SCORE_COLUMNS = (
    c.METHOD, c.DEAL_WINDOWS, c.BRIER, c.CI_LOW, c.CI_HIGH, c.VERSUS_MODEL, c.DIFF_LOW, c.DIFF_HIGH,
    c.P_VALUE,
)  # fmt: skip


@dataclass(frozen=True)
class Calibration:
    """Predicted chances of a win in the window against what happened, per method.

    Attributes
    ----------
    bins : pandas.DataFrame
        One row per (method, band of predicted chance) with deals: ``method,
        bin`` (its lower edge), ``deal_windows, predicted`` (mean predicted
        chance), ``observed`` (share won in the window) with its Wilson
        interval ``ci_low, ci_high``.
    scores : pandas.DataFrame
        One row per method: ``deal_windows, brier`` with its interval, and the
        difference from the model's score (``versus_model``, positive when
        the method is worse) with its interval and two-sided ``p_value``.
    alpha : float
    """

    bins: pd.DataFrame
    scores: pd.DataFrame
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The scores (a copy)."""
        return self.scores.copy()


def brier_score(
    predicted: np.ndarray, outcome: np.ndarray, cluster: np.ndarray, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Mean squared error of predicted chances, with a cluster-robust interval.

    Parameters
    ----------
    predicted : array of float
        Predicted chances in [0, 1].
    outcome : array of bool or {0, 1}
    cluster : array
        The unit observations share (the deal): its rows count as one in the variance.
    alpha : float

    Returns
    -------
    (score, low, high)

    Notes
    -----
    :math:`B = \\frac1n \\sum_i (p_i - y_i)^2` (Brier 1950). With
    :math:`S_j` the sum and :math:`n_j` the count of the squared errors of
    cluster :math:`j` (of :math:`J`), the ratio estimator's variance is
    :math:`\\widehat{V} = \\frac{J}{J-1} \\sum_j (S_j - B n_j)^2 / n^2`
    (Cameron and Miller 2015, the cluster-robust variance of a mean), and
    the interval :math:`B \\pm z_{1-\\alpha/2} \\sqrt{\\widehat V}`. Used on
    differences of two methods' squared errors it gives the paired
    comparison (:func:`forecast_calibration`).

    References
    ----------
    Brier, G. W. (1950). Verification of forecasts expressed in terms of
    probability. Monthly Weather Review 78, 1–3.
    Cameron, A. C. and Miller, D. L. (2015). A practitioner's guide to
    cluster-robust inference. Journal of Human Resources 50, 317–372.
    """
    error = (np.asarray(predicted, float) - np.asarray(outcome, float)) ** 2
    return _clustered_mean(error, np.asarray(cluster), alpha)[:3]


def _clustered_mean(values: np.ndarray, cluster: np.ndarray, alpha: float):
    """Mean, its interval and the two-sided p-value against 0 (cluster-robust)."""
    n = values.size
    if not n:
        return np.nan, np.nan, np.nan, np.nan
    mean = values.mean()
    codes, _ = pd.factorize(cluster)
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes)
    j = sums.size
    if j < 2:
        return mean, np.nan, np.nan, np.nan
    se = np.sqrt(j / (j - 1) * ((sums - mean * counts) ** 2).sum()) / n
    z = stats.norm.ppf(1 - alpha / 2)
    p = 2 * stats.norm.sf(abs(mean) / se) if se > 0 else (1.0 if mean == 0 else 0.0)
    return mean, mean - z * se, mean + z * se, p


def forecast_calibration(backtest: Backtest, bins: int = 10, alpha: float = 0.05) -> Calibration:
    """Reliability table and Brier scores of the model, the rep probability and the stage rate.

    Parameters
    ----------
    backtest : Backtest
        From :func:`~analysis.forecast.backtest.backtest_forecast`; its
        ``deals`` hold the three predictions and the outcome.
    bins : int
        Equal-width bands of predicted chance: ``[0, 1/bins), ...,
        [1 - 1/bins, 1]`` (deciles of the probability scale at 10).
    alpha : float
        Level of the intervals.

    Returns
    -------
    Calibration

    Notes
    -----
    The outcome :math:`y` is a win in the window. The predictions are
    ``p_win`` (model), ``rep_p_win`` (the rep's probability when the deal is
    due in the window, else 0) and ``stage_p_win`` (the stage's win rate
    when due, else 0): the chances the three forecasts of the backtest
    stand for. A deal with no model prediction (no history) counts as 0,
    as the forecast counts it. Per band, ``observed`` is the Wilson
    interval of the share won (:func:`analysis.stats.rates.rate_with_interval`);
    a calibrated method has observed near predicted in every band.
    ``versus_model`` is the mean paired difference of squared errors, the
    method's minus the model's, on the same deal-windows, with the
    cluster-robust interval and normal p-value of :func:`brier_score`
    (clusters: deals).
    """
    if int(bins) < 1:
        raise ValueError(f"bins must be at least 1, got {bins}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    deals = backtest.deals
    outcome = deals[c.WON_IN_WINDOW].astype(bool).to_numpy()
    cluster = deals[c.DEAL_ID].to_numpy()
    chances = {
        method: pd.to_numeric(deals[column], errors="coerce").fillna(0.0).clip(0, 1).to_numpy()
        for method, column in PREDICTIONS.items()
        if method == c.MODEL or not (len(deals) and deals[column].isna().all())
    }  # a CRM method without any answer (no probabilities in the export) is left out
    model_error = (chances[c.MODEL] - outcome) ** 2
    bin_rows, score_rows = [], []
    for method, p in chances.items():
        band = np.minimum(np.floor(p * bins + 1e-9).astype(int), int(bins) - 1)  # 0.29 -> 0.2
        for b in np.unique(band):
            at = band == b
            rate, low, high = rate_with_interval(outcome[at].sum(), at.sum(), alpha=alpha)
            bin_rows.append({
                c.METHOD: method, c.BIN: b / bins, c.DEAL_WINDOWS: int(at.sum()),
                c.PREDICTED: p[at].mean(), c.OBSERVED: rate[0], c.CI_LOW: low[0],
                c.CI_HIGH: high[0],
            })  # fmt: skip
        brier, low, high = brier_score(p, outcome, cluster, alpha)
        diff, d_low, d_high, p_value = _clustered_mean(
            (p - outcome) ** 2 - model_error, cluster, alpha
        )
        if method == c.MODEL:
            diff = d_low = d_high = p_value = np.nan
        score_rows.append({
            c.METHOD: method, c.DEAL_WINDOWS: len(p), c.BRIER: brier, c.CI_LOW: low, c.CI_HIGH: high,
            c.VERSUS_MODEL: diff, c.DIFF_LOW: d_low, c.DIFF_HIGH: d_high, c.P_VALUE: p_value,
        })  # fmt: skip
    return Calibration(
        pd.DataFrame(bin_rows, columns=list(BIN_COLUMNS)),
        pd.DataFrame(score_rows, columns=list(SCORE_COLUMNS)),
        alpha,
    )
