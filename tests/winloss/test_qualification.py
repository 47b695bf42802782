"""Qualification criteria, the out-of-time scorecard and its what-if table.

Truth: direct pandas counts of the same Parquet files, statsmodels'
``confint_proportions_2indep`` for the lift interval, scipy's Mann-Whitney U
for the AUC, and the planted effects of the sample generator (qualification
flags lower the odds of winning, so the scorecard must rank deals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_processed_folder
from scipy.stats import mannwhitneyu
from statsmodels.stats.proportion import confint_proportions_2indep

import analysis
from analysis.winloss import columns as c
from analysis.winloss import qualification
from analysis.winloss.drivers import model as drivers

FEATURES = [c.SEGMENT, c.SOURCE, c.DM_BAND, c.LEAD_SCORE_BAND, c.QUAL_BUDGET, c.QUAL_AUTHORITY,
            c.QUAL_NEED, c.QUAL_TIMELINE]  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = make_processed_folder(tmp_path_factory.mktemp("qualification"), 6_000, 3)
    ws = analysis.connect(folder)
    return ws, folder


@pytest.fixture(scope="module")
def scorecard(sample):
    ws, _ = sample
    banded = ws.with_table(c.DEALS, drivers.driver_bands(ws))
    return qualification.build_scorecard(banded, FEATURES)


def test_criteria_table_matches_direct_counts(sample):
    ws, folder = sample
    table = qualification.criteria_table(ws).to_frame().set_index(c.CRITERION)
    deals = pd.read_parquet(folder / "deals.parquet")
    closed = deals[deals[c.OUTCOME].isin([c.WON, c.LOST])].dropna(subset=[c.QUAL_NEED])
    won = closed[c.OUTCOME] == c.WON
    met = closed[c.QUAL_NEED].astype(bool)
    a, b = int((met & won).sum()), int((met & ~won).sum())
    d, e = int((~met & won).sum()), int((~met & ~won).sum())
    row = table.loc["qual_need is true"]
    # Direct pandas counts of the Parquet file.
    assert row[c.N_KNOWN] == len(closed) and row[c.N_MET] == a + b
    assert row[c.PRECISION] == pytest.approx(a / (a + b))
    assert row[c.WIN_RATE_NOT_MET] == pytest.approx(d / (d + e))
    assert row[c.RECALL] == pytest.approx(a / (a + d))
    assert row[c.LIFT] == pytest.approx((a / (a + b)) / (d / (d + e)))
    lo, hi = confint_proportions_2indep(a, a + b, d, d + e, compare="ratio", method="log-adjusted")
    assert (row[c.LIFT_CI_LOW], row[c.LIFT_CI_HIGH]) == pytest.approx((lo, hi))  # statsmodels
    # Planted: a false "need" flag lowers the odds of advancing (truth["effects"]).
    assert row[c.LIFT_CI_LOW] > 1
    for col in (c.PRECISION, c.RECALL, c.WIN_RATE_NOT_MET):
        assert table[col].dropna().between(0, 1).all()


def test_scorecard_ranks_newer_deals_well_out_of_time(scorecard):
    sc = scorecard
    assert sc.n_test > 300 and sc.n_train > sc.n_test  # fitted on older, scored on newer
    # Planted effects (qualification flags, source, decision makers, lead score) make the
    # outcome predictable: the out-of-time AUC is well above 0.5.
    assert sc.auc > 0.65 and sc.auc_ci_low > 0.6
    assert 0 <= sc.calibration_error < 0.1
    cal = sc.calibration
    assert cal[c.N_DEALS].sum() == sc.n_test
    assert cal[c.OBSERVED].is_monotonic_increasing or cal[c.PREDICTED].is_monotonic_increasing


def test_auc_equals_mann_whitney(scorecard):
    counts = scorecard.scores
    won = np.repeat(counts[c.SCORE].to_numpy(), counts[c.N_WON].to_numpy())
    lost = np.repeat(counts[c.SCORE].to_numpy(), counts[c.N_LOST].to_numpy())
    u = mannwhitneyu(won, lost).statistic  # scipy: U counts ties as one half
    assert scorecard.auc == pytest.approx(u / (len(won) * len(lost)), abs=1e-12)
    assert counts[c.N_DEALS].sum() == scorecard.n_test


def test_what_if_is_monotone_in_threshold(scorecard):
    wi = scorecard.what_if
    assert wi[c.THRESHOLD].is_monotonic_increasing
    for col in (c.DEALS_SAVED, c.ACTIVITIES_SAVED, c.WINS_DISQUALIFIED):
        assert wi[col].is_monotonic_increasing, col  # cumulative shares never fall
        assert wi[col].iloc[0] == 0 and wi[col].iloc[-1] == pytest.approx(1.0)
    # A useful score saves more deals than it costs wins at every threshold in between.
    inner = wi.iloc[1:-1]
    assert (inner[c.DEALS_SAVED] >= inner[c.WINS_DISQUALIFIED]).mean() > 0.9


def test_points_follow_planted_signs(scorecard):
    points = scorecard.points.set_index([c.FEATURE, c.LEVEL])[c.POINTS]
    # Planted: every false qualification flag lowers the odds (truth["effects"]).
    for flag in (c.QUAL_BUDGET, c.QUAL_NEED):
        assert points[(flag, "false")] < 0
    assert points[(c.SOURCE, "referral")] > 0  # planted odds multiplier 1.6


def test_bad_input_is_a_message(sample):
    ws, _ = sample
    with pytest.raises(ValueError, match="band 'lead_score' first"):
        qualification.build_scorecard(ws, [c.LEAD_SCORE])
    with pytest.raises(ValueError, match="train_share"):
        qualification.build_scorecard(ws, [c.SOURCE], train_share=1.5)
    late = qualification.build_scorecard(ws, [c.SOURCE], split_at="2100-01-01")
    assert late.n_test == 0 and np.isnan(late.auc) and late.warnings
