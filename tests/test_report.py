"""Tests for analysis.report: papermill runs, self-contained HTML, atomic publishing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

import analysis
from analysis import columns as c
from analysis import config, overview
from analysis.cli import main
from analysis.errors import InputError
from analysis.report import run_report
from analysis.report.html import external_references

OVERVIEW = "00_data_overview"


@pytest.fixture(scope="module")
def good_run(processed_folder, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    run = run_report(run_id="first", reports_dir=reports, data_dir=processed_folder)
    return run, reports


def test_run_publishes_index_html_and_latest(good_run):
    run, reports = good_run
    assert run.ok, run.summary()
    latest = reports / "latest"
    assert latest.is_symlink() and latest.resolve() == (reports / "first").resolve()
    index = (latest / "index.html").read_text()
    assert f'href="{OVERVIEW}/{OVERVIEW}.html"' in index
    assert "data manifest sha256" in index and "code version" in index
    assert (latest / "run.log").read_text().count("ok") >= 2
    assert not list(reports.glob(".*.partial"))


def test_leadership_html_is_self_contained_and_has_no_code(good_run):
    _, reports = good_run
    page = (reports / "latest" / OVERVIEW / f"{OVERVIEW}.html").read_text()
    assert external_references(page) == []
    assert "analysis.connect" not in page and "import analysis" not in page
    assert page.count("data:image/png;base64") >= 3  # the three charts, embedded
    assert "Findings" in page and "win rate" in page.lower()


def test_summary_json_matches_the_metrics_on_the_same_data(good_run, processed_folder):
    _, reports = good_run
    summary = json.loads((reports / "latest" / OVERVIEW / "summary.json").read_text())
    # Independent recomputation with the library on the same processed folder.
    expected = overview.outcome_summary(analysis.connect(processed_folder), None).to_frame().iloc[0]
    assert summary["overall"]["deals"] == expected["deals"]
    assert summary["overall"]["win_rate"] == pytest.approx(expected[overview.WIN_RATE])
    assert summary["headline"] and all(isinstance(s, str) for s in summary["headline"])
    assert (reports / "latest" / OVERVIEW / "outcomes_by_segment.csv").exists()


def test_non_default_parameters_reach_the_notebook(processed_folder, tmp_path):
    run = run_report(
        parameters={"period_start": "2025-07-01"},
        run_id="h2",
        reports_dir=tmp_path,
        data_dir=processed_folder,
    )
    assert run.ok, run.summary()
    summary = json.loads((tmp_path / "h2" / OVERVIEW / "summary.json").read_text())
    assert summary["parameters"]["period_start"] == "2025-07-01"
    ws = analysis.connect(processed_folder)
    expected = overview.outcome_summary(ws, None, start="2025-07-01").to_frame().iloc[0]
    assert summary["overall"]["deals"] == expected["deals"] < 400


def _broken_notebook(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Broken"),
        nbformat.v4.new_code_cell("data_dir = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('planted failure')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "99_broken.ipynb")


def test_failed_notebook_keeps_latest_and_its_executed_copy(processed_folder, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(config.NOTEBOOKS_DIR / f"{OVERVIEW}.ipynb", notebooks)
    reports = tmp_path / "reports"
    good = run_report(
        run_id="good", reports_dir=reports, data_dir=processed_folder, notebooks_dir=notebooks
    )
    assert good.ok
    _broken_notebook(notebooks)
    bad = run_report(
        run_id="bad", reports_dir=reports, data_dir=processed_folder, notebooks_dir=notebooks
    )
    assert not bad.ok
    by_name = {nb.name: nb for nb in bad.notebooks}
    assert by_name[OVERVIEW].ok and not by_name["99_broken"].ok
    assert "planted failure" in by_name["99_broken"].error
    assert (reports / "bad" / "99_broken" / "99_broken.ipynb").exists()
    assert "failed" in (reports / "bad" / "index.html").read_text()
    assert (reports / "latest").resolve() == (reports / "good").resolve()


def test_cli_report_exit_codes(processed_folder, tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _broken_notebook(notebooks)
    argv = ["report", "--reports-dir", str(tmp_path / "r"), "--data-dir", str(processed_folder)]
    # Unknown parameter: exit 2 before anything runs, nothing written.
    assert main([*argv, "-p", "no_such_param=1"]) == 2
    err = capsys.readouterr().err
    assert "no_such_param" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    # Malformed -p: exit 2.
    assert main([*argv, "-p", "novalue"]) == 2


def test_unknown_notebook_name_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no notebook named 'nope'"):
        run_report(notebooks=["nope"], reports_dir=tmp_path)


def test_deals_table_in_fixture_has_canonical_columns(processed_folder):
    ws = analysis.connect(processed_folder)
    assert set(ws.deals.columns) >= {c.DEAL_ID, c.CREATED_AT, c.OUTCOME, c.AMOUNT, c.SEGMENT}
