"""Tests for analysis.report.outlook: the executive summary's forecast line."""

from __future__ import annotations

import json

from analysis.report.outlook import forecast_line


def _summary(folder, summary: dict) -> None:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def test_the_forecast_sentence_links_to_its_page_per_pipeline(tmp_path):
    # Hand: two forecast folders (the default pipeline and "Renewals"); the first has a
    # sentence, the second could not forecast; other reports are not read.
    sentence = "By 30 September: $1.0M expected [P10 $0.8M – P90 $1.2M]"
    _summary(tmp_path / "06_forecast", {"forecast": {"sentence": sentence}})
    _summary(tmp_path / "06_forecast--Renewals", {"forecast": {"sentence": None}})
    _summary(tmp_path / "01_pipeline_bottlenecks", {"forecast": {"sentence": "not this"}})
    lines = forecast_line(tmp_path).splitlines()
    # The sentence is the workbench's own, shown as on the forecast page (as the findings are).
    assert lines[0] == f"- {sentence} [evidence](../06_forecast/06_forecast.html)"
    assert lines[1].endswith("no forecast could be made ([why](../06_forecast--Renewals/"
                             "06_forecast--Renewals.html)).")  # fmt: skip
    assert len(lines) == 2


def test_a_run_without_a_forecast_report_says_so(tmp_path):
    assert forecast_line(tmp_path) == "No forecast report in this run."
