"""Tests for analysis.report: papermill runs, self-contained HTML, atomic publishing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import analysis
from analysis import columns as c
from analysis import config
from analysis.cli import main
from analysis.errors import InputError
from analysis.report import run_report
from analysis.report.html import external_references

OVERVIEW = "00_data_overview"
PIPELINE = "01_pipeline_bottlenecks"


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


def test_summary_json_matches_counts_taken_from_the_data(good_run, processed_folder):
    _, reports = good_run
    summary = json.loads((reports / "latest" / OVERVIEW / "summary.json").read_text())
    # Independent source: pandas counts on the fixture's Parquet, not the library.
    deals = pd.read_parquet(processed_folder / "deals.parquet")
    counts = deals[c.OUTCOME].value_counts()
    assert summary["overall"]["deals"] == len(deals)
    assert summary["overall"]["won"] == counts[c.WON]
    assert summary["overall"]["open"] == counts[c.OPEN]
    assert summary["overall"]["win_rate"] == pytest.approx(
        counts[c.WON] / (counts[c.WON] + counts[c.LOST])
    )
    by_segment = {row[c.SEGMENT]: row for row in summary["by_segment"]}
    for segment, group in deals.groupby(c.SEGMENT):
        assert by_segment[segment]["deals"] == len(group)
    assert summary["headline"] and all(isinstance(s, str) for s in summary["headline"])
    assert (reports / "latest" / OVERVIEW / "outcomes_by_segment.csv").exists()


def test_non_default_parameters_reach_the_notebook(processed_folder, tmp_path, monkeypatch):
    # DESIGN.md pitfall: MPLBACKEND=Agg under papermill drops figures; the runner unsets it.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    run = run_report(
        parameters={"period_start": "2025-07-01"},
        run_id="h2",
        reports_dir=tmp_path,
        data_dir=processed_folder,
    )
    assert run.ok, run.summary()
    summary = json.loads((tmp_path / "h2" / OVERVIEW / "summary.json").read_text())
    assert summary["parameters"]["period_start"] == "2025-07-01"
    pipeline = json.loads((tmp_path / "h2" / PIPELINE / "summary.json").read_text())
    assert pipeline["parameters"]["current"].startswith("2025-07-01 to ")
    page = (tmp_path / "h2" / OVERVIEW / f"{OVERVIEW}.html").read_text()
    assert page.count("data:image/png;base64") >= 3
    deals = pd.read_parquet(processed_folder / "deals.parquet")
    expected = int((deals[c.CREATED_AT] >= pd.Timestamp("2025-07-01", tz="UTC")).sum())
    assert summary["overall"]["deals"] == expected < len(deals)


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


def test_a_notebook_that_cannot_start_fails_alone(processed_folder, tmp_path, monkeypatch):
    import papermill

    def no_kernel(*args, **kwargs):
        raise RuntimeError("No such kernel named python3")

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    run = run_report(run_id="nokernel", reports_dir=tmp_path, data_dir=processed_folder)
    assert not run.ok and "No such kernel" in run.notebooks[0].error
    assert (tmp_path / "nokernel" / "index.html").exists()
    assert not (tmp_path / "latest").exists()
    assert not list(tmp_path.glob(".*.partial"))
