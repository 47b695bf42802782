"""Tests for analysis.core.types: the one window type and the option sets."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.core.types import CORRECTIONS, Window, as_window, check_correction


def _t(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def test_as_window_reads_naive_times_as_utc_and_rejects_bad_pairs():
    # Naive strings are UTC; an aware time is converted (09:00 at UTC+2 is 07:00 UTC).
    window = as_window(("2025-01-01", pd.Timestamp("2025-02-01 09:00+02:00")), "x")
    assert window.as_tuple() == (_t("2025-01-01"), _t("2025-02-01 07:00"))
    with pytest.raises(ValueError, match="x must be a"):
        as_window("2025-01-01", "x")
    with pytest.raises(ValueError, match="current must start before"):
        as_window(("2025-02-01", "2025-01-01"), "current")


def test_open_sides_none_and_bounded_windows():
    # None is no restriction; a side given as None is open (label and length say so).
    assert as_window(None) is None
    since = as_window(("2025-03-01", None))
    assert since == Window(_t("2025-03-01"), None)
    assert since.label() == "from 2025-03-01" and math.isnan(since.days)
    assert as_window((None, "2025-04-01")).label() == "until 2025-03-31"
    # A Window passes through unchanged; a comparison window needs both sides.
    q1 = Window(_t("2025-01-01"), _t("2025-04-01"))
    assert as_window(q1) is q1 and q1.days == 90 and q1.label() == "2025-01-01 to 2025-03-31"
    with pytest.raises(ValueError, match="baseline needs both a start and an end"):
        as_window(("2025-01-01", None), "baseline", bounded=True)
    with pytest.raises(ValueError, match="baseline must be a Window"):
        as_window(None, "baseline", bounded=True)


def test_every_analysis_accepts_the_same_corrections():
    # One set for every `correction` argument (holm, fdr_bh, bonferroni, none).
    assert CORRECTIONS == ("holm", "fdr_bh", "bonferroni", "none")
    for method in CORRECTIONS:
        check_correction(method)
    with pytest.raises(ValueError, match="correction must be one of"):
        check_correction("sidak")
