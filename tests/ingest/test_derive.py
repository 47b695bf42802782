"""Tests of analysis.ingest.derive: stage events implied by a current stage.

Expected events are hand-derived from the rule in docs/column-maps.md; the
manifest tests check that a derived table is recorded under ``"derived"`` and
never under ``"tables"`` (whose entries must reconcile).
"""

from __future__ import annotations

import pandas as pd
import pytest
from ingest_helpers import DEALS_HEADER, DEALS_ROWS, write_csv

from analysis.core import columns as c
from analysis.core import schema
from analysis.core.errors import InputError
from analysis.core.stages import load_stages
from analysis.ingest import ingest, read_manifest
from analysis.ingest.colmap import DeriveSpec
from analysis.ingest.derive import derive_stage_events

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


# --- through ingest: derived tables in the manifest ---------------------------------

DERIVE_MAP = """\
tables:
  deals:
    file: deals
    columns:
      deal_id: deal_id
      created_at: created_at
      outcome: outcome
      amount: amount
      segment: segment
      closed_at: closed_at
      stage: stage
    derive_stage_events:
      dates: {won: closed_at, lost: closed_at}
"""


@pytest.fixture
def derived_run(tmp_path):
    src = tmp_path / "src"
    rows = [*DEALS_ROWS, "D5,2024-01-09,open,-1,B2C,,proposal,R1"]  # quarantined: negative
    write_csv(src, "deals.csv", DEALS_HEADER, rows)
    (tmp_path / "map.yaml").write_text(DERIVE_MAP)
    result = ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    return tmp_path / "out", result


def test_derived_table_is_not_under_tables(derived_run):
    out, result = derived_run
    manifest = read_manifest(out)
    # The contract: rows_in == rows_clean + rows_quarantined for every entry of "tables".
    for table, info in manifest["tables"].items():
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table
    assert list(manifest["tables"]) == [c.DEALS]
    events = pd.read_parquet(out / "stage_events.parquet")
    # Hand count from DEALS_ROWS (last open stage used: proposal = position 4):
    # D1 won -> 5 open + won; D2 lost -> 5 open + lost; D3 proposal -> 5; D4 prospecting -> 1.
    assert len(events) == 6 + 6 + 5 + 1
    assert manifest["derived"][c.STAGE_EVENTS] == {
        "from": "deals.stage",
        "rows": len(events),
        "last_open_stage": "proposal",
        "note": manifest["derived"][c.STAGE_EVENTS]["note"],
    }
    assert "implied" in manifest["derived"][c.STAGE_EVENTS]["note"]


def test_derived_table_in_result_frame_and_summary(derived_run):
    _, result = derived_run
    frame = result.to_frame().set_index("table")
    deals = frame.loc[c.DEALS]
    assert (deals["rows_in"], deals["rows_clean"], deals["rows_quarantined"]) == (5, 4, 1)
    assert not deals["derived"] and pd.isna(deals["rows_derived"])
    events = frame.loc[c.STAGE_EVENTS]
    assert events["derived"] and events["rows_derived"] == 18
    assert pd.isna(events["rows_in"]) and pd.isna(events["rows_clean"])
    text = result.summary()
    assert "deals: 5 in, 4 clean, 1 quarantined" in text
    assert "stage_events: 18 rows derived from deals.stage" in text
