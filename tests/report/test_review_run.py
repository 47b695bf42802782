"""The executive summary across two scheduled runs: scorecard, since the last review, actions.

Issue 18's check: the report runs twice on changed data. The first run's data
has nothing planted (no bottleneck, no weak rep); the second is the default
sample, with the planted B2B proposal drop and rep weakness (truth.json). The
second run's executive summary must compare with the first and name what
appeared, and rank actions with links that open.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd
import pytest
from conftest import make_processed_folder

from analysis.core import paths
from analysis.report import run_report
from analysis.sample import generate_sample
from analysis.sample.params import Plan

SUMMARY = "00_executive_summary"
ONLY = ["01_pipeline_bottlenecks", "04_team_performance", SUMMARY]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    quiet = dataclasses.replace(Plan(), weakness_odds=1.0, bottleneck_odds=1.0)
    before = make_processed_folder(
        tmp_path_factory.mktemp("before"), paths.DEFAULT_SAMPLE_DEALS, paths.DEFAULT_SEED, quiet
    )
    after = make_processed_folder(
        tmp_path_factory.mktemp("after"), paths.DEFAULT_SAMPLE_DEALS, paths.DEFAULT_SEED
    )
    reports = tmp_path_factory.mktemp("reports")
    runs = [
        run_report(notebooks=ONLY, run_id=run_id, reports_dir=reports, data_dir=data, workers=2)
        for run_id, data in (("before", before), ("after", after))
    ]
    return runs, reports


def _summary(reports, run_id) -> dict:
    return json.loads((reports / run_id / SUMMARY / "summary.json").read_text())


def test_both_runs_succeed_and_the_first_has_nothing_to_compare(two_runs):
    runs, reports = two_runs
    assert all(run.ok for run in runs), [run.summary() for run in runs]
    first = _summary(reports, "before")
    assert first["compared_with"] is None
    page = (reports / "before" / SUMMARY / f"{SUMMARY}.html").read_text()
    assert "This is the first run here: there is no earlier review to compare with." in page


def test_second_run_names_what_appeared_since_the_first(two_runs):
    _, reports = two_runs
    second = _summary(reports, "after")
    assert second["compared_with"] == "before"
    changes = pd.read_csv(reports / "after" / SUMMARY / "since_last_review.csv")
    truth = generate_sample().truth  # planted in the second run's data only
    drop, weak = truth["bottleneck"], truth["rep_weakness"]
    new = changes[changes["what"] == "New bottleneck"]["now"].tolist()
    assert any(f"{drop['segment']} {drop['stage']} → {drop['next_stage']}" in n for n in new)
    flagged = changes[changes["what"] == "Rep flagged"]["now"].tolist()
    assert f"{weak['rep_id']} at {weak['stage']}" in flagged
    page = (reports / "after" / SUMMARY / f"{SUMMARY}.html").read_text()
    assert "Since the last review" in page and "New bottleneck:" in page


def test_actions_are_ranked_by_money_and_link_to_their_evidence(two_runs):
    _, reports = two_runs
    actions = pd.read_csv(reports / "after" / SUMMARY / "actions.csv")
    assert 1 <= len(actions) <= 3
    assert actions["money"].is_monotonic_decreasing
    page_dir = reports / "after" / SUMMARY
    page = (page_dir / f"{SUMMARY}.html").read_text()
    for link in actions["link"]:
        assert (page_dir / link).resolve().is_file()  # the evidence page exists in the run
        assert f'href="{link}"' in page
    assert _summary(reports, "after")["headline"][0] == actions["action"][0]


def test_scorecard_leads_the_page_with_values_intervals_and_trends(two_runs):
    _, reports = two_runs
    page = (reports / "after" / SUMMARY / f"{SUMMARY}.html").read_text()
    assert (
        page.index("Scorecard") < page.index("Since the last review") < page.index("What to act on")
    )
    assert "Since Q1 2026" in page and "Since Q2 2025" in page  # data through 30 June 2026
    assert len(re.findall(r'<img [^>]*class="sparkline"', page)) >= 30  # a trend per row
    card = pd.read_csv(reports / "after" / SUMMARY / "scorecard.csv")
    assert set(card["segment"]) == {"B2B", "B2C", "All"}
    assert card["value"].notna().all() and (card["ci_low"] <= card["value"]).all()
