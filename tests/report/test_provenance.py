"""Tests of analysis.report.provenance and the index title: what a run covers, said first."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import analysis
from analysis.engine.journey import data_cutoff
from analysis.report.index import COVERS, DATA_LINE, index_html
from analysis.report.provenance import data_line, run_line


def test_the_data_line_gives_the_cutoff_and_the_deals(processed_folder):
    # Expected values from the folder itself: its deal count and data_cutoff.
    deals = len(pd.read_parquet(processed_folder / "deals.parquet"))
    cutoff = data_cutoff(analysis.connect(processed_folder))
    line = data_line(processed_folder)
    assert line == f"Data through {cutoff.day} {cutoff:%B %Y} · {deals:,} deals"


def test_no_data_gives_no_data_line_and_the_run_line_stands_alone(tmp_path):
    assert data_line(tmp_path / "missing") is None
    started = dt.datetime(2026, 12, 2, 7, 0, tzinfo=dt.UTC)
    assert run_line(None, started, "r1") == "Run 2 December 2026 (r1)"
    assert run_line("Data through 30 June 2026 · 1 deal", started, "r1") == (
        "Data through 30 June 2026 · 1 deal · run 2 December 2026 (r1)"
    )


def test_the_index_is_titled_with_the_period_not_the_run_id():
    # Issue 18, item 5: the index was titled "Sales process report — <run id>".
    meta = {
        COVERS: "Data through 30 June 2026 · 5,000 deals · run 2 December 2026 (r1)",
        DATA_LINE: "Data through 30 June 2026 · 5,000 deals",
        "run id": "r1",
    }
    page = index_html("r1", [], meta)
    assert "<title>Sales process report — data through 30 June 2026</title>" in page
    assert '<div class="meta">Data through 30 June 2026 · 5,000 deals · run 2' in page
    assert page.count("run 2 December 2026") == 1  # not repeated in the about table
