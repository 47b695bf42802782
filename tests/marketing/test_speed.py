"""speed_to_lead: hand-counted bands and curve, the trend against statsmodels, planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.proportion import proportion_confint

import analysis
from analysis.core.errors import MissingInput
from analysis.marketing import columns as c
from analysis.marketing import speed_to_lead
from analysis.marketing.speed import LOG2_RESOLUTION


def _lead(i, hours, fate, source="A"):
    """An MQL at 2026-01-01 00:00 answered after ``hours`` (None: never), then ``fate``."""
    mql = pd.Timestamp("2026-01-01", tz="UTC")
    row = {c.LEAD_ID: f"L{i}", c.CREATED_AT: mql, c.SOURCE: source, c.MQL_AT: mql}
    if hours is not None:
        row[c.FIRST_RESPONSE_AT] = mql + pd.Timedelta(hours=hours)
    later = mql + pd.Timedelta(days=3)
    if fate in ("sql", "disq", "waiting"):
        row[c.ACCEPTED_AT] = mql + pd.Timedelta(days=2)
    if fate == "sql":
        row[c.SQL_AT] = later
    if fate in ("disq", "mql_disq"):
        row[c.DISQUALIFIED_AT] = later if hours is not None else mql + pd.Timedelta(hours=1.5)
    return row


LEADS = [
    _lead(1, 0.5, "sql"), _lead(2, 0.5, "disq"),  # under 1 h: 1 SQL of 2
    _lead(3, 2.0, "sql"),  # 1-4 h: 1 of 1
    _lead(4, 5.0, "disq"),  # 4-24 h: 0 of 1
    _lead(5, 30.0, "disq"),  # 24 h or more: 0 of 1
    _lead(6, 1.0, "waiting"),  # accepted, SQL step undecided: left out of the bands
    _lead(7, None, "mql_disq"),  # never answered, disqualified after 1.5 h: censored there
    _lead(8, None, "mql"),  # never answered, waiting: censored at the cut-off
]  # fmt: skip
DEALS = [("D1", "2026-01-11", "open", None)]  # the cut-off: 2026-01-11


@pytest.fixture(scope="module")
def hand(make_ws):
    return speed_to_lead(make_ws(LEADS, DEALS), by=None)


@pytest.fixture(scope="module")
def on_sample(sample):
    return speed_to_lead(sample[1])


def test_bands_counted_by_hand_with_wilson_intervals(hand):
    table = hand.to_frame()
    assert list(table[c.RESPONSE_BAND]) == ["under 1 h", "1-4 h", "4-24 h", "24 h or more"]
    assert list(table[c.N_LEADS]) == [2, 1, 1, 1]
    assert list(table[c.N_SQL]) == [1, 1, 0, 0]
    low, high = proportion_confint(1, 2, alpha=0.05, method="wilson")  # statsmodels reference
    assert (table[c.CI_LOW][0], table[c.CI_HIGH][0]) == pytest.approx((low, high))


def test_response_curve_by_hand(hand):
    # MQLs answered: L1, L2 at 0.5 h; L6 at 1 h; L3 at 2 h; L4 at 5 h;
    # L5 at 30 h; L7 censored at 1.5 h (disqualified); L8 censored at the cut-off (240 h).
    curve = hand.response_curve.set_index(c.HOURS)
    # S(0.5) = 6/8; S(1) = 0.75 * 5/6; S(2) = 0.625 * 3/4 (L7 left at 1.5 h)
    assert curve.loc[0.5, c.SHARE_RESPONDED] == pytest.approx(0.25)
    assert curve.loc[1.0, c.SHARE_RESPONDED] == pytest.approx(1 - 0.625)
    assert curve.loc[2.0, c.SHARE_RESPONDED] == pytest.approx(1 - 0.625 * 0.75)
    assert int(curve.loc[2.0, c.N_AT_RISK]) == 4
    assert (curve[c.CI_LOW] <= curve[c.SHARE_RESPONDED]).all()
    assert (curve[c.SHARE_RESPONDED] <= curve[c.CI_HIGH]).all()
    times = hand.response_times.iloc[0]
    assert (int(times[c.N_LEADS]), int(times[c.N_CENSORED])) == (8, 2)
    assert times[c.MEDIAN_HOURS] == pytest.approx(2.0)  # S(1) = 0.625, S(2) = 0.469 <= 0.5


def _rows(ws):
    """Accepted leads whose SQL step is decided, one row each, straight from pandas."""
    leads = ws.execute(ws.leads)
    accepted = leads[c.ACCEPTED_AT].notna() | leads[c.SQL_AT].notna()
    decided = leads[c.SQL_AT].notna() | leads[c.DISQUALIFIED_AT].notna()
    decided |= leads[c.RECYCLED_AT].notna()
    rows = leads[accepted & decided].copy()
    seconds = (rows[c.FIRST_RESPONSE_AT] - rows[c.MQL_AT]).dt.total_seconds()
    rows["log2h"] = np.log2(np.maximum(seconds / 3600.0, 1 / 3600.0))
    rows["y"] = rows[c.SQL_AT].notna().astype(int)
    return rows


def test_trend_matches_a_direct_statsmodels_fit(sample, on_sample):
    rows = _rows(sample[1])
    # Same rounding of log2(hours) as the engine: the grouped fit equals the row-level one.
    rows["x"] = np.round(rows["log2h"] / LOG2_RESOLUTION) * LOG2_RESOLUTION
    direct = smf.logit("y ~ x + C(source)", rows).fit(disp=0)
    ratio, low, high = on_sample.odds_ratio(c.STRATIFIED)
    assert ratio == pytest.approx(np.exp(direct.params["x"]), rel=1e-6)
    ci = np.exp(direct.conf_int().loc["x"])
    assert (low, high) == pytest.approx(tuple(ci), rel=1e-5)
    pooled = smf.logit("y ~ x", rows).fit(disp=0)
    assert on_sample.odds_ratio(c.UNADJUSTED)[0] == pytest.approx(np.exp(pooled.params["x"]))
    # Unrounded hours change the odds ratio by far less than its interval's width.
    exact = smf.logit("y ~ log2h + C(source)", rows).fit(disp=0)
    assert ratio == pytest.approx(np.exp(exact.params["log2h"]), abs=0.005)


def test_planted_bands_recovered(sample, on_sample):
    truth = sample[0].truth["leads"]["response_time"]["by_band"]
    table = on_sample.to_frame().set_index(c.RESPONSE_BAND)
    for band, t in truth.items():  # same definitions: the same counts
        assert int(table.loc[band, c.N_LEADS]) == t["decided"]
        assert int(table.loc[band, c.N_SQL]) == t["passed"]
        assert table.loc[band, c.CI_LOW] <= t["expected_rate"] <= table.loc[band, c.CI_HIGH]
    assert table[c.SQL_RATE].is_monotonic_decreasing


def test_response_effect_and_its_confounding(sample, on_sample):
    response = sample[0].truth["leads"]["response_time"]
    planted = response["planted_odds_per_doubling"]  # 0.7, with the latent fit held fixed
    # The truth's own fit without the latent fit (segment indicators only):
    naive = np.exp(response["fitted"]["naive_log_odds_per_doubling"])
    stratified = on_sample.odds_ratio(c.STRATIFIED)
    unadjusted = on_sample.odds_ratio(c.UNADJUSTED)
    assert unadjusted[1] <= naive <= unadjusted[2]
    # Slower answers go with fewer SQLs, and more strongly than the planted effect: the
    # latent fit that makes sales answer good leads fast is in no column, so no
    # stratum removes it. The result's caveat says so.
    for _ratio, _low, high in (stratified, unadjusted):
        assert high < planted < 1
    assert "association" in on_sample.caveat
    assert on_sample.trend.set_index(c.MODEL).loc[c.STRATIFIED, c.STRATA] == 5


def test_without_strata_the_models_agree(hand, sample):
    result = speed_to_lead(sample[1], by=None)
    assert result.odds_ratio(c.STRATIFIED) == result.odds_ratio(c.UNADJUSTED)
    assert result.trend.set_index(c.MODEL).loc[c.STRATIFIED, c.NOTE] == c.NOTE_NO_STRATA


def test_without_leads_table_missing_input(sample):
    ws = analysis.connect({c.DEALS: sample[0].tables[c.DEALS]})
    with pytest.raises(MissingInput, match="leads"):
        speed_to_lead(ws)


def test_bad_bands_raise(sample):
    with pytest.raises(ValueError, match="bands"):
        speed_to_lead(sample[1], bands=(4, 1))
