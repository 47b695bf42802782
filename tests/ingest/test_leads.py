"""Tests of analysis.ingest.leads and of leads through a whole ingest run.

Every expected value is a hand reading of the rows written below.
"""

from __future__ import annotations

import pandas as pd
import pytest
from ingest_helpers import read_quarantine, write_csv

from analysis.core import columns as c
from analysis.core import paths, schema
from analysis.core.stages import load_stages
from analysis.ingest import ingest, read_manifest
from analysis.ingest.colmap import load_column_map
from analysis.ingest.leads import (
    LEAD_STATUS_WORDS,
    lead_notes,
    normalise_lead_statuses,
    status_key,
    steps_out_of_order,
)

# --- status words -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "status"),
    [
        # Salesforce's default Lead Status picklist (Setup > Lead Status values)
        ("Open - Not Contacted", "new"),
        ("Working - Contacted", "accepted"),
        ("Closed - Converted", "converted"),
        ("Closed - Not Converted", "disqualified"),
        # HubSpot lifecycle stage internal names, and a label of one
        ("subscriber", "new"),
        ("marketingqualifiedlead", "mql"),
        ("Marketing Qualified Lead", "mql"),
        ("salesqualifiedlead", "sql"),
        ("opportunity", "converted"),
        # canonical names in any case and spacing
        (" MQL ", "mql"),
        ("Recycled", "recycled"),
        ("open-not  contacted", "new"),
    ],
)
def test_crm_status_words_map_to_canonical_statuses(word, status):
    out = normalise_lead_statuses(pd.Series([word], dtype="str"))
    assert out.tolist() == [status]


def test_unknown_status_is_kept_as_written_and_missing_stays_missing():
    # Kept (stripped) so that validation quarantines it as bad_value.
    out = normalise_lead_statuses(pd.Series([" Nurturing? ", None, "new"], dtype="str"))
    assert out.iloc[0] == "Nurturing?" and pd.isna(out.iloc[1]) and out.iloc[2] == "new"
    assert str(out.dtype) == "str"


def test_every_word_maps_to_a_canonical_status_and_keys_do_not_collide():
    assert set(LEAD_STATUS_WORDS.values()) <= set(c.LEAD_STATUSES)
    assert set(c.LEAD_STATUSES) <= set(LEAD_STATUS_WORDS)  # canonical names map to themselves
    by_key = {}
    for word, status in LEAD_STATUS_WORDS.items():
        assert by_key.setdefault(status_key(word), status) == status, word


# --- lifecycle order ----------------------------------------------------------------


def _leads(**columns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            k: pd.to_datetime(pd.Series(v), utc=True, format="ISO8601").dt.as_unit("us")
            for k, v in columns.items()
        }
    )


def test_steps_out_of_order_compares_every_step_with_those_before_it():
    leads = _leads(
        created_at=["2024-01-01 09:00"] * 6,
        mql_at=["2024-01-02 09:00", "2024-01-03 09:00", None, "2024-01-02 09:00", None, None],
        accepted_at=["2024-01-03 09:00", "2024-01-02 09:00", None, None, None, None],
        sql_at=[None, None, None, None, None, None],
        converted_at=[None, None, "2023-12-31 09:00", "2024-01-01 08:00", None, None],
        first_response_at=[None, None, None, None, "2023-12-30 09:00", None],
    )
    # Row by row: in order; accepted a day before MQL; converted before created (MQL
    # missing is skipped); converted before MQL and created; first response before
    # created; nothing but the creation.
    assert steps_out_of_order(leads).tolist() == [False, True, True, True, True, False]


def test_a_date_only_time_on_the_day_of_the_step_before_it_is_in_order():
    leads = _leads(
        created_at=["2024-01-10 15:00", "2024-01-10 15:00", "2024-01-10 15:00"],
        mql_at=["2024-01-10 00:00", "2024-01-09 00:00", "2024-01-10 00:00:01"],
    )
    # Midnight on the creation day: a date, in order. The day before: out of order.
    # One second past midnight is a time, so before 15:00 is out of order.
    assert steps_out_of_order(leads).tolist() == [False, True, True]


def test_date_only_is_judged_in_the_export_time_zone():
    # Created 2024-01-10 15:00 in Berlin (14:00Z); MQL a date read in Berlin: 2024-01-10
    # 00:00+01:00 == 2024-01-09 23:00Z. Local midnight of the creation day: in order in
    # Berlin; in UTC it is 23:00 of the day before, a time, so out of order.
    leads = _leads(created_at=["2024-01-10 14:00"], mql_at=["2024-01-09 23:00"])
    assert steps_out_of_order(leads, "Europe/Berlin").tolist() == [False]
    assert steps_out_of_order(leads, "UTC").tolist() == [True]


