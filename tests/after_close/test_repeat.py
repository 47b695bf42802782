"""Repeat purchases: hand-built customers, the sample's truth, the planted channel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import analysis
from analysis.after_close import columns as c
from analysis.after_close.repeat import repeat_purchase
from analysis.core.errors import MissingInput
from tests.after_close.conftest import SAMPLE_CUTOFF, deals_frame, orders_frame

CUTOFF = "2025-12-31"
# Five customers (days from the first order to the second):
# C back at 0 days (two orders at the same instant), A at 31, E censored at 60,
# D back at 210, B censored at 364 (never back).
ORDERS = [
    ("o1", "A", "2025-01-01", "d1", 100, "USD"),
    ("o2", "A", "2025-02-01", None, 50, "USD"),
    ("o3", "A", "2025-05-01", None, 50, "USD"),
    ("o4", "B", "2025-01-01", "d2", 80, "USD"),
    ("o5", "C", "2025-06-01", "d3", 30, "USD"),
    ("o6", "C", "2025-06-01", None, 30, "USD"),
    ("o7", "D", "2025-03-01", "d4", 60, "USD"),
    ("o8", "D", "2025-09-27", None, 60, "USD"),
    ("o9", "E", "2025-11-01", "d5", 10, "USD"),
]
DEALS = [
    ("d1", "2024-12-01", "2025-01-01", "paid", "EMEA", 100),
    ("d2", "2024-12-01", "2025-01-01", "paid", "EMEA", 80),
    ("d3", "2025-05-01", "2025-06-01", "inbound", "EMEA", 30),
    ("d4", "2025-02-01", "2025-03-01", "inbound", "EMEA", 60),
    ("d5", "2025-10-01", "2025-11-01", "inbound", "EMEA", 10),
]


@pytest.fixture(scope="module")
def hand_ws():
    return analysis.connect({c.ORDERS: orders_frame(ORDERS), c.DEALS: deals_frame(DEALS)})


def test_kaplan_meier_rates_and_median_match_a_hand_calculation(hand_ws):
    r = repeat_purchase(hand_ws, as_of=CUTOFF)
    t = r.table.set_index(c.HORIZON_DAYS)
    # By hand: S = 4/5 after t=0, x 3/4 after t=31 (E censored at 60), x 1/2 after t=210.
    assert t.loc[90.0, c.REPEAT_RATE] == pytest.approx(1 - 0.8 * 0.75)
    assert t.loc[180.0, c.REPEAT_RATE] == pytest.approx(1 - 0.8 * 0.75)
    assert t.loc[365.0, c.REPEAT_RATE] == pytest.approx(1 - 0.8 * 0.75 * 0.5)
    assert t.loc[90.0, c.MEDIAN_DAYS] == pytest.approx(210.0)  # first time S <= 0.5
    assert t.loc[90.0, c.N_CUSTOMERS] == 5 and t.loc[90.0, c.N_REPEAT] == 3
    assert t.loc[90.0, c.N_ORDERS] == 9
    # Greenwood by hand at 90 days: S = 0.6, Var = S^2 (1/(5*4) + 1/(4*3)); log(-log) bounds.
    s, var = 0.6, 0.36 * (1 / 20 + 1 / 12)
    k = norm.ppf(0.975) * np.sqrt(var) / (s * abs(np.log(s)))
    assert t.loc[90.0, c.REPEAT_CI_LOW] == pytest.approx(1 - s ** np.exp(-k))
    assert t.loc[90.0, c.REPEAT_CI_HIGH] == pytest.approx(1 - s ** np.exp(k))


def test_cohort_curve_counts_months_that_have_passed(hand_ws):
    curve = repeat_purchase(hand_ws, as_of=CUTOFF).cohorts.set_index(c.MONTHS_SINCE)
    # By hand (months of 365/12 days): A and B watched through month 10, D through 9,
    # C through 6 and E through none; A ordered in months 1 and 3, D in month 6 (day 210).
    assert curve[c.AT_RISK].to_dict() == {1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4, 7: 3, 8: 3,
                                          9: 3, 10: 2}  # fmt: skip
    assert curve.loc[[1, 3, 6], c.ACTIVE].tolist() == [1, 1, 1]
    assert curve[c.ACTIVE].sum() == 3


def test_groups_come_from_the_customers_deal(hand_ws):
    r = repeat_purchase(hand_ws, by="channel", as_of=CUTOFF)
    t = r.at_window().set_index(c.CHANNEL)
    assert t[c.N_CUSTOMERS].to_dict() == {"inbound": 3, "paid": 2}  # d3-d5 inbound, d1-d2 paid
    # paid: A back at 31, B censored -> 1/2; inbound: C at 0, E censored, D at 210 -> 1/3.
    assert t.loc["paid", c.REPEAT_RATE] == pytest.approx(0.5)
    assert t.loc["inbound", c.REPEAT_RATE] == pytest.approx(1 / 3)
    assert set(r.comparison[c.GROUP]) == {"inbound", "paid"}
    assert r.logrank[1] == 1


def test_without_orders_the_analysis_says_what_is_missing():
    ws = analysis.connect({c.DEALS: deals_frame(DEALS)})
    with pytest.raises(MissingInput, match="orders"):
        repeat_purchase(ws)


def test_bad_arguments_are_refused(hand_ws):
    with pytest.raises(ValueError, match="by must name one of"):
        repeat_purchase(hand_ws, by="colour")
    with pytest.raises(ValueError, match="cohort"):
        repeat_purchase(hand_ws, cohort="week")


def test_counts_match_the_sample_truth(sample):
    crm, ws = sample
    truth = crm.truth["after_sale"]["repeat_purchase"]
    t = repeat_purchase(ws, by="channel", as_of=SAMPLE_CUTOFF).at_window().set_index(c.CHANNEL)
    for source, row in truth["by_source"].items():
        assert t.loc[source, c.N_CUSTOMERS] == row["customers"]  # truth: drawn customers
        assert t.loc[source, c.N_ORDERS] == row["orders"]


def test_paid_buyers_come_back_less_and_rates_cover_the_plan(large):
    crm, ws = large
    truth = crm.truth["after_sale"]["repeat_purchase"]
    r = repeat_purchase(ws, by="channel", as_of=SAMPLE_CUTOFF)
    t = r.at_window().set_index(c.CHANNEL)
    for source, row in truth["by_source"].items():
        # The planted chance of a second order within 180 days (gamma-Poisson closed form).
        expected = row["expected_second_within_window"]
        assert t.loc[source, c.REPEAT_CI_LOW] <= expected <= t.loc[source, c.REPEAT_CI_HIGH]
    comp = r.comparison.set_index(c.GROUP)
    assert truth["low_repeat_channel"] == "paid"  # planted: half the repeat rate
    assert comp.loc["paid", c.SIGNIFICANT] and comp.loc["paid", c.DIFFERENCE] < 0
    assert comp.loc["paid", c.DIFF_CI_HIGH] < 0  # the interval agrees with the adjusted p
    assert r.logrank[2] < 0.001


def test_amounts_in_another_currency_use_the_customers_deal_rate():
    from analysis.after_close.customers import customer_rows

    # d1 in EUR converted at 1.1, d2 kept in USD: the deals report in USD.
    deals = deals_frame(DEALS[:2]).assign(
        amount=[110.0, 80.0], amount_original=[100.0, 80.0], currency=["EUR", "USD"]
    )
    orders = orders_frame([("o1", "A", "2025-01-01", "d1", 100, "EUR"),
                           ("o2", "A", "2025-02-01", None, 50, "EUR"),
                           ("o3", "Z", "2025-02-01", None, 40, "GBP")])  # fmt: skip
    ws = analysis.connect({c.ORDERS: orders, c.DEALS: deals})
    rows = ws.execute(customer_rows(ws, pd.Timestamp(CUTOFF, tz="UTC"))).set_index("_customer")
    # d1 was converted at 110/100: A's orders are 1.1 x (100 + 50); Z has no deal to convert by.
    assert rows.loc["A", "_year_money"] == pytest.approx(165.0)
    assert rows.loc["Z", "_money_missing"] == 1
