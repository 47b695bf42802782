"""Empirical-Bayes shrinkage of rates and the control limits of a funnel plot.

A rate from 8 trials is mostly luck. :func:`fit_beta_prior` estimates, by the
method of moments, how much rates truly vary between units (reps) around
their team's pooled rate; :func:`shrink_rates` pulls each raw rate toward its
team's rate by that much (the fewer the trials, the stronger the pull); and
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

__all__ = ["ALL_REPS", "BetaPrior", "fit_beta_prior", "funnel_limits", "shrink_rates"]

ALL_REPS = "all reps"  # team label when shrinking toward the whole team of reps


@dataclass(frozen=True)
class BetaPrior:
    """An empirical-Bayes Beta prior for rates, one mean per team and one common strength.

    Attributes
    ----------
    team_rate : pandas.Series
        Pooled rate (sum of successes / sum of trials) per team: the prior means.
    strength : float
        ``a + b`` of every team's Beta prior (``inf``: no variation between reps
        beyond chance, so every rep is shrunk fully to the team rate).
    rho : float
        Intra-rep correlation ``1 / (a + b + 1)``: the share of a rate's
        variance that is between reps.
    """

    team_rate: pd.Series
    strength: float
    rho: float


def fit_beta_prior(
    successes: pd.Series | np.ndarray,
    trials: pd.Series | np.ndarray,
    team: pd.Series | np.ndarray | None = None,
) -> BetaPrior:
    """Method-of-moments Beta-binomial prior: team means and a common strength.

    Parameters
    ----------
    successes, trials : array-like
        Per rep: won and closed (won + lost) deals. Reps with no trials carry
        no information and are ignored in the fit.
    team : array-like, optional
        Team of each rep; None puts every rep in one team.

    Returns
    -------
    BetaPrior

    Notes
    -----
    For team :math:`t` with pooled rate :math:`p_t = \\sum x_i / \\sum n_i`, the
    Beta-binomial model gives :math:`\\mathrm{Var}(r_i) = p_t(1-p_t)
    (1 + \\rho (n_i - 1)) / n_i`. For the standardised statistic
    :math:`Q = \\sum_i n_i (r_i - \\hat p_{t(i)})^2 / (p_{t(i)}(1-p_{t(i)}))`
    around the estimated team rates (:math:`k` reps in :math:`T` teams,
    :math:`k_t` in team :math:`t`, :math:`N_t = \\sum_{i \\in t} n_i`),
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
        raise ValueError("successes must lie between 0 and the number of trials for every rep.")
    groups = np.asarray(team, dtype=object) if team is not None else np.full(x.shape, ALL_REPS)
    frame = pd.DataFrame({"x": x, "n": n, "team": groups})
    sums = frame.groupby("team", sort=True)[["x", "n"]].sum()
    team_rate = (sums["x"] / sums["n"].where(sums["n"] > 0)).rename(c.TEAM_WIN_RATE)
    used = frame[frame["n"] > 0].copy()
    used["p"] = used["team"].map(team_rate)
    var = used["p"] * (1 - used["p"])
    used = used[var > 0]
    if used.empty:
        return BetaPrior(team_rate, np.inf, 0.0)
    r = used["x"] / used["n"]
    q = float((used["n"] * (r - used["p"]) ** 2 / (used["p"] * (1 - used["p"]))).sum())
    k, n_teams = len(used), used["team"].nunique()
    by_team = used.groupby("team")["n"]
    n_t = by_team.sum()
    denom = float((n_t - by_team.apply(lambda s: (s**2).sum()) / n_t - (by_team.count() - 1)).sum())
    rho = max(0.0, (q - (k - n_teams)) / denom) if denom > 0 else 0.0
    rho = min(rho, 1.0)
    strength = np.inf if rho == 0 else 1.0 / rho - 1.0
    return BetaPrior(team_rate, strength, rho)


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
        The prior mean of each rep (their team rate).
    strength : float
        Prior ``a + b``; ``inf`` returns the prior rate with no interval width
        beyond the team rate.
    alpha : float
        1 - credibility of the interval.

    Returns
    -------
    pandas.DataFrame
        ``shrunk_win_rate, shrunk_ci_low, shrunk_ci_high, shrinkage_weight``.

    Notes
    -----
    With prior :math:`\\mathrm{Beta}(a, b)`, :math:`a = p_t m`,
    :math:`b = (1-p_t) m`, the posterior is :math:`\\mathrm{Beta}(a + x, b + n - x)`
    and its mean

    .. math:: \\tilde r = \\frac{x + a}{n + m} = w\\,\\frac{x}{n} + (1-w)\\,p_t,
       \\qquad w = \\frac{n}{n + m},

    always lies between the rep's raw rate and the team rate.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    p = np.asarray(prior_rate, dtype=float)
    if np.isinf(strength):
        weight = np.zeros_like(n)
        return pd.DataFrame(
            {c.SHRUNK_WIN_RATE: p, c.SHRUNK_CI_LOW: p, c.SHRUNK_CI_HIGH: p,
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
        {c.SHRUNK_WIN_RATE: mean, c.SHRUNK_CI_LOW: low, c.SHRUNK_CI_HIGH: high,
         c.SHRINKAGE_WEIGHT: weight}
    )  # fmt: skip


def funnel_limits(
    team_rate: float | np.ndarray, n: float | np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of a funnel plot: the range a rep's raw rate falls in by chance.

    Parameters
    ----------
    team_rate : float or array
    n : float or array
        Number of closed deals.
    alpha : float
        Two-sided probability of falling outside when the rep is like the team.

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
    p = np.asarray(team_rate, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(p * (1 - p) / np.where(n_arr > 0, n_arr, np.nan))
    return np.clip(p - half, 0, 1), np.clip(p + half, 0, 1)
