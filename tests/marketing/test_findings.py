"""Findings in words: figures from the results, every rate with its interval."""

from __future__ import annotations

import re

import pytest

from analysis.marketing import columns as c
from analysis.marketing import funnel_sentences, lead_funnel, speed_sentences, speed_to_lead
from analysis.present.formatting import format_rate

RATE = re.compile(r"\d+\.\d% \[\d+\.\d–\d+\.\d\]")


@pytest.fixture(scope="module")
def funnel(sample):
    return lead_funnel(sample[1])


@pytest.fixture(scope="module")
def speed(sample):
    return speed_to_lead(sample[1])


def test_headline_names_the_busiest_low_acceptance_source(funnel):
    head = funnel_sentences(funnel)[0]
    row = funnel.table[(funnel.table[c.SOURCE] == "paid") & (funnel.table[c.STEP] == "mql")]
    row = row.iloc[0]
    assert head.startswith("Paid brings the most MQLs (7,918) but sales accepts only")
    assert format_rate(row[c.CONVERSION], row[c.CI_LOW], row[c.CI_HIGH]) in head
    assert "for the other sources" in head


def test_every_percentage_carries_an_interval(funnel, speed):
    for sentence in funnel_sentences(funnel) + speed_sentences(speed):
        percents = re.findall(r"\d+\.\d%", sentence)
        assert len(RATE.findall(sentence)) == len(percents), sentence


def test_speed_sentences_give_the_trend_and_the_caveat(speed):
    sentences = speed_sentences(speed)
    ratio, low, high = speed.odds_ratio(c.STRATIFIED)
    assert any(f"{ratio:.2f} times the odds" in s and f"[{low:.2f}–{high:.2f}]" in s
               for s in sentences)  # fmt: skip
    assert sentences[-1] == speed.caveat


def test_one_group_and_periods_read_as_sentences(sample):
    sentences = funnel_sentences(lead_funnel(sample[1], by=None, period="quarter"))
    assert sentences and all(s.endswith(".") for s in sentences)
    assert re.match(r"\d{4}-\d{2}: of ", sentences[0])


def test_feedback_and_quality_percentages_carry_intervals(sample):
    from analysis.marketing import (
        feedback_sentences,
        marketing_feedback,
        quality_sentences,
        source_quality,
    )

    sentences = feedback_sentences(marketing_feedback(sample[1], by=c.SOURCE))
    sentences += quality_sentences(source_quality(sample[1]))
    assert sentences
    for sentence in sentences:
        percents = re.findall(r"\d+\.\d%", sentence)
        assert len(RATE.findall(sentence)) == len(percents), sentence
