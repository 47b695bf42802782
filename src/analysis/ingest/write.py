"""Atomic output of an ingest run: canonical Parquet, quarantine and manifest.

Everything is first written to a temporary folder beside ``out``, which then
replaces ``out`` by renaming, so a failed run leaves ``out`` exactly as it was
and readers never see a half-written folder. Rows are sorted by a stable key
and Parquet files carry no run time, so the same input gives byte-identical
files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import columns as c
from analysis import config
from analysis.errors import InputError

# Sort order of each written table: its key, then times, for a stable layout.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    c.DEALS: (c.DEAL_ID,),
    c.STAGE_EVENTS: (c.DEAL_ID, c.ENTERED_AT, c.STAGE),
    c.ACTIVITIES: (c.DEAL_ID, c.AT),
    c.ASSIGNMENTS: (c.EXPERIMENT_ID, c.UNIT_ID),
    c.REPS: (c.REP_ID,),
    c.SPEND: (c.PERIOD, c.CHANNEL),
    c.FEEDBACK: (c.DEAL_ID, c.COLLECTED_AT),
}
_OURS = {config.MANIFEST_FILENAME, config.QUARANTINE_DIRNAME}


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_out_dir(out: str | Path, source: str | Path) -> Path:
    """Resolve the output folder and refuse places ingest must not write.

    Raises
    ------
    InputError
        When ``out`` is inside ``config.RAW_DIR`` (raw data is immutable),
        equals or contains the source folder, or is an existing folder that
        holds files other than a previous ingest output (replacing it would
        delete them).
    """
    out = Path(out).expanduser().resolve()
    source = Path(source).expanduser().resolve()
    raw_dir = Path(config.RAW_DIR).expanduser().resolve()
    if _is_within(out, raw_dir):
        raise InputError(
            f"refusing to write into the raw data folder ({raw_dir}); raw inputs are "
            "immutable. Choose another --out, e.g. data/processed.",
            file=out,
        )
    if _is_within(source, out):
        raise InputError(
            "the output folder is or contains the source folder; ingest replaces the "
            "output folder as a whole, so choose a separate --out.",
            file=out,
        )
    if out.exists() and not out.is_dir():
        raise InputError("the output path exists and is not a folder.", file=out)
    if out.is_dir():
        foreign = [
            p.name
            for p in out.iterdir()
            if not p.name.startswith(".") and p.name not in _OURS and p.suffix != ".parquet"
        ]
        if foreign and not (out / config.MANIFEST_FILENAME).exists():
            raise InputError(
                f"the output folder holds other files ({', '.join(sorted(foreign)[:3])}); "
                "ingest replaces the folder as a whole, so give an empty or new folder.",
                file=out,
            )
    return out


def _sort_codes(values: pd.Series, order: Mapping[str, int] | None) -> np.ndarray:
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy(dtype="datetime64[us]").view(np.int64)  # NaT sorts first
    if order is not None:
        return values.map(order).fillna(-1).to_numpy(dtype=np.int64)
    return pd.factorize(values, sort=True, use_na_sentinel=True)[0]


def sort_table(
    table: str, frame: pd.DataFrame, stage_order: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Rows ordered by :data:`SORT_KEYS` (stable: ties keep their input order).

    Parameters
    ----------
    table : str
        Canonical table name.
    frame : pandas.DataFrame
        Canonical rows.
    stage_order : Mapping[str, int], optional
        Pipeline position of each stage, to order same-time stage events.
    """
    keys = [k for k in SORT_KEYS.get(table, ()) if k in frame]
    if not keys or len(frame) < 2:
        return frame.reset_index(drop=True)
    codes = [_sort_codes(frame[k], stage_order if k == c.STAGE else None) for k in keys]
    order = np.lexsort(codes[::-1])
    return frame.iloc[order].reset_index(drop=True)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)


def write_outputs(
    out: Path,
    tables: Mapping[str, pd.DataFrame],
    quarantine: Mapping[str, pd.DataFrame],
    manifest: dict,
) -> Path:
    """Write the canonical tables, non-empty quarantines and manifest atomically.

    Parameters
    ----------
    out : Path
        Output folder (checked with :func:`check_out_dir`); replaced as a whole.
    tables : Mapping[str, pandas.DataFrame]
        Sorted canonical tables, written as ``<out>/<table>.parquet``.
    quarantine : Mapping[str, pandas.DataFrame]
        Quarantined rows per table; only non-empty ones are written, as
        ``<out>/quarantine/<table>.parquet``.
    manifest : dict
        Written as ``<out>/manifest.json``.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.ingest-", dir=out.parent))
    try:
        for name, frame in tables.items():
            _write_parquet(frame, tmp / f"{name}.parquet")
        qdir = tmp / config.QUARANTINE_DIRNAME
        for name, frame in quarantine.items():
            if len(frame):
                qdir.mkdir(exist_ok=True)
                _write_parquet(frame, qdir / f"{name}.parquet")
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        (tmp / config.MANIFEST_FILENAME).write_text(text, encoding="utf-8")
        if out.is_dir():
            for hidden in out.glob(".*"):  # keep e.g. .gitkeep
                if hidden.is_file():
                    shutil.copy2(hidden, tmp / hidden.name)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _swap(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``, moving an existing ``out`` aside first."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0o700; give the usual folder mode
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
