"""Hierarchical Beta-binomial shrinkage of rates and the control limits of a funnel plot.

A rate from 8 trials is mostly luck. :func:`fit_beta_prior` fits, by full
Bayes on a grid, how much rates truly vary between units around each group's
mean rate; :func:`shrink_rates` pulls each raw rate toward its group by that
much (the fewer the trials, the stronger the pull), with an interval that
carries the uncertainty in the group mean and in the spread as well as the
unit's own; and :func:`funnel_limits` gives the range a raw rate falls in by
chance, for a funnel plot instead of a ranking. Pure functions on per-unit counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betainc, betaincinv, betaln, expit, log_expit, logsumexp
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
# Columns of BetaPrior.nodes, the grid posterior of the hyperparameters.
GROUP, MU, STRENGTH, WEIGHT = "group", "mu", "strength", "weight"

# Grid sizes. A coarse pass of equal cells over s = sqrt(rho) in (0, 1) finds where
# the posterior lies; 24 Gauss-Legendre nodes cover that range. Each s has its own
# logit-mu nodes, so the grid follows mu however many trials a group has. Against a
# grid of 96 x 400 nodes the interval ends move by 1e-5 to 3e-5 for teams of 8-200
# reps and by 1.4e-4 for 3 reps with 16 deals and no win (tests/stats/test_shrinkage.py
# checks against importance sampling).
_S_CELLS_COARSE, _MU_NODES_COARSE = 48, 12
_S_NODES, _MU_NODES = 24, 32
_HALF_WIDTH_SD = 8.0  # logit-mu nodes span +/- this many approximate posterior sd
_TRIM_LOG = 30.0  # coarse s cells kept: log posterior within this of the maximum
_DROPPED_MASS = 1e-4  # lightest grid nodes left out of each mixture: moves its CDF by less


@dataclass(frozen=True)
class BetaPrior:
    """Posterior of the Beta population of rates: one mean per group, one common strength.

    Attributes
    ----------
    group_rate : pandas.Series
        Pooled rate (sum of successes / sum of trials) per group: the team rate
        shown beside the units (NaN for a group without trials).
    group_mean : pandas.Series
        Posterior mean of each group's mean rate :math:`\\mu_t` (the mean of its
        units' rates, each unit counted once; NaN without trials).
    strength : float
        Posterior median of :math:`\\kappa = a + b`, the prior strength in
        trials (NaN when no unit has trials). Large: units differ little.
    rho : float
        Posterior median of :math:`\\rho = 1 / (\\kappa + 1)`, the share of a
        single trial's variance that lies between units (``1 / (strength + 1)``).
    nodes : pandas.DataFrame
        The grid posterior: one row per node, ``group, mu, strength, weight``
        (posterior mass, summing to 1 within each group).
    """

    group_rate: pd.Series
    group_mean: pd.Series
    strength: float
    rho: float
    nodes: pd.DataFrame


def _mu_nodes(x, n, count, s, n_nodes):
    """Logit-mu nodes for each s: a window of +/- 8 sd around the quasi-likelihood rate.

    With :math:`\\rho = s^2`, unit weights :math:`w_i = n_i / (1 + (n_i - 1)\\rho)`
    give the rate :math:`\\tilde p = (\\sum w_i r_i + 1/2) / (\\sum w_i + 1)` and
    the logit standard error :math:`1/\\sqrt{\\tilde p (1-\\tilde p)(\\sum w_i + 1)}`
    (the +1/2 and +1 keep both finite when every rate is 0 or 1).
    """
    w = count * n / (1 + (n - 1) * s[:, None] ** 2)
    total = w.sum(axis=1)
    p = ((w * x / n).sum(axis=1) + 0.5) / (total + 1)
    sd = 1 / np.sqrt(p * (1 - p) * (total + 1))
    step = 2 * _HALF_WIDTH_SD * sd / n_nodes
    offsets = np.arange(n_nodes) - (n_nodes - 1) / 2
    return np.log(p / (1 - p))[:, None] + step[:, None] * offsets, step


def _log_mass(x, n, count, s, u, step):
    """Log posterior mass (unnormalised) of each (s, logit mu) node of one group.

    Beta-binomial likelihood of the group's units (binomial coefficients
    dropped), times the uniform prior on mu in logit coordinates
    (:math:`\\mu(1-\\mu)`), times the node's logit-mu cell width. The prior and
    width in s are the same for every group and enter in :func:`_s_marginal`.
    """
    kappa = (1 / s**2 - 1)[:, None]
    mu = expit(u)
    a, b = mu * kappa, (1 - mu) * kappa
    xs, ns, cs = (v[:, None, None] for v in (x, n, count))
    loglik = (cs * betaln(xs + a, ns - xs + b)).sum(axis=0) - count.sum() * betaln(a, b)
    return loglik + log_expit(u) + log_expit(-u) + np.log(step)[:, None]


def _s_marginal(groups, s, s_width, n_mu):
    """Per group: logit-mu nodes, log node masses, log mass per s; and log p(s | x) * width.

    The prior of :math:`s` is :math:`2s` (:math:`\\rho = s^2` uniform).
    """
    parts = {}
    for g, (x, n, count) in groups.items():
        u, step = _mu_nodes(x, n, count, s, n_mu)
        log_mass = _log_mass(x, n, count, s, u, step)
        parts[g] = (u, log_mass, logsumexp(log_mass, axis=1))
    return parts, np.log(s_width * s) + sum(p[2] for p in parts.values())


def fit_beta_prior(
    successes: pd.Series | np.ndarray,
    trials: pd.Series | np.ndarray,
    group: pd.Series | np.ndarray | None = None,
) -> BetaPrior:
    """Hierarchical Beta-binomial fit: posterior of each group's mean rate and the common strength.

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
        Posterior means of the group means, posterior median of the strength,
        and the grid posterior that :func:`shrink_rates` mixes over.

    Notes
    -----
    The model, for unit :math:`i` in group :math:`t`:

    .. math:: x_i \\mid p_i \\sim \\mathrm{Bin}(n_i, p_i), \\quad
       p_i \\sim \\mathrm{Beta}(\\mu_t \\kappa, (1-\\mu_t)\\kappa), \\quad
       \\mu_t \\sim U(0, 1), \\quad \\rho = \\frac{1}{1 + \\kappa} \\sim U(0, 1),

    i.e. :math:`p(\\kappa) = (1+\\kappa)^{-2}`: uniform on the share of
    variance that lies between units, the prior of Albert (2009, ch. 5; he
    puts a Haldane prior on the mean, here uniform so that a team with no
    win still has a proper posterior). It is proper, so a team of two reps
    gets an answer, and its density in :math:`s = \\sqrt\\rho`, the
    between-unit sd of rates in binomial units (:math:`\\mathrm{sd}(p_i) =
    s\\sqrt{\\mu_t(1-\\mu_t)}`), is :math:`2s`: zero at "no spread", so the
    posterior never piles up there and intervals never collapse to the team
    rate (a boundary-avoiding prior, Chung et al. 2013). Checked by
    simulation (tests/stats/test_shrinkage.py, 8 or 60 reps of 10–80 deals
    around 0.3): 95% intervals cover 0.94–0.95 when :math:`\\kappa = 10`,
    0.97–0.98 when :math:`\\kappa = 200` and 0.99 with no spread (a few reps
    cannot rule out more spread than there is); the proper form of BDA3's
    :math:`(a+b)^{-5/2}` (:math:`s` uniform) covered only 0.93 for 60 reps at
    :math:`\\kappa = 200`. With :math:`a_t = \\mu_t\\kappa`,
    :math:`b_t = (1-\\mu_t)\\kappa`, the likelihood is

    .. math:: p(x \\mid \\mu, \\kappa) \\propto \\prod_i
       \\frac{B(x_i + a_t, n_i - x_i + b_t)}{B(a_t, b_t)}.

    Given :math:`\\kappa` the groups are independent, so :math:`p(\\kappa
    \\mid x) \\propto p(\\kappa) \\prod_t \\int p(x_t \\mid \\mu_t, \\kappa)
    \\,d\\mu_t`, and each group's nodes carry :math:`p(\\kappa \\mid x)\\,
    p(\\mu_t \\mid \\kappa, x_t)`. The integrals are sums on a grid: 48 equal
    cells of :math:`s \\in (0, 1)` find where the posterior lies, 24
    Gauss–Legendre nodes cover that range, and at each :math:`s` 32
    logit-:math:`\\mu_t` nodes span :math:`\\pm 8` approximate standard
    errors around the group's quasi-likelihood rate. The reported strength
    is the posterior median of :math:`\\kappa` (its mean is infinite when the
    data cannot rule out "no spread"), ``rho`` the median of :math:`\\rho`.

    Reps whose rates agree more than chance allows (``[10, 12, 11, 9]`` won
    of 40 each, where the method of moments says :math:`\\rho = 0` and
    infinite strength) get a finite posterior median strength (about 28):
    four reps cannot tell small spread from none, and the intervals say so.
    ``group_mean`` (0.29 there) is pulled from the pooled 0.26 toward 1/2,
    as four reps leave :math:`\\mu_t` uncertain when the spread may be large.

    References
    ----------
    Albert, J. (2009). Bayesian Computation with R, 2nd ed., ch. 5 (a
    beta-binomial model for overdispersion; LearnBayes ``betabinexch0``).
    Chung, Y., Rabe-Hesketh, S., Dorie, V., Gelman, A. and Liu, J. (2013).
    A nondegenerate penalized likelihood estimator for variance parameters
    in multilevel models. Psychometrika 78(4), 685-709.
    Gelman, A. et al. (2013). Bayesian Data Analysis, 3rd ed., §5.3.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("successes must lie between 0 and the number of trials for every unit.")
    codes, labels = _group_codes(group, len(x))
    ok = codes >= 0
    x_sum = np.bincount(codes[ok], weights=x[ok], minlength=len(labels))
    n_sum = np.bincount(codes[ok], weights=n[ok], minlength=len(labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        group_rate = pd.Series(np.where(n_sum > 0, x_sum / n_sum, np.nan), index=labels)
    # Units with equal counts share one likelihood term.
    rows, count = np.unique(np.column_stack([codes, x, n])[ok & (n > 0)], axis=0,
                            return_counts=True)  # fmt: skip
    groups = {
        int(g): (rows[rows[:, 0] == g, 1], rows[rows[:, 0] == g, 2], count[rows[:, 0] == g])
        for g in np.unique(rows[:, 0])
    }
    if not groups:
        empty = pd.DataFrame({GROUP: [], MU: [], STRENGTH: [], WEIGHT: []})
        return BetaPrior(group_rate, group_rate * np.nan, np.nan, np.nan, empty)

    coarse = (np.arange(_S_CELLS_COARSE) + 0.5) / _S_CELLS_COARSE
    _, log_post = _s_marginal(groups, coarse, 1.0, _MU_NODES_COARSE)
    kept = np.flatnonzero(log_post >= log_post.max() - _TRIM_LOG)
    # One coarse cell of margin each side: a peak narrower than a cell still lies inside.
    lo = max(kept[0] - 1, 0) / _S_CELLS_COARSE
    hi = min(kept[-1] + 2, _S_CELLS_COARSE) / _S_CELLS_COARSE
    # Gauss-Legendre in s: accurate at the ends too, where kappa -> 0 bends fast.
    t, t_width = np.polynomial.legendre.leggauss(_S_NODES)
    s, s_width = lo + (hi - lo) * (t + 1) / 2, (hi - lo) * t_width / 2
    parts, log_post = _s_marginal(groups, s, s_width, _MU_NODES)
    s_weight = np.exp(log_post - logsumexp(log_post))

    mu = np.concatenate([expit(u).ravel() for u, _, _ in parts.values()])
    weight = np.concatenate(
        [(s_weight[:, None] * np.exp(lm - m[:, None])).ravel() for _, lm, m in parts.values()]
    )
    node_group = np.repeat(list(parts), _S_NODES * _MU_NODES)
    group_mean = np.full(len(labels), np.nan)
    group_mean[list(parts)] = np.bincount(node_group, weights=weight * mu)[list(parts)]
    nodes = pd.DataFrame(
        {GROUP: labels[node_group], MU: mu, STRENGTH: np.tile(np.repeat(1 / s**2 - 1, _MU_NODES),
         len(parts)), WEIGHT: weight}
    )  # fmt: skip
    # Median of s; Gauss weights partition [lo, hi] into cells around their nodes.
    edges = lo + np.concatenate([[0.0], np.cumsum(s_width)])
    s_median = float(np.interp(0.5, np.concatenate([[0.0], np.cumsum(s_weight)]), edges))
    return BetaPrior(
        group_rate,
        pd.Series(group_mean, index=labels),
        1 / s_median**2 - 1,
        s_median**2,
        nodes,
    )


def _group_codes(group, size):
    """Integer code of each unit's group (-1: missing) and the sorted group labels."""
    if group is None:
        return np.zeros(size, dtype=np.int64), pd.Index([ONE_GROUP])
    codes, labels = pd.factorize(np.asarray(group, dtype=object), sort=True)
    return codes, pd.Index(labels)


def _mixture_quantile(a, b, w, level, xtol=1e-6):
    """Quantile ``level`` of each row's mixture ``sum_k w_k Beta(a[r, k], b[r, k])``.

    Newton steps on the mixture CDF (scipy ``betainc``) from the quantile of the
    moment-matched Beta, kept inside a bisection bracket so every step is safe;
    a row stops when its Newton step is below ``xtol`` (usually after two CDFs).
    """
    log_norm = betaln(a, b)
    mean = (w * a / (a + b)).sum(axis=1)
    second = (w * a * (a + 1) / ((a + b) * (a + b + 1))).sum(axis=1)
    size = mean * (1 - mean) / np.maximum(second - mean**2, 1e-300) - 1
    q = betaincinv(mean * size, (1 - mean) * size, level)
    q = np.where(np.isfinite(q) & (q > 0) & (q < 1), q, mean)
    lo, hi = np.zeros_like(q), np.ones_like(q)
    active = np.arange(len(q))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(200):
            qa, ar, br = q[active, None], a[active], b[active]
            gap = (w * betainc(ar, br, qa)).sum(axis=1) - level
            lo[active] = np.where(gap < 0, q[active], lo[active])
            hi[active] = np.where(gap > 0, q[active], hi[active])
            density = (w * np.exp((ar - 1) * np.log(qa) + (br - 1) * np.log1p(-qa)
                                  - log_norm[active])).sum(axis=1)  # fmt: skip
            newton = q[active] - gap / density
            inside = np.isfinite(newton) & (newton > lo[active]) & (newton < hi[active])
            step = np.where(inside, newton, (lo[active] + hi[active]) / 2)
            done = (gap == 0) | (inside & (np.abs(newton - q[active]) < xtol))
            done |= hi[active] - lo[active] < xtol
            q[active] = np.where(gap == 0, q[active], step)
            active = active[~done]
            if not len(active):
                break
    return q


def shrink_rates(
    successes: pd.Series | np.ndarray,
    trials: pd.Series | np.ndarray,
    group: pd.Series | np.ndarray | None = None,
    alpha: float = 0.05,
    *,
    prior: BetaPrior | None = None,
) -> pd.DataFrame:
    """Posterior mean and equal-tailed interval of each unit's rate under the hierarchical model.

    Parameters
    ----------
    successes, trials : array-like
    group : array-like, optional
        Group of each unit, as given to :func:`fit_beta_prior`; None: one group.
    alpha : float
        1 - credibility of the interval.
    prior : BetaPrior, optional
        ``fit_beta_prior(successes, trials, group)``, to avoid fitting twice;
        None fits it.

    Returns
    -------
    pandas.DataFrame
        ``shrunk_rate, shrunk_ci_low, shrunk_ci_high, shrinkage_weight``, one
        row per unit. A unit without trials gets the rate of a new unit of its
        group (mean: the posterior mean of :math:`\\mu_t`); a group without
        trials gives NaN.

    Notes
    -----
    Given the hyperparameters, unit :math:`i` has posterior
    :math:`\\mathrm{Beta}(a + x_i, b + n_i - x_i)`, whose mean
    :math:`w\\,x_i/n_i + (1-w)\\,\\mu_t` with :math:`w = n_i/(n_i+\\kappa)` lies
    between the raw rate and the group mean. Its posterior is the mixture of
    these Betas over the grid posterior of :math:`(\\mu_t, \\kappa)` (the
    lightest nodes, :math:`10^{-4}` of the mass, dropped):
    ``shrunk_rate`` is the mixture mean, the interval its
    :math:`\\alpha/2` and :math:`1-\\alpha/2` quantiles (mixture CDF by
    ``scipy.special.betainc`` over the heaviest nodes holding :math:`1 - 10^{-4}`
    of the mass, Newton steps to below :math:`10^{-6}`), and
    ``shrinkage_weight`` the posterior mean of :math:`w`. Because the interval
    integrates over the team rate and the spread instead of fixing them at
    point estimates, it never has zero width, and 95% intervals cover
    0.94–0.99 of planted rates in simulation (see :func:`fit_beta_prior`).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, not {alpha!r}.")
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    prior = fit_beta_prior(x, n, group) if prior is None else prior
    codes, labels = _group_codes(group, len(x))
    mean, low, high = (np.full(x.shape, np.nan) for _ in range(3))
    weight = np.where(n == 0, 0.0, np.nan)
    node_codes = labels.get_indexer(prior.nodes[GROUP])
    node_mu, node_kappa, node_weight = (
        prior.nodes[k].to_numpy(float) for k in (MU, STRENGTH, WEIGHT)
    )
    for g in np.unique(node_codes[node_codes >= 0]):
        units = np.flatnonzero(codes == g)
        on = np.flatnonzero(node_codes == g)
        w, kappa, mu = node_weight[on], node_kappa[on], node_mu[on]
        counts, inverse = np.unique(np.column_stack([x[units], n[units]]), axis=0,
                                    return_inverse=True)  # fmt: skip
        xs, ns = counts[:, :1], counts[:, 1:]
        a, b = mu * kappa + xs, (1 - mu) * kappa + ns - xs
        mean[units] = (w * a / (a + b)).sum(axis=1)[inverse]
        weight[units] = (w * ns / (ns + kappa)).sum(axis=1)[inverse]
        # Quantiles, the costly part, from the heaviest nodes holding 1 - 1e-4 of the mass.
        order = np.argsort(-w)
        heavy = order[np.cumsum(w[order]) - w[order] < 1 - _DROPPED_MASS]
        a, b, w = a[:, heavy], b[:, heavy], w[heavy] / w[heavy].sum()
        low[units] = _mixture_quantile(a, b, w, alpha / 2)[inverse]
        high[units] = _mixture_quantile(a, b, w, 1 - alpha / 2)[inverse]
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
