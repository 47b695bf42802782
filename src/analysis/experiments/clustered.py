"""Cluster-randomised comparisons: when reps or accounts, not deals, were randomised.

Deals of one rep share the rep's skill, so they are not independent draws; a
per-deal test then treats N correlated deals as N independent ones and
overstates certainty. Everything here works on the small table of units and
conversions per (variant, cluster).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis.experiments import columns as c

# A per-deal analysis "overstates certainty" when the design effect exceeds this.
DESIGN_EFFECT_WARNING = 1.1
METHOD_CLUSTER = "cluster_robust"


@dataclass(frozen=True)
class ClusterDesign:
    """How clustered the units are and what that does to a per-unit analysis.

    Attributes
    ----------
    cluster : str
        What the clusters are (the cluster column's name, e.g. ``owner_id``).
    n_clusters : int
        Clusters with at least one unit.
    clusters_per_variant : dict
        Clusters by variant.
    mean_cluster_size : float
        Units per cluster.
    icc : float
        Intra-cluster correlation of the outcome (ANOVA estimator, within arms).
    design_effect : float
        Variance inflation of a per-unit analysis, ``1 + (m_w - 1) icc``.
    naive_p_value : float
        Smallest per-unit (unclustered) p-value over the comparisons.
    clustered_p_value : float
        Smallest cluster-robust p-value over the comparisons.
    overstated : bool
        Whether a per-unit analysis would overstate certainty (design effect
        above 1.1, or per-unit significant where the cluster-robust test is not).
    message : str
        The sentence a report shows.
    """

    cluster: str
    n_clusters: int
    clusters_per_variant: dict
    mean_cluster_size: float
    icc: float
    design_effect: float
    naive_p_value: float
    clustered_p_value: float
    overstated: bool
    message: str

    def to_frame(self) -> pd.DataFrame:
        """One row with every field but the per-variant dict."""
        row = {k: v for k, v in self.__dict__.items() if k != "clusters_per_variant"}
        return pd.DataFrame([row])


def icc_anova(cells: pd.DataFrame) -> tuple[float, float]:
    """Intra-cluster correlation and design effect of a binary outcome.

    Parameters
    ----------
    cells : pandas.DataFrame
        Units (``n``) and conversions per ``variant`` and ``cluster``.

    Returns
    -------
    icc, design_effect : float
        ICC clipped at 0; NaN when there are fewer than two clusters per arm
        on average or no within-cluster variation.

    Notes
    -----
    One-way ANOVA estimator with the arm means removed (G clusters, k arms,
    N units, cluster rate :math:`\\hat p_i`, arm rate :math:`\\hat p_{a(i)}`):

    .. math:: MSB = \\frac{\\sum_i n_i(\\hat p_i - \\hat p_{a(i)})^2}{G - k},\\quad
              MSW = \\frac{\\sum_i y_i (1 - \\hat p_i)}{N - G},\\quad
              n_0 = \\frac{N - \\sum_a \\sum_{i \\in a} n_i^2 / N_a}{G - k}

    .. math:: \\hat\\rho = \\frac{MSB - MSW}{MSB + (n_0 - 1) MSW},\\qquad
              \\text{deff} = 1 + \\Big(\\frac{\\sum_i n_i^2}{N} - 1\\Big)\\hat\\rho

    (the size-weighted cluster size keeps the design effect right when
    clusters differ in size).

    References
    ----------
    Donner, A. & Klar, N. (2000). Design and Analysis of Cluster Randomization
    Trials in Health Research, sections 5.2 and 6.2.
    """
    n = cells[c.N_UNITS].to_numpy(float)
    y = cells[c.N_CONVERSIONS].to_numpy(float)
    arm = cells[c.VARIANT].to_numpy()
    total, g = n.sum(), len(cells)
    arms = pd.unique(arm)
    k = len(arms)
    if g - k < 1 or total - g < 1:
        return np.nan, np.nan
    p_i = y / n
    arm_rate = pd.Series(y).groupby(arm).transform("sum") / pd.Series(n).groupby(arm).transform(
        "sum"
    )
    msb = float((n * (p_i - arm_rate.to_numpy()) ** 2).sum() / (g - k))
    msw = float((y * (1 - p_i)).sum() / (total - g))
    sq_by_arm = sum((n[arm == a] ** 2).sum() / n[arm == a].sum() for a in arms)
    n0 = (total - sq_by_arm) / (g - k)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return np.nan, np.nan
    icc = max(0.0, (msb - msw) / denom)
    return icc, 1 + ((n**2).sum() / total - 1) * icc


@dataclass(frozen=True)
class ClusterFit:
    """Cluster-robust differences of each variant against the control.

    Attributes
    ----------
    difference, se, statistic, p_value : numpy.ndarray
        Per treated variant: difference of pooled rates, its cluster-robust
        standard error, :math:`t = d / se` and the p-value (Student's t with
        ``df`` degrees of freedom).
    df : float
        :math:`G - 1`.
    params, cov : numpy.ndarray
        Control rate and differences, and their cluster-robust covariance.
    omnibus_statistic, omnibus_df, omnibus_p_value : float
        Wald F-test that every variant converts like the control.
    """

    difference: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    df: float
    params: np.ndarray
    cov: np.ndarray
    omnibus_statistic: float
    omnibus_df: float
    omnibus_p_value: float

    def intervals(self, alpha: np.ndarray | float) -> tuple[np.ndarray, ...]:
        """Difference and lift intervals per variant at 1 - ``alpha`` (per variant if an array).

        Returns
        -------
        diff_low, diff_high, lift_low, lift_high : numpy.ndarray

        Notes
        -----
        The difference interval is :math:`d \\pm t_{1-\\alpha/2,\\,G-1}\\,se`,
        the set the t-test does not reject. The lift :math:`R - 1`, with
        :math:`R = p_v / p_0`, has Fieller's interval: the :math:`R` where the
        t-test of :math:`p_v - R\\,p_0 = 0` (same covariance) does not reject,

        .. math:: (\\hat p_v - R\\hat p_0)^2 \\le t^2\\,\\big(V_{vv} - 2R\\,V_{v0}
                  + R^2 V_{00}\\big),

        which at :math:`R = 1` is the difference's test, so the two intervals
        exclude "no change" together. NaN when the set is unbounded (the
        control rate is not clearly above 0).
        """
        level = np.broadcast_to(np.asarray(alpha, dtype=float), self.difference.shape)
        q = stats.t.isf(level / 2, self.df)
        low, high = self.difference - q * self.se, self.difference + q * self.se
        lift_low, lift_high = np.full(low.shape, np.nan), np.full(low.shape, np.nan)
        p0, v00 = self.params[0], self.cov[0, 0]
        for j in range(self.difference.size):
            pv = p0 + self.params[j + 1]
            vvv = v00 + 2 * self.cov[0, j + 1] + self.cov[j + 1, j + 1]
            vv0 = v00 + self.cov[0, j + 1]
            qq = q[j] ** 2
            a, b, c = p0**2 - qq * v00, pv * p0 - qq * vv0, pv**2 - qq * vvv
            disc = b * b - a * c
            if a > 0 and disc >= 0:
                lift_low[j] = (b - np.sqrt(disc)) / a - 1
                lift_high[j] = (b + np.sqrt(disc)) / a - 1
        return low, high, lift_low, lift_high


def cluster_robust_fit(
    cells: pd.DataFrame,
    control: str,
    treated: list[str],
    alternative: str = "two-sided",
) -> ClusterFit:
    """Differences in conversion against the control with cluster-robust errors.

    Parameters
    ----------
    cells : pandas.DataFrame
        Units and conversions per ``variant`` and ``cluster``.
    control : str
        Control variant.
    treated : list of str
        Variants compared with it (each needs units).
    alternative
        As in :func:`analysis.experiments.compare_conversion`.

    Returns
    -------
    ClusterFit
        Intervals come from :meth:`ClusterFit.intervals`, at the level the
        caller's (adjusted) p-values call for.

    Notes
    -----
    A linear probability model :math:`y = \\beta_0 + \\sum_v \\beta_v D_v`
    fitted by weighted least squares to the cluster rates with weights
    :math:`n_i` reproduces the per-unit fit exactly: :math:`\\beta_v` is the
    difference of pooled rates, and each cluster's score
    :math:`x_i (y_i - n_i x_i^\\top\\beta)` is the sum of its units' scores, so
    statsmodels' ``cov_type="cluster"`` sandwich (CR1, with its
    :math:`G/(G-1)` correction) is the cluster-robust covariance of the
    per-unit fit. Tests and intervals use Student's t with :math:`G - 1`
    degrees of freedom.

    References
    ----------
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to
    cluster-robust inference. Journal of Human Resources 50(2), 317-372.
    Fieller, E. C. (1954). Some problems in interval estimation. JRSS B 16, 175-185.
    """
    n = cells[c.N_UNITS].to_numpy(float)
    rate = cells[c.N_CONVERSIONS].to_numpy(float) / n
    design = np.column_stack(
        [np.ones(len(cells))] + [(cells[c.VARIANT] == v).to_numpy(float) for v in treated]
    )
    k = len(treated)
    if np.ptp(rate) == 0:
        # Every unit had the same outcome: the differences are exactly zero and the
        # sandwich covariance is zero, so there is no test and no interval.
        nan = np.full(k, np.nan)
        return ClusterFit(
            difference=np.zeros(k), se=nan, statistic=nan, p_value=nan, df=np.nan,
            params=np.r_[rate[0], np.zeros(k)], cov=np.full((k + 1, k + 1), np.nan),
            omnibus_statistic=np.nan, omnibus_df=np.nan, omnibus_p_value=np.nan,
        )  # fmt: skip
    groups = pd.factorize(cells[c.CLUSTER])[0]
    fit = sm.WLS(rate, design, weights=n).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    se = np.sqrt(np.diag(cov))[1:]
    df = float(fit.df_resid_inference)
    diff = params[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / se
    if alternative == "larger":
        p = stats.t.sf(t, df)
    elif alternative == "smaller":
        p = stats.t.cdf(t, df)
    else:
        p = 2 * stats.t.sf(np.abs(t), df)
    wald = fit.wald_test(np.eye(len(params))[1:], use_f=True, scalar=True)
    return ClusterFit(
        difference=diff,
        se=se,
        statistic=t,
        p_value=np.asarray(p, dtype=float),
        df=df,
        params=params,
        cov=cov,
        omnibus_statistic=float(np.squeeze(wald.statistic)),
        omnibus_df=float(np.squeeze(wald.df_num)),
        omnibus_p_value=float(np.squeeze(wald.pvalue)),
    )


def _describe_design(
    cells: pd.DataFrame,
    cluster: str,
    naive_p: float,
    clustered_p: float,
    alpha: float,
) -> ClusterDesign:
    """Summarise clustering and say whether a per-unit analysis would mislead."""
    icc, deff = icc_anova(cells)
    n_total = int(cells[c.N_UNITS].sum())
    g = int(cells[c.CLUSTER].nunique())
    per_variant = cells.groupby(c.VARIANT)[c.CLUSTER].nunique().to_dict()
    overstated = bool(
        (np.isfinite(deff) and deff > DESIGN_EFFECT_WARNING)
        or (naive_p < alpha and not clustered_p < alpha)
    )
    if not np.isfinite(icc):
        message = (
            f"Deals are clustered in {g} {cluster} units; the within-cluster correlation "
            "cannot be estimated (every deal had the same outcome, or too few clusters), "
            "so no cluster-robust test is possible."
        )
    elif overstated:
        eff = n_total / deff if np.isfinite(deff) and deff > 0 else np.nan
        message = (
            f"Deals are clustered in {g} {cluster} units (ICC {icc:.3f}, design effect "
            f"{deff:.2f}): a per-deal test would treat {n_total:,} deals as independent, "
            f"worth only about {eff:,.0f}, and overstate certainty (per-deal p = "
            f"{naive_p:.3g} against cluster-robust p = {clustered_p:.3g})."
        )
    else:
        message = (
            f"Deals are clustered in {g} {cluster} units (ICC {icc:.3f}, design effect "
            f"{deff:.2f}); the per-deal and cluster-robust analyses agree "
            f"(p = {naive_p:.3g} and {clustered_p:.3g})."
        )
    return ClusterDesign(
        cluster=cluster,
        n_clusters=g,
        clusters_per_variant={str(k): int(v) for k, v in per_variant.items()},
        mean_cluster_size=n_total / g if g else np.nan,
        icc=icc,
        design_effect=deff,
        naive_p_value=naive_p,
        clustered_p_value=clustered_p,
        overstated=overstated,
        message=message,
    )


def apply_clusters(
    table: pd.DataFrame,
    cells: pd.DataFrame,
    control: str,
    alpha: float,
    alternative: str,
    notes: list[str],
) -> tuple[tuple[float, float, float], ClusterDesign | None, ClusterFit | None]:
    """Replace the per-unit tests of ``table`` by cluster-robust ones, in place.

    Returns the omnibus (statistic, df, p-value), the :class:`ClusterDesign`
    and the :class:`ClusterFit` (whose intervals the caller takes at the
    level its adjusted p-values call for); with fewer than two clusters in a
    compared variant, the tests become NaN, ``notes`` gets
    ``too_few_clusters`` and the design and fit are None.
    """
    treated = table.loc[~table[c.IS_CONTROL] & (table[c.N_UNITS] > 0), c.VARIANT].tolist()
    per_variant = cells.groupby(c.VARIANT)[c.CLUSTER].nunique()
    used = [control, *treated]
    if (per_variant.reindex(used, fill_value=0) < 2).any():
        notes.append(c.NOTE_TOO_FEW_CLUSTERS)
        table.loc[~table[c.IS_CONTROL], [c.Z, c.P_VALUE]] = np.nan
        table.loc[~table[c.IS_CONTROL], c.METHOD] = METHOD_CLUSTER
        return (np.nan, np.nan, np.nan), None, None
    naive = table[c.P_VALUE].to_numpy(float)
    naive_p = float(np.nanmin(naive)) if np.isfinite(naive).any() else np.nan
    fit = cluster_robust_fit(cells[cells[c.VARIANT].isin(used)], control, treated, alternative)
    rows = table.index[table[c.VARIANT].isin(treated)]
    order = [treated.index(v) for v in table.loc[rows, c.VARIANT]]
    table.loc[rows, c.DIFFERENCE] = fit.difference[order]
    table.loc[rows, c.Z] = fit.statistic[order]
    table.loc[rows, c.P_VALUE] = fit.p_value[order]
    table.loc[rows, c.METHOD] = METHOD_CLUSTER
    robust_p = float(np.nanmin(fit.p_value)) if np.isfinite(fit.p_value).any() else np.nan
    design = _describe_design(cells, _cluster_label(cells), naive_p, robust_p, alpha)
    omnibus = (fit.omnibus_statistic, fit.omnibus_df, fit.omnibus_p_value)
    if len(treated) < 2:
        omnibus = (np.nan, np.nan, np.nan)
    return omnibus, design, fit


def _cluster_label(cells: pd.DataFrame) -> str:
    """Name of the clusters for messages (the frame's ``attrs`` may carry it)."""
    return str(cells.attrs.get("label", "cluster"))
