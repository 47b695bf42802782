"""Machine-readable outputs of a report notebook: CSV tables and ``summary.json``.

Downstream tools and trend tracking read these instead of scraping HTML.
Leaders open the CSVs in a spreadsheet, so they are made safe to share as
the pages are: e-mail addresses and phone numbers in text cells are
redacted, and a text cell that a spreadsheet would run as a formula (it
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, e.g. a
rep named ``=HYPERLINK(...)`` in the CRM) gets a leading ``'`` (the OWASP
rule for CSV injection). Numbers stay numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core.fileio import atomic_write_text
from analysis.present.redaction import redact as redact_contacts

SUMMARY_FILENAME = "summary.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def neutralise_formula(text: object) -> object:
    """``'=1+1`` for ``=1+1``: text a spreadsheet would evaluate, made inert; others unchanged."""
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def shareable_table(frame: pd.DataFrame, redact: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` safe to open in a spreadsheet and to share.

    Text cells are redacted (contacts) and neutralised (formulas), each
    distinct value once; numeric, boolean and date columns are unchanged.
    """
    out = frame.copy()
    for name in out.columns:
        values = out[name]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        safe = [neutralise_formula(redact_contacts(u) if redact else u) for u in uniques]
        if safe == list(uniques):
            continue
        taken = np.array([*safe, None], dtype=object)[codes]
        out[name] = pd.Series(taken, index=values.index, dtype=object).where(values.notna())
    return out


def _jsonable(value: object) -> object:
    """Convert numpy/pandas scalars and NaN to plain JSON values (NaN -> null).

    A DataFrame becomes its list of records.
    """
    if isinstance(value, pd.DataFrame):
        return _jsonable(value.to_dict("records"))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def write_outputs(
    output_dir: str | Path | None,
    tables: Mapping[str, pd.DataFrame | None],
    summary: Mapping[str, object],
    *,
    redact: bool = True,
) -> list[Path]:
    """Write each table as ``<name>.csv`` and the summary as ``summary.json``.

    Parameters
    ----------
    output_dir : path or None
        Destination folder (created if needed). ``None`` or ``""`` writes
        nothing, so a notebook opened interactively leaves no files behind.
    tables : mapping of name to DataFrame or None
        Key tables of the notebook; None (a section the page skipped for want
        of data) writes no file, so a stale CSV is never mistaken for a result.
    summary : mapping
        Headline findings and key figures; must be JSON-serialisable after
        numpy scalars and NaN (-> null) are converted. DataFrames are written
        as lists of records, None (a skipped result) as null.
    redact : bool
        Redact e-mail addresses and phone numbers in the CSVs' text cells
        (formulas are neutralised either way; :func:`shareable_table`).

    Returns
    -------
    list of Path
        Files written.
    """
    if not output_dir:
        return []
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        if frame is None:
            continue
        path = out / f"{name}.csv"
        atomic_write_text(path, shareable_table(frame, redact).to_csv(index=False))
        written.append(path)
    path = out / SUMMARY_FILENAME
    atomic_write_text(path, json.dumps(_jsonable(dict(summary)), indent=2, sort_keys=True))
    written.append(path)
    return written


def read_summary(folder: str | Path) -> dict | None:
    """The ``summary.json`` in ``folder``, or None when there is none."""
    path = Path(folder) / SUMMARY_FILENAME
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
