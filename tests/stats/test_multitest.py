"""Tests for analysis.stats.multitest: Holm, Benjamini–Hochberg and Bonferroni adjustment."""

from __future__ import annotations

import time

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.core.types import CORRECTIONS, check_correction
from analysis.stats.multitest import adjust_pvalues

METHODS = ("holm", "fdr_bh", "bonferroni")


@pytest.mark.parametrize("method", METHODS)
def test_adjusted_p_values_match_statsmodels(method):
    # Reference: statsmodels.stats.multitest.multipletests on seeded p-values
    # (moved from tests/team/test_coaching.py; coaching re-exports adjust_pvalues).
    p = np.random.default_rng(1).uniform(size=50) ** 3
    assert adjust_pvalues(p, method) == pytest.approx(multipletests(p, method=method)[1])


@pytest.mark.parametrize("method", METHODS)
def test_identical_to_statsmodels_on_many_families_with_ties(method):
    # Reference: statsmodels 0.14 multipletests(p, method=...)[1]; the numpy code
    # performs the same floating-point operations, so the values are identical,
    # including tied p-values and p-values pushed above 1.
    # 40 families: statsmodels' Holm takes ~65 ms a call here, 200 cost half a minute.
    rng = np.random.default_rng(7)
    for _ in range(40):
        m = int(rng.integers(1, 40))
        p = rng.uniform(size=m) ** 3
        p[rng.integers(0, m)] = p[0]  # a tie
        np.testing.assert_array_equal(adjust_pvalues(p, method), multipletests(p, method=method)[1])


def test_hand_computed_values():
    # Hand calculation, m = 4, p = (0.01, 0.04, 0.03, 0.20):
    # Holm sorted: 4*0.01=0.04, 3*0.03=0.09, 2*0.04=0.08 -> max so far 0.09, 1*0.20=0.20.
    # BH sorted: 0.01*4/1=0.04, 0.03*4/2=0.06, 0.04*4/3=0.0533, 0.20*4/4=0.20,
    # then the running minimum from the top: 0.04, 0.0533, 0.0533, 0.20.
    p = np.array([0.01, 0.04, 0.03, 0.20])
    assert adjust_pvalues(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert adjust_pvalues(p, "fdr_bh") == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert adjust_pvalues(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.80])
    assert adjust_pvalues(p, "none") == pytest.approx(p)


def test_nan_rows_are_left_out_of_the_family():
    # Property: untested rows stay NaN and do not count in m.
    p = np.array([0.01, np.nan, 0.04, np.nan])
    out = adjust_pvalues(p, "holm")
    assert np.isnan(out[[1, 3]]).all()
    assert out[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="holm")[1])
    assert np.isnan(adjust_pvalues([np.nan, np.nan], "fdr_bh")).all()
    assert adjust_pvalues([], "holm").shape == (0,)


def test_properties_bounds_and_order():
    # Property: adjusted values lie in [p, 1] and keep the order of the raw p-values.
    p = np.random.default_rng(3).uniform(size=100) ** 2
    for method in METHODS:
        out = adjust_pvalues(p, method)
        assert (out >= p - 1e-15).all() and (out <= 1).all()
        order = np.argsort(p)
        assert (np.diff(out[order]) >= 0).all()


def test_fast_enough_to_call_thousands_of_times():
    # Property: no gc.collect per call (multipletests runs one, ~0.4 s each here).
    p = np.random.default_rng(0).uniform(size=20)
    start = time.perf_counter()
    for _ in range(2000):
        adjust_pvalues(p, "holm")
    assert time.perf_counter() - start < 2.0


def test_unknown_method_is_a_clear_message():
    with pytest.raises(ValueError, match="correction must be one of"):
        adjust_pvalues([0.1], "sidak")
    with pytest.raises(ValueError, match="correction must be one of holm, fdr_bh"):
        check_correction("none", ("holm", "fdr_bh"))
    assert set(METHODS) < set(CORRECTIONS)


def test_adjusted_levels_by_hand():
    # p = 0.01, 0.04 under Holm: adjusted 0.02, 0.04; levels 0.05 * p / p_adj = 0.025, 0.05.
    from analysis.stats.multitest import adjusted_levels

    p = np.array([0.01, 0.04, np.nan])
    levels = adjusted_levels(p, adjust_pvalues(p, "holm"), 0.05)
    assert levels == pytest.approx([0.025, 0.05, 0.05])
    # Both p-values 0 (underflow): Bonferroni's alpha / m.
    assert adjusted_levels([0.0, 0.3], [0.0, 0.3], 0.05)[0] == pytest.approx(0.025)
