"""Back to the sale: the planted channel and discount, recovered as adjusted odds ratios."""

from __future__ import annotations

import pytest

import analysis
from analysis.after_close import columns as c
from analysis.after_close.value import value_after_sale
from analysis.core.errors import MissingInput
from tests.after_close.conftest import SAMPLE_CUTOFF, deals_frame


def test_planted_channel_and_discount_are_found(large):
    _, ws = large
    r = value_after_sale(ws, as_of=SAMPLE_CUTOFF)
    t = r.table.set_index([c.MEASURE, c.FACTOR, c.LEVEL])
    paid = t.loc[(c.MEASURE_REPEAT, c.CHANNEL, "paid")]
    # Planted: paid buyers' repeat rate is half the others' (truth: repeat_source_factor).
    assert paid[c.SIGNIFICANT] and paid[c.OR_CI_HIGH] < 1
    for level in ("20%", "30%"):
        # Planted: 20% off or more doubles the monthly churn (deep_discount_churn_factor).
        deep = t.loc[(c.MEASURE_CHURN, c.DISCOUNT, level)]
        assert deep[c.SIGNIFICANT] and deep[c.OR_CI_LOW] > 1
    assert t.loc[(c.MEASURE_CHURN, c.DISCOUNT, "10%"), c.OR_CI_LOW] < 1  # planted: as 0%
    # Not planted: cycle length and skipped stages do not move the first year.
    for measure in (c.MEASURE_REPEAT, c.MEASURE_CHURN):
        cycle = t.loc[(measure, c.FACTOR_CYCLE, "per doubling")]
        assert cycle[c.OR_CI_LOW] < 1 < cycle[c.OR_CI_HIGH]
    assert r.deals[c.MEASURE_CHURN] == 1201  # observed accounts: revenue_retention agrees


def test_raw_rates_are_the_counts_and_references_are_named_levels(sample):
    crm, ws = sample
    r = value_after_sale(ws, as_of=SAMPLE_CUTOFF)
    churn = r.table[r.table[c.MEASURE] == c.MEASURE_CHURN]
    # truth["after_sale"]["revenue_retention"]["all"]: 18 of 73 observed accounts churned.
    by_discount = churn[churn[c.FACTOR] == c.DISCOUNT]
    assert by_discount[c.N_DEALS].sum() == 73
    churned = (by_discount[c.OUTCOME_RATE] * by_discount[c.N_DEALS]).sum()
    assert churned == pytest.approx(18)
    assert "other" not in set(r.table[c.REFERENCE])


def test_bad_input_is_refused():
    ws = analysis.connect({c.DEALS: deals_frame([("d1", "2025-01-01", "2025-02-01", "paid",
                                                  "EMEA", 10)])})  # fmt: skip
    with pytest.raises(MissingInput, match="orders or a subscriptions"):
        value_after_sale(ws)
    with pytest.raises(ValueError, match="factors must be among"):
        value_after_sale(ws, factors=("colour",))
