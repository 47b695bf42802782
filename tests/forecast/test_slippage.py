"""Tests for analysis.forecast.slippage: pushed expected close dates and the win rates after."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from score_reference import mn_interval
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

import analysis
from analysis.core.errors import MissingInput
from analysis.forecast import columns as c
from analysis.forecast.findings import slippage_sentences
from analysis.forecast.slippage import slippage
from analysis.sample import generate_sample
from analysis.stats.proportions import two_proportions


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


EC = c.EXPECTED_CLOSE_AT
# Hand-built (2026). The data runs to Jul 1 00:00 (J's close, the latest time in the
# data), so an open deal is at risk when its first expected close is before Jul 1.
HISTORY = [
    # A: first close Feb 28, pushed Mar 2 to Mar 31 (+31 days) and Apr 2 to Apr 30
    # (+30), won May 10; the change at the close (Apr 30 -> May 10) is not a push.
    # At risk, pushed twice, 61 days, closed pushed and won.
    {"id": "A", "created": _t("2026-01-01"), "closed": _t("2026-05-10"), "outcome": c.WON,
     "segment": c.B2B, "initial": {EC: _t("2026-02-28")},
     "changes": [(_t("2026-03-02"), EC, _t("2026-03-31")), (_t("2026-04-02"), EC, _t("2026-04-30")),
                 (_t("2026-05-10"), EC, _t("2026-05-10"))]},
    # B: first close Mar 31, lost Apr 15, never pushed (the close moves the date to
    # Apr 15, later, but at the close: not a push). At risk, closed unpushed, lost.
    {"id": "B", "created": _t("2026-01-01"), "closed": _t("2026-04-15"), "outcome": c.LOST,
     "segment": c.B2B, "initial": {EC: _t("2026-03-31")},
     "changes": [(_t("2026-04-15"), EC, _t("2026-04-15"))]},
    # C: created Feb 1 to close Jun 30, won May 1, before its first close: not at risk.
    {"id": "C", "created": _t("2026-02-01"), "closed": _t("2026-05-01"), "outcome": c.WON,
     "segment": c.B2B, "initial": {EC: _t("2026-06-30")},
     "changes": [(_t("2026-05-01"), EC, _t("2026-05-01"))]},
    # D: export starts later (creation values not logged): the first change, a pull-in
    # on Feb 1 from Mar 1 to Feb 15, carries the first close Mar 1 as its old value;
    # pushed Feb 20 to Mar 17 (+30 days); open. At risk (Mar 1 < Jul 1), pushed once,
    # 30 days, 1 pull-in; open, so not in the win rates.
    {"id": "D", "created": _t("2026-01-01"), "segment": c.B2B, "logged": False,
     "initial": {EC: _t("2026-03-01")},
     "changes": [(_t("2026-02-01"), EC, _t("2026-02-15")), (_t("2026-02-20"), EC, _t("2026-03-17"))]},
    # E: open, to close Dec 31: not at risk.
    {"id": "E", "created": _t("2026-01-01"), "segment": c.B2B, "initial": {EC: _t("2026-12-31")}},
    # F: pushed early (Mar 1, from Apr 30 to May 31), won Apr 10 before its first close:
    # not at risk, so out of the table; the notes count it.
    {"id": "F", "created": _t("2026-01-01"), "closed": _t("2026-04-10"), "outcome": c.WON,
     "segment": c.B2B, "initial": {EC: _t("2026-04-30")},
     "changes": [(_t("2026-03-01"), EC, _t("2026-05-31")), (_t("2026-04-10"), EC, _t("2026-04-10"))]},
    # G: first close Jan 31, lost Mar 1, never pushed: at risk, closed unpushed, lost.
    {"id": "G", "created": _t("2026-01-01"), "closed": _t("2026-03-01"), "outcome": c.LOST,
     "segment": c.B2C, "initial": {EC: _t("2026-01-31")},
     "changes": [(_t("2026-03-01"), EC, _t("2026-03-01"))]},
    # H: first close Jan 31, pushed Feb 3 to Feb 14 (+14 days), lost Mar 1: at risk,
    # pushed once, closed pushed, lost.
    {"id": "H", "created": _t("2026-01-01"), "closed": _t("2026-03-01"), "outcome": c.LOST,
     "segment": c.B2C, "initial": {EC: _t("2026-01-31")},
     "changes": [(_t("2026-02-03"), EC, _t("2026-02-14")), (_t("2026-03-01"), EC, _t("2026-03-01"))]},
    # I: first close Jan 31, won Feb 15, never pushed: at risk, closed unpushed, won.
    {"id": "I", "created": _t("2026-01-01"), "closed": _t("2026-02-15"), "outcome": c.WON,
     "segment": c.B2C, "initial": {EC: _t("2026-01-31")},
     "changes": [(_t("2026-02-15"), EC, _t("2026-02-15"))]},
    # J: first close Jun 1, won Jul 1 (the cut-off), never pushed: at risk, unpushed, won.
    {"id": "J", "created": _t("2026-01-01"), "closed": _t("2026-07-01"), "outcome": c.WON,
     "segment": c.B2C, "initial": {EC: _t("2026-06-01")},
     "changes": [(_t("2026-07-01"), EC, _t("2026-07-01"))]},
    # K: open without any expected close: never at risk (the notes count it).
    {"id": "K", "created": _t("2026-01-01"), "segment": c.B2C, "initial": {c.AMOUNT: 10.0}},
    # L: creation not logged and the date never changed: no change row, so its first
    # close is today's expected_close_at, Apr 30 < Jul 1: at risk, open, not pushed.
    {"id": "L", "created": _t("2026-01-01"), "segment": c.B2C, "logged": False,
     "initial": {EC: _t("2026-04-30")}},
]  # fmt: skip


@pytest.fixture(scope="module")
def hand_ws(crm):
    return analysis.connect(crm.frames(HISTORY))


def test_hand_built_counts(hand_ws):
    result = slippage(hand_ws)
    t = result.to_frame().set_index(c.SEGMENT)
    assert list(t.index) == [c.B2B, c.B2C]
    assert result.cutoff == _t("2026-07-01")
    # B2B: A-F = 6 deals; at risk A, B, D; pushed A, D; pushes 2 + 1; days 61 and 30;
    # one pull-in (D's; the close changes of A, B, C, F are not counted).
    b2b = t.loc[c.B2B]
    assert (b2b[c.N_DEALS], b2b[c.AT_RISK], b2b[c.PUSHED], b2b[c.PUSHES]) == (6, 3, 2, 3)
    assert b2b[c.SHARE_PUSHED] == pytest.approx(2 / 3)
    assert b2b[c.PUSHES_PER_DEAL] == pytest.approx(1.5)
    assert b2b[c.MEAN_DAYS_PUSHED] == pytest.approx(45.5)  # (61 + 30) / 2
    assert b2b[c.MEDIAN_DAYS_PUSHED] == pytest.approx(45.5)
    assert b2b[c.PULL_INS] == 1
    # B2C: G-L = 6 deals; at risk G, H, I, J, L (not K, undated); pushed H: 1 push, 14 days.
    b2c = t.loc[c.B2C]
    assert (b2c[c.N_DEALS], b2c[c.AT_RISK], b2c[c.PUSHED], b2c[c.PUSHES]) == (6, 5, 1, 1)
    assert b2c[c.SHARE_PUSHED] == pytest.approx(1 / 5)
    assert (b2c[c.MEAN_DAYS_PUSHED], b2c[c.MEDIAN_DAYS_PUSHED]) == (14.0, 14.0)
    assert b2c[c.PULL_INS] == 0
    # One pushed deal: no spread, so no interval for its means.
    assert np.isnan(b2c[c.DAYS_CI_LOW]) and np.isnan(b2c[c.PUSHES_CI_HIGH])
    # F pushed early (not at risk), K without any expected close.
    assert result.notes == (
        c.NOTE_PUSHED_NOT_AT_RISK.format(deals="1 deal"),
        c.NOTE_NO_FIRST_CLOSE.format(deals="1 deal"),
    )


def test_hand_built_win_rates(hand_ws):
    w = slippage(hand_ws, correction="none").win_rates.set_index(c.SEGMENT)
    # B2B closed at risk: A pushed and won (1/1), B never pushed and lost (0/1).
    b2b = w.loc[c.B2B]
    assert (b2b[c.PUSHED_WON], b2b[c.PUSHED_CLOSED]) == (1, 1)
    assert (b2b[c.UNPUSHED_WON], b2b[c.UNPUSHED_CLOSED]) == (0, 1)
    assert b2b[c.DIFFERENCE] == pytest.approx(1.0)
    # B2C closed at risk: H pushed and lost (0/1); G lost, I and J won (2/3).
    b2c = w.loc[c.B2C]
    assert (b2c[c.PUSHED_WON], b2c[c.PUSHED_CLOSED]) == (0, 1)
    assert (b2c[c.UNPUSHED_WON], b2c[c.UNPUSHED_CLOSED]) == (2, 3)
    assert b2c[c.DIFFERENCE] == pytest.approx(-2 / 3)
    # Reference: the Miettinen–Nurminen interval found by root search (score_reference);
    # near -1 the statistic is flat, so the two root searches agree to about 1e-7.
    assert (b2c[c.DIFF_CI_LOW], b2c[c.DIFF_CI_HIGH]) == pytest.approx(
        mn_interval(0, 1, 2, 3), abs=1e-6
    )


def test_hand_built_intervals(hand_ws):
    t = slippage(hand_ws, alpha=0.1).to_frame().set_index(c.SEGMENT)
    b2b = t.loc[c.B2B]
    # Reference: statsmodels' Wilson interval of 2 pushed of 3 at risk.
    ref = proportion_confint(2, 3, alpha=0.1, method="wilson")
    assert (b2b[c.CI_LOW], b2b[c.CI_HIGH]) == pytest.approx(ref, rel=1e-12)
    # By hand: days 61 and 30, mean 45.5, s = 15.5 * sqrt(2), se = 15.5; the interval is
    # 45.5 * exp(-/+ t(0.95, 1) * 15.5 / 45.5) (log scale, never below 0).
    spread = np.exp(stats.t.ppf(0.95, 1) * 15.5 / 45.5)
    assert (b2b[c.DAYS_CI_LOW], b2b[c.DAYS_CI_HIGH]) == pytest.approx(
        (45.5 / spread, 45.5 * spread), rel=1e-12
    )
    # Pushes 2 and 1: mean 1.5, se 0.5.
    spread = np.exp(stats.t.ppf(0.95, 1) * 0.5 / 1.5)
    assert (b2b[c.PUSHES_CI_LOW], b2b[c.PUSHES_CI_HIGH]) == pytest.approx(
        (1.5 / spread, 1.5 * spread), rel=1e-12
    )


def test_window_and_grouping(hand_ws):
    # Created from Jan 15 on: only C (B2B, not at risk): no B2C row, and a note code.
    result = slippage(hand_ws, window=("2026-01-15", None))
    t = result.to_frame()
    assert list(t[c.SEGMENT]) == [c.B2B]
    assert (t[c.N_DEALS].iloc[0], t[c.AT_RISK].iloc[0]) == (1, 0)
    assert t[c.NOTE].iloc[0] == c.NOTE_NO_AT_RISK
    assert np.isnan(t[c.SHARE_PUSHED].iloc[0])
    assert result.win_rates[c.NOTE].iloc[0] == c.NOTE_NO_CLOSED_PUSHED
    # Ungrouped: one row adding up both segments (3 + 5 at risk, 2 + 1 pushed).
    one = slippage(hand_ws, by=None).to_frame()
    assert (one[c.AT_RISK].iloc[0], one[c.PUSHED].iloc[0], one[c.PUSHES].iloc[0]) == (8, 3, 4)
    with pytest.raises(ValueError, match="changes over time"):
        slippage(hand_ws, by=c.STAGE)
    with pytest.raises(ValueError, match="no column"):
        slippage(hand_ws, by="nope")
    with pytest.raises(ValueError, match="correction"):
        slippage(hand_ws, correction="sidak")


def test_missing_history_names_what_is_missing(crm):
    frames = crm.frames(HISTORY)
    without = {c.DEALS: frames[c.DEALS]}
    with pytest.raises(MissingInput, match="the deal_changes table"):
        slippage(analysis.connect(without))
    changes = frames[c.DEAL_CHANGES]
    only_amounts = {**frames, c.DEAL_CHANGES: changes[changes[c.FIELD] != EC]}
    with pytest.raises(MissingInput, match="any expected_close_at change"):
        slippage(analysis.connect(only_amounts))


@pytest.fixture(scope="module")
def sample():
    crm = generate_sample()  # the default sample: 5,000 deals, seed of paths.DEFAULT_SEED
    return crm, analysis.connect(dict(crm.tables))


def test_realised_figures_equal_the_generators(sample):
    # Planted truth: the generator's definitions (truth["slippage"]["definition"]) are
    # this module's, so its realised counts come back exactly.
    crm, ws = sample
    realised = crm.truth["slippage"]["realised"]
    for by, groups in ((c.SEGMENT, c.SEGMENTS), (c.OWNER_ID, sorted(realised["by_rep"]))):
        t = slippage(ws, by=by).to_frame().set_index(by)
        assert sorted(t.index) == sorted(groups)
        for key in groups:
            truth = realised[key] if by == c.SEGMENT else realised["by_rep"][key]
            row = t.loc[key]
            got = (row[c.N_DEALS], row[c.AT_RISK], row[c.PUSHED], row[c.PUSHES])
            assert got == (truth["deals"], truth["at_risk"], truth["pushed"], truth["pushes"])
            assert row[c.SHARE_PUSHED] == pytest.approx(truth["share_of_at_risk_pushed"])
            if truth["pushed"]:
                assert row[c.MEAN_DAYS_PUSHED] == pytest.approx(truth["mean_days_pushed"])
                assert row[c.PUSHES_PER_DEAL] == pytest.approx(truth["mean_pushes_per_pushed_deal"])
            assert row[c.PULL_INS] == 0  # the generator only pushes
    win = crm.truth["slippage"]["win_rate"]
    w = slippage(ws, by=None).win_rates.iloc[0]
    assert (w[c.PUSHED_WON], w[c.PUSHED_CLOSED]) == (win["pushed"][c.WON], win["pushed"]["closed"])
    assert (w[c.UNPUSHED_WON], w[c.UNPUSHED_CLOSED]) == (
        win["never_pushed"][c.WON],
        win["never_pushed"]["closed"],
    )


def test_planted_slippage_is_recovered(sample):
    crm, ws = sample
    truth = crm.truth["slippage"]
    t = slippage(ws).to_frame().set_index(c.SEGMENT)
    # Planted: B2B reps push more than B2C reps (push_probability), beyond noise: the
    # score interval of the difference in share pushed lies above 0.
    assert truth["push_probability"][c.B2B] > truth["push_probability"][c.B2C]
    b2b, b2c = t.loc[c.B2B], t.loc[c.B2C]
    _, low, _, p, _ = two_proportions(
        b2b[c.PUSHED], b2b[c.AT_RISK], b2c[c.PUSHED], b2c[c.AT_RISK], 0.05
    )
    assert low[()] > 0 and p[()] < 0.05
    # Planted push sizes: every push moves B2B dates by more days than B2C's.
    assert b2b[c.DAYS_CI_LOW] > b2c[c.DAYS_CI_HIGH]
    # Planted heavy pusher: the highest share pushed of all reps.
    reps = slippage(ws, by=c.OWNER_ID).to_frame()
    top = reps.sort_values(c.SHARE_PUSHED, ascending=False).iloc[0]
    assert top[c.OWNER_ID] == truth["heavy_pusher"]["rep_id"]
    # Planted: deals that end lost push more (lost_push_odds > 1), so among closed
    # at-risk deals, pushed ones win less: the whole interval of the difference is below 0.
    w = slippage(ws, by=None).win_rates.iloc[0]
    assert w[c.DIFF_CI_HIGH] < 0
    # Reference: statsmodels' score test and the root-search MN interval (one row: no
    # adjustment).
    x1, n1, x0, n0 = w[c.PUSHED_WON], w[c.PUSHED_CLOSED], w[c.UNPUSHED_WON], w[c.UNPUSHED_CLOSED]
    ref_p = sm_test_2indep(x1, n1, x0, n0, method="score", compare="diff").pvalue
    assert w[c.P_VALUE] == pytest.approx(ref_p, rel=1e-6)
    assert (w[c.DIFF_CI_LOW], w[c.DIFF_CI_HIGH]) == pytest.approx(
        mn_interval(x1, n1, x0, n0), abs=1e-8
    )


@pytest.mark.parametrize("correction", ["holm", "fdr_bh", "bonferroni", "none"])
@pytest.mark.parametrize("by", [c.SEGMENT, c.OWNER_ID])
def test_interval_excludes_zero_exactly_when_adjusted_p_is_below_alpha(sample, by, correction):
    # Property: test and interval are one procedure at the adjusted level.
    _, ws = sample
    w = slippage(ws, by=by, correction=correction).win_rates
    tested = w[w[c.NOTE] == ""]
    assert len(tested) == len(w)
    excludes = (tested[c.DIFF_CI_LOW] > 0) | (tested[c.DIFF_CI_HIGH] < 0)
    assert (excludes == (tested[c.P_ADJUSTED] < 0.05)).all()
    assert (tested[c.P_ADJUSTED] >= tested[c.P_VALUE] - 1e-15).all()
    for col in (c.SHARE_PUSHED, c.CI_LOW, c.CI_HIGH):
        assert slippage(ws, by=by).table[col].between(0, 1).all()


def test_sentences_give_every_rate_with_its_interval(sample, hand_ws):
    crm, ws = sample
    sentences = slippage_sentences(slippage(ws))
    assert sentences[0].startswith("B2B: 58.9% [53.9–63.7] of the 387 deals still open")
    assert "holm-adjusted p" in sentences[0]
    for s in sentences:
        # Every percentage, mean and day count is followed by its interval.
        assert re.findall(r"\d%(?! \[)", s) == []
        assert re.findall(r"days(?! \[)", s) == []
        assert "points [" in s
    # Degenerate groups say what is missing instead of printing NaN.
    hand = slippage_sentences(slippage(hand_ws, window=("2026-01-15", None)))
    assert hand == ["B2B: no deal was still open after its first expected close."]
    assert not any("nan" in s for s in slippage_sentences(slippage(hand_ws)))
