"""Tests for analysis.forecast.history: tracked fields rewound to a moment, in the engine."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.forecast import columns as c
from analysis.forecast.history import AS_OF, values_as_of


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _deals(**extra) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "B", "C"],
            c.CREATED_AT: [_t("2026-01-01")] * 3,
            c.OUTCOME: [c.OPEN, c.WON, c.OPEN],
            c.AMOUNT: [300.0, 80.0, 40.0],
            c.SEGMENT: [c.B2B] * 3,
            c.CLOSED_AT: [pd.NaT, _t("2026-03-01"), pd.NaT],
            c.EXPECTED_CLOSE_AT: [_t("2026-06-30"), pd.NaT, _t("2026-05-31")],
            c.STAGE: ["proposal", "won", "discovery"],
        }
    )
    return frame.assign(**extra)


def _changes(rows: list[tuple], old: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.OLD_VALUE, c.NEW_VALUE])
    frame[c.CHANGED_AT] = pd.to_datetime(frame[c.CHANGED_AT], utc=True)
    return frame if old else frame.drop(columns=c.OLD_VALUE)


# Deal A: amount 100 -> 200 (Feb 1) -> 300 (Mar 1); its expected close was first
# recorded on Apr 1 (old value May 31, new Jun 30). Deal B: stage discovery -> won on
# Mar 1 (its close). Deal C never changed.
CHANGES = [
    ("A", "2026-02-01", c.AMOUNT, "100.0", "200.0"),
    ("A", "2026-03-01", c.AMOUNT, "200.0", "300.0"),
    ("A", "2026-04-01", c.EXPECTED_CLOSE_AT, "2026-05-31T00:00:00+00:00",
     "2026-06-30T00:00:00+00:00"),
    ("B", "2026-03-01", c.STAGE, "discovery", "won"),
]  # fmt: skip


def _values(ws, deal_ids: list[str], at: str, fields=c.TRACKED_FIELDS) -> pd.DataFrame:
    moments = ibis.memtable(pd.DataFrame({c.DEAL_ID: deal_ids, AS_OF: [_t(at)] * len(deal_ids)}))
    out = ws.execute(values_as_of(ws, moments, fields))
    return out.set_index(c.DEAL_ID).sort_index()


def test_each_rule_by_hand():
    ws = analysis.connect({c.DEALS: _deals(), c.DEAL_CHANGES: _changes(CHANGES)})
    jan = _values(ws, ["A", "B", "C"], "2026-01-15")
    # Rule 2: before A's first amount change its old value (100); before the first
    # close-date change its old value (May 31); B's stage before its first change.
    assert jan.loc["A", c.AMOUNT] == 100.0
    assert jan.loc["A", c.EXPECTED_CLOSE_AT] == _t("2026-05-31")
    assert jan.loc["B", c.STAGE] == "discovery"
    assert pd.isna(jan.loc["B", c.STAGE_ENTERED_AT])  # entered before the history starts
    # Rule 3: fields that never changed are today's (C entirely; A's stage).
    assert jan.loc["C", c.AMOUNT] == 40.0 and jan.loc["A", c.STAGE] == "proposal"
    # Rule 1: a change made at the moment counts (Mar 1 is 300 and won).
    mar = _values(ws, ["A", "B"], "2026-03-01")
    assert mar.loc["A", c.AMOUNT] == 300.0
    assert mar.loc["B", c.STAGE] == "won" and mar.loc["B", c.STAGE_ENTERED_AT] == _t("2026-03-01")
    # One second earlier the Feb 1 change is the last.
    assert _values(ws, ["A"], "2026-02-28 23:59:59").loc["A", c.AMOUNT] == 200.0
    # Typed: amounts float, close dates UTC timestamps, absent columns null.
    assert mar[c.AMOUNT].dtype == np.float64
    assert str(jan[c.EXPECTED_CLOSE_AT].dtype).endswith("UTC]")
    assert jan[c.PROBABILITY].isna().all() and jan[c.FORECAST_CATEGORY].isna().all()


def test_a_deal_with_several_moments_gets_a_row_per_moment():
    ws = analysis.connect({c.DEALS: _deals(), c.DEAL_CHANGES: _changes(CHANGES)})
    moments = ibis.memtable(
        pd.DataFrame({c.DEAL_ID: ["A", "A", "A"], AS_OF: [_t("2026-01-15"), _t("2026-02-15"),
                                                          _t("2026-02-15")]})
    )  # fmt: skip
    out = ws.execute(values_as_of(ws, moments, [c.AMOUNT])).sort_values(AS_OF)
    assert out[c.AMOUNT].tolist() == [100.0, 200.0]  # duplicates collapse to one row


def test_without_old_values_the_time_before_the_first_change_is_unknown():
    # HubSpot keeps new values only: before A's first amount change nothing is known.
    ws = analysis.connect({c.DEALS: _deals(), c.DEAL_CHANGES: _changes(CHANGES, old=False)})
    jan = _values(ws, ["A"], "2026-01-15", [c.AMOUNT])
    assert pd.isna(jan.loc["A", c.AMOUNT])


def test_stage_from_stage_events_when_the_changes_have_no_stage_rows():
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "A", "A", "C", "C"],
            c.STAGE: ["prospecting", "discovery", "proposal", "prospecting", "discovery"],
            c.ENTERED_AT: [_t("2026-01-01"), _t("2026-02-10"), _t("2026-03-10"),
                           _t("2026-01-20"), _t("2026-01-20")],
        }
    )  # fmt: skip
    no_stage_rows = _changes([r for r in CHANGES if r[2] != c.STAGE])
    ws = analysis.connect(
        {c.DEALS: _deals(), c.DEAL_CHANGES: no_stage_rows, c.STAGE_EVENTS: events}
    )
    feb = _values(ws, ["A", "B", "C"], "2026-02-15", [c.STAGE])
    assert feb.loc["A", c.STAGE] == "discovery"  # last event by Feb 15
    assert feb.loc["A", c.STAGE_ENTERED_AT] == _t("2026-02-10")
    assert feb.loc["C", c.STAGE] == "discovery"  # same instant: the later stage of the pipeline
    # B has no stage history at all: today's stage is won, but B closed on Mar 1, so
    # on Feb 15 its stage is unknown rather than "won".
    assert pd.isna(feb.loc["B", c.STAGE])
    jan = _values(ws, ["C"], "2026-01-10", [c.STAGE])
    assert pd.isna(jan.loc["C", c.STAGE])  # every event of C is later


def test_without_a_change_table_every_field_is_todays():
    ws = analysis.connect({c.DEALS: _deals()})
    jan = _values(ws, ["A", "C"], "2026-01-15")
    assert jan[c.AMOUNT].tolist() == [300.0, 40.0]
    assert jan.loc["A", c.EXPECTED_CLOSE_AT] == _t("2026-06-30")


def test_simultaneous_changes_are_read_the_same_way_every_time():
    # Two amount changes of A at the same instant: ordered by their values, so the
    # later of the two is the larger text ("250.0" after "200.0").
    tied = [*CHANGES, ("A", "2026-02-01", c.AMOUNT, "100.0", "250.0")]
    ws = analysis.connect({c.DEALS: _deals(), c.DEAL_CHANGES: _changes(tied)})
    for _ in range(3):
        assert _values(ws, ["A"], "2026-02-15", [c.AMOUNT]).loc["A", c.AMOUNT] == 250.0


def test_an_unknown_field_is_refused():
    ws = analysis.connect({c.DEALS: _deals()})
    moments = ibis.memtable(pd.DataFrame({c.DEAL_ID: ["A"], AS_OF: [_t("2026-01-15")]}))
    with pytest.raises(ValueError, match="not a tracked field"):
        values_as_of(ws, moments, ["owner_id"])


@pytest.mark.parametrize("stage_history", ["changes", "events"])
def test_random_histories_match_the_timeline(crm, stage_history):
    # Truth: conftest.value_at replays each deal's timeline in plain Python (creation
    # values, then every edit at or before the moment); the tables it writes hold
    # the same history as a CRM export would (old/new text, current values).
    rng = np.random.default_rng(20260514)
    for _ in range(5):
        deals = crm.random_deals(rng, 12)
        ws = analysis.connect(crm.frames(deals, stage_history))
        moments = pd.DataFrame(
            [
                (d["id"], d["created"] + pd.Timedelta(days=int(k)))
                for d in deals
                for k in (0, 9, 40)
            ],
            columns=[c.DEAL_ID, AS_OF],
        )
        got = ws.execute(values_as_of(ws, ibis.memtable(moments)))
        by_id = {d["id"]: d for d in deals}
        for row in got.to_dict("records"):
            deal, at = by_id[row[c.DEAL_ID]], row[AS_OF]
            for field in c.TRACKED_FIELDS:
                expected, value = crm.value_at(deal, field, at), row[field]
                if expected is None:
                    assert pd.isna(value), (deal["id"], field, at)
                else:
                    assert value == expected, (deal["id"], field, at)


def test_amounts_edited_in_the_deals_own_currency_are_converted(crm):
    # Hand: a EUR deal booked at 100 EUR = 110 USD (amount / amount_original = 1.1) whose
    # amount was 80 EUR before 1 Feb: on 15 Jan it stood at 80 x 1.1 = 88 USD. A deal without
    # an original amount (one currency) keeps the recorded figure.
    deals = [
        {"id": "E", "created": _t("2026-01-01"), "initial": {c.AMOUNT: 80.0},
         "changes": [(_t("2026-02-01"), c.AMOUNT, 100.0)]},
        {"id": "U", "created": _t("2026-01-01"), "initial": {c.AMOUNT: 80.0},
         "changes": [(_t("2026-02-01"), c.AMOUNT, 100.0)]},
    ]  # fmt: skip
    frames = crm.frames(deals)
    table = frames[c.DEALS]
    table[c.AMOUNT] = [110.0, 100.0]
    table[c.AMOUNT_ORIGINAL] = [100.0, np.nan]
    table[c.CURRENCY] = ["EUR", None]
    ws = analysis.connect(frames)
    assert _values(ws, ["E", "U"], "2026-01-15", [c.AMOUNT])[c.AMOUNT].tolist() == pytest.approx(
        [88.0, 80.0]
    )
    assert _values(ws, ["E", "U"], "2026-03-01", [c.AMOUNT])[c.AMOUNT].tolist() == pytest.approx(
        [110.0, 100.0]
    )
