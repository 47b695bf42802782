"""Tests of analysis.experiments.timing: time to conversion and deal size by variant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.experiments import columns as c
from analysis.experiments.timing import SHARE_CONVERTED, compare_amounts, time_to_conversion


def test_kaplan_meier_and_logrank_by_hand():
    # Hand calculation. A: days 1 (event), 2 (event); B: 3 (event), 4 (event), 2.5 (censored).
    # Log-rank: t=1: n=5 (2 A), E_A=2/5, V=(2/5)(3/5)=0.24; t=2: n=4 (1 A), E_A=1/4,
    # V=(1/4)(3/4)=0.1875; t=3 and 4: no A at risk. O-E = 2 - 0.65 = 1.35, V = 0.4275,
    # chi2 = 1.35^2 / 0.4275 = 4.2632. B's share converted: at 3 days 1 - 1/2, at 4 days 1.
    units = pd.DataFrame(
        {
            c.VARIANT: ["A", "A", "B", "B", "B"],
            c.DAYS: [1.0, 2.0, 3.0, 4.0, 2.5],
            c.CONVERTED: [1.0, 1.0, 1.0, 1.0, np.nan],
        }
    )
    result = time_to_conversion(units, horizons=(3,))
    assert result.statistic == pytest.approx(1.35**2 / 0.4275)
    assert result.p_value == pytest.approx(stats.chi2.sf(1.35**2 / 0.4275, 1))
    b = result.curves[result.curves[c.VARIANT] == "B"].set_index(c.DAYS)[SHARE_CONVERTED]
    assert b.loc[3.0] == pytest.approx(0.5) and b.loc[4.0] == pytest.approx(1.0)
    table = result.to_frame().set_index(c.VARIANT)
    assert table.loc["A", "converted_by_3"] == pytest.approx(1.0)
    assert table.loc["B", c.N_CONVERSIONS] == 2


def test_variant_without_conversions_and_single_variant():
    units = pd.DataFrame({c.VARIANT: ["A", "A"], c.DAYS: [1.0, 2.0], c.CONVERTED: [0.0, 0.0]})
    result = time_to_conversion(units)
    assert np.isnan(result.p_value) and result.curves.empty
    assert result.to_frame()["converted_by_30"].iloc[0] == 0


def test_deal_size_matches_scipy():
    rng = np.random.default_rng(4)
    a, b = rng.lognormal(9, 1, 40), rng.lognormal(9.3, 1, 35)
    units = pd.DataFrame(
        {
            c.VARIANT: ["A"] * 40 + ["B"] * 35 + ["B"],
            c.AMOUNT: np.r_[a, b, 1e9],
            c.OUTCOME: [c.WON] * 75 + [c.LOST],  # the lost deal's amount is ignored
        }
    )
    row = compare_amounts(units).to_frame().set_index(c.VARIANT).loc["B"]
    welch = stats.ttest_ind(b, a, equal_var=False)  # scipy Welch t-test
    assert row[c.T_WELCH] == pytest.approx(welch.statistic)
    assert row["p_welch"] == pytest.approx(welch.pvalue)
    ci = welch.confidence_interval(0.95)
    assert (row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH]) == pytest.approx((ci.low, ci.high))
    assert row["p_mann_whitney"] == pytest.approx(stats.mannwhitneyu(b, a).pvalue)  # scipy
    assert row["mean"] == pytest.approx(b.mean())


def test_deal_size_with_too_few_amounts_is_a_note():
    units = pd.DataFrame({c.VARIANT: ["A", "A", "B"], c.AMOUNT: [1.0, 2.0, 3.0]})
    row = compare_amounts(units, won_only=False).to_frame().set_index(c.VARIANT).loc["B"]
    assert row[c.NOTE] == "too_few_values" and np.isnan(row["p_welch"])
