"""Tests for analysis.stats.shrinkage: the hierarchical Beta-binomial fit, shrunk intervals, funnel limits."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import betainc, betaln
from scipy.stats import beta as beta_dist

from analysis.core import columns as c
from analysis.stats.shrinkage import SHRUNK_RATE, fit_beta_prior, funnel_limits, shrink_rates


def test_reps_agreeing_more_than_chance_get_intervals_of_positive_width():
    # Issue 19, item 4: the method of moments gives rho = 0 here (Q = 0.55 < k - 1 = 3),
    # so the old intervals had zero width at the team rate 42/160 = 0.2625.
    x, n = [10, 12, 11, 9], [40] * 4
    prior = fit_beta_prior(x, n)
    assert np.isfinite(prior.strength) and prior.strength > 0
    assert prior.rho == pytest.approx(1 / (1 + prior.strength))
    assert prior.group_rate.iloc[0] == pytest.approx(42 / 160)
    shrunk = shrink_rates(x, n, prior=prior)
    low, high = shrunk[c.SHRUNK_CI_LOW], shrunk[c.SHRUNK_CI_HIGH]
    assert (high - low).min() > 0.1  # a Wilson interval of 10/40 is 0.26 wide
    assert ((low < 42 / 160) & (42 / 160 < high)).all()
    assert ((low < prior.group_mean.iloc[0]) & (prior.group_mean.iloc[0] < high)).all()
    assert shrunk[SHRUNK_RATE].between(low, high).all()


def _posterior_draws(x, n, team, size, keep, rng):
    """Draws of (mu per team, kappa) from the posterior (uniform priors on mu and rho).

    Importance sampling: rho uniform, each team's mu from 0.8 Beta(1 + X/2, 1 + (N - X)/2)
    (twice as wide as the pooled posterior) + 0.2 uniform, weighted by likelihood x
    prior / proposal; then ``keep`` draws by systematic resampling.
    """
    kappa = 1 / rng.uniform(size=size) - 1
    log_w, mu = np.zeros(size), {}
    for t in np.unique(team):
        won, lost = x[team == t].sum() / 2 + 1, (n - x)[team == t].sum() / 2 + 1
        wide = rng.uniform(size=size) < 0.2
        mu[t] = np.where(wide, rng.uniform(size=size), rng.beta(won, lost, size=size))
        log_w -= np.log(0.2 + 0.8 * beta_dist.pdf(mu[t], won, lost))
    for xi, ni, ti in zip(x, n, team, strict=True):
        a, b = mu[ti] * kappa, (1 - mu[ti]) * kappa
        log_w += betaln(xi + a, ni - xi + b) - betaln(a, b)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    picked = np.searchsorted(np.cumsum(w), (rng.uniform() + np.arange(keep)) / keep)
    picked = np.minimum(picked, size - 1)
    return {t: m[picked] for t, m in mu.items()}, kappa[picked], 1 / np.sum(w**2)


def test_grid_mixture_matches_importance_sampling_of_the_same_posterior():
    # Independent computation: importance draws of (mu_a, mu_b, rho) from the same
    # posterior, no grid; each rep's posterior is then the mixture of
    # Beta(mu kappa + x, (1 - mu) kappa + n - x) over the draws (Rao-Blackwellised:
    # exact CDFs, no draw of the rate itself). Its CDF at the grid's interval ends
    # must be alpha/2 and 1 - alpha/2, and its mean the shrunk rate.
    x = np.array([3, 7, 5, 9, 0, 20, 14, 2])
    n = np.array([12, 15, 30, 25, 4, 40, 35, 6])
    team = np.array(["a"] * 5 + ["b"] * 3)
    shrunk = shrink_rates(x, n, team)
    mu, kappa, ess = _posterior_draws(x, n, team, 600_000, 150_000, np.random.default_rng(20))
    assert ess > 50_000
    for i in range(len(x)):
        a = mu[team[i]] * kappa + x[i]
        b = (1 - mu[team[i]]) * kappa + n[i] - x[i]
        assert np.mean(a / (a + b)) == pytest.approx(shrunk[SHRUNK_RATE].iloc[i], abs=1e-3)
        for column, level in ((c.SHRUNK_CI_LOW, 0.025), (c.SHRUNK_CI_HIGH, 0.975)):
            q = shrunk[column].iloc[i]
            assert np.mean(betainc(a, b, q)) == pytest.approx(level, abs=1.5e-3)


def test_posterior_median_of_rho_recovers_the_planted_value():
    # Planted truth by simulation (seeded): 400 reps of 5 deals each with rates drawn
    # from Beta with intra-class correlation rho = 0.2 (a + b = 1/rho - 1 = 4).
    rng = np.random.default_rng(11)
    estimates = []
    for _ in range(200):
        p = rng.beta(0.4 * 4, 0.6 * 4, size=400)
        estimates.append(fit_beta_prior(rng.binomial(5, p), np.full(400, 5)).rho)
    assert np.mean(estimates) == pytest.approx(0.2, abs=0.01)


def test_shrunk_rates_lie_between_raw_rate_and_group_mean_inside_their_intervals():
    # Property over seeded random data: three teams, uneven sizes, some reps without deals.
    rng = np.random.default_rng(3)
    team = np.repeat(["a", "b", "c"], 8)
    for _ in range(20):
        n = rng.integers(0, 80, size=24)
        x = rng.binomial(n, rng.uniform(0.1, 0.7, size=24))
        prior = fit_beta_prior(x, n, team)
        mean = pd.Series(team).map(prior.group_mean).to_numpy()
        shrunk = shrink_rates(x, n, team, prior=prior)
        rate = shrunk[SHRUNK_RATE].to_numpy()
        has = n > 0
        raw = x[has] / n[has]
        # Given (mu, kappa) the mean lies between raw rate and mu; averaged over the
        # posterior it can leave by the covariance of the weight and mu (1e-4 here).
        lo, hi = np.minimum(raw, mean[has]), np.maximum(raw, mean[has])
        assert np.all((rate[has] >= lo - 2e-3) & (rate[has] <= hi + 2e-3))
        assert np.allclose(rate[~has], mean[~has])  # no deals: a new rep of the team
        assert np.all(shrunk[c.SHRUNK_CI_LOW] < rate) and np.all(rate < shrunk[c.SHRUNK_CI_HIGH])
        assert shrunk[c.SHRINKAGE_WEIGHT].between(0, 1).all()
        assert np.all(shrunk[c.SHRINKAGE_WEIGHT].to_numpy()[~has] == 0)


def test_group_without_trials_gives_nan_and_others_are_unaffected():
    x, n, team = [0, 0, 3, 6], [0, 0, 10, 20], ["empty", "empty", "t", "t"]
    prior = fit_beta_prior(x, n, team)
    assert np.isnan(prior.group_rate["empty"]) and np.isnan(prior.group_mean["empty"])
    shrunk = shrink_rates(x, n, team, prior=prior)
    assert shrunk[SHRUNK_RATE].iloc[:2].isna().all()
    assert shrunk[SHRUNK_RATE].iloc[2:].notna().all()
    none = fit_beta_prior([0, 0], [0, 0])
    assert np.isnan(none.strength) and none.nodes.empty
    assert shrink_rates([0, 0], [0, 0])[SHRUNK_RATE].isna().all()


def test_every_rep_without_a_win_still_gets_an_interval_above_zero():
    # Pooled rate 0: the old prior was Beta(0, m) and every interval [0, 0].
    shrunk = shrink_rates([0, 0, 0], [5, 3, 8])
    assert (shrunk[c.SHRUNK_CI_HIGH] > 0.05).all()
    assert (shrunk[SHRUNK_RATE] > 0).all()


# name: (reps, kappa of the true rates (None: every rep at 0.3), datasets, upper bound)
# Upper bounds: with little or no spread the data cannot rule out some spread, so
# the intervals stay wider than the truth needs; the 95% intervals over-cover there
# (about 0.967 for 60 reps and 0.976 for 8 reps at kappa = 200 over 800 datasets).
COVERAGE_SCENARIOS = {
    "8 reps, low spread": (8, 200.0, 250, 0.98),
    "8 reps, high spread": (8, 10.0, 250, 0.97),
    "60 reps, low spread": (60, 200.0, 120, 0.98),
    "60 reps, high spread": (60, 10.0, 120, 0.97),
    "8 reps, no spread": (8, None, 150, 1.0),
}


@pytest.mark.parametrize("scenario", list(COVERAGE_SCENARIOS))
def test_95_percent_intervals_cover_the_planted_rates(scenario):
    # Planted truth by simulation (seeded): rep rates drawn from Beta(0.3 kappa, 0.7 kappa),
    # 10-80 closed deals each; coverage of every rep's interval, over reps and datasets.
    k, kappa, datasets, upper = COVERAGE_SCENARIOS[scenario]
    rng = np.random.default_rng(19)
    hits = []
    for _ in range(datasets):
        n = rng.integers(10, 81, size=k)
        p = np.full(k, 0.3) if kappa is None else rng.beta(0.3 * kappa, 0.7 * kappa, size=k)
        shrunk = shrink_rates(rng.binomial(n, p), n)
        hits.append((shrunk[c.SHRUNK_CI_LOW] <= p) & (p <= shrunk[c.SHRUNK_CI_HIGH]))
    coverage = float(np.mean(np.concatenate(hits)))
    print(f"coverage {scenario}: {coverage:.4f}")
    assert 0.92 <= coverage <= upper


def test_a_team_of_200_reps_is_fast():
    # About 0.2 s on one core; the bound leaves room for a loaded test machine.
    rng = np.random.default_rng(5)
    n = rng.integers(10, 81, size=200)
    x = rng.binomial(n, rng.beta(3, 7, size=200))
    start = time.perf_counter()
    shrink_rates(x, n, np.repeat(["a", "b", "c", "d"], 50))
    assert time.perf_counter() - start < 2.0


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(ValueError, match="between 0 and the number of trials"):
        fit_beta_prior([5], [3])
    with pytest.raises(ValueError, match="alpha"):
        shrink_rates([1, 2], [5, 5], None, 1.5)


def test_funnel_limits_hand_values():
    # p = 0.5, n = 100: 0.5 -/+ 1.959964 * sqrt(0.25 / 100) = 0.5 -/+ 0.0979982.
    lo, hi = funnel_limits(0.5, 100, 0.05)
    assert (float(lo), float(hi)) == pytest.approx((0.4020018, 0.5979982), abs=1e-6)
    lo, hi = funnel_limits(0.5, 0, 0.05)
    assert np.isnan(lo) and np.isnan(hi)
