"""End-to-end tests of analysis.ingest.ingest: files, parsing, output, manifest.

Inputs are tiny hand-written exports (tests/ingest_helpers.py), so every
expected value below is a hand calculation from the rows shown there.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from textwrap import dedent

import pandas as pd
import pytest
from ingest_helpers import (
    DEALS_HEADER,
    DEALS_ROWS,
    EVENTS_HEADER,
    EVENTS_ROWS,
    clean_export,
    read_quarantine,
    tree_digest,
    write_csv,
)

from analysis.core import columns as c
from analysis.core import paths, schema
from analysis.core.errors import ConfigError, InputError
from analysis.core.stages import load_stages
from analysis.ingest import IngestResult, ingest, read_manifest
from analysis.ingest.canonical import normalise_stages
from analysis.ingest.colmap import load_column_map


def test_clean_export_round_trip(tmp_path):
    src = clean_export(tmp_path / "src")
    result = ingest(src, tmp_path / "out")
    assert isinstance(result, IngestResult)
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    events = pd.read_parquet(tmp_path / "out" / "stage_events.parquet")
    assert deals[c.DEAL_ID].tolist() == ["D1", "D2", "D3", "D4"]
    assert deals[c.CREATED_AT].dtype == schema.TIMESTAMP
    assert deals[c.AMOUNT].tolist()[:2] == [1000.0, 2500.5]
    assert pd.isna(deals[c.AMOUNT].iloc[2])
    assert len(events) == len(EVENTS_ROWS)
    assert not events[c.DERIVED].any()  # read from a file, not derived
    # The written tables satisfy their pandera schemas.
    stages = load_stages().pipeline().all_stages
    schema.table_schema(c.DEALS, stages).validate(deals)
    schema.table_schema(c.STAGE_EVENTS, stages).validate(events)
    frame = result.to_frame()
    assert frame.set_index("table").loc[c.DEALS, "rows_clean"] == 4
    assert "deals: 4 in, 4 clean, 0 quarantined" in result.summary()
    assert not (tmp_path / "out" / paths.QUARANTINE_DIRNAME).exists()


def test_manifest_contents(tmp_path):
    src = clean_export(tmp_path / "src")
    result = ingest(src, tmp_path / "out")
    manifest = read_manifest(tmp_path / "out")
    assert manifest == json.loads(json.dumps(result.manifest))
    assert manifest["created_at"].endswith("Z")
    assert manifest["map"] is None and manifest["map_sha256"] is None
    assert manifest["stage_config_sha256"] == load_stages().sha256
    assert manifest["pipeline"] == "default"
    files = {i["file"]: i for i in manifest["inputs"]}
    assert set(files) == {"deals.csv", "stage_events.csv"}
    assert files["deals.csv"]["bytes"] == (src / "deals.csv").stat().st_size
    for table, info in manifest["tables"].items():
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table
    assert manifest["ignored_files"] == []
    assert manifest["derived"] == {}


def test_read_manifest_without_ingest(tmp_path):
    with pytest.raises(InputError, match="no ingest manifest"):
        read_manifest(tmp_path)


def test_excel_and_parquet_sources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    deals = pd.DataFrame(
        {
            "deal_id": ["A", "B"],
            "created_at": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "outcome": ["Won", "open"],
            "amount": [10.0, None],
            "segment": ["b2b", "B2C"],
        }
    )
    deals.to_excel(src / "deals.xlsx", index=False)
    pd.DataFrame({"rep_id": ["R1"], "quota": [100.0]}).to_parquet(src / "reps.parquet")
    result = ingest(src, tmp_path / "out")
    out = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert out[c.OUTCOME].tolist() == ["won", "open"]
    assert out[c.SEGMENT].tolist() == ["B2B", "B2C"]
    assert out[c.CREATED_AT].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert result.manifest["tables"][c.REPS]["rows_clean"] == 1


def test_categories_are_normalised(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment,stage",
        [
            "A,2024-01-01, WON ,1,b2b,Closed Won",
            "B,2024-01-01,Lost,1,B2c,closed lost",
            "C,2024-01-01,OPEN,1, B2B ,  Demo   Scheduled ",
        ],
    )
    ingest(src, tmp_path / "out")
    out = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert out[c.OUTCOME].tolist() == ["won", "lost", "open"]
    assert out[c.SEGMENT].tolist() == ["B2B", "B2C", "B2B"]
    assert out[c.STAGE].tolist() == ["won", "lost", "presentation"]


def test_unmapped_columns_ignored_and_listed(tmp_path):
    src = tmp_path / "src"
    write_csv(src, "deals.csv", DEALS_HEADER + ",deal_name", [r + ",x" for r in DEALS_ROWS])
    result = ingest(src, tmp_path / "out")
    assert result.manifest["ignored_columns"][c.DEALS] == ["deal_name"]
    assert "deal_name" not in pd.read_parquet(tmp_path / "out" / "deals.parquet")


def test_unknown_table_without_map_is_structural(tmp_path):
    src = clean_export(tmp_path / "src")
    write_csv(src, "prospects.csv", "a", ["1"])
    with pytest.raises(InputError, match="not named after a canonical table") as info:
        ingest(src, tmp_path / "out")
    assert info.value.file.endswith("prospects.csv")
    assert not (tmp_path / "out").exists()


MAP = """\
description: test export
options: {decimal: ","}
stage_aliases: {Stufe 1: prospecting, Abschluss: won}
tables:
  deals:
    file: opps
    columns:
      deal_id: Id
      created_at: Erstellt
      outcome:
        from: Status
        values: {Gewonnen: won, Verloren: lost}
        default: open
      amount: Betrag
      segment: {constant: B2B}
      stage: Phase
