"""Tests for generated bottleneck findings (analysis.pipeline.findings)."""

from __future__ import annotations

import pandas as pd

from analysis.pipeline import findings as pipeline_findings


def test_bottleneck_sentences_name_the_drop_or_say_there_is_none():
    ranking = pd.DataFrame(
        {
            "segment": ["B2B", "B2B", "B2C"],
            "rank": [1, 2, 1],
            "stage": ["proposal", "discovery", "proposal"],
            "next_stage": ["negotiation", "presentation", "negotiation"],
            "conversion_current": [0.40, 0.70, 0.75],
            "conversion_baseline": [0.70, 0.72, 0.76],
            "difference": [-0.30, -0.02, -0.01],
            "diff_ci_low": [-0.45, -0.10, -0.05],
            "diff_ci_high": [-0.15, 0.06, 0.03],
            "p_adjusted": [0.0012, 1.0, 1.0],
            "significant_drop": [True, False, False],
            "revenue_impact": [250_000.0, 1_000.0, 500.0],
            "note": ["", "", ""],
            "horizon_days": [38.0, 30.0, 5.0],
            "mature": [True, True, True],
        }
    )
    b2b, b2c = pipeline_findings.bottleneck_sentences(ranking, "Q2")
    # Hand-formatted expectations from the row above.
    assert b2b.startswith(
        "B2B bottleneck: proposal → negotiation converted 40.0% in Q2 against 70.0%"
    )
    assert "-30 points [-45 to -15, adjusted for the stages tested], adjusted p = 0.001" in b2b
    assert "$250k" in b2b
    assert "(decisions within 38 days of entering proposal, the same clock for both)" in b2b
    assert b2c.startswith("B2C: no stage transition converted significantly worse in Q2")


def test_undated_closes_say_how_many_were_backdated():
    from types import SimpleNamespace

    from analysis.pipeline.findings import undated_close_sentences

    # A stand-in TimeToClose: 3 won and 5 lost undated, 2 of them backdated, 40 dated.
    close = SimpleNamespace(
        n_won_undated=3, n_lost_undated=5, n_backdated=2, durations=pd.DataFrame({"count": [40]})
    )
    (sentence,) = undated_close_sentences(close)
    assert sentence.startswith("8 closed deals have no close date (3 won, 5 lost, 2 of them")
    assert "other 40 deals" in sentence


def test_an_immature_drop_is_not_a_bottleneck_but_says_when_it_can_be_read():
    # Issue 19, case 6: an improvement ranked first in the bottleneck table while the
    # planted drop, immature, ranked last. Hand-built ranking: a significant improvement
    # (mature) and a significant drop that only 30% of entrants could be followed for.
    from analysis.pipeline.bottlenecks import views

    ranking = pd.DataFrame(
        {
            "segment": ["B2B", "B2B"],
            "rank": [1, 2],
            "stage": ["discovery", "proposal"],
            "next_stage": ["presentation", "negotiation"],
            "conversion_current": [0.90, 0.45],
            "conversion_baseline": [0.72, 0.69],
            "difference": [0.18, -0.24],
            "diff_ci_low": [0.05, -0.40],
            "diff_ci_high": [0.30, -0.08],
            "p_adjusted": [0.01, 0.02],
            "significant_drop": [False, True],
            "revenue_impact": [-50_000.0, 386_000.0],
            "note": ["", "immature"],
            "horizon_days": [20.0, 40.0],
            "mature": [True, False],
            "followed_share_current": [0.9, 0.3],
            "open_share_current": [0.05, 0.1],
            "readable_from": pd.to_datetime([None, "2026-07-12"], utc=True),
        }
    )
    assert views.drops(ranking).empty  # the only drop is not readable yet
    assert views.improvements(ranking)["stage"].tolist() == ["discovery"]
    pending = views.not_yet_readable(ranking)
    assert pending["readable_when"].tolist() == [
        "from 2026-07-12, when half of this window's entrants will have been followed for 40 days"
    ]
    first, second = pipeline_findings.bottleneck_sentences(ranking, "Q2")
    assert first.startswith("B2B: no stage transition converted significantly worse")
    assert second.startswith("B2B: proposal → negotiation looks lower in Q2")
    assert "cannot be read yet: from 2026-07-12" in second


def test_rows_without_a_horizon_or_decided_deals_say_what_they_need():
    from analysis.pipeline.bottlenecks import views

    ranking = pd.DataFrame(
        {
            "segment": ["B2B", "B2B"], "stage": ["proposal", "negotiation"],
            "difference": [float("nan")] * 2, "mature": [False, True],
            "horizon_days": [float("nan"), 30.0], "followed_share_current": [0.0, 1.0],
            "open_share_current": [float("nan"), 0.0],
            "note": ["no_horizon; immature", "no_decided_current"],
        }
    )  # fmt: skip
    assert views.not_yet_readable(ranking)["readable_when"].tolist() == [
        "needs decided deals in the baseline to set the follow-up horizon",
        "needs decided deals in both windows (no_decided_current)",
    ]


def test_bottleneck_actions_rank_readable_drops_by_money():
    ranking = pd.DataFrame(
        {
            "segment": ["B2B", "B2C", "B2B"],
            "rank": [1, 1, 2],
            "stage": ["proposal", "discovery", "qualification"],
            "next_stage": ["negotiation", "presentation", "discovery"],
            "conversion_current": [0.45, 0.60, 0.70],
            "conversion_baseline": [0.69, 0.75, 0.71],
            "difference": [-0.24, -0.15, -0.01],
            "diff_ci_low": [-0.46, -0.25, -0.1],
            "diff_ci_high": [-0.01, -0.05, 0.08],
            "p_adjusted": [0.03, 0.01, 1.0],
            "significant_drop": [True, True, False],
            "revenue_impact": [386_000.0, 912_000.0, 5_000.0],
            "window_days": [91.0, 91.0, 91.0],
            "note": ["", "", ""],
            "mature": [True, True, True],
        }
    )
    first, second = pipeline_findings.bottleneck_actions(ranking)
    # Hand-formatted from the rows: the larger sum first; the non-significant row is no action.
    assert first == {
        "action": "Find out why Discovery → presentation in B2C fell from 75% to 60%: about "
        "$912k of won revenue a quarter rides on it.",
        "money": 912_000.0,
    }
    assert second["money"] == 386_000.0 and "from 69% to 45%" in second["action"]
    assert pipeline_findings.bottleneck_actions(None) == []
