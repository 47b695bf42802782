"""Tests of analysis.report.review: which run to compare with, and what changed since it.

Run folders are built by hand in ``tmp_path`` (``run.log``, ``index.html``
and the reports' ``summary.json``), with ``run.log`` mtimes set by
``os.utime`` so the order of runs is known. Every expected sentence is the
module's wording applied by hand to the figures written here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analysis.core import paths
from analysis.core.errors import InputError
from analysis.report.review import previous_run, since_last_review

T0 = 1_700_000_000  # a fixed epoch second; runs are T0, T0 + 100, ...


def make_run(reports: Path, name: str, at: float, *, ok: bool = True, index: bool = True) -> Path:
    """A run folder whose ``run.log`` was last written at ``at`` (epoch seconds)."""
    folder = reports / name
    folder.mkdir(parents=True)
    log = folder / "run.log"
    log.write_text(f"run {name} finished: {'ok' if ok else 'FAILED'}\n", encoding="utf-8")
    if index:
        (folder / "index.html").write_text("<html></html>", encoding="utf-8")
    os.utime(log, (at, at))
    return folder


def in_progress(reports: Path, name: str, at: float) -> Path:
    """The partial folder of a run still going: a log, no index yet."""
    folder = reports / f".{name}.partial"
    folder.mkdir(parents=True)
    log = folder / "run.log"
    log.write_text(f"run {name} started\n", encoding="utf-8")
    os.utime(log, (at, at))
    return folder


def write_summary(run: Path, report: str, summary: dict) -> None:
    folder = run / report
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


# previous_run ---------------------------------------------------------------


def test_previous_run_is_the_newest_finished_run_older_than_this_one(tmp_path):
    reports = tmp_path / "reports"
    make_run(reports, "r1", T0)
    r2 = make_run(reports, "r2", T0 + 100)
    this = in_progress(reports, "r3", T0 + 200)
    make_run(reports, "r4", T0 + 300)  # finished after this run's log: not earlier
    assert previous_run(this) == r2.resolve()
    # A finished run compares with the one before it, not with itself.
    assert previous_run(r2) == (reports / "r1").resolve()


def _failed(reports: Path) -> None:
    make_run(reports, "r2", T0 + 100, ok=False)


def _dot_folder(reports: Path) -> None:
    make_run(reports, ".x.partial", T0 + 100)


def _no_index(reports: Path) -> None:
    make_run(reports, "r2", T0 + 100, index=False)


def _symlink(reports: Path) -> None:
    # A finished run outside the reports folder, reachable only through a link
    # named like ``latest``: only the symlink check leaves it out.
    elsewhere = make_run(reports.parent / "elsewhere", "r2", T0 + 100)
    (reports / "latest").symlink_to(elsewhere, target_is_directory=True)


@pytest.mark.parametrize("decoy", [_failed, _dot_folder, _no_index, _symlink])
def test_previous_run_skips_what_is_not_a_successful_run(tmp_path, decoy):
    # Each decoy is newer than r1 and older than this run, so r1 is chosen
    # only when the decoy is skipped.
    reports = tmp_path / "reports"
    r1 = make_run(reports, "r1", T0)
    decoy(reports)
    this = in_progress(reports, "r3", T0 + 200)
    assert previous_run(this) == r1.resolve()


def test_a_first_run_has_no_previous_run(tmp_path):
    reports = tmp_path / "reports"
    make_run(reports, "r0", T0 - 100, ok=False)  # failed runs do not count
    this = in_progress(reports, "r1", T0)
    assert previous_run(this) is None


def test_compare_to_names_a_run_by_id_or_by_absolute_path(tmp_path):
    reports = tmp_path / "reports"
    r1 = make_run(reports, "r1", T0)
    make_run(reports, "r2", T0 + 100)  # the default, overridden below
    this = in_progress(reports, "r3", T0 + 200)
    assert previous_run(this, compare_to="r1") == r1.resolve()
    other = make_run(tmp_path / "archive", "q4-review", T0 - 1000)
    assert previous_run(this, compare_to=str(other)) == other.resolve()


@pytest.mark.parametrize("run_id", ["r404", "r2", "r0"])
def test_compare_to_a_missing_unfinished_or_failed_run_is_refused_by_name(tmp_path, run_id):
    # r404 does not exist; r2 has a log but no index.html (it never finished); r0 finished
    # with a failed notebook (its findings are incomplete, so it is no review to compare with).
    reports = tmp_path / "reports"
    make_run(reports, "r0", T0 - 100, ok=False)
    make_run(reports, "r1", T0)
    make_run(reports, "r2", T0 + 100, index=False)
    this = in_progress(reports, "r3", T0 + 200)
    with pytest.raises(InputError, match=repr(run_id)):
        previous_run(this, compare_to=run_id)


def test_no_run_dir_means_reports_latest(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    r1 = make_run(reports, "r1", T0)
    r2 = make_run(reports, "r2", T0 + 100)
    (reports / "latest").symlink_to("r2", target_is_directory=True)
    make_run(reports, "r3", T0 + 200, ok=False)  # failed after latest: latest stays r2
    monkeypatch.setattr(paths, "REPORTS_DIR", reports)
    assert previous_run(None) == r1.resolve()
    assert previous_run(None, compare_to="r2") == r2.resolve()


def test_no_reports_folder_yet_means_no_previous_run(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path / "never-created")
    assert previous_run(None) is None


# since_last_review ----------------------------------------------------------

BOTTLENECKS, EXPERIMENTS, TEAM = "01_pipeline_bottlenecks", "02_ab_tests", "04_team_performance"
FORECAST = "06_forecast"
SUMMARY = "00_executive_summary"


def drop(significant: bool, current: float = 0.12, baseline: float = 0.30) -> dict:
    return {
        "segment": "SMB",
        "stage": "Qualified",
        "next_stage": "Proposal",
        "significant_drop": significant,
        "conversion_current": current,
        "conversion_baseline": baseline,
    }


def verdict(experiment: str, decision: str) -> dict:
    return {"experiment_id": experiment, "decision": decision}


def flagged(owner: int, stage: str = "Proposal") -> dict:
    return {"owner_id": owner, "stage": stage}


def two_runs(tmp_path: Path, before: dict, now: dict) -> tuple[Path, Path]:
    """Runs r1 and r2 whose reports wrote ``{folder: summary}``."""
    reports = tmp_path / "reports"
    old, new = make_run(reports, "r1", T0), make_run(reports, "r2", T0 + 100)
    for run, summaries in ((old, before), (new, now)):
        for report, summary in summaries.items():
            write_summary(run, report, summary)
    return old, new


def test_a_first_run_says_so_and_has_no_changes(tmp_path):
    changes = since_last_review(tmp_path, None, period="Q2 2026")
    assert changes.previous is None
    assert changes.table.empty
    assert list(changes.table.columns) == ["what", "before", "now"]
    assert changes.sentences == (
        "This is the first run here: there is no earlier review to compare with.",
    )


# Each case: the two runs' summaries, the one table row and the one sentence
# expected. Percentages by hand: 0.12 -> 12%, 0.30 -> 30%.
CHANGES = {
    "new bottleneck": (
        {BOTTLENECKS: {"bottlenecks": [drop(False)]}},  # present before, not significant
        {BOTTLENECKS: {"bottlenecks": [drop(True)]}},
        ("New bottleneck", "none", "SMB Qualified → Proposal: 12%"),
        "New bottleneck: SMB Qualified → Proposal converts 12% against 30% before.",
    ),
    "cleared bottleneck": (
        {BOTTLENECKS: {"bottlenecks": [drop(True)]}},
        {BOTTLENECKS: {"bottlenecks": [drop(False)]}},
        ("Bottleneck cleared", "SMB Qualified → Proposal", "no significant drop"),
        "No longer a bottleneck: SMB Qualified → Proposal (a significant drop at the last review).",
    ),
    "changed verdict": (
        {EXPERIMENTS: {"verdicts": [verdict("E1", "keep running")]}},
        {EXPERIMENTS: {"verdicts": [verdict("E1", "ship B")]}},
        ("Experiment verdict", "keep running", "E1: ship B"),
        "Experiment E1 changed its verdict from 'keep running' to 'ship B'.",
    ),
    "new experiment": (
        {EXPERIMENTS: {"verdicts": []}},
        {EXPERIMENTS: {"verdicts": [verdict("E2", "stop")]}},
        ("Experiment verdict", "not running", "E2: stop"),
        "New experiment E2: stop.",
    ),
    "newly flagged rep": (
        {TEAM: {"flagged": []}},
        {TEAM: {"flagged": [flagged(17)]}},
        ("Rep flagged", "within limits", "17 at Proposal"),
        "Rep 17 is newly flagged at Proposal: below the team's limits.",
    ),
    "rep back within limits": (
        {TEAM: {"flagged": [flagged(17)]}},
        {TEAM: {"flagged": []}},
        ("Rep back within limits", "17 at Proposal", "within limits"),
        "Rep 17 is no longer flagged at Proposal.",
    ),
}


@pytest.mark.parametrize("case", list(CHANGES))
def test_each_change_gives_one_row_and_one_sentence(tmp_path, case):
    before, now, row, sentence = CHANGES[case]
    old, new = two_runs(tmp_path, before, now)
    changes = since_last_review(new, old)
    assert changes.previous == old
    assert [tuple(r) for r in changes.table.itertuples(index=False)] == [row]
    assert changes.sentences == (sentence,)


def test_changes_come_bottlenecks_first_then_verdicts_then_reps(tmp_path):
    before = {BOTTLENECKS: {"bottlenecks": [drop(True)]}, TEAM: {"flagged": [flagged(3)]}}
    now = {
        EXPERIMENTS: {"verdicts": [verdict("E2", "stop")]},
        TEAM: {"flagged": [flagged(17)]},
    }
    old, new = two_runs(tmp_path, before, now)
    changes = since_last_review(new, old)
    assert changes.table["what"].tolist() == [
        "Bottleneck cleared",
        "Experiment verdict",
        "Rep flagged",
        "Rep back within limits",
    ]
    assert len(changes.sentences) == 4


def test_unchanged_conclusions_give_one_sentence_saying_so(tmp_path):
    # The figures may move (conversion 12% -> 14%); the conclusions do not.
    before = {
        BOTTLENECKS: {"bottlenecks": [drop(True, current=0.12)]},
        EXPERIMENTS: {"verdicts": [verdict("E1", "ship B")]},
        TEAM: {"flagged": [flagged(17)]},
        SUMMARY: {"period": "Q2 2026"},
    }
    now = {**before, BOTTLENECKS: {"bottlenecks": [drop(True, current=0.14)]}}
    old, new = two_runs(tmp_path, before, now)
    changes = since_last_review(new, old, period="Q2 2026")
    assert changes.table.empty
    assert changes.sentences == (
        "Since the last review (r1) no bottleneck appeared or cleared, no experiment "
        "changed its verdict, no rep crossed the team's limits and the forecast did not move.",
    )


def test_a_forecast_that_moved_is_named_and_a_small_move_is_not(tmp_path):
    # Hand: 1,000,000 -> 1,100,000 is +10% (named); -> 1,005,000 is +0.5%, under the 1% line.
    window = ["2026-07-01", "2026-10-01"]

    def forecast(mean):
        return {FORECAST: {"forecast": {"sentence": "s", "window": window, "mean": mean}}}

    old, new = two_runs(tmp_path, forecast(1_000_000.0), forecast(1_100_000.0))
    changes = since_last_review(new, old)
    assert changes.table.to_dict("records") == [
        {"what": "Forecast", "before": "$1.0M", "now": "$1.1M"}
    ]
    assert changes.sentences == (
        "The forecast for 2026-07-01 to 2026-10-01 moved from $1.0M to $1.1M (+10%) since the "
        "last review.",
    )
    old, new = two_runs(tmp_path / "small", forecast(1_000_000.0), forecast(1_005_000.0))
    assert since_last_review(new, old).table.empty


def test_a_new_period_comes_first(tmp_path):
    before = {SUMMARY: {"period": "Q1 2026"}}
    now = {BOTTLENECKS: {"bottlenecks": [drop(True)]}}
    old, new = two_runs(tmp_path, before, now)
    changes = since_last_review(new, old, period="Q2 2026")
    assert changes.table.iloc[0].tolist() == ["Period reviewed", "Q1 2026", "Q2 2026"]
    assert changes.table["what"].tolist() == ["Period reviewed", "New bottleneck"]
    assert changes.sentences[0] == "The last review (r1) covered Q1 2026; this one covers Q2 2026."
    assert len(changes.sentences) == 2


def test_a_new_period_alone_still_says_nothing_else_changed(tmp_path):
    old, new = two_runs(tmp_path, {SUMMARY: {"period": "Q1 2026"}}, {})
    changes = since_last_review(new, old, period="Q2 2026")
    assert changes.table["what"].tolist() == ["Period reviewed"]
    assert len(changes.sentences) == 2
    assert changes.sentences[1].startswith("Since the last review (r1) no bottleneck appeared")


def test_per_pipeline_reports_name_their_pipeline(tmp_path):
    # The same drop, significant in the default pipeline before and in the
    # renewals pipeline now: two different bottlenecks, one cleared, one new.
    before = {BOTTLENECKS: {"bottlenecks": [drop(True)]}}
    now = {
        BOTTLENECKS: {"bottlenecks": [drop(False)]},
        f"{BOTTLENECKS}--renewals": {"bottlenecks": [drop(True)]},
        f"{TEAM}--renewals": {"flagged": [flagged(17)]},
    }
    old, new = two_runs(tmp_path, before, now)
    changes = since_last_review(new, old)
    assert [tuple(r) for r in changes.table.itertuples(index=False)] == [
        ("New bottleneck", "none", "SMB Qualified → Proposal (pipeline renewals): 12%"),
        ("Bottleneck cleared", "SMB Qualified → Proposal", "no significant drop"),
        ("Rep flagged", "within limits", "17 at Proposal"),
    ]
    assert changes.sentences[0] == (
        "New bottleneck: SMB Qualified → Proposal (pipeline renewals) converts 12% "
        "against 30% before."
    )
    assert "(pipeline renewals)" not in changes.sentences[1]
    assert changes.sentences[2] == (
        "Rep 17 is newly flagged at Proposal (pipeline renewals): below the team's limits."
    )
