"""Deal change history as canonical text, field by field.

A CRM's field history (Salesforce ``OpportunityFieldHistory``, HubSpot
property history, Pipedrive deal updates) stores old and new values as the
text the CRM shows: amounts with separators, close dates in the user's
format, stage labels, probabilities in percent. ``deal_changes`` keeps one
canonical text per value so a point-in-time rebuild can cast it back:
amounts and probabilities as plain decimals (probability a share in [0, 1]),
expected close dates as ISO 8601 UTC, stages as canonical stage names. A
value that cannot be read that way marks its row bad (``bad_value``), as
any unparseable cell does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.stages import Pipeline
from analysis.ingest import parse

VALUE_COLUMNS = (c.OLD_VALUE, c.NEW_VALUE)


def probability_as_share(values: pd.Series) -> pd.Series:
    """Probabilities as shares: a column holding any value above 1 is in percent (0–100).

    CRMs differ (Salesforce and Pipedrive store 0–100, HubSpot 0–1); one file
    uses one scale, so the scale is read from the whole column.
    """
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers / 100 if (numbers > 1).any() else numbers


def _decimal_text(numbers: pd.Series) -> pd.Series:
    return numbers.map(lambda v: repr(float(v)), na_action="ignore").astype("str")


def normalise_changes(
    frame: pd.DataFrame, pipeline: Pipeline, *, decimal: str = ".", timezone: str = "UTC",
    dayfirst: bool = False,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:  # fmt: skip
    """Canonical text of ``old_value`` and ``new_value`` for each tracked field.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``deal_changes`` after mapping (``field`` already matched to
        :data:`analysis.core.columns.TRACKED_FIELDS`; values as stripped text).
    pipeline : Pipeline
        For stage labels (with the map's aliases).
    decimal, timezone, dayfirst
        How the export writes numbers and dates (the column map's options).

    Returns
    -------
    (frame, bad) : tuple
        The frame with canonical values, and per value column a mask of rows
        whose value was present but could not be read.
    """
    out = frame.copy()
    bad = {col: np.zeros(len(out), dtype=bool) for col in VALUE_COLUMNS if col in out}
    fields = out[c.FIELD]
    # One file uses one probability scale: percent when any value, old or new, is above 1.
    chances = out.loc[(fields == c.PROBABILITY).fillna(False), list(bad)]
    in_percent = bool(
        (chances.apply(lambda col: parse.parse_money(col, decimal=decimal).values) > 1).any().any()
    )
    for field in c.TRACKED_FIELDS:
        rows = (fields == field).fillna(False).to_numpy(bool)
        if not rows.any():
            continue
        for col in bad:
            values = out.loc[rows, col]
            present = values.notna().to_numpy(bool)
            if field == c.STAGE:
                text = pipeline.normalise_series(values, unknown="keep")
                failed = np.zeros(len(values), dtype=bool)
            elif field in (c.AMOUNT, c.PROBABILITY):
                parsed = parse.parse_money(values, decimal=decimal)
                numbers = parsed.values
                if field == c.PROBABILITY and in_percent:
                    numbers = numbers / 100
                failed = parsed.bad.fillna(False).to_numpy(bool) | (
                    present & ~numbers.notna().to_numpy(bool)
                )
                text = _decimal_text(numbers)
            elif field == c.EXPECTED_CLOSE_AT:
                parsed = parse.parse_timestamps(values, timezone=timezone, dayfirst=dayfirst)
                failed = parsed.bad.fillna(False).to_numpy(bool, copy=True)
                text = parsed.values.map(lambda t: t.isoformat(), na_action="ignore")
            else:  # forecast_category: the CRM's own words
                text, failed = values, np.zeros(len(values), dtype=bool)
            out.loc[rows, col] = (
                pd.Series(text, index=values.index)
                .astype("str")
                .where(~pd.Series(failed, index=values.index))
            )
            bad[col][rows] |= failed
    return out, bad
