"""Canonical values that need more than one column: same-day closes with a date-only close.

Provenance: hand-built rows; the expected times are written out by hand.
"""

from __future__ import annotations

import pandas as pd
from ingest_helpers import read_quarantine, write_csv

from analysis.core import columns as c
from analysis.core.schema import CLOSED_BEFORE_CREATED
from analysis.ingest import ingest

HEADER = "deal_id,created_at,outcome,amount,segment,closed_at"


def test_a_date_only_close_on_the_creation_day_is_the_end_of_that_day(tmp_path):
    # Issue 12: Salesforce's CloseDate is a date, CreatedDate a time. A deal created
    # at 15:30 and won that day was quarantined as closed before it was created.
    rows = [
        "S1,2024-01-05 15:30:00,won,100,B2B,2024-01-05",  # same day: kept, end of day
        "S2,2024-01-05 15:30:00,lost,100,B2B,2024-01-04",  # the day before: still bad
        "S3,2024-01-05 15:30:00,won,100,B2B,2024-01-09",  # later day: unchanged
    ]
    write_csv(tmp_path / "raw", "deals.csv", HEADER, rows)
    result = ingest(tmp_path / "raw", tmp_path / "out")
    deals = pd.read_parquet(tmp_path / "out" / f"{c.DEALS}.parquet").set_index(c.DEAL_ID)
    assert list(deals.index) == ["S1", "S3"]
    assert deals.loc["S1", c.CLOSED_AT] == pd.Timestamp("2024-01-05 23:59:59.999999", tz="UTC")
    assert deals.loc["S3", c.CLOSED_AT] == pd.Timestamp("2024-01-09", tz="UTC")
    quarantined = read_quarantine(tmp_path / "out", c.DEALS)
    assert quarantined[c.REASON].tolist() == [CLOSED_BEFORE_CREATED]
    assert any("read as the end of that day" in note for note in result.manifest["notes"])


def test_the_end_of_day_is_the_export_s_local_day(tmp_path):
    # With timezone America/Bogota (UTC-5), 2024-01-05 is 05:00 to 05:00 UTC the next day.
    from analysis.ingest.canonical import same_day_closes_at_end_of_day

    deals = pd.DataFrame(
        {
            c.CREATED_AT: [pd.Timestamp("2024-01-05 20:30", tz="UTC")],  # 15:30 local
            c.CLOSED_AT: [pd.Timestamp("2024-01-05 05:00", tz="UTC")],  # local midnight
        }
    )
    moved, n = same_day_closes_at_end_of_day(deals, "America/Bogota")
    assert n == 1
    assert moved.loc[0, c.CLOSED_AT] == pd.Timestamp("2024-01-06 04:59:59.999999", tz="UTC")
