"""Delayed and continuous outcomes: time to conversion and deal size by variant.

Sales outcomes arrive weeks after treatment, so at any reading some deals are
still open. Kaplan-Meier curves per variant use every deal, censoring the
open ones, so a test can be read before all deals close; the log-rank test
compares the curves. Deal size compares won amounts with Welch's t-test and
the Mann-Whitney test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from analysis.experiments import columns as c
from analysis.experiments.resolve import ExperimentUnits
from analysis.stats.survival import N_AT_RISK, fit_km

SHARE_CONVERTED = "share_converted"
CONVERSION_HORIZONS = (30, 60, 90)
MEAN, MEDIAN = "mean", "median"
P_WELCH, P_MANN_WHITNEY = "p_welch", "p_mann_whitney"
NOTE_TOO_FEW_VALUES = "too_few_values"


CONVERTED_BY = "converted_by_"  # prefix of the share converted by day h: converted_by_<h>


@dataclass(frozen=True)
class TimeToConversion:
    """Share converted by days since entering the test, per variant.

    Attributes
    ----------
    curves : pandas.DataFrame
        ``variant, days, share_converted, ci_low, ci_high, n_at_risk``: one
        minus the Kaplan-Meier curve, with a pointwise interval.
    table : pandas.DataFrame
        Per variant: units, conversions and the share converted by 30, 60
        and 90 days (``converted_by_30`` ...).
    statistic, p_value : float
        Log-rank chi-square test that the curves are equal (NaN with fewer
        than two variants or no conversions).
    """

    curves: pd.DataFrame
    table: pd.DataFrame
    statistic: float
    p_value: float

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table with the log-rank p-value."""
        return self.table.assign(**{c.P_VALUE: self.p_value})


def _frame(units: ExperimentUnits | pd.DataFrame) -> pd.DataFrame:
    frame = units.units if isinstance(units, ExperimentUnits) else units
    missing = [k for k in (c.VARIANT, c.DAYS, c.CONVERTED) if k not in frame.columns]
    if missing:
        raise ValueError(
            f"The unit table has no {missing[0]!r} column; pass ExperimentUnits from "
            "experiment_units() or a frame with variant, days and converted."
        )
    return frame


def time_to_conversion(
    units: ExperimentUnits | pd.DataFrame,
    alpha: float = 0.05,
    horizons: tuple[int, ...] = CONVERSION_HORIZONS,
) -> TimeToConversion:
    """Kaplan-Meier share converted by day, per variant, and the log-rank test.

    Parameters
    ----------
    units : ExperimentUnits or pandas.DataFrame
        Per deal: ``variant``, ``days`` (to conversion, or to the cutoff) and
        ``converted`` (1 = converted at ``days``; otherwise censored).
    alpha : float
        1 - confidence level of the pointwise intervals.
    horizons : tuple of int
        Days at which the table reports the share converted.

    Returns
    -------
    TimeToConversion

    Notes
    -----
    :math:`F(t) = 1 - \\hat S(t)` with :math:`\\hat S` the Kaplan-Meier
    estimate (Greenwood standard errors, :func:`analysis.stats.survival.fit_km`)
    and the interval :math:`F(t) \\pm z_{1-\\alpha/2}\\,\\widehat{se}`, clipped
    to [0, 1]. Deals lost without converting stay in the risk set until the
    cutoff (they never convert), so :math:`F` is the share converted. The
    log-rank statistic is statsmodels' ``survdiff``.

    References
    ----------
    Kaplan & Meier (1958), JASA 53, 457-481; Mantel (1966), Cancer
    Chemotherapy Reports 50, 163-170.
    """
    frame = _frame(units)
    z = stats.norm.ppf(1 - alpha / 2)
    event = (frame[c.CONVERTED].fillna(0).to_numpy(float) == 1).astype(int)
    days = frame[c.DAYS].to_numpy(float)
    curves, rows = [], []
    for variant in sorted(frame[c.VARIANT].unique()):
        m = (frame[c.VARIANT] == variant).to_numpy()
        row = {c.VARIANT: variant, c.N_UNITS: int(m.sum()), c.N_CONVERSIONS: int(event[m].sum())}
        if event[m].sum() == 0:
            rows.append({**row, **{f"{CONVERTED_BY}{h}": 0.0 for h in horizons}})
            continue
        sf = fit_km(days[m], event[m], np.ones(m.sum()))
        share = 1 - np.asarray(sf.surv_prob)
        se = np.asarray(sf.surv_prob_se)
        curve = pd.DataFrame(
            {
                c.VARIANT: variant,
                c.DAYS: np.r_[0.0, sf.surv_times],
                SHARE_CONVERTED: np.r_[0.0, share],
                c.CI_LOW: np.r_[0.0, np.clip(share - z * se, 0, 1)],
                c.CI_HIGH: np.r_[0.0, np.clip(share + z * se, 0, 1)],
                N_AT_RISK: np.r_[m.sum(), sf.n_risk],
            }
        )
        curves.append(curve)
        for h in horizons:
            before = curve[curve[c.DAYS] <= h]
            row[f"{CONVERTED_BY}{h}"] = float(before[SHARE_CONVERTED].iloc[-1])
        rows.append(row)
    stat = p = np.nan
    if frame[c.VARIANT].nunique() >= 2 and event.sum() > 0:
        stat, p = survdiff(days, event, frame[c.VARIANT].to_numpy())
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    return TimeToConversion(curves_frame, pd.DataFrame(rows), float(stat), float(p))