"""


def test_column_map_applies_names_values_constants_and_locale(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "opps.csv",
        "Id;Erstellt;Status;Betrag;Phase;Notiz",
        [
            'O1;2024-03-01;Gewonnen;"1.200,50 €";Abschluss;a',
            "O2;2024-03-02;In Arbeit;99,5;Stufe 1;b",
        ],
    )
    write_csv(src, "other.csv", "x", ["1"])
    (tmp_path / "map.yaml").write_text(MAP)
    result = ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    out = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert out[c.AMOUNT].tolist() == [1200.5, 99.5]
    assert out[c.OUTCOME].tolist() == ["won", "open"]
    assert out[c.SEGMENT].tolist() == ["B2B", "B2B"]
    assert out[c.STAGE].tolist() == ["won", "prospecting"]
    assert out[c.CURRENCY].iloc[0] == "EUR"  # filled from the symbol
    m = result.manifest
    assert m["ignored_files"] == ["other.csv"]
    assert m["ignored_columns"][c.DEALS] == ["Notiz"]
    assert m["map"].endswith("map.yaml") and len(m["map_sha256"]) == 64
    assert "no stage_events table was written" in " ".join(m["notes"])
    assert not (tmp_path / "out" / "stage_events.parquet").exists()


def test_map_naming_missing_file_or_column_is_structural(tmp_path):
    src = tmp_path / "src"
    write_csv(src, "opps.csv", "Id;Erstellt;Status;Betrag", ["O1;2024-03-01;Gewonnen;1"])
    (tmp_path / "map.yaml").write_text(MAP)
    with pytest.raises(InputError) as info:
        ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    assert info.value.column == "Phase" and info.value.file.endswith("opps.csv")
    (tmp_path / "map2.yaml").write_text(MAP.replace("file: opps", "file: nowhere"))
    with pytest.raises(InputError, match="nowhere"):
        ingest(src, tmp_path / "out", map_path=tmp_path / "map2.yaml")
    assert not (tmp_path / "out").exists()


def test_map_stage_alias_to_unknown_stage_is_config_error(tmp_path):
    src = tmp_path / "src"
    write_csv(src, "opps.csv", "Id;Erstellt;Status;Betrag;Phase", ["O1;2024-03-01;x;1;y"])
    (tmp_path / "map.yaml").write_text(MAP.replace("Abschluss: won", "Abschluss: signed"))
    with pytest.raises(ConfigError) as info:
        ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    assert info.value.column == "stage_aliases.Abschluss"


def test_missing_optional_tables_are_fine(tmp_path):
    src = clean_export(tmp_path / "src", events=False)
    result = ingest(src, tmp_path / "out")
    assert list(result.manifest["tables"]) == [c.DEALS]


def test_header_only_optional_table_gives_empty_table(tmp_path):
    src = clean_export(tmp_path / "src")
    write_csv(src, "activities.csv", "deal_id,at,type", [])
    result = ingest(src, tmp_path / "out")
    acts = pd.read_parquet(tmp_path / "out" / "activities.parquet")
    assert len(acts) == 0 and result.manifest["tables"][c.ACTIVITIES]["rows_in"] == 0


def test_source_files_unchanged(tmp_path):
    src = clean_export(tmp_path / "src")
    write_csv(src, "deals.csv", DEALS_HEADER, [*DEALS_ROWS, "D1,2024-01-05,won,-5,B2B,,won,R1"])
    before = tree_digest(src)
    ingest(src, tmp_path / "out")
    assert tree_digest(src) == before
    hashes = {i["file"]: i["sha256"] for i in read_manifest(tmp_path / "out")["inputs"]}
    assert hashes == before


def test_deterministic_parquet_bytes(tmp_path):
    src = clean_export(tmp_path / "src")
    write_csv(src, "deals.csv", DEALS_HEADER, [*DEALS_ROWS, "D9,2024-01-05,maybe,5,B2B,,won,R1"])
    ingest(src, tmp_path / "a")
    ingest(src, tmp_path / "b")
    a = {k: v for k, v in tree_digest(tmp_path / "a").items() if k.endswith(".parquet")}
    b = {k: v for k, v in tree_digest(tmp_path / "b").items() if k.endswith(".parquet")}
    assert a == b and "quarantine/deals.parquet" in a


def test_rows_are_sorted_by_key(tmp_path):
    src = tmp_path / "src"
    write_csv(src, "deals.csv", DEALS_HEADER, DEALS_ROWS[::-1])
    write_csv(src, "stage_events.csv", EVENTS_HEADER, EVENTS_ROWS[::-1])
    ingest(src, tmp_path / "out")
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    events = pd.read_parquet(tmp_path / "out" / "stage_events.parquet")
    assert deals[c.DEAL_ID].is_monotonic_increasing
    d1 = events[events[c.DEAL_ID] == "D1"]
    assert d1[c.STAGE].tolist() == ["prospecting", "qualification", "won"]


def test_rerun_replaces_output(tmp_path):
    src = clean_export(tmp_path / "src")
    out = tmp_path / "out"
    ingest(src, out)
    (out / ".gitkeep").write_text("")
    clean_export(src, events=False)
    (src / "stage_events.csv").unlink()
    ingest(src, out)
    assert not (out / "stage_events.parquet").exists()
    assert (out / ".gitkeep").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp folders left


def test_refuses_raw_dir(tmp_path, monkeypatch):
    src = clean_export(tmp_path / "src")
    with pytest.raises(InputError, match="raw data folder"):
        ingest(src, paths.RAW_DIR / "processed")
    assert not (paths.RAW_DIR / "processed").exists()
    raw = tmp_path / "data" / "raw"
    monkeypatch.setattr(paths, "RAW_DIR", raw)
    with pytest.raises(InputError, match="raw data folder"):
        ingest(src, raw / "sub" / "out")
    assert not raw.exists()


def test_refuses_foreign_or_overlapping_out(tmp_path):
    src = clean_export(tmp_path / "src")
    with pytest.raises(InputError, match="source folder"):
        ingest(src, tmp_path)
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(InputError, match="other files"):
        ingest(src, foreign)
    assert (foreign / "thesis.docx").read_text() == "precious"


def test_out_untouched_on_structural_error(tmp_path):
    src = clean_export(tmp_path / "src")
    out = tmp_path / "out"
    ingest(src, out)
    before = tree_digest(out)
    write_csv(src, "stage_events.csv", "deal_id,entered_at", ["D1,2024-01-01"])  # no stage
    with pytest.raises(InputError) as info:
        ingest(src, out)
    assert info.value.column == c.STAGE and info.value.file.endswith("stage_events.csv")
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


@pytest.mark.parametrize("pipeline", ["nope"])
def test_unknown_pipeline_in_map(tmp_path, pipeline):
    src = clean_export(tmp_path / "src", events=False)
    (tmp_path / "map.yaml").write_text(
        dedent(
            f"""\
            pipeline: {pipeline}
            tables:
              deals:
                file: deals
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    assert info.value.column == "pipeline"


