"""Changes from successive values (``vendors.versions``), on hand-made versions.

Every expected value is worked out by hand from the versions written in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.ingest.vendors.versions import comparison_keys, value_changes


def test_a_version_changes_when_its_value_differs_from_the_one_before():
    versions = pd.DataFrame(
        {
            "deal": ["A", "A", "A", "A", "B", "A"],
            "field": [c.AMOUNT, c.AMOUNT, c.AMOUNT, c.STAGE, c.AMOUNT, c.AMOUNT],
            "value": ["1200", "1200.00", "1500", "Proposal", None, "1600"],
            "at": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-01-01",
                    "2024-01-05",
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-09",
                ],
                utc=True,
            ),
        }
    )
    judge = np.array([True, True, True, True, True, False])  # the last version is set aside
    keys = comparison_keys(versions["field"], versions["value"], "UTC")
    changed, old = value_changes(
        versions["deal"], versions["field"], keys, versions["value"], versions["at"], judge
    )
    # By time, A's amounts are 1200.00 (Jan 1, first: a change from nothing), 1200 (Jan 3:
    # the same number, no change), 1500 (Jan 5: a change from 1200). A's stage is its own
    # field (first value: a change); B's only version has no value (no change); the row
    # set aside is neither a change nor a value before.
    assert changed.tolist() == [False, True, True, True, False, False]
    assert old.isna().tolist() == [True, True, False, True, True, True]
    assert old.iloc[2] == "1200"  # the value of the version just before, as written


def test_comparison_keys_read_each_field_as_its_type():
    fields = pd.Series([c.AMOUNT, c.STAGE, c.EXPECTED_CLOSE_AT, c.FORECAST_CATEGORY, c.AMOUNT])
    values = pd.Series(["1500.00", " closed  WON", "2024-03-31T23:00:00+01:00", "Commit", None])
    keys = comparison_keys(fields, values, "UTC")
    assert keys.iloc[0] == repr(1500.0)  # a number
    assert keys.iloc[1] == "closed won"  # case and runs of spaces ignored
    assert keys.iloc[2] == "2024-03-31T22:00:00+00:00"  # the instant, in UTC (23:00 at +01:00)
    assert keys.iloc[3] == "Commit"  # as written
    assert pd.isna(keys.iloc[4])  # no value
    # An integer alone reads as the same number: 1500 is 1500.0.
    assert comparison_keys(pd.Series([c.AMOUNT]), pd.Series(["1500"]), "UTC").iloc[0] == "1500.0"
