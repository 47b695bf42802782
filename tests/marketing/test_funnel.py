"""lead_funnel: hand-counted steps, Wilson and KM reference values, planted truth, no leads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

import analysis
from analysis.core.errors import MissingInput
from analysis.marketing import columns as c
from analysis.marketing import lead_funnel

# Two sources, times at midnight so durations are whole days. The deals' latest
# creation (2026-03-01, an open deal) is the cut-off.
LEADS = [
    # A: advanced through every step, deal D1 won 10 days after conversion
    {c.LEAD_ID: "L1", c.CREATED_AT: "2026-01-01", c.SOURCE: "A", c.MQL_AT: "2026-01-01",
     c.ACCEPTED_AT: "2026-01-02", c.SQL_AT: "2026-01-04", c.CONVERTED_AT: "2026-01-05",
     c.CONVERTED_DEAL_ID: "D1"},
    # A: converted, deal D2 lost 14 days after conversion
    {c.LEAD_ID: "L2", c.CREATED_AT: "2026-01-01", c.SOURCE: "A", c.MQL_AT: "2026-01-01",
     c.ACCEPTED_AT: "2026-01-03", c.SQL_AT: "2026-01-05", c.CONVERTED_AT: "2026-01-06",
     c.CONVERTED_DEAL_ID: "D2"},
    # A: accepted after 4 days, then disqualified: rejected at the accepted step
    {c.LEAD_ID: "L3", c.CREATED_AT: "2026-01-01", c.SOURCE: "A", c.MQL_AT: "2026-01-01",
     c.ACCEPTED_AT: "2026-01-05", c.DISQUALIFIED_AT: "2026-01-10"},
    # A: recycled after 1 day: rejected at MQL
    {c.LEAD_ID: "L4", c.CREATED_AT: "2026-01-01", c.SOURCE: "A", c.MQL_AT: "2026-01-01",
     c.RECYCLED_AT: "2026-01-02"},
    # A: an MQL still waiting at the cut-off (censored, not a failure)
    {c.LEAD_ID: "L5", c.CREATED_AT: "2026-01-01", c.SOURCE: "A", c.MQL_AT: "2026-01-01"},
    # A: not yet an MQL: in no step
    {c.LEAD_ID: "L6", c.CREATED_AT: "2026-01-01", c.SOURCE: "A"},
    # B: disqualified as an MQL
    {c.LEAD_ID: "L7", c.CREATED_AT: "2026-01-01", c.SOURCE: "B", c.MQL_AT: "2026-01-01",
     c.DISQUALIFIED_AT: "2026-01-03"},
    # B: accepted without an MQL time (reached MQL by implication), waiting as accepted
    {c.LEAD_ID: "L8", c.CREATED_AT: "2026-01-01", c.SOURCE: "B", c.ACCEPTED_AT: "2026-01-02"},
]  # fmt: skip
DEALS = [
    ("D1", "2026-01-05", "won", "2026-01-15"),
    ("D2", "2026-01-06", "lost", "2026-01-20"),
    ("D3", "2026-03-01", "open", None),
]


@pytest.fixture(scope="module")
def hand(make_ws):
    return lead_funnel(make_ws(LEADS, DEALS))


def _row(result, source, step):
    table = result.to_frame()
    return table[(table[c.SOURCE] == source) & (table[c.STEP] == step)].iloc[0]


def test_counts_by_hand(hand):
    # reached, advanced, rejected, waiting per step, counted from the comments above
    expected = {
        ("A", "mql"): (5, 3, 1, 1),  # L1-L5; L1-L3 accepted; L4 recycled; L5 waiting
        ("A", "accepted"): (3, 2, 1, 0),  # L1-L3; L1, L2 SQL; L3 disqualified
        ("A", "sql"): (2, 2, 0, 0),  # L1, L2 converted
        ("A", "opportunity"): (2, 1, 1, 0),  # D1 won, D2 lost
        ("B", "mql"): (2, 1, 1, 0),  # L8 (implied) accepted, L7 disqualified
        ("B", "accepted"): (1, 0, 0, 1),  # L8 waiting
        ("B", "sql"): (0, 0, 0, 0),
    }
    for (source, step), counts in expected.items():
        row = _row(hand, source, step)
        got = tuple(int(row[col]) for col in (c.N_REACHED, c.N_ADVANCED, c.N_REJECTED, c.N_WAITING))
        assert got == counts, (source, step)
    assert int(_row(hand, "A", "won")[c.N_REACHED]) == 1
    assert list(hand.to_frame()[c.STEP][:5]) == list(c.FUNNEL_STEPS)


def test_conversion_is_wilson_over_decided_leads(hand):
    row = _row(hand, "A", "mql")  # 3 advanced of 4 decided; the waiting L5 is not a failure
    assert row[c.CONVERSION] == pytest.approx(0.75)
    low, high = proportion_confint(3, 4, alpha=0.05, method="wilson")  # statsmodels reference
    assert (row[c.CI_LOW], row[c.CI_HIGH]) == pytest.approx((low, high))
    assert _row(hand, "B", "accepted")[c.NOTE] == c.NOTE_NO_DECIDED_LEADS
    assert _row(hand, "B", "sql")[c.NOTE] == c.NOTE_NO_LEADS


def test_from_mql_is_the_product_with_a_log_delta_interval(hand):
    # A: conversions 3/4, 2/3, 2/2, 1/2 -> shares of MQLs reaching each step
    got = [_row(hand, "A", s)[c.FROM_MQL] for s in c.FUNNEL_STEPS]
    assert got == pytest.approx([1.0, 0.75, 0.5, 0.5, 0.25])
    # accepted: se of log(0.75) = sqrt((1 - 0.75) / (4 * 0.75)) by hand
    se, z = np.sqrt(0.25 / 3.0), norm.ppf(0.975)
    row = _row(hand, "A", "accepted")
    assert row[c.FROM_MQL_CI_LOW] == pytest.approx(0.75 * np.exp(-z * se))
    assert row[c.FROM_MQL_CI_HIGH] == pytest.approx(min(1.0, 0.75 * np.exp(z * se)))


def test_time_to_next_step_is_kaplan_meier_with_censoring(hand):
    # A, MQL -> accepted: events at 1, 2, 4 days (L1-L3); L4 censored at 1 (recycled),
    # L5 at 59 (the cut-off 2026-03-01). S(1) = 4/5, S(2) = 0.8 * 2/3, S(4) = 0.533 * 1/2
    # = 0.267: the first time S <= 0.5 is 4 days.
    row = _row(hand, "A", "mql")
    assert row[c.MEDIAN_DAYS] == pytest.approx(4.0)
    assert (int(row[c.N_TIMED]), int(row[c.N_CENSORED])) == (5, 2)
    waiting = hand.durations[(hand.durations[c.SOURCE] == "A") & (hand.durations[c.EVENT] == 0)]
    assert 59.0 in set(waiting[c.DAYS])
    assert hand.cutoff == pd.Timestamp("2026-03-01", tz="UTC")
    # A, opportunity -> won: D1 won after 10 days, D2 censored at its loss (14): S(10) = 1/2
    # and flat to the end, so R's median is 10.
    assert _row(hand, "A", "opportunity")[c.MEDIAN_DAYS] == pytest.approx(10.0)


def test_counts_reconcile_and_rates_lie_in_unit_interval(sample):
    _, ws = sample
    table = lead_funnel(ws, by="campaign").to_frame()
    decided = table[table[c.STEP] != c.STEP_WON]
    total = decided[c.N_ADVANCED] + decided[c.N_REJECTED] + decided[c.N_WAITING]
    assert (total == decided[c.N_REACHED]).all()
    rates = decided[c.CONVERSION].dropna()
    assert ((rates >= 0) & (rates <= 1)).all()
    assert (decided[c.CI_LOW].dropna() <= rates).all()


def test_period_groups_sum_to_the_whole(sample):
    _, ws = sample
    whole = lead_funnel(ws, by=None).to_frame().set_index(c.STEP)
    by_quarter = lead_funnel(ws, by=None, period="quarter").to_frame()
    assert by_quarter[c.PERIOD].dt.tz is not None
    summed = by_quarter.groupby(c.STEP)[c.N_REACHED].sum()
    for step in c.FUNNEL_STEPS:
        assert int(summed[step]) == int(whole.loc[step, c.N_REACHED])


def test_planted_acceptance_by_source_recovered(sample):
    crm, ws = sample
    truth = crm.truth["leads"]
    table = lead_funnel(ws).to_frame()
    mql = table[table[c.STEP] == c.STEP_MQL].set_index(c.SOURCE)
    # The truth counts the table by the same definitions: exactly the same figures.
    for source, t in truth["acceptance_by_source"].items():
        assert int(mql.loc[source, c.N_REACHED]) == t["mql"]
        assert int(mql.loc[source, c.DECIDED]) == t["decided"]
        assert int(mql.loc[source, c.N_ADVANCED]) == t["passed"]
    # The low-acceptance source: most MQLs, lowest acceptance, its interval below all
    # the others' and covering the planted 35%.
    low = truth["low_acceptance_source"]
    assert mql[c.N_REACHED].idxmax() == low["source"] == mql[c.CONVERSION].idxmin()
    others = mql.drop(index=low["source"])
    assert mql.loc[low["source"], c.CI_HIGH] < others[c.CI_LOW].min()
    assert (
        mql.loc[low["source"], c.CI_LOW] <= low["planted_rate"] <= mql.loc[low["source"], c.CI_HIGH]
    )


def test_planted_sql_rate_covered(sample):
    crm, ws = sample
    sql = crm.truth["leads"]["realised"]["sql"]
    row = lead_funnel(ws, by=None).to_frame().set_index(c.STEP).loc[c.STEP_ACCEPTED]
    assert int(row[c.DECIDED]) == sql["decided"] and int(row[c.N_ADVANCED]) == sql["passed"]
    assert row[c.CI_LOW] <= sql["expected_rate"] <= row[c.CI_HIGH]


def test_without_leads_table_missing_input(sample):
    crm, _ = sample
    ws = analysis.connect({c.DEALS: crm.tables[c.DEALS]})
    with pytest.raises(MissingInput, match="leads"):
        lead_funnel(ws)


def test_bad_arguments_raise_value_error(sample):
    _, ws = sample
    with pytest.raises(ValueError, match="no column"):
        lead_funnel(ws, by="colour")
    with pytest.raises(ValueError, match="period"):
        lead_funnel(ws, period="week")