def test_quarantine_layout(tmp_path):
    src = clean_export(tmp_path / "src")
    write_csv(src, "deals.csv", DEALS_HEADER, [*DEALS_ROWS, "D5,2024-01-05,won,-5,B2B,,won,R1"])
    ingest(src, tmp_path / "out")
    q = read_quarantine(tmp_path / "out", c.DEALS)
    expected = [*DEALS_HEADER.split(","), c.REASON, c.SOURCE_FILE, c.SOURCE_ROW]
    assert list(q.columns) == expected
    assert q.iloc[0][c.SOURCE_ROW] == 5 and q.iloc[0][c.SOURCE_FILE] == "deals.csv"
    assert q.iloc[0][c.AMOUNT] == "-5"


def test_output_dir_is_a_path(tmp_path):
    result = ingest(str(clean_export(tmp_path / "src")), str(tmp_path / "out"))
    assert isinstance(result.out_dir, Path) and result.out_dir == (tmp_path / "out").resolve()


def test_errors_name_the_file_by_its_path(tmp_path):
    # Every structural error about one file carries the path as found in the
    # source folder (source folder as given / file name), never the bare name.
    src = tmp_path / "src"
    write_csv(src, "opps.csv", "Id;Erstellt;Status;Betrag", ["O1;2024-03-01;Gewonnen;1"])
    (tmp_path / "map.yaml").write_text(MAP)
    with pytest.raises(InputError) as info:
        ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    assert info.value.file == str(src / "opps.csv") and info.value.column == "Phase"
    write_csv(src, "opps.csv", "Id;Erstellt;Status;Betrag;Phase", ["O1;2024-03-01;x;1;Stufe 1"])
    derive = MAP + "    derive_stage_events:\n      dates: {prospecting: Signed}\n"
    (tmp_path / "map.yaml").write_text(derive)
    with pytest.raises(InputError) as info:
        ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    assert info.value.file == str(src / "opps.csv") and info.value.column == "Signed"


