"""Quarantine reason codes and the priority that picks one per row.

A row can fail several checks at once; the quarantine records one primary
reason, the first of :data:`PRIORITY` that applies. The order goes from what
makes a row unreadable (a line that does not split into the header's fields,
a required value missing, a value that cannot be parsed) through values that
are readable but wrong, to problems that only appear against other rows
(duplicates) or other tables (orphans).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.core.schema import (  # the codes schema checks raise, listed here with the rest
    BAD_OUTCOME,
    BAD_VALUE,
    CLOSED_BEFORE_CREATED,
    DELETED_IN_SOURCE,
    DUPLICATE_ID,
    MISSING_REQUIRED,
    NEGATIVE_AMOUNT,
    NOT_A_STAGE_CHANGE,
    OUT_OF_SCOPE,
    UNKNOWN_STAGE,
)

MALFORMED_ROW = "malformed_row"
UNPARSEABLE_DATE = "unparseable_date"
PARENT_QUARANTINED = "parent_quarantined"
ORPHAN_EVENT = "orphan_event"

PRIORITY: tuple[str, ...] = (
    DELETED_IN_SOURCE,  # deleted or archived in the CRM (IsDeleted), exported all the same
    NOT_A_STAGE_CHANGE,  # a CRM history row that changed another field, not the stage
    OUT_OF_SCOPE,  # a CRM row of another kind (a task on an account, a to-do that is no call)
    MALFORMED_ROW,  # more or fewer fields than the header (read.MALFORMED_ROWS)
    MISSING_REQUIRED,  # a required value is empty in the source
    UNPARSEABLE_DATE,  # a timestamp is present but unreadable
    BAD_VALUE,  # a number/boolean is unreadable, or a category is outside its values
    BAD_OUTCOME,  # outcome not won/lost/open, or contradicting a terminal stage
    UNKNOWN_STAGE,  # a stage label neither the stage config nor the map knows
    NEGATIVE_AMOUNT,  # money below zero
    CLOSED_BEFORE_CREATED,  # closed_at earlier than created_at
    DUPLICATE_ID,  # a repeated id: conflicting copies all, exact copies but the first
    PARENT_QUARANTINED,  # the row's deal exists in the export but was quarantined
    ORPHAN_EVENT,  # the row's deal is not in the export's deals at all
)
"""Reason codes in the order that decides a row's primary reason."""


def primary_reason(flags: Mapping[str, np.ndarray], n_rows: int) -> pd.Series:
    """The first reason of :data:`PRIORITY` flagged for each row.

    Parameters
    ----------
    flags : Mapping[str, numpy.ndarray]
        Reason code to a boolean mask of length ``n_rows``.
    n_rows : int

    Returns
    -------
    pandas.Series
        String reason per row, missing for rows without any flag.

    Raises
    ------
    RuntimeError
        When a flag is not a known reason code (a bug).
    """
    unknown = set(flags) - set(PRIORITY)
    if unknown:
        raise RuntimeError(f"unknown reason codes {sorted(unknown)}; add them to PRIORITY.")
    codes = np.full(n_rows, len(PRIORITY), dtype=np.int16)
    for rank in range(len(PRIORITY) - 1, -1, -1):
        mask = flags.get(PRIORITY[rank])
        if mask is not None:
            codes[np.asarray(mask, dtype=bool)] = rank
    labels = np.array([*PRIORITY, None], dtype=object)
    return pd.Series(labels[codes], dtype="string")
