"""Findings in words and the page's tables and charts, on the default sample."""

from __future__ import annotations

import re

import pytest

from analysis import after_close as ac
from analysis.after_close import columns as c
from tests.after_close.conftest import SAMPLE_CUTOFF

INTERVAL = re.compile(r"\d+\.\d% \[\d+\.\d–\d+\.\d\]")


@pytest.fixture(scope="module")
def results(sample):
    _, ws = sample
    kw = {"as_of": SAMPLE_CUTOFF}
    return {
        "repeat": ac.repeat_purchase(ws, **kw),
        "repeat_by": ac.repeat_purchase(ws, by="channel", **kw),
        "retention": ac.revenue_retention(ws, **kw),
        "onboarding_by": ac.onboarding_time(ws, by="size_band", **kw),
        "value": ac.value_after_sale(ws, **kw),
        "worth": ac.customer_value(ws, **kw),
    }


def test_overall_sentences_carry_intervals(results):
    (repeat,) = ac.repeat_sentences(results["repeat"])
    assert INTERVAL.search(repeat) and "406 customers" in repeat  # truth: 406 customers
    retention = ac.retention_sentences(results["retention"])
    assert "73 accounts" in retention[0]  # truth["...revenue_retention"]["all"]["observed"]
    assert all(INTERVAL.search(s) for s in retention)


def test_group_sentences_name_differences_with_adjusted_p(results):
    sentences = ac.onboarding_sentences(results["onboarding_by"])
    large = [s for s in sentences if s.startswith("Large deals take longer")]
    assert large and "adjusted p" in large[0] and "points [" in large[0]
    # On 5,000 deals no channel's repeat rate differs beyond noise: said, not invented.
    (none,) = ac.repeat_sentences(results["repeat_by"])
    assert none.startswith("No channel differs")


def test_value_and_worth_sentences(results):
    assert ac.value_sentences(results["value"])  # a finding or "nothing beyond noise"
    (worth,) = ac.worth_sentences(results["worth"])
    assert "a floor of the lifetime's" in worth and "×" in worth


def test_cohort_grid_agrees_with_the_pooled_curve(sample):
    _, ws = sample
    pooled = ac.repeat_purchase(ws, as_of=SAMPLE_CUTOFF).cohorts.set_index(c.MONTHS_SINCE)
    by = ac.repeat_purchase(ws, by="cohort", cohort="quarter", as_of=SAMPLE_CUTOFF).cohorts
    summed = by.groupby(c.MONTHS_SINCE)[[c.AT_RISK, c.ACTIVE]].sum()
    assert summed.equals(pooled[[c.AT_RISK, c.ACTIVE]].astype(summed.dtypes.to_dict()))
    grid = ac.cohort_grid(ac.repeat_purchase(ws, by="cohort", cohort="quarter",
                                             as_of=SAMPLE_CUTOFF))  # fmt: skip
    assert list(grid.columns[:3]) == [c.COHORT, "month 1", "month 2"]


def test_charts_draw(results, sample):
    _, ws = sample
    assert ac.curve_chart(results["repeat_by"], "t").axes[0].lines
    assert ac.curve_chart(results["onboarding_by"], "t").axes[0].lines
    fig = ac.retention_chart(ac.revenue_retention(ws, by="region", as_of=SAMPLE_CUTOFF), "t")
    assert fig.axes[0].lines or fig.axes[0].collections
