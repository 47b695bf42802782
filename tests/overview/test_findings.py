"""Tests for generated overview findings (analysis.overview.findings)."""

from __future__ import annotations

import pandas as pd

from analysis.overview import findings as overview_findings


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


def test_overview_findings_carry_ingest_warnings_and_entries_before_creation():
    manifest = {
        "warnings": ["deals.xlsx: 1 cell holds a formula ..."],
        "flags": {"before_created": 3},
    }
    findings = overview_findings.overview_findings(
        pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), manifest
    )
    assert "Ingest warned: deals.xlsx: 1 cell holds a formula ..." in findings
    assert any(f.startswith("3 stage entries are dated more than a day before") for f in findings)


def test_rows_the_crm_marks_are_told_apart_from_bad_rows():
    quarantine = pd.DataFrame(
        {
            "table": ["deals", "stage_events", "stage_events"],
            "rows_in": [103, 1300, 1300],
            "rows_clean": [100, 1080, 1080],
            "rows_quarantined": [3, 220, 220],
            "reason": ["deleted_in_source", "not_a_stage_change", "orphan_event"],
            "count": [3, 200, 20],
        }
    )
    sentence = overview_findings.data_quality_sentence(quarantine)
    # Hand count: 3 + 200 set aside as the CRM marks them; 20 of 1,403 rows (1.43%) bad.
    assert sentence.startswith("203 CRM rows were set aside as the CRM marks them")
    assert "deleted in the CRM (3)" in sentence
    assert "20 of 1,403 input rows (1.43%) were quarantined" in sentence
    assert "orphan event (20)" in sentence


def test_deals_without_a_segment_are_named_so():
    outcomes = pd.DataFrame(
        [{"segment": "unknown", "deals": 10, "open_share": 0.1, "win_rate": 0.5,
          "ci_low": 0.2, "ci_high": 0.8}]
    )  # fmt: skip
    (sentence,) = overview_findings.outcome_sentences(outcomes)
    assert sentence.startswith("Deals without a segment: 10 in the data")
