"""Changes from successive values: which versions of a deal's field change it, and from what.

Some CRMs keep a field's history as its successive values rather than as
changes: Salesforce ``OpportunityHistory`` stores the opportunity as it was
after each edit, HubSpot a list of versions per deal property. A version is
a change when its value differs from the deal's previous version of the same
field; a deal's first version is its creation, a change from nothing (when it
has a value). :func:`value_changes` finds the changes and the value before
each; :func:`comparison_keys` decides which values are the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.ingest.vendors.adapted import as_timestamps, values_text
from analysis.ingest.vendors.stages import stage_keys


def comparison_keys(fields: pd.Series, values: pd.Series, timezone: str) -> pd.Series:
    """Values as keys equal when they mean the same in their field; missing stays missing.

    Amounts and probabilities compare as numbers (``1500`` is ``1500.00``),
    stages as matching keys (case and spaces ignored), expected closes as
    instants (read in ``timezone`` when they carry no offset), other fields
    as stripped text. A value that does not read as its field's type
    compares as its text.
    """
    text = values_text(values)
    keys = text.astype(object)
    numeric = fields.isin([c.AMOUNT, c.PROBABILITY]).fillna(False).to_numpy(bool)
    if numeric.any():
        numbers = pd.to_numeric(text[numeric], errors="coerce").astype("float")
        keys[numeric] = numbers.map(repr, na_action="ignore").where(numbers.notna(), text[numeric])
    staged = (fields == c.STAGE).fillna(False).to_numpy(bool)
    if staged.any():
        keys[staged] = stage_keys(text[staged])
    dated = (fields == c.EXPECTED_CLOSE_AT).fillna(False).to_numpy(bool)
    if dated.any():
        stamps = as_timestamps(text[dated], timezone)
        iso = stamps.map(lambda t: t.isoformat(), na_action="ignore")
        keys[dated] = iso.where(stamps.notna(), text[dated])
    return keys.where(text.notna())


def value_changes(
    deals: pd.Series,
    fields: pd.Series,
    keys: pd.Series,
    values: pd.Series,
    times: pd.Series,
    judge: np.ndarray,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, pd.Series]:
    """Mask of the versions that change their deal's field, and the value each replaced.

    Parameters
    ----------
    deals, fields : pandas.Series
        Each version's deal and (canonical) field.
    keys : pandas.Series
        Its value as :func:`comparison_keys` (missing: no value).
    values : pandas.Series
        Its value as it should appear in ``old_value`` of the next change.
    times : pandas.Series
        When it was set (UTC).
    judge : numpy.ndarray
        Versions taking part; the others are neither changes nor a previous version.
    order : numpy.ndarray, optional
        Rank among a deal's versions of a field at the same time (default:
        position).

    Returns
    -------
    (changed, old) : tuple
        ``changed`` is True for a deal's first version of a field that has a
        value and for every later version whose value differs from the one
        before; ``old`` is the value before (missing for the first version
        and where ``changed`` is False).
    """
    n = len(keys)
    rows = np.flatnonzero(np.asarray(judge, dtype=bool))
    deal = pd.factorize(deals.to_numpy()[rows])[0]
    field = pd.factorize(fields.to_numpy()[rows])[0]
    key = pd.factorize(keys.to_numpy(dtype=object)[rows], use_na_sentinel=True)[0]  # -1: none
    instants = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    when = np.where(instants.isna(), np.iinfo(np.int64).max, instants.asi8)[rows]  # NaT last
    rank = rows if order is None else np.asarray(order, dtype=float)[rows]
    # np.lexsort: the last key is the primary one: deal, field, time, rank, position.
    perm = np.lexsort((rows, rank, when, field, deal))
    d, f, k = deal[perm], field[perm], key[perm]
    first = np.ones(len(perm), dtype=bool)
    first[1:] = (d[1:] != d[:-1]) | (f[1:] != f[:-1])
    differs = np.ones(len(perm), dtype=bool)
    differs[1:] = k[1:] != k[:-1]
    change = np.where(first, k >= 0, differs)
    ordered = rows[perm]
    changed = np.zeros(n, dtype=bool)
    changed[ordered[change]] = True
    before = np.full(len(perm), None, dtype=object)
    before[1:] = values.to_numpy(dtype=object)[ordered[:-1]]
    before[first] = None
    old = np.full(n, None, dtype=object)
    old[ordered] = before
    out = pd.Series(old, index=keys.index, dtype="str")
    return changed, out.where(pd.Series(changed, index=keys.index))
