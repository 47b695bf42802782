"""Tests for number formatting (analysis.present.format) and generated findings."""

from __future__ import annotations

import math

import pandas as pd

from analysis.overview import findings as overview_findings
from analysis.pipeline import findings as pipeline_findings
from analysis.present import format as fmt


def test_formats():
    # Hand-checked strings.
    assert fmt.format_percent(0.63152) == "63.2%"
    assert fmt.format_percent(math.nan) == "n/a"
    assert fmt.format_rate(0.6316, 0.62, 0.643) == "63.2% [62.0–64.3]"
    assert fmt.format_count(8800) == "8,800"
    assert fmt.format_money(10_005_534) == "$10.0M"
    assert fmt.format_money(2360.91) == "$2,361"
    assert fmt.format_money(45_000) == "$45k"


def test_data_quality_sentence_counts_rows_once_per_table():
    quarantine = pd.DataFrame(
        {
            "table": ["deals", "deals", "stage_events"],
            "rows_in": [100, 100, 400],
            "rows_clean": [97, 97, 400],
            "rows_quarantined": [3, 3, 0],
            "reason": ["duplicate_id", "negative_amount", ""],
            "count": [2, 1, 0],
        }
    )
    sentence = overview_findings.data_quality_sentence(quarantine)
    # 3 of 500 input rows (deals 100 + events 400), hand-computed share 0.60%.
    assert sentence.startswith("3 of 500 input rows (0.60%)")
    assert "duplicate id (2)" in sentence and "negative amount (1)" in sentence


def test_overview_findings_mention_derived_history_and_open_deals():
    overall = pd.DataFrame(
        [
            {
                "deals": 10,
                "won": 4,
                "won_amount": 12_500.0,
                "lost": 4,
                "open": 2,
                "open_share": 0.2,
                "win_rate": 0.5,
                "ci_low": 0.2,
                "ci_high": 0.8,
            }
        ]
    )
    by_segment = overall.assign(segment="B2B")
    manifest = {"derived": {"stage_events": {"from": "deals.stage"}}}
    findings = overview_findings.overview_findings(by_segment, overall, pd.DataFrame(), manifest)
    assert findings[0].startswith("10 deals in the data: 4 won, 4 lost, 2 still open")
    assert "won revenue $12k" in findings[0]
    assert "50.0% [20.0–80.0]" in findings[0]
    assert any("derived" in f for f in findings)


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
