"""Tests for analysis.report: papermill runs, self-contained HTML, atomic publishing."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import nbformat
import pandas as pd
import pytest
from browser_helpers import VIEWS, chromium_or_skip, open_offline
from report_helpers import write_notebook

import analysis
from analysis.cli import main
from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import InputError
from analysis.report import run_report
from analysis.report.html import external_references

OVERVIEW = "00_data_overview"
PIPELINE = "01_pipeline_bottlenecks"


# Every notebook runs here with non-default parameters (the default run is the
# end-to-end test and the nbval test); two at a time, as a scheduled run would.
NON_DEFAULT = {"period_start": "2025-07-01", "alpha": 0.1, "correction": "fdr_bh"}


@pytest.fixture(scope="module")
def good_run(processed_folder, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        # DESIGN.md pitfall: MPLBACKEND=Agg under papermill drops figures; the runner unsets it.
        mp.setenv("MPLBACKEND", "Agg")
        run = run_report(
            parameters=NON_DEFAULT,
            run_id="first",
            reports_dir=reports,
            data_dir=processed_folder,
            workers=2,
        )
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
    deals = deals[deals[c.CREATED_AT] >= pd.Timestamp(NON_DEFAULT["period_start"], tz="UTC")]
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


def test_non_default_parameters_reach_the_notebooks(good_run, processed_folder):
    run, reports = good_run
    summary = json.loads((reports / "first" / OVERVIEW / "summary.json").read_text())
    assert summary["parameters"]["period_start"] == "2025-07-01"
    pipeline = json.loads((reports / "first" / PIPELINE / "summary.json").read_text())
    assert pipeline["parameters"]["current"].startswith("2025-07-01 to ")
    assert pipeline["parameters"]["alpha"] == 0.1
    deals = pd.read_parquet(processed_folder / "deals.parquet")
    # Independent count: pandas on the fixture's Parquet.
    expected = int((deals[c.CREATED_AT] >= pd.Timestamp("2025-07-01", tz="UTC")).sum())
    assert summary["overall"]["deals"] == expected < len(deals)
    for nb in run.notebooks:
        declared = nbformat.read(paths.NOTEBOOKS_DIR / f"{nb.name}.ipynb", as_version=4)
        source = "".join(
            c.source for c in declared.cells if "parameters" in c.metadata.get("tags", [])
        )
        if "alpha" in source:
            assert nb.parameters["alpha"] == 0.1, nb.name


def test_every_notebook_ran_and_the_summary_came_last(good_run):
    run, reports = good_run
    names = [nb.name for nb in run.notebooks]
    assert set(names) == {p.stem for p in paths.NOTEBOOKS_DIR.glob("*.ipynb")}
    assert names[-1] == "00_executive_summary"
    log = (reports / "first" / "run.log").read_text()
    assert log.index("00_executive_summary: started") > max(
        log.index(f"{n}: ok") for n in names if n != "00_executive_summary"
    )


def test_executive_summary_repeats_each_reports_lead_finding(good_run):
    _, reports = good_run
    run_dir = reports / "first"
    summary = json.loads((run_dir / "00_executive_summary" / "summary.json").read_text())
    for folder in run_dir.iterdir():
        own = folder / "summary.json"
        if folder.name == "00_executive_summary" or not own.exists():
            continue
        lead = json.loads(own.read_text())["headline"][0]
        assert lead in summary["headline"], folder.name
    page = (run_dir / "00_executive_summary" / "00_executive_summary.html").read_text()
    assert "Top findings" in page and "import analysis" not in page
    index = (run_dir / "index.html").read_text()
    assert index.index("Executive summary") < index.index("Data overview")


def test_failed_notebook_keeps_latest_and_its_executed_copy(processed_folder, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(paths.NOTEBOOKS_DIR / f"{OVERVIEW}.ipynb", notebooks)
    reports = tmp_path / "reports"
    good = run_report(
        run_id="good",
        reports_dir=reports,
        data_dir=processed_folder,
        notebooks_dir=notebooks,
        config_path=None,
    )
    assert good.ok
    write_notebook(
        notebooks, "99_broken", "data_dir = None", "raise RuntimeError('planted failure')"
    )
    bad = run_report(
        run_id="bad",
        reports_dir=reports,
        data_dir=processed_folder,
        notebooks_dir=notebooks,
        config_path=None,
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
    write_notebook(
        notebooks, "99_broken", "data_dir = None", "raise RuntimeError('planted failure')"
    )
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


def test_pages_render_in_a_real_browser_with_the_network_off(good_run):
    executable = chromium_or_skip()
    run = good_run[0].path
    pages = [run / "index.html", *sorted(run.glob("*/*.html"))]
    # Kept with the run, for a person to look at: screenshots/<page>--<view>.png.
    checks = open_offline(pages, run / "screenshots", executable)
    problems = [f"{check.name}: {p}" for check in checks for p in check.problems]
    assert not problems, "\n".join(problems)
    for check in checks:
        for view in VIEWS:
            shot = check.views[view.name].screenshot
            assert shot == run / "screenshots" / f"{check.name}--{view.name}.png"
            assert shot.stat().st_size > 10_000, shot.name  # a screenshot, not a blank
    by_page = {check.name: check for check in checks}
    index, overview_page = by_page["index"], by_page[OVERVIEW]
    assert "Data overview" in index.text and "About this run" in index.text
    assert overview_page.images >= 3  # the overview's charts, each drawn with a size


class _References(HTMLParser):
    """Every src/href value and every CSS url() in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [v or "" for k, v in attrs if k in {"src", "href", "srcset", "action"}]

    def handle_data(self, data):
        self.found += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)


def test_no_page_of_the_run_references_anything_outside_the_run(good_run):
    _, reports = good_run
    pages = sorted((reports / "first").rglob("*.html"))
    assert len(pages) == len(list(paths.NOTEBOOKS_DIR.glob("*.ipynb"))) + 1  # + index
    for path in pages:
        parser = _References()
        parser.feed(path.read_text())
        run = (reports / "first").resolve()
        for ref in parser.found:
            # Embedded images, in-page anchors and relative links within the run only
            # (a page links back to the run's index as ../index.html).
            relative = ":" not in ref.split("/")[0] and not ref.startswith("//")
            inside = relative and (path.parent / ref).resolve().is_relative_to(run)
            local = ref.startswith(("data:image/", "#")) or inside
            assert local, f"{path.name}: {ref[:80]}"
