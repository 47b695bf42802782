"""``deal_changes`` from Pipedrive's deal updates flow (``vendors.pipedrive_flow``), end to end.

A hand-made API export (deals, stages and the deals' flow with the field
names of Pipedrive's API reference), as CSV and as the flow's JSON response.
Every expected value is worked out by hand from the rows written below (row
numbers are the flow's data rows, from 1).
"""

from __future__ import annotations

import json

import pandas as pd

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.ingest.vendors.adapted import ExportFiles

DEALS = (
    "id,title,value,currency,status,stage_id,pipeline_id,user_id,add_time,update_time,"
    "won_time,lost_time,expected_close_date\n"
    "1,A,1500,EUR,open,3,1,7,2024-01-02 10:00:00,2024-02-25 09:00:00,,,2024-03-31\n"
    "2,B,800,EUR,won,2,1,8,2024-01-05 10:00:00,2024-02-10 09:00:00,2024-02-10 09:00:00,,\n"
    "3,C,50,EUR,deleted,1,1,7,2024-01-06 10:00:00,2024-01-06 11:00:00,,,\n"
)
STAGES = (
    "id,name,pipeline_id,order_nr,active_flag\n"
    "1,Lead In,1,1,true\n2,Contact Made,1,2,true\n3,Proposal Made,1,3,true\n"
)
FLOW = (
    "id,item_id,user_id,field_key,old_value,new_value,log_time\n"
    "1,1,7,stage_id,1,2,2024-01-10 09:00:00\n"  # 1: Lead In -> Contact Made
    "2,1,7,value,1200,1500,2024-01-12 09:00:00\n"  # 2
    "3,1,7,expected_close_date,2024-02-29,2024-03-31,2024-01-15 09:00:00\n"  # 3: dates
    "4,1,7,stage_id,2,99,2024-01-20 09:00:00\n"  # 4: a stage id the stages file lacks
    "5,1,7,stage_id,99,3,2024-01-22 09:00:00\n"  # 5
    "6,1,7,probability,20,60,2024-01-22 09:00:00\n"  # 6: percent
    "7,1,7,title,A,A2,2024-01-23 09:00:00\n"  # 7: not a tracked field
    "8,2,8,stage_id,1,2,2024-01-20 09:00:00\n"  # 8
    "9,2,8,status,open,won,2024-02-10 09:00:00\n"  # 9: won, from Contact Made
    "10,3,7,value,40,50,2024-01-06 11:00:00\n"  # 10: a deleted deal
    "11,9,7,value,10,20,2024-01-07 11:00:00\n"  # 11: a deal not in the deals file
    "12,1,7,value,1500,1500.00,2024-01-25 09:00:00\n"  # 12: saved again, no change
)
ZONE = "America/New_York"  # UTC-5 until 10 March 2024, UTC-4 after


def _export(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text(DEALS)
    (export / "stages.csv").write_text(STAGES)
    return export


def _rows(folder) -> list[tuple]:
    changes = pd.read_parquet(folder / "deal_changes.parquet")
    cols = [c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.OLD_VALUE, c.NEW_VALUE, c.CHANGED_BY]
    seen = changes[cols].astype("object").where(changes[cols].notna(), None)
    seen[c.CHANGED_AT] = changes[c.CHANGED_AT].dt.strftime("%m-%d")
    return sorted(map(tuple, seen.values.tolist()), key=lambda t: (t[0], t[1], t[2]))


def test_the_flow_s_changes_and_every_row_accounted_for(tmp_path, monkeypatch):
    export = _export(tmp_path)
    (export / "deal_flow.csv").write_text(FLOW)
    reads: list[str] = []
    read_path = ExportFiles.read_path
    monkeypatch.setattr(
        ExportFiles, "read_path", lambda self, o, p: reads.append(o) or read_path(self, o, p)
    )
    result = ingest(export, tmp_path / "out", timezone=ZONE)
    assert reads.count("deal_flow") == 1  # one read for stage events and changes
    table = result.manifest["tables"][c.DEAL_CHANGES]
    # 12 rows: 7 and 12 change nothing tracked, 10 is a deleted deal's, 11 has no deal.
    assert table["rows_in"] == 12
    assert table["quarantine_reasons"] == {
        r.OUT_OF_SCOPE: 2,
        r.DELETED_IN_SOURCE: 1,
        r.ORPHAN_EVENT: 1,
    }
    # By hand: stage ids read as the stages file's labels, then canonical names (Lead In ->
    # lead_in); id 99 stays as written; probabilities in percent read as shares; the
    # expected close date is the end of that day in New York (29 Feb at UTC-5: 1 March
    # 04:59:59.999999 UTC; 31 March at UTC-4: 1 April 03:59:59.999999 UTC); the status
    # change to won is a change of stage from the one row 8 left deal 2 in.
    assert _rows(tmp_path / "out") == [
        ("1", "01-10", c.STAGE, "lead_in", "contact_made", "7"),
        ("1", "01-12", c.AMOUNT, "1200.0", "1500.0", "7"),
        (
            "1",
            "01-15",
            c.EXPECTED_CLOSE_AT,
            "2024-03-01T04:59:59.999999+00:00",
            "2024-04-01T03:59:59.999999+00:00",
            "7",
        ),
        ("1", "01-20", c.STAGE, "contact_made", "99", "7"),
        ("1", "01-22", c.PROBABILITY, "0.2", "0.6", "7"),
        ("1", "01-22", c.STAGE, "99", "proposal_made", "7"),
        ("2", "01-20", c.STAGE, "lead_in", "contact_made", "8"),
        ("2", "02-10", c.STAGE, "contact_made", "won", "8"),
    ]


def test_the_flow_s_json_response_reads_the_same(tmp_path):
    export = _export(tmp_path)
    flow = pd.read_csv(pd.io.common.StringIO(FLOW), dtype=str)
    items = [
        {"object": "dealChange", "timestamp": row["log_time"], "data": row}
        for row in flow.to_dict("records")
    ]
    activity = {"object": "activity", "timestamp": "2024-01-11 09:00:00", "data": {"id": 5}}
    # One response per deal, as GET /deals/{id}/flow gives them; deal 1's holds an activity.
    responses = [
        {"success": True, "data": [i for i in items if i["data"]["item_id"] == d]}
        for d in ("1", "2", "3", "9")
    ]
    responses[0]["data"].append(activity)
    (export / "deal_flow.json").write_text(json.dumps(responses))
    result = ingest(export, tmp_path / "out", timezone=ZONE)
    table = result.manifest["tables"][c.DEAL_CHANGES]
    # The 12 changes and the activity item, which changes no field (out of scope).
    assert table["rows_in"] == 13
    assert table["quarantine_reasons"][r.OUT_OF_SCOPE] == 3
    events = result.manifest["tables"][c.STAGE_EVENTS]
    assert events["rows_in"] == events["rows_clean"] + events["rows_quarantined"]
    assert "deal_flow.json" in [i["file"] for i in result.manifest["inputs"]]
    # The same eight changes as from the CSV (first test), the item order aside.
    assert len(_rows(tmp_path / "out")) == 8
    assert ("2", "02-10", c.STAGE, "contact_made", "won", "8") in _rows(tmp_path / "out")
