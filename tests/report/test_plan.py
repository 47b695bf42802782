"""Tests for analysis.report.plan: report config, relative periods, parameter checks.

Nothing here starts a kernel; papermill only reads the parameters cells.
"""

from __future__ import annotations

import pandas as pd
import pytest
from report_helpers import write_notebook

from analysis.core import paths
from analysis.core.errors import ConfigError, InputError
from analysis.core.paths import REPORTS_FILE
from analysis.report.plan import load_report_config, parse_cli_value, plan_run, relative_window

INJECTION = '1); import os; os.system("touch pwned")  #'


@pytest.mark.parametrize(
    ("name", "as_of", "expected"),
    [
        # Hand-counted on a calendar: 27 Nov 2026 is in Q4; the last full
        # quarter is Q3 (Jul-Sep), the one before Q2, the same quarter a year
        # earlier 2025Q3, the last full month October.
        ("last_full_quarter", "2026-11-27", ("2026-07-01", "2026-10-01")),
        ("previous_quarter", "2026-11-27", ("2026-04-01", "2026-07-01")),
        ("same_quarter_last_year", "2026-11-27", ("2025-07-01", "2025-10-01")),
        ("last_full_month", "2026-11-27", ("2026-10-01", "2026-11-01")),
        # On the first day of a quarter the quarter just ended is complete.
        ("last_full_quarter", "2026-07-01", ("2026-04-01", "2026-07-01")),
        # Year boundary: January counts back into the previous year.
        ("last_full_month", "2027-01-15", ("2026-12-01", "2027-01-01")),
        ("previous_quarter", "2027-01-15", ("2026-07-01", "2026-10-01")),
    ],
)
def test_relative_windows_by_hand(name, as_of, expected):
    assert relative_window(name, pd.Timestamp(as_of, tz="UTC")) == expected


def test_unknown_relative_period_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown period 'last_week'"):
        relative_window("last_week", pd.Timestamp("2026-11-27"))


def test_shipped_config_lists_every_notebook():
    listed = {e.name for e in load_report_config(REPORTS_FILE).notebooks}
    assert listed == {p.stem for p in paths.NOTEBOOKS_DIR.glob("*.ipynb")}


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1", 0.1), ("3", 3), ('["B2B"]', ["B2B"]), ("None", None), ("B2B", "B2B")],
)
def test_cli_values_are_literals_or_plain_strings(text, value):
    assert parse_cli_value(text) == value


def test_code_in_a_cli_value_stays_a_string():
    # literal_eval refuses calls and statements; the text is kept as data.
    assert parse_cli_value(INJECTION) == INJECTION
    assert parse_cli_value("__import__('os').system('touch pwned')") == (
        "__import__('os').system('touch pwned')"
    )


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder, "a", 'alpha = 0.05\nlabel = "x"\nsegments = None\ndata_dir = None')
    write_notebook(
        folder, "b", "period_start = None\nperiod_end = None\nflag = False\nn = 10\nrun_dir = None"
    )
    return folder


def _config(tmp_path, text):
    path = tmp_path / "reports.yaml"
    path.write_text(text)
    return load_report_config(path)


def test_plan_resolves_periods_and_puts_summaries_last(tmp_path, notebooks):
    cfg = _config(
        tmp_path,
        "notebooks:\n  - name: b\n    periods:\n      period: last_full_quarter\n  - a\n",
    )
    jobs = plan_run(cfg, None, {"alpha": 0.1}, notebooks, pd.Timestamp("2026-11-27", tz="UTC"))
    assert [j.name for j in jobs] == ["a", "b"]  # b declares run_dir: it runs last
    assert jobs[0].parameters == {"alpha": 0.1}
    assert jobs[1].parameters == {"period_start": "2026-07-01", "period_end": "2026-10-01"}
    assert jobs[1].summarises_run


def test_cli_values_are_converted_to_the_declared_type(notebooks):
    jobs = plan_run(None, ["b"], {"flag": "true", "n": 12.0}, notebooks, None)
    assert jobs[0].parameters == {"flag": True, "n": 12}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"alpha": "abc"}, "'alpha' expects float"),
        ({"alpha": INJECTION}, "'alpha' expects float"),
        ({"n": 1.5}, "'n' expects int"),
        ({"flag": "maybe"}, "'flag' expects bool"),
        ({"label": 3}, "'label' expects str"),
        ({"nope": 1}, "declares a parameter 'nope'"),
        ({"data_dir": "/tmp"}, "set by the runner"),
        # A number would be read as nanoseconds since 1970: a silently wrong window.
        ({"period_start": 20240101}, "'period_start' expects a date"),
        ({"period_end": "next tuesday"}, "'period_end' expects a date"),
        ({"period_start": "2026-05-01", "period_end": "2026-04-01"}, "is not before its end"),
    ],
)
def test_bad_parameters_stop_the_plan(notebooks, overrides, message):
    with pytest.raises(InputError, match=message):
        plan_run(None, None, overrides, notebooks, None)


