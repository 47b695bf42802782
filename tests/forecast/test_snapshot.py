"""Tests for analysis.forecast.snapshot: the open pipeline as it stood on a date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.core.errors import MissingInput
from analysis.engine.journey import data_cutoff
from analysis.forecast import columns as c
from analysis.forecast.snapshot import SNAPSHOT_COLUMNS, pipeline_as_of
from analysis.sample import generate_sample


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


D = _t("2026-03-15")

# Hand-built, read on D = Mar 15:
#   A created Jan 1, open; amount 100 -> 150 on Mar 15 (at D: counts), -> 180 on Apr 2
#     (after D: not); stage discovery -> proposal on Feb 20; close pushed on Mar 20.
#   B created on D itself: open at D (created at or before D).
#   C closed (won) on D: not open at D (closed at or before D).
#   E created Mar 16: not yet created.
#   F closed Feb 1: gone.
#   G created Jan 10, lost Apr 1: open at D, as it stood (negotiation, 500).
HISTORY = [
    {"id": "A", "created": _t("2026-01-01"),
     "initial": {c.AMOUNT: 100.0, c.EXPECTED_CLOSE_AT: _t("2026-03-31"), c.STAGE: "discovery",
                 c.PROBABILITY: 0.2, c.FORECAST_CATEGORY: "Pipeline"},
     "changes": [(_t("2026-02-20"), c.STAGE, "proposal"), (D, c.AMOUNT, 150.0),
                 (_t("2026-03-20"), c.EXPECTED_CLOSE_AT, _t("2026-06-30")),
                 (_t("2026-04-02"), c.AMOUNT, 180.0)]},
    {"id": "B", "created": D, "segment": c.B2C, "owner": "r2",
     "initial": {c.AMOUNT: 40.0, c.EXPECTED_CLOSE_AT: _t("2026-04-30"), c.STAGE: "prospecting"}},
    {"id": "C", "created": _t("2026-01-05"), "closed": D, "outcome": c.WON,
     "initial": {c.AMOUNT: 70.0, c.STAGE: "proposal"}},
    {"id": "E", "created": _t("2026-03-16"), "initial": {c.AMOUNT: 10.0, c.STAGE: "prospecting"}},
    {"id": "F", "created": _t("2026-01-02"), "closed": _t("2026-02-01"), "outcome": c.LOST,
     "initial": {c.AMOUNT: 20.0, c.STAGE: "discovery"}},
    {"id": "G", "created": _t("2026-01-10"), "closed": _t("2026-04-01"), "outcome": c.LOST,
     "initial": {c.AMOUNT: 500.0, c.STAGE: "negotiation"},
     "changes": [(_t("2026-03-30"), c.AMOUNT, 0.0)]},
]  # fmt: skip


def test_snapshot_by_hand(crm):
    ws = analysis.connect(crm.frames(HISTORY))
    snap = pipeline_as_of(ws, "2026-03-15")
    table = snap.to_frame().set_index(c.DEAL_ID)
    assert snap.as_of == D and snap.notes == ()
    assert list(table.index) == ["A", "B", "G"]
    a = table.loc["A"]
    assert (a[c.STAGE], a[c.AMOUNT], a[c.EXPECTED_CLOSE_AT]) == (
        "proposal",
        150.0,
        _t("2026-03-31"),
    )
    assert (a[c.PROBABILITY], a[c.FORECAST_CATEGORY]) == (0.2, "Pipeline")
    # Ages by hand: Jan 1 -> Mar 15 is 31 + 28 + 14 = 73 days; in proposal since Feb 20: 23.
    assert a[c.AGE_DAYS] == 73.0 and a[c.DAYS_IN_STAGE] == 23.0
    assert a[c.STAGE_ENTERED_AT] == _t("2026-02-20")
    b = table.loc["B"]
    assert (b[c.SEGMENT], b[c.OWNER_ID], b[c.AGE_DAYS], b[c.DAYS_IN_STAGE]) == (c.B2C, "r2", 0, 0)
    g = table.loc["G"]
    assert (g[c.STAGE], g[c.AMOUNT]) == ("negotiation", 500.0)  # before its Mar 30 cut and loss
    assert list(snap.to_frame().columns) == [
        col for col in SNAPSHOT_COLUMNS if col != c.PIPELINE
    ]  # deals without a pipeline column: none in the snapshot


def test_to_frame_is_a_copy(crm):
    snap = pipeline_as_of(analysis.connect(crm.frames(HISTORY)), D)
    frame = snap.to_frame()
    frame.loc[0, c.AMOUNT] = -1.0
    assert snap.to_frame().loc[0, c.AMOUNT] == 150.0


def test_without_change_history_the_snapshot_says_its_amounts_are_todays(crm):
    frames = crm.frames(HISTORY)
    ws = analysis.connect({c.DEALS: frames[c.DEALS]})
    snap = pipeline_as_of(ws, D)
    assert snap.notes == (
        "No change history: amounts and close dates are today's, not as they stood on "
        "2026-03-15 00:00 UTC.",
    )
    table = snap.to_frame().set_index(c.DEAL_ID)
    assert table.loc["A", c.AMOUNT] == 180.0  # today's amount, as the note says
    assert pd.isna(table.loc["G", c.STAGE])  # G is lost today; at D its stage is unknown


def test_closed_deals_without_a_close_date_count_as_open_and_are_named():
    # Deal B is won but the export has no closed_at: it cannot be placed in time.
    deals = pd.DataFrame({
        c.DEAL_ID: ["A", "B"], c.CREATED_AT: [_t("2026-01-01"), _t("2026-02-01")],
        c.OUTCOME: [c.OPEN, c.WON], c.AMOUNT: [1.0, 2.0], c.SEGMENT: [c.B2B, c.B2C],
    })  # fmt: skip
    snap = pipeline_as_of(analysis.connect({c.DEALS: deals}), "2026-03-01")
    assert snap.to_frame()[c.DEAL_ID].tolist() == ["A", "B"]
    assert snap.notes[1] == (
        "Won or lost without a close date: 1 deal, counted as open on 2026-03-01."
    )


def test_a_deal_without_created_at_cannot_be_placed():
    deals = pd.DataFrame({c.DEAL_ID: ["A"], c.OUTCOME: [c.OPEN], c.AMOUNT: [1.0],
                          c.SEGMENT: [c.B2B]})  # fmt: skip
    with pytest.raises(MissingInput, match="created_at"):
        pipeline_as_of(analysis.connect({c.DEALS: deals}), D)


def _rewritten_after(deals: list[dict], date: pd.Timestamp, rng, crm) -> list[dict]:
    """The same history up to ``date``; everything after it drawn again.

    Kept: creation values, edits at or before ``date``, closes at or before it.
    Redrawn: every later edit (values and times), whether and when a deal still
    open at ``date`` closes and how, deals created after ``date``; one more deal
    is created after it. The tables stay consistent (conftest.build_frames
    derives old values and today's values from the timeline), so today's values
    change with the later edits.
    """
    out = []
    for deal in deals:
        if deal["created"] > date:
            created = date + pd.Timedelta(minutes=int(rng.integers(1, 30 * 24 * 60)))
            out.append(crm.random_deal(rng, deal["id"], created, created + pd.Timedelta(days=60)))
            continue
        kept = [change for change in deal["changes"] if change[0] <= date]
        minutes = np.sort(rng.choice(np.arange(1, 60 * 24 * 60), size=6, replace=False))
        later = [date + pd.Timedelta(minutes=int(m)) for m in minutes]
        fields = rng.choice(c.TRACKED_FIELDS, size=5)
        edits = [(when, str(f), crm.random_value(rng, str(f), deal["created"]))
                 for when, f in zip(later[:5], fields, strict=True)]  # fmt: skip
        if deal["closed"] is not None and deal["closed"] <= date:
            out.append({**deal, "changes": kept + edits})  # edits after the close
            continue
        closes = rng.random() < 0.5
        out.append({
            **deal, "changes": kept + edits, "closed": later[5] if closes else None,
            "outcome": str(rng.choice([c.WON, c.LOST])) if closes else c.OPEN,
        })  # fmt: skip
    created = date + pd.Timedelta(hours=5)
    out.append(crm.random_deal(rng, "new", created, created + pd.Timedelta(days=30)))
    return out


@pytest.mark.parametrize("stage_history", ["changes", "events"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nothing_after_the_date_changes_the_snapshot(crm, stage_history, seed):
    # NO LEAKAGE. Truth: a snapshot on D may depend only on what was recorded at or
    # before D. Build a history, take the snapshot, redraw everything after D
    # (edits, closes, new deals, today's values), take it again: identical.
    rng = np.random.default_rng(seed)
    date = _t("2026-03-01 12:00")
    deals = crm.random_deals(rng, 40, days=90)
    before_frames = crm.frames(deals, stage_history)
    before = pipeline_as_of(analysis.connect(before_frames), date).to_frame()
    after_frames = crm.frames(_rewritten_after(deals, date, rng, crm), stage_history)
    after = pipeline_as_of(analysis.connect(after_frames), date).to_frame()
    # The redraw did change today's values and the later history...
    today_before = before_frames[c.DEALS].set_index(c.DEAL_ID)
    today_after = after_frames[c.DEALS].set_index(c.DEAL_ID).loc[today_before.index]
    assert not today_before[c.AMOUNT].equals(today_after[c.AMOUNT])
    assert not today_before[c.CLOSED_AT].equals(today_after[c.CLOSED_AT])
    # ...and the snapshot (a real one, with amounts, stages and close dates) did not move.
    assert len(before) >= 10 and before[c.AMOUNT].notna().sum() >= 5
    assert before[c.STAGE].notna().sum() >= 5
    pd.testing.assert_frame_equal(before, after)


def test_on_the_sample_the_pipeline_at_the_cut_off_is_todays_open_pipeline():
    # Planted truth (seeded sample generator): its change history ends in the deals'
    # current values, so the pipeline rebuilt at the data's last moment is exactly
    # the deals open today, with today's stage, amount, close date and forecast.
    crm = generate_sample(600, seed=7)
    if c.DEAL_CHANGES not in crm.tables:
        pytest.skip("the sample generator writes no deal_changes yet")
    ws = analysis.connect(dict(crm.tables))
    last_change = crm.tables[c.DEAL_CHANGES][c.CHANGED_AT].max()
    snap = pipeline_as_of(ws, max(data_cutoff(ws), last_change)).to_frame()
    deals = crm.tables[c.DEALS]
    today = deals[deals[c.OUTCOME] == c.OPEN].set_index(c.DEAL_ID).sort_index()
    snap = snap.set_index(c.DEAL_ID)
    assert list(snap.index) == list(today.index) and len(snap) > 0
    for col in (c.STAGE, c.AMOUNT, c.EXPECTED_CLOSE_AT, c.PROBABILITY, c.FORECAST_CATEGORY):
        pd.testing.assert_series_equal(snap[col], today[col], check_names=False)