def test_lead_notes_count_the_flag():
    clean = pd.DataFrame({c.STEPS_OUT_OF_ORDER: pd.array([True, False, None], dtype="boolean")})
    flags, notes = lead_notes(clean)
    assert flags == {c.STEPS_OUT_OF_ORDER: 1}
    assert len(notes) == 1 and notes[0].startswith("1 leads")
    assert lead_notes(pd.DataFrame({c.LEAD_ID: ["L1"]})) == ({}, [])


# --- the sample map -----------------------------------------------------------------

# Provenance: the export headers issue 16's sample generator writes to leads.csv.
SAMPLE_LEAD_HEADERS = [
    "Lead ID", "Create Date", "Lead Source", "Campaign", "Lead Status", "Owner ID", "Segment",
    "MQL Date", "Accepted Date", "SQL Date", "Disqualified Date", "Disqualification Reason",
    "Recycled Date", "First Response Date", "Converted Date", "Converted Deal ID",
]  # fmt: skip


def test_sample_map_reads_an_optional_leads_file_with_the_generator_headers():
    leads = load_column_map(paths.SAMPLE_MAP_FILE).tables[c.LEADS]
    assert leads.file == "leads" and leads.optional
    assert sorted(s.source for s in leads.columns.values()) == sorted(SAMPLE_LEAD_HEADERS)
    assert set(leads.columns) == set(schema.column_dtypes(c.LEADS)) - {c.STEPS_OUT_OF_ORDER}


# --- end to end ---------------------------------------------------------------------

MAP = """\
options: {timezone: UTC, dayfirst: false}
tables:
  deals:
    file: deals
    columns: {deal_id: Deal ID, created_at: Create Date, outcome: Deal Status,
              amount: Amount, segment: Segment}
  leads:
    file: leads
    optional: true
    columns:
      lead_id: Lead ID
      created_at: Create Date
      source: {from: Lead Source, values: {Inbound: inbound, Paid Ads: paid}}
      campaign: Campaign
      lead_status: Lead Status
      owner_id: Owner ID
      segment: Segment
      mql_at: MQL Date
      accepted_at: Accepted Date
      sql_at: SQL Date
      disqualified_at: Disqualified Date
      disqualify_reason: Disqualification Reason
      recycled_at: Recycled Date
      first_response_at: First Response Date
      converted_at: Converted Date
      converted_deal_id: Converted Deal ID
"""

DEALS = [
    "D1,2024-02-01 10:00,won,1000,B2B",
    "D2,2024-02-03 09:00,open,500,B2C",
    "D3,2024-02-05 09:00,won,-5,B2B",  # negative amount: quarantined, so L7 loses its deal
]

