"""Tests for analysis.engine.journey: stays with the next stage, in the engine."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

import analysis
from analysis.core import columns as c
from analysis.engine import journey


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _workspace() -> analysis.Workspace:
    # Deal A skips qualification, moves back to it, then wins; deal B enters two
    # stages at the same instant and is still open (hand-built).
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "B"],
            c.CREATED_AT: [_t("2025-01-01")] * 2,
            c.OUTCOME: [c.WON, c.OPEN],
            c.AMOUNT: [1.0, 2.0],
            c.SEGMENT: [c.B2B, c.B2C],
            c.CLOSED_AT: [_t("2025-02-01"), pd.NaT],
        }
    )
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "A", "A", "A", "B", "B"],
            c.STAGE: ["prospecting", "discovery", "qualification", "won", "qualification",
                      "prospecting"],
            c.ENTERED_AT: [_t("2025-01-01"), _t("2025-01-05"), _t("2025-01-07"),
                           _t("2025-02-01"), _t("2025-01-03"), _t("2025-01-03")],
        }
    )  # fmt: skip
    return analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})


def test_stays_carry_next_stage_and_time_in_pipeline_order_on_ties():
    ws = _workspace()
    stays = ws.execute(journey.stage_stays(ws)).sort_values([c.DEAL_ID, journey.ENTRY_SEQ])
    a = stays[stays[c.DEAL_ID] == "A"]
    assert a[c.STAGE].tolist() == ["prospecting", "discovery", "qualification", "won"]
    assert a[journey.NEXT_STAGE].tolist()[:3] == ["discovery", "qualification", "won"]
    assert a[journey.LEFT_AT].iloc[1] == _t("2025-01-07")  # discovery left when qualification began
    assert a[journey.IS_LAST].tolist() == [False, False, False, True]
    b = stays[stays[c.DEAL_ID] == "B"]
    # Same instant: pipeline order decides (prospecting before qualification).
    assert b[c.STAGE].tolist() == ["prospecting", "qualification"]
    assert b[journey.STAGE_ORDER].tolist() == [0, 1]


def test_data_cutoff_is_the_latest_timestamp():
    assert journey.data_cutoff(_workspace()) == _t("2025-02-01")


def test_an_open_deal_s_expected_close_is_not_the_cut_off():
    # Issue 12: a Salesforce export carries CloseDate on open opportunities (the
    # expected close, months ahead); the cut-off came from it, so open deals
    # counted as running months longer than they had. Hand-built: deal B is open
    # with a close date in June; the latest real time stays 1 February.
    ws = _workspace()
    deals = ws.deals.mutate(
        **{
            c.CLOSED_AT: (ws.deals[c.OUTCOME] == c.OPEN).ifelse(
                ibis.literal(_t("2025-06-30")), ws.deals[c.CLOSED_AT]
            )
        }
    )
    assert journey.data_cutoff(ws.with_table(c.DEALS, deals)) == _t("2025-02-01")


def test_stays_with_only_some_window_columns_agree_with_all():
    # Property: asking for a subset computes the same values, and only those columns.
    ws = _workspace()
    keys = [c.DEAL_ID, c.STAGE, c.ENTERED_AT]
    full = ws.execute(journey.stage_stays(ws)).sort_values(keys).reset_index(drop=True)
    for subset in ([journey.LEFT_AT], [journey.NEXT_STAGE, journey.IS_LAST]):
        part = ws.execute(journey.stage_stays(ws, subset)).sort_values(keys)
        assert list(part.columns) == [*keys, journey.STAGE_ORDER, *subset]
        pd.testing.assert_frame_equal(part.reset_index(drop=True), full[list(part.columns)])


def test_unknown_stay_column_is_rejected():
    with pytest.raises(ValueError, match="Unknown stay column"):
        journey.stage_stays(_workspace(), ["days"])


def test_data_cutoff_reads_the_changes_too():
    # The latest change (3 February) is later than every deal and stage time (1 February).
    ws = _workspace()
    changes = pd.DataFrame(
        {
            c.DEAL_ID: ["B"],
            c.CHANGED_AT: [_t("2025-02-03")],
            c.FIELD: [c.AMOUNT],
        }
    )
    ws = ws.with_table(c.DEAL_CHANGES, ibis.memtable(changes))
    assert journey.data_cutoff(ws) == _t("2025-02-03")


def test_pivot_reads_moves_like_the_stays():
    # Hand reading of _workspace: A enters prospecting, discovery, qualification, won
    # (back from discovery to qualification; current = won's position); B enters
    # prospecting and qualification at one instant and sits in qualification.
    ws = _workspace()
    pivot = ws.execute(journey.deal_stage_pivot(ws, terminal_entries=True)).set_index(c.DEAL_ID)
    n_open = len(ws.pipeline.stages)
    assert pivot.loc["A", journey.CURRENT_POSITION] == n_open
    assert pivot.loc["B", journey.CURRENT_POSITION] == 1
    assert pivot.loc["A", journey.FURTHEST_POSITION] == 2
    assert [bool(pivot.loc["A", f"_back{i}"]) for i in range(3)] == [False, False, True]
    assert not pivot.loc["B", [f"_back{i}" for i in range(n_open)]].any()
    assert [int(pivot.loc["A", f"_n{i}"]) for i in range(3)] == [1, 1, 1]
    assert pivot.loc["A", journey.WON_AT] == _t("2025-02-01")
    assert pd.isna(pivot.loc["A", journey.LOST_AT])
