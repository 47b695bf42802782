"""Tests for analysis.ingest.changes: change-history values as canonical text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.stages import load_stages
from analysis.ingest.changes import normalise_changes, probability_as_share


def _frame(rows):
    return pd.DataFrame(rows, columns=[c.FIELD, c.OLD_VALUE, c.NEW_VALUE]).astype("str")


def test_each_field_becomes_canonical_text():
    pipeline = load_stages().pipeline()
    frame = _frame(
        [
            (c.AMOUNT, None, "$1,200.50"),
            (c.AMOUNT, "1,200.50", "1,500"),
            (c.PROBABILITY, "20", "60"),  # Salesforce writes percent
            (c.EXPECTED_CLOSE_AT, "2026-05-31", "06/30/2026"),
            (c.STAGE, "Proposal Sent", "Negotiation/Review"),  # aliases in config/stages.yaml
            (c.FORECAST_CATEGORY, "Pipeline", "Best Case"),
        ]
    ).replace({"None": None})
    out, bad = normalise_changes(frame, pipeline)
    assert out[c.NEW_VALUE].tolist() == [
        "1200.5", "1500.0", "0.6", "2026-06-30T00:00:00+00:00", "negotiation", "Best Case",
    ]  # fmt: skip
    assert out[c.OLD_VALUE].tolist()[1:] == [
        "1200.5", "0.2", "2026-05-31T00:00:00+00:00", "proposal", "Pipeline",
    ]  # fmt: skip
    assert pd.isna(out[c.OLD_VALUE].iloc[0])  # a first value has no old one
    assert not bad[c.NEW_VALUE].any() and not bad[c.OLD_VALUE].any()


def test_unreadable_values_mark_their_rows_and_shares_stay_shares():
    pipeline = load_stages().pipeline()
    frame = _frame(
        [
            (c.AMOUNT, None, "lots"),
            (c.EXPECTED_CLOSE_AT, None, "soon"),
            (c.PROBABILITY, "0.2", "0.5"),
        ]
    ).replace({"None": None})
    out, bad = normalise_changes(frame, pipeline)
    assert bad[c.NEW_VALUE].tolist() == [True, True, False]
    assert out[c.NEW_VALUE].iloc[2] == "0.5"  # HubSpot's 0-1 scale is kept


def test_probability_scale_is_read_from_the_whole_column():
    assert probability_as_share(pd.Series([10.0, 50.0, 1.0])).tolist() == [0.1, 0.5, 0.01]
    assert probability_as_share(pd.Series([0.1, 1.0, np.nan])).tolist()[:2] == [0.1, 1.0]