# Lead ID,Create Date,Lead Source,Campaign,Lead Status,Owner ID,Segment,MQL Date,
# Accepted Date,SQL Date,Disqualified Date,Disqualification Reason,Recycled Date,
# First Response Date,Converted Date,Converted Deal ID
LEADS = [
    # clean; Salesforce status; MQL a date on the creation day (in order); cp1252 text
    "L1,2024-01-10 09:00,Inbound,Café Lisboa,Closed - Converted,R1,B2B,2024-01-10,"
    "2024-01-11 10:00,2024-01-15,,,,2024-01-10 11:00,2024-02-01 10:00,D1",
    # accepted a day before MQL: kept, flagged
    "L2,2024-01-12 08:00,Paid Ads,,Working - Contacted,R2,b2c,2024-01-13,2024-01-12,,,,,,,",
    "L3,2024-01-20 10:00,Inbound,,Open - Not Contacted,,,,,,,,,,,",
    "L4,2024-01-21 10:00,Paid Ads,Spring,Closed - Not Converted,R1,B2B,2024-01-22,,,"
    "2024-01-25,No budget,,2024-01-22 12:00,,",
    "L5,2024-01-21 11:00,Inbound,,Nurturing?,R1,B2B,,,,,,,,,",  # unknown status
    "L6,2024-01-21 12:00,Inbound,,Closed - Converted,R1,B2B,,,,,,,,2024-02-01,D9",  # no D9
    "L7,2024-01-21 13:00,Inbound,,Closed - Converted,R1,B2B,,,,,,,,2024-02-05,D3",
    # HubSpot word; converted two days before it was created: kept, flagged
    "L8,2024-01-20 12:00,Inbound,,opportunity,R2,B2C,,,,,,,,2024-01-18 09:00,D2",
    "L9,2024-01-22 10:00,Inbound,,marketingqualifiedlead,,,2024-01-23,,,,,,,,",
    "L9,2024-01-22 10:00,Inbound,,marketingqualifiedlead,,,2024-01-23,,,,,,,,",  # exact copy
    "L10,2024-01-22 10:00,Inbound,,salesqualifiedlead,,,,,,,,,,,",
    "L10,2024-01-22 10:00,Inbound,,MQL,,,,,,,,,,,",  # disagrees with the copy above
    "L11,not a date,Inbound,,new,,,,,,,,,,,",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("leads")
    src = root / "src"
    # deals as UTF-8 with a byte-order mark, leads as cp1252 (Excel on Windows)
    write_csv(src, "deals.csv", "Deal ID,Create Date,Deal Status,Amount,Segment", DEALS,
              encoding="utf-8-sig")  # fmt: skip
    write_csv(src, "leads.csv", ",".join(SAMPLE_LEAD_HEADERS), LEADS, encoding="cp1252")
    (root / "map.yaml").write_text(MAP, encoding="utf-8")
    result = ingest(src, root / "out", map_path=root / "map.yaml")
    return root / "out", result


def test_clean_leads_are_canonical(run):
    out, _ = run
    leads = pd.read_parquet(out / "leads.parquet")
    schema.table_schema(c.LEADS, load_stages().pipeline().all_stages).validate(leads)
    # L1-L4, L8 and the first copy of L9 pass; sorted by lead id.
    assert leads[c.LEAD_ID].tolist() == ["L1", "L2", "L3", "L4", "L8", "L9"]
    assert leads[c.LEAD_STATUS].tolist() == [
        "converted", "accepted", "new", "disqualified", "converted", "mql",
    ]  # fmt: skip
    assert leads[c.STEPS_OUT_OF_ORDER].tolist() == [False, True, False, False, True, False]
    assert leads[c.SOURCE].tolist() == ["inbound", "paid", "inbound", "paid", "inbound", "inbound"]
    assert leads[c.CAMPAIGN].tolist()[0] == "Café Lisboa"  # cp1252 decoded
    assert leads[c.SEGMENT].tolist()[:2] == ["B2B", "B2C"]  # b2c matched like deals' segment
    row = leads.set_index(c.LEAD_ID).loc["L1"]
    assert row[c.MQL_AT] == pd.Timestamp("2024-01-10", tz="UTC")  # a date: midnight UTC
    assert row[c.CONVERTED_AT] == pd.Timestamp("2024-02-01 10:00", tz="UTC")
    assert row[c.CONVERTED_DEAL_ID] == "D1"
    assert leads.set_index(c.LEAD_ID).loc["L4", c.DISQUALIFY_REASON] == "No budget"
    assert leads[c.CONVERTED_DEAL_ID].isna().tolist() == [False, True, True, True, False, True]


def test_quarantine_gives_each_set_aside_lead_its_reason(run):
    out, _ = run
    held = read_quarantine(out, c.LEADS).set_index(c.SOURCE_ROW)
    # source rows (1-based data rows): L5 5, L6 6, L7 7, L9's copy 10, L10 11-12, L11 13
    assert held[c.REASON].to_dict() == {
        5: "bad_value",
        6: "orphan_event",
        7: "parent_quarantined",
        10: "duplicate_id",
        11: "duplicate_id",
        12: "duplicate_id",
        13: "unparseable_date",
    }
    assert held.loc[5, "Lead Status"] == "Nurturing?"  # the raw word, for a map's values:


def test_manifest_accounts_for_every_lead_and_counts_the_flag(run):
    out, result = run
    manifest = read_manifest(out)
    assert manifest == {**result.manifest, "created_at": manifest["created_at"]}
    entry = manifest["tables"][c.LEADS]
    # 13 rows in; 6 clean (above); 7 quarantined (above)
    assert (entry["rows_in"], entry["rows_clean"], entry["rows_quarantined"]) == (13, 6, 7)
    assert entry["quarantine_reasons"] == {
        "duplicate_id": 3,
        "unparseable_date": 1,
        "bad_value": 1,
        "parent_quarantined": 1,
        "orphan_event": 1,
    }
    assert manifest["tables"][c.DEALS]["quarantine_reasons"] == {"negative_amount": 1}
    assert manifest["flags"][c.STEPS_OUT_OF_ORDER] == 2  # L2 and L8
    assert any("flagged steps_out_of_order" in note for note in manifest["notes"])


def test_an_optional_leads_file_may_be_absent(run, tmp_path):
    root = run[0].parent
    src = tmp_path / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes((root / "src" / "deals.csv").read_bytes())
    result = ingest(src, tmp_path / "out", map_path=root / "map.yaml")
    assert c.LEADS not in result.manifest["tables"]
    assert not (tmp_path / "out" / "leads.parquet").exists()
    assert any("optional table leads" in note for note in result.manifest["notes"])


def test_canonical_file_names_need_no_map(tmp_path):
    src = tmp_path / "src"
    write_csv(src, "deals.csv", "deal_id,created_at,outcome,amount,segment",
              ["D1,2024-01-05,won,10,B2B"])  # fmt: skip
    write_csv(src, "leads.csv", "lead_id,created_at,lead_status,converted_deal_id",
              ["L1,2024-01-01,Closed - Converted,D1", "L2,2024-01-02,,"])  # fmt: skip
    result = ingest(src, tmp_path / "out")
    leads = pd.read_parquet(tmp_path / "out" / "leads.parquet")
    assert leads[c.LEAD_STATUS].tolist()[0] == "converted" and pd.isna(leads[c.LEAD_STATUS][1])
    assert result.manifest["tables"][c.LEADS]["rows_clean"] == 2
