"""Tests of analysis.experiments.srm: sample ratio mismatch."""

from __future__ import annotations

import pytest
from scipy import stats

from analysis.experiments import columns as c
from analysis.experiments.srm import sample_ratio_mismatch


def test_planted_52_48_split_at_10000_is_flagged():
    # Planted: 5,200 / 4,800 of 10,000 units against a planned 50/50. scipy chisquare:
    # chi2 = 2 * 200^2 / 5000 = 16, p = 6.3e-5 < 0.001.
    check = sample_ratio_mismatch({"A": 5200, "B": 4800})
    assert check.statistic == pytest.approx(16.0)
    assert check.p_value == pytest.approx(stats.chi2.sf(16, 1))
    assert check.flagged and check.note == c.NOTE_SRM
    assert "Sample ratio mismatch" in check.message


def test_fair_split_is_not_flagged():
    # 5,030 / 4,970: chi2 = 2 * 30^2 / 5000 = 0.36, p = 0.55 (hand calculation).
    check = sample_ratio_mismatch({"A": 5030, "B": 4970})
    assert check.statistic == pytest.approx(0.36)
    assert not check.flagged and check.note is None


def test_planned_unequal_split():
    # 2,000 / 8,000 against a planned 20/80 matches exactly: chi2 = 0.
    check = sample_ratio_mismatch({"A": 2000, "B": 8000}, planned={"A": 0.2, "B": 0.8})
    assert check.statistic == pytest.approx(0.0) and not check.flagged
    assert check.to_frame()["expected"].tolist() == pytest.approx([2000, 8000])


def test_degenerate_and_bad_plans():
    assert sample_ratio_mismatch({"A": 10}).note == c.NOTE_NO_UNITS
    with pytest.raises(ValueError, match="no share for variant 'B'"):
        sample_ratio_mismatch({"A": 10, "B": 12}, planned={"A": 1})
