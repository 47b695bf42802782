"""Leads as canonical rows: status words mapped, lifecycle times checked for order.

A CRM says where a lead stands in its own words: Salesforce's default Lead
Status picklist ("Open - Not Contacted", "Working - Contacted", "Closed -
Converted", "Closed - Not Converted"), HubSpot's lifecycle stage internal
names ("marketingqualifiedlead", "salesqualifiedlead", "opportunity"). Ingest
maps them to :data:`analysis.core.columns.LEAD_STATUSES` with the one table
:data:`LEAD_STATUS_WORDS`; a word it does not know is kept as written, so
validation quarantines the row as ``bad_value`` (as an unknown outcome or
activity type is) and a column map's ``values:`` can name it next time.

A lead's lifecycle times follow one order (created, MQL, accepted, SQL,
converted; disqualified, recycled and the first response come after its
creation). A time earlier than a step it follows is a data-entry fact, not
a reason to lose the lead: the row is kept and flagged
``steps_out_of_order`` (counted in the manifest's ``flags``), so durations
can leave it out.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.core import columns as c

LEAD_STATUS_WORDS: dict[str, str] = {
    # canonical names and their abbreviations
    **{status: status for status in c.LEAD_STATUSES},
    "open": c.LEAD_NEW,
    "sal": c.LEAD_ACCEPTED,
    "working": c.LEAD_ACCEPTED,
    "qualified": c.LEAD_SQL,
    "unqualified": c.LEAD_DISQUALIFIED,
    "rejected": c.LEAD_DISQUALIFIED,
    "nurture": c.LEAD_RECYCLED,
    # Salesforce's default Lead Status picklist
    "open - not contacted": c.LEAD_NEW,
    "working - contacted": c.LEAD_ACCEPTED,
    "closed - converted": c.LEAD_CONVERTED,
    "closed - not converted": c.LEAD_DISQUALIFIED,
    # HubSpot lifecycle stages (internal names; labels match after spaces are dropped)
    "subscriber": c.LEAD_NEW,
    "lead": c.LEAD_NEW,
    "marketingqualifiedlead": c.LEAD_MQL,
    "salesacceptedlead": c.LEAD_ACCEPTED,
    "salesqualifiedlead": c.LEAD_SQL,
    "opportunity": c.LEAD_CONVERTED,  # a deal exists for the contact
    "customer": c.LEAD_CONVERTED,
    "evangelist": c.LEAD_CONVERTED,  # a customer who promotes the product
    "other": c.LEAD_NEW,  # HubSpot's catch-all stage: nothing known beyond the lead
}
"""CRM status words -> canonical lead status, matched by :func:`status_key`."""

ORDERED_STEPS = (c.CREATED_AT, *c.LEAD_STEPS)
"""Lifecycle times in the order a lead passes them."""

AFTER_CREATION = (c.DISQUALIFIED_AT, c.RECYCLED_AT, c.FIRST_RESPONSE_AT)
"""Lifecycle times that may come after any step, but not before the lead's creation."""

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def status_key(text: str) -> str:
    """The matching key of a status word: case-folded, letters and digits only.

    ``"Open - Not Contacted"``, ``"open-not contacted"`` and
    ``"OPEN NOT CONTACTED"`` share one key, as do HubSpot's internal name
    ``marketingqualifiedlead`` and its label "Marketing Qualified Lead".
    """
    return _NOT_ALNUM.sub("", str(text).casefold())


_LOOKUP = {status_key(word): status for word, status in LEAD_STATUS_WORDS.items()}


def normalise_lead_statuses(values: pd.Series) -> pd.Series:
    """Canonical lead statuses; words :data:`LEAD_STATUS_WORDS` lacks are kept as written.

    Parameters
    ----------
    values : pandas.Series
        Status text (``str`` dtype); missing stays missing.

    Returns
    -------
    pandas.Series
        ``str`` Series on the same index.
    """
    distinct = values.dropna().unique()
    mapping = {v: _LOOKUP.get(status_key(v), str(v).strip()) for v in distinct}
    return values.map(mapping).astype("str")


def _before(earlier: pd.Series, later: pd.Series, timezone: str) -> np.ndarray:
    """``later`` is before ``earlier``, unless ``later`` is a date-only time on ``earlier``'s day.

    A date-only field (midnight in the export's zone) on the day of the step
    before it carries no time of day, so it cannot be said to come first.
    """
    late = later.dt.tz_convert(timezone)
    early = earlier.dt.tz_convert(timezone)
    same_day_date = (late == late.dt.normalize()) & (late.dt.normalize() == early.dt.normalize())
    before = (later < earlier).fillna(False) & ~same_day_date.fillna(False)
    return before.to_numpy(dtype=bool)


def steps_out_of_order(leads: pd.DataFrame, timezone: str = "UTC") -> np.ndarray:
    """Leads with a lifecycle time before a step it follows.

    Parameters
    ----------
    leads : pandas.DataFrame
        Canonical leads (any subset of the lifecycle columns).
    timezone : str
        Zone the export's date-only fields were read in.

    Returns
    -------
    numpy.ndarray
        Boolean per row; False where the times compared are missing.

    Notes
    -----
    Every pair of :data:`ORDERED_STEPS` present is compared (MQL after
    creation, accepted after MQL and creation, ...), and each of
    :data:`AFTER_CREATION` with ``created_at``. A date-only time on the same
    day as the step before it is in order.
    """
    out = np.zeros(len(leads), dtype=bool)
    steps = [s for s in ORDERED_STEPS if s in leads]
    pairs = [(a, b) for i, a in enumerate(steps) for b in steps[i + 1 :]]
    if c.CREATED_AT in leads:
        pairs += [(c.CREATED_AT, s) for s in AFTER_CREATION if s in leads]
    for earlier, later in pairs:
        out |= _before(leads[earlier], leads[later], timezone)
    return out


def flag_steps_out_of_order(leads: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Leads with the ``steps_out_of_order`` flag (:func:`steps_out_of_order`); times kept."""
    flag = pd.array(steps_out_of_order(leads, timezone), dtype="boolean")
    return leads.assign(**{c.STEPS_OUT_OF_ORDER: flag})


def lead_notes(leads: pd.DataFrame) -> tuple[dict[str, int], list[str]]:
    """Manifest flag counts and notes of the clean leads.

    Returns
    -------
    (flags, notes)
        ``flags`` maps ``steps_out_of_order`` to the number of clean leads
        carrying it (absent when the table has no lifecycle times).
    """
    if c.STEPS_OUT_OF_ORDER not in leads:
        return {}, []
    n = int(leads[c.STEPS_OUT_OF_ORDER].fillna(False).sum())
    notes = []
    if n:
        notes.append(
            f"{n:,} leads have a lifecycle time before a step it follows (e.g. accepted "
            "before MQL, converted before created): kept, flagged steps_out_of_order, and "
            "their times are left as exported."
        )
    return {c.STEPS_OUT_OF_ORDER: n}, notes