def test_stage_labels_use_the_pipeline_and_the_map_aliases():
    # One normaliser for stage labels (Pipeline.normalise_series): the map's aliases
    # are merged into the pipeline by ingest; unknown labels stay (stripped) so
    # validation reports them, missing ones stay missing, the index is kept.
    base = load_stages().pipeline()
    pipeline = replace(base, aliases={**base.aliases, "Stufe 1": "prospecting"})
    for dtype in ("str", object):
        labels = pd.Series([" stufe  1", "Closed Won", " Haggling ", None], index=[3, 1, 2, 0])
        out = normalise_stages(labels.astype(dtype), pipeline)
        assert out.index.tolist() == [3, 1, 2, 0]
        assert out.tolist()[:3] == ["prospecting", "won", "Haggling"] and pd.isna(out.iloc[3])


def test_stage_labels_no_stage_knows_are_listed_with_counts(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment,stage",
        [
            "D1,2024-01-05,open,1,B2B,Angebot",
            "D2,2024-01-06,open,1,B2B,Angebot",
            "D3,2024-01-07,open,1,B2C,Vertrag",
            "D4,2024-01-08,open,1,B2C,proposal",
        ],
    )
    result = ingest(src, tmp_path / "out")
    # Hand count: two deals at "Angebot", one at "Vertrag"; "proposal" is a stage.
    assert result.manifest["unknown_stages"] == {"Angebot": 2, "Vertrag": 1}
    note = next(n for n in result.manifest["notes"] if "fit no stage" in n)
    assert "'Angebot' (2 rows), 'Vertrag' (1 row)" in note and "config/stages.yaml" in note
    assert "stage labels no stage knows (quarantined): 'Angebot' (2)" in result.summary()


def test_timezone_applies_to_an_export_with_canonical_names(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment",
        ["D1,2024-01-05 09:00,open,1,B2B"],
    )
    result = ingest(src, tmp_path / "out", timezone="Asia/Tokyo")
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    # 09:00 in Tokyo (UTC+9, no daylight saving) is 00:00 UTC.
    assert deals[c.CREATED_AT].iloc[0] == pd.Timestamp("2024-01-05 00:00", tz="UTC")
    assert result.manifest["timezone"] == "Asia/Tokyo"


