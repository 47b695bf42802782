"""The `make report` path through the command line: sample -> ingest -> report.

Provenance of expected values: the generator's ``truth.json`` (rows it wrote,
rows it planted as bad) and the library recomputing metrics on the same data.
"""

from __future__ import annotations

import hashlib
import json

import pytest

import analysis
from analysis.cli import main
from analysis.core import columns as c
from analysis.core import paths
from analysis.overview import summary as overview

N_DEALS, SEED = 1_500, 5


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    raw, processed, reports = root / "raw", root / "processed", root / "reports"
    sample_argv = ["sample", "--deals", str(N_DEALS), "--seed", str(SEED), "--out", str(raw)]
    assert main([*sample_argv, "--messy"]) == 0
    before = _hashes(raw)
    ingest_argv = ["ingest", "--source", str(raw), "--map", str(paths.SAMPLE_MAP_FILE)]
    assert main([*ingest_argv, "--out", str(processed)]) == 0
    report_argv = ["report", "--data-dir", str(processed), "--reports-dir", str(reports)]
    assert main([*report_argv, "--run-id", "e2e", "--workers", "2"]) == 0
    return raw, processed, reports, before


def test_raw_export_is_unchanged_by_ingest(pipeline_run):
    raw, _, _, before = pipeline_run
    assert _hashes(raw) == before


def test_every_input_row_is_accounted_for(pipeline_run):
    raw, processed, _, _ = pipeline_run
    truth = json.loads((raw / "truth.json").read_text())["messy"]
    manifest = json.loads((processed / "manifest.json").read_text())
    for table, written in truth["rows_written"].items():
        info = manifest["tables"][table]
        assert info["rows_in"] == written
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"]
        assert info["rows_clean"] == truth["expected_clean_rows"][table]


def test_index_links_every_notebooks_page(pipeline_run):
    _, _, reports, _ = pipeline_run
    index = (reports / "latest" / "index.html").read_text()
    for notebook in paths.NOTEBOOKS_DIR.glob("*.ipynb"):
        page = f"{notebook.stem}/{notebook.stem}.html"
        assert f'href="{page}"' in index and (reports / "latest" / page).exists()


def test_report_reflects_the_ingested_data(pipeline_run):
    raw, processed, reports, _ = pipeline_run
    assert (reports / "latest" / "index.html").exists()
    summary = json.loads((reports / "latest" / "00_data_overview" / "summary.json").read_text())
    # The generator's clean deal count: the planted bad rows were quarantined, not analysed.
    assert summary["overall"]["deals"] == N_DEALS
    expected = overview.outcome_summary(analysis.connect(processed), None).to_frame().iloc[0]
    assert summary["overall"]["win_rate"] == pytest.approx(expected[c.WIN_RATE])
    quarantined = json.loads((raw / "truth.json").read_text())["messy"]["expected_quarantine_total"]
    assert any(f"{sum(quarantined.values())} of" in line for line in summary["headline"])