def test_a_string_parameter_keeps_code_as_text(notebooks):
    jobs = plan_run(None, ["a"], {"label": INJECTION}, notebooks, None)
    assert jobs[0].parameters["label"] == INJECTION


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("notebooks:\n  - name: a\n    colour: red\n", "colour"),
        ("notebooks:\n  - name: b\n    periods:\n      period: last_week\n", "last_week"),
        ("as_of: tomorrow\nnotebooks: [a]\n", "as_of"),
        ("notebooks: []\n", "no notebooks"),
        ("notebooks: [a]\nnotebooks: [b]\n", "duplicate key"),
    ],
)
def test_bad_report_config_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, text)


def test_config_parameters_must_be_declared(tmp_path, notebooks):
    cfg = _config(tmp_path, "notebooks:\n  - name: a\n    parameters:\n      colour: red\n")
    with pytest.raises(InputError, match="declares no parameter 'colour'"):
        plan_run(cfg, None, {}, notebooks, None)
    cfg = _config(
        tmp_path, "notebooks:\n  - name: a\n    periods:\n      period: last_full_month\n"
    )
    with pytest.raises(InputError, match="period_start"):
        plan_run(cfg, None, {}, notebooks, pd.Timestamp("2026-11-27"))


def test_only_selects_from_the_config(tmp_path, notebooks):
    cfg = _config(tmp_path, "notebooks: [a, b]\n")
    assert [j.name for j in plan_run(cfg, ["b"], {}, notebooks, None)] == ["b"]
    with pytest.raises(InputError, match="no notebook named 'c'"):
        plan_run(cfg, ["c"], {}, notebooks, None)


def test_relative_periods_from_the_data_match_the_notebooks_default(processed_folder):
    # The notebooks' default window (periods.last_full_quarter of the data
    # cut-off) and the runner's `last_full_quarter` with as_of: data must agree,
    # including a cut-off during the quarter's last day.
    import analysis
    from analysis.engine import periods
    from analysis.engine.journey import data_cutoff
    from analysis.report.plan import ReportConfig
    from analysis.report.run import _as_of

    cfg = ReportConfig((), as_of="data")
    moment = _as_of(cfg, processed_folder)()
    expected = periods.last_full_quarter(data_cutoff(analysis.connect(processed_folder)))
    start, end = relative_window("last_full_quarter", moment)
    assert (start, end) == (f"{expected.start:%Y-%m-%d}", f"{expected.end:%Y-%m-%d}")
    assert (
        moment
        == (data_cutoff(analysis.connect(processed_folder)) + pd.Timedelta(days=1)).normalize()
    )


def test_data_without_deals_stops_the_report_with_exit_2_and_a_message(tmp_path, capsys):
    # Nothing to report on: the contract is exit 2 and a sentence before any
    # notebook runs. (Data without dates runs: see tests/test_report_matrix.py.)
    from analysis.cli import main
    from analysis.core import columns as c

    data = tmp_path / "processed"
    data.mkdir()
    deals = pd.DataFrame(
        {
            c.DEAL_ID: pd.Series([], dtype="string"),
            c.OUTCOME: pd.Series([], dtype="string"),
            c.SEGMENT: pd.Series([], dtype="string"),
            c.AMOUNT: pd.Series([], dtype="float64"),
            c.CREATED_AT: pd.Series([], dtype="datetime64[us, UTC]"),
        }
    )
    deals.to_parquet(data / f"{c.DEALS}.parquet")
    code = main(["report", "--data-dir", str(data), "--reports-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no rows" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_each_report_runs_once_per_pipeline_and_the_summary_once(tmp_path):
    from analysis.report.plan import per_pipeline, report_title

    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder, "a", "pipeline_name = None\nalpha = 0.05")
    write_notebook(folder, "s", "run_dir = None")
    jobs = plan_run(None, None, {"alpha": 0.1}, folder, None)
    expanded = per_pipeline(jobs, ["new_business", "renewals"])
    assert [j.name for j in expanded] == ["a", "a--renewals", "s"]
    assert [j.parameters.get("pipeline_name") for j in expanded] == [
        "new_business",
        "renewals",
        None,
    ]
    assert expanded[1].parameters["alpha"] == 0.1  # the run's own parameters stay
    assert per_pipeline(jobs, ["only_one"]) == jobs  # one pipeline: nothing changes
    assert report_title("Win/loss", "a--renewals") == "Win/loss — pipeline renewals"
    assert report_title("Win/loss", "a") == "Win/loss"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": 5}, "'alpha' must lie between 0 and 1"),
        ({"alpha": 0}, "'alpha' must lie between 0 and 1"),
        ({"correction": "magic"}, "'correction' must be one of holm"),
    ],
)
def test_values_every_notebook_would_refuse_stop_the_run_before_it_starts(tmp_path, params, match):
    # Issue 20: alpha=5 passed the up-front check and then failed every notebook.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder, "a", 'alpha = 0.05\ncorrection = "holm"')
    with pytest.raises(InputError, match=match) as info:
        plan_run(None, None, params, folder, None)
    assert info.value.column == "-p"
    assert plan_run(None, None, {"alpha": 0.1}, folder, None)[0].parameters == {"alpha": 0.1}
