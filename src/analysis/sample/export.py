"""Write a sample CRM as a CRM-style export (CSV files plus ``truth.json``).

Headers and category labels are what a CRM writes ("Deal ID", "Deal Stage",
"Closed Won", "Paid Ads", "Yes"); ``config/maps/sample.yaml`` maps them back
to the canonical tables. Stage labels are taken from the stage config's
aliases (the first alias of each stage that differs from its canonical name),
so they always resolve. ``deal_changes.csv`` keeps the canonical text of its
old and new values (decimals, ISO 8601 UTC times, canonical stage names), as
the data model stores them. ``leads.csv`` writes lead sources and statuses as
the CRM says them ("Paid Ads", "Sales Accepted Lead"); campaigns and disqualification
reasons are already in the CRM's words. ``orders.csv`` and ``subscriptions.csv``
write their values as the data model stores them (change types ``new``,
``expansion``, ``contraction``, ``churn``, ``renewal``; discounts as shares,
``0.2``; amounts in the deal's own currency); ``onboarding.csv`` writes its
kick-off and go-live as ISO 8601 UTC times, empty when not reached by the
cutoff. Files are first written to a temporary
folder beside the output folder and then moved into place; the same sample
gives byte-identical files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from analysis.core import columns as c
from analysis.core.stages import Pipeline, load_stages
from analysis.sample.labels import (
    COMPANY,
    HEADERS,
    LEAD_STATUS_LABELS,
    OUTCOME_LABELS,
    OWNER_NAME,
    SOURCE_LABELS,
    company_names,
    iso_utc,
    relabel,
    stage_labels,
    yes_no,
)
from analysis.sample.messy import messy_export

if TYPE_CHECKING:  # pragma: no cover
    from analysis.sample import SampleCRM

TRUTH_FILE = "truth.json"


# canonical value -> export label, per (table, column); other columns are written as they are
VALUE_LABELS: dict[tuple[str, str], dict[str, str]] = {
    (c.DEALS, c.OUTCOME): OUTCOME_LABELS,
    (c.DEALS, c.SOURCE): SOURCE_LABELS,
    (c.LEADS, c.SOURCE): SOURCE_LABELS,
    (c.LEADS, c.LEAD_STATUS): LEAD_STATUS_LABELS,
    (c.SPEND, c.CHANNEL): SOURCE_LABELS,
    (c.ACTIVITIES, c.ACTIVITY_TYPE): {t: t.title() for t in c.ACTIVITY_TYPES},
    (c.ASSIGNMENTS, c.UNIT_TYPE): {t: t.title() for t in c.UNIT_TYPES},
    (c.FEEDBACK, c.SOURCE): {s: s.title() for s in c.FEEDBACK_SOURCES},
}


def _export_frames(
    tables: Mapping[str, pd.DataFrame], pipeline: Pipeline, rep_names: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    """The export as data frames with CRM headers and labels."""
    labels = stage_labels(pipeline)
    out = {}
    for table, headers in HEADERS.items():
        df = tables[table]
        cols = {}
        for col, header in headers.items():
            s = df[col]
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                cols[header] = iso_utc(s)
            elif s.dtype == "boolean":
                cols[header] = yes_no(s)
            elif col == c.STAGE and table != c.ASSIGNMENTS:
                cols[header] = relabel(s, labels)
            elif (table, col) in VALUE_LABELS:
                cols[header] = relabel(s, VALUE_LABELS[(table, col)])
            elif col == c.LOSS_REASON:
                cols[header] = s.str.title()
            elif col in (c.LEAD_SCORE, c.RATING):
                cols[header] = s.astype("Int64")
            else:
                cols[header] = s
            if col == c.OWNER_ID and table == c.DEALS:
                cols[OWNER_NAME] = relabel(s, rep_names)
            if col == c.ACCOUNT_ID and table == c.DEALS:
                cols[COMPANY] = company_names(s)
        out[table] = pd.DataFrame(cols)
    return out


def write_csv(df: pd.DataFrame, path: Path, *, encoding: str = "utf-8", sep: str = ",") -> None:
    """Write a CSV deterministically with Arrow's writer (``\n`` line ends, strings
    quoted, missing values empty), then re-encode when ``encoding`` is not UTF-8."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    options = pacsv.WriteOptions(delimiter=sep, quoting_style="needed")
    if encoding == "utf-8":
        pacsv.write_csv(table, str(path), options)
        return
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, options)
    path.write_bytes(sink.getvalue().decode("utf-8").encode(encoding))


def write_sample(crm: SampleCRM, out_dir: str | os.PathLike, *, messy: bool = False) -> list[Path]:
    """Write the sample as a CRM export: one CSV per table plus ``truth.json``.

    Parameters
    ----------
    crm : SampleCRM
        From :func:`analysis.sample.generate_sample`.
    out_dir : path
        Output folder (created if needed); files of the same names are replaced.
    messy : bool
        Write it as a real export arrives (mixed encodings, delimiters, date and
        money formats, label noise) with a known number of planted bad rows,
        recorded in ``truth.json`` under ``"messy"`` (:mod:`analysis.sample.messy`).

    Returns
    -------
    list of Path
        The files written, in ``analysis.core.columns.TABLES`` order, then ``truth.json``.

    Notes
    -----
    Files are written into a temporary folder beside ``out_dir`` and then moved
    into it with :func:`os.replace`, so a failed write leaves ``out_dir`` as it was.
    (A folder of files is published together here, which is why this does not use
    the one-file :func:`analysis.core.fileio.atomic_write_text`.)
    """
    out_dir = Path(out_dir)
    pipeline = load_stages().pipeline(crm.truth.get("generator", {}).get("pipeline"))
    rep_names = dict(zip(crm.tables[c.REPS][c.REP_ID], crm.tables[c.REPS][c.NAME], strict=True))
    frames = _export_frames(crm.tables, pipeline, rep_names)
    truth = dict(crm.truth)
    formats = {table: {"encoding": "utf-8", "sep": ","} for table in c.TABLES}
    if messy:
        frames, formats, truth["messy"] = messy_export(frames, crm.tables, pipeline, crm.truth)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        names = []
        for table in c.TABLES:
            name = f"{table}.csv"
            write_csv(frames[table], tmp / name, **formats[table])
            names.append(name)
        text = json.dumps(truth, indent=2, ensure_ascii=False, allow_nan=False)
        (tmp / TRUTH_FILE).write_text(text + "\n", encoding="utf-8")
        names.append(TRUTH_FILE)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out_dir / name for name in names]
