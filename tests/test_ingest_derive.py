"""Tests of analysis.ingest.derive: stage events implied by a current stage.

Expected events are hand-derived from the rule in docs/column-maps.md.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import columns as c
from analysis import schema
from analysis.errors import InputError
from analysis.ingest.colmap import DeriveSpec
from analysis.ingest.derive import derive_stage_events
from analysis.stages import load_stages

PIPELINE = load_stages().pipeline()


def _deals(stages, outcomes):
    n = len(stages)
    created = pd.Series(pd.to_datetime(["2024-01-01"] * n, utc=True)).astype(schema.TIMESTAMP)
    closed = pd.Series(pd.to_datetime(["2024-02-01"] * n, utc=True)).astype(schema.TIMESTAMP)
    return pd.DataFrame(
        {
            c.DEAL_ID: pd.Series([f"D{i}" for i in range(n)], dtype="str"),
            c.CREATED_AT: created,
            c.OUTCOME: pd.Series(outcomes, dtype="str"),
            c.CLOSED_AT: closed,
            c.STAGE: pd.Series(stages, dtype="str"),
        }
    )


def _by_deal(frame):
    return {d: g[c.STAGE].tolist() for d, g in frame.groupby(c.DEAL_ID, sort=True)}


def test_rule_up_to_last_used_open_stage():
    deals = _deals(
        ["prospecting", "discovery", "won", "lost", "qualification", None, None],
        ["open", "open", "won", "lost", "lost", "won", "open"],
    )
    result = derive_stage_events(deals, deals, DeriveSpec(), PIPELINE)
    got = _by_deal(result.frame)
    assert result.last_open_stage == "discovery"
    assert got == {
        "D0": ["prospecting"],
        "D1": ["prospecting", "qualification", "discovery"],
        "D2": ["prospecting", "qualification", "discovery", "won"],
        "D3": ["prospecting", "qualification", "discovery", "lost"],
        "D4": ["prospecting", "qualification", "lost"],  # closed at an open stage
        "D5": ["won"],  # no stage: only the terminal one
    }
    assert result.frame[c.DERIVED].all()
    assert result.frame[c.ENTERED_AT].isna().all()  # no dates given
    schema.table_schema(c.STAGE_EVENTS, PIPELINE.all_stages).validate(result.frame)
    assert "implied" in result.note


def test_dates_from_canonical_and_source_columns():
    deals = _deals(["qualification", "won"], ["open", "won"])
    raw = pd.DataFrame({"engaged": ["2024-01-10", "2024-01-11"]})
    spec = DeriveSpec(dates={"qualification": "engaged", "won": c.CLOSED_AT})
    frame = derive_stage_events(deals, raw, spec, PIPELINE).frame
    qual = frame[frame[c.STAGE] == "qualification"].set_index(c.DEAL_ID)[c.ENTERED_AT]
    assert qual["D0"] == pd.Timestamp("2024-01-10", tz="UTC")
    assert qual["D1"] == pd.Timestamp("2024-01-11", tz="UTC")
    won = frame[frame[c.STAGE] == "won"][c.ENTERED_AT]
    assert won.tolist() == [pd.Timestamp("2024-02-01", tz="UTC")]
    assert frame.loc[frame[c.STAGE] == "prospecting", c.ENTERED_AT].isna().all()


def test_unknown_date_column_or_stage():
    deals = _deals(["qualification"], ["open"])
    with pytest.raises(InputError) as info:
        derive_stage_events(deals, deals, DeriveSpec(dates={"qualification": "nope"}), PIPELINE)
    assert info.value.column == "nope"
    with pytest.raises(InputError, match="not a stage"):
        derive_stage_events(deals, deals, DeriveSpec(dates={"signing": c.CREATED_AT}), PIPELINE)


def test_no_deals():
    deals = _deals([], [])
    result = derive_stage_events(deals, deals, DeriveSpec(), PIPELINE)
    assert len(result.frame) == 0 and result.last_open_stage is None