HISTORY_MAP = """\
tables:
  deals:
    file: opps
    columns: {deal_id: Id, created_at: CreatedDate, outcome: Status, amount: Amount,
              segment: {constant: B2B}}
  stage_events:
    file: history
    changes_only: true
    columns: {deal_id: OpportunityId, stage: StageName, entered_at: CreatedDate}
"""


def test_a_change_history_mapped_with_changes_only_keeps_stage_changes(tmp_path):
    src = tmp_path / "src"
    write_csv(src, "opps.csv", "Id,CreatedDate,Status,Amount", ["O1,2024-01-01,open,10"])
    write_csv(
        src,
        "history.csv",
        "OpportunityId,StageName,CreatedDate",
        [
            "O1,Prospecting,2024-01-01",
            "O1,Prospecting,2024-01-03",  # an amount edit: same stage
            "O1,Qualified,2024-01-05",  # "Qualified" is an alias of qualification
            "O1,Qualification,2024-01-06",  # the same stage again, by its own name
            "O1,Prospecting,2024-01-09",  # moved back: a real change
        ],
    )
    (tmp_path / "map.yaml").write_text(HISTORY_MAP)
    result = ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    events = pd.read_parquet(tmp_path / "out" / "stage_events.parquet")
    # Hand count: rows 1, 3 and 5 change the stage; rows 2 and 4 repeat it.
    assert events[c.STAGE].tolist() == ["prospecting", "qualification", "prospecting"]
    assert result.manifest["tables"][c.STAGE_EVENTS]["quarantine_reasons"] == {
        "not_a_stage_change": 2
    }


def test_changes_only_belongs_to_stage_events(tmp_path):
    (tmp_path / "map.yaml").write_text(
        HISTORY_MAP.replace("    changes_only: true\n", "").replace(
            "    file: opps\n", "    file: opps\n    changes_only: true\n"
        )
    )
    with pytest.raises(ConfigError, match="changes_only belongs under stage_events") as info:
        load_column_map(tmp_path / "map.yaml")
    assert info.value.column == "tables.deals.changes_only"


def test_stage_entries_long_before_the_deal_was_created_are_flagged(tmp_path):
    rows = list(EVENTS_ROWS)
    rows[0] = "D1,prospecting,2019-03-01"  # years before D1's creation on 2024-01-05
    rows[3] = "D2,prospecting,2024-01-05T06:00:00Z"  # 18 hours before D2's: within the day
    write_csv(tmp_path / "src", "deals.csv", DEALS_HEADER, DEALS_ROWS)
    write_csv(tmp_path / "src", "stage_events.csv", EVENTS_HEADER, rows)
    result = ingest(tmp_path / "src", tmp_path / "out")
    events = pd.read_parquet(tmp_path / "out" / "stage_events.parquet")
    # Hand count: one row dated more than a day before its deal; it is kept, not quarantined.
    assert len(events) == len(EVENTS_ROWS)
    flagged = events[events[c.BEFORE_CREATED]]
    assert flagged[[c.DEAL_ID, c.STAGE]].values.tolist() == [["D1", "prospecting"]]
    assert result.manifest["flags"][c.BEFORE_CREATED] == 1
    assert any("1 stage events are dated more than a day" in n for n in result.manifest["notes"])
    schema.table_schema(c.STAGE_EVENTS).validate(events)


