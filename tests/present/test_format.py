"""Tests for number formatting (analysis.present.formatting)."""

from __future__ import annotations

import math

from analysis.present import formatting as fmt


def test_formats():
    # Hand-checked strings.
    assert fmt.format_percent(0.63152) == "63.2%"
    assert fmt.format_percent(math.nan) == "n/a"
    assert fmt.format_rate(0.6316, 0.62, 0.643) == "63.2% [62.0–64.3]"
    assert fmt.format_count(8800) == "8,800"
    assert fmt.format_money(10_005_534) == "$10.0M"
    assert fmt.format_money(2360.91) == "$2,361"
    assert fmt.format_money(45_000) == "$45k"
