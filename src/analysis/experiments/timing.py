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
        Chi-square test that the curves are equal (NaN with fewer than two
        variants or no conversions): the log-rank test, or for a test
        randomised by rep or account its cluster-robust version.
    method : str
        ``log-rank`` or ``cluster-robust score``.
    n_clusters : int or None
        Clusters the cluster-robust test rests on.
    """

    curves: pd.DataFrame
    table: pd.DataFrame
    statistic: float
    p_value: float
    method: str = "log-rank"
    n_clusters: int | None = None

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
    log-rank statistic is statsmodels' ``survdiff``. When reps or accounts
    were randomised (a ``cluster`` column), the curves are compared by the
    cluster-robust version of the same test and the pointwise intervals are
    widened by the variance inflation the clusters cause
    (:func:`_cluster_robust_curves_test`), so no figure treats one rep's
    deals as independent.

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
    method, n_clusters, inflation = LOG_RANK, None, 1.0
    testable = frame[c.VARIANT].nunique() >= 2 and event.sum() > 0
    if testable and _clustered(units, frame):
        groups = frame[c.CLUSTER].astype(str).to_numpy()
        stat, p, inflation = _cluster_robust_curves_test(days, event, frame[c.VARIANT], groups)
        method, n_clusters = CLUSTER_ROBUST, int(pd.unique(groups).size)
    elif testable:
        stat, p = survdiff(days, event, frame[c.VARIANT].to_numpy())
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if inflation > 1 and len(curves_frame):
        # Widen the pointwise intervals by the variance inflation the clusters cause.
        share = curves_frame[SHARE_CONVERTED]
        half = np.sqrt(inflation)
        curves_frame[c.CI_LOW] = np.clip(share - half * (share - curves_frame[c.CI_LOW]), 0, 1)
        curves_frame[c.CI_HIGH] = np.clip(share + half * (curves_frame[c.CI_HIGH] - share), 0, 1)
    return TimeToConversion(
        curves_frame, pd.DataFrame(rows), float(stat), float(p), method, n_clusters
    )


LOG_RANK = "log-rank"
CLUSTER_ROBUST = "cluster-robust score"


def _clustered(units: ExperimentUnits | pd.DataFrame, frame: pd.DataFrame) -> bool:
    """Whether the units were randomised in clusters (reps, accounts)."""
    if isinstance(units, ExperimentUnits):
        return units.unit_type != c.UNIT_DEAL and c.CLUSTER in frame.columns
    return c.CLUSTER in frame.columns


def _cluster_robust_curves_test(
    days: np.ndarray, event: np.ndarray, variant: pd.Series, groups: np.ndarray
) -> tuple[float, float, float]:
    """Cluster-robust log-rank test of equal curves, and the variance inflation it shows.

    Returns
    -------
    statistic, p_value, inflation : float

    Notes
    -----
    The log-rank test is the score test of a Cox model with one indicator
    :math:`x_i` per non-reference variant at :math:`\\beta = 0`. Its score is
    the sum of the units' score residuals (Breslow ties, :math:`d_k` events
    among :math:`n_k` at risk at time :math:`\\tau_k`, :math:`\\bar x_k` the
    at-risk mean)

    .. math:: r_i = \\delta_i\\,(x_i - \\bar x(t_i))
              - \\sum_{\\tau_k \\le t_i} \\frac{d_k}{n_k}\\,(x_i - \\bar x_k),
              \\qquad U = \\sum_i r_i = O - E,

    and Lin & Wei's robust variance sums them within clusters first:
    :math:`V_R = \\frac{G}{G-1}\\sum_g r_g r_g^\\top`,
    :math:`W = U^\\top V_R^{-1} U \\sim \\chi^2_{k-1}`. One rep's deals then
    count once, not as independent evidence. The inflation is the mean ratio
    of :math:`V_R`'s diagonal to the model variance
    :math:`\\sum_k d_k (\\overline{x^2}_k - \\bar x_k^2)`, at least 1.

    References
    ----------
    Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox
    proportional hazards model. JASA 84, 1074-1078.
    """
    levels = sorted(variant.astype(str).unique())
    x = np.column_stack([(variant.astype(str) == v).to_numpy(float) for v in levels[1:]])
    order = np.argsort(days, kind="stable")
    t, d, x, g = days[order], event[order].astype(float), x[order], groups[order]
    times, first = np.unique(t, return_index=True)
    at_risk = t.size - first  # units with t_i >= tau (t sorted)
    deaths = np.add.reduceat(d, first)
    risk_sum = np.cumsum(x[::-1], axis=0)[::-1][first]  # sum of x over the risk set
    mean = risk_sum / at_risk[:, None]
    square = np.cumsum((x**2)[::-1], axis=0)[::-1][first] / at_risk[:, None]
    step = np.where(at_risk > 0, deaths / at_risk, 0.0)
    hazard = np.cumsum(step)  # sum of d_k / n_k up to tau
    weighted = np.cumsum(step[:, None] * mean, axis=0)
    k = np.searchsorted(times, t, side="right") - 1  # last tau <= t_i
    resid = d[:, None] * (x - mean[k]) - (x * hazard[k][:, None] - weighted[k])
    score = resid.sum(axis=0)
    clusters, codes = np.unique(g, return_inverse=True)
    per_cluster = np.zeros((clusters.size, x.shape[1]))
    np.add.at(per_cluster, codes, resid)
    n_g = clusters.size
    robust = per_cluster.T @ per_cluster * (n_g / (n_g - 1) if n_g > 1 else 1.0)
    model = (deaths[:, None] * (square - mean**2)).sum(axis=0)
    try:
        wald = float(score @ np.linalg.solve(robust, score))
    except np.linalg.LinAlgError:
        return np.nan, np.nan, 1.0
    p = float(stats.chi2.sf(wald, x.shape[1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.diag(robust) / model
    inflation = float(np.nanmean(ratio)) if np.isfinite(ratio).any() else 1.0
    return wald, p, max(inflation, 1.0)


@dataclass(frozen=True)
class DealSizeComparison:
    """Won deal size by variant against the control.

    Attributes
    ----------
    table : pandas.DataFrame
        Per variant: ``n, mean, median, diff`` (of means) with its Welch
        interval, ``t_welch`` and ``p_welch``, ``p_mann_whitney`` and
        ``method``; for a test randomised by rep or account the difference,
        its interval and ``p_welch`` are cluster-robust (``method``
        ``cluster_robust``) and the per-deal ``t_welch`` and Mann-Whitney
        test are left empty.
    control : str
    """

    table: pd.DataFrame
    control: str

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table."""
        return self.table.copy()