def test_a_workbook_with_uncalculated_formulas_is_read_with_a_warning(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    for row in (DEALS_HEADER.split(","), *[r.split(",") for r in DEALS_ROWS]):
        book.active.append(row)
    book.active["D3"] = "=D2*2"  # D2's amount, as a formula no program calculated
    (tmp_path / "src").mkdir()
    book.save(tmp_path / "src" / "deals.xlsx")
    result = ingest(tmp_path / "src", tmp_path / "out")
    # Hand count: the row stays (4 clean deals) and the one cell is named.
    assert result.manifest["tables"][c.DEALS]["rows_clean"] == 4
    (warning,) = result.manifest["warnings"]
    assert warning.startswith("deals.xlsx: 1 cell holds a formula that was never calculated (D3)")
    assert "warning: deals.xlsx" in result.summary()


def test_parquet_text_stored_as_bytes_is_read_and_undecodable_cells_cost_their_row(tmp_path):
    # Issue 20: a Parquet column of undecodable bytes stopped ingest with a traceback.
    # Hand-built: D2's date, D3's amount and D4's segment are not UTF-8; D4's
    # segment also carries a NUL. Each bad cell costs its row only.
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "src").mkdir()
    table = pa.table(
        {
            "deal_id": pa.array([b"D1", b"D2", b"D3", b"D4", b"D5"], pa.binary()),
            "created_at": pa.array([b"2024-01-01", b"\xff", *[b"2024-01-01"] * 3]),
            "outcome": ["won", "lost", "won", "won", "lost"],
            "amount": pa.array([b"1", b"2", b"\xfe3", None, b"5"]),
            "segment": pa.array([b"B2B", b"B2C", b"B2B", b"B2\xff", b"B2C\x00"]),
        }
    )
    pq.write_table(table, tmp_path / "src" / "deals.parquet")
    result = ingest(tmp_path / "src", tmp_path / "out")
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert deals[c.DEAL_ID].tolist() == ["D1", "D5"]
    assert deals[c.SEGMENT].tolist() == ["B2B", "B2C"]  # the NUL stripped and counted
    assert result.manifest["stripped_characters"] == {"deals.parquet.segment": 1}
    held = read_quarantine(tmp_path / "out", c.DEALS).set_index(c.SOURCE_ROW)
    assert held[c.REASON].to_dict() == {2: "unparseable_date", 3: "bad_value", 4: "bad_value"}
    assert held.loc[2, c.CREATED_AT] == "\\xff" and held.loc[3, c.AMOUNT] == "\\xfe3"


FIELD_HISTORY_MAP = """\
options: {dayfirst: false}
tables:
  deals:
    file: opps
    columns: {deal_id: Id, created_at: CreatedDate, outcome: Status, amount: Amount,
              segment: {constant: B2B}, probability: Probability,
              forecast_category: ForecastCategoryName}
  deal_changes:
    file: field_history
    columns:
      deal_id: OpportunityId
      changed_at: CreatedDate
      field:
        from: Field
        values: {Amount: amount, CloseDate: expected_close_at, StageName: stage,
                 Probability: probability, ForecastCategoryName: forecast_category}
      old_value: OldValue
      new_value: NewValue
"""


def test_a_field_history_becomes_deal_changes_in_canonical_text(tmp_path):
    # Salesforce's OpportunityFieldHistory shape: field names, percent, US dates, labels.
    src = tmp_path / "src"
    write_csv(
        src, "opps.csv", "Id,CreatedDate,Status,Amount,Probability,ForecastCategoryName",
        ["O1,2024-01-01,open,1500,60,Best Case"],
    )  # fmt: skip
    write_csv(
        src,
        "field_history.csv",
        "OpportunityId,CreatedDate,Field,OldValue,NewValue",
        [
            "O1,2024-01-01,Amount,,1200",
            'O1,2024-01-10,Amount,1200,"1,500"',
            "O1,2024-01-10,CloseDate,01/31/2024,02/29/2024",
            "O1,2024-01-12,StageName,Prospecting,Qualified",  # labels through the aliases
            "O1,2024-01-12,Probability,10,60",
            "O1,2024-01-12,ForecastCategoryName,Pipeline,Best Case",
            "O1,2024-01-13,OwnerId,R1,R2",  # not a tracked field
            "O9,2024-01-13,Amount,,5",  # no such deal
        ],
    )
    (tmp_path / "map.yaml").write_text(FIELD_HISTORY_MAP)
    result = ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml")
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert deals[c.PROBABILITY].tolist() == [0.6]  # 60 percent, read as a share
    changes = pd.read_parquet(tmp_path / "out" / "deal_changes.parquet")
    # Hand-converted from the rows above, sorted by deal, time and field name.
    assert changes[[c.FIELD, c.OLD_VALUE, c.NEW_VALUE]].fillna("").values.tolist() == [
        ["amount", "", "1200.0"],
        ["amount", "1200.0", "1500.0"],
        ["expected_close_at", "2024-01-31T00:00:00+00:00", "2024-02-29T00:00:00+00:00"],
        ["forecast_category", "Pipeline", "Best Case"],
        ["probability", "0.1", "0.6"],
        ["stage", "prospecting", "qualification"],
    ]
    reasons = result.manifest["tables"][c.DEAL_CHANGES]["quarantine_reasons"]
    assert reasons == {"bad_value": 1, "orphan_event": 1}
