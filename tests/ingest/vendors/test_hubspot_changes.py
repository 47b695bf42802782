"""``deal_changes`` from HubSpot property history (``vendors.hubspot_changes``), end to end.

A hand-made API export: a deals file with the API's internal names, the
CRM Pipelines API response and a deals response read with
``propertiesWithHistory`` (versions newest first, as the API lists them), or
the same history flattened to CSV. Every expected value is worked out by hand
from the data written below.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r

DEALS = (
    "hs_object_id,dealname,dealstage,pipeline,amount,closedate,createdate,hs_is_closed,"
    "hs_is_closed_won,archived,hs_lastmodifieddate\n"
    "101,A,presentationscheduled,default,1500,2024-03-31T00:00:00Z,2024-01-02T10:00:00Z,"
    "false,false,false,2024-02-25T09:00:00Z\n"
    "102,B,closedwon,default,800,2024-02-10T00:00:00Z,2024-01-05T10:00:00Z,"
    "true,true,false,2024-02-10T09:00:00Z\n"
    "103,C,appointmentscheduled,default,50,2024-05-01T00:00:00Z,2024-01-06T10:00:00Z,"
    "false,false,true,2024-01-06T10:00:00Z\n"
)
STAGES = [  # id, label, isClosed, probability
    ("appointmentscheduled", "Appointment scheduled", "false", "0.2"),
    ("qualifiedtobuy", "Qualified to buy", "false", "0.4"),
    ("presentationscheduled", "Presentation scheduled", "false", "0.6"),
    ("closedwon", "Closed won", "true", "1.0"),
    ("closedlost", "Closed lost", "true", "0.0"),
]
PIPELINES = {
    "results": [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "stages": [
                {
                    "id": i,
                    "label": lab,
                    "displayOrder": k,
                    "metadata": {"isClosed": cl, "probability": p},
                }
                for k, (i, lab, cl, p) in enumerate(STAGES)
            ],
        }
    ]
}


def _v(value, timestamp, user=7):
    return {"value": value, "timestamp": timestamp, "sourceType": "CRM_UI", "updatedByUserId": user}


HISTORY = {
    "results": [
        {
            "id": "101",
            "archived": False,
            "propertiesWithHistory": {
                "amount": [  # newest first
                    _v("1500", "2024-02-25T09:00:00.000Z", 8),
                    _v("1200.00", "2024-01-10T09:00:00.000Z"),  # the same number again
                    _v("1200", "2024-01-02T10:00:00.000Z"),
                ],
                "closedate": [
                    _v("2024-03-31", "2024-02-25T09:00:00.000Z", 8),  # date only
                    _v("2024-02-29T00:00:00.000Z", "2024-01-02T10:00:00.000Z"),
                ],
                "dealstage": [
                    _v("presentationscheduled", "2024-01-20T09:00:00.000Z"),
                    _v("99999999", "2024-01-15T09:00:00.000Z"),  # a stage id no pipeline has
                    _v("appointmentscheduled", "2024-01-02T10:00:00.000Z"),
                ],
                "hs_deal_stage_probability": [
                    _v("0.6", "2024-01-20T09:00:00.000Z"),
                    _v("0.2", "2024-01-02T10:00:00.000Z"),
                ],
                "hs_forecast_probability": [_v("0.5", "2024-01-21T09:00:00.000Z")],
                "hs_manual_forecast_category": [
                    _v("BEST_CASE", "2024-01-20T09:00:00.000Z"),
                    _v("PIPELINE", "1704189600000"),  # epoch ms: 2024-01-02T10:00:00Z
                ],
                "dealname": [_v("A", "2024-01-02T10:00:00.000Z")],
            },
        },
        {
            "id": "102",
            "propertiesWithHistory": {
                "dealstage": [
                    _v("closedwon", "2024-02-10T09:00:00.000Z", 9),
                    _v("appointmentscheduled", "2024-01-05T10:00:00.000Z", 9),
                ]
            },
        },
        {"id": "103", "propertiesWithHistory": {"amount": [_v("50", "2024-01-06T10:00:00Z")]}},
        {"id": "104", "propertiesWithHistory": {"amount": [_v("70", "2024-01-07T10:00:00Z")]}},
    ]
}
ZONE = "Europe/Berlin"  # summer time from 31 March 2024 02:00: UTC+2 at the end of that day


def _export(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text(DEALS)
    (export / "pipelines.json").write_text(json.dumps(PIPELINES))
    return export


@pytest.fixture
def from_json(tmp_path):
    export = _export(tmp_path)
    (export / "deals_with_history.json").write_text(json.dumps(HISTORY))
    result = ingest(export, tmp_path / "out", timezone=ZONE)
    return result, pd.read_parquet(tmp_path / "out" / "deal_changes.parquet")


def test_every_version_is_accounted_for(from_json):
    result, _ = from_json
    assert result.manifest["vendor"] == "hubspot"
    table = result.manifest["tables"][c.DEAL_CHANGES]
    # Flattened versions: 101 has 3 + 2 + 3 + 2 + 1 + 2 + 1 = 14, 102 two, 103 and 104 one.
    assert table["rows_in"] == 18
    # Out of scope: the repeated 1200.00, hs_forecast_probability (101 has the stage
    # probability, which comes first) and dealname; 103 is archived; 104 is in no deals row.
    assert table["quarantine_reasons"] == {
        r.OUT_OF_SCOPE: 3,
        r.DELETED_IN_SOURCE: 1,
        r.ORPHAN_EVENT: 1,
    }
    assert table["rows_clean"] == 13  # 101: 2 + 2 + 3 + 2 + 2; 102: 2
    assert "deals_with_history.json" in [i["file"] for i in result.manifest["inputs"]]


def test_versions_become_changes_ordered_by_time(from_json):
    _, changes = from_json
    cols = [c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.OLD_VALUE, c.NEW_VALUE, c.CHANGED_BY]
    seen = changes[cols].astype("object").where(changes[cols].notna(), None)
    seen[c.CHANGED_AT] = changes[c.CHANGED_AT].dt.strftime("%m-%d")
    got = sorted(map(tuple, seen.values.tolist()), key=lambda t: (t[0], t[1], t[2]))
    # By hand: versions sorted by timestamp, old value the version before. Stage ids are
    # aliases of the pipeline's labels (Appointment scheduled -> appointment_scheduled;
    # closedwon is closed with probability 1: won); the unknown id stays as written. The
    # date-only close date is the end of 31 March in Berlin (UTC+2): 21:59:59.999999 UTC.
    assert got == [
        ("101", "01-02", c.AMOUNT, None, "1200.0", "7"),
        ("101", "01-02", c.EXPECTED_CLOSE_AT, None, "2024-02-29T00:00:00+00:00", "7"),
        ("101", "01-02", c.FORECAST_CATEGORY, None, "PIPELINE", "7"),
        ("101", "01-02", c.PROBABILITY, None, "0.2", "7"),
        ("101", "01-02", c.STAGE, None, "appointment_scheduled", "7"),
        ("101", "01-15", c.STAGE, "appointment_scheduled", "99999999", "7"),
        ("101", "01-20", c.FORECAST_CATEGORY, "PIPELINE", "BEST_CASE", "7"),
        ("101", "01-20", c.PROBABILITY, "0.2", "0.6", "7"),
        ("101", "01-20", c.STAGE, "99999999", "presentation_scheduled", "7"),
        # The amount before is the repeated version's 1200.00, the same number.
        ("101", "02-25", c.AMOUNT, "1200.0", "1500.0", "8"),
        (
            "101",
            "02-25",
            c.EXPECTED_CLOSE_AT,
            "2024-02-29T00:00:00+00:00",
            "2024-03-31T21:59:59.999999+00:00",
            "8",
        ),
        ("102", "01-05", c.STAGE, None, "appointment_scheduled", "9"),
        ("102", "02-10", c.STAGE, "appointment_scheduled", "won", "9"),
    ]


def test_a_flattened_history_reads_the_same_and_falls_back_to_the_second_property(tmp_path):
    export = _export(tmp_path)
    (export / "deal_property_history.csv").write_text(
        "hs_object_id,property,value,timestamp,sourceType,updatedByUserId\n"
        "101,hs_forecast_probability,0.3,2024-01-02T10:00:00Z,CRM_UI,7\n"
        "101,hs_forecast_probability,0.3,2024-01-08T10:00:00Z,WORKFLOW,\n"
        "101,hs_forecast_probability,0.55,2024-01-20T09:00:00Z,CRM_UI,8\n"
        "101,hs_manual_forecast_category,COMMIT,2024-01-20T09:00:00Z,CRM_UI,8\n"
    )
    result = ingest(export, tmp_path / "out", timezone=ZONE)
    table = result.manifest["tables"][c.DEAL_CHANGES]
    # Row 2 repeats 0.3: out of scope; the other three are changes.
    assert (table["rows_in"], table["quarantine_reasons"]) == (4, {r.OUT_OF_SCOPE: 1})
    changes = pd.read_parquet(tmp_path / "out" / "deal_changes.parquet")
    got = changes[[c.FIELD, c.OLD_VALUE, c.NEW_VALUE, c.CHANGED_BY]].astype("object")
    # Without hs_deal_stage_probability, hs_forecast_probability is the probability.
    rows = map(tuple, got.where(got.notna(), None).values.tolist())
    assert sorted(rows, key=lambda t: (t[0], t[3])) == [
        (c.FORECAST_CATEGORY, None, "COMMIT", "8"),
        (c.PROBABILITY, None, "0.3", "7"),  # by updatedByUserId: 7 first
        (c.PROBABILITY, "0.3", "0.55", "8"),
    ]
    assert "deal_property_history.csv" not in result.manifest["ignored_files"]
