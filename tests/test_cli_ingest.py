"""`sales-workbench ingest` on real-world export shapes, through analysis.cli.main.

Each case is a file a real tool would write (Excel's cp1252 "CSV (semicolon)",
a UTF-8 export with a byte-order mark, mixed date formats, currency amounts)
or a broken export that must stop with exit 2, a message naming the file and
column, no traceback, and nothing written.
"""

from __future__ import annotations

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

from analysis.cli import main
from analysis.core import columns as c
from analysis.core import paths


def _run(capsys, src, out, *extra):
    code = main(["ingest", "--source", str(src), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured


SEMI_HEADER = "deal_id;created_at;outcome;amount;segment;owner_id"
SEMI_ROWS = ["D1;2024-01-05;won;1200;B2B;José Müller", "D2;2024-01-06;open;;B2C;Zoë Ærø"]


@pytest.mark.parametrize(
    ("encoding", "bom"), [("cp1252", b""), ("utf-8", b"\xef\xbb\xbf")], ids=["cp1252", "utf8-bom"]
)
def test_semicolon_exports_in_windows_encodings(tmp_path, capsys, encoding, bom):
    src = tmp_path / "src"
    src.mkdir()
    text = "\r\n".join([SEMI_HEADER, *SEMI_ROWS]) + "\r\n"
    (src / "deals.csv").write_bytes(bom + text.encode(encoding))
    code, captured = _run(capsys, src, tmp_path / "out")
    assert code == 0, captured.err
    assert "deals: 2 in, 2 clean, 0 quarantined" in captured.out
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert deals[c.OWNER_ID].tolist() == ["José Müller", "Zoë Ærø"]
    assert deals[c.DEAL_ID].tolist() == ["D1", "D2"]  # no BOM left on the first header


def test_mixed_date_formats(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment",
        [
            "A,2024-03-14,open,1,B2B",
            "B,2024-03-14T09:30:00Z,open,1,B2B",
            "C,03/14/2024,open,1,B2B",
            'D,"Mar 14, 2024",open,1,B2B',
            "E,14 Mar 2024,open,1,B2B",
            "F,2024-03-14 10:30:00+01:00,open,1,B2B",
        ],
    )
    code, captured = _run(capsys, src, tmp_path / "out")
    assert code == 0, captured.err
    created = pd.read_parquet(tmp_path / "out" / "deals.parquet")[c.CREATED_AT]
    day = pd.Timestamp("2024-03-14", tz="UTC")
    assert (created.dt.normalize() == day).all()
    assert created.iloc[1] == pd.Timestamp("2024-03-14 09:30", tz="UTC")
    assert created.iloc[5] == pd.Timestamp("2024-03-14 09:30", tz="UTC")


def test_currency_amounts_with_thousands_separators(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment",
        [
            'A,2024-01-01,won,"$1,200.50",B2B',
            'B,2024-01-01,won,"€12,345",B2B',
            "C,2024-01-01,won,300,B2B",
        ],
    )
    code, captured = _run(capsys, src, tmp_path / "out")
    assert code == 0, captured.err
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert deals[c.AMOUNT].tolist() == [1200.5, 12345.0, 300.0]
    assert deals[c.CURRENCY].tolist()[:2] == ["USD", "EUR"] and pd.isna(deals[c.CURRENCY].iloc[2])


def test_row_level_problems_are_quarantined_not_fatal(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        DEALS_HEADER,
        [
            *DEALS_ROWS,
            "N1,2024-01-05,won,-10,B2B,2024-02-01,won,R1",  # negative amount
            "DUP,2024-01-05,open,10,B2B,,proposal,R1",  # duplicate id, conflicting
            "DUP,2024-01-05,open,20,B2B,,proposal,R1",
            "S1,2024-01-05,open,10,B2B,,Haggling,R1",  # stage not in the config
            "C1,2024-03-05,lost,10,B2B,2024-02-01,lost,R1",  # closed before created
        ],
    )
    write_csv(
        src, "stage_events.csv", EVENTS_HEADER, [*EVENTS_ROWS, "NOBODY,prospecting,2024-01-01"]
    )
    code, captured = _run(capsys, src, tmp_path / "out")
    assert code == 0, captured.err
    assert "deals: 9 in, 4 clean, 5 quarantined" in captured.out
    q = read_quarantine(tmp_path / "out", c.DEALS)
    assert dict(zip(q[c.SOURCE_ROW], q[c.REASON], strict=True)) == {
        5: "negative_amount",
        6: "duplicate_id",
        7: "duplicate_id",
        8: "unknown_stage",
        9: "closed_before_created",
    }
    events = read_quarantine(tmp_path / "out", c.STAGE_EVENTS)
    assert events[c.REASON].tolist() == ["orphan_event"]
    assert events[c.DEAL_ID].tolist() == ["NOBODY"]


def _assert_structural(code, captured, out, *words):
    assert code == 2
    assert not out.exists()
    for word in words:
        assert word in captured.err, captured.err
    assert captured.err.count("\n") == 1  # one paragraph


def test_empty_file_exit_2_nothing_written(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes(b"")
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", "deals.csv", "empty")


def test_header_only_deals_exit_2(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(src, "deals.csv", DEALS_HEADER, [])
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", "deals.csv", "no data rows")


def test_missing_deal_id_exit_2_names_file_and_column(tmp_path, capsys):
    src = tmp_path / "src"
    header = DEALS_HEADER.replace("deal_id,", "")
    write_csv(src, "deals.csv", header, [r.split(",", 1)[1] for r in DEALS_ROWS])
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", "deals.csv", "'deal_id'")


def test_no_deals_file_exit_2(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(src, "stage_events.csv", EVENTS_HEADER, EVENTS_ROWS)
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", "no deals file", str(src))


def test_ragged_row_is_quarantined_with_its_row(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(src, "deals.csv", DEALS_HEADER, [*DEALS_ROWS, "D9,2024-01-01,won"])
    code, captured = _run(capsys, src, tmp_path / "out")
    assert code == 0, captured.err
    assert "deals: 5 in, 4 clean, 1 quarantined (malformed_row 1)" in captured.out
    q = read_quarantine(tmp_path / "out", c.DEALS)
    assert q[c.SOURCE_ROW].tolist() == [5] and q[c.REASON].tolist() == ["malformed_row"]
    assert q[[c.DEAL_ID, c.CREATED_AT, c.OUTCOME]].iloc[0].tolist() == ["D9", "2024-01-01", "won"]


def test_structural_error_leaves_existing_out_untouched(tmp_path, capsys):
    src = clean_export(tmp_path / "src")
    out = tmp_path / "out"
    assert _run(capsys, src, out)[0] == 0
    before = tree_digest(out)
    (src / "deals.csv").write_bytes(b"")
    code, captured = _run(capsys, src, out)
    assert code == 2 and "deals.csv" in captured.err
    assert tree_digest(out) == before


def test_refuses_raw_dir(tmp_path, capsys):
    src = clean_export(tmp_path / "src")
    code, captured = _run(capsys, src, paths.RAW_DIR / "out")
    assert code == 2 and "raw data folder" in captured.err
    assert not (paths.RAW_DIR / "out").exists()


def test_map_option_and_bad_map(tmp_path, capsys):
    src = clean_export(tmp_path / "src")
    bad = tmp_path / "map.yaml"
    bad.write_text("tables:\n  deals:\n    file: deals\n    colums: {}\n")
    code, captured = _run(capsys, src, tmp_path / "out", "--map", str(bad))
    _assert_structural(code, captured, tmp_path / "out", "map.yaml", "colums")


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ("options: {timezone: Europe/Berln}\n", "options.timezone"),
        ('options: {delimiter: ";;"}\n', "options.delimiter"),
        ("options: {delimiter: 5}\n", "options.delimiter"),
        ("options: {encoding: latin-42}\n", "options.encoding"),
        ("", "tables.deals.options.timezone"),
    ],
)
def test_bad_map_option_exit_2_names_the_key(tmp_path, capsys, options, key):
    src = clean_export(tmp_path / "src")
    table_options = "    options: {timezone: Mars/Olympus}\n" if key.startswith("tables") else ""
    bad = tmp_path / "map.yaml"
    bad.write_text(options + "tables:\n  deals:\n    file: deals\n" + table_options)
    code, captured = _run(capsys, src, tmp_path / "out", "--map", str(bad))
    _assert_structural(code, captured, tmp_path / "out", str(bad), f"column '{key}'")


def test_messages_name_the_file_by_its_full_path(tmp_path, capsys):
    # The path as given on the command line joined with the file name, for every
    # structural error raised while reading a table (not only the bare name).
    src = tmp_path / "src"
    write_csv(src, "deals.csv", DEALS_HEADER.replace("deal_id,", "id,"), DEALS_ROWS)
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", f"In file {src / 'deals.csv'},")
    clean_export(src)
    write_csv(src, "prospects.csv", "a", ["1"])  # not a table the workbench knows
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", f"In file {src / 'prospects.csv'}:")
    (src / "prospects.csv").unlink()
    write_csv(src, "leads.csv", "a", ["1"])  # a known table without its key column
    code, captured = _run(capsys, src, tmp_path / "out")
    _assert_structural(code, captured, tmp_path / "out", f"In file {src / 'leads.csv'}, column")


def test_a_crm_export_is_detected_and_the_files_read_are_named(tmp_path, capsys):
    from analysis.sample import generate_sample
    from analysis.sample.crm_exports import write_salesforce

    planted = write_salesforce(generate_sample(40, seed=2), tmp_path / "sf", seed=2)
    code, captured = _run(capsys, planted.folder, tmp_path / "out", "--timezone", planted.timezone)
    assert code == 0
    assert "Detected a salesforce export; read " in captured.out
    assert "Opportunity.csv" in captured.out and "OpportunityHistory.csv" in captured.out


@pytest.mark.parametrize(
    ("extra", "column", "match"),
    [
        (["--timezone", "Mars/Olympus"], "--timezone", "not a known IANA time zone"),
        (["--as-of", "last tuesday"], "--as-of", "not a date or time"),
        (["--from", "salesforce", "--map", "x.yaml"], "--from", "not both"),
        (["--amount-months", "0"], "--amount-months", "positive number of months"),
    ],
)
def test_bad_ingest_options_stop_with_exit_2_and_name_the_option(
    tmp_path, capsys, extra, column, match
):
    src = clean_export(tmp_path / "src")
    code, captured = _run(capsys, src, tmp_path / "out", *extra)
    assert code == 2
    assert match in captured.err and column in captured.err
    assert not (tmp_path / "out").exists()


def test_a_folder_no_one_knows_lists_files_columns_and_ways_forward(tmp_path, capsys):
    src = tmp_path / "src"
    write_csv(src, "export_2026.csv", "Name,Value,When", ["a,1,2024-01-01"])
    code, captured = _run(capsys, src, tmp_path / "out")
    assert code == 2
    assert "export_2026.csv (Name, Value, When)" in captured.err
    assert "--from" in captured.err and "--map" in captured.err


def test_the_crms_ingest_names_are_the_adapters_and_an_unknown_one_exits_2(tmp_path, capsys):
    from analysis.cli import CRM_NAMES
    from analysis.ingest.vendors import ADAPTERS

    assert CRM_NAMES == tuple(ADAPTERS)  # written out so that --help stays light
    code, captured = _run(
        capsys, clean_export(tmp_path / "src"), tmp_path / "out", "--from", "zoho"
    )
    assert code == 2 and "unknown source 'zoho'" in captured.err
