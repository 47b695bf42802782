"""Tests of analysis.report.actions: a run's actions ranked by money, linked to their evidence.

Run folders are built by hand in ``tmp_path``: each report folder holds the
``summary.json`` its notebook would write and, where a title is wanted, a
one-cell executed notebook. Expected rankings and counts are read off the
actions written here.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.core import paths
from analysis.report.actions import top_actions

BOTTLENECKS, TEAM, SUMMARY = (
    "01_pipeline_bottlenecks",
    "04_team_performance",
    "00_executive_summary",
)


def write_report(run: Path, folder: str, actions: list[dict], title: str | None = None) -> None:
    """A report folder with its ``summary.json`` and, given a title, its executed notebook."""
    out = run / folder
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"actions": actions}), encoding="utf-8")
    if title is not None:
        nb = {"cells": [{"cell_type": "markdown", "source": [f"# {title}\n", "Purpose.\n"]}]}
        (out / f"{folder}.ipynb").write_text(json.dumps(nb), encoding="utf-8")


def a_run(run: Path) -> Path:
    write_report(run, BOTTLENECKS, [
        {"action": "Fix the proposal stage", "money": 500.0},
        {"action": "Shorten qualification", "money": 100.0},
    ])  # fmt: skip
    write_report(run, TEAM, [
        {"action": "Coach rep 7", "money": 900.0},
        {"action": "Could not be priced", "money": None},  # NaN written as null
        {"action": "", "money": 50.0},  # no sentence
    ])  # fmt: skip
    write_report(run, SUMMARY, [{"action": "Copied headline", "money": 10_000.0}])
    (run / "03_win_loss").mkdir()  # a report that wrote no summary
    return run


def test_actions_are_ranked_by_money_across_reports(tmp_path):
    todo = top_actions(a_run(tmp_path), limit=2, exclude=(SUMMARY,))
    # By hand: 900 (team) > 500 > 100 (bottlenecks); the summary's 10,000 is excluded.
    assert todo.table["action"].tolist() == ["Coach rep 7", "Fix the proposal stage"]
    assert todo.table["money"].tolist() == [900.0, 500.0]
    assert todo.table["report"].tolist() == [TEAM, BOTTLENECKS]
    assert todo.table["link"].tolist() == [
        f"../{TEAM}/{TEAM}.html",
        f"../{BOTTLENECKS}/{BOTTLENECKS}.html",
    ]
    # No executed notebook beside the summaries: the folder name is the title.
    assert todo.table["title"].tolist() == [TEAM, BOTTLENECKS]
    # Three actions with a sentence and money outside the excluded folder.
    assert todo.considered == 3


def test_limit_keeps_the_most_money_and_exclude_skips_a_report(tmp_path):
    run = a_run(tmp_path)
    assert top_actions(run, limit=1).table["action"].tolist() == ["Copied headline"]
    assert top_actions(run, limit=1).considered == 4
    everything = top_actions(run, limit=10, exclude=(SUMMARY, TEAM))
    assert everything.table["money"].tolist() == [500.0, 100.0]
    assert everything.considered == 2


def test_equal_money_keeps_report_order(tmp_path):
    write_report(tmp_path, TEAM, [{"action": "Second", "money": 100.0}])
    write_report(tmp_path, BOTTLENECKS, [{"action": "First", "money": 100.0}])
    assert top_actions(tmp_path).table["action"].tolist() == ["First", "Second"]


def test_titles_come_from_the_executed_notebook_and_name_the_pipeline(tmp_path):
    renewals = f"{BOTTLENECKS}--renewals"
    write_report(tmp_path, renewals, [{"action": "Fix renewals", "money": 1.0}], "Bottlenecks")
    assert top_actions(tmp_path).table.iloc[0].to_dict() == {
        "action": "Fix renewals",
        "money": 1.0,
        "report": renewals,
        "title": "Bottlenecks — pipeline renewals",
        "link": f"../{renewals}/{renewals}.html",
    }


def test_as_markdown_numbers_the_actions_with_links_to_their_evidence(tmp_path):
    write_report(tmp_path, BOTTLENECKS, [{"action": "Fix the proposal stage", "money": 500.0}],
                 "Pipeline bottlenecks")  # fmt: skip
    write_report(tmp_path, TEAM, [{"action": "Coach rep 7", "money": 900.0}], "Team performance")
    assert top_actions(tmp_path).as_markdown() == (
        "1. Coach rep 7 [See Team performance](../04_team_performance/04_team_performance.html).\n"
        "2. Fix the proposal stage [See Pipeline bottlenecks]"
        "(../01_pipeline_bottlenecks/01_pipeline_bottlenecks.html)."
    )


def test_a_run_without_actions_has_nothing_to_act_on(tmp_path):
    write_report(tmp_path, BOTTLENECKS, [])
    for run in (tmp_path, tmp_path / "missing"):
        todo = top_actions(run)
        assert todo.table.empty
        assert todo.considered == 0
        assert todo.as_markdown().startswith("Nothing to act on:")


def test_no_run_dir_reads_reports_latest(tmp_path, monkeypatch):
    write_report(tmp_path / "r1", TEAM, [{"action": "Coach rep 7", "money": 900.0}])
    (tmp_path / "latest").symlink_to("r1", target_is_directory=True)
    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    assert top_actions(None).table["action"].tolist() == ["Coach rep 7"]


def test_markdown_in_an_action_shows_as_text(tmp_path):
    hostile = "Call **now** [here](javascript:alert(1)) <b>x</b>"
    write_report(tmp_path, TEAM, [{"action": hostile, "money": 1.0}], "Team performance")
    line = top_actions(tmp_path).as_markdown()
    # By hand, as analysis.present.redaction.escape_markdown does it: HTML
    # escaped, the javascript: scheme broken by a zero-width space, then each
    # Markdown special character backslash-escaped.
    escaped = (
        r"Call \*\*now\*\* \[here\]\(javascript" + "\u200b" + r":alert\(1\)\) &lt;b&gt;x&lt;/b&gt;"
    )
    assert line == (
        f"1. {escaped} [See Team performance](../04_team_performance/04_team_performance.html)."
    )
    assert line.count("](") == 1  # the only link is the evidence link
