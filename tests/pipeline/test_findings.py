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
        }
    )
    b2b, b2c = pipeline_findings.bottleneck_sentences(ranking, "Q2")
    # Hand-formatted expectations from the row above.
    assert b2b.startswith(
        "B2B bottleneck: proposal → negotiation converted 40.0% in Q2 against 70.0%"
    )
    assert "-30 points [-45 to -15], adjusted p = 0.001" in b2b and "$250k" in b2b
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
