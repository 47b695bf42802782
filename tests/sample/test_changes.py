"""Tests of analysis.sample.changes: the deal change history and the deal columns it ends in.

Provenance of the expected values:
- *properties*: invariants any draw must satisfy, checked from the canonical tables
  with plain pandas (the history reconciles with ``deals`` and ``stage_events``);
- *recorded output*: hashes of the tables and truth that ``generate_sample`` returned
  for seed 20240601 and 5,000 deals before the change history existed (generator
  version 1, commit eb09125), so adding it provably changed nothing else;
- *planted truth*: ``truth["amount_changes"]`` recounted from the table.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.core.stages import load_stages
from analysis.sample import SampleCRM, generate_sample
from analysis.sample.params import CLOSED_CATEGORY, OMITTED

PIPELINE = load_stages().pipeline()
NEW_DEAL_COLUMNS = (c.EXPECTED_CLOSE_AT, c.PROBABILITY, c.FORECAST_CATEGORY)
NEW_TRUTH_KEYS = ("deal_changes", "slippage", "rep_probability", "amount_changes")
# added after the change history (generator versions 4 and 5)
LATER_TRUTH_KEYS = ("leads", "after_sale")

# sha256 of DataFrame.to_csv(index=False, lineterminator="\n") of each table, and of
# json.dumps(truth without generator, rows and the new keys, sort_keys=True), recorded
# from generate_sample(5_000, seed=20240601) before deal_changes was added.
RECORDED = {
    c.DEALS: "e8c52fc7dfb6ab17428516a2195459cdbc352e368b38acbf9fb3902154caa36d",
    c.STAGE_EVENTS: "fca0ee0a5d40c277d780a844c8c676bb010d9fb73db5f43880fee4f1c2266b2b",
    c.ACTIVITIES: "d25cfa57b3db61f4f492ce12e68e526fcc8a2531df1910d978f938f6ecc00e7d",
    c.ASSIGNMENTS: "dac80274b4f77fdd96265e6c8dc6bed4f254f144790b5cdf03d340ff800e8111",
    c.REPS: "7a8f1a9b6293ad112b5a6db5cab4e2dae4de6177096f6fef4665d63fb09d2aab",
    c.SPEND: "eb3d70bd27f114ec2b07ad187155cc34ac92491b46c9567c84bbf36ddd4e5c31",
    c.FEEDBACK: "e028f5b670d4dc1fd1aab11135a8b1a8fa9dea54c9ceb968b971447c65b80132",
    "truth": "7b75437db71344ca17fa41ff187b10aee1b47ada19d9f1bee5a18c74ea0eda58",
}
RECORDED_ROWS = {
    c.DEALS: 5000,
    c.STAGE_EVENTS: 18300,
    c.ACTIVITIES: 29956,
    c.ASSIGNMENTS: 684,
    c.REPS: 20,
    c.SPEND: 120,
    c.FEEDBACK: 1426,
}


@pytest.fixture(scope="module")
def crm() -> SampleCRM:
    return generate_sample(3_000, seed=17)


def by_field(crm: SampleCRM, field: str) -> pd.DataFrame:
    changes = crm.tables[c.DEAL_CHANGES]
    return changes[changes[c.FIELD] == field]


def last_values(crm: SampleCRM, field: str) -> pd.Series:
    """New value of each deal's last change of ``field`` (rows are in time order)."""
    return by_field(crm, field).groupby(c.DEAL_ID)[c.NEW_VALUE].last()


def as_of(crm: SampleCRM, field: str, when: pd.Timestamp) -> pd.Series:
    """Point-in-time value per deal: the new value of its last change at or before ``when``."""
    rows = by_field(crm, field)
    return rows[rows[c.CHANGED_AT] <= when].groupby(c.DEAL_ID)[c.NEW_VALUE].last()


# --- adding the history changed nothing else ------------------------------------------


