"""The report matrix on small and degenerate shapes (see test_report_matrix.py).

Deals only, no dates, one deal, no closed deal, every deal won: each notebook
runs, and a section whose inputs are missing says what is missing instead.
"""

from __future__ import annotations

import re

import pytest
from test_report_matrix import check_pages, text_of

CASES = ["deals_only", "no_timestamps", "one_deal", "no_closed_deal", "all_won"]


@pytest.mark.parametrize("case", CASES)
def test_every_page_runs_clean(shaped_pages, case):
    check_pages(shaped_pages(case), case)


def test_deals_only_pages_name_what_is_missing(shaped_pages):
    pages_, out = shaped_pages("deals_only")
    pipeline_page = text_of(pages_["01_pipeline_bottlenecks"])
    assert "Stage conversion is not computed: the data lacks the stage_events table" in (
        pipeline_page
    )
    assert "OpportunityHistory" in pipeline_page  # how to supply it
    assert "Experiments is not computed: the data lacks the assignments table" in text_of(
        pages_["02_ab_tests"]
    )
    assert "Feedback themes" not in text_of(pages_["03_win_loss"]) or "not computed" in text_of(
        pages_["03_win_loss"]
    )


def test_skipped_sections_are_listed_in_summary_json(shaped_pages):
    from analysis.present import read_summary

    _, out = shaped_pages("deals_only")
    summary = read_summary(out / "01_pipeline_bottlenecks")
    assert any("stage_events" in note for note in summary["not_computed"])
    assert summary["stage_conversion"] is None  # a skipped table is null, never a stale one
    assert not (out / "01_pipeline_bottlenecks" / "stage_conversion.csv").exists()


def test_data_without_dates_skips_time_sections_and_keeps_the_rest(shaped_pages):
    pages_, out = shaped_pages("no_timestamps")
    text = text_of(pages_["01_pipeline_bottlenecks"])
    assert "Sales velocity is not computed" in text
    winloss = text_of(pages_["03_win_loss"])
    assert "Compare loss reasons is not computed" in winloss
    assert "deals win" in winloss  # win rates still stand


def test_the_real_report_command_runs_a_deals_only_export(matrix_tables, tmp_path, capsys):
    # The runner itself (papermill kernels, HTML, index), not the in-process pages:
    # every notebook succeeds and no page shows a traceback or a missing value.
    from data_shapes import write_shape
    from notebook_pages import MISSING_MARKERS, _visible

    from analysis.cli import main

    folder = write_shape("deals_only", matrix_tables, tmp_path / "processed")
    reports = tmp_path / "reports"
    argv = ["report", "--data-dir", str(folder), "--reports-dir", str(reports), "--run-id", "r"]
    assert main([*argv, "--workers", "2"]) == 0
    assert capsys.readouterr().err.strip() == ""  # nothing an operator must act on
    pages = sorted((reports / "r").glob("*/*.html"))
    assert len(pages) == 10  # one per notebook of config/reports.yaml
    for html_page in pages:
        text = _visible(html_page.read_text(encoding="utf-8"))
        assert "Traceback" not in text and not re.search(r"\w+Warning:", text), html_page.name
        assert not MISSING_MARKERS.findall(text), (html_page.name, MISSING_MARKERS.findall(text))
    pipeline = _visible(
        (reports / "r" / "01_pipeline_bottlenecks" / "01_pipeline_bottlenecks.html").read_text(
            encoding="utf-8"
        )
    )
    assert "Stage conversion is not computed" in pipeline
