"""Planted truth: the sample generator's exports ingest back to its canonical tables.

Provenance: analysis.sample writes the export and, for the messy one, the
expected quarantine counts per reason in ``truth.json["messy"]``.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from ingest_helpers import tree_digest

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.stages import load_stages
from analysis.ingest import ingest, read_manifest
from analysis.ingest.write import sort_table

sample = pytest.importorskip("analysis.sample", reason="the sample generator is not available")

N_DEALS, SEED = 2_000, 11


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    crm = sample.generate_sample(N_DEALS, seed=SEED)
    root = tmp_path_factory.mktemp("sample")
    results = {}
    for kind, messy in (("clean", False), ("messy", True)):
        sample.write_sample(crm, root / kind, messy=messy)
        results[kind] = ingest(root / kind, root / f"out_{kind}", map_path=paths.SAMPLE_MAP_FILE)
    return crm, root, results


def _order():
    pipeline = load_stages().pipeline()
    return {s: pipeline.order(s) for s in pipeline.all_stages}


def test_clean_export_round_trips_exactly(exports):
    crm, root, results = exports
    for table, expected in crm.tables.items():
        got = pd.read_parquet(root / "out_clean" / f"{table}.parquet")
        expected = sort_table(table, expected, _order())
        pd.testing.assert_frame_equal(got[list(expected.columns)], expected, obj=table)
        info = results["clean"].manifest["tables"][table]
        assert info["rows_quarantined"] == 0 and info["rows_clean"] == len(expected)
    assert results["clean"].manifest["ignored_columns"][c.DEALS] == ["Owner", "Company"]


def test_messy_export_quarantines_what_was_planted(exports):
    crm, root, results = exports
    truth = json.loads((root / "messy" / "truth.json").read_text())["messy"]
    manifest = results["messy"].manifest
    for table, expected in truth["expected_quarantine"].items():
        info = manifest["tables"][table]
        assert info["quarantine_reasons"] == {k: v for k, v in expected.items() if v}, table
        assert info["rows_clean"] == truth["expected_clean_rows"][table], table
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table
    # The clean rows are the generator's rows (deal creation dates may lose their
    # time of day: the messy export writes some as date only).
    deals = pd.read_parquet(root / "out_messy" / "deals.parquet")
    expected = sort_table(c.DEALS, crm.tables[c.DEALS])
    pd.testing.assert_frame_equal(
        deals[list(expected.columns)].drop(columns=c.CREATED_AT),
        expected.drop(columns=c.CREATED_AT),
    )
    same_day = deals[c.CREATED_AT].dt.floor("D") == expected[c.CREATED_AT].dt.floor("D")
    assert same_day.all()
    bad_ids = set(truth["bad_ids"]["deals.negative_amount"])
    q = pd.read_parquet(root / "out_messy" / paths.QUARANTINE_DIRNAME / "deals.parquet")
    negative = q[q[c.REASON] == "negative_amount"]
    assert set(negative["Deal ID"]) == bad_ids


def test_messy_export_ingests_deterministically(tmp_path):
    # Determinism on realistic data: the messy export (mixed encodings and
    # delimiters, dirty rows, quarantine in every table) ingested twice gives
    # byte-identical Parquet, data and quarantine, and the same manifest apart
    # from its creation time.
    crm = sample.generate_sample(1_500, seed=3)
    sample.write_sample(crm, tmp_path / "messy", messy=True)
    runs = [
        ingest(tmp_path / "messy", tmp_path / name, map_path=paths.SAMPLE_MAP_FILE)
        for name in ("a", "b")
    ]
    a, b = (tree_digest(tmp_path / name) for name in ("a", "b"))
    parquet = {k for k in a if k.endswith(".parquet")}
    assert any(k.startswith(paths.QUARANTINE_DIRNAME) for k in parquet)
    assert {k: a[k] for k in parquet} == {k: b[k] for k in b if k.endswith(".parquet")}
    manifests = [{k: v for k, v in r.manifest.items() if k != "created_at"} for r in runs]
    assert manifests[0] == manifests[1]
    on_disk = [read_manifest(tmp_path / name) for name in ("a", "b")]
    assert [m.pop("created_at") is not None for m in on_disk] == [True, True]
    assert on_disk[0] == on_disk[1]


def test_an_export_without_leads_still_ingests_with_the_sample_map(exports, tmp_path):
    # Exports written before the sample had leads: the map marks leads optional.
    _, root, results = exports
    src = tmp_path / "no_leads"
    src.mkdir()
    for path in (root / "clean").iterdir():
        if path.stem != c.LEADS:
            (src / path.name).write_bytes(path.read_bytes())
    result = ingest(src, tmp_path / "out", map_path=paths.SAMPLE_MAP_FILE)
    assert c.LEADS not in result.manifest["tables"]
    assert any("optional table leads" in note for note in result.manifest["notes"])
    expected = {t: v for t, v in results["clean"].manifest["tables"].items() if t != c.LEADS}
    assert result.manifest["tables"] == expected  # every other table as with leads