def test_existing_tables_and_truth_are_unchanged_for_the_default_seed():
    crm = generate_sample(5_000, seed=20240601)
    for table, digest in RECORDED.items():
        if table == "truth":
            continue
        df = crm.tables[table]
        if table == c.DEALS:
            assert list(df.columns[-3:]) == list(NEW_DEAL_COLUMNS)
            df = df.drop(columns=list(NEW_DEAL_COLUMNS))
        text = df.to_csv(index=False, lineterminator="\n")
        assert hashlib.sha256(text.encode()).hexdigest() == digest, table
    skip = ("generator", "rows", *NEW_TRUTH_KEYS, *LATER_TRUTH_KEYS)
    old = {k: v for k, v in crm.truth.items() if k not in skip}
    text = json.dumps(old, sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == RECORDED["truth"]
    assert {t: crm.truth["rows"][t] for t in RECORDED_ROWS} == RECORDED_ROWS
    assert crm.truth["rows"][c.DEAL_CHANGES] == len(crm.tables[c.DEAL_CHANGES])


def test_same_seed_gives_the_same_history_and_another_seed_another():
    a, b = generate_sample(800, seed=9), generate_sample(800, seed=9)
    pd.testing.assert_frame_equal(a.tables[c.DEAL_CHANGES], b.tables[c.DEAL_CHANGES])
    assert {k: a.truth[k] for k in NEW_TRUTH_KEYS} == {k: b.truth[k] for k in NEW_TRUTH_KEYS}
    other = generate_sample(800, seed=10)
    assert not other.tables[c.DEAL_CHANGES].equals(a.tables[c.DEAL_CHANGES])


def test_a_one_deal_sample_has_a_history():
    one = generate_sample(1, seed=3)
    changes = one.tables[c.DEAL_CHANGES]
    assert set(changes[c.FIELD]) == set(c.TRACKED_FIELDS)
    assert (changes[c.DEAL_ID] == one.tables[c.DEALS][c.DEAL_ID].iloc[0]).all()


# --- invariants --------------------------------------------------------------------------


def test_every_change_belongs_to_a_deal_and_falls_within_its_life(crm):
    changes, deals = crm.tables[c.DEAL_CHANGES], crm.tables[c.DEALS].set_index(c.DEAL_ID)
    assert changes[c.DEAL_ID].isin(deals.index).all()
    assert set(changes[c.FIELD]) == set(c.TRACKED_FIELDS)
    cutoff = pd.Timestamp(crm.truth["generator"]["cutoff"])
    created = deals.loc[changes[c.DEAL_ID], c.CREATED_AT].to_numpy()
    end = deals[c.CLOSED_AT].fillna(cutoff).loc[changes[c.DEAL_ID]].to_numpy()
    at = changes[c.CHANGED_AT]
    assert (at.to_numpy() >= created).all() and (at.to_numpy() <= end).all()
    assert (at < cutoff).all()
    owner = deals.loc[changes[c.DEAL_ID], c.OWNER_ID].to_numpy()
    assert (changes[c.CHANGED_BY].to_numpy() == owner).all()
    assert changes[c.NEW_VALUE].notna().all()


def test_rows_are_ordered_by_deal_and_time_and_each_field_moves_forward(crm):
    changes = crm.tables[c.DEAL_CHANGES]
    assert changes[c.DEAL_ID].is_monotonic_increasing
    same_deal = changes[c.DEAL_ID].eq(changes[c.DEAL_ID].shift())
    assert (changes[c.CHANGED_AT].diff()[same_deal] >= pd.Timedelta(0)).all()
    key = [c.DEAL_ID, c.FIELD]
    assert not changes.duplicated([*key, c.CHANGED_AT]).any()  # one value per field and second


def test_each_old_value_is_the_previous_new_value_and_the_first_is_empty(crm):
    changes = crm.tables[c.DEAL_CHANGES].sort_values([c.DEAL_ID, c.FIELD, c.CHANGED_AT])
    previous = changes.groupby([c.DEAL_ID, c.FIELD])[c.NEW_VALUE].shift()
    first = previous.isna()
    assert changes.loc[first, c.OLD_VALUE].isna().all()
    assert (changes.loc[~first, c.OLD_VALUE] == previous[~first]).all()
    # every deal gets a first value of every field at its creation
    deals = crm.tables[c.DEALS].set_index(c.DEAL_ID)
    firsts = changes[first]
    assert len(firsts) == len(deals) * len(c.TRACKED_FIELDS)
    assert (firsts[c.CHANGED_AT].to_numpy() == deals.loc[firsts[c.DEAL_ID], c.CREATED_AT]).all()
    # a change is a change, except a stage re-entry (one row per stage_events row)
    moved = changes[~first & (changes[c.FIELD] != c.STAGE)]
    assert (moved[c.OLD_VALUE] != moved[c.NEW_VALUE]).all()


def test_current_deal_values_are_the_last_change_of_each_field(crm):
    deals = crm.tables[c.DEALS].set_index(c.DEAL_ID)
    assert (last_values(crm, c.STAGE).loc[deals.index] == deals[c.STAGE]).all()
    assert (
        last_values(crm, c.FORECAST_CATEGORY).loc[deals.index] == deals[c.FORECAST_CATEGORY]
    ).all()
    # Amounts are edited in the deal's own currency: the last one is amount_original.
    amount = last_values(crm, c.AMOUNT).loc[deals.index]
    assert (amount == deals[c.AMOUNT_ORIGINAL].map(repr)).all()  # canonical text of the float
    probability = last_values(crm, c.PROBABILITY).loc[deals.index].astype(float)
    assert (probability == deals[c.PROBABILITY]).all()
    expected = last_values(crm, c.EXPECTED_CLOSE_AT).loc[deals.index].map(pd.Timestamp)
    is_open = deals[c.OUTCOME] == c.OPEN
    assert (expected[is_open] == deals.loc[is_open, c.EXPECTED_CLOSE_AT]).all()
    # a closed deal has no expected close; its last one is set to the close at closing
    assert deals.loc[~is_open, c.EXPECTED_CLOSE_AT].isna().all()
    assert (expected[~is_open] == deals.loc[~is_open, c.CLOSED_AT]).all()
    closing = by_field(crm, c.EXPECTED_CLOSE_AT).groupby(c.DEAL_ID)[c.CHANGED_AT].last()
    assert (closing[~is_open] == deals.loc[~is_open, c.CLOSED_AT]).all()


def test_closed_deals_end_certain_and_categorised(crm):
    deals = crm.tables[c.DEALS]
    won, lost = deals[c.OUTCOME] == c.WON, deals[c.OUTCOME] == c.LOST
    assert (deals.loc[won, c.PROBABILITY] == 1.0).all()
    assert (deals.loc[won, c.FORECAST_CATEGORY] == CLOSED_CATEGORY).all()
    assert (deals.loc[lost, c.PROBABILITY] == 0.0).all()
    assert (deals.loc[lost, c.FORECAST_CATEGORY] == OMITTED).all()
    open_ = deals.loc[deals[c.OUTCOME] == c.OPEN, c.PROBABILITY]
    assert open_.between(0.01, 0.95).all()


def test_stage_changes_are_the_stage_events(crm):
    events = crm.tables[c.STAGE_EVENTS].reset_index(drop=True)
    stages = by_field(crm, c.STAGE).reset_index(drop=True)
    assert (stages[c.DEAL_ID] == events[c.DEAL_ID]).all()
    assert (stages[c.CHANGED_AT] == events[c.ENTERED_AT]).all()
    assert (stages[c.NEW_VALUE] == events[c.STAGE]).all()
    previous = events.groupby(c.DEAL_ID)[c.STAGE].shift()
    assert stages[c.OLD_VALUE].equals(previous.rename(c.OLD_VALUE))
    assert set(stages[c.NEW_VALUE]) <= set(PIPELINE.all_stages)


def test_values_are_canonical_text(crm):
    changes = crm.tables[c.DEAL_CHANGES]
    for field in (c.AMOUNT, c.PROBABILITY):
        values = pd.concat([by_field(crm, field)[col] for col in (c.OLD_VALUE, c.NEW_VALUE)])
        values = values.dropna()
        assert (values.astype(float).map(repr) == values).all(), field
    shares = by_field(crm, c.PROBABILITY)[c.NEW_VALUE].astype(float)
    assert shares.between(0.0, 1.0).all()
    dates = by_field(crm, c.EXPECTED_CLOSE_AT)[[c.OLD_VALUE, c.NEW_VALUE]].stack().dropna()
    assert (dates.map(lambda v: pd.Timestamp(v).tz_convert("UTC").isoformat()) == dates).all()
    forecast = by_field(crm, c.FORECAST_CATEGORY)[c.NEW_VALUE]
    assert set(forecast) <= set(crm.truth["deal_changes"]["forecast_categories"])
    counts = changes[c.FIELD].value_counts().to_dict()
    assert counts == crm.truth["deal_changes"]["rows_by_field"]


def test_rewinding_the_history_gives_the_stage_of_the_day(crm):
    # Point-in-time rebuild 90 days before the cutoff: the stage from the history
    # equals the last stage entered by then according to stage_events.
    when = pd.Timestamp(crm.truth["generator"]["cutoff"]) - pd.Timedelta(days=90)
    events = crm.tables[c.STAGE_EVENTS]
    expected = events[events[c.ENTERED_AT] <= when].groupby(c.DEAL_ID)[c.STAGE].last()
    got = as_of(crm, c.STAGE, when)
    pd.testing.assert_series_equal(got, expected, check_names=False)
    deals = crm.tables[c.DEALS]
    assert set(got.index) == set(deals.loc[deals[c.CREATED_AT] <= when, c.DEAL_ID])
    amounts = as_of(crm, c.AMOUNT, when)
    assert amounts.index.equals(got.index)


# --- planted truth: amount changes ---------------------------------------------------------


def test_about_a_quarter_of_deals_change_amount_while_open(crm):
    changes = by_field(crm, c.AMOUNT).dropna(subset=[c.OLD_VALUE])  # not the first amount
    per_deal = changes.groupby(c.DEAL_ID).size()
    realised = crm.truth["amount_changes"]["realised"]
    assert (len(per_deal), len(changes)) == (realised["deals_changed"], realised["changes"])
    assert per_deal.max() <= 2
    share = len(per_deal) / len(crm.tables[c.DEALS])
    assert share == pytest.approx(realised["share_changed"])
    assert 0.18 < share <= crm.truth["amount_changes"]["share"] + 0.03
    factor = changes[c.NEW_VALUE].astype(float) / changes[c.OLD_VALUE].astype(float)
    assert factor.between(0.79, 1.21).all() and (np.abs(factor - 1) > 0.025).all()
