"""Bayesian reading of a conversion test: chance to beat control and expected loss.

Leaders ask "how likely is B better, and what do we lose if we pick it and
are wrong?". Beta-binomial posteriors answer both directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.experiments import columns as c

POSTERIOR_MEAN = "posterior_mean"
PROB_BEATS_CONTROL = "prob_beats_control"
PROB_BEST = "prob_best"
PROB_NEGLIGIBLE = "prob_negligible"  # P(|p_v - p_0| < minimum effect)
EXPECTED_LOSS = "expected_loss"
DEFAULT_DRAWS = 100_000


@dataclass(frozen=True)
class BayesianReading:
    """Posterior conversion of each variant and its comparison with the control.

    Attributes
    ----------
    table : pandas.DataFrame
        Per variant: ``posterior_mean``, credible interval ``ci_low, ci_high``,
        ``prob_beats_control``, ``prob_best`` and ``expected_loss`` (expected
        conversion given up by choosing the variant instead of the best one).
    control : str
    prior : tuple of float
        Beta prior (a, b) of every variant.
    draws : int
        Monte Carlo draws per variant.
    design_effect : float
        The counts were divided by it (1 when units were randomised one by one).
    """

    table: pd.DataFrame
    control: str
    prior: tuple[float, float]
    draws: int
    design_effect: float = 1.0

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table."""
        return self.table.copy()


def bayesian_conversion(
    counts: pd.DataFrame,
    control: str,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    alpha: float = 0.05,
    draws: int = DEFAULT_DRAWS,
    rng: np.random.Generator | None = None,
    design_effect: float = 1.0,
    minimum_effect: float | None = None,
) -> BayesianReading:
    """Beta-binomial posteriors, chance to beat the control and expected loss.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``variant, n, conversions`` per variant, e.g.
        ``compare_conversion(...).to_frame()``.
    control : str
        The control variant.
    prior : tuple of float
        Beta(a, b) prior of each rate; (1, 1) is uniform.
    alpha : float
        1 - level of the equal-tailed credible interval.
    draws : int
        Monte Carlo draws from each posterior.
    rng : numpy.random.Generator, optional
        Source of randomness (default ``np.random.default_rng(0)``: the same
        data always gives the same figures).
    design_effect : float
        For a test randomised by rep or account: the design effect of the
        clustering (``ClusterDesign.design_effect``). Counts are divided by it,
        so the posterior rests on the effective sample size, not on deals as
        if they were independent.
    minimum_effect : float, optional
        Adds ``prob_negligible``, the chance that the variant and the control
        differ by less than this (absolute).

    Returns
    -------
    BayesianReading

    Notes
    -----
    Posterior :math:`p_v \\sim \\text{Beta}(a + x_v, b + n_v - x_v)`.
    :math:`P(p_v > p_0)` and the expected loss
    :math:`E[\\max_w p_w - p_v]` are Monte Carlo averages over ``draws``
    joint draws. With a design effect :math:`D > 1` the posterior is
    :math:`\\text{Beta}(a + x_v/D, b + (n_v - x_v)/D)`: the effective-sample
    approximation for cluster-randomised data (Donner & Klar 2000, ch. 6),
    as wide as the cluster-robust interval, where per-deal counts would make
    it as overconfident as a per-deal test.

    References
    ----------
    Stucchio, C. (2015). Bayesian A/B testing at VWO (expected loss).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    a0, b0 = prior
    used = counts[counts[c.N_UNITS] > 0].reset_index(drop=True)
    if control not in set(used[c.VARIANT]):
        raise ValueError(f"The control {control!r} has no units; nothing to compare with.")
    scale = design_effect if np.isfinite(design_effect) and design_effect > 1 else 1.0
    x = used[c.N_CONVERSIONS].to_numpy(float) / scale
    n = used[c.N_UNITS].to_numpy(float) / scale
    samples = rng.beta(a0 + x[:, None], b0 + (n - x)[:, None], size=(len(used), draws))
    ctrl = samples[int(np.flatnonzero(used[c.VARIANT] == control)[0])]
    best = samples.max(axis=0)
    winner = samples.argmax(axis=0)
    table = pd.DataFrame(
        {
            c.VARIANT: used[c.VARIANT].to_numpy(),
            c.IS_CONTROL: (used[c.VARIANT] == control).to_numpy(),
            POSTERIOR_MEAN: (a0 + x) / (a0 + b0 + n),
            c.CI_LOW: np.quantile(samples, alpha / 2, axis=1),
            c.CI_HIGH: np.quantile(samples, 1 - alpha / 2, axis=1),
            PROB_BEATS_CONTROL: (samples > ctrl).mean(axis=1),
            PROB_BEST: np.bincount(winner, minlength=len(used)) / draws,
            EXPECTED_LOSS: (best - samples).mean(axis=1),
        }
    )
    if minimum_effect is not None:
        table[PROB_NEGLIGIBLE] = (np.abs(samples - ctrl) < minimum_effect).mean(axis=1)
        table.loc[table[c.IS_CONTROL], PROB_NEGLIGIBLE] = np.nan
    table.loc[table[c.IS_CONTROL], PROB_BEATS_CONTROL] = np.nan
    return BayesianReading(table, control, (float(a0), float(b0)), draws, scale)
