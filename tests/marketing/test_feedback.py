"""Feedback to marketing: reason Paretos, where reasons and themes concentrate.

Truth: hand counts of small tables (comments below), intervals and tests from
statsmodels, and the sample's planted 'No budget' concentration in Social Ads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from score_reference import mn_interval
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    proportion_confint,
)
from statsmodels.stats.proportion import test_proportions_2indep as score_test

import analysis
from analysis.core.errors import MissingInput
from analysis.marketing import columns as c
from analysis.marketing import feedback_sentences, marketing_feedback

T0 = "2025-01-01"
THEMES = {"price": "(?i)price", "timing": "(?i)timing"}


def _leads() -> pd.DataFrame:
    """Campaign A: 10 disqualified (6 'No budget', 4 'Wrong fit'), one recycled (no reason),
    lead A11 converted to deal D1. Campaign B: 10 disqualified (2 'No budget', 7 'Wrong fit',
    one without a reason -> 'unknown'), leads B11, B12 converted to D2, D3."""
    rows = []
    for i, reason in enumerate(["No budget"] * 6 + ["Wrong fit"] * 4):
        rows.append(("A", f"A{i}", reason, T0, None, None))
    rows.append(("A", "A10", None, None, T0, None))  # recycled: not a disqualification
    rows.append(("A", "A11", None, None, None, "D1"))
    for i, reason in enumerate(["No budget"] * 2 + ["Wrong fit"] * 7 + [None]):
        rows.append(("B", f"B{i}", reason, T0, None, None))
    rows.append(("B", "B11", None, None, None, "D2"))
    rows.append(("B", "B12", None, None, None, "D3"))
    frame = pd.DataFrame(rows, columns=[c.CAMPAIGN, c.LEAD_ID, c.DISQUALIFY_REASON,
                                        c.DISQUALIFIED_AT, c.RECYCLED_AT, c.CONVERTED_DEAL_ID])  # fmt: skip
    frame[c.CREATED_AT] = pd.Timestamp(T0, tz="UTC")
    frame[c.MQL_AT] = pd.Timestamp(T0, tz="UTC")
    frame[c.SOURCE] = "paid"
    for col in (c.DISQUALIFIED_AT, c.RECYCLED_AT):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _deals() -> pd.DataFrame:
    """D1 lost (price), D2 lost (price), D3 won, D9 lost (timing) from no lead."""
    return pd.DataFrame({
        c.DEAL_ID: ["D1", "D2", "D3", "D9"],
        c.CREATED_AT: pd.to_datetime([T0] * 4, utc=True),
        c.OUTCOME: [c.LOST, c.LOST, c.WON, c.LOST],
        c.AMOUNT: 100.0,
        c.SEGMENT: c.B2B,
        c.CLOSED_AT: pd.to_datetime(["2025-02-01"] * 4, utc=True),
        c.LOSS_REASON: ["price", "price", None, "timing"],
    })  # fmt: skip


def _feedback(deal_ids=("D1", "D1", "D2", "D3", "D3", "D9")) -> pd.DataFrame:
    """D1: a customer comment on price, a rep comment on timing; D2: customer 'price and
    timing'; D3 (won): a customer comment on price (left out: a won deal's customer
    comment), a rep comment on price; D9: not from a lead (left out)."""
    return pd.DataFrame({
        c.DEAL_ID: list(deal_ids),
        c.SOURCE: ["customer", "rep", "customer", "customer", "rep", "customer"],
        c.TEXT: ["The price.", "Bad timing.", "Price and timing.", "Fair price.",
                 "Price came up.", "Timing."],
        c.COLLECTED_AT: pd.to_datetime([T0] * 6, utc=True),
    })  # fmt: skip


@pytest.fixture(scope="module")
def hand():
    ws = analysis.connect({c.LEADS: _leads(), c.DEALS: _deals(), c.FEEDBACK: _feedback()})
    return marketing_feedback(ws, by=c.CAMPAIGN, themes=THEMES)


def test_pareto_by_hand_with_wilson_intervals(hand):
    p = hand.pareto[hand.pareto[c.KIND] == c.KIND_DISQUALIFICATION].set_index(
        [c.CAMPAIGN, c.REASON]
    )
    # A: 6 No budget, 4 Wrong fit of 10 (the recycled lead is not counted).
    a = p.loc["A"]
    assert a[c.N_COUNT].tolist() == [6, 4] and a[c.N_TOTAL].tolist() == [10, 10]
    assert a[c.RANK].tolist() == [1, 2]
    assert a[c.CUMULATIVE_SHARE].tolist() == pytest.approx([0.6, 1.0])
    low, high = proportion_confint(6, 10, alpha=0.05, method="wilson")
    assert (a.loc["No budget", c.CI_LOW], a.loc["No budget", c.CI_HIGH]) == pytest.approx(
        (low, high)
    )
    # B: Wrong fit 7, No budget 2, unknown 1 of 10; cumulative 0.7, 0.9, 1.0.
    b = p.loc["B"]
    assert list(b.index) == ["Wrong fit", "No budget", c.UNKNOWN]
    assert b[c.CUMULATIVE_SHARE].tolist() == pytest.approx([0.7, 0.9, 1.0])


def test_concentration_score_test_and_holm_against_statsmodels(hand):
    conc = hand.concentration[hand.concentration[c.KIND] == c.KIND_DISQUALIFICATION]
    row = conc.set_index([c.REASON, c.CAMPAIGN]).loc[("No budget", "A")]
    # 6/10 in A against 2/10 elsewhere (= B): difference 0.4.
    assert (row[c.COUNT_ELSEWHERE], row[c.TOTAL_ELSEWHERE]) == (2, 10)
    assert row[c.DIFFERENCE] == pytest.approx(0.4)
    # Miettinen–Nurminen score test: statsmodels' "score" with correction=True.
    ref = score_test(6, 10, 2, 10, method="score", correction=True)
    assert row[c.P_VALUE] == pytest.approx(ref.pvalue, rel=1e-6)
    # Holm over the six (reason, campaign) pairs, all with variation.
    family = conc[c.P_VALUE].to_numpy()
    assert len(family) == 6
    holm = multipletests(family, method="holm")[1]
    assert conc[c.P_ADJUSTED].to_numpy() == pytest.approx(holm)
    assert not conc[c.CONCENTRATED].any()  # 10 leads a side: nothing survives


def test_unadjusted_interval_is_statsmodels_score_interval():
    ws = analysis.connect({c.LEADS: _leads(), c.DEALS: _deals()})
    conc = marketing_feedback(ws, correction="none", themes=THEMES).concentration
    row = conc.set_index([c.REASON, c.CAMPAIGN]).loc[("No budget", "A")]
    # statsmodels' score interval is wrong away from 0 (statsmodels issue #10269; here it
    # stops in brentq): the reference is the brute-force Miettinen–Nurminen interval of
    # tests/score_reference.py, as in tests/stats/test_score.py.
    low, high = mn_interval(6, 10, 2, 10, 0.05)
    assert (row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH]) == pytest.approx((low, high), abs=1e-6)
    assert row[c.P_ADJUSTED] == row[c.P_VALUE]


def test_loss_reasons_of_converted_leads_deals(hand):
    loss = hand.pareto[hand.pareto[c.KIND] == c.KIND_LOSS]
    # D1 (lead of A) and D2 (lead of B) lost on price; D9 comes from no lead; D3 won.
    assert loss[[c.CAMPAIGN, c.REASON, c.N_COUNT]].values.tolist() == [
        ["A", "price", 1],
        ["B", "price", 1],
    ]
    conc = hand.concentration[hand.concentration[c.KIND] == c.KIND_LOSS]
    assert (conc[c.NOTE] == c.NOTE_NO_VARIATION).all()  # every lost deal says price
    assert (conc[c.P_VALUE] == 1.0).all()


def test_themes_of_lost_deal_and_rep_comments(hand):
    themes = hand.themes.set_index(c.THEME)
    # Kept: D1 customer (price), D1 rep (timing), D2 customer (price, timing), D3 rep (price):
    # 4 comments, price 3, timing 2. D3's customer comment (won) and D9 (no lead) left out.
    assert themes[c.N_COMMENTS].tolist() == [4, 4]
    assert themes.loc["price", c.N_MENTIONS] == 3 and themes.loc["timing", c.N_MENTIONS] == 2
    low, high = proportion_confint(3, 4, alpha=0.05, method="wilson")
    assert themes.loc["price", [c.CI_LOW, c.CI_HIGH]].tolist() == pytest.approx([low, high])
    tc = hand.theme_concentration.set_index([c.THEME, c.CAMPAIGN])
    # A has D1's two comments (price 1), B has D2's and D3's (price 2).
    assert tc.loc[("price", "A"), [c.N_COUNT, c.N_TOTAL]].tolist() == [1, 2]
    assert tc.loc[("price", "A"), [c.COUNT_ELSEWHERE, c.TOTAL_ELSEWHERE]].tolist() == [2, 2]
    assert hand.notes == ()


def test_missing_feedback_gives_empty_themes_with_a_note():
    without = analysis.connect({c.LEADS: _leads(), c.DEALS: _deals()})
    result = marketing_feedback(without, themes=THEMES)
    assert result.themes.empty and c.NOTE_NO_FEEDBACK_TABLE in result.notes
    unlinked = analysis.connect(
        {c.LEADS: _leads(), c.DEALS: _deals(), c.FEEDBACK: _feedback(["D9"] * 6)}
    )
    result = marketing_feedback(unlinked, themes=THEMES)
    assert result.themes.empty and result.notes == (c.NOTE_NO_FEEDBACK_FROM_LEADS,)
    assert any("No comment is linked" in s for s in feedback_sentences(result))


def test_deals_without_loss_reasons_skip_losses_with_a_note():
    deals = _deals().drop(columns=[c.LOSS_REASON])
    result = marketing_feedback(analysis.connect({c.LEADS: _leads(), c.DEALS: deals}))
    assert set(result.pareto[c.KIND]) == {c.KIND_DISQUALIFICATION}
    assert f"{c.KIND_LOSS}: {c.NOTE_NO_REASON_COLUMN}" in result.notes
    assert "The deals carry no loss reason." in feedback_sentences(result)


def test_without_leads_table_missing_input():
    with pytest.raises(MissingInput, match="leads"):
        marketing_feedback(analysis.connect({c.DEALS: _deals()}))


def test_bad_arguments_raise_value_error():
    ws = analysis.connect({c.LEADS: _leads(), c.DEALS: _deals()})
    with pytest.raises(ValueError, match="correction"):
        marketing_feedback(ws, correction="sidak")
    with pytest.raises(ValueError, match="no column"):
        marketing_feedback(ws, by="region")
    with pytest.raises(ValueError, match="one lead column"):
        marketing_feedback(ws, by=[c.SOURCE, c.CAMPAIGN])


@pytest.fixture(scope="module")
def on_sample(sample):
    return marketing_feedback(sample[1], by=c.CAMPAIGN)


def test_planted_no_budget_in_social_ads_ranks_first(sample, on_sample):
    truth = sample[0].truth["leads"]["disqualify_reasons"]
    conc = on_sample.concentration
    top = conc[conc[c.KIND] == c.KIND_DISQUALIFICATION].iloc[0]
    assert (top[c.REASON], top[c.CAMPAIGN]) == (truth["reason"], truth["campaign"])
    assert top[c.CONCENTRATED] and top[c.P_ADJUSTED] < 0.001
    # The realised counts recount exactly; the intervals cover the planted shares.
    assert (top[c.N_COUNT], top[c.N_TOTAL]) == (
        truth["reason_in_campaign"], truth["disqualified_in_campaign"],
    )  # fmt: skip
    assert (top[c.COUNT_ELSEWHERE], top[c.TOTAL_ELSEWHERE]) == (
        truth["reason_elsewhere"], truth["disqualified_elsewhere"],
    )  # fmt: skip
    assert top[c.CI_LOW] <= truth["planted_share"] <= top[c.CI_HIGH]
    low, high = top[c.ELSEWHERE_CI_LOW], top[c.ELSEWHERE_CI_HIGH]
    assert low <= truth["planted_share_elsewhere"] <= high
    # The difference's interval agrees with its adjusted p-value.
    assert top[c.DIFF_CI_LOW] > 0


def test_sample_sentence_names_the_concentration(on_sample):
    first = feedback_sentences(on_sample)[0]
    assert first.startswith("'No budget' is 59.6% [56.9–62.2] of Social Ads' disqualifications")
    assert "against 15.1% [14.3–16.0] in the other campaigns" in first
    assert "adjusted p < 0.001" in first


def test_sample_properties(on_sample):
    pareto = on_sample.pareto
    shares = pareto.groupby([c.KIND, c.CAMPAIGN])[c.SHARE].sum()
    assert np.allclose(shares, 1.0)
    last = pareto.groupby([c.KIND, c.CAMPAIGN])[c.CUMULATIVE_SHARE].last()
    assert np.allclose(last, 1.0)
    assert len(on_sample.themes) and on_sample.notes == ()
    hear = on_sample.themes
    assert hear[c.SHARE].is_monotonic_decreasing
    assert ((hear[c.CI_LOW] <= hear[c.SHARE]) & (hear[c.SHARE] <= hear[c.CI_HIGH])).all()
