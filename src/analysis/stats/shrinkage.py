"""Empirical-Bayes shrinkage of rates and the control limits of a funnel plot.

A rate from 8 trials is mostly luck. :func:`fit_beta_prior` estimates, by the
method of moments, how much rates truly vary between units around
their group's pooled rate; :func:`shrink_rates` pulls each raw rate toward its
group's rate by that much (the fewer the trials, the stronger the pull); and
:func:`funnel_limits` gives the range a raw rate falls in by chance, for a
funnel plot instead of a ranking. Pure functions on per-unit counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist
from scipy.stats import norm

from analysis.core import columns as c

__all__ = [
    "ONE_GROUP",
    "SHRUNK_RATE",
    "BetaPrior",
    "fit_beta_prior",
    "funnel_limits",
    "shrink_rates",
]

ONE_GROUP = "all"  # group label when no groups are given: every unit shrinks toward one rate
SHRUNK_RATE = "shrunk_rate"  # posterior mean of a unit's rate


@dataclass(frozen=True)
class BetaPrior:
    """An empirical-Bayes Beta prior for rates, one mean per group and one common strength.

    Attributes
    ----------
    group_rate : pandas.Series
        Pooled rate (sum of successes / sum of trials) per group: the prior means.
    strength : float
        ``a + b`` of every group's Beta prior (``inf``: no variation between units
        beyond chance, so every unit is shrunk fully to its group's rate).
    rho : float
        Intra-unit correlation ``1 / (a + b + 1)``: the share of a rate's
        variance that is between units.
    """

    group_rate: pd.Series
    strength: float
    rho: float


def fit_beta_prior(
    successes: pd.Series | np.ndarray,
    trials: pd.Series | np.ndarray,
    group: pd.Series | np.ndarray | None = None,
) -> BetaPrior:
    """Method-of-moments Beta-binomial prior: group means and a common strength.

    Parameters
    ----------
    successes, trials : array-like
        Per unit: successes and trials (e.g. a rep's won and closed deals).
        Units with no trials carry no information and are ignored in the fit.
    group : array-like, optional
        Group of each unit; None puts every unit in one group.

    Returns
    -------
    BetaPrior

    Notes
    -----
    For group :math:`t` with pooled rate :math:`p_t = \\sum x_i / \\sum n_i`, the
    Beta-binomial model gives :math:`\\mathrm{Var}(r_i) = p_t(1-p_t)
    (1 + \\rho (n_i - 1)) / n_i`. For the standardised statistic
    :math:`Q = \\sum_i n_i (r_i - \\hat p_{t(i)})^2 / (p_{t(i)}(1-p_{t(i)}))`
    around the estimated group rates (:math:`k` units in :math:`T` groups,
    :math:`k_t` in group :math:`t`, :math:`N_t = \\sum_{i \\in t} n_i`),
    :math:`E[Q] = (k - T) + \\rho \\sum_t (N_t - \\sum_{i \\in t} n_i^2 / N_t
    - (k_t - 1))`; matching it (method of moments, DerSimonian–Laird form) gives

    .. math:: \\hat\\rho = \\max\\left(0, \\frac{Q - (k - T)}
       {\\sum_t (N_t - \\sum_{i \\in t} n_i^2 / N_t - (k_t - 1))}\\right),
       \\qquad a_t + b_t = 1/\\hat\\rho - 1, \\quad a_t = p_t (a_t + b_t).

    Teams whose pooled rate is 0 or 1 add nothing to :math:`Q`.

    References
    ----------
    Kleinman, J. C. (1973). Proportions with extraneous variance: single and
    independent samples. JASA 68(341), 46-54.
    DerSimonian, R. and Laird, N. (1986). Meta-analysis in clinical trials.
    Controlled Clinical Trials 7(3), 177-188.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("successes must lie between 0 and the number of trials for every unit.")
    groups = np.asarray(group, dtype=object) if group is not None else np.full(x.shape, ONE_GROUP)
    frame = pd.DataFrame({"x": x, "n": n, "group": groups})
    sums = frame.groupby("group", sort=True)[["x", "n"]].sum()
    group_rate = sums["x"] / sums["n"].where(sums["n"] > 0)
    used = frame[frame["n"] > 0].copy()
    used["p"] = used["group"].map(group_rate).astype(float)  # float even when no unit is used
    var = used["p"] * (1 - used["p"])
    used = used[var > 0]
    if used.empty:
        return BetaPrior(group_rate, np.inf, 0.0)
    r = used["x"] / used["n"]
    q = float((used["n"] * (r - used["p"]) ** 2 / (used["p"] * (1 - used["p"]))).sum())
    k, n_groups = len(used), used["group"].nunique()
    by_group = used.groupby("group")["n"]
    n_t = by_group.sum()
    denom = float(
        (n_t - by_group.apply(lambda s: (s**2).sum()) / n_t - (by_group.count() - 1)).sum()
    )
    rho = max(0.0, (q - (k - n_groups)) / denom) if denom > 0 else 0.0
    rho = min(rho, 1.0)
    strength = np.inf if rho == 0 else 1.0 / rho - 1.0
    return BetaPrior(group_rate, strength, rho)


def shrink_rates(
    successes: pd.Series | np.ndarray,
    trials: pd.Series | np.ndarray,
    prior_rate: pd.Series | np.ndarray,
    strength: float,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Posterior mean and equal-tailed interval of each rate under a Beta prior.

    Parameters
    ----------
    successes, trials : array-like
    prior_rate : array-like
        The prior mean of each unit (its group's rate).
    strength : float
        Prior ``a + b``; ``inf`` returns the prior rate with no interval width
        beyond the group rate.
    alpha : float
        1 - credibility of the interval.

    Returns
    -------
    pandas.DataFrame
        ``shrunk_rate, shrunk_ci_low, shrunk_ci_high, shrinkage_weight``.

    Notes
    -----
    With prior :math:`\\mathrm{Beta}(a, b)`, :math:`a = p_t m`,
    :math:`b = (1-p_t) m`, the posterior is :math:`\\mathrm{Beta}(a + x, b + n - x)`
    and its mean

    .. math:: \\tilde r = \\frac{x + a}{n + m} = w\\,\\frac{x}{n} + (1-w)\\,p_t,
       \\qquad w = \\frac{n}{n + m},

    always lies between the unit's raw rate and its group's rate.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    p = np.asarray(prior_rate, dtype=float)
    if np.isinf(strength):
        weight = np.zeros_like(n)
        return pd.DataFrame(
            {SHRUNK_RATE: p, c.SHRUNK_CI_LOW: p, c.SHRUNK_CI_HIGH: p,
             c.SHRINKAGE_WEIGHT: weight}
        )  # fmt: skip
    a, b = p * strength + x, (1 - p) * strength + (n - x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = a / (a + b)
        weight = n / (n + strength)
    low = beta_dist.ppf(alpha / 2, a, b)
    high = beta_dist.ppf(1 - alpha / 2, a, b)
    if strength == 0:  # no pooling: the raw rate, Jeffreys-like interval left undefined at n=0
        mean = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
    return pd.DataFrame(
        {SHRUNK_RATE: mean, c.SHRUNK_CI_LOW: low, c.SHRUNK_CI_HIGH: high,
         c.SHRINKAGE_WEIGHT: weight}
    )  # fmt: skip


def funnel_limits(
    rate: float | np.ndarray, n: float | np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of a funnel plot: the range a unit's raw rate falls in by chance.

    Parameters
    ----------
    rate : float or array
        The rate every unit would have if units differed only by chance.
    n : float or array
        Number of trials of each unit.
    alpha : float
        Two-sided probability of falling outside by chance alone.

    Returns
    -------
    low, high : numpy.ndarray

    Notes
    -----
    Normal approximation :math:`p \\pm z_{1-\\alpha/2}\\sqrt{p(1-p)/n}`, clipped
    to [0, 1] (Spiegelhalter 2005); NaN for ``n = 0``.

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
    performance. Statistics in Medicine 24(8), 1185-1202.
    """
    p = np.asarray(rate, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(p * (1 - p) / np.where(n_arr > 0, n_arr, np.nan))
    return np.clip(p - half, 0, 1), np.clip(p + half, 0, 1)
