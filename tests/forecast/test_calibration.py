"""Tests for analysis.forecast.calibration: reliability and Brier scores of the backtest's chances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import analysis
from analysis.forecast import columns as c
from analysis.forecast.backtest import DEAL_COLUMNS, Backtest, backtest_forecast
from analysis.forecast.calibration import (
    BIN_COLUMNS,
    SCORE_COLUMNS,
    brier_score,
    forecast_calibration,
)
from analysis.sample import generate_sample

Z95 = stats.norm.ppf(0.975)


def _clustered_ols(values: np.ndarray, cluster: np.ndarray):
    """Independent source: statsmodels OLS of the values on a constant, cluster-robust.

    With one regressor statsmodels' small-sample factor (G / (G - 1)) (N - 1) / (N - K) is
    G / (G - 1), the module's; the covariance is the normal-based one (use_t False).
    """
    groups = pd.factorize(cluster)[0]
    fit = sm.OLS(values, np.ones_like(values)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return fit.params[0], fit.bse[0], fit.pvalues[0]


def test_brier_score_by_hand():
    # Hand: squared errors 0.01, 0.04 (deal a), 0.36 (b), 0.36 (c): B = 0.77 / 4 = 0.1925.
    # Cluster sums minus B n_j: 0.05 - 0.385 = -0.335, 0.36 - 0.1925 = 0.1675 (twice);
    # squares 0.112225 + 2 * 0.02805625 = 0.1683375; times J / (J - 1) = 3 / 2 gives
    # 0.25250625 = 0.5025^2, so the standard error is 0.5025 / 4 = 0.125625.
    predicted, outcome = [0.9, 0.2, 0.6, 0.4], [1, 0, 0, 1]
    cluster = np.array(["a", "a", "b", "c"])
    score, low, high = brier_score(predicted, outcome, cluster)
    assert score == pytest.approx(0.1925)
    assert (low, high) == pytest.approx((0.1925 - Z95 * 0.125625, 0.1925 + Z95 * 0.125625))
    # Boolean outcomes are the same as 0/1; alpha 0.1 uses z = 1.645.
    score, low, high = brier_score(predicted, np.array(outcome, bool), cluster, alpha=0.1)
    assert high - score == pytest.approx(stats.norm.ppf(0.95) * 0.125625)


def test_brier_interval_is_statsmodels_cluster_robust():
    # Independent source: statsmodels OLS of the squared errors on a constant, clustered by
    # deal; the standard error implied by the interval is its half-width over z.
    rng = np.random.default_rng(8)
    cluster = rng.integers(0, 40, size=300)
    predicted = rng.uniform(0, 1, size=300)
    outcome = rng.random(300) < predicted**1.5
    score, low, high = brier_score(predicted, outcome, cluster)
    mean, se, _ = _clustered_ols((predicted - outcome) ** 2, cluster)
    assert score == pytest.approx(mean)
    assert (high - low) / 2 / Z95 == pytest.approx(se, rel=1e-9)
    assert (low + high) / 2 == pytest.approx(score)


def test_brier_score_without_enough_clusters():
    # Degenerate: one cluster has no between-cluster variance (interval unknown); no rows,
    # no score.
    score, low, high = brier_score([0.2, 0.6], [0, 1], np.array(["a", "a"]))
    assert score == pytest.approx((0.04 + 0.16) / 2) and np.isnan(low) and np.isnan(high)
    assert all(np.isnan(v) for v in brier_score([], [], np.array([])))


# A hand-built backtest: 9 deal-windows of 7 deals in two windows (d1 and d2 in both).
# p_win is the model's chance (d4 has none: counts as 0; d3 has exactly 1.0).
W1, W2 = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-04-01", tz="UTC")
ROWS = [
    # window, deal, p_win, rep_p_win, stage_p_win, won_in_window
    (W1, "d1", 0.05, 0.10, 0.00, False),
    (W1, "d2", 0.95, 0.80, 0.50, True),
    (W1, "d3", 1.00, 0.90, 0.60, True),
    (W1, "d4", np.nan, 0.30, 0.20, False),
    (W2, "d1", 0.15, 0.35, 0.25, True),
    (W2, "d2", 0.92, 0.85, 0.55, True),
    (W2, "d5", 0.40, 0.70, 0.45, False),
    (W2, "d6", 0.45, 0.60, 0.45, False),
    (W2, "d7", 0.98, 0.99, 0.70, False),
]


@pytest.fixture(scope="module")
def hand_backtest() -> Backtest:
    cols = [c.WINDOW_START, c.DEAL_ID, c.P_WIN, c.REP_P_WIN, c.STAGE_P_WIN, c.WON_IN_WINDOW]
    deals = pd.DataFrame(ROWS, columns=cols).assign(
        **{c.SEGMENT: c.B2B, c.STAGE: "proposal", c.AMOUNT: 100.0}
    )[list(DEAL_COLUMNS)]
    return Backtest(pd.DataFrame(), pd.DataFrame(), deals, "quarter", 0.2, 10, 0)


def test_model_bins_by_hand(hand_backtest):
    # Hand: chances (none -> 0) 0.05, 0.95, 1.0, 0, 0.15, 0.92, 0.40, 0.45, 0.98 fall in bands
    # [0, .1): 0.05, 0 (none won); [.1, .2): 0.15 (won); [.4, .5): 0.40, 0.45 (none won);
    # [.9, 1]: 0.95, 1.0 (the top band is closed), 0.92, 0.98 (3 of 4 won).
    cal = forecast_calibration(hand_backtest)
    assert list(cal.bins.columns) == list(BIN_COLUMNS) and cal.alpha == 0.05
    model = cal.bins[cal.bins[c.METHOD] == c.MODEL]
    assert model[c.BIN].tolist() == pytest.approx([0.0, 0.1, 0.4, 0.9])
    assert model[c.DEAL_WINDOWS].tolist() == [2, 1, 2, 4]
    assert model[c.PREDICTED].tolist() == pytest.approx([0.025, 0.15, 0.425, 3.85 / 4])
    assert model[c.OBSERVED].tolist() == pytest.approx([0.0, 1.0, 0.0, 0.75])
    # Independent source: statsmodels' Wilson interval of each band's count of wins.
    low, high = proportion_confint([0, 1, 0, 3], [2, 1, 2, 4], alpha=0.05, method="wilson")
    assert model[c.CI_LOW].tolist() == pytest.approx(list(low))
    assert model[c.CI_HIGH].tolist() == pytest.approx(list(high))
    # Hand: the rep's chances 0.10 | 0.30, 0.35 | 0.60 | 0.70 | 0.80, 0.85 | 0.90, 0.99.
    rep = cal.bins[cal.bins[c.METHOD] == c.REP]
    assert rep[c.BIN].tolist() == pytest.approx([0.1, 0.3, 0.6, 0.7, 0.8, 0.9])
    assert rep[c.DEAL_WINDOWS].tolist() == [1, 2, 1, 1, 2, 2]
    assert rep[c.OBSERVED].tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0, 1.0, 0.5])
    # Every deal-window is in exactly one band of each method.
    assert (cal.bins.groupby(c.METHOD)[c.DEAL_WINDOWS].sum() == len(ROWS)).all()


def test_fewer_bins_and_level(hand_backtest):
    # Hand: 4 bands of width 0.25; 1.0 in the top one [0.75, 1] with 0.95, 0.92, 0.98.
    # alpha = 0.2 gives 80 % Wilson intervals.
    cal = forecast_calibration(hand_backtest, bins=4, alpha=0.2)
    model = cal.bins[cal.bins[c.METHOD] == c.MODEL]
    assert model[c.BIN].tolist() == pytest.approx([0.0, 0.25, 0.75])
    assert model[c.DEAL_WINDOWS].tolist() == [3, 2, 4]
    low, high = proportion_confint([1, 0, 3], [3, 2, 4], alpha=0.2, method="wilson")
    assert model[c.CI_LOW].tolist() == pytest.approx(list(low))
    assert model[c.CI_HIGH].tolist() == pytest.approx(list(high))


def test_scores_and_paired_differences(hand_backtest):
    deals = hand_backtest.deals
    y = deals[c.WON_IN_WINDOW].to_numpy(float)
    p = deals[c.P_WIN].fillna(0.0).to_numpy()
    cluster = deals[c.DEAL_ID].to_numpy()
    cal = forecast_calibration(hand_backtest)
    scores = cal.to_frame().set_index(c.METHOD)
    assert list(cal.scores.columns) == list(SCORE_COLUMNS)
    assert scores.index.tolist() == [c.MODEL, c.REP, c.STAGE_DEFAULT]
    assert (scores[c.DEAL_WINDOWS] == 9).all()
    # Hand: the model's squared errors 0.0025, 0.0025, 0, 0, 0.7225, 0.0064, 0.16, 0.2025,
    # 0.9604 sum to 2.0568.
    assert scores.loc[c.MODEL, c.BRIER] == pytest.approx(2.0568 / 9)
    assert scores.loc[c.MODEL, [c.VERSUS_MODEL, c.DIFF_LOW, c.DIFF_HIGH, c.P_VALUE]].isna().all()
    for method, column in ((c.REP, c.REP_P_WIN), (c.STAGE_DEFAULT, c.STAGE_P_WIN)):
        q = deals[column].to_numpy(float)
        row = scores.loc[method]
        # Independent source: statsmodels OLS on a constant clustered by deal, of the
        # method's squared errors and of the paired differences from the model's.
        mean, se, _ = _clustered_ols((q - y) ** 2, cluster)
        assert row[c.BRIER] == pytest.approx(mean)
        assert (row[c.CI_HIGH] - row[c.CI_LOW]) / 2 / Z95 == pytest.approx(se, rel=1e-9)
        diff, se, p_value = _clustered_ols((q - y) ** 2 - (p - y) ** 2, cluster)
        assert row[c.VERSUS_MODEL] == pytest.approx(diff)
        assert row[c.VERSUS_MODEL] == pytest.approx(row[c.BRIER] - scores.loc[c.MODEL, c.BRIER])
        assert (row[c.DIFF_LOW], row[c.DIFF_HIGH]) == pytest.approx(
            (diff - Z95 * se, diff + Z95 * se)
        )
        assert row[c.P_VALUE] == pytest.approx(p_value)


def test_argument_errors(hand_backtest):
    with pytest.raises(ValueError, match="bins"):
        forecast_calibration(hand_backtest, bins=0)
    for alpha in (0.0, 1.0):
        with pytest.raises(ValueError, match="alpha"):
            forecast_calibration(hand_backtest, alpha=alpha)


@pytest.fixture(scope="module")
def sample_calibration():
    crm = generate_sample()  # 5,000 deals, cut-off 2026-07-01
    ws = analysis.connect(dict(crm.tables))
    backtest = backtest_forecast(ws, freq="quarter", simulations=500)
    return crm, backtest, forecast_calibration(backtest)


def test_default_sample_model_beats_the_optimistic_rep_probability(sample_calibration):
    # Planted truth: reps enter the stage's true chance with its odds times optimism_odds
    # (1.8, truth["rep_probability"]), so their chances are too high and score worse than
    # the model's; the paired difference's interval lies above 0.
    crm, backtest, cal = sample_calibration
    assert crm.truth["rep_probability"]["optimism_odds"] > 1
    scores = cal.scores.set_index(c.METHOD)
    assert scores.loc[c.MODEL, c.BRIER] < scores.loc[c.REP, c.BRIER]
    assert scores.loc[c.REP, c.DIFF_LOW] > 0
    assert scores.loc[c.REP, c.P_VALUE] < 0.05
    # Recorded (seed 0, 500 draws, 482 deal-windows): Brier 0.150 (model) against 0.219
    # (rep), difference 0.069 with interval 0.045 to 0.093.
    # The optimism itself: over the deal-windows where the rep's chance counts (due in the
    # window, chance > 0), it exceeds the share won.
    due = backtest.deals[backtest.deals[c.REP_P_WIN] > 0]
    assert due[c.REP_P_WIN].mean() > due[c.WON_IN_WINDOW].astype(float).mean()
    # Many deals appear in several windows: the clusters are fewer than the rows.
    assert backtest.deals[c.DEAL_ID].nunique() < len(backtest.deals)
