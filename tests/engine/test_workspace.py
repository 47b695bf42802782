"""Tests for analysis.engine.workspace: one workspace over folders, frames and backends."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

import analysis
from analysis.core import columns as c
from analysis.core.errors import InputError


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["D1", "D2", "D3"],
            c.CREATED_AT: pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"], utc=True),
            c.OUTCOME: [c.WON, c.LOST, c.OPEN],
            c.AMOUNT: [100.0, 50.0, 10.0],
            c.SEGMENT: [c.B2B, c.B2C, c.B2B],
        }
    )
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["D1", "D1", "D2"],
            c.STAGE: ["prospecting", "won", "lost"],
            c.ENTERED_AT: pd.to_datetime(["2025-01-01", "2025-01-20", "2025-02-10"], utc=True),
        }
    )
    return {c.DEALS: deals, c.STAGE_EVENTS: events}


def _won_amount(ws: analysis.Workspace) -> float:
    deals = ws.deals
    return float(ws.execute(deals.filter(deals[c.OUTCOME] == c.WON)[c.AMOUNT].sum()))


def test_same_expression_gives_same_answer_on_every_source(frames, tmp_path):
    # Expected 100.0: the one won deal's amount (hand count).
    for name, frame in frames.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    backend = ibis.duckdb.connect()
    for name, frame in frames.items():
        backend.create_table(name, frame)
    sources = [frames, tmp_path, str(tmp_path), backend]
    for source in sources:
        ws = analysis.connect(source)
        assert _won_amount(ws) == 100.0
        assert ws.has(c.STAGE_EVENTS) and not ws.has(c.ACTIVITIES)


def test_folder_workspace_reads_manifest(frames, tmp_path):
    frames[c.DEALS].to_parquet(tmp_path / "deals.parquet")
    (tmp_path / "manifest.json").write_text('{"tables": {}}')
    ws = analysis.connect(tmp_path)
    assert ws.manifest == {"tables": {}}
    assert "processed folder" in ws.source


def test_missing_table_attribute_names_what_exists(frames):
    ws = analysis.connect({c.DEALS: frames[c.DEALS]})
    with pytest.raises(AttributeError, match="has no 'activities' table; it has: deals"):
        _ = ws.activities


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="ingest"):
        analysis.connect(tmp_path / "nowhere")


def test_folder_without_deals_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"deals\.parquet"):
        analysis.connect(tmp_path)


def test_unknown_frame_name_and_source_type_are_rejected(frames):
    with pytest.raises(ValueError, match="Unknown table name 'dealz'"):
        analysis.connect({"dealz": frames[c.DEALS]})
    with pytest.raises(TypeError, match="connect"):
        analysis.connect(42)


def test_pipeline_comes_from_stage_config(frames):
    ws = analysis.connect(frames)
    assert ws.pipeline.stages[0] == "prospecting"
    assert ws.pipeline.won == c.WON


def test_with_table_swaps_one_table_on_the_same_backend(frames):
    ws = analysis.connect(frames)
    deals = ws.deals.filter(ws.deals[c.OUTCOME] == c.WON)
    narrowed = ws.with_table(c.DEALS, deals)
    assert ws.execute(narrowed.deals.count()) == 1 and ws.execute(ws.deals.count()) == 3
    assert narrowed.backend is ws.backend and narrowed.has(c.STAGE_EVENTS)
    with pytest.raises(ValueError, match="Unknown table"):
        ws.with_table("dealz", deals)


def test_deals_where_restricts_deals_only(frames):
    ws = analysis.connect(frames)
    b2c = ws.deals_where(c.SEGMENT, [c.B2C])
    assert ws.execute(b2c.deals.count()) == 1
    assert ws.deals_where(c.SEGMENT, None) is ws
    with pytest.raises(ValueError, match="no column 'tier'"):
        ws.deals_where("tier", ["gold"])


def test_deals_where_takes_a_single_value_as_one_value(processed_folder):
    # `-p segments=B2B` arrives as the string "B2B", not a list of letters.
    ws = analysis.connect(processed_folder)
    one = ws.deals_where(c.SEGMENT, "B2B")
    listed = ws.deals_where(c.SEGMENT, ["B2B"])
    n_one = one.execute(one.deals.count())
    assert n_one == listed.execute(listed.deals.count()) > 0


def test_several_pipelines_are_analysed_one_at_a_time(frames):
    from types import MappingProxyType

    from analysis.core.stages import Pipeline, StageConfig

    deals = frames[c.DEALS].assign(**{c.PIPELINE: ["new_business", "renewals", None]})
    pipelines = {
        name: Pipeline(name, ("prospecting", "proposal"), "won", "lost")
        for name in ("new_business", "renewals")
    }
    config = StageConfig(MappingProxyType(pipelines), default="new_business")
    tables = {**frames, c.DEALS: deals}
    ws = analysis.connect(tables, stages=config)
    # Default pipeline: D1 and the deal without a pipeline (D3); D1's events only.
    assert sorted(ws.execute(ws.deals)[c.DEAL_ID]) == ["D1", "D3"]
    assert set(ws.execute(ws.stage_events)[c.DEAL_ID]) == {"D1"}
    assert ws.other_pipelines == ("renewals",)
    renewals = analysis.connect(tables, stages=config, pipeline="renewals")
    assert ws.execute(renewals.deals)[c.DEAL_ID].tolist() == ["D2"]
    assert set(ws.execute(renewals.stage_events)[c.DEAL_ID]) == {"D2"}
    assert renewals.pipeline.name == "renewals"
    with pytest.raises(InputError, match="no pipeline 'upsell'"):
        analysis.connect(tables, stages=config, pipeline="upsell")


def test_an_entry_flagged_before_created_has_no_time_and_no_duration(frames):
    # D1's prospecting entry is flagged (as ingest does when it is over a day before
    # creation): it still counts for reach, but its time is unknown, so no stay in
    # prospecting can be measured from it (hand count: D1 is the only prospecting stay).
    from analysis.pipeline import time_in_stage

    events = frames[c.STAGE_EVENTS].copy()
    events[c.BEFORE_CREATED] = pd.array([True, False, False], dtype="boolean")
    ws = analysis.connect({**frames, c.STAGE_EVENTS: events})
    got = ws.execute(ws.stage_events.order_by(c.ENTERED_AT))
    assert got[c.STAGE].tolist() == ["won", "lost", "prospecting"]  # nulls last
    assert got[c.ENTERED_AT].isna().tolist() == [False, False, True]
    prospecting = time_in_stage(ws).to_frame().set_index(c.STAGE).loc["prospecting"]
    assert prospecting["n_stays"] == 0
