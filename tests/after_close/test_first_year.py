"""The first year after the close per segment, on the default sample."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from analysis.after_close import columns as c
from analysis.after_close.first_year import STILL_BUYING, first_year, year_on_rows
from analysis.after_close.rows import post_sale_cutoff
from tests.after_close.conftest import SAMPLE_CUTOFF


def test_b2b_counts_equal_the_retention_truth(sample):
    crm, ws = sample
    truth = crm.truth["after_sale"]["revenue_retention"]["all"]
    r = first_year(ws, "B2B", "B2C", as_of=SAMPLE_CUTOFF)
    b2b = r.table.set_index(c.SEGMENT).loc[c.B2B]
    # truth: 73 accounts observed a year, 18 churned within it.
    assert b2b[c.N_CUSTOMERS] == truth["observed"]
    assert b2b[STILL_BUYING] == truth["observed"] - truth["churned_12_months"]
    assert list(r.comparison["a"]) == [c.B2B, c.B2B]


def test_value_difference_is_welchs_test(sample):
    _, ws = sample
    r = first_year(ws, "B2B", "B2C", as_of=SAMPLE_CUTOFF)
    rows = year_on_rows(ws, post_sale_cutoff(ws, SAMPLE_CUTOFF), c.SEGMENT)
    rows = rows[rows["_complete"]]
    a = rows.loc[rows[c.SEGMENT] == c.B2B, "_value"].astype(float)
    b = rows.loc[rows[c.SEGMENT] == c.B2C, "_value"].astype(float)
    # scipy's Welch test on the customers' values, independent of the module's formula.
    expected = stats.ttest_ind(a, b, equal_var=False)
    value = r.comparison.set_index(c.MEASURE).loc[c.VALUE_FIRST_YEAR]
    assert value[c.P_VALUE] == pytest.approx(expected.pvalue, rel=1e-9)
    low, high = expected.confidence_interval(0.95)
    assert (value[c.DIFF_CI_LOW], value[c.DIFF_CI_HIGH]) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    assert isinstance(r.to_frame(), pd.DataFrame)


def test_customer_value_reads_the_same_year_on_rows(sample):
    # The one definition of "a year on": customer_value's customers per channel are
    # year_on_rows' complete rows by channel (counted independently here with pandas).
    from analysis.after_close import customer_value

    _, ws = sample
    cutoff = post_sale_cutoff(ws, SAMPLE_CUTOFF)
    rows = year_on_rows(ws, cutoff, c.CHANNEL)
    expected = rows[rows["_complete"].astype(bool)].groupby(c.CHANNEL).size()
    got = customer_value(ws, as_of=SAMPLE_CUTOFF).to_frame().set_index(c.CHANNEL)
    assert got[c.N_CUSTOMERS].to_dict() == expected.to_dict()
