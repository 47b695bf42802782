"""Power and sample size for conversion tests, independent or cluster-randomised.

How many deals per arm a test needs to detect a given difference, how likely
the current sample is to detect it, and the smallest difference it can detect.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from analysis.stats.proportions import Alternative, check_alternative


@dataclass(frozen=True)
class PowerAnalysis:
    """Sample size, achieved power and detectable effect of a two-arm conversion test.

    Attributes
    ----------
    baseline_rate : float
        Control conversion rate assumed.
    minimum_effect : float
        Smallest difference in rate worth detecting (absolute, e.g. 0.05).
    alpha, power : float
        Significance level and target power.
    alternative : str
        ``"two-sided"``, ``"larger"`` or ``"smaller"``.
    icc, cluster_size, design_effect : float
        Intra-cluster correlation, units per cluster and ``1 + (m - 1) icc``
        (1 for an unclustered design).
    n_per_arm_needed : int
        Units per arm for ``power`` at ``minimum_effect``.
    clusters_per_arm_needed : int or None
        Clusters per arm (clustered designs).
    n_per_arm : float
        Units per arm in the current sample (the smaller arm), or NaN.
    achieved_power : float
        Power of the current sample at ``minimum_effect``.
    detectable_effect : float
        Smallest increase over ``baseline_rate`` the current sample detects
        with ``power``.
    more_units_needed : int
        Additional units over all arms to reach ``n_per_arm_needed`` per arm
        (for a clustered design: with more clusters of the current size).
    clusters_per_arm : float or None
        Clusters per arm so far (the smaller arm), for a clustered design.
    max_power_same_clusters : float or None
        The most power more units from the same clusters can give (as the
        clusters grow without bound).
    more_units_same_clusters : int or None
        Additional units over all arms, from the same clusters, for ``power``;
        None when no number of units from them reaches it.
    """

    baseline_rate: float
    minimum_effect: float
    alpha: float
    power: float
    alternative: str
    icc: float
    cluster_size: float
    design_effect: float
    n_per_arm_needed: int
    clusters_per_arm_needed: int | None
    n_per_arm: float
    achieved_power: float
    detectable_effect: float
    more_units_needed: int
    clusters_per_arm: float | None = None
    max_power_same_clusters: float | None = None
    more_units_same_clusters: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([asdict(self)])


def _check(baseline_rate: float, alpha: float, power: float) -> None:
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must lie strictly between 0 and 1, got {baseline_rate}.")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must lie strictly between 0 and 1.")


def power_analysis(
    baseline_rate: float,
    minimum_effect: float,
    n_per_arm: float | None = None,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    icc: float = 0.0,
    cluster_size: float = 1.0,
    arms: int = 2,
    clusters_per_arm: float | None = None,
) -> PowerAnalysis:
    """Units per arm for a minimum detectable effect; power and MDE of the current sample.

    Parameters
    ----------
    baseline_rate : float
        Control conversion rate.
    minimum_effect : float
        Difference in rate to detect (absolute; the variant is
        ``baseline_rate + minimum_effect``).
    n_per_arm : float, optional
        Units per arm so far (for achieved power and detectable effect).
    alpha, power : float
        Significance level and target power.
    alternative : {"two-sided", "larger", "smaller"}
    icc, cluster_size : float
        For cluster-randomised designs: intra-cluster correlation and mean
        units per cluster.
    arms : int
        Arms of the test (for ``more_units_needed``).
    clusters_per_arm : float, optional
        Clusters per arm so far: says whether more units from the same
        clusters can reach ``power`` at all.

    Returns
    -------
    PowerAnalysis

    Notes
    -----
    Cohen's effect size for proportions
    :math:`h = 2\\arcsin\\sqrt{p_1} - 2\\arcsin\\sqrt{p_0}` and the normal
    approximation :math:`n = ((z_{1-\\alpha/2} + z_{power}) / h)^2` per arm
    (statsmodels ``NormalIndPower``). Clustering inflates it by the design
    effect :math:`1 + (m - 1)\\rho`; power and detectable effect of the
    current sample use the effective size :math:`n / \\text{deff}`. The
    detectable rate is :math:`\\sin^2(\\arcsin\\sqrt{p_0} + h/2)`.

    With :math:`G` clusters per arm fixed, :math:`m` units each, the
    effective size :math:`Gm / (1 + (m - 1)\\rho)` grows to at most
    :math:`G/\\rho`: more units from the same clusters cannot give more
    power than that size does (``max_power_same_clusters``). Below it, the
    units per cluster needed are :math:`m = n(1-\\rho) / (G - n\\rho)` for
    the independent size :math:`n`.

    References
    ----------
    Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
    2nd ed., chapter 6. Donner & Klar (2000), chapter 5.
    """
    _check(baseline_rate, alpha, power)
    check_alternative(alternative)
    target = baseline_rate + minimum_effect
    if minimum_effect == 0 or not 0 < target < 1:
        raise ValueError(
            f"minimum_effect must be non-zero and keep the rate in (0, 1): "
            f"{baseline_rate} + {minimum_effect} = {target}."
        )
    deff = 1.0 + (max(cluster_size, 1.0) - 1.0) * max(icc, 0.0)
    engine = NormalIndPower()
    h = abs(proportion_effectsize(target, baseline_rate))
    alt = "larger" if alternative != "two-sided" else "two-sided"
    n_indep = engine.solve_power(effect_size=h, alpha=alpha, power=power, alternative=alt)
    needed = math.ceil(float(n_indep) * deff)
    clusters = math.ceil(needed / cluster_size) if cluster_size > 1 else None
    achieved = detectable = np.nan
    more = needed * arms
    if n_per_arm is not None and n_per_arm > 1:
        n_eff = n_per_arm / deff
        achieved = float(engine.power(effect_size=h, nobs1=n_eff, alpha=alpha, alternative=alt))
        h_min = float(engine.solve_power(nobs1=n_eff, alpha=alpha, power=power, alternative=alt))
        angle = math.asin(math.sqrt(baseline_rate)) + h_min / 2
        detectable = math.sin(min(angle, math.pi / 2)) ** 2 - baseline_rate
        more = max(0, needed - math.floor(n_per_arm)) * arms
    max_same = more_same = None
    if clusters_per_arm is not None and clusters_per_arm > 0:
        g, rho, n = float(clusters_per_arm), max(icc, 0.0), float(n_indep)
        ceiling = g / rho if rho > 0 else np.inf
        max_same = (
            1.0
            if not np.isfinite(ceiling)
            else float(engine.power(effect_size=h, nobs1=ceiling, alpha=alpha, alternative=alt))
        )
        if n < ceiling:
            per_cluster = n * (1 - rho) / (g - n * rho) if rho > 0 else n / g
            current = n_per_arm if n_per_arm is not None else 0.0
            more_same = max(0, math.ceil(per_cluster * g - current)) * arms
    return PowerAnalysis(
        baseline_rate=baseline_rate,
        minimum_effect=minimum_effect,
        alpha=alpha,
        power=power,
        alternative=alternative,
        icc=icc,
        cluster_size=cluster_size,
        design_effect=deff,
        n_per_arm_needed=needed,
        clusters_per_arm_needed=clusters,
        n_per_arm=np.nan if n_per_arm is None else float(n_per_arm),
        achieved_power=achieved,
        detectable_effect=detectable,
        more_units_needed=int(more),
        clusters_per_arm=None if clusters_per_arm is None else float(clusters_per_arm),
        max_power_same_clusters=max_same,
        more_units_same_clusters=more_same,
    )
