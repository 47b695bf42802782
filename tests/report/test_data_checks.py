"""Tests of analysis.report.data_checks: parameters the data cannot satisfy stop the run first.

The processed folder is the session sample (tests/conftest.py: segments B2B and
B2C, the default pipeline of config/stages.yaml); the notebooks are tiny ones
declaring the parameters, so each check is seen without running an analysis.
"""

from __future__ import annotations

import pytest
from report_helpers import write_notebook

from analysis.cli import main
from analysis.core.errors import InputError
from analysis.report.data_checks import check_has_deals, check_parameters_against_data
from analysis.report.plan import NotebookJob

PARAMS = "data_dir = None\npipeline_name = None\nsegments = None\nqualified_stage = None"


def _job(**parameters) -> NotebookJob:
    return NotebookJob("01_x", None, parameters, frozenset())


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"segments": ["B2X"]},
            "names segment 'B2X', which no deal has; the data's segments are B2B, B2C",
        ),
        ({"segments": "B2x"}, "names segment 'B2x'"),
        ({"segments": 5}, "expects a list of segments such as ['B2B'], got 5"),
        ({"qualified_stage": "Qualification"}, "did you mean 'qualification'?"),
        ({"qualified_stage": "won"}, "'won', not a stage of pipeline 'default'"),
        ({"pipeline_name": "renewals"}, "there is no pipeline 'renewals'; this data has: default"),
    ],
)
def test_values_the_data_does_not_have_are_refused(processed_folder, parameters, message):
    with pytest.raises(InputError, match="notebook 01_x: ") as info:
        check_parameters_against_data([_job(**parameters)], processed_folder)
    assert message in info.value.message
    assert info.value.column == "-p"


@pytest.mark.parametrize(
    "parameters",
    [{}, {"segments": ["B2B"]}, {"segments": "B2C"}, {"qualified_stage": "discovery"},
     {"conversion_stage": "won"}, {"pipeline_name": "default", "segments": []}],
)  # fmt: skip
def test_values_the_data_has_pass(processed_folder, parameters):
    check_parameters_against_data([_job(**parameters)], processed_folder)


def test_no_processed_data_is_left_to_the_notebooks(tmp_path):
    check_parameters_against_data([_job(segments=["B2X"])], tmp_path / "missing")


def test_the_report_command_exits_2_before_any_notebook_runs(processed_folder, tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder, "01_x", PARAMS, "raise RuntimeError('ran')")
    code = main(
        ["report", "--data-dir", str(processed_folder), "--reports-dir", str(tmp_path / "r"),
         "--notebooks-dir", str(folder), "--config", "none", "-p", 'segments=["B2X"]']
    )  # fmt: skip
    assert code == 2
    assert "which no deal has" in capsys.readouterr().err
    assert not list((tmp_path / "r").glob("*/01_x*"))


def test_an_empty_deals_table_stops_the_run(processed_folder, tmp_path):
    import pandas as pd

    deals = pd.read_parquet(processed_folder / "deals.parquet").iloc[:0]
    deals.to_parquet(tmp_path / "deals.parquet")
    with pytest.raises(InputError, match="the deals table has no rows"):
        check_has_deals(tmp_path)
