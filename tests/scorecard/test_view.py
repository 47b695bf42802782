"""Tests for analysis.scorecard.view and .findings: the card in a reader's words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.core.types import Window
from analysis.scorecard import columns as c
from analysis.scorecard import scorecard_html, scorecard_sentences
from analysis.scorecard.card import ProcessScorecard
from analysis.scorecard.view import format_change, format_value, period_label, verdict


def _w(start, end):
    return Window(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))


def test_period_labels():
    assert period_label(_w("2026-04-01", "2026-07-01")) == "Q2 2026"
    assert period_label(_w("2026-03-01", "2026-04-01")) == "March 2026"
    assert period_label(_w("2026-03-05", "2026-03-19")) == "5 Mar 2026 – 18 Mar 2026"


@pytest.mark.parametrize(
    ("measure", "change", "text"),
    [
        (c.WIN_RATE, -0.2386, "-24 pts"),
        (c.WIN_RATE, -0.004, "±0 pts"),
        (c.DAYS_TO_WIN, 17.5, "+17.5 days"),
        (c.DAYS_TO_WIN, 1.0, "+1 day"),
        (c.CAC, 1.1548, "+15%"),
        (c.REVENUE_PER_REP, -7917.4, "-$7,917"),
    ],
)
def test_changes_in_words(measure, change, text):
    assert format_change(measure, change, "$") == text


def test_which_way_is_better():
    assert verdict(c.WIN_RATE, 0.1, True) == "better"
    assert verdict(c.DAYS_TO_WIN, 5.0, True) == "worse"  # slower is worse
    assert verdict(c.CAC, 1.2, True) == "worse"  # a ratio above 1 costs more
    assert verdict(c.CAC, 0.8, True) == "better"
    assert verdict(c.WIN_RATE, 0.1, False) == "no clear change"
    assert format_value(c.WIN_RATE, 0.5169, "$") == "52%"
    assert format_value(c.CAC, np.nan, "$") == "—"


def _card(beyond: bool) -> ProcessScorecard:
    row = {
        c.MEASURE: c.STAGE_CONVERSION, c.STAGE: "proposal", c.NEXT_STAGE: "negotiation",
        c.SEGMENT: "B2B", c.VALUE: 0.45, c.CI_LOW: 0.35, c.CI_HIGH: 0.55, c.BASIS: 80,
        c.BENCHMARK: 0.6, c.BENCHMARK_SOURCE: "A survey (2025)",
        c.BENCHMARK_DEFINITION_DIFFERS: True, c.TREND: [0.7, 0.68, 0.45], c.NOTE: "",
    }  # fmt: skip
    for base, value in ((c.PREVIOUS, 0.69), (c.LAST_YEAR, np.nan)):
        row |= {
            f"{base}_value": value, f"{base}_change": 0.45 - value,
            f"{base}_change_ci_low": -0.4, f"{base}_change_ci_high": -0.08 if beyond else 0.02,
            f"{base}_p_value": 0.001, f"{base}_p_adjusted": 0.01 if beyond else 0.2,
            f"{base}_beyond_noise": beyond and not np.isnan(value),
        }  # fmt: skip
    windows = (_w("2025-10-01", "2026-01-01"), _w("2026-01-01", "2026-04-01"),
               _w("2026-04-01", "2026-07-01"))  # fmt: skip
    return ProcessScorecard(
        pd.DataFrame([row]),
        windows,
        windows[1],
        _w("2025-04-01", "2025-07-01"),
        "EUR",
        0.05,
        "holm",
        ("Customer acquisition cost is not shown: the data lacks the spend table.",),
    )


def test_html_has_the_table_the_trend_and_the_notes():
    page = scorecard_html(_card(beyond=True))
    assert "Proposal → Negotiation" in page and "45%" in page and "(35% to 55%)" in page
    assert 'class="worse"' in page and "-24 pts · worse" in page and "was 69%" in page
    assert "nothing to compare" in page  # no value a year earlier
    assert "60%*" in page and "defined differently" in page
    assert 'class="sparkline"' in page and "Q4 2025: 70%" in page
    assert "spend table" in page


def test_sentences_name_only_changes_beyond_noise():
    moved = scorecard_sentences(_card(beyond=True))
    assert moved[0].startswith("From Q1 2026 to Q2 2026, 1 of 1 measures changed beyond noise")
    assert "Proposal → Negotiation in B2B went from 69% to 45% (worse" in moved[0]
    assert moved[1] == "Q2 2026 cannot be compared with Q2 2025: the data has nothing then."
    assert "below the published 60%" in moved[2] and "indicative only" in moved[2]
    quiet = scorecard_sentences(_card(beyond=False))
    assert quiet[0] == "No measure changed beyond noise from Q1 2026 to Q2 2026 (1 compared)."


def test_no_benchmark_column_without_a_benchmark():
    card = _card(beyond=False)
    table = card.table.assign(**{c.BENCHMARK: np.nan})
    bare = ProcessScorecard(table, card.windows, card.previous, card.last_year, "EUR", 0.05, "holm")
    assert "Benchmark" in scorecard_html(card) and "Benchmark" not in scorecard_html(bare)
    assert scorecard_html(bare).count("<td") == 5  # measure, value, two changes, trend
