"""Tests of analysis.experiments.power: sample size, achieved power, detectable effect."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from analysis.experiments.power import power_analysis


def test_sample_size_matches_the_arcsine_formula():
    # Hand calculation (Cohen 1988, ch. 6): h = 2 asin(sqrt .12) - 2 asin(sqrt .10), each
    # arm's arcsine has variance 1/n, so n = 2 ((z_.975 + z_.80) / h)^2 per arm, rounded up.
    h = 2 * math.asin(math.sqrt(0.12)) - 2 * math.asin(math.sqrt(0.10))
    n = 2 * ((norm.ppf(0.975) + norm.ppf(0.80)) / h) ** 2
    result = power_analysis(0.10, 0.02)
    assert result.n_per_arm_needed == math.ceil(n)
    # The textbook variance formula (z_a + z_b)^2 (p0 q0 + p1 q1) / d^2 gives 3,838.
    assert abs(result.n_per_arm_needed - 3838) < 10
    assert result.design_effect == 1 and result.clusters_per_arm_needed is None


def test_achieved_power_and_detectable_effect_are_consistent():
    needed = power_analysis(0.30, 0.05).n_per_arm_needed
    at_needed = power_analysis(0.30, 0.05, n_per_arm=needed)
    # At the planned size, power is the target and the detectable effect the minimum.
    assert at_needed.achieved_power == pytest.approx(0.80, abs=2e-3)
    assert at_needed.detectable_effect == pytest.approx(0.05, abs=5e-4)
    assert at_needed.more_units_needed == 0
    half = power_analysis(0.30, 0.05, n_per_arm=needed // 2)
    assert half.achieved_power < 0.8 and half.detectable_effect > 0.05
    assert half.more_units_needed == 2 * (needed - needed // 2)


def test_clustered_design_multiplies_by_the_design_effect():
    # Design effect 1 + (m - 1) ICC = 1 + 19 * 0.05 = 1.95 (Donner & Klar 2000, ch. 5).
    plain = power_analysis(0.2, 0.05)
    clustered = power_analysis(0.2, 0.05, icc=0.05, cluster_size=20)
    assert clustered.design_effect == pytest.approx(1.95)
    n_indep = plain.n_per_arm_needed
    assert n_indep * 1.95 - 2 <= clustered.n_per_arm_needed <= math.ceil(n_indep * 1.95)
    assert clustered.clusters_per_arm_needed == math.ceil(clustered.n_per_arm_needed / 20)


def test_bad_arguments():
    with pytest.raises(ValueError, match="baseline_rate"):
        power_analysis(0.0, 0.1)
    with pytest.raises(ValueError, match="minimum_effect"):
        power_analysis(0.95, 0.1)


def test_fixed_clusters_cap_the_power_more_units_can_give():
    # Hand calculation (Donner & Klar 2000, ch. 5): G clusters of m units have the
    # effective size G m / (1 + (m - 1) icc), which grows to G / icc as m grows. With
    # 10 reps per arm and icc 0.1 that is 100 per arm: no number of deals from those reps
    # gets past the power of 100 independent units per arm.
    capped = power_analysis(0.2, 0.05, n_per_arm=400, icc=0.1, cluster_size=40, clusters_per_arm=10)
    h = 2 * math.asin(math.sqrt(0.25)) - 2 * math.asin(math.sqrt(0.2))
    shift = h * math.sqrt(100 / 2)  # two-sided power: both tails of the test
    ceiling = norm.cdf(shift - norm.ppf(0.975)) + norm.cdf(-shift - norm.ppf(0.975))
    assert capped.max_power_same_clusters == pytest.approx(ceiling, abs=1e-3)
    assert capped.max_power_same_clusters < 0.8 and capped.more_units_same_clusters is None
    # With 60 reps per arm the cap is 600: units per rep m = n (1 - icc) / (G - n icc) reach
    # the independent size n = 1,092 (plain power_analysis, rounded up before).
    n = power_analysis(0.2, 0.05).n_per_arm_needed
    reach = power_analysis(0.2, 0.05, n_per_arm=600, icc=0.05, cluster_size=10, clusters_per_arm=60)
    m = n * 0.95 / (60 - n * 0.05)
    assert reach.more_units_same_clusters == pytest.approx(2 * (m * 60 - 600), abs=2 * 60)
