"""Tests of analysis.experiments.bayes: Beta-binomial chance to beat control, expected loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.experiments import columns as c
from analysis.experiments.bayes import bayesian_conversion


def counts(rows):
    return pd.DataFrame(rows, columns=[c.VARIANT, c.N_UNITS, c.N_CONVERSIONS])


def test_two_variants_match_numerical_integration():
    table = counts([("A", 200, 40), ("B", 210, 55)])
    result = bayesian_conversion(table, "A", rng=np.random.default_rng(1)).to_frame()
    a, b = stats.beta(41, 161), stats.beta(56, 156)  # uniform prior + counts
    # Reference by scipy quadrature: P(pB > pA) = int f_B(x) F_A(x) dx and
    # expected loss of B = E[(pA - pB)+] = int f_B(y) int_y^1 (1 - F_A(x)) dx dy.
    p_beats = integrate.quad(lambda x: b.pdf(x) * a.cdf(x), 0, 1)[0]
    loss_b = integrate.quad(lambda y: b.pdf(y) * integrate.quad(a.sf, y, 1)[0], 0, 1)[0]
    row = result.set_index(c.VARIANT).loc["B"]
    assert row["prob_beats_control"] == pytest.approx(p_beats, abs=0.005)  # MC, 1e5 draws
    assert row["expected_loss"] == pytest.approx(loss_b, abs=5e-4)
    assert row["posterior_mean"] == pytest.approx(56 / 212)  # (1 + x) / (2 + n)
    assert (row[c.CI_LOW], row[c.CI_HIGH]) == pytest.approx(b.ppf([0.025, 0.975]), abs=2e-3)
    assert result["prob_best"].sum() == pytest.approx(1.0)


def test_seeded_and_control_has_no_chance_to_beat_itself():
    table = counts([("A", 50, 10), ("B", 50, 12), ("C", 0, 0)])
    one = bayesian_conversion(table, "A", draws=2000, rng=np.random.default_rng(5)).to_frame()
    two = bayesian_conversion(table, "A", draws=2000, rng=np.random.default_rng(5)).to_frame()
    pd.testing.assert_frame_equal(one, two)
    assert list(one[c.VARIANT]) == ["A", "B"]  # the empty variant is left out
    assert np.isnan(one.loc[0, "prob_beats_control"])


def test_empty_control_is_a_clear_error():
    with pytest.raises(ValueError, match="control 'A' has no units"):
        bayesian_conversion(counts([("A", 0, 0), ("B", 5, 1)]), "A")