@dataclass(frozen=True)
class DealSizeComparison:
    """Won deal size by variant against the control.

    Attributes
    ----------
    table : pandas.DataFrame
        Per variant: ``n, mean, median, diff`` (of means) with its Welch
        interval, Welch's ``statistic`` and ``p_welch``, and ``p_mann_whitney``.
    control : str
    """

    table: pd.DataFrame
    control: str

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table."""
        return self.table.copy()


def compare_amounts(
    units: ExperimentUnits | pd.DataFrame,
    amount: str = c.AMOUNT,
    control: str | None = None,
    alpha: float = 0.05,
    won_only: bool = True,
) -> DealSizeComparison:
    """Compare deal size of each variant with the control (Welch and Mann-Whitney).

    Parameters
    ----------
    units : ExperimentUnits or pandas.DataFrame
        Per deal: ``variant``, the amount column and (with ``won_only``)
        ``outcome``.
    amount : str
        The amount column.
    control : str, optional
        Control variant (default: the first in sorted order).
    alpha : float
        1 - confidence level of the interval of the difference in means.
    won_only : bool
        Compare won deals only (the revenue a variant brings).

    Returns
    -------
    DealSizeComparison

    Notes
    -----
    Welch's statistic :math:`t = (\\bar x_v - \\bar x_0) /
    \\sqrt{s_v^2/n_v + s_0^2/n_0}` with Welch-Satterthwaite degrees of
    freedom (scipy ``ttest_ind(equal_var=False)``); the Mann-Whitney U test
    (scipy ``mannwhitneyu``, two-sided) compares the distributions without
    assuming normality, which deal sizes rarely have. Fewer than two amounts
    in a variant gives NaN and the note ``too_few_values``.
    """
    frame = units.units if isinstance(units, ExperimentUnits) else units
    if amount not in frame.columns:
        raise ValueError(f"The unit table has no {amount!r} column.")
    if won_only and c.OUTCOME in frame.columns:
        frame = frame[frame[c.OUTCOME] == c.WON]
    frame = frame[frame[amount].notna()]
    variants = sorted(frame[c.VARIANT].astype(str).unique())
    control = control if control is not None else (variants[0] if variants else None)
    base = frame.loc[frame[c.VARIANT] == control, amount].to_numpy(float)
    rows = []
    for variant in variants:
        x = frame.loc[frame[c.VARIANT] == variant, amount].to_numpy(float)
        row = {
            c.VARIANT: variant,
            c.IS_CONTROL: variant == control,
            c.N_UNITS: x.size,
            MEAN: x.mean() if x.size else np.nan,
            MEDIAN: np.median(x) if x.size else np.nan,
            c.DIFFERENCE: np.nan,
            c.DIFF_CI_LOW: np.nan,
            c.DIFF_CI_HIGH: np.nan,
            c.T_WELCH: np.nan,
            P_WELCH: np.nan,
            P_MANN_WHITNEY: np.nan,
            c.NOTE: None,
        }
        if variant != control:
            if x.size < 2 or base.size < 2:
                row[c.NOTE] = NOTE_TOO_FEW_VALUES
            else:
                welch = stats.ttest_ind(x, base, equal_var=False)
                ci = welch.confidence_interval(1 - alpha)
                row.update(
                    {
                        c.DIFFERENCE: x.mean() - base.mean(),
                        c.DIFF_CI_LOW: float(ci.low),
                        c.DIFF_CI_HIGH: float(ci.high),
                        c.T_WELCH: float(welch.statistic),
                        P_WELCH: float(welch.pvalue),
                        P_MANN_WHITNEY: float(stats.mannwhitneyu(x, base).pvalue),
                    }
                )
        rows.append(row)
    return DealSizeComparison(pd.DataFrame(rows), str(control))
