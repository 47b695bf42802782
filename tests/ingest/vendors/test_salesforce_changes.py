"""``deal_changes`` from a Salesforce export (``vendors.salesforce_changes``), end to end.

A hand-made org export, field names as the Salesforce Object Reference gives
them for Opportunity, OpportunityHistory and OpportunityFieldHistory, ingested
with ``analysis.ingest``. Every expected value is worked out by hand from the
rows written below (row numbers are the file's data rows, from 1).
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.ingest.vendors.adapted import ExportFiles

OPPORTUNITY = (
    "Id,StageName,CreatedDate,IsClosed,IsWon,Amount,CloseDate,Probability,"
    "ForecastCategoryName,Segment__c\n"
    "006A,Proposal,2024-01-02T10:00:00.000+0000,false,false,1500,2024-03-31,60,BestCase,B2B\n"
    "006B,Closed Won,2024-01-05T10:00:00.000+0000,true,true,800,2024-02-10,100,Closed,B2C\n"
)
SNAPSHOTS = (
    "OpportunityId,StageName,Amount,CloseDate,Probability,ForecastCategory,CreatedDate,"
    "CreatedById,IsDeleted\n"
    # 1: 006A created: five first values
    "006A,Prospecting,1200,2024-02-29,10,Pipeline,2024-01-02T10:00:00.000+0000,005X,false\n"
    # 2: saved again, nothing changed (1200.00 is 1200)
    "006A,Prospecting,1200.00,2024-02-29,10,Pipeline,2024-01-10T09:00:00.000+0000,005X,false\n"
    # 3: stage, probability and forecast category changed
    "006A,Proposal,1200,2024-02-29,60,BestCase,2024-01-20T09:00:00.000+0000,005X,false\n"
    # 4: amount and close date changed, by another user
    "006A,Proposal,1500,2024-03-31,60,BestCase,2024-02-25T09:00:00.000+0000,005Y,false\n"
    # 5: deleted
    "006A,Negotiation,1500,2024-03-31,70,BestCase,2024-02-26T09:00:00.000+0000,005Y,true\n"
    # 6: 006B created, already won
    "006B,Closed Won,800,2024-02-10,100,Closed,2024-02-10T09:00:00.000+0000,005Y,false\n"
    # 7: an opportunity that is not in the Opportunity file
    "006Z,Prospecting,50,2024-05-01,10,Pipeline,2024-03-01T09:00:00.000+0000,005Y,false\n"
)
ZONE = "America/New_York"  # UTC-5 until 10 March 2024, UTC-4 after


@pytest.fixture
def snapshots_only(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "Opportunity.csv").write_text(OPPORTUNITY)
    (export / "OpportunityHistory.csv").write_text(SNAPSHOTS)
    result = ingest(export, tmp_path / "out", timezone=ZONE)
    return result, pd.read_parquet(tmp_path / "out" / "deal_changes.parquet")


def test_every_snapshot_row_is_accounted_for(snapshots_only):
    result, _ = snapshots_only
    table = result.manifest["tables"][c.DEAL_CHANGES]
    # Rows in: the 7 file rows, each carrying its first change, plus the further changes
    # of rows 1 (4 more of 5), 3 (2 of 3), 4 (1 of 2), 6 (4 of 5) and 7 (4 of 5): 7 + 15.
    assert table["rows_in"] == 22
    # Row 2 changed nothing, row 5 is deleted, row 7's five changes belong to no deal.
    assert table["quarantine_reasons"] == {
        r.ORPHAN_EVENT: 5,
        r.OUT_OF_SCOPE: 1,
        r.DELETED_IN_SOURCE: 1,
    }
    assert table["rows_clean"] == 15  # 006A: 5 + 3 + 2, 006B: 5
    # The stage events still come from the same file, one row per snapshot.
    assert result.manifest["tables"][c.STAGE_EVENTS]["rows_in"] == 7
    assert [i["file"] for i in result.manifest["inputs"]].count("OpportunityHistory.csv") == 1


def test_snapshots_become_changes_with_the_values_before(snapshots_only):
    _, changes = snapshots_only
    cols = [c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.OLD_VALUE, c.NEW_VALUE, c.CHANGED_BY]
    seen = changes[cols].astype("object").where(changes[cols].notna(), None)
    seen[c.CHANGED_AT] = changes[c.CHANGED_AT].dt.strftime("%m-%d")
    got = sorted(map(tuple, seen.values.tolist()), key=lambda t: (t[0], t[1], t[2]))
    # By hand: old values are the snapshot before's; probabilities are percent (values
    # above 1) read as shares; CloseDate is the end of that day in New York: 29 Feb
    # 23:59:59.999999 at UTC-5 is 1 March 04:59:59.999999 UTC, 31 March (UTC-4) is
    # 1 April 03:59:59.999999 UTC, 10 Feb is 11 Feb 04:59:59.999999 UTC. Stages are the
    # canonical names learnt from the history (Prospecting, Proposal; Closed Won is won).
    feb29, mar31 = "2024-03-01T04:59:59.999999+00:00", "2024-04-01T03:59:59.999999+00:00"
    assert got == [
        ("006A", "01-02", c.AMOUNT, None, "1200.0", "005X"),
        ("006A", "01-02", c.EXPECTED_CLOSE_AT, None, feb29, "005X"),
        ("006A", "01-02", c.FORECAST_CATEGORY, None, "Pipeline", "005X"),
        ("006A", "01-02", c.PROBABILITY, None, "0.1", "005X"),
        ("006A", "01-02", c.STAGE, None, "prospecting", "005X"),
        ("006A", "01-20", c.FORECAST_CATEGORY, "Pipeline", "BestCase", "005X"),
        ("006A", "01-20", c.PROBABILITY, "0.1", "0.6", "005X"),
        ("006A", "01-20", c.STAGE, "prospecting", "proposal", "005X"),
        # Row 2's 1200.00 is the amount before row 4 (same number, written as 1200.0).
        ("006A", "02-25", c.AMOUNT, "1200.0", "1500.0", "005Y"),
        ("006A", "02-25", c.EXPECTED_CLOSE_AT, feb29, mar31, "005Y"),
        ("006B", "02-10", c.AMOUNT, None, "800.0", "005Y"),
        ("006B", "02-10", c.EXPECTED_CLOSE_AT, None, "2024-02-11T04:59:59.999999+00:00", "005Y"),
        ("006B", "02-10", c.FORECAST_CATEGORY, None, "Closed", "005Y"),
        ("006B", "02-10", c.PROBABILITY, None, "1.0", "005Y"),
        ("006B", "02-10", c.STAGE, None, "won", "005Y"),
    ]


def test_extra_changes_name_the_snapshot_they_come_from(snapshots_only, tmp_path):
    quarantine = pd.read_parquet(tmp_path / "out" / "quarantine" / "deal_changes.parquet")
    orphans = quarantine[quarantine[c.REASON] == r.ORPHAN_EVENT]
    # Row 7 keeps its first change (its stage) at source_row 7; its four others come after
    # the 7 file rows and the 15 added before them (rows 1, 3, 4 and 6: 4 + 2 + 1 + 4 = 11).
    assert sorted(orphans[c.SOURCE_ROW]) == [7, 19, 20, 21, 22]
    assert sorted(orphans["workbench: from"].dropna()) == [
        "OpportunityHistory.csv row 7: Amount",
        "OpportunityHistory.csv row 7: CloseDate",
        "OpportunityHistory.csv row 7: ForecastCategory",
        "OpportunityHistory.csv row 7: Probability",
    ]
    assert set(orphans["OpportunityId"]) == {"006Z"}  # the snapshot's own values are kept


def test_field_history_wins_and_each_history_file_is_read_once(tmp_path, monkeypatch):
    export = tmp_path / "export"
    export.mkdir()
    (export / "Opportunity.csv").write_text(OPPORTUNITY)
    (export / "OpportunityHistory.csv").write_text(SNAPSHOTS)
    (export / "OpportunityFieldHistory.csv").write_text(
        "OpportunityId,Field,OldValue,NewValue,CreatedDate,CreatedById\n"
        "006A,created,,,2024-01-02T10:00:00.000+0000,005X\n"
        "006A,Amount,1200,1500,2024-02-25T09:00:00.000+0000,005Y\n"
    )
    reads: list[str] = []
    read_path = ExportFiles.read_path

    def counted(self, obj, path):
        reads.append(obj)
        return read_path(self, obj, path)

    monkeypatch.setattr(ExportFiles, "read_path", counted)
    result = ingest(export, tmp_path / "out", timezone=ZONE)
    assert reads.count("OpportunityHistory") == 1
    assert reads.count("OpportunityFieldHistory") == 1
    tables = result.manifest["tables"]
    # deal_changes are the 2 field-history rows (the created marker out of scope), the
    # stage events the 7 snapshots.
    assert tables[c.DEAL_CHANGES]["rows_in"] == 2
    assert tables[c.DEAL_CHANGES]["quarantine_reasons"] == {r.OUT_OF_SCOPE: 1}
    assert tables[c.STAGE_EVENTS]["rows_in"] == 7
    changes = pd.read_parquet(tmp_path / "out" / "deal_changes.parquet")
    assert changes[[c.FIELD, c.OLD_VALUE, c.NEW_VALUE]].values.tolist() == [
        [c.AMOUNT, "1200.0", "1500.0"]  # row 2 of the field history, as written
    ]