WELCH = "welch"


def _cluster_robust_means(pair: pd.DataFrame, amount: str, variant: str, alpha: float) -> dict:
    """Difference in mean amount with cluster-robust errors (t with G - 1 degrees of freedom).

    Least squares of the amount on the variant indicator with statsmodels'
    ``cov_type="cluster"`` (CR1): the difference of means and an interval that
    inverts its t-test. Mann-Whitney is withheld: it would count one rep's
    deals as independent.
    """
    import statsmodels.api as sm

    y = pair[amount].to_numpy(float)
    x = sm.add_constant((pair[c.VARIANT].astype(str) == variant).to_numpy(float))
    groups = pd.factorize(pair[c.CLUSTER].astype(str))[0]
    if np.unique(groups).size < 3:
        return {c.NOTE: c.NOTE_TOO_FEW_CLUSTERS}
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    low, high = fit.conf_int(alpha)[1]
    return {
        c.DIFFERENCE: float(fit.params[1]),
        c.DIFF_CI_LOW: float(low),
        c.DIFF_CI_HIGH: float(high),
        P_WELCH: float(fit.pvalues[1]),
        c.METHOD: CLUSTER_ROBUST_MEANS,
    }


CLUSTER_ROBUST_MEANS = "cluster_robust"


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
    in a variant gives NaN and the note ``too_few_values``. Randomised by rep
    or account: :func:`_cluster_robust_means`.
    """
    frame = units.units if isinstance(units, ExperimentUnits) else units
    if amount not in frame.columns:
        raise ValueError(f"The unit table has no {amount!r} column.")
    clustered = _clustered(units, frame)
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
            c.METHOD: None,
            c.NOTE: None,
        }
        if variant == control:
            rows.append(row)
            continue
        if x.size < 2 or base.size < 2:
            row[c.NOTE] = NOTE_TOO_FEW_VALUES
        elif clustered:
            pair = frame[frame[c.VARIANT].isin([variant, control])]
            row.update(_cluster_robust_means(pair, amount, variant, alpha))
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
                    c.METHOD: WELCH,
                }
            )
        rows.append(row)
    return DealSizeComparison(pd.DataFrame(rows), str(control))
