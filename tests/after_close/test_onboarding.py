"""Onboarding time: a hand-built case, the sample's truth, the planted size effect."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.after_close import columns as c
from analysis.after_close.onboarding import onboarding_time
from analysis.core.errors import MissingInput
from tests.after_close.conftest import SAMPLE_CUTOFF, deals_frame

CUTOFF = "2025-12-31"
DEALS = [  # (deal, created, closed, source, region, amount)
    ("d1", "2024-12-01", "2025-01-01", "paid", "EMEA", 100),
    ("d2", "2024-12-01", "2025-02-01", "paid", "EMEA", 200),
    ("d3", "2024-12-01", "2025-03-01", "paid", "EMEA", 300),
    ("d4", "2024-12-01", "2025-12-01", "paid", "EMEA", 400),
    ("d5", "2024-12-01", "2025-06-01", "paid", "EMEA", 500),
]
ONBOARDING = pd.DataFrame({
    c.DEAL_ID: ["d1", "d2", "d3", "d4", "d5"],
    c.KICKOFF_AT: pd.to_datetime(["2025-01-05", "2025-02-03", "2025-03-02", "2025-12-05",
                                  "2025-06-02"], utc=True),
    # d1 live after 20 days, d2 after 40, d3 after 61, d4 not yet (30 days watched),
    # d5 "live" before its close: left out and counted.
    c.GO_LIVE_AT: pd.to_datetime(["2025-01-21", "2025-03-13", "2025-05-01", None,
                                  "2025-05-01"], utc=True),
})  # fmt: skip


@pytest.fixture(scope="module")
def hand_ws():
    return analysis.connect({c.ONBOARDING: ONBOARDING, c.DEALS: deals_frame(DEALS)})


def test_kaplan_meier_time_to_go_live_matches_a_hand_calculation(hand_ws):
    r = onboarding_time(hand_ws, as_of=CUTOFF)
    t = r.table.set_index(c.HORIZON_DAYS)
    # By hand: 4 timed (20, 40 events; 30 censored; 61 event). S = 3/4 after 20,
    # 3/4 x 1/2 after 40 (2 at risk: 40 and 61), 0 after 61.
    assert r.n_left_out == 1
    assert t.loc[30.0, c.N_WON] == 4 and t.loc[30.0, c.N_LIVE] == 3
    assert t.loc[30.0, c.LIVE_RATE] == pytest.approx(0.25)
    assert t.loc[60.0, c.LIVE_RATE] == pytest.approx(1 - 0.75 * 0.5)
    assert t.loc[90.0, c.LIVE_RATE] == pytest.approx(1.0)
    assert t.loc[30.0, c.MEDIAN_DAYS] == pytest.approx(40.0)  # first time S <= 0.5


def test_without_onboarding_the_analysis_says_what_is_missing():
    ws = analysis.connect({c.DEALS: deals_frame(DEALS)})
    with pytest.raises(MissingInput, match="onboarding"):
        onboarding_time(ws)


def test_sample_medians_equal_the_truth(sample):
    crm, ws = sample
    truth = crm.truth["after_sale"]["onboarding"]
    overall = onboarding_time(ws, as_of=SAMPLE_CUTOFF).table.iloc[0]
    # truth: Kaplan–Meier median of won -> go-live from the drawn rows (to the second);
    # the engine rounds durations to 0.01 day.
    assert overall[c.MEDIAN_DAYS] == pytest.approx(
        truth["realised_km_median_days_won_to_go_live"], abs=0.01
    )
    by = onboarding_time(ws, by="size_band", as_of=SAMPLE_CUTOFF)
    assert by.size_thresholds[1] == pytest.approx(truth["large_deal_threshold_usd"])
    large = by.at_window().set_index(c.SIZE_BAND).loc["large"]
    assert large[c.N_WON] == truth["by_band"]["large"]["rows"]
    assert large[c.MEDIAN_DAYS] == pytest.approx(
        truth["by_band"]["large"]["realised_km_median_days_won_to_go_live"], abs=0.01
    )


def test_large_deals_take_longer_as_planted(large):
    crm, ws = large
    truth = crm.truth["after_sale"]["onboarding"]["by_band"]
    by = onboarding_time(ws, by="size_band", as_of=SAMPLE_CUTOFF)
    t = by.at_window().set_index(c.SIZE_BAND)
    expected_large = truth["large"][
        "expected_median_days_won_to_go_live"
    ]  # planted 60 d + kick-off
    assert t.loc["large", c.MEDIAN_CI_LOW] <= expected_large <= t.loc["large", c.MEDIAN_CI_HIGH]
    expected = truth["standard"]["expected_median_days_won_to_go_live"]  # planted 30 d + kick-off
    for band in ("small", "middle"):
        assert t.loc[band, c.MEDIAN_CI_LOW] <= expected <= t.loc[band, c.MEDIAN_CI_HIGH]
    compared = by.comparison.set_index(c.GROUP)
    assert compared.loc["large", c.SIGNIFICANT] and compared.loc["large", c.DIFF_CI_HIGH] < 0
    assert by.logrank[2] < 0.001
