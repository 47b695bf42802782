"""Text hygiene: control characters in text fields are removed and counted.

Rich-text fields of CRM exports (descriptions, notes, next steps) carry
stray NUL and other control bytes pasted from other tools. They never reject
a file or a row: they are stripped on reading, and the manifest counts, per
column, the rows that had them. Tab, line feed and carriage return are text
and stay.
"""

from __future__ import annotations

import pandas as pd

from analysis.ingest.read import CONTROL_FREE

CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def strip_control_characters(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Remove control characters from every text column.

    Parameters
    ----------
    frame : pandas.DataFrame
        A file as read (text columns as strings; other dtypes are left alone).

    Returns
    -------
    (frame, counts)
        The cleaned frame (the input when nothing changed) and, per column
        that had any, the number of rows whose value lost characters.
    """
    counts: dict[str, int] = {}
    if frame.attrs.get(CONTROL_FREE) is True:  # the reader saw no control byte in the file
        return frame, counts
    cleaned: dict[str, pd.Series] = {}
    for name in frame.columns:
        values = frame[name]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        # Only text values: a native number, date, nested value or undecodable bytes
        # in an object column is left for parsing to judge.
        is_text = values.map(lambda v: isinstance(v, str)).astype(bool)
        text = values.where(is_text).astype("str") if values.dtype == object else values
        hit = text.str.contains(CONTROL_CHARACTERS, regex=True, na=False)
        n = int(hit.sum())
        if n:
            counts[str(name)] = n
            stripped = text.str.replace(CONTROL_CHARACTERS, "", regex=True)
            cleaned[name] = stripped.where(hit, values) if values.dtype == object else stripped
    if not cleaned:
        return frame, counts
    out = frame.copy()
    for name, values in cleaned.items():
        out[name] = values
    out.attrs = dict(frame.attrs)
    return out, counts
