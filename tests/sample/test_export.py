"""Tests of the sample's CRM-style export (analysis.sample.export / messy) and its map.

Provenance: the expected bad-row counts are those the generator records in
``truth.json["messy"]``; here they are recounted from the written bytes with
plain Python (csv, codecs, regular expressions), independently of the writer.
The round trip through ``analysis.ingest`` with ``config/maps/sample.yaml``
checks the export against the data-model contract.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.core import columns as c
from analysis.core import paths
from analysis.core.fileio import sha256_file
from analysis.core.stages import load_stages
from analysis.ingest.colmap import load_column_map
from analysis.sample import SampleCRM, generate_sample, write_sample
from analysis.sample.export import TRUTH_FILE
from analysis.sample.labels import HEADERS, stage_labels

PIPELINE = load_stages().pipeline()


@pytest.fixture(scope="module")
def crm() -> SampleCRM:
    return generate_sample(4_000, seed=31)


@pytest.fixture(scope="module")
def clean_dir(crm, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "sample"
    write_sample(crm, out)
    return out


@pytest.fixture(scope="module")
def messy_dir(crm, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("messy") / "sample"
    write_sample(crm, out, messy=True)
    return out


def digests(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())}


def read_rows(path: Path, encoding: str, delimiter: str) -> list[dict[str, str]]:
    text = path.read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_writes_one_file_per_table_plus_truth_and_no_leftovers(crm, tmp_path):
    out = tmp_path / "nested" / "sample"
    written = write_sample(crm, out)
    assert [p.name for p in written] == [f"{t}.csv" for t in c.TABLES] + [TRUTH_FILE]
    assert all(p.parent == out and p.is_file() for p in written)
    assert sorted(p.name for p in out.parent.iterdir()) == ["sample"]  # temp folder removed
    assert json.loads((out / TRUTH_FILE).read_text(encoding="utf-8")) == crm.truth


@pytest.mark.parametrize("messy", [False, True])
def test_same_sample_gives_byte_identical_files(crm, tmp_path, messy):
    write_sample(crm, tmp_path / "a", messy=messy)
    write_sample(generate_sample(4_000, seed=31), tmp_path / "b", messy=messy)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_clean_export_uses_crm_headers_and_labels(clean_dir):
    deals = read_rows(clean_dir / "deals.csv", "utf-8", ",")
    assert list(deals[0])[:5] == [
        "Deal ID",
        "Deal Stage",
        "Deal Status",
        "Create Date",
        "Close Date",
    ]
    assert {r["Deal Status"] for r in deals} == {"Open", "Won", "Lost"}
    labels = {r["Deal Stage"] for r in deals}
    assert {"Closed Won", "Closed Lost"} <= labels
    events = read_rows(clean_dir / "stage_events.csv", "utf-8", ",")
    seen = {r["Stage"] for r in events}
    assert {"Qualified", "Discovery Call", "Demo", "Proposal Sent", "Closed Won"} <= seen
    assert all(PIPELINE.normalise(label) is not None for label in seen | labels)
    assert set(stage_labels(PIPELINE)) == set(PIPELINE.all_stages)


def test_sample_map_names_every_exported_column(clean_dir):
    cmap = load_column_map(paths.SAMPLE_MAP_FILE)
    for table in c.TABLES:
        header = next(
            csv.reader(io.StringIO((clean_dir / f"{table}.csv").read_text(encoding="utf-8")))
        )
        spec = cmap.tables[table]
        sources = {col.source for col in spec.columns.values()}
        assert sources <= set(header), table
        assert set(spec.columns) == set(HEADERS[table]), table


def test_messy_files_have_the_promised_encodings_and_formats(messy_dir):
    raw = (messy_dir / "deals.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # cp1252, with non-ASCII names, so encoding matters
    text = raw.decode("cp1252")
    assert text.splitlines()[0].count(";") == len(HEADERS[c.DEALS]) + 1  # + Owner, Company
    assert "Müller" in text or "Schröder" in text
    for name in ("reps.csv", "feedback.csv"):
        assert (messy_dir / name).read_bytes().startswith(b"\xef\xbb\xbf")
    deals = read_rows(messy_dir / "deals.csv", "cp1252", ";")
    created = [r["Create Date"] for r in deals]
    patterns = {
        "iso": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        "us": r"\d\d/\d\d/\d{4}",
        "offset": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d",
        "month_name": r"\d\d [A-Z][a-z]{2} \d{4}",
    }
    for name, pattern in patterns.items():
        assert any(re.fullmatch(pattern, v) for v in created), name
    amounts = [r["Amount"] for r in deals]
    assert any(re.fullmatch(r"\$\d{1,3}(,\d{3})+\.\d\d", a) for a in amounts)
    originals = [r["Amount (Original Currency)"] for r in deals]
    assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+,\d\d €", a) for a in originals)
    segments = {r["Segment"] for r in deals}
    assert segments - {"B2B", "B2C", ""}  # case / whitespace noise


def test_messy_truth_counts_match_the_bad_rows_in_the_files(messy_dir, crm):
    messy = json.loads((messy_dir / TRUTH_FILE).read_text(encoding="utf-8"))["messy"]
    deals = read_rows(messy_dir / "deals.csv", "cp1252", ";")
    ids = pd.Series([r["Deal ID"] for r in deals])
    counted = {
        "negative_amount": sum(r["Amount"].startswith("-") for r in deals),
        "duplicate_id": int(ids.duplicated(keep=False).sum()),
        "closed_before_created": sum(
            bool(r["Close Date"])
            and r["Create Date"].endswith("Z")
            and r["Close Date"].endswith("Z")
            and r["Close Date"] < r["Create Date"]
            for r in deals
        ),
        "unparseable_date": sum(
            r["Create Date"] in ("TBD", "2024-13-45", "31/02/2024", "yesterday") for r in deals
        ),
        "missing_required": sum(r["Segment"] == "" for r in deals),
        "bad_outcome": sum(
            r["Deal Status"].strip().lower() not in ("open", "won", "lost") for r in deals
        ),
    }
    assert counted == messy["expected_quarantine"][c.DEALS]
    assert sum(counted.values()) / len(crm.tables[c.DEALS]) < 0.01  # few, about 0.5 %
    events = read_rows(messy_dir / "stage_events.csv", "utf-8", ",")
    known = set(ids)
    counted_events = {
        "unknown_stage": sum(PIPELINE.normalise(r["Stage"]) is None for r in events),
        "orphan_event": sum(r["Deal ID"] not in known for r in events),
    }
    assert counted_events == messy["expected_quarantine"][c.STAGE_EVENTS]
    assert messy["rows_written"] == {
        c.DEALS: len(deals),
        c.STAGE_EVENTS: len(events),
        **{t: len(crm.tables[t]) for t in c.TABLES if t not in (c.DEALS, c.STAGE_EVENTS)},
    }


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_clean_export_ingests_back_to_the_same_tables(crm, clean_dir, tmp_path):
    from analysis.ingest import ingest

    ingest(clean_dir, tmp_path / "processed", map_path=paths.SAMPLE_MAP_FILE)
    manifest = json.loads((tmp_path / "processed" / paths.MANIFEST_FILENAME).read_text())
    for table, df in crm.tables.items():
        assert manifest["tables"][table]["rows_quarantined"] == 0, table
        got = pd.read_parquet(tmp_path / "processed" / f"{table}.parquet")[list(df.columns)]
        pd.testing.assert_frame_equal(_sorted(got), _sorted(df), check_dtype=False, obj=table)


def test_messy_export_quarantines_exactly_the_planted_rows(crm, messy_dir, tmp_path):
    from analysis.ingest import ingest

    ingest(messy_dir, tmp_path / "processed", map_path=paths.SAMPLE_MAP_FILE)
    manifest = json.loads((tmp_path / "processed" / paths.MANIFEST_FILENAME).read_text())
    messy = json.loads((messy_dir / TRUTH_FILE).read_text(encoding="utf-8"))["messy"]
    for table in c.TABLES:
        entry = manifest["tables"][table]
        assert entry["quarantine_reasons"] == messy["expected_quarantine"][table], table
        assert entry["rows_clean"] == messy["expected_clean_rows"][table], table
    got = pd.read_parquet(tmp_path / "processed" / "deals.parquet").set_index(c.DEAL_ID)
    want = crm.tables[c.DEALS].set_index(c.DEAL_ID).loc[got.index]
    # date-only create dates lose their time of day; everything else reads back exactly
    assert (got[c.CREATED_AT].dt.floor("D") == want[c.CREATED_AT].dt.floor("D")).all()
    for col in (
        c.AMOUNT,
        c.AMOUNT_ORIGINAL,
        c.SEGMENT,
        c.SOURCE,
        c.STAGE,
        c.QUAL_NEED,
        c.CLOSED_AT,
        c.REGION,
    ):
        pd.testing.assert_series_equal(got[col], want[col], check_dtype=False)


def test_cli_sample_command_writes_the_export(tmp_path, capsys):
    assert main(["sample", "--deals", "300", "--seed", "4", "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "deals.csv").is_file() and (tmp_path / "s" / TRUTH_FILE).is_file()
    assert "300" in capsys.readouterr().out
